"""Does refitting the surrogate on a campaign's MLIP elastic results improve it? (issue 21; docs/discovery.md §2)

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_active_learning.py [--members 2] [--hide 0.5,0.75] [--jobs 2]

:func:`dsei.discovery.funnel.discover` refits the surrogate between rounds on its shipped DFT rows plus every MLIP
elastic result the campaign store holds (``refit_with_store``: K, G of the calibrated tensor of the relaxed
structure). Whether that helps the ranking or teaches the trees the MLIP's own errors is measured here by simulation
on the surrogate's 1,949 training rows, whose DFT labels are known and whose default-model tensors are cached:

- outer grouped 5-fold CV by ``mp_id`` (the same split as :func:`dsei.discovery.train.cross_validate`), scored against
  DFT on the test fold;
- in each outer training fold a seeded fraction ``--hide`` of the rows that have a cached tensor (and that the
  fine-tune did not train on) plays "compounds a campaign computed": their DFT label is hidden;
- the shear calibration (threshold-weighted depth-3 trees, ``elastic_calibration_variants.fit_trees``, the shipped kind when measured) is
  fitted on the *known* rows' tensors only and gives the hidden rows their calibrated MLIP K, G (K is never
  calibrated), exactly what a campaign stores; an unstable tensor gives no row (the funnel skips those too). The
  hidden rows keep the descriptors of their DFT structure (a campaign featurises its MLIP-relaxed one): what is
  measured is the labels;
- arms: **known** (the DFT rows left), **known + MLIP** (plus the hidden rows with their MLIP labels: the funnel's
  refit), **known + MLIP, uncalibrated** (the raw tensors' K, G: the refit without the calibration), and
  **all DFT** (the hidden rows with their DFT labels: the ceiling, the shipped recipe's CV).

Raw tensors: ``bench-out/dev_full/raw_sevennet-l3i5-elastic.jsonl`` (all 1,000 dev compounds) and
``bench-out/tensor_set_raw/raw_sevennet-l3i5-elastic.jsonl`` (the 916 tensor-set compounds of ≤ 32 sites outside the
dev set); the commands that make them are at the top of ``elastic_calibration_union.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from elastic_accuracy import ROOT, THRESHOLD_WEIGHT, features, load_dev, load_raw, load_tensor_set, moduli  # noqa: E402
from elastic_calibration_variants import fit_trees  # noqa: E402

MODEL = "sevennet-l3i5-elastic"


def calibration_row(formula: str, rec: dict) -> dict | None:
    """A cached raw tensor's calibration features and raw K, G (GPa), or None: no tensor, not Born-stable, or a
    modulus ≤ 0 (no row, as the funnel's refit)."""
    from dsei.mechanics.calibration import FEATURES, feature_vector

    if not rec or "C_GPa" not in rec:
        return None
    c = np.array(rec["C_GPa"])
    m = moduli(c, rec["volume_per_atom_A3"])
    f = features(formula, c, rec["volume_per_atom_A3"]) if m["stable"] else None
    if f is None or not (m["K"] > 0 and m["G"] > 0):
        return None
    return {"x": feature_vector(f, FEATURES), "K": m["K"], "G": m["G"]}


def mlip_rows(dev_cache: Path, ts_cache: Path, max_sites: int = 32) -> dict[str, dict]:
    """mp_id → calibration features and raw moduli of every compound with a Born-stable cached tensor, and whether
    the fine-tune trained on it (its tensor is then in-sample: never hidden)."""
    from elastic_tensor_holdout import held_out

    held = {e["mp_id"] for e in held_out(max_sites)}
    out = {}
    for entries, raw, is_dev in ((load_dev(1), load_raw(dev_cache, MODEL), True),
                                 (load_tensor_set(max_sites), load_raw(ts_cache, MODEL), False)):
        for e in entries:
            row = calibration_row(e["formula"], raw.get(e["mp_id"]))
            if row is not None:
                out[e["mp_id"]] = {**row, "in_finetune": not is_dev and e["mp_id"] not in held}
    return out


def score(ln_k, ln_g, ln_pugh, ts, test) -> dict:
    from scipy.stats import spearmanr

    from dsei.discovery.surrogate import LN_PUGH_THRESHOLD

    dft = (ts.ln_K - ts.ln_G)[test]
    return {"pugh_side": float(np.mean((ln_pugh >= LN_PUGH_THRESHOLD) == (dft >= LN_PUGH_THRESHOLD))),
            "spearman": float(spearmanr(ln_pugh, dft).statistic),
            "mae_K": float(np.mean(np.abs(np.exp(ln_k) - np.exp(ts.ln_K[test])))),
            "mae_G": float(np.mean(np.abs(np.exp(ln_g) - np.exp(ts.ln_G[test]))))}


def one_fold(k: int, train: np.ndarray, test: np.ndarray, ts, mlip: dict, hide: list[float], members: int, seed: int):
    from dsei.discovery.surrogate import blend_ln_pugh
    from dsei.discovery.train import TrainingSet, fit_surrogate
    from dsei.mechanics.descriptors import threshold_weights

    def predict(train_set):
        sur = fit_surrogate(train_set, members=members, seed=seed)
        mp = sur.member_predictions(ts.x[test])
        return mp["ln_K"].mean(0), mp["ln_G"].mean(0), blend_ln_pugh(mp["ln_K"], mp["ln_G"], mp["ln_pugh"]).mean(0)

    res = {"all DFT": predict(ts.subset(np.isin(np.arange(len(ts)), train)))}
    eligible = np.array([i for i in train if ts.ids[i] in mlip and not mlip[ts.ids[i]]["in_finetune"]])
    for h in hide:
        hidden = np.random.default_rng(seed + 100 * k + int(1000 * h)).permutation(eligible)[: round(h * len(eligible))]
        known = np.setdiff1d(train, hidden)
        known_mask = np.isin(np.arange(len(ts)), known)
        base = ts.subset(known_mask)
        # the calibration of a campaign: trees fitted on the known compounds' tensors against their DFT B/G
        cal = [i for i in known if ts.ids[i] in mlip]
        xk = np.array([mlip[ts.ids[i]]["x"] for i in cal])
        ln_pugh_m = np.array([np.log(mlip[ts.ids[i]]["K"] / mlip[ts.ids[i]]["G"]) for i in cal])
        ln_pugh_dft = (ts.ln_K - ts.ln_G)[cal]
        xh = np.array([mlip[ts.ids[i]]["x"] for i in hidden])
        a_g = fit_trees(xk, ln_pugh_m - ln_pugh_dft, threshold_weights(ln_pugh_dft, **THRESHOLD_WEIGHT), xh)
        k_m = np.array([mlip[ts.ids[i]]["K"] for i in hidden])
        g_m = np.array([mlip[ts.ids[i]]["G"] for i in hidden])
        ids = [ts.ids[i] for i in hidden]
        forms = [ts.formulas[i] for i in hidden]
        for name, g in ((f"known ({100 * (1 - h):.0f} % of the tensor rows) + MLIP", g_m * np.exp(a_g)),
                        (f"known ({100 * (1 - h):.0f} % of the tensor rows) + MLIP uncalibrated", g_m)):
            extra = TrainingSet(ts.x[hidden], np.log(k_m), np.log(g), ids, forms, ["campaign"] * len(ids))
            res[name] = predict(TrainingSet.concat(base, extra))
        res[f"known ({100 * (1 - h):.0f} % of the tensor rows)"] = predict(base)
        res[f"_n_hidden_{h}"] = len(hidden)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=2, help="bootstrap members per head (shipped: 5)")
    ap.add_argument("--hide", default="0.5,0.75", help="fractions of the tensor rows whose DFT label is hidden")
    ap.add_argument("--jobs", type=int, default=1, help="folds in parallel")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dev-cache", type=Path, default=ROOT / "bench-out" / "dev_full")
    ap.add_argument("--ts-cache", type=Path, default=ROOT / "bench-out" / "tensor_set_raw")
    ap.add_argument("--json", type=Path, default=None, help="write the table here")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    for p in (args.dev_cache, args.ts_cache):
        if not (p / f"raw_{MODEL}.jsonl").exists():
            sys.exit(f"error: {p}/raw_{MODEL}.jsonl: not found (see the commands at the top of elastic_calibration_union.py)")
    from joblib import Parallel, delayed
    from sklearn.model_selection import GroupKFold

    from dsei.discovery.train import load_training_features

    ts = load_training_features()
    mlip = mlip_rows(args.dev_cache, args.ts_cache)
    hide = [float(h) for h in args.hide.split(",")]
    n_in = sum(i in mlip for i in ts.ids)
    print(f"{len(ts)} rows; {n_in} with a stable cached {MODEL} tensor "
          f"({sum(mlip[i]['in_finetune'] for i in ts.ids if i in mlip)} of them in the fine-tune's training set, never hidden)")
    folds = list(GroupKFold(n_splits=5).split(ts.x, groups=ts.ids))
    per_fold = Parallel(n_jobs=args.jobs)(delayed(one_fold)(k, tr, te, ts, mlip, hide, args.members, args.seed)
                                          for k, (tr, te) in enumerate(folds))
    test = np.concatenate([te for _, te in folds])
    print(f"\ngrouped 5-fold CV by mp_id, {args.members} members; hidden rows per fold: "
          + ", ".join(f"{h}: {np.mean([r[f'_n_hidden_{h}'] for r in per_fold]):.0f}" for h in hide))
    print("\n| training rows | Pugh side | Spearman B/G | MAE K (GPa) | MAE G (GPa) |\n|---|---|---|---|---|")
    table = {}
    for name in [k for k in per_fold[0] if not k.startswith("_")]:
        # out-of-fold predictions pooled over the folds, scored once (as docs/discovery_cv.json)
        t = table[name] = score(*(np.concatenate([r[name][j] for r in per_fold]) for j in range(3)), ts, test)
        print(f"| {name} | {100 * t['pugh_side']:.1f} % | {t['spearman']:.3f} | {t['mae_K']:.1f} | {t['mae_G']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
