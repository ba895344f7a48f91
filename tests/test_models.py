"""Models load offline, give finite energies/forces/stresses, and the batched API equals one-by-one."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

OFFLINE_SCRIPT = r"""
import json, socket, sys
def _blocked(*a, **k):
    raise OSError("network disabled by the test")
socket.socket.connect = _blocked
socket.socket.connect_ex = _blocked
socket.create_connection = _blocked
from pymatgen.core import Lattice, Structure
from dsei.models import load_model
lif = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.03), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
out = {}
for name in sys.argv[1:]:
    ev = load_model(name, device="cpu").evaluate([lif])[0]
    out[name] = [ev.energy_per_atom_eV, ev.forces_eV_per_A.tolist(), ev.stress_GPa.tolist()]
print("RESULT" + json.dumps(out))
"""


@pytest.mark.slow
def test_models_load_offline_and_give_finite_efs():
    """Both built-in models load with every socket connection refused and give finite E, F, S for LiF."""
    proc = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, "chgnet", "sevennet"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT"))
    res = json.loads(line[len("RESULT") :])
    for name in ("chgnet", "sevennet"):
        e, f, s = res[name]
        assert np.isfinite(e) and -6.0 < e < -4.0, (name, e)  # LiF: about -4.8 to -5.1 eV/atom (MP-compatible scale)
        f = np.array(f)
        assert f.shape == (8, 3) and np.isfinite(f).all()
        assert np.abs(f).max() < 1e-3  # every atom is on an inversion centre in rock salt
        s = np.array(s)
        assert np.isfinite(s).all() and abs(s[0] - s[1]) < 1e-3 and abs(s[1] - s[2]) < 1e-3  # cubic: hydrostatic


def _rattled_cells(lif, n=8):
    out = []
    for i in range(n):
        s = lif.copy()
        s.scale_lattice(lif.volume * (1 + 0.01 * (i - 3)))
        s.perturb(0.03, min_distance=0.01)
        out.append(s)
    # a different chemistry and size in the same batch
    from pymatgen.core import Lattice, Structure

    out[-1] = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.55), ["Ag", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()
    return out


@pytest.mark.parametrize("name", ["chgnet", "sevennet", pytest.param("sevennet-mf-r2scan", marks=pytest.mark.slow)])
def test_batched_equals_one_by_one(name, lif):
    from dsei.models import load_model

    model = load_model(name)
    cells = _rattled_cells(lif)
    batched = model.evaluate(cells)
    single = model.evaluate_one_by_one(cells)
    for b, s in zip(batched, single, strict=True):
        assert abs(b.energy_per_atom_eV - s.energy_per_atom_eV) < 1e-5
        assert np.abs(b.forces_eV_per_A - s.forces_eV_per_A).max() < 1e-4
        assert np.abs(b.stress_GPa - s.stress_GPa).max() < 1e-3
    # the rattled cells really carry forces: the comparison above is not between zeros
    assert max(np.abs(b.forces_eV_per_A).max() for b in batched) > 0.05
    # forcing several passes (small batches) gives the same numbers as one big pass
    small = model.evaluate(cells, max_atoms_per_batch=8)
    for b, s in zip(batched, small, strict=True):
        assert abs(b.energy_per_atom_eV - s.energy_per_atom_eV) < 1e-5


def test_a_batch_that_runs_out_of_device_memory_is_split(lif):
    """Fault injection only (a real model whose "device" refuses passes over 20 atoms): the batch is split
    until it fits, the numbers are the real model's, the model remembers what fit, and one structure too
    large on its own still raises."""
    import torch

    from dsei.models import Model, load_model

    real = load_model("sevennet")

    class TightMemory(Model):
        def __init__(self, limit):
            self.name, self.device, self.limit, self.passes = real.name, "cuda", limit, []

        def calculator(self):
            return real.calculator()

        def _evaluate_batch(self, atoms):
            n = sum(len(a) for a in atoms)
            if n > self.limit:
                raise torch.cuda.OutOfMemoryError(f"CUDA out of memory (fake: {n} atoms)")
            self.passes.append(n)
            return real._evaluate_batch(atoms)

    cells = _rattled_cells(lif)  # 7 cells of 8 atoms and one of 2: 58 atoms
    tight = TightMemory(20)
    assert tight.batch_atoms() == 4000
    got = tight.evaluate(cells)
    ref = real.evaluate(cells)
    for g, r in zip(got, ref, strict=True):
        assert abs(g.energy_per_atom_eV - r.energy_per_atom_eV) < 1e-5
        assert np.abs(g.forces_eV_per_A - r.forces_eV_per_A).max() < 1e-4
    assert sum(tight.passes) == 58 and max(tight.passes) <= 20 and len(tight.passes) >= 3
    assert tight.batch_atoms() <= 58 // 2 + 8  # later calls start from what fit
    with pytest.raises(torch.cuda.OutOfMemoryError):
        TightMemory(4).evaluate(cells[:1])


def test_device_from_environment(monkeypatch):
    """DSEI_DEVICE picks the device of every model loaded with device="auto"; a CUDA device torch cannot see
    is a one-line error."""
    import torch

    from dsei.errors import ModelUnavailableError
    from dsei.models import resolve_device

    monkeypatch.setenv("DSEI_DEVICE", "cpu")
    assert resolve_device() == "cpu" and resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setenv("DSEI_DEVICE", "gpu")
    with pytest.raises(ModelUnavailableError, match="not a torch device"):
        resolve_device()
    monkeypatch.delenv("DSEI_DEVICE")
    assert resolve_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        monkeypatch.setenv("DSEI_DEVICE", "cuda")
        with pytest.raises(ModelUnavailableError) as exc:
            resolve_device()
        assert "\n" not in str(exc.value) and "no CUDA device" in str(exc.value)


@pytest.mark.slow
def test_d3_adds_dispersion(lif):
    from dsei.models import load_model

    base = load_model("sevennet").evaluate([lif])[0]
    d3 = load_model("sevennet+d3")
    withd3 = d3.evaluate([lif])[0]
    # D3 binds: lower energy, and its attraction pulls the cell inwards, i.e. the stress becomes more
    # tensile (ASE sign: positive = the cell wants to contract), so the relaxed volume shrinks
    assert withd3.energy_per_atom_eV < base.energy_per_atom_eV - 0.01
    assert withd3.stress_GPa[0] > base.stress_GPa[0] + 0.5
    one = d3.evaluate_one_by_one([lif])[0]
    assert abs(one.energy_per_atom_eV - withd3.energy_per_atom_eV) < 1e-5


@pytest.mark.slow
def test_other_sevennet_checkpoints_load_offline():
    """SevenNet-l3i5 and SevenNet-MF-0 (both fidelities) ship in the sevenn wheel and load with sockets blocked.

    The r2SCAN fidelity is a different energy scale (VASP r2SCAN total energies, about -5.95 eV/atom for LiF)
    from the PBE one (about -4.83 eV/atom): a check that the ``modal`` really reaches the model.
    """
    names = ["sevennet-l3i5", "sevennet-mf-r2scan", "sevennet-mf-pbe"]
    proc = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT, *names], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT"))[len("RESULT") :])
    assert -6.0 < res["sevennet-l3i5"][0] < -4.0 and -6.0 < res["sevennet-mf-pbe"][0] < -4.0
    assert res["sevennet-mf-r2scan"][0] < res["sevennet-mf-pbe"][0] - 0.8
    for name in names:
        assert np.abs(np.array(res[name][1])).max() < 1e-3


@pytest.mark.slow
def test_chgnet_r2scan_loads_offline_on_the_r2scan_scale():
    """The r2SCAN fine-tune of CHGNet ships in the chgnet wheel: it loads with sockets blocked and predicts
    r2SCAN total energies (LiF about -5.9 eV/atom, against -5.0 for CHGNet 0.3.0's MP2020-corrected PBE)."""
    proc = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, "chgnet-r2scan", "chgnet"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT"))[len("RESULT") :])
    assert -6.5 < res["chgnet-r2scan"][0] < -5.5 and res["chgnet-r2scan"][0] < res["chgnet"][0] - 0.5
    assert np.abs(np.array(res["chgnet-r2scan"][1])).max() < 1e-3


def test_registry_lists_and_explains():
    from dsei.models import check_model, list_models

    names = {i.name: i for i in list_models()}
    assert {"chgnet", "sevennet", "chgnet+d3", "sevennet+d3", "sevennet-l3i5", "sevennet-mf-r2scan", "chgnet-r2scan",
            "chgnet-elastic", "sevennet-l3i5-elastic"} <= set(names)
    assert names["chgnet"].available and names["sevennet"].available and names["chgnet-elastic"].available
    assert names["sevennet-l3i5-elastic"].available
    bad = check_model("no-such-model")
    assert not bad.available and "unknown model" in bad.reason


def test_optional_model_without_local_weights_fails_clearly(monkeypatch):
    from dsei.errors import ModelUnavailableError
    from dsei.models import load_model

    monkeypatch.delenv("DSEI_MACE_MODEL", raising=False)
    with pytest.raises(ModelUnavailableError) as exc:
        load_model("mace")
    assert "\n" not in str(exc.value) and "mace" in str(exc.value)


def test_user_factory_calculator(lif):
    """Any ASE calculator through module:factory (here ASE's EMT on Cu)."""
    from ase.build import bulk

    from dsei.models import load_model

    m = load_model("ase.calculators.emt:EMT")
    ev = m.evaluate([bulk("Cu", "fcc", a=3.6)])[0]
    assert np.isfinite(ev.energy_eV) and ev.forces_eV_per_A.shape == (1, 3)


def test_models_cli_json(run_cli):
    code, out, _ = run_cli("models", "--json", "-")
    assert code == 0
    data = json.loads(out)
    assert data["schema_version"] and data["default"] == "sevennet"
    assert any(m["name"] == "chgnet" and m["available"] for m in data["models"])
    import torch

    assert data["device"] == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize(("name", "base_name", "licence"), [("chgnet-elastic", "chgnet", "LICENSE-CHGNet.txt"),
                                                             ("sevennet-l3i5-elastic", "sevennet-l3i5", "LICENSE-SevenNet.txt")])
def test_elastic_fine_tune_ships_and_remembers_its_base(lif, name, base_name, licence):
    """The fine-tunes of scripts/finetune_elastic.py load from dsei's own package data, their training moved the
    strain response, and the replay kept the rest of the base: on LiF (not in their training sets) energies within
    20 meV/atom and forces of a rattled cell within 0.05 eV/Å (RMS) of the base model. (For SevenNet this also
    checks the saved checkpoint: a wrong version tag makes sevenn re-patch the weights, off by ~0.1 eV/atom.)"""
    from pymatgen.io.ase import AseAtomsAdaptor

    from dsei.models import load_model
    from dsei.models.registry import WEIGHTS_DIR

    assert (WEIGHTS_DIR / licence).is_file()
    a = AseAtomsAdaptor.get_atoms(lif)
    rattled = a.copy()
    rattled.rattle(0.05, seed=1)
    strained = a.copy()
    strained.set_cell(a.cell[:] * 1.01, scale_atoms=True)
    base, ft = load_model(base_name).evaluate([a, rattled, strained]), load_model(name).evaluate([a, rattled, strained])
    n = len(a)
    for b, f in zip(base, ft, strict=True):
        assert abs(b.energy_eV - f.energy_eV) / n < 0.02
    assert np.sqrt(np.mean((base[1].forces_eV_per_A - ft[1].forces_eV_per_A) ** 2)) < 0.05
    assert np.abs(base[2].stress_eV_per_A3 - ft[2].stress_eV_per_A3).max() * 160.2 > 1e-3  # GPa: it did change
