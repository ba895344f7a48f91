"""Is the surrogate limited by its learner? Gradient-boosting libraries and tree ensembles on the same 32 descriptors.

    OMP_NUM_THREADS=1 python benchmarks/discovery_learners.py single --grouping mp_id     # ~6 min; also --grouping formula
    OMP_NUM_THREADS=1 python benchmarks/discovery_learners.py members --grouping mp_id    # the shipped kind of ensemble, ~10 min

The 1,949 shipped training rows (``training_features.json.gz``), the surrogate's grouped 5-fold split (GroupKFold by
``mp_id`` or by reduced formula), three heads (ln K, ln G, ln(B/G) direct), scored as in ``scripts/train_surrogate.py``.

``single``: one model per head and fold, no resampling: scikit-learn's GradientBoostingRegressor with the surrogate's
previous settings (``PREVIOUS_GBT``), HistGradientBoostingRegressor (``dsei.discovery.train.HGB``), ExtraTrees and
RandomForest, and, where installed (``pip install lightgbm xgboost catboost``; not dependencies of dsei), LightGBM,
XGBoost and CatBoost with common settings fixed before scoring.

``members``: five members per head, as shipped: the previous recipe (GradientBoostingRegressor on bootstrap
resamples) against histogram trees on all rows differing by seed (feature subsampling; the shipped recipe), with twice
the leaves, and on 80 % subsamples; and the σ model of ``sigma_model_from`` (its mean Gaussian NLL of the held-out
ln(B/G) residuals, lower is better). The averages of the learners' predictions (``single``) are scored too.

Results: docs/discovery.md, §2 ("Learners").
"""

from __future__ import annotations

import argparse
import time

import numpy as np

#: The surrogate's settings before the histogram trees (sklearn GradientBoostingRegressor, 5 bootstrap members).
PREVIOUS_GBT = {"n_estimators": 250, "max_depth": 4, "learning_rate": 0.06, "subsample": 0.8, "min_samples_leaf": 3}


def make(name: str, seed: int = 0):
    from sklearn import ensemble

    from dsei.discovery.train import HGB

    if name == "gbt_previous":
        return ensemble.GradientBoostingRegressor(random_state=seed, **PREVIOUS_GBT)
    if name == "hist":
        return ensemble.HistGradientBoostingRegressor(**{**HGB, "random_state": seed})
    if name == "hist31":  # twice the leaves: 0.2 points for twice the file
        return ensemble.HistGradientBoostingRegressor(**{**HGB, "max_leaf_nodes": 31, "learning_rate": 0.06, "random_state": seed})
    if name == "extra_trees":
        return ensemble.ExtraTreesRegressor(n_estimators=500, max_features=0.5, random_state=seed, n_jobs=1)
    if name == "random_forest":
        return ensemble.RandomForestRegressor(n_estimators=500, max_features=0.5, random_state=seed, n_jobs=1)
    if name == "lightgbm":
        import lightgbm

        return lightgbm.LGBMRegressor(n_estimators=800, learning_rate=0.03, num_leaves=31, min_child_samples=5, subsample=0.8,
                                      subsample_freq=1, colsample_bytree=0.7, reg_lambda=1.0, random_state=seed, verbose=-1, n_jobs=1)
    if name == "xgboost":
        import xgboost

        return xgboost.XGBRegressor(n_estimators=800, learning_rate=0.03, max_depth=6, subsample=0.8, colsample_bytree=0.7,
                                    min_child_weight=2, reg_lambda=1.0, random_state=seed, n_jobs=1)
    if name == "catboost":
        from catboost import CatBoostRegressor

        return CatBoostRegressor(iterations=1500, learning_rate=0.05, depth=6, random_seed=seed, verbose=0, thread_count=1,
                                 allow_writing_files=False)
    raise ValueError(name)


def available(names: list[str]) -> list[str]:
    import importlib.util

    mods = {"lightgbm": "lightgbm", "xgboost": "xgboost", "catboost": "catboost"}
    return [n for n in names if n not in mods or importlib.util.find_spec(mods[n]) is not None]


def score(ts, oof: dict, key: str) -> str:
    """:func:`dsei.discovery.train.scores` of ``oof[key]`` as table cells: Pugh side, Spearman, MAE K, MAE G."""
    from dsei.discovery.train import scores

    sc = scores(ts, oof, key)
    return f"{100 * sc['pugh_side_agreement']:.1f} % | {sc['spearman_pugh']:.3f} | {sc['mae_K_GPa']:.2f} | {sc['mae_G_GPa']:.2f}"


def main() -> int:
    from sklearn.model_selection import GroupKFold

    from dsei.discovery.surrogate import blend_ln_pugh, sigma_from_spread
    from dsei.discovery.train import load_training_features, sigma_model_from

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("single", "members"))
    ap.add_argument("--grouping", choices=("mp_id", "formula"), default="mp_id")
    ap.add_argument("--learners", default="gbt_previous,hist,extra_trees,random_forest,lightgbm,xgboost,catboost")
    args = ap.parse_args()
    ts = load_training_features()
    x = ts.x
    y = {"ln_K": ts.ln_K, "ln_G": ts.ln_G, "ln_pugh": ts.ln_K - ts.ln_G}
    groups = ts.ids if args.grouping == "mp_id" else ts.formulas
    folds = list(GroupKFold(n_splits=5).split(x, groups=groups))
    n = len(ts)
    blends: dict[str, dict] = {}
    if args.mode == "single":
        print(f"| {args.grouping}, one model per head | Pugh side (blend) | Spearman B/G | MAE K (GPa) | MAE G (GPa) | direct head: Pugh side | s |")
        print("|---|---|---|---|---|---|---|")
        for name in available(args.learners.split(",")):
            t0 = time.time()
            oof = {h: np.zeros(n) for h in y}
            for tr, te in folds:
                for h in y:
                    oof[h][te] = make(name).fit(x[tr], y[h][tr]).predict(x[te])
            oof["blend"] = blend_ln_pugh(oof["ln_K"], oof["ln_G"], oof["ln_pugh"])
            direct = score(ts, oof, "ln_pugh").split(" | ")[0]
            print(f"| {name} | {score(ts, oof, 'blend')} | {direct} | {time.time() - t0:.0f} |", flush=True)
            blends[name] = oof
        # averages of the learners' blends (ln space): does mixing learners add anything?
        import itertools

        from dsei.discovery.train import scores

        best = None
        for r in range(2, len(blends) + 1):
            for combo in itertools.combinations(blends, r):
                avg = {k: np.mean([blends[c][k] for c in combo], axis=0) for k in ("ln_K", "ln_G", "blend")}
                sc = scores(ts, avg, "blend")
                key = (sc["pugh_side_agreement"], sc["spearman_pugh"])
                if best is None or key > best[0]:
                    best = (key, combo)
        if best:
            print(f"best average of {len(blends)} learners' blends (of {2 ** len(blends) - len(blends) - 1}): "
                  f"{' + '.join(best[1])}: Pugh side {100 * best[0][0]:.1f} %, Spearman {best[0][1]:.3f}")
        return 0
    print(f"| {args.grouping}, 5 members per head | Pugh side | Spearman B/G | MAE K (GPa) | MAE G (GPa) | σ model (s, σ₀) | NLL | s |")
    print("|---|---|---|---|---|---|---|---|")
    labels = {"gbt_previous": "GradientBoostingRegressor on bootstrap resamples (previous)",
              "hist": "histogram trees (HGB), seeded members on all rows (shipped)",
              "hist31": "HGB with ≤ 31 leaves, lr 0.06, seeded members on all rows",
              "hist_sub80": "HGB, members on 80 % subsamples"}
    for recipe in labels:
        t0 = time.time()
        pred = {h: np.zeros((5, n)) for h in y}
        for tr, te in folds:
            for m in range(5):
                rng = np.random.default_rng(1000 + m)
                if recipe == "gbt_previous":
                    idx = rng.integers(0, len(tr), len(tr))
                elif recipe == "hist_sub80":
                    idx = rng.permutation(len(tr))[: int(0.8 * len(tr))]
                else:
                    idx = np.arange(len(tr))
                for h in y:
                    model = make("hist" if recipe == "hist_sub80" else recipe, seed=m)
                    pred[h][m, te] = model.fit(x[tr][idx], y[h][tr][idx]).predict(x[te])
        blend = blend_ln_pugh(pred["ln_K"], pred["ln_G"], pred["ln_pugh"])
        oof = {"ln_K": pred["ln_K"].mean(0), "ln_G": pred["ln_G"].mean(0), "ln_pugh": blend.mean(0), "spread": blend.std(0, ddof=1)}
        s, f = sigma_model_from(ts, oof)
        sig = sigma_from_spread(oof["spread"], s, f)
        err = ts.ln_K - ts.ln_G - oof["ln_pugh"]
        nll = float(np.mean(np.log(sig) + 0.5 * (err / sig) ** 2))
        print(f"| {labels[recipe]} | {score(ts, oof, 'ln_pugh')} | ({s:.2f}, {f:.2f}) | {nll:.3f} | {time.time() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
