"""NEB engine and defect end points (engineer T2).

The NEB mechanics run on ASE's EMT (a real effective-medium potential for Cu, not a mock) so they are fast;
the batched image evaluation is checked against ASE's own per-image NEB with SevenNet-0; a fault-injecting
wrapper around EMT checks that a failing model gives a failed result instead of a crash.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dsei.errors import CalculationError, InputError
from dsei.models.base import CalculatorModel
from dsei.transport.endpoints import interstitial_endpoints, oxidation_states, schottky_set, vacancy_endpoints
from dsei.transport.neb import BatchedNEB, NEBResult, neb


def _antifluorite(anion: str, a: float) -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), [anion, "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]])


def _nn_pair(s: Structure, el: str) -> tuple[int, int]:
    idx = [i for i, site in enumerate(s) if site.specie.symbol == el]
    d = s.lattice.get_all_distances(s.frac_coords[[idx[0]]], s.frac_coords[idx])[0]
    d[0] = np.inf
    return idx[0], idx[int(np.argmin(d))]


@pytest.fixture(scope="module")
def cu_vacancy_hop():
    """Cu fcc 2x2x2 conventional (32 atoms), nearest-neighbour vacancy hop: 31-atom end points."""
    s = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2))
    i, j = _nn_pair(s, "Cu")
    return vacancy_endpoints(s, s.frac_coords[i], s.frac_coords[j], "Cu")


@pytest.fixture(scope="module")
def emt():
    return CalculatorModel("emt", EMT())


# ---------------------------------------------------------------- end points


def test_vacancy_endpoints_keep_order_and_move_one_ion(lif):
    sc = lif * (2, 2, 2)
    i = next(k for k, site in enumerate(sc) if site.specie.symbol == "Li")
    # a nearest neighbour whose nearest image lies outside the cell: the short path must be taken
    j, image = next(
        (k, im)
        for k, site in enumerate(sc)
        for d, im in [sc.lattice.get_distance_and_image(sc.frac_coords[i], site.frac_coords)]
        if site.specie.symbol == "Li" and abs(d - 4.03 / np.sqrt(2)) < 1e-3 and np.any(im != 0)
    )
    start, end, info = vacancy_endpoints(sc, sc.frac_coords[i], sc.frac_coords[j] + image, "Li")
    assert len(start) == len(end) == len(sc) - 1
    assert [s.specie for s in start] == [s.specie for s in end]
    k = info["moving_index"]
    assert start[k].specie.symbol == "Li"
    moved = np.linalg.norm(end.cart_coords - start.cart_coords, axis=1)
    assert np.count_nonzero(moved > 1e-8) == 1 and moved[k] > 1.0
    # the end point is the target site (its image) and the hop is the nearest-neighbour distance
    assert np.allclose(start.lattice.get_all_distances(end.frac_coords[[k]], sc.frac_coords[[j]]), 0.0, atol=1e-6)
    assert info["hop_distance_A"] == pytest.approx(4.03 / np.sqrt(2), abs=1e-3)
    # the start has the vacancy at the target site
    assert start.lattice.get_all_distances(sc.frac_coords[[j]], start.frac_coords).min() > 1.0
    assert info["compensate"] is None
    # an end site named by its in-cell coordinates gives the same (short) hop
    start2, end2, info2 = vacancy_endpoints(sc, sc.frac_coords[i], sc.frac_coords[j], "Li")
    assert info2["hop_distance_A"] == pytest.approx(info["hop_distance_A"])
    assert np.allclose(end2.cart_coords, end.cart_coords)


def test_vacancy_endpoints_reject_a_site_without_the_ion(lif):
    with pytest.raises(InputError):
        vacancy_endpoints(lif, [0, 0, 0], [0.25, 0.25, 0.25], "Li")
    with pytest.raises(InputError):
        vacancy_endpoints(lif, [0, 0, 0], [0.5, 0.5, 0], "Li", compensate="frenkel")


@pytest.mark.parametrize(
    ("struct", "counter", "n_counter", "n_extra"),
    [("LiF", "F", 1, 0), ("Li2O", "O", 1, 1), ("Li2S", "S", 1, 1), ("Li3N", "N", 1, 2)],
)
def test_schottky_cell_is_charge_neutral(lif, struct, counter, n_counter, n_extra):
    if struct == "LiF":
        sc = lif * (2, 2, 2)
    elif struct == "Li3N":
        prim = Structure(Lattice.hexagonal(3.65, 3.88), ["N", "Li", "Li", "Li"],
                         [[0, 0, 0], [0, 0, 0.5], [1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0]])  # fmt: skip
        sc = prim * (3, 3, 2)
    else:
        sc = _antifluorite(struct[-1], 4.62 if struct == "Li2O" else 5.7) * (1, 1, 2)
    assert schottky_set(sc, "Li") == (counter, n_counter, n_extra)
    i, j = _nn_pair(sc, "Li")
    start, end, info = vacancy_endpoints(sc, sc.frac_coords[i], sc.frac_coords[j], "Li", compensate="schottky")
    assert len(start) == len(sc) - 1 - n_counter - n_extra
    ox = oxidation_states(sc)
    removed_charge = sum(ox[r["element"]] for r in info["removed"])
    assert removed_charge == pytest.approx(0.0)
    assert sum(ox[s.specie.symbol] for s in start) == pytest.approx(0.0)
    assert [s.specie for s in start] == [s.specie for s in end]
    # compensating vacancies sit away from the hop (farther than the first neighbour shell)
    for r in info["removed"][1:]:
        assert r["distance_to_hop_A"] > 2.5


def test_interstitial_endpoints(lif):
    start, end, info = interstitial_endpoints(lif, [0.25, 0.25, 0.25], [0.75, 0.25, 0.25], "Li")
    assert len(start) == len(end) == len(lif) + 1
    k = info["moving_index"]
    assert k == len(lif) and start[k].specie.symbol == "Li"
    assert np.allclose(start.cart_coords[:k], end.cart_coords[:k])
    assert info["hop_distance_A"] == pytest.approx(4.03 / 2)
    assert min(info["min_host_distance_A"]) == pytest.approx(4.03 * np.sqrt(3) / 4, abs=1e-3)


# ---------------------------------------------------------------- NEB mechanics (EMT)


def test_neb_symmetric_vacancy_hop_emt(cu_vacancy_hop, emt):
    start, end, info = cu_vacancy_hop
    r = neb(start, end, emt, n_images=3, fmax=0.05)
    assert isinstance(r, NEBResult) and r.error is None
    assert r.converged and r.max_force_eV_per_A < 0.05
    assert r.endpoint_converged
    assert len(r.profile_eV) == 5 and r.profile_eV[0] == 0.0
    assert len(r.reaction_coordinate_A) == 5 and r.reaction_coordinate_A[-1] > 2.0
    # EMT Cu vacancy migration ~0.7 eV (cf. experiment 0.70 eV); symmetric hop: forward = reverse
    assert info["hop_distance_A"] == pytest.approx(3.6 / np.sqrt(2))
    assert 0.3 < r.barrier_eV < 1.2
    assert r.reverse_barrier_eV == pytest.approx(r.barrier_eV, abs=0.01)
    assert r.saddle_index == 2 and not r.saddle_at_endpoint
    assert r.to_json_dict()["barrier_eV"] == r.barrier_eV


def test_neb_without_saddle_gives_the_uphill_energy(cu_vacancy_hop, emt):
    """A purely uphill band (end = start with one atom pushed 0.3 Å towards a neighbour, images not optimised):
    the highest image is the end point, so the barrier is the reaction energy and the reverse barrier 0."""
    start, _, info = cu_vacancy_hop
    end = start.copy()
    k = (info["moving_index"] + 3) % len(start)
    d = start.lattice.get_all_distances(start.frac_coords[[k]], start.frac_coords)[0]
    d[k] = np.inf
    n = int(np.argmin(d))
    _, image = start.lattice.get_distance_and_image(start.frac_coords[k], start.frac_coords[n])
    v = start.lattice.get_cartesian_coords(start.frac_coords[n] + image - start.frac_coords[k])
    end.translate_sites([k], 0.3 * v / np.linalg.norm(v), frac_coords=False, to_unit_cell=False)
    r = neb(start, end, emt, n_images=3, relax_endpoints=False, max_steps=0)
    assert r.error is None and not r.converged
    assert r.saddle_at_endpoint and r.saddle_index == 4
    assert np.all(np.diff(r.profile_eV) > 0)
    assert r.barrier_eV == pytest.approx(r.reaction_energy_eV) and r.barrier_eV > 0
    assert r.reverse_barrier_eV == pytest.approx(0.0)


def test_neb_rejects_mismatched_endpoints(cu_vacancy_hop, emt):
    start, end, _ = cu_vacancy_hop
    shorter = end.copy()
    shorter.remove_sites([0])
    with pytest.raises(CalculationError):
        neb(start, shorter, emt)
    with pytest.raises(CalculationError):
        neb(start, end, emt, optimizer="SD")


class _Faulty(Calculator):
    """EMT that fails (raise, or NaN forces) from its ``fail_after``-th call on: fault injection only."""

    implemented_properties = ("energy", "forces", "stress")

    def __init__(self, fail_after: int, mode: str):
        super().__init__()
        self.emt, self.calls, self.fail_after, self.mode = EMT(), 0, fail_after, mode

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        if self.calls > self.fail_after and self.mode == "raise":
            raise RuntimeError("injected model failure")
        a = atoms.copy()
        a.calc = self.emt
        self.results = {"energy": a.get_potential_energy(), "forces": a.get_forces(), "stress": np.zeros(6)}
        if self.calls > self.fail_after:
            self.results["forces"] = np.full_like(self.results["forces"], np.nan)


@pytest.mark.parametrize(("fail_after", "mode"), [(0, "raise"), (10, "raise"), (10, "nan")])
def test_failing_model_gives_a_failed_result(cu_vacancy_hop, fail_after, mode):
    start, end, _ = cu_vacancy_hop
    r = neb(start, end, CalculatorModel("faulty", _Faulty(fail_after, mode)), n_images=3, max_steps=50)
    assert not r.converged
    assert r.error
    assert r.barrier_eV is None
    assert r.to_json_dict()["converged"] is False


# ---------------------------------------------------------------- batched evaluation (real model)


@pytest.mark.slow
def test_batched_neb_forces_equal_ase_per_image_neb(lif):
    """SevenNet-0: one batched evaluation of the images gives ASE's NEB forces with one calculator per image."""
    from ase.mep import NEB

    from dsei.models import load_model

    model = load_model("sevennet")
    sc = lif.get_primitive_structure() * (2, 2, 2)
    i, j = _nn_pair(sc, "Li")
    start, end, _ = vacancy_endpoints(sc, sc.frac_coords[i], sc.frac_coords[j], "Li")
    a, b = AseAtomsAdaptor.get_atoms(start), AseAtomsAdaptor.get_atoms(end)
    ref_images = [a] + [a.copy() for _ in range(2)] + [b]
    ref = NEB(ref_images, climb=True, method="improvedtangent", allow_shared_calculator=True)
    ref.interpolate(mic=True)
    calc = model.calculator()
    for img in ref_images:
        img.calc = calc
    ref_f = ref.get_forces()
    images = [img.copy() for img in ref_images]
    from ase.calculators.singlepoint import SinglePointCalculator

    for img, src in ((images[0], ref_images[0]), (images[-1], ref_images[-1])):
        img.calc = SinglePointCalculator(img, energy=src.get_potential_energy(), forces=src.get_forces())
    band = BatchedNEB(images, model, climb=True, method="improvedtangent")
    f = band.get_forces()
    band.get_forces()  # unchanged positions: no second model call
    assert band.force_calls == 1
    assert np.allclose(band.energies, ref.energies, atol=1e-4)
    assert np.allclose(f, ref_f, atol=1e-4)
