"""Fitting the discovery surrogate (needs scikit-learn) and measuring it under grouped cross-validation.

Training data: the DFT (PBE) VRH moduli of ``mp_binary_elasticity_dev.json.gz`` and
``mp_elastic_tensors_dejong2015.json.gz`` (Materials Project, CC BY 4.0; de Jong et al., Sci. Data 2, 150009
(2015)), one row per ``mp_id`` (the dev set's value where both hold a compound), plus any MLIP elastic results a
discovery campaign computed (active learning: :func:`dsei.discovery.funnel.discover` refits per round).
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dsei.discovery.features import FEATURES, featurize
from dsei.discovery.surrogate import (
    HEADS,
    LN_PUGH_THRESHOLD,
    SURROGATE_FORMAT,
    Surrogate,
    blend_ln_pugh,
    sigma_from_spread,
)
from dsei.mechanics.descriptors import threshold_weights

#: The learner (docs/discovery.md, §2 "Learners"): scikit-learn's HistGradientBoostingRegressor, leaf-wise trees of at
#: most 15 leaves on binned features with L2-regularised leaves and 60 % of the features per split; every member sees
#: all rows and differs by its seed (the feature subsets). Settings fixed once from a comparison of learners under the
#: grouped CV (benchmarks/discovery_learners.py), not tuned further.
LEARNER = "hist"
HGB = {"max_iter": 300, "learning_rate": 0.08, "max_leaf_nodes": 15, "min_samples_leaf": 5, "l2_regularization": 1.0,
       "max_features": 0.6, "early_stopping": False}
#: The previous learner (``learner="gbt"``): GradientBoostingRegressor on bootstrap resamples, 1.0–1.5 points lower
#: in Pugh side and 0.02 in Spearman under the same CV; kept so that surrogates written with it refit the same way.
GBT = {"n_estimators": 250, "max_depth": 4, "learning_rate": 0.06, "subsample": 0.8, "min_samples_leaf": 3}
MEMBERS = 5


@dataclass
class TrainingSet:
    x: np.ndarray
    ln_K: np.ndarray
    ln_G: np.ndarray
    ids: list[str]
    formulas: list[str]
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, mask: np.ndarray) -> TrainingSet:
        idx = np.flatnonzero(mask)
        return TrainingSet(self.x[idx], self.ln_K[idx], self.ln_G[idx], [self.ids[i] for i in idx],
                           [self.formulas[i] for i in idx], [self.sources[i] for i in idx] if self.sources else [])

    @staticmethod
    def concat(a: TrainingSet, b: TrainingSet) -> TrainingSet:
        return TrainingSet(np.vstack([a.x, b.x]), np.concatenate([a.ln_K, b.ln_K]), np.concatenate([a.ln_G, b.ln_G]),
                           a.ids + b.ids, a.formulas + b.formulas, a.sources + b.sources)


def load_reference_sets(paths: list[str | Path], exclude_formulas: set[str] | None = None) -> TrainingSet:
    """Rows of the shared elasticity sets, one per ``mp_id`` (first file wins), K, G > 0, minus ``exclude_formulas``
    (reduced formulas; the rediscovery benchmark removes the paper's phases)."""
    from pymatgen.core import Composition, Structure

    exclude = {Composition(f).reduced_formula for f in (exclude_formulas or set())}
    seen: set[str] = set()
    xs, lk, lg, ids, forms, srcs = [], [], [], [], [], []
    for p in paths:
        with gzip.open(p, "rt") as fh:
            data = json.load(fh)
        for d in data:
            if d["mp_id"] in seen or not (d["K_vrh"] > 0 and d["G_vrh"] > 0):
                continue
            s = Structure.from_dict(d["structure"])
            red = s.composition.reduced_formula
            if red in exclude:
                continue
            seen.add(d["mp_id"])
            xs.append(featurize(s))
            lk.append(math.log(d["K_vrh"]))
            lg.append(math.log(d["G_vrh"]))
            ids.append(d["mp_id"])
            forms.append(red)
            srcs.append(Path(p).name)
    return TrainingSet(np.array(xs), np.array(lk), np.array(lg), ids, forms, srcs)


def training_features_path(excluded: bool = False) -> Path:
    from importlib import resources

    return Path(str(resources.files("dsei.discovery") / "data" / "training_features.json.gz"))


def save_training_features(ts: TrainingSet, path: str | Path | None = None) -> Path:
    """The featurised training rows, shipped so a campaign can refit the surrogate offline (no ../shared)."""
    p = Path(path or training_features_path())
    payload = {"format": "dsei-discovery-training", "schema_version": 1, "features": list(FEATURES),
               "x": [[float(f"{v:.6g}") for v in row] for row in ts.x], "ln_K": [round(float(v), 6) for v in ts.ln_K],
               "ln_G": [round(float(v), 6) for v in ts.ln_G], "ids": ts.ids, "formulas": ts.formulas, "sources": ts.sources}
    with gzip.open(p, "wt") as fh:
        json.dump(payload, fh, separators=(",", ":"))
    return p


def load_training_features(path: str | Path | None = None, exclude_formulas=()) -> TrainingSet:
    p = Path(path or training_features_path())
    with gzip.open(p, "rt") as fh:
        d = json.load(fh)
    if d["features"] != list(FEATURES):
        raise ValueError("shipped training features do not match the feature set; rerun scripts/train_surrogate.py")
    ts = TrainingSet(np.array(d["x"]), np.array(d["ln_K"]), np.array(d["ln_G"]), d["ids"], d["formulas"], d["sources"])
    if exclude_formulas:
        from pymatgen.core import Composition

        excl = {Composition(f).reduced_formula for f in exclude_formulas}
        ts = ts.subset(np.array([f not in excl for f in ts.formulas]))
    return ts


def _tree_dict(est) -> dict:
    t = est.tree_
    return {
        "left": t.children_left.tolist(),
        "right": t.children_right.tolist(),
        "feature": t.feature.tolist(),
        "threshold": [float(np.float32(v)) if v != -2 else -2.0 for v in t.threshold.tolist()],
        "value": [round(float(v), 6) for v in t.value[:, 0, 0]],
    }


def _fit_head(x: np.ndarray, y: np.ndarray, seed: int, settings: dict, w: np.ndarray | None = None,
              learner: str = LEARNER) -> dict:
    if learner == "hist":
        from sklearn.ensemble import HistGradientBoostingRegressor

        from dsei.mechanics.calibration import hist_trees

        m = HistGradientBoostingRegressor(random_state=seed, **settings).fit(x, y, sample_weight=w)
        out = hist_trees(m)
        for t in out["trees"]:
            t["value"] = [round(v, 7) for v in t["value"]]
        return out
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), len(x))  # bootstrap resample: the members' spread is the uncertainty
    m = GradientBoostingRegressor(random_state=seed, **settings).fit(x[idx], y[idx], sample_weight=None if w is None else w[idx])
    init = float(m.init_.constant_[0][0]) if hasattr(m.init_, "constant_") else float(np.mean(y[idx]))
    return {"kind": "gbt", "init": init, "learning_rate": float(m.learning_rate),
            "trees": [_tree_dict(e[0]) for e in m.estimators_]}


def fit_surrogate(ts: TrainingSet, members: int = MEMBERS, seed: int = 0, settings: dict | None = None,
                  sigma_scale: float = 1.0, sigma_floor: float = 0.0, meta: dict | None = None,
                  threshold_weight: dict | None = None, learner: str = LEARNER) -> Surrogate:
    """Fit the three heads × ``members`` members on ``ts`` (``learner`` "hist": :data:`HGB`, seeded members on all
    rows; "gbt": :data:`GBT` on bootstrap resamples); ``threshold_weight`` ({"width_ln", "floor"} of
    :func:`dsei.mechanics.descriptors.threshold_weights`) weights the rows by their DFT B/G's distance from 1.75
    (measured, not the default)."""
    if learner not in ("hist", "gbt"):
        raise ValueError(f"unknown surrogate learner {learner!r} (hist or gbt)")
    settings = {**(HGB if learner == "hist" else GBT), **(settings or {})}
    y = {"ln_K": ts.ln_K, "ln_G": ts.ln_G, "ln_pugh": ts.ln_K - ts.ln_G}
    w = threshold_weights(y["ln_pugh"], **threshold_weight) if threshold_weight else None
    heads = {h: [_fit_head(ts.x, y[h], seed + 1000 * i + j, settings, w, learner) for i in range(members)]
             for j, h in enumerate(HEADS)}
    params = {
        "format": SURROGATE_FORMAT,
        "schema_version": 1,
        "features": list(FEATURES),
        "learner": learner,
        "settings": settings,
        "threshold_weight": threshold_weight,
        "members": members,
        "n_train": len(ts),
        "sigma_scale": sigma_scale,
        "sigma_floor": sigma_floor,
        "heads": heads,
        **(meta or {}),
    }
    return Surrogate(params)


def save_surrogate(sur: Surrogate, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in sur.params.items() if k != "heads"}
    clean["heads"] = {h: [{k: v for k, v in m.items() if k != "_np"} for m in ms] for h, ms in sur.params["heads"].items()}
    p.write_text(json.dumps(clean, separators=(",", ":")))
    return p


def cross_validate(ts: TrainingSet, groups: list[str], folds: int = 5, members: int = MEMBERS, seed: int = 0,
                   settings: dict | None = None, threshold_weight: dict | None = None,
                   train_fraction: float = 1.0, learner: str = LEARNER) -> dict[str, np.ndarray]:
    """Out-of-fold predictions under a grouped K-fold split (``groups``: mp_id or reduced formula). With
    ``train_fraction`` < 1 each fold's training rows are subsampled (seeded; the test folds unchanged): a learning
    curve (benchmarks/discovery_training.py)."""
    from sklearn.model_selection import GroupKFold

    n = len(ts)
    rng = np.random.default_rng(seed)
    out = {k: np.zeros(n) for k in ("ln_K", "ln_G", "ln_pugh", "ln_pugh_direct", "ln_pugh_kg", "spread")}
    for train, test in GroupKFold(n_splits=folds).split(ts.x, groups=groups):
        mask = np.zeros(n, bool)
        mask[rng.permutation(train)[: round(train_fraction * len(train))] if train_fraction < 1 else train] = True
        sur = fit_surrogate(ts.subset(mask), members=members, seed=seed, settings=settings, threshold_weight=threshold_weight,
                            learner=learner)
        mp = sur.member_predictions(ts.x[test])
        blend = blend_ln_pugh(mp["ln_K"], mp["ln_G"], mp["ln_pugh"])
        out["ln_K"][test] = mp["ln_K"].mean(0)
        out["ln_G"][test] = mp["ln_G"].mean(0)
        out["ln_pugh"][test] = blend.mean(0)
        out["ln_pugh_direct"][test] = mp["ln_pugh"].mean(0)
        out["ln_pugh_kg"][test] = (mp["ln_K"] - mp["ln_G"]).mean(0)
        out["spread"][test] = blend.std(0, ddof=1)
    return out


def scores(ts: TrainingSet, oof: dict[str, np.ndarray], key: str = "ln_pugh") -> dict[str, float]:
    """Pugh-side agreement, Spearman ρ of B/G, MAE of K and G (GPa) for out-of-fold predictions."""
    from scipy.stats import spearmanr

    true = ts.ln_K - ts.ln_G
    pred = oof[key]
    return {
        "n": int(len(ts)),
        "pugh_side_agreement": float(np.mean((true >= LN_PUGH_THRESHOLD) == (pred >= LN_PUGH_THRESHOLD))),
        "spearman_pugh": float(spearmanr(true, pred).statistic),
        "mae_ln_pugh": float(np.mean(np.abs(true - pred))),
        "mae_K_GPa": float(np.mean(np.abs(np.exp(ts.ln_K) - np.exp(oof["ln_K"])))),
        "mae_G_GPa": float(np.mean(np.abs(np.exp(ts.ln_G) - np.exp(oof["ln_G"])))),
    }


def sigma_model_from(ts: TrainingSet, oof: dict[str, np.ndarray]) -> tuple[float, float]:
    """(scale s, floor σ₀) of σ² = σ₀² + (s · spread)² maximising the Gaussian likelihood of the held-out
    residuals (a grid: two parameters need no optimiser)."""
    err = ts.ln_K - ts.ln_G - oof["ln_pugh"]
    best = (np.inf, 1.0, 0.0)
    for s in np.linspace(0.0, 8.0, 81):
        for f in np.linspace(0.0, 0.5, 51):
            sig = sigma_from_spread(oof["spread"], s, f)
            if np.any(sig <= 0):
                continue
            nll = float(np.sum(np.log(sig) + 0.5 * (err / sig) ** 2))
            if nll < best[0]:
                best = (nll, float(s), float(f))
    return best[1], best[2]


def reliability(ts: TrainingSet, oof: dict[str, np.ndarray], sigma_scale: float, sigma_floor: float = 0.0, bins: int = 4) -> list[dict]:
    """Error by predicted-σ quartile: mean σ, RMS error, coverage of ±1σ and ±2σ, Pugh-side agreement."""
    err = ts.ln_K - ts.ln_G - oof["ln_pugh"]
    sig = sigma_from_spread(np.maximum(oof["spread"], 1e-6), sigma_scale, sigma_floor)
    edges = np.quantile(sig, np.linspace(0, 1, bins + 1))
    out = []
    for i in range(bins):
        m = (sig >= edges[i]) & ((sig < edges[i + 1]) if i < bins - 1 else (sig <= edges[i + 1]))
        true = (ts.ln_K - ts.ln_G)[m]
        out.append({
            "sigma_range": [float(edges[i]), float(edges[i + 1])],
            "n": int(m.sum()),
            "mean_sigma": float(sig[m].mean()),
            "rms_error": float(np.sqrt(np.mean(err[m] ** 2))),
            "coverage_1sigma": float(np.mean(np.abs(err[m]) <= sig[m])),
            "coverage_2sigma": float(np.mean(np.abs(err[m]) <= 2 * sig[m])),
            "pugh_side_agreement": float(np.mean((true >= LN_PUGH_THRESHOLD) == (oof["ln_pugh"][m] >= LN_PUGH_THRESHOLD))),
        })
    return out
