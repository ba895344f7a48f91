"""Can the shear calibration learn more? Variants of the default model's trees under the benchmark's CV (measured: no).

    OMP_NUM_THREADS=1 nice python benchmarks/tensor_set_raw.py                    # raw tensors of the tensor set (resumable)
    OMP_NUM_THREADS=1 nice python benchmarks/elastic_calibration_variants.py [--variants base,half,no_floor,...]

Same data, target, weights, settings and 5-fold × 5-seed CV as the shipped threshold-weighted trees of
``benchmarks/elastic_accuracy.py`` (SevenNet-l3i5 raw tensors of all 1,000 dev compounds from its cache
``bench-out/elastic_accuracy/raw_sevennet-l3i5.jsonl``; an unstable tensor is a miss), each variant changing one
thing:

- ``base``: the shipped kind, refitted in this loop (the reference the other variants are compared with; it also
  prints the SEI-like misses of the seed-averaged B/G whose uncalibrated side was right);
- ``half``: trained on a random half of each training fold (the learning curve: does more data help?);
- ``no_floor``: a_G may fall below 1 (the shipped clip keeps ŷ ≥ 0: shear only stiffened);
- ``descriptors``: plus the discovery surrogate's 32 structure/composition descriptors
  (:mod:`dsei.discovery.features`, of the DFT structure);
- ``extra``: plus, in every training fold, the tensor-set compounds not in the dev set with their SevenNet-l3i5
  raw tensors (``bench-out/tensor_set_raw/raw_sevennet-l3i5.jsonl``, from ``benchmarks/tensor_set_raw.py``) and
  DFT K_VRH, G_VRH (never scored);
- ``stacked``: plus a stacked feature, ln(B/G)_MLIP minus the discovery surrogate's ln(B/G) (one GBT on the 32
  descriptors, :data:`dsei.discovery.train.GBT` settings), trained on the tensor-set rows not in the dev set and the
  fold's training rows (out-of-fold by an inner 5-fold split for the training rows);
- ``k_trees``: a separate tree model of ln(K_DFT/K_MLIP) (Huber loss, with the ``extra`` rows), for MAE K only;
- ``classifier``: no regression of the log error at all: gradient-boosted trees (the same settings and features)
  classify the DFT side (B/G ≥ 1.75) directly, log-loss, unweighted; the side is P ≥ 0.5 and P is a p_ductile
  (Brier score and the coverage / accuracy at P or 1 − P ≥ 0.7 are printed too). MAE G does not apply;
- ``split``: two sets of trees, one fitted on and applied to the intermetallics (``all_metal``) and one on the rest:
  the MLIPs' shear softening differs by bonding (docs/mechanics.md, "Calibration"), and the shared trees over-stiffen
  some ionic phases whose raw B/G was already on DFT's side.

``--model`` picks the raw tensors (``raw_<model>.jsonl`` in ``--cache``; the table in docs/mechanics.md was measured
with SevenNet-l3i5, the classifier row with the default ``sevennet-l3i5-elastic``).

Results: docs/mechanics.md, "Calibration: what more it can learn".
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from elastic_accuracy import (  # noqa: E402
    CV_SEEDS,
    GBT_SETTINGS,
    ROOT,
    THRESHOLD_WEIGHT,
    features,
    is_sei_like,
    load_dev,
    load_raw,
    moduli,
    tree_regressor,
)

from dsei.mechanics.descriptors import threshold_weights  # noqa: E402

TENSORS = ROOT.parent / "shared" / "data" / "mp_elastic_tensors_dejong2015.json.gz"


def dev_rows(cache: Path, model: str = "sevennet-l3i5"):
    from dsei.discovery.train import load_training_features
    from dsei.mechanics.calibration import FEATURES, feature_vector

    entries = load_dev(1)
    raw = load_raw(cache, model)
    ts = load_training_features()
    desc = {i: ts.x[k] for k, i in enumerate(ts.ids)}
    rows = {"ok": [], "x": [], "d": [], "pugh_m": [], "K_m": [], "G_m": []}
    for e in entries:
        r = raw.get(e["mp_id"], {})
        m = moduli(np.array(r["C_GPa"]), r["volume_per_atom_A3"]) if "C_GPa" in r else None
        f = features(e["formula"], np.array(r["C_GPa"]), r["volume_per_atom_A3"]) if m and m["stable"] else None
        ok = f is not None and e["mp_id"] in desc
        rows["ok"].append(ok)
        rows["x"].append(feature_vector(f, FEATURES) if ok else np.zeros(len(FEATURES)))
        rows["d"].append(desc.get(e["mp_id"], np.zeros(ts.x.shape[1])))
        for k, key in (("pugh_m", "pugh"), ("K_m", "K"), ("G_m", "G")):
            rows[k].append(m[key] if ok else np.nan)
    out = {k: np.array(v) for k, v in rows.items()}
    out["pugh_dft"] = np.array([e["K_vrh"] / e["G_vrh"] for e in entries])
    out["K_dft"] = np.array([e["K_vrh"] for e in entries])
    out["G_dft"] = np.array([e["G_vrh"] for e in entries])
    out["sei"] = np.array([is_sei_like(e) for e in entries])
    out["formula"] = [e["formula"] for e in entries]
    dev_ids = {e["mp_id"] for e in entries}
    other = np.array([i not in dev_ids for i in ts.ids])
    out["surr_x"], out["surr_y"] = ts.x[other], (ts.ln_K - ts.ln_G)[other]
    return out


def extra_rows(path: Path):
    """Calibration rows of the tensor-set compounds not in the dev set (stable SevenNet-l3i5 tensors)."""
    from dsei.mechanics.calibration import FEATURES, feature_vector

    tens = {d["mp_id"]: d for d in json.load(gzip.open(TENSORS))}
    raw = load_raw(path.parent, "sevennet-l3i5") if path.exists() else {}
    x, y, p, yk = [], [], [], []
    for i, r in raw.items():
        e = tens.get(i)
        if e is None or e.get("in_dev_set") or "C_GPa" not in r or not (e["K_vrh"] > 0 and e["G_vrh"] > 0):
            continue
        c = np.array(r["C_GPa"])
        m = moduli(c, r["volume_per_atom_A3"])
        f = features(e["formula"], c, r["volume_per_atom_A3"]) if m["stable"] else None
        if f is None:
            continue
        x.append(feature_vector(f, FEATURES))
        p.append(e["K_vrh"] / e["G_vrh"])
        y.append(np.log(m["pugh"] / p[-1]))
        yk.append(np.log(e["K_vrh"] / m["K"]))
    return np.array(x), np.array(y), np.array(p), np.array(yk)


def fit_trees(x_tr, y_tr, w, x_te, floor: bool = True, learner: str = "gbt") -> np.ndarray:
    """Threshold-weighted calibration trees, predictions clipped to the fitted range (and at 0 with ``floor``).
    ``learner`` "gbt": depth-3 GradientBoostingRegressor (``GBT_SETTINGS``; the kind the variants here, the
    active-learning and the pseudo-label benchmarks were measured with); "hist": the default's histogram trees
    (``HGB_SETTINGS``)."""
    fit_model = tree_regressor(learner).fit(x_tr, y_tr, sample_weight=w)
    fit = fit_model.predict(x_tr)
    lo = max(0.0, fit.min()) if floor else fit.min()
    return np.clip(fit_model.predict(x_te), lo, max(lo, fit.max()))


def run(variant: str, d: dict, extra) -> str:
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    from dsei.discovery.train import GBT as SURROGATE_GBT
    from dsei.mechanics.calibration import FEATURES

    n, ok = len(d["ok"]), d["ok"]
    y = np.log(d["pugh_m"] / d["pugh_dft"])
    xe, ye, pe, yke = extra
    res, per_seed = [], []  # per seed: the classifier's P, or base's calibrated B/G
    for s in CV_SEEDS:
        order = np.random.default_rng(s).permutation(n)
        yhat, ak, prob = np.zeros(n), np.zeros(n), np.full(n, np.nan)
        for fold in np.array_split(order, 5):
            tr = np.setdiff1d(order, fold)
            tr = tr[ok[tr]]
            if variant == "half":
                tr = np.random.default_rng(100 + s).permutation(tr)[: len(tr) // 2]
            te = fold[ok[fold]]
            if variant == "k_trees":
                g = GradientBoostingRegressor(**{**GBT_SETTINGS, "loss": "huber"})
                g.fit(np.vstack([d["x"][tr], xe]), np.concatenate([np.log(d["K_dft"] / d["K_m"])[tr], yke]))
                ak[te] = g.predict(d["x"][te])
                continue
            x_tr, x_te = [d["x"][tr]], [d["x"][te]]
            if variant == "descriptors":
                x_tr.append(d["d"][tr])
                x_te.append(d["d"][te])
            if variant == "stacked":
                def surrogate(rows):
                    g = GradientBoostingRegressor(random_state=0, **SURROGATE_GBT)
                    return g.fit(np.vstack([d["surr_x"], d["d"][rows]]), np.concatenate([d["surr_y"], np.log(d["pugh_dft"][rows])]))

                inner = np.zeros(len(tr))
                for part in np.array_split(np.random.default_rng(7).permutation(len(tr)), 5):
                    inner[part] = surrogate(tr[np.setdiff1d(np.arange(len(tr)), part)]).predict(d["d"][tr[part]])
                x_tr.append((np.log(d["pugh_m"][tr]) - inner)[:, None])
                x_te.append((np.log(d["pugh_m"][te]) - surrogate(tr).predict(d["d"][te]))[:, None])
            x_tr, x_te = np.hstack(x_tr), np.hstack(x_te)
            if variant == "classifier":
                c = GradientBoostingClassifier(**GBT_SETTINGS).fit(x_tr, d["pugh_dft"][tr] >= 1.75)
                prob[te] = c.predict_proba(x_te)[:, 1]
                continue
            if variant == "split":
                metal = d["x"][:, FEATURES.index("all_metal")] > 0.5
                for grp in (metal, ~metal):
                    a, b = tr[grp[tr]], te[grp[te]]
                    if len(b):
                        yhat[b] = fit_trees(x_tr[grp[tr]], y[a], threshold_weights(np.log(d["pugh_dft"][a]), **THRESHOLD_WEIGHT),
                                            x_te[grp[te]], floor=True)
                continue
            y_tr, w = y[tr], threshold_weights(np.log(d["pugh_dft"][tr]), **THRESHOLD_WEIGHT)
            if variant == "extra":
                x_tr, y_tr = np.vstack([x_tr, xe]), np.concatenate([y_tr, ye])
                w = np.concatenate([w, threshold_weights(np.log(pe), **THRESHOLD_WEIGHT)])
            yhat[te] = fit_trees(x_tr, y_tr, w, x_te, floor=variant != "no_floor")
        if variant == "k_trees":
            k_cal = d["K_m"] * np.exp(ak)
            res.append((np.nan, np.nan, np.nan, np.nanmean(np.abs(k_cal - d["K_dft"])[ok])))
            continue
        pugh = d["pugh_m"] / np.exp(yhat)
        if variant == "classifier":  # only the side: a pseudo-ratio on the predicted side of 1.75
            pugh = np.where(prob >= 0.5, 2.0, 1.5)
            per_seed.append(prob)
        agree = np.where(ok, (pugh >= 1.75) == (d["pugh_dft"] >= 1.75), False)
        if variant == "base":
            per_seed.append(pugh)  # for the SEI-like misses below
        g_cal = d["G_m"] * np.exp(yhat)
        res.append((agree.mean(), agree[d["sei"]].mean(), np.nanmean(np.abs(g_cal - d["G_dft"])[ok]),
                    np.nanmean(np.abs(d["K_m"] - d["K_dft"])[ok])))
    a = np.nanmean(np.array(res, float), axis=0)
    if variant == "classifier":
        duct = d["pugh_dft"] >= 1.75
        brier = np.mean([np.mean((p[ok] - duct[ok]) ** 2) for p in per_seed])
        conf = [(ok & (np.maximum(p, 1 - p) >= 0.7)) for p in per_seed]  # unstable rows are never stated
        cov = np.mean([c.mean() for c in conf])
        right = np.mean([np.mean((p[c] >= 0.5) == duct[c]) for p, c in zip(per_seed, conf, strict=True)])
        return (f"{variant:12s} agreement {a[0] * 100:.1f} %  SEI-like {a[1] * 100:.1f} %  Brier {brier:.3f} (stable rows)  "
                f"at P ≥ 0.7: {cov * 100:.1f} % stated, {right * 100:.1f} % right")
    if variant == "k_trees":
        return f"{variant:12s} MAE K {a[3]:.2f} GPa (uncalibrated {np.nanmean(np.abs(d['K_m'] - d['K_dft'])[ok]):.2f}; {len(ye)} extra rows)"
    if variant == "base":  # SEI-like misses of the seed-averaged calibrated B/G, and whether the raw tensor had the side
        mean = np.mean(per_seed, axis=0)
        duct = d["pugh_dft"] >= 1.75
        miss = [i for i in np.flatnonzero(d["sei"]) if not ok[i] or (mean[i] >= 1.75) != duct[i]]
        raw_right = [i for i in miss if ok[i] and (d["pugh_m"][i] >= 1.75) == duct[i]]
        print(f"base: {len(miss)} SEI-like misses ({sum(not ok[i] for i in miss)} unstable); right uncalibrated: "
              + ", ".join(f"{d['formula'][i]} (DFT {d['pugh_dft'][i]:.2f}, raw {d['pugh_m'][i]:.2f}, calibrated {mean[i]:.2f})"
                          for i in raw_right))
    return (f"{variant:12s} agreement {a[0] * 100:.1f} %  SEI-like {a[1] * 100:.1f} %  MAE G {a[2]:.2f} GPa  MAE K {a[3]:.2f} GPa"
            + (f"  ({len(ye)} extra rows)" if variant == "extra" else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default="base,half,no_floor,descriptors,extra,stacked,k_trees")
    ap.add_argument("--model", default="sevennet-l3i5", help="whose raw tensors (raw_<model>.jsonl in --cache)")
    ap.add_argument("--cache", type=Path, default=ROOT / "bench-out" / "elastic_accuracy")
    ap.add_argument("--extra", type=Path, default=ROOT / "bench-out" / "tensor_set_raw" / "raw_sevennet-l3i5.jsonl")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if not (args.cache / f"raw_{args.model}.jsonl").exists():
        sys.exit(f"error: {args.cache}/raw_{args.model}.jsonl: not found "
                 f"(run benchmarks/elastic_accuracy.py --every 1 --models {args.model})")
    d = dev_rows(args.cache, args.model)
    extra = extra_rows(args.extra)
    for v in args.variants.split(","):
        if v in ("extra", "k_trees") and not len(extra[1]):
            print(f"{v:12s} skipped: no raw tensors in {args.extra} (run benchmarks/tensor_set_raw.py first)")
            continue
        print(run(v, d, extra), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
