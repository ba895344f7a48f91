"""Rebuild the discovery surrogate (src/dsei/discovery/data/surrogate.json) and print its cross-validated scores.

    OMP_NUM_THREADS=1 python scripts/train_surrogate.py                     # CV + write the shipped surrogate
    python scripts/train_surrogate.py --exclude AgF,Ag2S --out /tmp/s.json   # a surrogate that never saw these

Reads ../shared/data (the two elasticity sets; Materials Project CC BY 4.0, de Jong et al. 2015). Grouped 5-fold CV
twice: by ``mp_id`` (the issue's criterion) and by reduced formula (compounds never seen, polymorphs included).
σ's scale and floor come from the mp_id-grouped out-of-fold residuals (maximum likelihood).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dsei.discovery.surrogate import surrogate_path
from dsei.discovery.train import (
    MEMBERS,
    TrainingSet,
    cross_validate,
    fit_surrogate,
    load_reference_sets,
    reliability,
    save_surrogate,
    save_training_features,
    scores,
    sigma_model_from,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = [ROOT.parent / "shared" / "data" / "mp_binary_elasticity_dev.json.gz",
        ROOT.parent / "shared" / "data" / "mp_elastic_tensors_dejong2015.json.gz"]
if not DATA[0].exists():
    DATA = [Path("/work/shared/data") / p.name for p in DATA]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(surrogate_path()))
    ap.add_argument("--exclude", default="", help="comma-separated formulas left out of training")
    ap.add_argument("--no-cv", action="store_true")
    ap.add_argument("--members", type=int, default=MEMBERS)
    ap.add_argument("--report", default=None, help="write the CV numbers as JSON here")
    args = ap.parse_args()
    exclude = {f for f in args.exclude.split(",") if f}
    t0 = time.perf_counter()
    ts: TrainingSet = load_reference_sets(DATA, exclude)
    print(f"training rows: {len(ts)} (one per mp_id; excluded formulas: {sorted(exclude) or 'none'}); featurised in {time.perf_counter() - t0:.0f} s")
    meta: dict = {"training_data": [p.name for p in DATA], "excluded_formulas": sorted(exclude),
                  "attribution": "Materials Project (CC BY 4.0), A. Jain et al., APL Mater. 1, 011002 (2013); "
                                 "M. de Jong et al., Sci. Data 2, 150009 (2015)"}
    sigma_scale, sigma_floor = 1.0, 0.0
    if not args.no_cv:
        cv = {}
        for name, groups in (("mp_id", ts.ids), ("formula", ts.formulas)):
            oof = cross_validate(ts, groups, members=args.members)
            sc = {k: scores(ts, oof, k) for k in ("ln_pugh", "ln_pugh_direct", "ln_pugh_kg")}
            if name == "mp_id":
                sigma_scale, sigma_floor = sigma_model_from(ts, oof)
            rel = reliability(ts, oof, sigma_scale, sigma_floor)
            cv[name] = {"blend": sc["ln_pugh"], "direct_head": sc["ln_pugh_direct"], "K_minus_G_heads": sc["ln_pugh_kg"], "reliability": rel}
            print(f"\ngrouped 5-fold CV by {name}:")
            for k, v in sc.items():
                print(f"  {k:16s} Pugh side {v['pugh_side_agreement']:.3f}  Spearman {v['spearman_pugh']:.3f}  "
                      f"MAE ln(B/G) {v['mae_ln_pugh']:.3f}  MAE K {v['mae_K_GPa']:.1f} GPa  MAE G {v['mae_G_GPa']:.1f} GPa")
            print(f"  reliability (σ = √({sigma_floor:.2f}² + ({sigma_scale:.2f}·spread)²)): σ bin | n | mean σ | RMS err | cover ±1σ | ±2σ | Pugh side")
            for r in rel:
                print(f"    {r['sigma_range'][0]:.3f}-{r['sigma_range'][1]:.3f} | {r['n']} | {r['mean_sigma']:.3f} | {r['rms_error']:.3f} | "
                      f"{r['coverage_1sigma']:.2f} | {r['coverage_2sigma']:.2f} | {r['pugh_side_agreement']:.3f}")
        meta["cv"] = cv
        if args.report:
            Path(args.report).write_text(json.dumps(cv, indent=1))
    sur = fit_surrogate(ts, members=args.members, sigma_scale=sigma_scale, sigma_floor=sigma_floor, meta=meta)
    p = save_surrogate(sur, args.out)
    if not exclude:
        q = save_training_features(ts)
        print(f"wrote {q} ({q.stat().st_size / 1e6:.2f} MB): the training rows a campaign refits on")
    print(f"\nwrote {p} ({p.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.0f} s; "
          f"training ln(B/G) range {np.exp((ts.ln_K - ts.ln_G).min()):.2f}-{np.exp((ts.ln_K - ts.ln_G).max()):.2f}")


if __name__ == "__main__":
    main()
