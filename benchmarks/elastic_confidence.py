"""Is ``p_ductile`` calibrated? Reliability, Brier score and risk–coverage of the default model's confidence under CV.

    # raw tensors (cached, resumable; ~7 s per compound on one thread):
    OMP_NUM_THREADS=1 nice python benchmarks/elastic_accuracy.py --every 5 --models sevennet-l3i5
    OMP_NUM_THREADS=1 nice python benchmarks/elastic_accuracy.py --every 1 --sei-only --models sevennet-l3i5
    # this analysis (seconds), and with --write the shipped src/dsei/mechanics/data/confidence.json:
    OMP_NUM_THREADS=1 python benchmarks/elastic_confidence.py --every 5 --plus-sei [--write]

Compounds: every ``--every``-th dev entry (../shared/data/mp_binary_elasticity_dev.json.gz), plus with
``--plus-sei`` every SEI-like dev compound (``elastic_accuracy.is_sei_like``: 66 of the 1,000), whose raw tensors
are cached (``elastic_accuracy.py``'s cache, ``--out``).

Nested cross-validation, so that every probability is for a compound that neither the calibration trees nor the
residual model saw: for each of 5 outer folds (repeated over ``elastic_accuracy.CV_SEEDS``), the shipped kind of
calibration (threshold-weighted gradient-boosted trees, refitted exactly as ``elastic_accuracy.py`` does) is
refitted on the other four folds leaving one of them out at a time, which gives out-of-fold residuals
r = ln(B/G)_DFT − ln(B/G)_pred on the training compounds; the residual model (dsei.mechanics.confidence.fit) is
fitted to them; then the trees refitted on all four training folds predict the held-out fold and the residual
model turns each prediction into p_ductile. Unstable tensors (not positive definite) get no p and count as not
stated (and, for the agreement, as misses).

Printed: Brier score (G. W. Brier, Mon. Weather Rev. 78, 1 (1950)) and log-loss (against the base rate's), a
reliability table (bins of p against the observed
fraction ductile in DFT), a risk–coverage table (R. El-Yaniv & Y. Wiener, J. Mach. Learn. Res. 11, 1605 (2010); for p* = 0.5 … 0.99: the fraction of all compounds with a
confident verdict, p ≥ p* or p ≤ 1 − p*, and how many of those are right), the same for the fixed band it
replaces (calibrated B/G outside 1.65–2.00), and the SEI-like compounds alone; for the shipped variant at p*, the
confidently wrong compounds of seed 0, and the SEI-like compounds, Li alloys and Cu(I) halides confidently wrong in
any seed (with how many of the seeds). ``--write`` fits the residual
model on the out-of-fold residuals of the (non-nested) 5-fold CV, pooled over the seeds, and writes it with the
chosen p* (the smallest of the grid whose nested-CV confident verdicts are ≥ ``--target`` right; the largest
of the grid if none is) into src/dsei/mechanics/data/confidence.json.

The shipped trees were fitted on all 1,000 dev compounds, so their residuals on these compounds are in-sample
and are not used: every number here comes from trees refitted on part of the subset (about 160–200 compounds
per fit instead of 1,000; their residuals are, if anything, larger than the shipped trees' on unseen compounds).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import elastic_accuracy as EA  # noqa: E402

from dsei.mechanics import confidence as conf  # noqa: E402

THRESH = EA.THRESH
#: p* grid of the risk–coverage table.
P_GRID = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
#: Reliability bins of p.
BINS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0000001)
#: The variants fitted to the DFT side (:func:`dsei.mechanics.confidence.fit_side`, probit or logistic link) instead
#: of the residuals.
SIDE = "constant μ, σ fitted to the side (probit)"
SIDE_LOGIT = "constant μ, s fitted to the side (logistic)"
SIDE_LOGIT_X = "s(all_metal, ln a_G) fitted to the side (logistic)"
#: Residual-model variants compared ((σ features, μ features), or for a fit to the side its link and σ features); the one with
#: the lowest nested-CV Brier score is shipped. ``ln_distance`` = ln(B/G_pred / 1.75).
VARIANTS = {
    "constant μ, σ": ((), ()),
    "σ(all_metal, ln a_G)": (conf.SIGMA_FEATURES, ()),
    "μ, σ linear in ln_distance": (("ln_distance",), ("ln_distance",)),
    "μ, σ linear in ln_distance, all_metal": (("ln_distance", "all_metal"), ("ln_distance", "all_metal")),
    SIDE: {"link": "probit", "sigma": ()},
    SIDE_LOGIT: {"link": "logit", "sigma": ()},
    SIDE_LOGIT_X: {"link": "logit", "sigma": conf.SIGMA_FEATURES},
}


def _is_cu1_halide(entry: dict) -> bool:
    """CuX with X a halogen (one Cu per halide: Cu(I))."""
    from pymatgen.core import Composition

    c = Composition(entry["formula"]).reduced_composition
    halides = [el for el in c.elements if el.symbol in ("F", "Cl", "Br", "I")]
    return len(c.elements) == 2 and len(halides) == 1 and c["Cu"] == c[halides[0]] == 1


def select_entries(every: int, plus_sei: bool) -> list[dict]:
    entries = EA.load_dev(1)
    return [e for i, e in enumerate(entries) if i % every == 0 or (plus_sei and EA.is_sei_like(e))]


class Data:
    """Cached raw tensors of one model for the selected compounds."""

    def __init__(self, out: Path, entries: list[dict], model: str, extra_rows: Path | None = None, extra_max_sites: int = 16):
        raw = EA.load_raw(out, model)
        # tensor-set rows every tree fit also takes (the shipped trees' recipe with --extra-rows); never scored
        if extra_rows is not None:
            from elastic_tensor_holdout import extra_calibration_rows

            self.extra = extra_calibration_rows(extra_rows, model, extra_max_sites)
        else:
            self.extra = ([], [], [], [])
        self.missing = [e["mp_id"] for e in entries if e["mp_id"] not in raw]
        self.entries = [e for e in entries if e["mp_id"] in raw]
        ids = [e["mp_id"] for e in self.entries]
        self.cs = EA.tensors(raw, ids, "C_GPa")
        self.vols = [raw[i].get("volume_per_atom_A3", 10.0) for i in ids]
        self.formulas = [e["formula"] for e in self.entries]
        self.ref = np.array([e["K_vrh"] / e["G_vrh"] for e in self.entries])
        self.model = model

    def __len__(self):
        return len(self.entries)

    def fit_trees(self, idx):
        fitter = EA.FITTERS[EA.shipped_kind(self.model)]
        idx = list(idx)
        xc, xv, xf, xe = self.extra
        return fitter([self.cs[i] for i in idx] + xc, [self.vols[i] for i in idx] + xv, [self.formulas[i] for i in idx] + xf,
                      [self.entries[i] for i in idx] + xe)

    def predict(self, fn, idx) -> dict[int, tuple[float, dict]]:
        """{i: (calibrated ln B/G, σ-features)} for the Born-stable compounds of ``idx``."""
        out = {}
        for i in idx:
            c = self.cs[i]
            if c is None:
                continue
            m = EA.moduli(c, self.vols[i])
            if not m["stable"]:
                continue
            sc = fn(c, self.vols[i], self.formulas[i])
            a_g = 1.0 if sc is None else sc[1]
            feat = EA.features(self.formulas[i], c, self.vols[i]) or {"all_metal": 0.0}
            lnp = math.log(m["pugh"] / a_g)
            out[i] = (lnp, {"all_metal": feat["all_metal"], "ln_a_G": math.log(a_g), "ln_distance": lnp - math.log(THRESH)})
        return out


def _fit_residuals(d: Data, preds: dict[int, tuple[float, dict]], variant) -> dict:
    ids = sorted(preds)
    r = np.array([math.log(d.ref[i]) - preds[i][0] for i in ids])
    return _fit_variant(variant, r, [preds[i][1] for i in ids])


def _fit_variant(variant, r: np.ndarray, feats: list[dict]) -> dict:
    """Fit one residual-model variant to residuals ``r`` with each compound's features ``feats``."""
    if isinstance(variant, dict):
        names = variant["sigma"]
        x = np.array([[f[n] for n in names] for f in feats]).reshape(len(r), len(names))
        return conf.fit_side(r, np.array([f["ln_distance"] for f in feats]), variant["link"], x, names)
    names, mu_names = variant
    x = np.array([[f[n] for n in (*names, *mu_names)] for f in feats]).reshape(len(r), len(names) + len(mu_names))
    return conf.fit(r, x, names, mu_names)


def nested_cv(d: Data, seed: int, k: int = 5) -> dict[str, dict[int, tuple[float, float]]]:
    """{variant: {i: (p_ductile, calibrated B/G)}} under nested k-fold CV (see the module doc)."""
    n = len(d)
    order = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(order, k)
    out: dict[str, dict[int, tuple[float, float]]] = {v: {} for v in VARIANTS}
    for fi, test in enumerate(folds):
        train_folds = [f for fj, f in enumerate(folds) if fj != fi]
        train = np.concatenate(train_folds)
        inner: dict[int, tuple[float, dict]] = {}
        for gi, held in enumerate(train_folds):
            rest = np.concatenate([f for gj, f in enumerate(train_folds) if gj != gi])
            inner.update(d.predict(d.fit_trees(rest), held))
        preds = d.predict(d.fit_trees(train), test)
        for v, names in VARIANTS.items():
            params = _fit_residuals(d, inner, names)
            for i, (lnp, x) in preds.items():
                out[v][i] = (conf.p_ductile(params, math.exp(lnp), x), math.exp(lnp))
    return out


def plain_cv_residual_fit(d: Data, variant, seeds) -> dict:
    """The residual model fitted to the out-of-fold predictions of plain 5-fold CV, pooled over ``seeds``."""
    pooled_r, pooled_x = [], []
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(len(d))
        for test in np.array_split(order, 5):
            train = np.setdiff1d(order, test)
            for i, (lnp, x) in d.predict(d.fit_trees(train), test).items():
                pooled_r.append(math.log(d.ref[i]) - lnp)
                pooled_x.append(x)
    return _fit_variant(variant, np.array(pooled_r), pooled_x)


# ------------------------------------------------------------------------------------------- scores
def scores(ps: dict[int, tuple[float, float]], d: Data, keep: list[int]) -> dict:
    idx = [i for i in keep if i in ps]
    p = np.array([ps[i][0] for i in idx])
    y = np.array([d.ref[i] >= THRESH for i in idx], dtype=float)
    eps = 1e-6
    base = y.mean() if len(y) else float("nan")
    return {
        "n_with_p": len(idx),
        "n": len(keep),
        "brier": float(np.mean((p - y) ** 2)),
        "brier_base_rate": float(np.mean((base - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(np.clip(p, eps, 1)) + (1 - y) * np.log(np.clip(1 - p, eps, 1)))),
        "agreement": float(np.sum((p >= 0.5) == (y == 1)) / len(keep)),
    }


def risk_coverage(ps, d: Data, keep: list[int], p_star: float) -> dict:
    """Fraction of all ``keep`` compounds stated with confidence at p*, and the accuracy of those statements."""
    stated = right = 0
    wrong = []
    for i in keep:
        if i not in ps:
            continue
        p = ps[i][0]
        if p >= p_star or p <= 1 - p_star:
            stated += 1
            ok = (p >= p_star) == (d.ref[i] >= THRESH)
            right += int(ok)
            if not ok:
                wrong.append(i)
    return {"coverage": stated / len(keep), "stated": stated, "right": right,
            "accuracy": right / stated if stated else float("nan"), "wrong": wrong}


def band_coverage(ps, d: Data, keep: list[int]) -> dict:
    """The fixed band it replaces: confident where the calibrated B/G is outside 1.65–2.00."""
    from dsei.mechanics.verdict import in_uncertain_band, uncertain_band

    below, above = uncertain_band(True)
    stated = right = 0
    for i in keep:
        if i not in ps:
            continue
        bg = ps[i][1]
        if not in_uncertain_band(bg, below, above):
            stated += 1
            right += int((bg >= THRESH) == (d.ref[i] >= THRESH))
    return {"coverage": stated / len(keep), "stated": stated, "right": right, "accuracy": right / stated if stated else float("nan")}


def reliability_table(runs, d: Data, keep: list[int]) -> list[tuple]:
    rows = []
    keep_set = set(keep)
    allp = [(p, d.ref[i] >= THRESH) for r in runs for i, (p, _) in r.items() if i in keep_set]
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        sel = [(p, y) for p, y in allp if lo <= p < hi]
        if sel:
            rows.append((lo, min(hi, 1.0), len(sel) / len(runs), float(np.mean([p for p, _ in sel])), float(np.mean([y for _, y in sel]))))
        else:
            rows.append((lo, min(hi, 1.0), 0, float("nan"), float("nan")))
    return rows


def mean_over(runs, fn) -> dict:
    vals = [fn(r) for r in runs]
    keys = [k for k, v in vals[0].items() if isinstance(v, int | float)]
    out = {k: float(np.mean([v[k] for v in vals])) for k in keys}
    for k in keys:
        out[k + "_sd"] = float(np.std([v[k] for v in vals]))
    return out


def report(d: Data, runs_by_variant: dict[str, list], keep: list[int], label: str) -> dict:
    print(f"\n## {label}: {len(keep)} compounds ({sum(1 for i in keep if i in runs_by_variant[next(iter(VARIANTS))][0])} with a positive-definite tensor)")
    print("\n| residual model | Brier | Brier, base rate | log-loss | agreement (p ≥ 0.5 vs DFT side) |")
    print("|---|---|---|---|---|")
    res = {}
    for v, runs in runs_by_variant.items():
        s = mean_over(runs, lambda r: scores(r, d, keep))
        res[v] = {"scores": s}
        print(f"| {v} | {s['brier']:.4f} ± {s['brier_sd']:.4f} | {s['brier_base_rate']:.4f} | {s['log_loss']:.3f} | {100 * s['agreement']:.1f} % |")
    for v, runs in runs_by_variant.items():
        print(f"\nreliability ({v}; pooled over {len(runs)} CV seeds, n per seed):")
        print("| p_ductile bin | n | mean p | observed fraction ductile (DFT) |")
        print("|---|---|---|---|")
        rel = reliability_table(runs, d, keep)
        for lo, hi, n, mp, obs in rel:
            print(f"| {lo:.2f}–{hi:.2f} | {n:.1f} | {mp:.3f} | {obs:.3f} |")
        res[v]["reliability"] = rel
        print(f"\nrisk–coverage ({v}; mean over seeds; coverage = confident verdicts / all {len(keep)}, unstable included):")
        print("| p* | coverage | confident verdicts right | confidently wrong (per seed) |")
        print("|---|---|---|---|")
        rc = {}
        for ps in P_GRID:
            m = mean_over(runs, lambda r, ps=ps: risk_coverage(r, d, keep, ps))
            rc[ps] = m
            print(f"| {ps:.2f} | {100 * m['coverage']:.1f} % | {100 * m['accuracy']:.1f} % ± {100 * m['accuracy_sd']:.1f} | {m['stated'] - m['right']:.1f} |")
        res[v]["risk_coverage"] = rc
    b = mean_over(runs_by_variant[next(iter(VARIANTS))], lambda r: band_coverage(r, d, keep))
    print(f"\nthe fixed band it replaces (calibrated B/G outside 1.65–2.00 stated): coverage {100 * b['coverage']:.1f} %, "
          f"right {100 * b['accuracy']:.1f} % ± {100 * b['accuracy_sd']:.1f}")
    res["fixed_band"] = b
    return res


def choose_p_star(rc: dict, target: float) -> float:
    ok = [p for p in P_GRID if rc[p]["accuracy"] >= target]
    return min(ok) if ok else max(P_GRID)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--plus-sei", action="store_true", help="add every SEI-like dev compound")
    ap.add_argument("--model", default="sevennet-l3i5")
    ap.add_argument("--out", type=Path, default=EA.ROOT / "bench-out" / "elastic_accuracy")
    ap.add_argument("--target", type=float, default=0.97, help="accuracy of confident verdicts p* is chosen for")
    ap.add_argument("--min-coverage", type=float, default=0.80, help="coverage the target asks for alongside --target")
    ap.add_argument("--p-star", type=float, default=None,
                    help="ship this p* instead of the rule's (when the target cannot be met: say why in the docs)")
    ap.add_argument("--write", action="store_true", help="write src/dsei/mechanics/data/confidence.json")
    ap.add_argument("--extra-rows", type=Path, default=None,
                    help="every tree fit also takes these tensor-set rows (as elastic_accuracy.py --extra-rows)")
    ap.add_argument("--extra-max-sites", type=int, default=16)
    args = ap.parse_args()
    print("command: python " + " ".join(sys.argv), flush=True)
    entries = select_entries(args.every, args.plus_sei)
    d = Data(args.out, entries, args.model, args.extra_rows, args.extra_max_sites)
    if d.missing:
        print(f"{len(d.missing)} of the {len(entries)} selected compounds have no cached tensor and are left out")
    runs_by_variant: dict[str, list] = {v: [] for v in VARIANTS}
    for seed in EA.CV_SEEDS:
        r = nested_cv(d, seed)
        for v in VARIANTS:
            runs_by_variant[v].append(r[v])
        print(f"seed {seed} done", flush=True)
    everyone = list(range(len(d)))
    sei = [i for i, e in enumerate(d.entries) if EA.is_sei_like(e)]
    rep = {"model": args.model, "n": len(d), "subset": f"every {args.every}" + (" + SEI-like" if args.plus_sei else "")}
    rep["all"] = report(d, runs_by_variant, everyone, f"{rep['subset']} ({args.model}, nested 5-fold CV × {len(EA.CV_SEEDS)} seeds)")
    rep["sei_like"] = report(d, runs_by_variant, sei, "SEI-like compounds only (same CV predictions)")
    best = min(VARIANTS, key=lambda v: rep["all"][v]["scores"]["brier"])
    rule = choose_p_star(rep["all"][best]["risk_coverage"], args.target)
    rc_rule = rep["all"][best]["risk_coverage"][rule]
    feasible = rc_rule["accuracy"] >= args.target and rc_rule["coverage"] >= args.min_coverage
    print(f"\nthe rule's p* (smallest of the grid with confident verdicts ≥ {100 * args.target:.0f} % right): {rule}, coverage "
          f"{100 * rc_rule['coverage']:.1f} % — the target ({100 * args.target:.0f} % right at ≥ {100 * args.min_coverage:.0f} % coverage) is "
          f"{'met' if feasible else 'NOT met at any p* of the grid'}")
    p_star = rule if args.p_star is None else args.p_star
    if p_star not in rep["all"][best]["risk_coverage"]:
        for part in ("all", "sei_like"):
            keep = everyone if part == "all" else sei
            rep[part][best]["risk_coverage"][p_star] = mean_over(runs_by_variant[best], lambda r, k=keep: risk_coverage(r, d, k, p_star))
    at = rep["all"][best]["risk_coverage"][p_star]
    sei_at = rep["sei_like"][best]["risk_coverage"][p_star]
    print(f"shipped variant (lower nested-CV Brier): {best}; p* = {p_star}{' (given with --p-star)' if args.p_star is not None else ''}: "
          f"coverage {100 * at['coverage']:.1f} %, right {100 * at['accuracy']:.1f} %; "
          f"SEI-like: coverage {100 * sei_at['coverage']:.1f} %, right {100 * sei_at['accuracy']:.1f} %")
    # the confidently wrong at p*, named (seed 0)
    wrong = risk_coverage(runs_by_variant[best][0], d, everyone, p_star)["wrong"]
    for i in wrong:
        e = d.entries[i]
        p, bg = runs_by_variant[best][0][i]
        print(f"  confidently wrong (seed 0): {e['formula']} {e['mp_id']} p={p:.3f} B/G pred {bg:.2f} DFT {d.ref[i]:.2f}"
              f"{' (SEI-like)' if EA.is_sei_like(e) else ''}")
    # over every seed: the named classes (SEI-like, Li alloys, Cu(I) halides) confidently wrong in any seed
    counts: dict[int, int] = {}
    for run in runs_by_variant[best]:
        for i in risk_coverage(run, d, everyone, p_star)["wrong"]:
            counts[i] = counts.get(i, 0) + 1
    for label, test in (("SEI-like", EA.is_sei_like), ("Li alloy", lambda e: EA.is_li_alloy(e["formula"])), ("Cu(I) halide", _is_cu1_halide)):
        named = [f"{d.entries[i]['formula']} ({k}/{len(runs_by_variant[best])})" for i, k in sorted(counts.items()) if test(d.entries[i])]
        print(f"  {label} confidently wrong in any seed: {', '.join(named) if named else 'none'}")
    out_json = args.out / "confidence_report.json"
    out_json.write_text(json.dumps(rep, indent=2, default=str))
    if args.write:
        params = plain_cv_residual_fit(d, VARIANTS[best], EA.CV_SEEDS)
        print(f"shipped residual model: {params}")
        path = EA.ROOT / "src" / "dsei" / "mechanics" / "data" / "confidence.json"
        doc = json.loads(path.read_text()) if path.exists() else {}
        doc["description"] = (
            "Residual model of the calibrated ln(B/G) (dsei.mechanics.confidence): r = ln(B/G)_DFT - ln(B/G)_pred ~ "
            "N(mu, sigma(x)^2) (kind 'normal') or logistic with scale sigma (kind 'logistic'), ln sigma = "
            "log_sigma_intercept + log_sigma_coef . x; p_ductile = F((ln(B/G)_pred + mu - ln 1.75) / sigma), F the normal "
            "or logistic CDF. Fitted to out-of-fold predictions of the model's shipped kind of calibration refitted "
            "under 5-fold CV (5 seeds pooled) on the compounds named in 'subset' (MP PBE dev set): by maximum likelihood "
            "of the residuals, or, where fitted_to is 'side', by probit or logistic regression of the DFT side of 1.75 on "
            "ln(B/G_pred / 1.75) (dsei.mechanics.confidence.fit_side). "
            "p_star: the verdict is ductile if p >= p_star, brittle if p <= 1 - p_star, else uncertain; chosen on nested CV."
        )
        doc.setdefault("models", {})
        doc["models"][args.model] = {
            **{k: (round(v, 6) if isinstance(v, float) else [round(x, 6) for x in v] if k.endswith("_coef") else v) for k, v in params.items()},
            "p_star": p_star,
            "target_accuracy": args.target,
            "target_met": bool(feasible),
            "fitted_with": f"benchmarks/elastic_confidence.py --every {args.every}{' --plus-sei' if args.plus_sei else ''} --model {args.model}"
                           f"{f' --p-star {args.p_star}' if args.p_star is not None else ''}"
                           f"{f' --out {args.out.name} --extra-rows {args.extra_rows.name} --extra-max-sites {args.extra_max_sites}' if args.extra_rows else ''} --write",
            "subset": rep["subset"],
            "n_compounds": len(d),
            "nested_cv": {
                "brier": round(rep["all"][best]["scores"]["brier"], 4),
                "brier_base_rate": round(rep["all"][best]["scores"]["brier_base_rate"], 4),
                "coverage": round(at["coverage"], 4),
                "accuracy_confident": round(at["accuracy"], 4),
                "sei_like_coverage": round(sei_at["coverage"], 4),
                "sei_like_accuracy_confident": round(sei_at["accuracy"], 4),
            },
        }
        path.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
