"""BVSE pre-screen: Li-free hosts work (interstitial Li+), known orderings, bad input."""

from __future__ import annotations

import pytest

from dsei.errors import InputError
from dsei.structures.library import get_library
from dsei.transport import bvse


def _lib(formula):
    lib = get_library()
    return lib.structure(lib.find(formula).id)


def test_li_free_host_gets_an_interstitial_landscape():
    r = bvse(_lib("Ag2S"), "Li")
    assert r.mechanism == "interstitial" and r.ion == "Li"
    assert r.dimension == "3D" and 0.05 < r.barrier_eV < 2.0
    assert r.percolation_eV["1D"] <= r.percolation_eV["2D"] <= r.percolation_eV["3D"]


def test_fast_and_slow_li_conductors_are_ordered():
    """α-Li3N is a fast Li+ conductor, rock-salt LiF a notoriously poor one (Chen et al., J. Phys. Chem. C 2011)."""
    li3n = bvse(_lib("Li3N"), "Li")
    lif = bvse(_lib("LiF"), "Li")
    assert li3n.mechanism == lif.mechanism == "vacancy"
    assert li3n.barrier_eV < lif.barrier_eV - 0.1


def test_bad_ion():
    with pytest.raises(InputError, match="not an ion"):
        bvse(_lib("LiF"), "lithium")
