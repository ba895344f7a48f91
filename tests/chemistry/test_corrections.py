"""The fitted correction (FERE) and its cross-validation: what each fold leaves out, the experimental
uncertainty rule, the per-metal form of the correction, and the shipped fits. Cached energies only."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition

from dsei.chemistry.corrections import (
    CV_SCHEMES,
    MAX_EXP_UNCERTAINTY_eV,
    benchmark_summary,
    cv_excluded,
    exp_potential,
    exp_uncertainty,
    fit,
    reduction_benchmark,
    reduction_reactions,
    training_set,
    usable,
)


@pytest.fixture(scope="module")
def rows():
    return reduction_benchmark("sevennet")


def test_uncertainty_rule_drops_poorly_known_compounds():
    assert exp_uncertainty("CaSe") > MAX_EXP_UNCERTAINTY_eV and not usable("CaSe")
    assert exp_uncertainty("Na2Te") > MAX_EXP_UNCERTAINTY_eV and not usable("Na2Te")
    assert usable("AgF") and usable("Li2Te") and not usable("Li2O2")  # peroxide: excluded by rule
    assert exp_uncertainty("Ag4O2") == pytest.approx(2 * exp_uncertainty("Ag2O"))  # per formula unit as written
    fitted = {f for f, _, _ in training_set("sevennet")}
    assert {"CaSe", "Na2Te", "Li2O2"}.isdisjoint(fitted) and {"AgF", "Li2Te", "ZnTe", "AlN"} <= fitted


def test_cv_folds_leave_out_what_they_say():
    comps = [f for f, _, _ in training_set("sevennet")]
    row = next(r for r in reduction_reactions("sevennet") if r["formula"] == "Ag2S")
    assert cv_excluded("compound", row, comps) == {"Ag2S"}
    assert cv_excluded("reaction", row, comps) == {"Ag2S", "Li2S"}
    fam = cv_excluded("metal", row, comps)
    assert {"AgF", "AgCl", "Ag2O", "Ag2S", "Ag2Te"} <= fam and all("Ag" in Composition(f) for f in fam)
    with pytest.raises(ValueError):
        cv_excluded("random", row, comps)
    assert set(CV_SCHEMES) == {"compound", "reaction", "metal"}


def test_held_out_fit_does_not_see_the_phase(rows):
    data = training_set("sevennet")
    fr = fit("sevennet", exclude={"AgCl"}, data=data)
    assert "AgCl" not in fr.compounds and "Ag" in fr.delta  # Ag still learned from its other compounds
    # the metal fold has no Ag compound left, so Ag gets no shift (δ_Ag absent = raw Ag phases)
    agcl = next(r for r in rows if r["formula"] == "AgCl")
    assert agcl["metal_in_cv_fit_compound"] and not agcl["metal_in_cv_fit_metal"]
    # BiF3 is predicted with δ_Bi learned from Bi2Se3 and Bi2Te3 only
    bif3 = next(r for r in rows if r["formula"] == "BiF3")
    assert bif3["metal_in_cv_fit"] and not bif3["metal_in_cv_fit_metal"]


def test_correction_is_a_per_metal_shift_of_the_potential(rows):
    """V_FERE − V_MP2020 of M_pX_q + k Li is (k δ_Li − p δ_M)/k: the same for every anion of a metal of one
    oxidation state (the anion reference cancels), so the in-sample shift of all Ag(I) phases is equal."""
    shifts = [r["V_fit_in_sample"] - r["V_raw"] for r in rows if r["metal"] == "Ag"]
    assert len(shifts) >= 7
    assert max(shifts) - min(shifts) < 1e-9
    fr = fit("sevennet")
    assert shifts[0] == pytest.approx(fr.delta["Li"] - fr.delta["Ag"], abs=1e-9)


def test_benchmark_numbers(rows):
    """The measured state of the scheme (docs/benchmarks.md): ≥ 20 phases, the correction halves the Ag
    error under cross-validation; the issue's 0.05 V target is not claimed."""
    assert len(rows) >= 40
    for r in rows:
        v, s = exp_potential(r)
        assert r["V_exp"] == pytest.approx(v) and r["sigma_V_exp"] == pytest.approx(s) and s >= 0
    raw, cv = benchmark_summary(rows, "V_raw"), benchmark_summary(rows, "V_cv")
    assert raw["n"] == cv["n"] == len(rows)
    assert cv["mae_V"] < 0.7 * raw["mae_V"]
    ag = [r for r in rows if r["metal"] == "Ag"]
    assert benchmark_summary(ag, "V_cv")["mae_V"] < 0.5 * benchmark_summary(ag, "V_raw")["mae_V"]
    assert benchmark_summary([], "V_cv") == {"n": 0, "mae_V": None, "max_V": None}


def test_table_covers_the_additive_cations_and_drops_bad_references(rows):
    """In³⁺, Cu²⁺ and the nitrides are benchmarked; InBr's MP2020-set value (inconsistent with InCl/InI) is
    neither fitted nor benchmarked; InN uses the direct calorimetric ΔfH° (Ranade et al. 2001), not the
    decomposition-pressure value of the MP2020 set."""
    from dsei.chemistry.corrections import exp_dhf

    benchmarked = {r["formula"] for r in rows}
    assert {"InN", "In2O3", "InCl3", "CuO", "CuCl2", "Mg3N2", "Zn3N2", "AlN", "KF"} <= benchmarked
    assert "InBr" not in benchmarked and not usable("InBr") and "InBr" not in fit("sevennet").compounds
    assert exp_dhf("InN") * 96.4853 == pytest.approx(-28.6, abs=0.01)


def test_default_chemistry_model_is_the_most_accurate_held_out(rows):
    """The measured reason for DEFAULT_CHEMISTRY_MODEL (SevenNet-MF-0 at its r2SCAN fidelity): lower held-out
    error than SevenNet-0 on the same phases, and raw energies already at half SevenNet-0's raw error."""
    from dsei.models import DEFAULT_CHEMISTRY_MODEL

    best = reduction_benchmark(DEFAULT_CHEMISTRY_MODEL, schemes=("compound",))
    assert {r["formula"] for r in best} == {r["formula"] for r in rows}
    assert benchmark_summary(best, "V_cv")["mae_V"] < benchmark_summary(rows, "V_cv")["mae_V"] - 0.01
    assert benchmark_summary(best, "V_raw")["mae_V"] < 0.6 * benchmark_summary(rows, "V_raw")["mae_V"]
