"""How fast does the discovery surrogate improve with more labelled compounds? (issue 21)

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_learning_curve.py [--members 2] [--fractions 0.25,0.5,0.75,1]

The surrogate's grouped 5-fold CV by mp_id on its shipped training rows (1,949), with each fold's training rows
subsampled to a fraction (seeded; the test folds are the same for every fraction). The slope says what the lever
"more labelled compounds" (a campaign's MLIP results, which the funnel refits on) can buy. Results: docs/discovery.md §2.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from dsei.discovery.train import fit_surrogate, load_training_features, scores


def main() -> int:
    from sklearn.model_selection import GroupKFold

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=2, help="bootstrap members per head (shipped: 5)")
    ap.add_argument("--fractions", default="0.25,0.5,0.75,1")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ts = load_training_features()
    n = len(ts)
    print(f"{n} rows, grouped 5-fold CV by mp_id, {args.members} members\n")
    print("| training rows per fold | Pugh side | Spearman B/G | MAE K (GPa) | MAE G (GPa) |\n|---|---|---|---|---|")
    res = {}
    for frac in (float(f) for f in args.fractions.split(",")):
        rng = np.random.default_rng(args.seed)
        oof = {k: np.zeros(n) for k in ("ln_K", "ln_G", "ln_pugh")}
        n_train = []
        for train, test in GroupKFold(n_splits=5).split(ts.x, groups=ts.ids):
            keep = rng.permutation(train)[: round(frac * len(train))]
            mask = np.zeros(n, bool)
            mask[keep] = True
            n_train.append(int(mask.sum()))
            mp = fit_surrogate(ts.subset(mask), members=args.members, seed=args.seed).member_predictions(ts.x[test])
            oof["ln_K"][test] = mp["ln_K"].mean(0)
            oof["ln_G"][test] = mp["ln_G"].mean(0)
            oof["ln_pugh"][test] = (0.5 * ((mp["ln_K"] - mp["ln_G"]) + mp["ln_pugh"])).mean(0)  # the shipped blend
        sc = scores(ts, oof)
        res[frac] = {**sc, "n_train_mean": float(np.mean(n_train))}
        print(f"| {np.mean(n_train):.0f} ({100 * frac:.0f} %) | {100 * sc['pugh_side_agreement']:.1f} % | {sc['spearman_pugh']:.3f} | "
              f"{sc['mae_K_GPa']:.1f} | {sc['mae_G_GPa']:.1f} |", flush=True)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
