"""A calibrated probability that DFT's Pugh ratio is on the ductile side: ``p_ductile``.

The calibrated prediction ln(B/G)_pred (:mod:`dsei.mechanics.calibration`) still misses DFT (PBE) by a residual

    r = ln(B/G)_DFT − ln(B/G)_pred,

which we model as normal, N(μ(x), σ(x)²), or logistic with location μ and scale σ (``kind`` in the fit), with ln σ
and μ linear in a few features x of the compound (:data:`FEATURES`; a fit names the ones it uses, none for a
constant model). Then

    p_ductile = P[(B/G)_DFT ≥ 1.75] = F((ln(B/G)_pred + μ(x) − ln 1.75) / σ(x)),

F the standard normal (Φ) or logistic (1/(1 + e^−z)) CDF.

μ, σ are fitted to *cross-validated* calibrations (each compound predicted by trees that never saw it;
``benchmarks/elastic_confidence.py``), either to the residuals by maximum likelihood (:func:`fit`) or to the side
of 1.75 DFT is on by probit or logistic regression (:func:`fit_side`). Shipped for every calibrated model (the
default, SevenNet-l3i5, SevenNet-0, CHGNet): a logistic fit to the side, each the lowest nested-CV Brier score of
seven residual models on all 1,000 dev compounds (the default: μ = 0.010, s = 0.134, Brier 0.132 against
0.133–0.147; docs/mechanics.md, "Confidence").

The verdict follows from it (:func:`dsei.mechanics.verdict.verdict_from_probability`): ``ductile`` where
p_ductile ≥ p*, ``brittle`` where p_ductile ≤ 1 − p*, else ``uncertain``. p* is read on the cross-validated
risk–coverage table: the issue's target (≥ 97 % right at ≥ 80 % coverage) is out of reach with the current model
(no p* reaches 97 %), and the shipped p* = 0.7 states 64 % of compounds at 91 % right under nested CV
(``data/confidence.json``, docs/mechanics.md, "Confidence").

A probability model of a regression residual is the textbook construction (e.g. heteroscedastic Gaussian
regression; Nix & Weigend, Proc. IEEE ICNN 1994, 55); it is written out here because it is four numbers and a
normal or logistic CDF (math.erf, math.tanh), and the fit (scipy.optimize) lives next to it so that the benchmark and the package use
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
#: Features μ and σ may depend on (a fit names its own, ``mu_features`` and ``sigma_features``): the two above and
#: ``ln_distance`` = ln((B/G)_pred / 1.75), the prediction's own distance from the threshold (computed here, so that
#: the residual may regress towards the threshold and be wider on one side than the other).
FEATURES = ("all_metal", "ln_a_G", "ln_distance")


def _with_distance(x: dict[str, float], pugh_ratio: float) -> dict[str, float]:
    return {**x, "ln_distance": math.log(pugh_ratio / PUGH_THRESHOLD)}


def _phi(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _cdf(params: dict, z: float) -> float:
    """The residual's standardised CDF: normal (``kind`` "normal") or logistic (``kind`` "logistic")."""
    if params.get("kind", "normal") == "logistic":
        return 0.5 * (1.0 + math.tanh(0.5 * z))  # 1 / (1 + e^-z), without overflow
    return _phi(z)


def _linear(params: dict, x: dict[str, float], part: str) -> float:
    """Σ coef·x over ``mu_features``/``mu_coef`` (part "mu") or ``sigma_features``/``log_sigma_coef`` ("sigma")."""
    names = params.get(f"{part}_features", [])
    coefs = params.get("mu_coef" if part == "mu" else "log_sigma_coef", [])
    return sum(float(c) * float(x[n]) for n, c in zip(names, coefs, strict=True))


def mu(params: dict, x: dict[str, float]) -> float:
    """μ(x), the mean residual of ln(B/G) (``x`` with ``ln_distance`` where the fit uses it)."""
    return float(params["mu"]) + _linear(params, x, "mu")


def sigma(params: dict, x: dict[str, float]) -> float:
    """σ(x) of the residual of ln(B/G) for a compound with features ``x`` (see the module doc)."""
    return math.exp(float(params["log_sigma_intercept"]) + _linear(params, x, "sigma"))


def p_ductile(params: dict, pugh_ratio: float, x: dict[str, float]) -> float:
    """P[(B/G)_DFT ≥ 1.75] for a calibrated prediction ``pugh_ratio`` and features ``x`` (:data:`FEATURES`
    but ``ln_distance``, which is computed from ``pugh_ratio``)."""
    x = _with_distance(x, pugh_ratio)
    z = (math.log(pugh_ratio) + mu(params, x) - math.log(PUGH_THRESHOLD)) / sigma(params, x)
    return _cdf(params, z)


def pugh_band(params: dict, x: dict[str, float], p_star: float) -> tuple[float, float]:
    """The B/G interval where this compound's verdict would be ``uncertain``: p_ductile = 1 − p* at its lower
    end and p* at its upper end (per compound, since μ and σ may depend on it). Found by bisection in ln B/G,
    p_ductile being increasing in B/G for any sane fit (checked on a grid; an error otherwise)."""
    grid = np.linspace(math.log(0.2), math.log(20.0), 80)
    ps = np.array([p_ductile(params, math.exp(g), x) for g in grid])
    if np.any(np.diff(ps) < -1e-12):
        raise ValueError("p_ductile is not increasing in B/G for these parameters")

    def solve(target: float) -> float:
        lo, hi = grid[0], grid[-1]
        if p_ductile(params, math.exp(lo), x) > target:
            return math.exp(lo)
        if p_ductile(params, math.exp(hi), x) < target:
            return math.exp(hi)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if p_ductile(params, math.exp(mid), x) < target else (lo, mid)
        return math.exp(0.5 * (lo + hi))

    return solve(1.0 - p_star), solve(p_star)


def fit(residuals: np.ndarray, x: np.ndarray, names=SIGMA_FEATURES, mu_names=()) -> dict:
    """Maximum-likelihood fit of r ~ N(μ₀ + x_μ·m, exp(s₀ + x_σ·s)²). ``x``: one row per residual, columns
    ``names`` (σ's features) followed by ``mu_names`` (μ's; may repeat σ's)."""
    from scipy.optimize import minimize

    r = np.asarray(residuals, dtype=float)
    x = np.atleast_2d(np.asarray(x, dtype=float)).reshape(len(r), len(names) + len(mu_names))
    xs, xm = x[:, : len(names)], x[:, len(names) :]
    ns = len(names)

    def nll(theta):
        m0, s0, s, m = theta[0], theta[1], theta[2 : 2 + ns], theta[2 + ns :]
        ls = s0 + xs @ s
        return float(np.sum(ls + 0.5 * ((r - m0 - xm @ m) / np.exp(ls)) ** 2))

    theta0 = np.concatenate([[np.mean(r), np.log(np.std(r) + 1e-6)], np.zeros(ns + len(mu_names))])
    res = minimize(nll, theta0, method="Nelder-Mead", options={"maxiter": 40000, "maxfev": 40000, "xatol": 1e-7, "fatol": 1e-9})
    res = minimize(nll, res.x, method="BFGS")  # polish
    m0, s0, s, m = res.x[0], res.x[1], res.x[2 : 2 + ns], res.x[2 + ns :]
    return {
        "kind": "normal",
        "mu": float(m0),
        "mu_features": list(mu_names),
        "mu_coef": [float(v) for v in m],
        "log_sigma_intercept": float(s0),
        "sigma_features": list(names),
        "log_sigma_coef": [float(v) for v in s],
    }


def fit_side(residuals: np.ndarray, ln_distance: np.ndarray, link: str = "probit", x: np.ndarray | None = None,
             names=()) -> dict:
    """Constant μ, σ fitted to which *side* of 1.75 DFT is on, not to the size of the residual: probit
    regression of y = [(B/G)_DFT ≥ 1.75] on d = ln((B/G)_pred / 1.75), P(y) = Φ((d + μ)/σ), by maximum
    Bernoulli likelihood (Bliss's probit model; McCullagh & Nelder, Generalized Linear Models, 2nd ed., 1989,
    ch. 4). Same parameters, same :func:`p_ductile` as :func:`fit`; it differs when the residuals are
    heavy-tailed: a few large misses far from 1.75 widen a Gaussian fit of the residuals for every compound,
    while only misses across the threshold move this one. ``link="logit"``: logistic regression instead,
    P(y) = 1/(1 + exp(−(d + μ)/s)) (``kind`` "logistic", s in ``log_sigma_intercept``): a miss far across the
    threshold costs the likelihood linearly in its distance rather than quadratically, so the few confident
    misses weigh less on μ and s (the logistic residual has heavier tails than the normal). ``x`` (one row per
    residual, columns ``names``, a subset of :data:`SIGMA_FEATURES`): ln σ = log_sigma_intercept + x·log_sigma_coef
    instead of a constant (a heteroscedastic probit or logit: the scale log-linear in x, as for the residual
    fits of :func:`fit`)."""
    from scipy.optimize import minimize
    from scipy.stats import norm

    if link not in ("probit", "logit"):
        raise ValueError(f"link must be probit or logit, not {link!r}")
    d = np.asarray(ln_distance, dtype=float)
    y = (d + np.asarray(residuals, dtype=float)) >= 0.0
    xs = np.zeros((len(d), 0)) if x is None else np.atleast_2d(np.asarray(x, dtype=float)).reshape(len(d), len(names))

    def nll(theta):
        z = (d + theta[0]) / np.exp(theta[1] + xs @ theta[2:])
        if link == "logit":
            return float(np.sum(np.logaddexp(0.0, np.where(y, -z, z))))
        return -float(np.sum(np.where(y, norm.logcdf(z), norm.logcdf(-z))))

    theta0 = np.concatenate([[0.0, math.log(0.3)], np.zeros(xs.shape[1])])
    res = minimize(nll, theta0, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000})
    if xs.shape[1]:
        res = minimize(nll, res.x, method="BFGS")  # polish
    return {
        "kind": "logistic" if link == "logit" else "normal",
        "fitted_to": "side",
        "mu": float(res.x[0]),
        "mu_features": [],
        "mu_coef": [],
        "log_sigma_intercept": float(res.x[1]),
        "sigma_features": list(names) if xs.shape[1] else [],
        "log_sigma_coef": [float(v) for v in res.x[2:]],
    }


@functools.lru_cache(maxsize=1)
def load_confidence() -> dict:
    """The shipped ``data/confidence.json`` as a dict (``{"models": {name: {...}}, ...}``)."""
    text = resources.files("dsei.mechanics").joinpath("data/confidence.json").read_text()
    return json.loads(text)


def parameters(model: str) -> dict | None:
    """The shipped confidence parameters of ``model`` (with ``p_star``), or None where it has none."""
    return load_confidence().get("models", {}).get(model)
