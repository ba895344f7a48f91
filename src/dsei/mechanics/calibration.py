"""Per-model calibration of the elastic tensor against DFT (PBE): a feature-based correction of shear.

Universal MLIPs soften the potential-energy surface (Deng et al., npj Comput. Mater. 11, 9 (2025)), most of
all in shear, and by how much depends on the bonding: on the dev set SevenNet-0's shear moduli are ~1.9×
too soft for intermetallics but ~1.3× for ionic compounds, while its bulk moduli are right on average
(median K_DFT/K_MLIP ≈ 1.0). A single per-model scale therefore cannot move Pugh's verdict (measured:
docs/mechanics.md, "Calibration"). We instead predict, per structure, the log of the error of the model's
own Pugh ratio,

    y = ln[(B/G)_MLIP / (B/G)_DFT]  ≈  ŷ = b + Σ_j w_j (x_j − μ_j) / s_j,

by ridge regression (``kind: "ridge"``) or gradient-boosted regression trees (``kind: "gbt"``, Friedman,
Ann. Stat. 29, 1189 (2001); for every shipped model, where they cross-validated better; every shipped model's are
histogram-boosted, Ke et al., NeurIPS 30 (2017), as scikit-learn's HistGradientBoostingRegressor: docs/mechanics.md,
"Calibration") on :data:`FEATURES` — bonding character from the composition (electronegativity
spread, all-metal flag, transition-metal fraction, mean period), the relaxed volume per atom, and the model's
own tensor (ln K, ln G, ln B/G, Cauchy pressure / K, ln(1 + A^U)), and for the trees also ten
composition descriptors (:data:`COMPOSITION_FEATURES`) — and put the whole correction into the
shear part of the tensor, leaving the bulk part (whose error is unbiased and which a correction made worse
under cross-validation) untouched:

    C' = S C S,   S = √a_K · P_h + √a_G · (I − P_h),   P_h = h hᵀ,  h = (1, 1, 1, 0, 0, 0)/√3,
    a_K = 1,  a_G = exp(clip(ŷ, max(0, ŷ_min), ŷ_max))  ≥ 1.

P_h projects Voigt strains onto pure dilatation, so C' has exactly the Voigt, Reuss and Hill bulk moduli
of C and shear moduli a_G times those of C (hence (B/G)' = (B/G)/a_G), keeps the crystal's symmetry (P_h is
isotropic) and keeps a positive-definite tensor positive definite and an indefinite one indefinite (a
congruence by the positive-definite S, Sylvester's law of inertia): an ``unstable`` result stays unstable,
and an unstable tensor (no K, G to build features from) is never calibrated. ŷ is clipped to the range the
fit produced on its training compounds, so a structure unlike any of them is not extrapolated, and below at 0
(a_G ≥ 1: the correction only stiffens shear; see :func:`fit_ridge`).

The fit lives in ``data/calibration.json`` with how it was obtained (``benchmarks/elastic_accuracy.py
--write-calibration``: the features' means/scales, ridge weights, λ, clip range, the cross-validated and
uncalibrated scores); ``enabled`` says whether the cross-validated Pugh agreement rose and MAE(K)+MAE(G)
fell, and so whether it is on by default.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources

import numpy as np

_H = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0]) / np.sqrt(3.0)
_P = np.outer(_H, _H)

#: The calibration's base features (the ridge kind uses exactly these; every shipped model now has trees, which add
#: :data:`COMPOSITION_FEATURES`).
BASE_FEATURES = ("dchi", "all_metal", "tm_fraction", "mean_period", "ln_volume", "ln_pugh", "cauchy_over_K", "ln_G", "ln_K", "ln_anisotropy")

#: Composition descriptors used by the trees (elemental properties averaged over the formula, in the spirit
#: of Magpie: L. Ward et al., npj Comput. Mater. 2, 16028 (2016)). They let the trees tell apart the bonding
#: classes whose shear the models soften by different amounts (docs/benchmarks.md, "Accuracy against DFT").
COMPOSITION_FEATURES = (
    "vec", "mean_group", "group_spread", "radius_mismatch", "mean_chi", "ln_mass", "min_fraction", "ln_melting",
    "p_fraction", "f_fraction",
)

#: Features of new calibration fits, in order (see :func:`features`). A shipped fit names its own features.
FEATURES = BASE_FEATURES + COMPOSITION_FEATURES


def scale_tensor(c_gpa: np.ndarray, k_scale: float, g_scale: float) -> np.ndarray:
    """C' = S C S with S = √k_scale P_h + √g_scale (I − P_h) (see module doc)."""
    s = np.sqrt(k_scale) * _P + np.sqrt(g_scale) * (np.eye(6) - _P)
    out = s @ np.asarray(c_gpa, dtype=float) @ s
    return 0.5 * (out + out.T)


def features(formula: str, c_gpa: np.ndarray, volume_per_atom_A3: float) -> dict[str, float] | None:
    """The calibration features of one structure, or None when its tensor is not positive definite.

    - ``dchi``: largest minus smallest Pauling electronegativity of its elements (0 for an element; elements
      without a Pauling value, the light noble gases, are left out);
    - ``all_metal``: 1 if every element is a metal (pymatgen ``Element.is_metal``: intermetallics), else 0;
    - ``tm_fraction``: atomic fraction of transition metals, lanthanoids and actinoids;
    - ``mean_period``: atomic-fraction-weighted period;
    - ``ln_volume``: ln of the model-relaxed volume per atom (Å³);
    - from the model's tensor: ``ln_K``, ``ln_G`` (Hill, GPa), ``ln_pugh`` = ln(K/G), ``cauchy_over_K``
      (Cauchy pressure / K, Pettifor's metallic-vs-directional bonding indicator), ``ln_anisotropy`` =
      ln(1 + max(A^U, 0));
    - composition descriptors (:data:`COMPOSITION_FEATURES`; x̄ = atomic-fraction-weighted mean): ``vec``
      valence-electron count per atom (group number for groups 1–12, group − 10 for 13–18; lanthanoids and
      actinoids 3), ``mean_group``, ``group_spread`` (largest − smallest group), ``radius_mismatch``
      ((max − min)/x̄ of the atomic radii), ``mean_chi`` (x̄ of the Pauling electronegativities that exist),
      ``ln_mass`` (ln x̄ of the atomic masses), ``min_fraction`` (the minority element's atomic fraction),
      ``ln_melting`` (ln x̄ of the elements' melting points, K: a proxy for their cohesive energy),
      ``p_fraction`` and ``f_fraction`` (atomic fractions of p- and f-block elements).
    """
    from pymatgen.core import Composition

    from dsei.mechanics.descriptors import describe

    d = describe(c_gpa, volume_per_atom_A3)
    if not d.born_stable or not (d.K_vrh_GPa > 0 and d.G_vrh_GPa > 0):
        return None
    comp = Composition(formula)
    frac = {el: comp.get_atomic_fraction(el) for el in comp.elements}
    chis = [float(el.X) for el in frac if math.isfinite(float(el.X))]
    au = d.universal_anisotropy if math.isfinite(d.universal_anisotropy) else 0.0
    return {
        "dchi": max(chis) - min(chis) if len(chis) >= 2 else 0.0,
        "all_metal": float(all(el.is_metal for el in frac)),
        "tm_fraction": float(sum(f for el, f in frac.items() if el.is_transition_metal or el.is_lanthanoid or el.is_actinoid)),
        "mean_period": float(sum(f * el.row for el, f in frac.items())),
        "ln_volume": math.log(volume_per_atom_A3),
        "ln_pugh": math.log(d.K_vrh_GPa / d.G_vrh_GPa),
        "cauchy_over_K": d.cauchy_pressure_GPa / d.K_vrh_GPa,
        "ln_G": math.log(d.G_vrh_GPa),
        "ln_K": math.log(d.K_vrh_GPa),
        "ln_anisotropy": math.log1p(max(au, 0.0)),
        **_composition_features(frac),
    }


def _composition_features(frac: dict) -> dict[str, float]:
    """:data:`COMPOSITION_FEATURES` of a composition given as {Element: atomic fraction} (see :func:`features`)."""

    def mean(values) -> float:
        return float(sum(f * v for f, v in zip(frac.values(), values, strict=True)))

    els = list(frac)
    groups = [float(el.group) for el in els]
    # valence electrons: s (+ d) for groups 1-12, s + p for 13-18 (pymatgen puts lanthanoids/actinoids in group 3)
    valence = [g if g <= 12 else g - 10 for g in groups]
    # a few heavy or noble-gas elements have no tabulated (empirical) atomic radius: their calculated one instead
    radii = [float(el.atomic_radius or el.atomic_radius_calculated or 1.5) for el in els]
    chis = [(f, float(el.X)) for el, f in frac.items() if math.isfinite(float(el.X))]
    melting = [float(el.melting_point or 300.0) for el in els]
    return {
        "vec": mean(valence),
        "mean_group": mean(groups),
        "group_spread": max(groups) - min(groups),
        "radius_mismatch": (max(radii) - min(radii)) / mean(radii),
        "mean_chi": sum(f * x for f, x in chis) / sum(f for f, _ in chis) if chis else 0.0,
        "ln_mass": math.log(mean([float(el.atomic_mass) for el in els])),
        "min_fraction": float(min(frac.values())),
        "ln_melting": math.log(mean(melting)),
        "p_fraction": float(sum(f for el, f in frac.items() if el.block == "p")),
        "f_fraction": float(sum(f for el, f in frac.items() if el.block == "f")),
    }


def feature_vector(f: dict[str, float], names=FEATURES) -> np.ndarray:
    return np.array([f[k] for k in names], dtype=float)


def fit_ridge(x: np.ndarray, y: np.ndarray, lam: float, names=FEATURES, floor: float | None = 0.0) -> dict:
    """Ridge regression of ``y`` on standardised columns of ``x`` (intercept not penalised).

    Returns the calibration parameters (``features``, ``mean``, ``scale``, ``coef``, ``intercept``,
    ``lambda``, ``clip``: the range of the fitted values on the training rows, its lower end raised to
    ``floor``). Closed form (XᵀX + λI)⁻¹Xᵀy: a dozen features need no library. ``floor`` = 0 (default)
    means a_G ≥ 1: the correction only ever stiffens shear, never softens it — the models' known error is
    softening (module doc), and a regression that pulls a confidently brittle prediction towards the
    data set's mean B/G (by softening its shear) is a statistical artefact, not a physical correction.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    y = np.asarray(y, dtype=float)
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd < 1e-12] = 1.0
    a = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    reg = lam * np.eye(a.shape[1])
    reg[0, 0] = 0.0
    coef = np.linalg.solve(a.T @ a + reg, a.T @ y)
    fitted = a @ coef
    lo = float(fitted.min()) if floor is None else max(float(floor), float(fitted.min()))
    return {
        "features": list(names),
        "mean": mu.tolist(),
        "scale": sd.tolist(),
        "coef": coef[1:].tolist(),
        "intercept": float(coef[0]),
        "lambda": float(lam),
        "clip": [lo, max(lo, float(fitted.max()))],
    }


def gbt_value(params: dict, x: np.ndarray) -> float:
    """Prediction of a gradient-boosted regression-tree ensemble stored as plain lists (``kind: "gbt"``):
    ``init + learning_rate · Σ_trees leaf value``; a node sends x left when x[feature] ≤ threshold.

    Written out, not loaded with scikit-learn, so that the package needs no scikit-learn (it fits the
    ensemble only in ``benchmarks/elastic_accuracy.py``) and the shipped file is readable JSON rather than a
    version-bound pickle. Features are compared in float32, as scikit-learn's ``GradientBoostingRegressor`` trees
    do, or in float64 where ``params["x_dtype"] == "float64"`` (scikit-learn's ``HistGradientBoostingRegressor``,
    exported by :func:`hist_trees`), so the two agree exactly (tested)."""
    xv = np.asarray(x, dtype=np.float64 if params.get("x_dtype") == "float64" else np.float32)
    y = float(params["init"])
    lr = float(params["learning_rate"])
    for t in params["trees"]:
        left, right, feat, thr, val = t["left"], t["right"], t["feature"], t["threshold"], t["value"]
        node = 0
        while left[node] != -1:
            node = left[node] if float(xv[feat[node]]) <= thr[node] else right[node]
        y += lr * val[node]
    return y


def hist_trees(model) -> dict:
    """Export a fitted scikit-learn ``HistGradientBoostingRegressor`` (numerical features, no missing values) as the
    plain lists :func:`gbt_value` evaluates: ``init`` = its baseline, ``learning_rate`` 1 (its leaf values already
    carry the shrinkage), thresholds compared in float64 (``x_dtype``). Called only by the fits
    (benchmarks/elastic_accuracy.py, :mod:`dsei.discovery.train`), which need scikit-learn anyway; evaluating the
    exported trees never does."""
    trees = []
    for (pred,) in model._predictors:
        nd = pred.nodes
        leaf = nd["is_leaf"].astype(bool)
        trees.append({
            "left": np.where(leaf, -1, nd["left"].astype(np.int64)).tolist(),  # stored unsigned
            "right": np.where(leaf, -1, nd["right"].astype(np.int64)).tolist(),
            "feature": np.where(leaf, -2, nd["feature_idx"].astype(np.int64)).tolist(),
            "threshold": np.where(leaf, -2.0, nd["num_threshold"]).astype(float).tolist(),
            "value": np.where(leaf, nd["value"], 0.0).astype(float).tolist(),
        })
    return {"kind": "gbt", "x_dtype": "float64", "init": float(np.ravel(model._baseline_prediction)[0]),
            "learning_rate": 1.0, "trees": trees}


def predict_ln_pugh_error(params: dict, f: dict[str, float]) -> float:
    """ŷ = predicted ln[(B/G)_MLIP / (B/G)_DFT] for features ``f``, clipped to the training range.

    ``params["kind"]``: ``"ridge"`` (default; :func:`fit_ridge`) or ``"gbt"`` (gradient-boosted trees,
    :func:`gbt_value`)."""
    x = feature_vector(f, params["features"])
    if params.get("kind", "ridge") == "gbt":
        y = gbt_value(params, x)
    else:
        z = (x - np.asarray(params["mean"])) / np.asarray(params["scale"])
        y = float(params["intercept"] + z @ np.asarray(params["coef"]))
    lo, hi = params["clip"]
    return float(min(max(y, lo), hi))


def shear_scale(params: dict, formula: str, c_gpa: np.ndarray, volume_per_atom_A3: float) -> float | None:
    """a_G for one structure (None when its tensor is not positive definite: it is never calibrated)."""
    f = features(formula, c_gpa, volume_per_atom_A3)
    if f is None:
        return None
    return math.exp(predict_ln_pugh_error(params, f))


@functools.lru_cache(maxsize=1)
def load_calibration() -> dict:
    """The shipped calibration file as a dict (``{"models": {name: {...}}, ...}``)."""
    text = resources.files("dsei.mechanics").joinpath("data/calibration.json").read_text()
    return json.loads(text)


def coefficients(model: str) -> dict | None:
    """The shipped calibration parameters of ``model`` (see :func:`fit_ridge`, plus ``enabled`` and the
    scores it was chosen on) or None when it has none."""
    return load_calibration().get("models", {}).get(model)


def default_on(model: str) -> bool:
    """Whether calibration is applied by default for ``model`` (only where it measured better under CV)."""
    c = coefficients(model)
    return bool(c and c.get("enabled"))


def apply(c_gpa: np.ndarray, model: str, formula: str, volume_per_atom_A3: float) -> tuple[np.ndarray, bool]:
    """(calibrated C, whether a calibration was applied) for one structure's tensor from ``model``.

    Not applied (C returned unchanged) when the model has no calibration or the tensor is not positive
    definite."""
    c, applied, _ = apply_with_features(c_gpa, model, formula, volume_per_atom_A3)
    return c, applied


def apply_with_features(c_gpa: np.ndarray, model: str, formula: str, volume_per_atom_A3: float) -> tuple[np.ndarray, bool, dict | None]:
    """:func:`apply`, plus the features the calibration saw and ``ln_a_G`` (the log of the shear scale applied),
    which the confidence model (:mod:`dsei.mechanics.confidence`) uses; None where nothing was applied."""
    params = coefficients(model)
    c = np.asarray(c_gpa, dtype=float)
    if not params:
        return c, False, None
    f = features(formula, c, volume_per_atom_A3)
    if f is None:
        return c, False, None
    a_g = math.exp(predict_ln_pugh_error(params, f))
    return scale_tensor(c, 1.0, a_g), True, {**f, "ln_a_G": math.log(a_g)}


def fit_scale(pred: np.ndarray, ref: np.ndarray) -> float:
    """The factor a minimising Σ|ref − a·pred| (a weighted median of ref/pred with weights pred).

    The single-scale calibration the benchmark compares against (docs/mechanics.md)."""
    pred = np.asarray(pred, dtype=float)
    ref = np.asarray(ref, dtype=float)
    ok = (pred > 0) & np.isfinite(pred) & np.isfinite(ref)
    r = ref[ok] / pred[ok]
    w = pred[ok]
    order = np.argsort(r)
    cw = np.cumsum(w[order])
    return float(r[order][np.searchsorted(cw, 0.5 * cw[-1])])
