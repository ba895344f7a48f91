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
of non-positive-definite tensors, uncalibrated; and dsei's default, calibrated output, with the feature
calibration refitted *without the benchmarked structures* (on the other compounds of
``benchmarks/elastic_accuracy.py``'s cached tensors, ``--calibration-from``), so it is scored on held-out
compounds. matcalc is a
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


def stable(c: np.ndarray | None) -> bool:
    from dsei.mechanics.descriptors import describe

    return c is not None and describe(c, 10.0).born_stable


def score(name: str, cs: list[np.ndarray | None], entries: list[dict], seconds: float, common: list[int] | None = None) -> dict:
    """Metrics of one method; ``common``: also the MAE over only these compounds (stable with every method)."""
    from dsei.mechanics.descriptors import describe

    ek, eg, agree, unstable = [], [], 0, 0
    kept = []
    for i, (c, e) in enumerate(zip(cs, entries, strict=True)):
        if c is None:
            unstable += 1
            continue
        d = describe(c, 10.0)
        if not d.born_stable:
            unstable += 1
            continue
        ek.append(abs(d.K_vrh_GPa - e["K_vrh"]))
        eg.append(abs(d.G_vrh_GPa - e["G_vrh"]))
        kept.append(i)
        agree += (d.pugh_ratio >= THRESH) == (e["K_vrh"] / e["G_vrh"] >= THRESH)
    n = len(entries)
    both = [j for j, i in enumerate(kept) if common is not None and i in common]
    return {
        "method": name,
        "n": n,
        "s_per_structure": seconds / n,
        "mae_K": float(np.mean(ek)),
        "mae_G": float(np.mean(eg)),
        "agreement": agree / n,
        "unstable": unstable,
        "mae_K_common": float(np.mean([ek[j] for j in both])) if both else float("nan"),
        "mae_G_common": float(np.mean([eg[j] for j in both])) if both else float("nan"),
        "n_common": len(both),
        "C_GPa": [None if c is None else np.asarray(c).round(3).tolist() for c in cs],
    }


def heldout_calibrated(raws, entries: list[dict], folder: Path, model: str) -> list[np.ndarray | None] | None:
    """dsei's tensors with the feature calibration refitted on the cached dev compounds minus these ones."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from elastic_accuracy import fitter_ridge, load_dev, load_raw

    from dsei.mechanics.calibration import scale_tensor

    raw = load_raw(folder, model)
    test = {e["mp_id"] for e in entries}
    train = [e for e in load_dev(1) if e["mp_id"] in raw and e["mp_id"] not in test and "C_GPa" in raw[e["mp_id"]]]
    if len(train) < 50:
        print(f"no held-out calibration: {len(train)} training compounds in {folder}/raw_{model}.jsonl", flush=True)
        return None
    fn = fitter_ridge(
        [np.array(raw[e["mp_id"]]["C_GPa"]) for e in train],
        [raw[e["mp_id"]]["volume_per_atom_A3"] for e in train],
        [e["formula"] for e in train],
        train,
    )
    print(f"held-out calibration fitted on {len(train)} compounds of {folder}/raw_{model}.jsonl", flush=True)
    out = []
    for r in raws:
        c = np.asarray(r.C_GPa, dtype=float)
        sc = fn(c, r.volume_per_atom_A3, r.formula)  # None for a tensor that is not positive definite
        out.append(c if sc is None else scale_tensor(c, 1.0, sc[1]))
    return out


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
    ap.add_argument(
        "--calibration-from",
        type=Path,
        default=ROOT / "bench-out" / "elastic_accuracy_v2",
        help="elastic_accuracy.py output folder whose raw_<model>.jsonl trains the held-out calibration",
    )
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
    rows.append(score("dsei relaxed-ion, uncalibrated", [r.C_GPa for r in raws], entries, t_dsei))
    print({k: v for k, v in rows[-1].items() if k != "C_GPa"}, flush=True)
    held_out = heldout_calibrated(raws, entries, args.calibration_from, m.name)
    t = time.perf_counter()
    raws_c = elastic_tensors(structs, m, relax_ions=False)
    rows.append(score("dsei clamped-ion", [r.C_GPa for r in raws_c], entries, time.perf_counter() - t))
    print({k: v for k, v in rows[-1].items() if k != "C_GPa"}, flush=True)
    cs, sec = run_matcalc(m, structs, relaxed=True)
    rows.append(score("matcalc relax_deformed_structures=True", cs, entries, sec))
    print({k: v for k, v in rows[-1].items() if k != "C_GPa"}, flush=True)
    cs, sec = run_matcalc(m, structs, relaxed=False)
    rows.append(score("matcalc clamped (default)", cs, entries, sec))
    print({k: v for k, v in rows[-1].items() if k != "C_GPa"}, flush=True)
    if held_out is not None:
        rows.append(score("dsei relaxed-ion, calibrated (default; fit without these structures)", held_out, entries, t_dsei))
        print({k: v for k, v in rows[-1].items() if k != "C_GPa"}, flush=True)

    tensors = {r["method"]: r["C_GPa"] for r in rows}
    common = [i for i in range(len(entries)) if all(stable(None if t[i] is None else np.array(t[i])) for t in tensors.values())]
    rows = [score(r["method"], [None if c is None else np.array(c) for c in r["C_GPa"]], entries, r["s_per_structure"] * r["n"], common) for r in rows]
    print(f"\nsubset: every {args.every}th dev entry from {args.offset} ({len(entries)} compounds), model {m.name}, torch threads {args.threads}")
    print(f"MAE over each method's own Born-stable results; 'common': over the {len(common)} compounds stable with every method")
    print("| method | s / structure | MAE K (GPa) | MAE G (GPa) | MAE K, common | MAE G, common | Pugh agreement | unstable |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['method']} | {r['s_per_structure']:.2f} | {r['mae_K']:.2f} | {r['mae_G']:.2f} | {r['mae_K_common']:.2f} | "
            f"{r['mae_G_common']:.2f} | {100 * r['agreement']:.1f} % | {r['unstable']} |"
        )
    by = {r["method"].split(" (")[0].split(",")[0]: r for r in rows}
    mc_rel, mc_cl = by["matcalc relax_deformed_structures=True"], by["matcalc clamped"]
    print(f"speed-up, relaxed-ion: dsei is {mc_rel['s_per_structure'] / rows[0]['s_per_structure']:.1f}x faster than matcalc")
    print(f"speed-up, clamped-ion: dsei is {mc_cl['s_per_structure'] / by['dsei clamped-ion']['s_per_structure']:.1f}x faster than matcalc")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"every": args.every, "model": m.name, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
