"""The FERE code in two modules that import one way (issue #22): the leaf dsei.chemistry.fere (data, fit,
shipped fits) applied by dsei.chemistry.energies, and dsei.chemistry.corrections (fitting per model name,
cross-validation) on top. The names corrections always offered are still there, and are the same objects."""

from __future__ import annotations

import pytest

import dsei.chemistry.corrections as corrections
import dsei.chemistry.energies as energies
import dsei.chemistry.fere as fere


@pytest.mark.parametrize(
    "name",
    ["RIDGE", "EXCLUDED", "MAX_EXP_UNCERTAINTY_eV", "FIT_FILE", "FIT_MODELS", "FereFit", "thermo_data",
     "exp_uncertainty", "usable", "exp_dhf", "predict_dhf"],
)
def test_corrections_keeps_its_names(name):
    assert getattr(corrections, name) is getattr(fere, name)


def test_load_fit_is_one_function_and_energies_keep_their_names():
    assert corrections.load_fit is energies.load_fit
    assert energies.ANION_ELEMENTS is fere.ANION_ELEMENTS and energies.data_dir is fere.data_dir


def test_a_model_without_a_shipped_fit_is_fitted_on_the_fly(monkeypatch):
    """load_fit falls back to fitting the model's own energies where data/fere_fits.json has no fit: the same
    numbers as corrections.fit, and as the shipped fit (which the shipped file holds for this model)."""
    shipped = fere.shipped_fit("sevennet", "mp2020")
    assert shipped is not None and fere.shipped_fit("no-such-model", "mp2020") is None
    monkeypatch.setattr(energies, "shipped_fit", lambda model, base: None)
    energies.load_fit.cache_clear()
    try:
        on_the_fly = energies.load_fit("sevennet", "mp2020")
    finally:
        energies.load_fit.cache_clear()
    refit = corrections.fit("sevennet", "mp2020")
    assert on_the_fly.to_dict() == refit.to_dict()
    assert on_the_fly.compounds == shipped.compounds
    for metal, delta in shipped.delta.items():
        assert on_the_fly.delta[metal] == pytest.approx(delta, abs=1e-9)
    with pytest.raises(ValueError):
        energies.load_fit("sevennet", "not-a-level")
