"""p_ductile: the residual model's probability, its fit, the shipped parameters and the verdict taken from it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from dsei.mechanics import confidence as conf
from dsei.mechanics.verdict import verdict_from_probability

PARAMS = {"kind": "normal", "mu": 0.05, "log_sigma_intercept": math.log(0.2), "sigma_features": ["all_metal", "ln_a_G"],
          "log_sigma_coef": [0.5, 1.0], "p_star": 0.9}


def test_p_ductile_is_the_normal_probability_of_the_dft_side():
    x = {"all_metal": 1.0, "ln_a_G": 0.3}
    s = 0.2 * math.exp(0.5 + 0.3)
    for bg in (0.8, 1.5, 1.75, 2.0, 4.0):
        expected = norm.sf(math.log(1.75), loc=math.log(bg) + 0.05, scale=s)  # P[ln BG_pred + r >= ln 1.75]
        assert conf.p_ductile(PARAMS, bg, x) == pytest.approx(expected, abs=1e-12)
    # p = 1/2 exactly where the offset-corrected prediction sits on the threshold
    assert conf.p_ductile(PARAMS, 1.75 * math.exp(-0.05), x) == pytest.approx(0.5, abs=1e-12)


def test_uncertain_band_ends_where_p_reaches_p_star():
    x = {"all_metal": 0.0, "ln_a_G": 0.1}
    lo, hi = conf.pugh_band(PARAMS, x, 0.9)
    assert lo < 1.75 * math.exp(-0.05) < hi
    assert conf.p_ductile(PARAMS, lo, x) == pytest.approx(0.1, abs=1e-9)
    assert conf.p_ductile(PARAMS, hi, x) == pytest.approx(0.9, abs=1e-9)
    # a metal's residuals are wider here (coefficient 0.5): its band is wider
    lo_m, hi_m = conf.pugh_band(PARAMS, {"all_metal": 1.0, "ln_a_G": 0.1}, 0.9)
    assert lo_m < lo and hi_m > hi


def test_fit_recovers_a_known_heteroscedastic_normal():
    rng = np.random.default_rng(1)
    n = 6000
    x = np.column_stack([rng.integers(0, 2, n), rng.uniform(0, 0.6, n)])
    sigma = np.exp(math.log(0.15) + 0.6 * x[:, 0] + 1.2 * x[:, 1])
    r = -0.04 + sigma * rng.standard_normal(n)
    p = conf.fit(r, x, ("all_metal", "ln_a_G"))
    assert p["mu"] == pytest.approx(-0.04, abs=0.01)
    assert p["log_sigma_intercept"] == pytest.approx(math.log(0.15), abs=0.05)
    assert p["log_sigma_coef"][0] == pytest.approx(0.6, abs=0.06)
    assert p["log_sigma_coef"][1] == pytest.approx(1.2, abs=0.15)


def test_side_fit_recovers_a_probit_and_ignores_far_outliers():
    rng = np.random.default_rng(2)
    n = 8000
    d = rng.normal(0.0, 0.4, n)  # ln(B/G_pred / 1.75)
    r = 0.05 + 0.2 * rng.standard_normal(n)
    # heavy tail: 10 % of compounds missed by ±1.5 in ln B/G, but only where that cannot cross the threshold
    far = (rng.uniform(size=n) < 0.1) & (np.abs(d) > 0.1)
    r[far] += 1.5 * np.sign(d[far])
    side = conf.fit_side(r, d)
    assert side["mu"] == pytest.approx(0.05, abs=0.02)
    assert math.exp(side["log_sigma_intercept"]) == pytest.approx(0.2, rel=0.12)
    # the Gaussian fit of the residuals is widened by the outliers that never change a verdict
    assert math.exp(conf.fit(r, np.zeros((n, 0)), ())["log_sigma_intercept"]) > 0.4
    assert conf.p_ductile(side, 1.75 * math.exp(0.2), {"all_metal": 0.0, "ln_a_G": 0.0}) > 0.85


def test_logistic_side_fit_recovers_its_scale_and_gives_the_logistic_probability():
    """Logistic residuals (heavier tails than normal): fit_side(link="logit") recovers μ and the scale s, and
    p_ductile of a "logistic" fit is the logistic CDF, 0.7 exactly at z = ln(0.7/0.3)."""
    rng = np.random.default_rng(3)
    n = 8000
    d = rng.normal(0.0, 0.4, n)
    r = -0.03 + 0.12 * rng.logistic(size=n)
    side = conf.fit_side(r, d, link="logit")
    assert side["kind"] == "logistic" and side["fitted_to"] == "side"
    assert side["mu"] == pytest.approx(-0.03, abs=0.015)
    assert math.exp(side["log_sigma_intercept"]) == pytest.approx(0.12, rel=0.12)
    x = {"all_metal": 0.0, "ln_a_G": 0.0}
    s = math.exp(side["log_sigma_intercept"])
    bg = 1.75 * math.exp(-side["mu"] + s * math.log(0.7 / 0.3))
    assert conf.p_ductile(side, bg, x) == pytest.approx(0.7, abs=1e-9)
    lo, hi = conf.pugh_band(side, x, 0.7)
    assert hi == pytest.approx(bg, rel=1e-6) and lo < 1.75 < hi
    # the logistic tail is heavier than the normal one of the same parameters
    assert conf.p_ductile(side, 1.75 * math.exp(6 * s), x) < conf.p_ductile({**side, "kind": "normal"}, 1.75 * math.exp(6 * s), x)
    with pytest.raises(ValueError, match="link"):
        conf.fit_side(r, d, link="cauchit")


def test_side_fit_with_a_feature_dependent_scale():
    """fit_side with x: ln s = s0 + x·s recovered from the side alone (a metal's residuals twice as wide), and
    p_ductile evaluates the fitted s per compound."""
    rng = np.random.default_rng(4)
    n = 12000
    d = rng.normal(0.0, 0.4, n)
    metal = rng.integers(0, 2, n).astype(float)
    x = np.column_stack([metal, np.zeros(n)])
    r = 0.02 + 0.1 * np.exp(math.log(2.0) * metal) * rng.logistic(size=n)
    side = conf.fit_side(r, d, "logit", x, conf.SIGMA_FEATURES)
    assert side["sigma_features"] == list(conf.SIGMA_FEATURES)
    assert side["mu"] == pytest.approx(0.02, abs=0.015)
    assert math.exp(side["log_sigma_intercept"]) == pytest.approx(0.1, rel=0.15)
    assert side["log_sigma_coef"][0] == pytest.approx(math.log(2.0), abs=0.15)
    wide, narrow = ({"all_metal": m, "ln_a_G": 0.0} for m in (1.0, 0.0))
    assert conf.p_ductile(side, 1.75 * math.exp(0.2), wide) < conf.p_ductile(side, 1.75 * math.exp(0.2), narrow)


def test_verdict_from_probability():
    assert verdict_from_probability(2.5, True, 0.95, 0.9)[0] == "ductile"
    assert verdict_from_probability(1.2, True, 0.05, 0.9)[0] == "brittle"
    v, why = verdict_from_probability(1.8, True, 0.6, 0.9)
    assert v == "uncertain" and "0.600" in why and "0.10" in why
    assert verdict_from_probability(None, False, None, 0.9)[0] == "unstable"


def test_shipped_parameters_of_the_default_model():
    from dsei.mechanics.elastic import DEFAULT_ELASTIC_MODEL

    p = conf.parameters(DEFAULT_ELASTIC_MODEL)
    assert p is not None and 0.5 < p["p_star"] < 1.0
    assert set(p["sigma_features"]) <= set(conf.SIGMA_FEATURES)
    assert "benchmarks/elastic_confidence.py" in p["fitted_with"] and p["n_compounds"] > 100
    # a sane residual model: offset within ±0.2 in ln B/G, spread between 0.05 and 1 for an ionic compound
    assert abs(p["mu"]) < 0.2 and 0.05 < conf.sigma(p, {"all_metal": 0.0, "ln_a_G": 0.1}) < 1.0


def test_default_result_carries_p_ductile_and_its_verdict(lif, run_cli):
    """LiF with the default model (DFT B/G 1.43): p_ductile below 1/2, equal to the residual model applied to the
    calibrated B/G and the calibration's own features, the verdict and band from it; in the CLI's JSON too."""
    import json

    from dsei.mechanics import calibration as cal
    from dsei.mechanics import elastic
    from dsei.mechanics.elastic import DEFAULT_ELASTIC_MODEL

    r = elastic(lif)
    params = conf.parameters(DEFAULT_ELASTIC_MODEL)
    assert r.calibrated and r.p_ductile is not None and r.p_ductile < 0.5
    _, _, feats = cal.apply_with_features(np.array(r.C_uncalibrated_GPa), DEFAULT_ELASTIC_MODEL, "LiF", r.volume_per_atom_A3)
    assert r.p_ductile == pytest.approx(conf.p_ductile(params, r.pugh_ratio, feats), abs=2e-4)
    p_star = params["p_star"]
    expected = "brittle" if r.p_ductile <= 1 - p_star else "uncertain"
    assert r.verdict == expected and f"p_ductile = {r.p_ductile:.3f}" in r.verdict_reason
    lo, hi = r.pugh_uncertain_band
    assert lo < 1.75 < hi and (r.pugh_ratio <= lo) == (r.verdict == "brittle")
    code, out, _ = run_cli("elastic", "LiF", "--json", "-")
    data = json.loads(out)
    assert code == 0 and data["p_ductile"] == pytest.approx(r.p_ductile, abs=1e-3) and data["verdict"] == r.verdict


def test_no_probability_without_a_fit(lif):
    """Every shipped calibrated model has its own p_ductile (SevenNet-0 here, LiF: brittle side); an uncalibrated
    tensor has none, and its verdict comes from the fixed band: no probability is made up."""
    from dsei.mechanics import elastic

    assert conf.parameters("sevennet") is not None and conf.parameters("chgnet") is not None
    r = elastic(lif, model="sevennet")
    assert r.calibrated and r.p_ductile is not None and r.p_ductile < 0.5
    raw = elastic(lif, model="sevennet", calibrate=False)
    assert not raw.calibrated and raw.p_ductile is None and "p_ductile" not in raw.verdict_reason
