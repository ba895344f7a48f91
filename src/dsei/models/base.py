"""Loaded models: an ASE calculator plus a batched evaluation that uses each model's own batching.

Every later stage (elastic strain sets, NEB images, screening) gets its speed from
:meth:`Model.evaluate`: many structures → one (or a few) batched forward passes instead of one pass per
structure. Units everywhere: energy eV (total, per cell), forces eV/Å, stress eV/Å³ in ASE's convention
(Voigt order xx, yy, zz, yz, xz, xy; positive = tensile).
"""

from __future__ import annotations

import abc
import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dsei._warnings import quiet

#: Atoms per batched forward pass. On CPU, message-passing cost per atom grows once a batch outgrows the
#: caches: measured (benchmarks/batch_speed.py) SevenNet-0 is fastest at ~64 atoms a pass and CHGNet at
#: ~128; larger batches get slower per atom. On a GPU, big batches pay off: on an H100 (benchmarks/gpu_check.py,
#: docs/benchmarks.md "Models on a GPU") SevenNet-l3i5 runs 3,160 atoms/s at 250 atoms a pass, 7,150 at 2,000
#: and 7,380 at 4,000 (peak 31 GiB), 6,590 at 8,000 (62 GiB); 16,000 does not fit in 80 GB. A batch that
#: does not fit a smaller card is split, not fatal (:meth:`Model.evaluate`).
CPU_ATOMS_PER_BATCH = {"chgnet": 128, "chgnet-r2scan": 128, "sevennet": 64}  # any other model: 64
GPU_ATOMS_PER_BATCH = 4000


def _free_device_memory() -> None:
    """Return cached CUDA blocks after an out-of-memory error (no-op without CUDA)."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass
class Evaluation:
    """Energy, forces and stress of one structure."""

    energy_eV: float
    forces_eV_per_A: np.ndarray
    stress_eV_per_A3: np.ndarray  # Voigt (6,), ASE order and sign

    @property
    def natoms(self) -> int:
        return len(self.forces_eV_per_A)

    @property
    def energy_per_atom_eV(self) -> float:
        return self.energy_eV / self.natoms

    @property
    def stress_GPa(self) -> np.ndarray:
        return self.stress_eV_per_A3 / units.GPa


def to_atoms(struct: Structure | Atoms) -> Atoms:
    return struct.copy() if isinstance(struct, Atoms) else AseAtomsAdaptor.get_atoms(struct)


def chunks_by_atoms(sizes: Sequence[int], max_atoms: int) -> list[list[int]]:
    """Split indices into consecutive groups whose atom counts stay below ``max_atoms``."""
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, n in enumerate(sizes):
        if current and total + n > max_atoms:
            groups.append(current)
            current, total = [], 0
        current.append(i)
        total += n
    if current:
        groups.append(current)
    return groups


class Model(abc.ABC):
    """A loaded MLIP. Subclasses implement :meth:`calculator` and :meth:`_evaluate_batch`."""

    name: str = ""
    device: str = "cpu"
    #: Element symbols the model was trained on (None = unknown, no check).
    elements: frozenset[str] | None = None

    @abc.abstractmethod
    def calculator(self):
        """A fresh ASE calculator that shares this model's weights (one per Atoms object)."""

    #: Cap on the default batch (atoms) after an out-of-memory split: the larger half of the pass that did not fit.
    _fits_atoms: int | None = None

    def batch_atoms(self) -> int:
        """Default atoms per forward pass for this model on its device (lowered after a batch ran out of memory)."""
        if self.device.startswith("cuda"):
            default = GPU_ATOMS_PER_BATCH
        else:
            default = CPU_ATOMS_PER_BATCH.get(self.name.removesuffix("+d3"), 64)
        return min(default, self._fits_atoms) if self._fits_atoms else default

    def evaluate(self, structures: Sequence[Structure | Atoms], max_atoms_per_batch: int | None = None) -> list[Evaluation]:
        """Energies, forces and stresses of many structures in batched forward passes.

        Structures are grouped, in order, into passes of at most ``max_atoms_per_batch`` atoms (default:
        :meth:`batch_atoms`); a structure larger than that gets a pass of its own. A pass that runs out of
        device memory is split in halves (the model's default batch is lowered to what fit), so a card
        smaller than the default assumes costs passes, not the run; one structure too large alone still fails.
        """
        max_atoms_per_batch = max_atoms_per_batch or self.batch_atoms()
        atoms = [to_atoms(s) for s in structures]
        out: list[Evaluation] = [None] * len(atoms)  # type: ignore[list-item]
        for group in chunks_by_atoms([len(a) for a in atoms], max_atoms_per_batch):
            for i, ev in zip(group, self._evaluate_fitting([atoms[i] for i in group]), strict=True):
                out[i] = ev
        return out

    def _evaluate_fitting(self, atoms: list[Atoms]) -> list[Evaluation]:
        """:meth:`_evaluate_batch`, halving the batch while the device is out of memory."""
        import torch

        try:
            return self._evaluate_batch(atoms)
        except torch.cuda.OutOfMemoryError:  # = torch.OutOfMemoryError from torch 2.5; this name works from 1.13
            if len(atoms) == 1:
                raise
        _free_device_memory()
        half = len(atoms) // 2
        first, second = atoms[:half], atoms[half:]
        larger = max(sum(map(len, first)), sum(map(len, second)))
        self._fits_atoms = min(self._fits_atoms or larger, larger)
        return self._evaluate_fitting(first) + self._evaluate_fitting(second)

    def evaluate_one_by_one(self, structures: Sequence[Structure | Atoms]) -> list[Evaluation]:
        """Reference path: one ASE calculator call per structure (what most tools do)."""
        calc = self.calculator()
        out = []
        for s in structures:
            a = to_atoms(s)
            a.calc = calc
            out.append(
                Evaluation(float(a.get_potential_energy()), np.array(a.get_forces()), np.array(a.get_stress(voigt=True)))
            )
        return out

    def _evaluate_batch(self, atoms: list[Atoms]) -> list[Evaluation]:
        return self.evaluate_one_by_one(atoms)

    def missing_elements(self, symbols: set[str]) -> set[str]:
        if self.elements is None:
            return set()
        return set(symbols) - set(self.elements)

    def __repr__(self) -> str:
        return f"<dsei model {self.name} on {self.device}>"


class CHGNetModel(Model):
    """CHGNet (0.3.0, the r2SCAN fine-tune shipped beside it, or dsei's own fine-tunes); one batched forward and
    backward pass."""

    def __init__(self, device: str = "cpu", model_name: str = "0.3.0", name: str = "chgnet", path=None):
        """``path``: a ``{"model": CHGNet.as_dict()}`` file (dsei's own fine-tunes) instead of ``model_name``."""
        import contextlib
        import io

        from chgnet.model import CHGNet

        with contextlib.redirect_stdout(io.StringIO()):
            if path is None:
                self.model = CHGNet.load(model_name=model_name, use_device=device, verbose=False)
            else:
                self.model = CHGNet.from_file(str(path)).to(device)
                self.model.eval()
        self.name = name
        self.device = device
        self.version = f"CHGNet {self.model.version}" + (f" ({Path(path).name})" if path is not None else "")
        from pymatgen.core.periodic_table import Element

        self.elements = frozenset(Element.from_Z(z).symbol for z in range(1, 95))
        self._lock = threading.Lock()

    def calculator(self):
        import contextlib
        import io

        from chgnet.model.dynamics import CHGNetCalculator

        with contextlib.redirect_stdout(io.StringIO()):  # CHGNetCalculator prints its device
            return CHGNetCalculator(model=self.model, use_device=self.device)

    def _evaluate_batch(self, atoms: list[Atoms]) -> list[Evaluation]:
        """One batched forward pass and ONE backward pass for forces and stresses together.

        ``CHGNet.predict_structure`` on a list batches the forward pass, but computes forces and stresses
        with two separate ``autograd.grad`` calls with ``create_graph=True`` (kept for training); on CPU
        its batched path measured slower than a loop (benchmarks/batch_speed.py). Here we reuse CHGNet's
        own ``BatchedGraph`` and ``_compute`` and take both gradients in one call without a graph: the
        same numbers (tested to 1e-5 eV/atom) at a fraction of the cost.
        """
        import warnings

        import torch
        from chgnet.model.model import BatchedGraph

        m = self.model
        # built directly (not through AseAtomsAdaptor) so that ASE constraints such as FixSymmetry on
        # the caller's Atoms neither travel nor trigger pymatgen's "only FixAtoms..." warning per call
        structs = [Structure(a.cell.array, a.get_chemical_symbols(), a.positions, coords_are_cartesian=True) for a in atoms]
        with self._lock:
            graphs = [m.graph_converter(s).to(self.device) for s in structs]
            with warnings.catch_warnings():  # CHGNet's own torch.tensor(list of 0-d tensors): harmless, once per call
                warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad", category=UserWarning)
                g = BatchedGraph.from_graphs(
                    graphs, bond_basis_expansion=m.bond_basis_expansion, angle_basis_expansion=m.angle_basis_expansion, compute_stress=True
                )
            comp = m.composition_model(graphs) if m.composition_model is not None else 0.0
            pred = m._compute(g, compute_force=False, compute_stress=False)
            natoms = pred["atoms_per_graph"].to(pred["e"].dtype)
            # ``e`` is per atom when the model is intensive; the total energy drives forces and stresses.
            total = pred["e"] * natoms if m.is_intensive else pred["e"]
            n = len(graphs)
            grads = torch.autograd.grad(total.sum(), list(g.atom_positions) + list(g.strains))
            energy_pa = (pred["e"] + comp).detach()  # both per atom (intensive model)
            if not m.is_intensive:
                energy_pa = energy_pa / natoms
        out = []
        for i in range(n):
            nat = len(structs[i])
            vol = float(g.volumes[i])
            s3 = grads[n + i].detach().cpu().numpy().astype(float) / vol  # eV/Å^3, tensile positive
            voigt = np.array([s3[0, 0], s3[1, 1], s3[2, 2], s3[1, 2], s3[0, 2], s3[0, 1]])
            forces = -grads[i].detach().cpu().numpy().astype(float)
            out.append(Evaluation(float(energy_pa[i]) * nat, forces, voigt))
        return out


class SevenNetModel(Model):
    """A SevenNet checkpoint shipped in the sevenn wheel; batching through torch_geometric ``Batch``.

    ``checkpoint`` is SevenNet's pretrained name (``7net-0``, ``7net-l3i5``, ``7net-mf-0``); ``modal`` picks the
    fidelity of a multi-fidelity checkpoint (``PBE`` or ``R2SCAN`` for ``7net-mf-0``).
    """

    def __init__(self, device: str = "cpu", checkpoint: str = "7net-0", modal: str | None = None, name: str = "sevennet"):

        from sevenn.calculator import SevenNetCalculator

        with quiet():
            self._calc = SevenNetCalculator(checkpoint, device=device, **({"modal": modal} if modal else {}))
        self.model = self._calc.model  # batch mode off: used by ASE calculators
        # A second instance in batch mode for ``evaluate``: SevenNet switches batch mode in place
        # (``set_is_batch_data``), so sharing one instance between the two paths would race under threads.
        self._batch_model = copy.deepcopy(self.model)
        self._batch_model.set_is_batch_data(True)
        self.cutoff = float(self._calc.cutoff)
        self.name = name
        self.modal = modal
        self.device = device
        self.version = SEVENNET_VERSIONS.get(Path(checkpoint).name, checkpoint) + (f" [{modal}]" if modal else "")
        self.elements = frozenset(_symbols(self._calc.type_map))
        self._lock = threading.Lock()

    def calculator(self):

        from sevenn.calculator import SevenNetCalculator

        with quiet():
            kw = {"modal": self.modal} if self.modal else {}
            return SevenNetCalculator(self.model, file_type="model_instance", device=self.device, **kw)

    def _evaluate_batch(self, atoms: list[Atoms]) -> list[Evaluation]:
        import sevenn._keys as KEY
        from sevenn.atom_graph_data import AtomGraphData
        from sevenn.train.dataload import unlabeled_atoms_to_graph
        from sevenn.util import to_atom_graph_list
        from torch_geometric.data import Batch

        for a in atoms:
            self._calc.set_atoms(a)  # element check with SevenNet's own message
        graphs = [AtomGraphData.from_numpy_dict(unlabeled_atoms_to_graph(a, self.cutoff, with_shift=False)) for a in atoms]
        if self.modal:
            for g in graphs:
                g[KEY.DATA_MODALITY] = self.modal
        batch = Batch.from_data_list(graphs).to(self.device)
        with self._lock:
            output = self._batch_model(batch)
        out = []
        for a, g in zip(atoms, to_atom_graph_list(output.detach().cpu()), strict=True):
            n = len(a)
            # SevenNet's stress is -σ in order xx yy zz xy yz zx (see SevenNetCalculator.output_to_results).
            s = -g[KEY.PRED_STRESS].detach().numpy().reshape(-1)[[0, 1, 2, 4, 5, 3]]
            out.append(
                Evaluation(float(g[KEY.PRED_TOTAL_ENERGY]), g[KEY.PRED_FORCE].detach().numpy()[:n].astype(float), s.astype(float))
            )
        return out


SEVENNET_VERSIONS = {
    "sevennet_l3i5_elastic.pth": "SevenNet-l3i5, dsei elastic fine-tune",
    "7net-0": "SevenNet-0 (11Jul2024)",
    "7net-l3i5": "SevenNet-l3i5",
    "7net-mf-0": "SevenNet-MF-0",
}


def _symbols(type_map) -> list[str]:
    from ase.data import chemical_symbols

    return [chemical_symbols[int(z)] for z in type_map]


class D3Model(Model):
    """An MLIP summed with DFT-D3(BJ) dispersion from torch-dftd (PBE parameters).

    Batched: the MLIP part through the base model's batching; the D3 part per structure.
    """

    def __init__(self, base: Model, device: str = "cpu"):
        self.base = base
        self.name = f"{base.name}+d3"
        self.device = device
        self.elements = base.elements
        self.version = f"{getattr(base, 'version', base.name)} + DFT-D3(BJ)"

    def _d3(self):
        from dsei.extras import require

        TorchDFTD3Calculator = require(
            "torch_dftd.torch_dftd3_calculator", "d3", "model", f"model {self.name}"
        ).TorchDFTD3Calculator
        return TorchDFTD3Calculator(device=self.device, xc="pbe", damping="bj")

    def calculator(self):
        from ase.calculators.mixing import SumCalculator

        return SumCalculator([self.base.calculator(), self._d3()])

    def _evaluate_batch(self, atoms: list[Atoms]) -> list[Evaluation]:
        mlip = self.base._evaluate_batch(atoms)
        # D3 one structure at a time: torch-dftd's batch_calculate measured slower than its loop on CPU.
        d3 = self._d3()
        out = []
        for a, ev in zip(atoms, mlip, strict=True):
            a = a.copy()
            a.calc = d3
            out.append(
                Evaluation(
                    ev.energy_eV + float(a.get_potential_energy()),
                    ev.forces_eV_per_A + np.asarray(a.get_forces(), dtype=float),
                    ev.stress_eV_per_A3 + np.asarray(a.get_stress(voigt=True), dtype=float),
                )
            )
        return out


class CalculatorModel(Model):
    """Any ASE calculator (user factory, MACE, MatterSim, ORB): evaluated one structure at a time."""

    def __init__(self, name: str, calc):
        self.name = name
        self._calc = calc
        self.device = str(getattr(calc, "device", "cpu"))
        self.version = type(calc).__name__

    def calculator(self):
        return self._calc
