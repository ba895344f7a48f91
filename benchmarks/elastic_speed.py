"""dsei vs matcalc ``ElasticityCalc`` on the same structures with the same model, in one run.

Usage (the command recorded in docs/benchmarks.md):

    nice python benchmarks/elastic_speed.py --every 50 --model sevennet

For every ``--every``-th entry of ../shared/data/mp_binary_elasticity_dev.json.gz (deterministic subset):

- dsei: ``dsei.mechanics.elastic_tensors`` (relax + symmetry-reduced ULICS strains ±0.25/±0.5 %, relaxed-ion,
  all structures of the subset batched together; clamped-ion numbers come from the same strained cells);
- dsei clamped-ion: ``elastic_tensors(..., relax_ions=False)`` timed separately;
- matcalc ``ElasticityCalc(calc, relax_structure=True, relax_deformed_structures=True)`` (its relaxed-ion
  mode) and with ``relax_deformed_structures=False`` (its default, clamped-ion), default strains and fmax,
  one structure at a time through the ASE calculator of the same dsei model object.

Reports wall time per structure, speed-up, MAE of K and G against DFT (PBE), Pugh agreement and the number
of non-positive-definite tensors, all uncalibrated (calibration is a separate, optional step). matcalc is a
benchmark-only dependency (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "mp_binary_elasticity_dev.json.gz"
THRESH = 1.75


def score(name: str, cs: list[np.ndarray | None], entries: list[dict], seconds: float) -> dict:
    from dsei.mechanics.descriptors import describe

    ek, eg, agree, unstable = [], [], 0, 0
    for c, e in zip(cs, entries, strict=True):
        if c is None:
            unstable += 1
            continue
        d = describe(c, 10.0)
        if not d.born_stable:
            unstable += 1
            continue
        ek.append(abs(d.K_vrh_GPa - e["K_vrh"]))
        eg.append(abs(d.G_vrh_GPa - e["G_vrh"]))
        agree += (d.pugh_ratio >= THRESH) == (e["K_vrh"] / e["G_vrh"] >= THRESH)
    n = len(entries)
    return {
        "method": name,
        "n": n,
        "s_per_structure": seconds / n,
        "mae_K": float(np.mean(ek)),
        "mae_G": float(np.mean(eg)),
        "agreement": agree / n,
        "unstable": unstable,
    }


def run_matcalc(model, structs, relaxed: bool) -> tuple[list[np.ndarray | None], float]:
    from matcalc import ElasticityCalc

    calc = model.calculator()
    ec = ElasticityCalc(calc, relax_structure=True, relax_deformed_structures=relaxed, units_GPa=True)
    out = []
    t = time.perf_counter()
    for s in structs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = ec.calc(s.copy())
            out.append(np.asarray(r["elastic_tensor"].voigt, dtype=float))
        except Exception as exc:  # noqa: BLE001 - count as a failure
            print(f"matcalc failed on {s.composition.reduced_formula}: {exc}", flush=True)
            out.append(None)
    return out, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--model", default="sevennet")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "elastic_speed.json")
    args = ap.parse_args()
    print("command: python " + " ".join(sys.argv), flush=True)
    import torch

    torch.set_num_threads(args.threads)
    from pymatgen.core import Structure

    from dsei.mechanics import elastic_tensors
    from dsei.models import load_model

    entries = json.load(gzip.open(DEV))[args.offset :: args.every]
    structs = [Structure.from_dict(e["structure"]) for e in entries]
    m = load_model(args.model)
    m.evaluate(structs[:2])  # warm up (first-call overheads) outside every timing
    print(f"{len(structs)} structures, {sum(len(s) for s in structs)} sites, model {m.name}", flush=True)
    rows = []

    t = time.perf_counter()
    raws = elastic_tensors(structs, m)
    t_dsei = time.perf_counter() - t
    rows.append(score("dsei relaxed-ion (default)", [r.C_GPa for r in raws], entries, t_dsei))
    print(rows[-1], flush=True)
    t = time.perf_counter()
    raws_c = elastic_tensors(structs, m, relax_ions=False)
    rows.append(score("dsei clamped-ion", [r.C_GPa for r in raws_c], entries, time.perf_counter() - t))
    print(rows[-1], flush=True)
    cs, sec = run_matcalc(m, structs, relaxed=True)
    rows.append(score("matcalc relax_deformed_structures=True", cs, entries, sec))
    print(rows[-1], flush=True)
    cs, sec = run_matcalc(m, structs, relaxed=False)
    rows.append(score("matcalc clamped (default)", cs, entries, sec))
    print(rows[-1], flush=True)

    print(f"\nsubset: every {args.every}th dev entry from {args.offset} ({len(entries)} compounds), model {m.name}, torch threads {args.threads}")
    print("| method | s / structure | MAE K (GPa) | MAE G (GPa) | Pugh agreement | unstable |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['s_per_structure']:.2f} | {r['mae_K']:.2f} | {r['mae_G']:.2f} | {100 * r['agreement']:.1f} % | {r['unstable']} |")
    print(f"speed-up, relaxed-ion: dsei is {rows[2]['s_per_structure'] / rows[0]['s_per_structure']:.1f}x faster than matcalc")
    print(f"speed-up, clamped-ion: dsei is {rows[3]['s_per_structure'] / rows[1]['s_per_structure']:.1f}x faster than matcalc")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"every": args.every, "model": m.name, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
