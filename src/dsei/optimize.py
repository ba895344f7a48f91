"""Batched relaxation: many structures relaxed together, one batched forward pass per optimizer step.

The one optimiser loop under :func:`dsei.relax.relax_many`, the elastic and ion-clamped strain relaxations
(:mod:`dsei.mechanics`), the NEB end points (:mod:`dsei.transport.neb`) and the interstitial-site search
(:mod:`dsei.transport.sites`, which adds energy pruning and a finite-force check).

Each system keeps its own ASE optimizer (``BFGS`` by default, or ``FIRE``) and its own state; what is
shared is the model call: at every step the
positions (and cells) of all systems that have not converged go through :meth:`dsei.models.Model.evaluate`
together. Cell relaxation uses ASE's ``FrechetCellFilter`` and symmetry is kept with ``FixSymmetry``, exactly
as in :func:`dsei.relax.relax`; the model results are handed to ASE through a ``SinglePointCalculator``, so
the constraints and the filter's generalised forces are ASE's own.

A system whose largest (generalised) force is below ``fmax`` at the start costs one evaluation and no steps
— e.g. a strained rock-salt cell, where every atom sits on an inversion centre and forces vanish by symmetry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from dsei._warnings import quiet
from dsei.errors import CalculationError
from dsei.models.base import Evaluation, Model


@dataclass
class BatchRelaxInfo:
    """Outcome for one system: converged?, steps taken, final max force (eV/Å) and the final evaluation."""

    converged: bool
    steps: int
    max_force_eV_per_A: float
    evaluation: Evaluation
    initial_evaluation: Evaluation | None = None
    pruned: bool = False


def batched_relax(
    atoms_list: list[Atoms],
    model: Model,
    *,
    fmax: float = 0.005,
    steps: int = 300,
    optimizer: str = "BFGS",
    relax_cell: bool = False,
    fix_symmetry: bool = False,
    symprec: float = 1e-3,
    prune_eV: float | None = None,
    prune_after: int = 40,
    finite_check: str | None = None,
) -> list[BatchRelaxInfo]:
    """Relax every Atoms in ``atoms_list`` **in place** (ASE ``optimizer``), batching the model calls.

    ``relax_cell``: cell and positions (``FrechetCellFilter``); else positions only. ``fix_symmetry``:
    keep each input's space group (``FixSymmetry`` at ``symprec``). On return the atoms carry no
    constraint and no calculator.

    ``prune_eV``: after ``prune_after`` steps, systems whose last energy is more than ``prune_eV`` above the
    lowest energy so far stop relaxing (``pruned``, not converged; used when only low-energy minima matter).
    ``finite_check``: if given, a non-finite energy or force raises :class:`~dsei.errors.CalculationError`
    ("<formula>: non-finite forces while <finite_check>").
    """
    from ase.optimize import BFGS, FIRE

    opt_cls = {"BFGS": BFGS, "FIRE": FIRE}[optimizer.upper()]
    targets = _targets(atoms_list, relax_cell, fix_symmetry, symprec)
    opts = [opt_cls(t, logfile=None) for t in targets]
    info: list[BatchRelaxInfo | None] = [None] * len(atoms_list)
    first: list[Evaluation | None] = [None] * len(atoms_list)
    last: list[Evaluation | None] = [None] * len(atoms_list)
    active = list(range(len(atoms_list)))
    step = 0
    while active:
        if prune_eV is not None and step == prune_after:
            active = _prune(active, step, prune_eV, info, first, last)
            if not active:
                break
        evs = model.evaluate([atoms_list[i] for i in active])
        still = []
        for i, ev in zip(active, evs, strict=True):
            atoms = atoms_list[i]
            if finite_check is not None and not (np.isfinite(ev.energy_eV) and np.all(np.isfinite(ev.forces_eV_per_A))):
                raise CalculationError(f"{atoms.get_chemical_formula()}: non-finite forces while {finite_check}")
            if first[i] is None:
                first[i] = ev
            last[i] = ev
            atoms.calc = SinglePointCalculator(
                atoms, energy=ev.energy_eV, forces=ev.forces_eV_per_A.copy(), stress=ev.stress_eV_per_A3.copy()
            )
            fm = _max_force(targets[i])
            if fm < fmax or step >= steps:
                info[i] = BatchRelaxInfo(fm < fmax, step, fm, ev, first[i])
                continue
            with quiet():
                opts[i].step()  # reads the forces just attached; moves positions (and cell)
            still.append(i)
        active = still
        step += 1
    for atoms in atoms_list:
        atoms.set_constraint()
        atoms.calc = None
    return info  # type: ignore[return-value]


def _targets(atoms_list: list[Atoms], relax_cell: bool, fix_symmetry: bool, symprec: float) -> list:
    """What each optimiser moves: the atoms (with ``FixSymmetry`` where asked), wrapped in ``FrechetCellFilter``
    when the cell relaxes too."""
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter

    targets = []
    for atoms in atoms_list:
        if fix_symmetry:
            with quiet():
                atoms.set_constraint(FixSymmetry(atoms, symprec=symprec))
        targets.append(FrechetCellFilter(atoms) if relax_cell else atoms)
    return targets


def _prune(active: list[int], step: int, prune_eV: float, info: list, first: list, last: list) -> list[int]:
    """Stop (``pruned``, in ``info``) the active systems more than ``prune_eV`` above the lowest energy so far;
    returns those still active."""
    e_low = min(ev.energy_eV for ev in last if ev is not None)
    for i in active:
        if last[i].energy_eV > e_low + prune_eV:
            ev = last[i]
            fm = float(np.linalg.norm(ev.forces_eV_per_A, axis=1).max())
            info[i] = BatchRelaxInfo(False, step, fm, ev, first[i], pruned=True)
    return [i for i in active if info[i] is None]


def _max_force(target) -> float:
    """Largest per-atom (generalised) force of an Atoms or cell filter with a calculator attached (eV/Å)."""
    f = np.asarray(target.get_forces(), dtype=float)
    return float(np.sqrt((f**2).sum(axis=1)).max()) if len(f) else 0.0
