"""Li vacancy barriers through the product path, ``dsei.barrier`` (primitive cell, HNF supercell ≥ 9 Å).

    OMP_NUM_THREADS=1 nice python benchmarks/barrier_vacancy.py LiF:none:1 LiF:schottky:1 Li3N:none:1 Li2O:none:1

Each argument is ``FORMULA:COMPENSATION:MAX_HOPS[:MODEL]`` (compensation ``none`` or ``schottky``; ``MAX_HOPS`` =
how many of the shortest distinct hops get a NEB; ``MODEL`` defaults to dsei's default, SevenNet-0). The library ground state is used; results are cached as JSON in
``bench-out/barrier_vacancy/`` (resumable: a cached case is skipped) and printed one line per case, and
``--table [MODEL]`` prints the cached neutral cases of one model (default SevenNet-0) with the BVSE barrier of
the same phase and the Spearman rank correlation between the two (the BVSE-vs-NEB ranking check).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
OUT = Path(__file__).resolve().parents[1] / "bench-out" / "barrier_vacancy"


def table(model: str | None = None) -> None:
    from scipy.stats import spearmanr

    from dsei.api import prepare
    from dsei.transport import bvse

    rows = []
    files = OUT.glob(f"*_none_{model}.json") if model and model != "sevennet" else OUT.glob("*_none.json")
    print(f"NEB model: {model or 'sevennet'}\n")
    for f in sorted(files):
        d = json.loads(f.read_text())
        b = bvse(prepare(d["formula"]), "Li").barrier_eV
        rows.append((d["formula"], d["barrier_eV"], d["dimension"], b))
    print("| phase | NEB barrier (eV) | dimension | BVSE barrier (eV) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.3f} | {r[2]} | {r[3]:.3f} |")
    if len(rows) > 2:
        rho = spearmanr([r[1] for r in rows], [r[3] for r in rows]).statistic
        print(f"\nSpearman (NEB vs BVSE) over {len(rows)} phases: {rho:.2f}")


def main(argv: list[str]) -> int:
    import torch

    torch.set_num_threads(1)
    if argv[:1] == ["--table"]:
        table(argv[1] if len(argv) > 1 else None)
        return 0
    from dsei.api import prepare
    from dsei.transport import barrier

    OUT.mkdir(parents=True, exist_ok=True)
    for spec in argv:
        formula, comp, hops, *model = spec.split(":")
        f = OUT / (f"{formula}_{comp}_{model[0]}.json" if model else f"{formula}_{comp}.json")
        if f.exists():
            continue
        t = time.perf_counter()
        kw = {"model": model[0]} if model else {}
        r = barrier(prepare(formula), ion="Li", mechanism="vacancy", compensate=comp, max_hops=int(hops), **kw)
        d = r.to_json_dict()
        d["wall_s"] = time.perf_counter() - t
        f.write_text(json.dumps(d, indent=1))
        hops_done = [(h.label, h.barrier_eV, h.converged, round(h.elapsed_s or 0)) for h in r.hops if h.status != "not_computed"]
        print(formula, comp, r.barrier_eV, r.dimension, hops_done, r.supercell_atoms, round(d["wall_s"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
