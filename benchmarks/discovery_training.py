"""Two training levers of the discovery surrogate, measured (issue 21; results: docs/discovery.md §2).

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_training.py weights [--members 2]
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_training.py curve [--members 2] [--fractions 0.25,0.5,0.75,1]

Both use the surrogate's grouped 5-fold CV by mp_id on its shipped training rows
(``dsei/discovery/data/training_features.json.gz``, 1,949 rows) and print Pugh side, Spearman of B/G and MAE of K and G.

- ``weights``: unweighted rows (the shipped fit) against rows weighted by w = exp(−|ln(B/G)_DFT − ln 1.75| / width)
  + floor (``dsei.mechanics.descriptors.threshold_weights``): the weighting that gained ~1 point for the elastic
  calibration trees (``THRESHOLD_WEIGHT`` of benchmarks/elastic_accuracy.py, width 0.2, floor 0.2, declared before
  measuring), plus a wider and a narrower setting.
- ``curve``: each fold's training rows subsampled to a fraction (seeded; the same test folds for every fraction):
  what the lever "more labelled compounds" (a campaign's MLIP results, which the funnel refits on) can buy.
"""

from __future__ import annotations

import argparse
import json

from dsei.discovery.train import cross_validate, load_training_features, scores

WEIGHTS = {"unweighted (shipped)": None, "width 0.2, floor 0.2": {"width_ln": 0.2, "floor": 0.2},
           "width 0.4, floor 0.2": {"width_ln": 0.4, "floor": 0.2}, "width 0.1, floor 0.1": {"width_ln": 0.1, "floor": 0.1}}


def row(label: str, sc: dict) -> str:
    return (f"| {label} | {100 * sc['pugh_side_agreement']:.1f} % | {sc['spearman_pugh']:.3f} | {sc['mae_K_GPa']:.1f} | "
            f"{sc['mae_G_GPa']:.1f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["weights", "curve"])
    ap.add_argument("--members", type=int, default=2, help="bootstrap members per head (shipped: 5)")
    ap.add_argument("--fractions", default="0.25,0.5,0.75,1", help="curve: training fractions")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ts = load_training_features()
    print(f"{len(ts)} rows, grouped 5-fold CV by mp_id, {args.members} members\n")
    first = "rows weighted" if args.what == "weights" else "training rows per fold"
    print(f"| {first} | Pugh side | Spearman B/G | MAE K (GPa) | MAE G (GPa) |\n|---|---|---|---|---|")
    res = {}
    if args.what == "weights":
        for name, tw in WEIGHTS.items():
            res[name] = scores(ts, cross_validate(ts, ts.ids, members=args.members, seed=args.seed, threshold_weight=tw))
            print(row(name, res[name]), flush=True)
    else:
        for frac in (float(f) for f in args.fractions.split(",")):
            oof = cross_validate(ts, ts.ids, members=args.members, seed=args.seed, train_fraction=frac)
            n_train = frac * len(ts) * 4 / 5  # rows per training fold, on average (5 folds)
            res[frac] = {**scores(ts, oof), "n_train_mean": n_train}
            print(row(f"{n_train:.0f} ({100 * frac:.0f} %)", res[frac]), flush=True)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
