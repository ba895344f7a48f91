"""Sites, hops and supercells of the moving ion: LiF (vacancy), AgF (Li interstitial, real SevenNet-0)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dsei.errors import InputError
from dsei.transport.paths import site_network
from dsei.transport.sites import Site, choose_mechanism, interstitial_search, vacancy_sites
from dsei.transport.supercell import min_image_distance_A, supercell_matrix


@pytest.fixture(scope="module")
def lif_prim(lif):
    return lif.get_primitive_structure()


def test_supercell_smallest_with_9A_images(lif_prim):
    m = supercell_matrix(lif_prim, min_image_A=9.0)
    sc = lif_prim.copy()
    sc.make_supercell(m)
    assert round(np.linalg.det(m)) * len(lif_prim) == len(sc)
    assert min_image_distance_A(sc.lattice) >= 9.0
    assert len(sc) < 128  # smaller than the 4x4x4 primitive supercell (3x3x3 = 54 atoms gives only 8.5 Å)
    assert min_image_distance_A(3 * lif_prim.lattice.matrix) < 9.0
    # never worse than any diagonal supercell
    for diag in itertools.product(range(1, 6), repeat=3):
        if min_image_distance_A(np.diag(diag) @ lif_prim.lattice.matrix) >= 9.0:
            assert np.prod(diag) >= round(np.linalg.det(m))
    # a cell that is already big enough stays as it is
    assert np.array_equal(supercell_matrix(sc, 9.0), np.eye(3, dtype=int))


def test_lif_vacancy_network(lif, lif_prim):
    mech, reason = choose_mechanism(lif, "Li")
    assert mech == "vacancy" and "Li is in LiF" in reason
    for struct in (lif, lif_prim):
        sites = vacancy_sites(struct, "Li")
        assert len(sites) == 1 and sites[0].multiplicity == len(struct) // 2
        net = site_network(struct, "Li", "vacancy", sites)
        assert len(net.hops) == 1  # cubic: all 12 nearest-neighbour hops share one label (equal barriers)
        hop = net.hops[0]
        assert hop.distance_A == pytest.approx(4.03 / np.sqrt(2), abs=1e-3)
        assert 2 * hop.multiplicity / net.n_nodes == 12  # 12 hops per site
        assert net.dimension == 3
        assert net.percolation_barriers({0: 0.7}) == {"1D": 0.7, "2D": 0.7, "3D": 0.7}
        d = np.linalg.norm(net.structure.lattice.get_cartesian_coords(np.subtract(hop.end_frac, hop.start_frac)))
        assert d == pytest.approx(hop.distance_A)
    # second neighbours (4.03 Å) hop straight through an F: dropped as blocked
    net = site_network(lif, "Li", "vacancy", vacancy_sites(lif, "Li"), cutoff_A=4.1)
    assert len(net.hops) == 1 and len(net.dropped_hops) == 1
    assert net.dropped_hops[0]["distance_A"] == pytest.approx(4.03) and net.dropped_hops[0]["closest_atom_A"] < 0.01


def test_interstitial_network_of_given_sites(agf_prim):
    """Tetrahedral voids of rock salt (8c) form a simple-cubic net of a/2 hops: 6 per site, 3D."""
    tet = Site(
        frac=(0.25, 0.25, 0.25), kind="interstitial", label="Lii-tet", multiplicity=2, wyckoff=None, energy_eV=0.0
    )
    net = site_network(agf_prim, "Li", "interstitial", [tet])
    assert net.n_nodes == 2 and net.dimension == 3 and len(net.hops) == 1
    assert net.hops[0].distance_A == pytest.approx(agf_prim.lattice.a / np.sqrt(2), abs=1e-3)
    assert 2 * net.hops[0].multiplicity / net.n_nodes == 6
    assert len(net.structure) == len(agf_prim) + 2
    assert [net.structure[i].specie.symbol for i in net.node_index] == ["Li", "Li"]


def test_li_free_host_has_no_vacancy_mechanism():
    from dsei.api import prepare

    ag2s = prepare("Ag2S")
    with pytest.raises(InputError, match="Li is not in Ag2S: no vacancy mechanism; use the interstitial mechanism") as e:
        choose_mechanism(ag2s, "Li", "vacancy")
    assert "\n" not in str(e.value)
    assert choose_mechanism(ag2s, "Li")[0] == "interstitial"


@pytest.fixture(scope="module")
def agf_prim():
    from dsei.api import prepare

    return prepare("AgF").get_primitive_structure()


@pytest.mark.slow
def test_agf_interstitial_sites_and_network(agf_prim):
    """Li in rock-salt AgF: the Voronoi voids relax to the tetrahedral site; symmetry-equivalent and perturbed
    candidates merge into that one site; its hop network is 3D."""
    from dsei.models import load_model

    model = load_model("sevennet")
    found = interstitial_search(agf_prim, "Li", model, min_image_A=6.0)
    assert found.sites and all(s.energy_eV >= 0 for s in found.sites)
    assert found.sites[0].energy_eV == 0.0 and found.sites[0].kind == "interstitial"
    tet = found.sites[0]
    assert tet.multiplicity == 2 and tet.wyckoff == "2c"  # 8c of the conventional cell
    # two equivalent tetrahedral positions plus a perturbed one -> one merged site
    merged = interstitial_search(
        agf_prim, "Li", model, min_image_A=6.0, candidates=[(0.25, 0.25, 0.25), (0.75, 0.75, 0.75), (0.28, 0.23, 0.26)]
    )
    assert len(merged.sites) == 1 and merged.sites[0].multiplicity == 2
    assert {c["site_label"] for c in merged.candidates} == {merged.sites[0].label}
    assert max(abs(c["energy_rel_eV"]) for c in merged.candidates) < 0.02
    net = site_network(agf_prim, "Li", "interstitial", found.sites)
    assert net.n_nodes == 2 and net.dimension == 3
