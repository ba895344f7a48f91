"""Optional MD: the estimators on synthetic data (pure maths), a tiny real-model run, bad input, a failing MD."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dsei.errors import InputError
from dsei.results import write_json
from dsei.structures.library import get_library
from dsei.transport.md import KB_EV, arrhenius_fit, diffusivity_from_positions, md_diffusion


def _lib(formula):
    lib = get_library()
    return lib.structure(lib.find(formula).id)


def test_arrhenius_fit_recovers_known_ea():
    ea, d0 = 0.30, 1e-3
    temps = np.array([600.0, 700.0, 800.0, 900.0, 1000.0, 1200.0])
    exact = d0 * np.exp(-ea / (KB_EV * temps))
    fit = arrhenius_fit(temps, exact, 0.05 * exact)
    assert fit.activation_energy_eV == pytest.approx(ea, abs=1e-9)
    assert fit.prefactor_D0_cm2_per_s == pytest.approx(d0, rel=1e-6)
    # 5 % scatter with 5 % stated errors: Ea recovered within 3 sigma, sigma of the right size
    hits = 0
    for seed in range(20):
        noisy = exact * np.exp(np.random.default_rng(seed).normal(0.0, 0.05, len(temps)))
        f = arrhenius_fit(temps, noisy, 0.05 * noisy)
        assert 0.005 < f.activation_energy_err_eV < 0.05
        hits += abs(f.activation_energy_eV - ea) < f.activation_energy_err_eV
    assert hits >= 9  # ~68 % of 20 within 1 sigma (binomial: 9 or more with > 99 % probability)
    d298, s_ln = fit.predict(298.15)
    assert d298 == pytest.approx(d0 * math.exp(-ea / (KB_EV * 298.15)), rel=1e-6)
    assert s_ln > 0.05  # extrapolation far below the data widens the error
    two = arrhenius_fit([600.0, 900.0], exact[[0, 3]], 0.1 * exact[[0, 3]])  # two points: errors only
    assert two.activation_energy_err_eV > 0 and two.chi2_reduced is None


def test_arrhenius_fit_rejects_bad_data():
    with pytest.raises(InputError, match="two distinct"):
        arrhenius_fit([600.0], [1e-5])
    with pytest.raises(InputError, match="positive"):
        arrhenius_fit([600.0, 800.0], [1e-5, 0.0])


def test_multi_origin_msd_recovers_random_walk_d_and_matches_pymatgen():
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Lattice, Structure

    d_true = 1e-4  # cm2/s = 1e-3 A2/fs
    dt, n, nion = 10.0, 1000, 100
    rng = np.random.default_rng(1)
    steps = rng.normal(0.0, math.sqrt(2 * d_true * 10 * dt), size=(n, nion, 3))
    pos = np.concatenate([np.zeros((1, nion, 3)), np.cumsum(steps, axis=0)])
    d, d_xyz, _t, _msd = diffusivity_from_positions(pos, dt)
    assert d == pytest.approx(d_true, rel=0.15)  # 100 ions x 10 ps: ~10 % statistical scatter
    assert np.allclose(d_xyz, d_true, rtol=0.3)
    host = Structure(Lattice.cubic(30.0), ["Li"] * nion + ["O"] * 4, rng.random((nion + 4, 3)))
    disp = np.concatenate([pos.transpose(1, 0, 2), np.zeros((4, n + 1, 3))])
    ref = DiffusionAnalyzer(host, disp, "Li", 1000, int(dt), 1, smoothed="max").diffusivity
    assert d == pytest.approx(ref, rel=0.1)


def test_host_without_the_ion_is_refused():
    with pytest.raises(InputError, match="no Li in Ag2S"):
        md_diffusion(_lib("Ag2S"), "Li", model="sevennet")
    with pytest.raises(InputError, match="temperatures"):
        md_diffusion(_lib("Li3N"), "Li", temperatures_K=(-5.0,))
    with pytest.raises(InputError, match="cannot remove"):
        md_diffusion(_lib("Li3N"), "Li", supercell=[1, 1, 1], vacancies=3, time_ps=0.1, sample_fs=4)


def test_failed_md_is_reported_not_raised():
    """A calculator that raises (fault injection): each temperature is 'failed', no fit, no traceback."""
    from ase.calculators.calculator import Calculator

    from dsei.models import Model

    class Broken(Calculator):
        implemented_properties = ["energy", "forces"]

        def calculate(self, atoms=None, properties=None, system_changes=None):
            raise RuntimeError("injected fault")

    class BrokenModel(Model):
        name = "broken"

        def calculator(self):
            return Broken()

    r = md_diffusion(_lib("Li3N"), model=BrokenModel(), temperatures_K=(500, 900), supercell=[1, 1, 1], time_ps=0.1, sample_fs=4)
    assert [t.status for t in r.temperatures] == ["failed", "failed"]
    assert "injected fault" in r.temperatures[0].reason
    assert r.activation_energy_eV is None and any("no Arrhenius fit" in w for w in r.warnings)


@pytest.mark.slow
def test_tiny_li3n_cell_diffuses_faster_when_hot(tmp_path):
    """α-Li3N 1×1×2 with one Li vacancy (7 atoms), SevenNet-0, 2 temperatures, 0.2 ps each."""
    import torch

    torch.set_num_threads(1)
    r = md_diffusion(
        _lib("Li3N"),
        "Li",
        model="sevennet",
        temperatures_K=(300.0, 1200.0),
        time_ps=0.2,
        equilibration_ps=0.04,
        supercell=[1, 1, 2],
        vacancies=1,
        sample_fs=4.0,
        seed=0,
    )
    assert r.n_atoms == 7 and r.n_ions == 5 and r.cell_formula == "Li5N2"
    cold, hot = r.temperatures
    assert hot.status != "failed" and cold.status != "failed"
    assert math.isfinite(hot.diffusivity_cm2_per_s) and hot.diffusivity_cm2_per_s > 0
    assert hot.diffusivity_err_cm2_per_s > 0 and len(hot.msd_A2) > 10
    assert 0.6 * 1200 < hot.mean_temperature_K < 1.4 * 1200
    # hotter is faster, unless a temperature is flagged (too few hops in 0.2 ps, or the framework moved)
    assert hot.diffusivity_cm2_per_s > cold.diffusivity_cm2_per_s or cold.status != "ok" or hot.status != "ok"
    assert all((t.status == "ok") == (t.reason is None) for t in r.temperatures)
    assert r.cost_s_per_ps_per_atom > 0
    out = tmp_path / "md.json"
    write_json(r, out)
    data = json.loads(out.read_text())
    assert data["method"] == "md" and data["haven_ratio"] == 1.0 and len(data["temperatures"]) == 2


def test_initial_velocities_are_seeded_maxwell_boltzmann_without_deprecation():
    """The momenta draw uses ASE's current API (no DeprecationWarning) and is the seeded Maxwell–Boltzmann draw
    p = ξ·sqrt(m k_B T), ξ standard normal from the run's generator, so a seed gives the same run as before."""
    import warnings

    from ase import units
    from ase.build import bulk

    from dsei.transport.md import _thermalize_momenta

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        _thermalize_momenta()(atoms, temperature_K=800.0, rng=np.random.default_rng([3, 1]))
    xi = np.random.default_rng([3, 1]).standard_normal((len(atoms), 3))
    kt_eV = units.kB * 800.0
    expected = xi * np.sqrt(atoms.get_masses() * kt_eV)[:, None]
    assert np.array_equal(atoms.get_momenta(), expected)
    assert 400.0 < atoms.get_temperature() < 1200.0  # 32 atoms: one draw scatters around 800 K


def test_unit_constants_come_out_exact():
    """The unit factors built from scipy.constants are the exact decimal factors (step counts and densities are
    computed with them), and k_B in eV/K is k/e."""
    from dsei.transport import md

    assert md.A2_PER_FS_TO_CM2_PER_S == 0.1 and md.CM3_PER_A3 == 1e-24 and md.FS_PER_PS == 1000
    assert md.KB_J == 1.380649e-23 and md.E_CHARGE_C == 1.602176634e-19
    assert md.KB_EV == pytest.approx(8.617333262e-5, rel=1e-10)
