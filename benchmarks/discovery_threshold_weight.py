"""Does threshold weighting of the training rows improve the discovery surrogate's Pugh side? (issue 21)

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_threshold_weight.py [--members 2] [--grouping mp_id]

The surrogate's grouped 5-fold CV on its shipped training rows (``dsei/discovery/data/training_features.json.gz``),
unweighted (the shipped fit) against rows weighted by w = exp(−|ln(B/G)_DFT − ln 1.75| / width) + floor
(``dsei.discovery.train.threshold_weights``; the weighting that gained ~1 point for the elastic calibration trees,
``dsei.mechanics.calibration.THRESHOLD_WEIGHT`` = width 0.2, floor 0.2, declared before measuring, plus a wider
and a narrower setting). Prints Pugh side, Spearman of B/G and MAE of K and G per setting. Results: docs/discovery.md §2.
"""

from __future__ import annotations

import argparse
import json

from dsei.discovery.train import cross_validate, load_training_features, scores

SETTINGS = {"unweighted (shipped)": None, "width 0.2, floor 0.2": {"width_ln": 0.2, "floor": 0.2},
            "width 0.4, floor 0.2": {"width_ln": 0.4, "floor": 0.2}, "width 0.1, floor 0.1": {"width_ln": 0.1, "floor": 0.1}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=2, help="bootstrap members per head (shipped: 5)")
    ap.add_argument("--grouping", choices=["mp_id", "formula"], default="mp_id")
    args = ap.parse_args()
    ts = load_training_features()
    groups = ts.ids if args.grouping == "mp_id" else ts.formulas
    print(f"{len(ts)} rows, grouped by {args.grouping}, {args.members} members\n")
    print("| rows weighted | Pugh side | Spearman B/G | MAE K (GPa) | MAE G (GPa) |\n|---|---|---|---|---|")
    res = {}
    for name, tw in SETTINGS.items():
        sc = scores(ts, cross_validate(ts, groups, members=args.members, threshold_weight=tw))
        res[name] = sc
        print(f"| {name} | {100 * sc['pugh_side_agreement']:.1f} % | {sc['spearman_pugh']:.3f} | {sc['mae_K_GPa']:.1f} | "
              f"{sc['mae_G_GPa']:.1f} |", flush=True)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
