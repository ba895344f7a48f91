"""A second opinion for the verdict: the calibrated MLIP tensor's ln(B/G) averaged with the structure surrogate's.

    # raw tensors of the default on all 1,000 dev compounds (cached; ~28 min in two shards on 2 cores):
    OMP_NUM_THREADS=1 nice python benchmarks/elastic_accuracy.py --every 2 --offset 0 --models sevennet-l3i5-elastic --out bench-out/dev_full/shard0
    OMP_NUM_THREADS=1 nice python benchmarks/elastic_accuracy.py --every 2 --offset 1 --models sevennet-l3i5-elastic --out bench-out/dev_full/shard1
    cat bench-out/dev_full/shard*/raw_sevennet-l3i5-elastic.jsonl > bench-out/dev_full/raw_sevennet-l3i5-elastic.jsonl
    # out-of-fold predictions (cached in --out; ~7 min with --jobs 2), then the tables (seconds):
    OMP_NUM_THREADS=1 python benchmarks/elastic_surrogate_blend.py --jobs 2

Two estimates of a compound's DFT Pugh ratio with partly independent errors: the default model's tensor with its
shipped kind of shear calibration (threshold-weighted trees on the tensor's features, :mod:`dsei.mechanics.calibration`),
and the discovery surrogate (:mod:`dsei.discovery.surrogate`: gradient-boosted trees on 32 structure and composition
descriptors, trained on the 949 tensor-set compounds outside the dev set as well as the dev set). The first sees the
model's physics of this structure, the second what 1,949 DFT compounds say about structures like it. Averaging two
predictors whose errors are not fully correlated is the oldest ensemble argument (Bates & Granger, Oper. Res. Q. 20,
451 (1969)).

Both under the same 5-fold × 5-seed CV of the 1,000 dev compounds (the permutation of ``elastic_accuracy.CV_SEEDS``):
for each fold, the calibration trees are refitted on the other four folds' stable tensors, and the surrogate
(:func:`dsei.discovery.train.fit_surrogate`, shipped settings, 5 bootstrap members) on the other four folds plus the
tensor-set compounds not in the dev set (never scored). A tensor that is not positive definite is a miss for every
row (no fallback model here; the product retries and falls back first).

Printed: Pugh-side agreement and Spearman ρ of B/G for the MLIP alone, the surrogate alone and the blend
w·ln(B/G)_MLIP + (1 − w)·ln(B/G)_surrogate over a grid of w (all 1,000 and the 66 SEI-like); p_ductile from a probit
fitted to the side (:func:`dsei.mechanics.confidence.fit_side`) on the other folds' out-of-fold predictions
(cross-fitted: the probit never saw the fold it scores), with Brier score, reliability and risk–coverage for the MLIP
alone and the blend; MAE of K and G (GPa) blended the same way in ln; the confidently wrong SEI-like compounds and Li
alloys at p* = 0.7.

Results: docs/mechanics.md, "A second opinion from the structure surrogate".
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from elastic_accuracy import CV_SEEDS, ROOT, THRESHOLD_WEIGHT, is_li_alloy  # noqa: E402
from elastic_calibration_variants import dev_rows, fit_trees  # noqa: E402

LN_T = math.log(1.75)
W_GRID = (1.0, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.0)
P_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
BINS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0000001)


def _seed_oof(args) -> dict:
    """Out-of-fold calibrated ln(B/G)_MLIP, surrogate ln K, ln G, ln(B/G) and its spread, for one CV seed."""
    cache, model, seed = args
    warnings.filterwarnings("ignore")
    from dsei.discovery.surrogate import blend_ln_pugh
    from dsei.discovery.train import fit_surrogate, load_training_features
    from dsei.mechanics.descriptors import threshold_weights

    d = dev_rows(cache, model)
    ts = load_training_features()
    row = {i: k for k, i in enumerate(ts.ids)}
    dev_rows_ts = np.array([row.get(i, -1) for i in _dev_ids()])
    other = np.ones(len(ts), bool)
    other[dev_rows_ts[dev_rows_ts >= 0]] = False
    n, ok = len(d["ok"]), d["ok"]
    y = np.log(d["pugh_m"] / d["pugh_dft"])
    out = {k: np.full(n, np.nan) for k in ("cal", "sur", "sur_K", "sur_G", "sur_spread", "a_G")}
    order = np.random.default_rng(seed).permutation(n)
    for fold in np.array_split(order, 5):
        tr = np.setdiff1d(order, fold)
        trk, te = tr[ok[tr]], fold[ok[fold]]
        yh = fit_trees(d["x"][trk], y[trk], threshold_weights(np.log(d["pugh_dft"][trk]), **THRESHOLD_WEIGHT), d["x"][te])
        out["cal"][te] = np.log(d["pugh_m"][te]) - yh
        out["a_G"][te] = np.exp(yh)
        mask = other.copy()
        mask[dev_rows_ts[tr][dev_rows_ts[tr] >= 0]] = True
        sur = fit_surrogate(ts.subset(mask), seed=seed)
        have = fold[dev_rows_ts[fold] >= 0]
        mp = sur.member_predictions(ts.x[dev_rows_ts[have]])
        blend = blend_ln_pugh(mp["ln_K"], mp["ln_G"], mp["ln_pugh"])
        out["sur"][have] = blend.mean(0)
        out["sur_spread"][have] = blend.std(0, ddof=1)
        out["sur_K"][have] = mp["ln_K"].mean(0)
        out["sur_G"][have] = mp["ln_G"].mean(0)
    out["order"] = order
    return out


def _dev_ids() -> list[str]:
    from elastic_accuracy import load_dev

    return [e["mp_id"] for e in load_dev(1)]


def agreement(pred: np.ndarray, dft: np.ndarray, mask=None) -> float:
    """Side agreement; NaN predictions (unstable tensors) are misses."""
    hit = np.where(np.isnan(pred), False, (pred >= LN_T) == (dft >= LN_T))
    return float(hit[mask].mean() if mask is not None else hit.mean())


def spearman(pred: np.ndarray, dft: np.ndarray) -> float:
    from scipy.stats import spearmanr

    m = ~np.isnan(pred)
    return float(spearmanr(pred[m], dft[m]).statistic)


def cross_fitted_p(pred: np.ndarray, dft: np.ndarray, order: np.ndarray) -> np.ndarray:
    """p_ductile of every compound from a probit fitted to the side on the other folds' predictions."""
    from dsei.mechanics.confidence import fit_side, p_ductile

    p = np.full(len(pred), np.nan)
    folds = np.array_split(order, 5)
    for f in folds:
        rest = np.setdiff1d(order, f)
        rest = rest[~np.isnan(pred[rest])]
        params = fit_side(dft[rest] - pred[rest], pred[rest] - LN_T)
        for i in f:
            if not np.isnan(pred[i]):
                p[i] = p_ductile(params, math.exp(pred[i]), {})
    return p


def risk_coverage(p: np.ndarray, dft: np.ndarray, p_star: float, mask=None) -> tuple[float, float, int]:
    """(coverage of all compounds, accuracy of the confident verdicts, number confidently wrong)."""
    m = np.ones(len(p), bool) if mask is None else mask
    conf = m & ~np.isnan(p) & ((p >= p_star) | (p <= 1 - p_star))
    right = (p[conf] >= 0.5) == (dft[conf] >= LN_T)
    return float(conf.sum() / m.sum()), float(right.mean()) if conf.any() else float("nan"), int((~right).sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="sevennet-l3i5-elastic")
    ap.add_argument("--cache", type=Path, default=ROOT / "bench-out" / "dev_full", help="raw_<model>.jsonl of all 1,000")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "elastic_blend")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--w", type=float, default=0.5, help="the blend weight of the MLIP for the confidence tables")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if not (args.cache / f"raw_{args.model}.jsonl").exists():
        sys.exit(f"error: {args.cache}/raw_{args.model}.jsonl: not found (see the commands at the top of this script)")
    args.out.mkdir(parents=True, exist_ok=True)
    todo = [s for s in CV_SEEDS if not (args.out / f"oof_{args.model}_seed{s}.npz").exists()]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for s, res in zip(todo, ex.map(_seed_oof, [(args.cache, args.model, s) for s in todo]), strict=True):
            np.savez(args.out / f"oof_{args.model}_seed{s}.npz", **res)
            print(f"seed {s}: out-of-fold predictions cached", flush=True)
    runs = [dict(np.load(args.out / f"oof_{args.model}_seed{s}.npz")) for s in CV_SEEDS]

    d = dev_rows(args.cache, args.model)
    dft = np.log(d["pugh_dft"])
    sei = d["sei"]
    lnk, lng = np.log(d["K_dft"]), np.log(d["G_dft"])
    print(f"{len(dft)} dev compounds ({int(sei.sum())} SEI-like), {int((~d['ok']).sum())} without a stable tensor; "
          f"surrogate predictions for {int((~np.isnan(runs[0]['sur'])).sum())}")

    def blend(r, w):
        return w * r["cal"] + (1 - w) * r["sur"] if w > 0 else np.where(np.isnan(r["cal"]), np.nan, r["sur"])

    print("\nPugh side (mean over 5 seeds ± their std) and Spearman ρ of B/G; unstable = miss in every row")
    print("| estimate | agreement, 1,000 | SEI-like | Spearman ρ | MAE K (GPa) | MAE G (GPa) |")
    print("|---|---|---|---|---|---|")
    for label, w in [("surrogate alone (all compounds)", None)] + [(f"w = {w:.1f}", w) for w in W_GRID]:
        if w is None:
            preds = [r["sur"] for r in runs]
        else:
            preds = [blend(r, w) for r in runs]
        a = [agreement(p, dft) for p in preds]
        a_sei = [agreement(p, dft, sei) for p in preds]
        rho = np.mean([spearman(p, dft) for p in preds])
        if w is not None:
            ks = [np.exp(w * np.log(d["K_m"]) + (1 - w) * r["sur_K"]) for r in runs]
            gs = [np.exp(w * (np.log(d["G_m"]) + np.log(r["a_G"])) + (1 - w) * r["sur_G"]) for r in runs]
            mae_k = np.mean([np.nanmean(np.abs(k - d["K_dft"])[d["ok"]]) for k in ks])
            mae_g = np.mean([np.nanmean(np.abs(g - d["G_dft"])[d["ok"]]) for g in gs])
        else:
            mae_k = np.mean([np.nanmean(np.abs(np.exp(r["sur_K"]) - np.exp(lnk))) for r in runs])
            mae_g = np.mean([np.nanmean(np.abs(np.exp(r["sur_G"]) - np.exp(lng))) for r in runs])
        name = {1.0: "w = 1.0 (MLIP alone: the shipped calibration)", 0.0: "w = 0.0 (surrogate, stable tensors only)"}.get(w, label)
        print(f"| {name} | {np.mean(a) * 100:.1f} % ± {np.std(a) * 100:.1f} | {np.mean(a_sei) * 100:.1f} % ± "
              f"{np.std(a_sei) * 100:.1f} | {rho:.3f} | {mae_k:.2f} | {mae_g:.2f} |")

    both = [~np.isnan(r["cal"]) & ~np.isnan(r["sur"]) for r in runs]
    errc = np.concatenate([(r["cal"] - dft)[m] for r, m in zip(runs, both, strict=True)])
    errs = np.concatenate([(r["sur"] - dft)[m] for r, m in zip(runs, both, strict=True)])
    print(f"\ncorrelation of the two ln(B/G) errors: {np.corrcoef(errc, errs)[0, 1]:.2f} "
          f"(RMS {np.sqrt(np.mean(errc ** 2)):.3f} MLIP, {np.sqrt(np.mean(errs ** 2)):.3f} surrogate)")

    # w chosen on the training folds: for each fold, the w of the grid with the best agreement on the other folds
    picked = []
    for r in runs:
        pred = np.full(len(dft), np.nan)
        for f in np.array_split(r["order"], 5):
            rest = np.setdiff1d(r["order"], f)
            best = max(W_GRID[:-1], key=lambda w, rest=rest: agreement(blend(r, w)[rest], dft[rest]))
            pred[f] = blend(r, best)[f]
            picked.append(best)
        r["picked"] = pred
    a = [agreement(r["picked"], dft) for r in runs]
    print(f"w chosen on the other folds (nested): agreement {np.mean(a) * 100:.1f} % ± {np.std(a) * 100:.1f}; "
          f"w picked: {sorted(set(picked))} (mean {np.mean(picked):.2f})")

    print(f"\np_ductile from a cross-fitted probit (w = {args.w} for the blend); mean over 5 seeds")
    rows = {"MLIP alone": [cross_fitted_p(r["cal"], dft, r["order"]) for r in runs],
            f"blend, w = {args.w}": [cross_fitted_p(blend(r, args.w), dft, r["order"]) for r in runs]}
    duct = dft >= LN_T
    for label, ps in rows.items():
        brier = np.mean([np.nanmean((p - duct) ** 2) for p in ps])
        print(f"{label}: Brier {brier:.4f} (stable tensors; base rate {np.mean(duct) * (1 - np.mean(duct)):.3f})")
    print("\n| p* | " + " | ".join(f"{k}: stated / right / wrong" for k in rows) + " | "
          + " | ".join(f"{k}, SEI-like: stated / right" for k in rows) + " |")
    print("|---|" + "---|" * (2 * len(rows)))
    for ps_ in P_GRID:
        cells, cells_sei = [], []
        for ps in rows.values():
            rc = np.array([risk_coverage(p, dft, ps_) for p in ps])
            rs = np.array([risk_coverage(p, dft, ps_, sei) for p in ps])
            cells.append(f"{rc[:, 0].mean() * 100:.1f} % / {np.nanmean(rc[:, 1]) * 100:.1f} % / {rc[:, 2].mean():.1f}")
            cells_sei.append(f"{rs[:, 0].mean() * 100:.1f} % / {np.nanmean(rs[:, 1]) * 100:.1f} %")
        print(f"| {ps_} | " + " | ".join(cells) + " | " + " | ".join(cells_sei) + " |")

    print("\nreliability of the blend's p_ductile (pooled over seeds)")
    print("| p_ductile | n per seed | mean p | observed fraction ductile |")
    print("|---|---|---|---|")
    pb = np.concatenate(rows[f"blend, w = {args.w}"])
    yb = np.tile(duct, len(runs))
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        m = (pb >= lo) & (pb < hi)
        if m.any():
            print(f"| {lo:.2f}–{min(hi, 1):.2f} | {m.sum() / len(runs):.1f} | {pb[m].mean():.3f} | {yb[m].mean():.3f} |")

    li_alloy = np.array([is_li_alloy(f) for f in d["formula"]])
    for label, ps in rows.items():
        p = ps[0]
        wrong = [i for i in range(len(dft)) if not np.isnan(p[i]) and max(p[i], 1 - p[i]) >= 0.7
                 and (p[i] >= 0.5) != duct[i] and (sei[i] or li_alloy[i])]
        print(f"\n{label}, seed {CV_SEEDS[0]}, p* = 0.7: confidently wrong SEI-like or Li alloy: "
              + (", ".join(f"{d['formula'][i]} (p {p[i]:.2f}, DFT {d['pugh_dft'][i]:.2f})" for i in wrong) or "none"))
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
