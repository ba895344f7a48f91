"""A calibrated probability that DFT's Pugh ratio is on the ductile side: ``p_ductile``.

The calibrated prediction ln(B/G)_pred (:mod:`dsei.mechanics.calibration`) still misses DFT (PBE) by a residual

    r = ln(B/G)_DFT − ln(B/G)_pred,

which we model, per compound, as normal with a constant offset μ and a spread that depends on a few features x
of the compound (:data:`SIGMA_FEATURES`: whether every element is a metal, and how large a shear correction the
calibration applied — the trees correct more where the model is further off, and there they are less sure):

    r ~ N(μ, σ(x)²),   ln σ(x) = s₀ + Σ_j s_j x_j,

fitted by maximum likelihood to the residuals of *cross-validated* calibrations (each compound predicted by trees
that never saw it; ``benchmarks/elastic_confidence.py``). Then

    p_ductile = P[(B/G)_DFT ≥ 1.75] = Φ((ln(B/G)_pred + μ − ln 1.75) / σ(x)).

The verdict follows from it (:func:`dsei.mechanics.verdict.verdict_from_probability`): ``ductile`` where
p_ductile ≥ p*, ``brittle`` where p_ductile ≤ 1 − p*, else ``uncertain``; p* is chosen on the cross-validated
probabilities against the target "confident verdicts ≥ 97 % right" (the shipped value and the whole
risk–coverage table: ``data/confidence.json``, docs/mechanics.md, "Confidence").

A probability model of a regression residual is the textbook construction (e.g. heteroscedastic Gaussian
regression; Nix & Weigend, Proc. IEEE ICNN 1994, 55); it is written out here because it is four numbers and a
normal CDF (math.erf), and the fit (scipy.optimize) lives next to it so that the benchmark and the package use
one definition. The parameters live in ``data/confidence.json`` with how they were fitted; a model without an
entry there keeps the fixed ``uncertain`` band of :mod:`dsei.mechanics.verdict`.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources

import numpy as np

from dsei.mechanics.descriptors import PUGH_THRESHOLD

#: Features of σ(x), in order: ``all_metal`` (1 if every element is a metal; from
#: :func:`dsei.mechanics.calibration.features`) and ``ln_a_G`` (the log of the shear scale the calibration applied).
SIGMA_FEATURES = ("all_metal", "ln_a_G")


def _phi(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def sigma(params: dict, x: dict[str, float]) -> float:
    """σ(x) of the residual of ln(B/G) for a compound with features ``x`` (see the module doc)."""
    s = float(params["log_sigma_intercept"])
    for name, coef in zip(params["sigma_features"], params["log_sigma_coef"], strict=True):
        s += float(coef) * float(x[name])
    return math.exp(s)


def p_ductile(params: dict, pugh_ratio: float, x: dict[str, float]) -> float:
    """P[(B/G)_DFT ≥ 1.75] for a calibrated prediction ``pugh_ratio`` and σ-features ``x``."""
    z = (math.log(pugh_ratio) + float(params["mu"]) - math.log(PUGH_THRESHOLD)) / sigma(params, x)
    return _phi(z)


def pugh_band(params: dict, x: dict[str, float], p_star: float) -> tuple[float, float]:
    """The B/G interval where this compound's verdict would be ``uncertain``: p_ductile = 1 − p* at its lower
    end and p* at its upper end (per compound, since σ depends on the compound)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(p_star)
    s = sigma(params, x)
    centre = math.log(PUGH_THRESHOLD) - float(params["mu"])
    return math.exp(centre - z * s), math.exp(centre + z * s)


def fit(residuals: np.ndarray, x: np.ndarray, names=SIGMA_FEATURES) -> dict:
    """Maximum-likelihood μ, s₀, s_j of r ~ N(μ, exp(s₀ + x·s)²) (``x``: one row per residual, columns ``names``)."""
    from scipy.optimize import minimize

    r = np.asarray(residuals, dtype=float)
    x = np.atleast_2d(np.asarray(x, dtype=float)).reshape(len(r), len(names))

    def nll(theta):
        mu, s0, s = theta[0], theta[1], theta[2:]
        ls = s0 + x @ s
        return float(np.sum(ls + 0.5 * ((r - mu) / np.exp(ls)) ** 2))

    theta0 = np.concatenate([[np.mean(r), np.log(np.std(r) + 1e-6)], np.zeros(len(names))])
    res = minimize(nll, theta0, method="Nelder-Mead", options={"maxiter": 20000, "xatol": 1e-7, "fatol": 1e-9})
    mu, s0, s = res.x[0], res.x[1], res.x[2:]
    return {
        "kind": "normal",
        "mu": float(mu),
        "log_sigma_intercept": float(s0),
        "sigma_features": list(names),
        "log_sigma_coef": [float(v) for v in s],
    }


@functools.lru_cache(maxsize=1)
def load_confidence() -> dict:
    """The shipped ``data/confidence.json`` as a dict (``{"models": {name: {...}}, ...}``)."""
    text = resources.files("dsei.mechanics").joinpath("data/confidence.json").read_text()
    return json.loads(text)


def parameters(model: str) -> dict | None:
    """The shipped confidence parameters of ``model`` (with ``p_star``), or None where it has none."""
    return load_confidence().get("models", {}).get(model)
