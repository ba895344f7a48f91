"""Strain sets, symmetry-constrained fit, rotation, calibration and descriptors: no model needed (fast)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from dsei.mechanics.calibration import scale_tensor
from dsei.mechanics.descriptors import describe
from dsei.mechanics.fit import (
    cartesian_rotations,
    fit_tensor,
    invariant_basis,
    rotate_voigt,
    rotate_voigt_tensor,
    symmetrize,
)
from dsei.mechanics.strains import N_INDEPENDENT, N_STATES, laue_class, strain_set
from dsei.mechanics.verdict import PUGH_MARGIN_ABOVE, PUGH_MARGIN_BELOW, verdict

# (space group, lattice, Laue class) examples; atoms at general-ish positions keep the full group.
EXAMPLES = [
    ("P1", Lattice.from_parameters(4.1, 4.5, 5.2, 80, 85, 95), "-1"),
    ("P2/m", Lattice.monoclinic(4.1, 4.5, 5.2, 100), "2/m"),
    ("Pmmm", Lattice.orthorhombic(4.1, 4.5, 5.2), "mmm"),
    ("P4/m", Lattice.tetragonal(4.1, 5.2), "4/m"),
    ("P4/mmm", Lattice.tetragonal(4.1, 5.2), "4/mmm"),
    ("R-3", Lattice.hexagonal(4.1, 9.0), "-3"),
    ("R-3m", Lattice.hexagonal(4.1, 9.0), "-3m"),
    ("P6/m", Lattice.hexagonal(4.1, 5.2), "6/m"),
    ("P6/mmm", Lattice.hexagonal(4.1, 5.2), "6/mmm"),
    ("Pm-3", Lattice.cubic(4.1), "m-3"),
    ("Pm-3m", Lattice.cubic(4.1), "m-3m"),
]


def _basis_for(sg, lattice):
    import spglib

    # one atom at a general position: the structure has exactly the named space group
    s = Structure.from_spacegroup(sg, lattice, ["Na", "Cl"], [[0.0, 0.0, 0.0], [0.13, 0.27, 0.31]])
    ds = spglib.get_symmetry_dataset((s.lattice.matrix, s.frac_coords, s.atomic_numbers), symprec=1e-3)
    return ds, invariant_basis(cartesian_rotations(s.lattice.matrix, ds.rotations))


@pytest.mark.parametrize(("sg", "lattice", "laue"), EXAMPLES)
def test_laue_class_basis_and_strain_set_sizes(sg, lattice, laue):
    ds, basis = _basis_for(sg, lattice)
    assert laue_class(ds.number) == laue
    assert len(basis) == N_INDEPENDENT[laue]  # 21, 13, 9, 7, 6, 7, 6, 5, 5, 3, 3
    assert len(strain_set(laue)) == 4 * N_STATES[laue]  # ±0.25 %, ±0.5 % per state


def test_strain_state_counts_follow_symmetry():
    assert N_STATES["m-3m"] == 1 and N_STATES["6/mmm"] == 2 and N_STATES["4/mmm"] == 2
    assert N_STATES["mmm"] == 3 and N_STATES["2/m"] == 5 and N_STATES["-1"] == 6
    assert [laue_class(n) for n in (1, 2, 14, 62, 88, 139, 148, 166, 176, 194, 205, 225)] == [
        "-1", "-1", "2/m", "mmm", "4/m", "4/mmm", "-3", "-3m", "6/m", "6/mmm", "m-3", "m-3m"
    ]


def _random_spd(rng):
    a = rng.normal(size=(6, 6))
    return a @ a.T * 10 + 50 * np.eye(6)


@pytest.mark.parametrize("sg_lat", [EXAMPLES[0], EXAMPLES[1], EXAMPLES[6], EXAMPLES[10]], ids=lambda x: x[0])
def test_fit_recovers_known_tensor_exactly(sg_lat):
    sg, lattice, _ = sg_lat
    ds, basis = _basis_for(sg, lattice)
    rots = cartesian_rotations(Structure.from_spacegroup(sg, lattice, ["Na"], [[0, 0, 0]]).lattice.matrix, ds.rotations)
    assert np.allclose([r @ r.T for r in rots], np.eye(3))
    c_true = symmetrize(_random_spd(np.random.default_rng(3)), rots)
    sigma0 = np.array([0.3, -0.2, 0.1, 0.05, 0.0, -0.04])
    strains = np.vstack([np.zeros(6), *strain_set(laue_class(ds.number))])
    stresses = strains @ c_true.T + sigma0
    fit = fit_tensor(strains, stresses, basis)
    assert fit.rank_ok
    np.testing.assert_allclose(fit.C, c_true, atol=1e-8)
    np.testing.assert_allclose(fit.residual_stress, sigma0, atol=1e-10)
    assert fit.rms_residual < 1e-9


def test_cubic_fit_is_exactly_cubic_even_with_noise():
    ds, basis = _basis_for("Pm-3m", Lattice.cubic(4.0))
    c = np.zeros((6, 6))
    c[:3, :3] = 40
    np.fill_diagonal(c, [110, 110, 110, 30, 30, 30])
    strains = np.vstack([np.zeros(6), *strain_set("m-3m")])
    stresses = strains @ c.T + np.random.default_rng(0).normal(scale=0.05, size=(len(strains), 6))
    fit = fit_tensor(strains, stresses, basis).C
    assert fit[0, 0] == pytest.approx(fit[1, 1], abs=1e-9) == pytest.approx(fit[2, 2], abs=1e-9)
    assert fit[0, 1] == pytest.approx(fit[0, 2], abs=1e-9) == pytest.approx(fit[1, 2], abs=1e-9)
    assert fit[3, 3] == pytest.approx(fit[4, 4], abs=1e-9) == pytest.approx(fit[5, 5], abs=1e-9)
    assert np.abs(fit[:3, 3:]).max() < 1e-9 and np.abs(fit[3:, 3:] - np.diag(np.diag(fit[3:, 3:]))).max() < 1e-9


def test_bond_matrix_rotation_matches_full_tensor_rotation():
    from scipy.spatial.transform import Rotation

    c = _random_spd(np.random.default_rng(1))
    r = Rotation.random(random_state=2).as_matrix()
    np.testing.assert_allclose(rotate_voigt(c, r), rotate_voigt_tensor(c, r), atol=1e-10)


def test_calibration_scales_hill_moduli_exactly_and_keeps_positive_definite():
    c = symmetrize(_random_spd(np.random.default_rng(5)), np.array([np.eye(3)]))
    d0 = describe(c, 12.0)
    d1 = describe(scale_tensor(c, 1.1, 1.4), 12.0)
    assert d1.K_vrh_GPa == pytest.approx(1.1 * d0.K_vrh_GPa, rel=1e-10)
    assert d1.G_vrh_GPa == pytest.approx(1.4 * d0.G_vrh_GPa, rel=1e-10)
    assert d1.K_reuss_GPa == pytest.approx(1.1 * d0.K_reuss_GPa, rel=1e-10)
    assert d1.G_reuss_GPa == pytest.approx(1.4 * d0.G_reuss_GPa, rel=1e-10)
    assert d1.born_stable


def test_descriptors_of_an_isotropic_tensor():
    k, g = 60.0, 30.0
    c = np.zeros((6, 6))
    c[:3, :3] = k - 2 * g / 3
    for i in range(3):
        c[i, i] = k + 4 * g / 3
        c[i + 3, i + 3] = g
    d = describe(c, 15.0)
    assert d.K_vrh_GPa == pytest.approx(k) and d.G_vrh_GPa == pytest.approx(g)
    assert d.pugh_ratio == pytest.approx(2.0)
    assert d.E_GPa == pytest.approx(9 * k * g / (3 * k + g))
    assert d.poisson == pytest.approx((3 * k - 2 * g) / (6 * k + 2 * g))
    assert d.universal_anisotropy == pytest.approx(0.0, abs=1e-9)
    assert d.cauchy_pressure_GPa == pytest.approx(c[0, 1] - c[3, 3])
    assert d.monroe_newman_ratio == pytest.approx(g / 4.25)
    assert d.born_stable and d.vickers_hardness_GPa >= 0 and d.fracture_toughness_MPa_m05 > 0


def test_verdict_rule():
    assert verdict(1.75 + PUGH_MARGIN_ABOVE + 0.01, True)[0] == "ductile"
    assert verdict(1.2, True)[0] == "brittle"
    assert verdict(1.75 - PUGH_MARGIN_BELOW - 0.01, True)[0] == "brittle"
    assert verdict(1.75 + PUGH_MARGIN_ABOVE / 2, True)[0] == "uncertain"
    assert verdict(1.75 - PUGH_MARGIN_BELOW / 2, True)[0] == "uncertain"
    assert verdict(2.5, False)[0] == "unstable"
    assert verdict(2.5, True, [1.5, 3.5], [True, True])[0] == "uncertain"
    assert verdict(2.5, True, [2.4, 2.6], [True, False])[0] == "uncertain"
    assert verdict(2.5, True, [2.4, 2.6], [True, True])[0] == "ductile"
