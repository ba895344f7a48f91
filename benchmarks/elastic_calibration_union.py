"""Should the shear calibration also learn from the tensor set? Trees on dev rows only against dev + tensor-set rows,
under one grouped CV of both sets, scored on each.

    # raw tensors of the default on the dev set (bench-out/dev_full, see elastic_surrogate_blend.py) and on the
    # 916 tensor-set compounds of <= 32 sites outside it (~1 h in two shards on 2 cores):
    OMP_NUM_THREADS=1 nice python benchmarks/tensor_set_raw.py --shard 0 --shards 2 --max-sites 32 --model sevennet-l3i5-elastic
    OMP_NUM_THREADS=1 nice python benchmarks/tensor_set_raw.py --shard 1 --shards 2 --max-sites 32 --model sevennet-l3i5-elastic
    OMP_NUM_THREADS=1 nice python benchmarks/tensor_set_raw.py --merge-only --model sevennet-l3i5-elastic
    OMP_NUM_THREADS=2 python benchmarks/elastic_calibration_union.py                 # --learner gbt: the previous trees

The shipped trees (threshold-weighted gradient-boosted trees of ln[(B/G)_MLIP/(B/G)_DFT],
``elastic_accuracy.gbt_params``) are fitted on the 1,000 dev compounds, all binaries. The tensor set
(``mp_elastic_tensors_dejong2015.json.gz``; de Jong et al. 2015) adds elements and ternaries. Rows: every dev compound
and every tensor-set compound outside the dev set of ≤ ``--max-sites`` sites whose raw tensor is cached; a compound
is one group (ids are unique across the union). 5-fold CV × 5 seeds over the union; for each fold the trees are fitted
on the other folds' Born-stable compounds (a) of the dev set only (the shipped recipe), (b) of both sets, (c) of the
dev set and the tensor-set compounds the fine-tune did not train on; each scores the fold's compounds. The tensor-set
compounds the fine-tune trained on (cells of ≤ 12 sites with a symmetry-clamped strain pair; ``elastic_tensor_holdout``)
have in-sample raw tensors and are scored apart. A tensor that is not positive definite is a miss (no fallback).

Results: docs/mechanics.md, "Calibration" ("Tensor-set rows in the default's trees"), and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from elastic_accuracy import (  # noqa: E402
    CV_SEEDS,
    ROOT,
    THRESHOLD_WEIGHT,
    features,
    is_sei_like,
    load_dev,
    load_raw,
    load_tensor_set,
    moduli,
)
from elastic_calibration_variants import fit_trees  # noqa: E402

LN_T = float(np.log(1.75))


def rows(dev_cache: Path, ts_cache: Path, model: str, max_sites: int) -> dict:
    from elastic_tensor_holdout import held_out
    from pymatgen.core import Composition

    from dsei.mechanics.calibration import FEATURES, feature_vector

    held = {e["mp_id"] for e in held_out(max_sites)}
    dev = load_dev(1)
    raw_dev = load_raw(dev_cache, model)
    raw_ts = load_raw(ts_cache, model)
    ts = [e for e in load_tensor_set(max_sites) if e["mp_id"] in raw_ts and e["K_vrh"] > 0 and e["G_vrh"] > 0]
    out = {k: [] for k in ("x", "ok", "pugh_m", "G_m", "pugh_dft", "G_dft", "group", "arity", "sei", "formula")}
    for src, entries, raw in (("dev", dev, raw_dev), ("ts", ts, raw_ts)):
        for e in entries:
            r = raw.get(e["mp_id"], {})
            m = moduli(np.array(r["C_GPa"]), r["volume_per_atom_A3"]) if "C_GPa" in r else None
            f = features(e["formula"], np.array(r["C_GPa"]), r["volume_per_atom_A3"]) if m and m["stable"] else None
            ok = f is not None
            out["x"].append(feature_vector(f, FEATURES) if ok else np.zeros(len(FEATURES)))
            out["ok"].append(ok)
            out["pugh_m"].append(m["pugh"] if ok else np.nan)
            out["G_m"].append(m["G"] if ok else np.nan)
            out["pugh_dft"].append(e["K_vrh"] / e["G_vrh"])
            out["G_dft"].append(e["G_vrh"])
            out["group"].append("dev" if src == "dev" else ("ts_held" if e["mp_id"] in held else "ts_finetune"))
            out["arity"].append(len(Composition(e["formula"]).elements))
            out["sei"].append(is_sei_like(e))
            out["formula"].append(e["formula"])
    return {k: np.array(v) for k, v in out.items()}


def main() -> int:
    from dsei.mechanics.descriptors import threshold_weights

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="sevennet-l3i5-elastic")
    ap.add_argument("--dev-cache", type=Path, default=ROOT / "bench-out" / "dev_full")
    ap.add_argument("--ts-cache", type=Path, default=ROOT / "bench-out" / "tensor_set_raw")
    ap.add_argument("--max-sites", type=int, default=32, help="tensor-set cells of at most this many sites (the shipped fit's)")
    ap.add_argument("--learner", choices=("gbt", "hgb"), default="hgb",
                    help="gbt: GradientBoostingRegressor (GBT_SETTINGS, the previous kind); hgb: HistGradientBoostingRegressor "
                         "(HGB_SETTINGS, shipped)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    for p in (args.dev_cache, args.ts_cache):
        if not (p / f"raw_{args.model}.jsonl").exists():
            sys.exit(f"error: {p}/raw_{args.model}.jsonl: not found (see the commands at the top of this script)")
    d = rows(args.dev_cache, args.ts_cache, args.model, args.max_sites)
    n, ok = len(d["ok"]), d["ok"]
    y = np.log(d["pugh_m"] / d["pugh_dft"])
    w = threshold_weights(np.log(d["pugh_dft"]), **THRESHOLD_WEIGHT)
    duct = d["pugh_dft"] >= 1.75
    train_sets = {
        "dev rows only (shipped recipe)": d["group"] == "dev",
        "dev + tensor-set rows": np.ones(n, bool),
        "dev + tensor-set rows the fine-tune did not see": d["group"] != "ts_finetune",
    }
    scored = {
        "dev (1,000)": d["group"] == "dev",
        "dev SEI-like": (d["group"] == "dev") & d["sei"],
        "tensor set, held out": d["group"] == "ts_held",
        "  elements": (d["group"] == "ts_held") & (d["arity"] == 1),
        "  binaries": (d["group"] == "ts_held") & (d["arity"] == 2),
        "  ternaries+": (d["group"] == "ts_held") & (d["arity"] >= 3),
        "tensor set, fine-tune's": d["group"] == "ts_finetune",
    }
    print(f"{n} compounds: " + ", ".join(f"{k.strip()} {int(m.sum())} ({int((m & ~ok).sum())} unstable)" for k, m in scored.items()))
    fit = functools.partial(fit_trees, learner="hist" if args.learner == "hgb" else "gbt")
    res = {t: {s: [] for s in scored} for t in train_sets}
    mae = {t: {s: [] for s in scored} for t in train_sets}
    for seed in CV_SEEDS:
        order = np.random.default_rng(seed).permutation(n)
        for t, allowed in train_sets.items():
            ln_pred = np.full(n, np.nan)
            g_cal = np.full(n, np.nan)
            for fold in np.array_split(order, 5):
                tr = np.setdiff1d(order, fold)
                tr = tr[ok[tr] & allowed[tr]]
                te = fold[ok[fold]]
                yh = fit(d["x"][tr], y[tr], w[tr], d["x"][te])
                ln_pred[te] = np.log(d["pugh_m"][te]) - yh
                g_cal[te] = d["G_m"][te] * np.exp(yh)
            hit = np.where(ok, (ln_pred >= LN_T) == duct, False)
            for s, m in scored.items():
                res[t][s].append(hit[m].mean())
                mae[t][s].append(np.nanmean(np.abs(g_cal - d["G_dft"])[m & ok]))
    print("\nPugh agreement (5-fold CV × 5 seeds; ± the seeds' std) | MAE G (GPa)")
    print("| scored on | " + " | ".join(train_sets) + " |")
    print("|---|" + "---|" * len(train_sets))
    for s in scored:
        print(f"| {s} (n {int(scored[s].sum())}) | " + " | ".join(
            f"{np.mean(res[t][s]) * 100:.1f} % ± {np.std(res[t][s]) * 100:.1f} / {np.mean(mae[t][s]):.2f}" for t in train_sets) + " |")
    uncal = np.where(ok, (np.log(d["pugh_m"]) >= LN_T) == duct, False)
    print("\nuncalibrated: " + ", ".join(f"{s.strip()} {uncal[m].mean() * 100:.1f} %" for s, m in scored.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
