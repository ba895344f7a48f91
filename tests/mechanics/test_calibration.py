"""The feature-based shear calibration (dsei.mechanics.calibration): algebra, shipped fit, unstable tensors.

No model needed (fast): the tensors are built by hand; the calibration's effect on real-model results is
checked by the six paper verdicts in test_elastic.py, which run with the default (calibrated) settings.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dsei.mechanics import calibration as cal
from dsei.mechanics.descriptors import describe
from dsei.mechanics.verdict import CALIBRATED_MARGIN_ABOVE, CALIBRATED_MARGIN_BELOW, uncertain_band, verdict


def _cubic(c11: float, c12: float, c44: float) -> np.ndarray:
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    for i in range(3):
        c[i, i] = c11
        c[i + 3, i + 3] = c44
    return c


def test_features_of_an_intermetallic_and_a_salt():
    metal = cal.features("NiAl", _cubic(200.0, 130.0, 110.0), 12.0)
    salt = cal.features("LiF", _cubic(110.0, 45.0, 60.0), 8.2)
    assert metal["all_metal"] == 1.0 and salt["all_metal"] == 0.0
    assert metal["tm_fraction"] == pytest.approx(0.5) and salt["tm_fraction"] == 0.0
    assert salt["dchi"] == pytest.approx(3.98 - 0.98) and metal["dchi"] == pytest.approx(1.91 - 1.61)
    assert salt["mean_period"] == pytest.approx(2.0)
    d = describe(_cubic(110.0, 45.0, 60.0), 8.2)
    assert salt["ln_pugh"] == pytest.approx(math.log(d.K_vrh_GPa / d.G_vrh_GPa))
    assert salt["cauchy_over_K"] == pytest.approx((45.0 - 60.0) / d.K_vrh_GPa)
    assert list(metal) == list(cal.FEATURES)
    # composition descriptors: Ni (group 10) + Al (group 13: 3 valence electrons); Li (1) + F (group 17: 7)
    assert metal["vec"] == pytest.approx(6.5) and salt["vec"] == pytest.approx(4.0)
    assert salt["mean_group"] == pytest.approx(9.0) and salt["group_spread"] == 16.0
    assert metal["p_fraction"] == pytest.approx(0.5) and metal["f_fraction"] == 0.0
    assert salt["min_fraction"] == pytest.approx(0.5) and cal.features("Li2O", _cubic(200.0, 30.0, 60.0), 8.0)["min_fraction"] == pytest.approx(1 / 3)
    assert salt["mean_chi"] == pytest.approx((3.98 + 0.98) / 2)
    assert salt["ln_melting"] == pytest.approx(math.log((453.69 + 53.53) / 2), abs=0.01)


def test_unstable_tensor_is_never_calibrated_and_stays_unstable():
    c = _cubic(100.0, 120.0, 30.0)  # C11 < C12: not positive definite
    assert cal.features("ZnAu", c, 16.0) is None
    out, applied = cal.apply(c, "sevennet", "ZnAu", 16.0)
    assert not applied and np.array_equal(out, c)
    # any congruence C' = S C S keeps an indefinite tensor indefinite (Sylvester)
    assert np.linalg.eigvalsh(cal.scale_tensor(c, 1.0, 3.0)).min() < 0


def test_ridge_recovers_a_linear_law_and_clips_extrapolation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)) * [1.0, 5.0, 0.1] + [0.0, 10.0, 2.0]
    y = 0.3 + 0.2 * x[:, 0] - 0.05 * x[:, 1] + 1.0 * x[:, 2]
    p = cal.fit_ridge(x, y, lam=1e-8, names=("a", "b", "c"))
    for row, target in zip(x[:5], y[:5], strict=True):
        assert cal.predict_ln_pugh_error(p, dict(zip("abc", row, strict=True))) == pytest.approx(target, abs=1e-6)
    far = cal.predict_ln_pugh_error(p, {"a": 100.0, "b": 10.0, "c": 2.0})
    assert far == pytest.approx(p["clip"][1])


@pytest.mark.parametrize("model", ["sevennet", "chgnet", "sevennet-l3i5", "sevennet-l3i5-elastic"])
def test_shipped_calibration_keeps_bulk_and_scales_shear_within_its_range(model):
    """Every shipped calibration (each model's gradient-boosted trees; the ridge kind evaluates the same way)."""
    params = cal.coefficients(model)
    # a fit names its own features: any subset of what dsei.mechanics.calibration.features computes
    assert params is not None and set(params["features"]) <= set(cal.FEATURES)
    assert cal.default_on(model) == bool(params["enabled"])
    c = _cubic(200.0, 130.0, 40.0)  # a soft-shear intermetallic, as the models predict them
    out, applied = cal.apply(c, model, "NiAl", 12.0)
    d0, d1 = describe(c, 12.0), describe(out, 12.0)
    assert applied and d1.born_stable
    assert d1.K_vrh_GPa == pytest.approx(d0.K_vrh_GPa, rel=1e-10)
    a_g = d1.G_vrh_GPa / d0.G_vrh_GPa
    lo, hi = params["clip"]
    assert math.exp(lo) - 1e-9 <= a_g <= math.exp(hi) + 1e-9
    assert a_g == pytest.approx(cal.shear_scale(params, "NiAl", c, 12.0), rel=1e-10)
    assert a_g > 1.0  # all-metal, soft in shear: stiffened (MLIPs are too soft in shear)
    np.testing.assert_allclose(out, out.T)
    assert np.abs(out[:3, 3:]).max() < 1e-12  # cubic form kept


def test_calibrated_results_use_their_own_band():
    assert uncertain_band(False) != uncertain_band(True) == (CALIBRATED_MARGIN_BELOW, CALIBRATED_MARGIN_ABOVE)
    below, above = uncertain_band(True)
    assert verdict(2.1, True, below=below, above=above)[0] == "ductile"  # would be uncertain uncalibrated
    assert verdict(2.1, True)[0] == "uncertain"
    assert verdict(1.9, True, below=below, above=above)[0] == "uncertain"
    assert verdict(1.6, True, below=below, above=above)[0] == "brittle"


def test_shear_is_only_ever_stiffened():
    """The fit's lower clip is 0 (a_G ≥ 1) even where the regression would soften."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 2))
    p = cal.fit_ridge(x, -1.0 + 0.1 * x[:, 0], lam=1.0, names=("a", "b"))
    assert p["clip"][0] == 0.0
    assert cal.predict_ln_pugh_error(p, {"a": 0.0, "b": 0.0}) == 0.0


def test_tree_ensemble_is_evaluated_like_scikit_learn():
    """The shipped gradient-boosted calibration is plain JSON lists evaluated by dsei; it must give exactly
    what scikit-learn's fitted ensemble gives (float32 split comparisons included)."""
    sklearn_ensemble = pytest.importorskip("sklearn.ensemble")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3)) * [1.0, 5.0, 0.1]
    y = np.sin(x[:, 0]) + 0.1 * x[:, 1] ** 2 - 3.0 * x[:, 2] + 0.05 * rng.normal(size=300)
    g = sklearn_ensemble.GradientBoostingRegressor(n_estimators=40, max_depth=3, learning_rate=0.1, random_state=0).fit(x, y)
    params = {
        "kind": "gbt",
        "features": ["a", "b", "c"],
        "init": float(g._raw_predict_init(x[:1])[0, 0]),
        "learning_rate": g.learning_rate,
        "trees": [
            {"left": t.tree_.children_left.tolist(), "right": t.tree_.children_right.tolist(),
             "feature": t.tree_.feature.tolist(), "threshold": t.tree_.threshold.tolist(),
             "value": t.tree_.value[:, 0, 0].tolist()}
            for t in g.estimators_[:, 0]
        ],
        "clip": [-100.0, 100.0],
    }
    test = rng.normal(size=(50, 3)) * [1.0, 5.0, 0.1]
    ours = [cal.predict_ln_pugh_error(params, dict(zip("abc", row, strict=True))) for row in test]
    np.testing.assert_allclose(ours, g.predict(test), rtol=0, atol=1e-12)


def test_histogram_tree_export_is_evaluated_like_scikit_learn():
    """The histogram trees (the default model's calibration kind) exported by hist_trees give exactly
    scikit-learn's prediction, also for inputs that sit on a split threshold (compared in float64) and with
    sample weights, as the calibration is fitted."""
    sklearn_ensemble = pytest.importorskip("sklearn.ensemble")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 3)) * [1.0, 5.0, 0.1]
    x[:, 0] = np.round(x[:, 0], 1)  # ties: the thresholds are midpoints between repeated values
    y = np.sin(x[:, 0]) + 0.1 * x[:, 1] ** 2 - 3.0 * x[:, 2] + 0.05 * rng.normal(size=400)
    g = sklearn_ensemble.HistGradientBoostingRegressor(max_iter=60, max_leaf_nodes=15, learning_rate=0.1,
                                                       max_features=0.6, early_stopping=False, random_state=0)
    g.fit(x, y, sample_weight=rng.uniform(0.2, 1.2, size=400))
    params = {**cal.hist_trees(g), "features": ["a", "b", "c"], "clip": [-100.0, 100.0]}
    thresholds = [t["threshold"][0] for t in params["trees"]][:10]
    test = np.vstack([rng.normal(size=(50, 3)) * [1.0, 5.0, 0.1], x[:20],
                      [[thr if t["feature"][0] == 0 else 0.0, thr if t["feature"][0] == 1 else 0.0,
                        thr if t["feature"][0] == 2 else 0.0] for thr, t in zip(thresholds, params["trees"], strict=False)]])
    ours = [cal.predict_ln_pugh_error(params, dict(zip("abc", row, strict=True))) for row in test]
    np.testing.assert_allclose(ours, g.predict(test), rtol=0, atol=1e-12)
    assert params["learning_rate"] == 1.0 and params["x_dtype"] == "float64"


def test_a_single_tree_by_hand():
    # root splits on feature b at 1.5: left leaf 2.0, right leaf -1.0; init 0.5, learning rate 0.1
    params = {"kind": "gbt", "features": ["a", "b"], "init": 0.5, "learning_rate": 0.1,
              "trees": [{"left": [1, -1, -1], "right": [2, -1, -1], "feature": [1, -2, -2],
                         "threshold": [1.5, -2.0, -2.0], "value": [0.0, 2.0, -1.0]}], "clip": [0.0, 0.65]}
    assert cal.predict_ln_pugh_error(params, {"a": 9.0, "b": 1.5}) == pytest.approx(0.65)  # 0.7, clipped
    assert cal.predict_ln_pugh_error(params, {"a": 9.0, "b": 1.6}) == pytest.approx(0.4)
