"""Is the MLIPs' soft shear a volume effect? Elastic tensors at the input (DFT) cell vs at the model's own cell.

    OMP_NUM_THREADS=1 python benchmarks/elastic_fixed_cell.py --every 5 --part 0 --parts 2 &   # one per core
    OMP_NUM_THREADS=1 python benchmarks/elastic_fixed_cell.py --every 5 --part 1 --parts 2 &
    wait; OMP_NUM_THREADS=1 python benchmarks/elastic_fixed_cell.py --every 5 --analyze-only

dsei's pipeline relaxes cell and ions before straining. Here the cell is kept at the dev set's DFT-relaxed
lattice (``elastic_tensors(..., relax_cell=False)``: ions relaxed only; the residual stress is the fit's
intercept), so any difference from the cached default tensors (``bench-out/elastic_accuracy``, the same
model and strains) is the effect of the model's equilibrium volume. Prints the model/DFT volume ratio over the
cached compounds and, for both cell choices, the uncalibrated metrics and the feature-ridge calibration under
the accuracy benchmark's 5-fold CV. Resumable (``bench-out/ea_fixedcell/part*/``, the accuracy benchmark's cache format).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import elastic_accuracy as EA  # noqa: E402

MODEL = "sevennet-l3i5"
OUT = EA.ROOT / "bench-out" / "ea_fixedcell"


def compute(every: int, part: int, parts: int) -> None:
    """This part's share of the subset, cell fixed (one cache directory per part, so parts can run at once)."""
    EA.run_model(MODEL, EA.load_dev(every)[part::parts], _part_dir(part), chunk=8, relax_cell=False)


def _part_dir(part: int) -> Path:
    d = OUT / f"part{part}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def analyse(every: int) -> None:
    from pymatgen.core import Structure

    default = EA.ROOT / "bench-out" / "elastic_accuracy"
    cached = EA.load_raw(default, MODEL)
    ratios = []
    for e in EA.load_dev(1):
        if "volume_per_atom_A3" in cached.get(e["mp_id"], {}):
            s = Structure.from_dict(e["structure"])
            ratios.append(cached[e["mp_id"]]["volume_per_atom_A3"] / (s.volume / len(s)))
    q = np.percentile(ratios, [5, 50, 95])
    print(f"{MODEL} relaxed volume / DFT volume over {len(ratios)} compounds: median {q[1]:.4f}, 5-95 % {q[0]:.3f}-{q[2]:.3f}\n")
    (OUT / f"raw_{MODEL}.jsonl").write_text("".join(p.read_text() for p in sorted(OUT.glob(f"part*/raw_{MODEL}.jsonl"))))
    entries = EA.load_dev(every)
    ids, formulas = [e["mp_id"] for e in entries], [e["formula"] for e in entries]
    print("| cell | ions | MAE K (GPa) | MAE G (GPa) | Pugh agreement | unstable | ridge CV: agreement | ridge CV: MAE G (GPa) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, d in (("model-relaxed (default)", default), ("input (DFT), fixed", OUT)):
        raw = EA.load_raw(d, MODEL)
        if not all(i in raw for i in ids):
            print(f"| {label} | tensors missing in {d} | | | | | | |")
            continue
        vols = [raw[i].get("volume_per_atom_A3", 10.0) for i in ids]
        for ions, key in (("relaxed", "C_GPa"), ("clamped", "C_clamped_GPa")):
            cs = EA.tensors(raw, ids, key)
            u = EA.metrics(EA.predict(cs, vols), entries)
            r = EA.cv_metrics(cs, vols, formulas, entries, EA.FITTERS["ridge"])
            print(f"| {label} | {ions} | {u['mae_K']:.2f} | {u['mae_G']:.2f} | {100 * u['agreement']:.1f} % | "
                  f"{u['unstable']:g} | {100 * r['agreement']:.1f} % | {r['mae_G']:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--part", type=int, default=0)
    ap.add_argument("--parts", type=int, default=1)
    ap.add_argument("--analyze-only", action="store_true")
    args = ap.parse_args()
    if not args.analyze_only:
        compute(args.every, args.part, args.parts)
    if args.analyze_only or args.parts == 1:
        analyse(args.every)


if __name__ == "__main__":
    main()
