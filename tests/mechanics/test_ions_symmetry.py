"""Which strained cells keep their ions where they are by symmetry alone (the fine-tune's label rule)."""

import numpy as np
import pytest
from ase.build import bulk

from dsei.mechanics.ions import ions_clamped_by_symmetry
from dsei.mechanics.strains import deformed_cell


def _strained(atoms, e_voigt):
    b = atoms.copy()
    b.set_cell(deformed_cell(atoms.cell[:], np.asarray(e_voigt, dtype=float)), scale_atoms=True)
    return b


def _unit(k, m=0.005):
    e = np.zeros(6)
    e[k] = m
    return e


def test_rock_salt_ions_stay_under_every_strain():
    # every atom of rock salt sits on an inversion centre, which survives any homogeneous strain
    nacl = bulk("NaCl", "rocksalt", 5.64)
    assert all(ions_clamped_by_symmetry(_strained(nacl, _unit(k))) for k in range(6))


@pytest.mark.parametrize("atoms", [bulk("CaF2", "fluorite", 5.46), bulk("Si", "diamond", 5.43)])
def test_fluorite_and_diamond_ions_move_under_shear_only(atoms):
    # the -43m sites have no fixed direction under uniaxial or hydrostatic strain, but shear leaves a polar
    # axis: the internal strain that makes C44 relaxed-ion differ from clamped-ion
    assert [ions_clamped_by_symmetry(_strained(atoms, _unit(k))) for k in range(6)] == [True] * 3 + [False] * 3
    assert ions_clamped_by_symmetry(_strained(atoms, [0.005, 0.005, 0.005, 0, 0, 0]))


def test_wurtzite_is_never_clamped():
    # the 3m sites of wurtzite fix the c axis even unstrained (the u parameter is free)
    zno = bulk("ZnO", "wurtzite", a=3.25, c=5.2, u=0.38)
    assert not ions_clamped_by_symmetry(zno)
