"""Per-model calibration of the elastic tensor against DFT (PBE): separate scaling of bulk and shear.

Universal MLIPs soften the potential-energy surface (Deng et al., npj Comput. Mater. 11, 9 (2025)), most of
all in shear. We correct each model with two numbers fitted on the dev set, a_K and a_G, applied to the
tensor as a congruence

    C' = S C S,   S = √a_K · P_h + √a_G · (I − P_h),   P_h = h hᵀ,  h = (1, 1, 1, 0, 0, 0)/√3,

P_h projecting Voigt strains onto pure dilatation. This scales the Voigt, Reuss and Hill bulk moduli by
exactly a_K and the shear moduli by exactly a_G, keeps the crystal's symmetry (P_h is isotropic) and keeps
a positive-definite tensor positive definite (S is), so every descriptor stays consistent with C'.

The coefficients live in ``data/calibration.json`` with how they were fitted (5-fold cross-validated on
the 1,000-compound dev set, see docs/mechanics.md); ``enabled`` says whether the fit improved the
cross-validated accuracy and so whether it is on by default.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np

_H = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0]) / np.sqrt(3.0)
_P = np.outer(_H, _H)


def scale_tensor(c_gpa: np.ndarray, k_scale: float, g_scale: float) -> np.ndarray:
    """C' = S C S with S = √k_scale P_h + √g_scale (I − P_h) (see module doc)."""
    s = np.sqrt(k_scale) * _P + np.sqrt(g_scale) * (np.eye(6) - _P)
    out = s @ np.asarray(c_gpa, dtype=float) @ s
    return 0.5 * (out + out.T)


@functools.lru_cache(maxsize=1)
def load_calibration() -> dict:
    """The shipped calibration file as a dict (``{"models": {name: {...}}, ...}``)."""
    text = resources.files("dsei.mechanics").joinpath("data/calibration.json").read_text()
    return json.loads(text)


def coefficients(model: str) -> dict | None:
    """``{"K_scale", "G_scale", "enabled", ...}`` for ``model`` or None when it has no calibration."""
    return load_calibration().get("models", {}).get(model)


def default_on(model: str) -> bool:
    """Whether calibration is applied by default for ``model`` (only where it measured better)."""
    c = coefficients(model)
    return bool(c and c.get("enabled"))


def apply(c_gpa: np.ndarray, model: str) -> tuple[np.ndarray, bool]:
    """(calibrated C, whether a calibration was applied) for ``model``."""
    c = coefficients(model)
    if not c:
        return np.asarray(c_gpa, dtype=float), False
    return scale_tensor(c_gpa, float(c["K_scale"]), float(c["G_scale"])), True


def fit_scale(pred: np.ndarray, ref: np.ndarray) -> float:
    """The factor a minimising Σ|ref − a·pred| (a weighted median of ref/pred with weights pred)."""
    pred = np.asarray(pred, dtype=float)
    ref = np.asarray(ref, dtype=float)
    ok = (pred > 0) & np.isfinite(pred) & np.isfinite(ref)
    r = ref[ok] / pred[ok]
    w = pred[ok]
    order = np.argsort(r)
    cw = np.cumsum(w[order])
    return float(r[order][np.searchsorted(cw, 0.5 * cw[-1])])
