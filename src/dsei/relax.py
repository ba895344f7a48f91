"""Symmetry-preserving relaxation of cell and positions.

ASE ``FrechetCellFilter`` (cell + positions, log-strain parametrisation) with ``FixSymmetry`` (the space
group of the input, found by spglib, is kept; on by default), optimised with FIRE or BFGS. Convergence is
reported honestly: ``converged`` is true only if the largest force *and* stress component (in the filter's
generalised-force sense, eV/Å) fell below ``fmax`` within ``steps``.

BFGS is the default: on the library's small cells it converged in 3–10 steps where FIRE needed 25–50
(measured on LiF, both models); FIRE remains available for rough starting structures.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from ase import Atoms, units
from pydantic import AliasChoices, Field
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dsei._warnings import quiet
from dsei.models import DEFAULT_MODEL, Model, load_model
from dsei.results import Result

OPTIMIZERS = ("FIRE", "BFGS", "LBFGS")


class RelaxResult(Result):
    """JSON: ``{formula, model, energy_per_atom_eV, converged, steps, volume_change_pct, spacegroup_before,
    spacegroup_after, ...}``.

    Schema 1.1: ``volume_A3_per_atom`` became ``volume_per_atom_A3`` (quantity first, unit last); the old name is
    still read."""

    schema_version: str = "1.1"
    source: str | None = None
    formula: str
    model: str
    energy_per_atom_eV: float
    converged: bool
    steps: int
    fmax_eV_per_A: float
    max_force_eV_per_A: float
    max_stress_GPa: float
    volume_change_pct: float
    volume_per_atom_A3: float = Field(validation_alias=AliasChoices("volume_per_atom_A3", "volume_A3_per_atom"))
    spacegroup_before: str
    spacegroup_after: str
    fix_symmetry: bool
    optimizer: str
    lattice_abc_A: list[float]
    lattice_angles_deg: list[float]


@dataclass
class Relaxed:
    """The relaxed structure and its :class:`RelaxResult`."""

    structure: Structure
    result: RelaxResult


def spacegroup(struct: Structure | Atoms, symprec: float = 1e-3) -> tuple[str, int]:
    """(international symbol, number) from spglib via pymatgen."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    s = struct if isinstance(struct, Structure) else AseAtomsAdaptor.get_structure(struct)
    try:
        sga = SpacegroupAnalyzer(s, symprec=symprec)
        return sga.get_space_group_symbol(), sga.get_space_group_number()
    except Exception:  # noqa: BLE001 - spglib can fail on odd cells; report P1 rather than crash
        return "P1", 1


def relax(
    structure: Structure | Atoms,
    model: str | Model = DEFAULT_MODEL,
    fmax: float = 0.01,
    steps: int = 500,
    optimizer: str = "BFGS",
    fix_symmetry: bool = True,
    relax_cell: bool = True,
    symprec: float = 1e-3,
    source: str | None = None,
) -> Relaxed:
    """Relax ``structure`` with ``model``; return the relaxed structure and a :class:`RelaxResult`.

    ``fmax`` (eV/Å) applies to forces and, through ``FrechetCellFilter``, to the stress times the cell
    volume per atom. ``steps`` caps optimizer steps. ``fix_symmetry`` keeps the input space group
    (spglib tolerance ``symprec``, Å).
    """
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE, LBFGS

    m = model if isinstance(model, Model) else load_model(model)
    opt_name = optimizer.upper()
    if opt_name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {optimizer!r}")
    struct = structure if isinstance(structure, Structure) else AseAtomsAdaptor.get_structure(structure)
    source = source or (struct.properties or {}).get("source")
    atoms = AseAtomsAdaptor.get_atoms(struct)
    atoms.calc = m.calculator()
    sg_before = spacegroup(struct, symprec)
    v0 = atoms.get_volume()
    if fix_symmetry:
        with quiet():
            atoms.set_constraint(FixSymmetry(atoms, symprec=symprec))
    target = FrechetCellFilter(atoms) if relax_cell else atoms
    opt_cls = {"FIRE": FIRE, "BFGS": BFGS, "LBFGS": LBFGS}[opt_name]
    opt = opt_cls(target, logfile=io.StringIO())
    with quiet():
        converged = bool(opt.run(fmax=fmax, steps=steps))
    n_steps = int(opt.nsteps)
    forces = target.get_forces()
    max_f = float(np.sqrt((forces**2).sum(axis=1)).max()) if len(forces) else 0.0
    stress = atoms.get_stress(voigt=True) / units.GPa
    energy = float(atoms.get_potential_energy())
    atoms.set_constraint()
    atoms.calc = None
    relaxed = AseAtomsAdaptor.get_structure(atoms)
    relaxed.properties = dict(struct.properties or {})
    return _relaxed(relaxed, m.name, source, energy, converged, n_steps, fmax, max_f, stress, v0, sg_before, fix_symmetry, opt_name, symprec)


def _relaxed(relaxed, model_name, source, energy, converged, n_steps, fmax, max_f, stress_GPa, v0, sg_before, fix_symmetry, opt_name, symprec) -> Relaxed:
    """The :class:`Relaxed` of a finished relaxation (shared by :func:`relax` and :func:`relax_many`)."""
    sg_after = spacegroup(relaxed, symprec)
    lat = relaxed.lattice
    result = RelaxResult(
        source=str(source) if source else None,
        formula=relaxed.composition.reduced_formula,
        model=model_name,
        energy_per_atom_eV=energy / len(relaxed),
        converged=converged,
        steps=n_steps,
        fmax_eV_per_A=fmax,
        max_force_eV_per_A=max_f,
        max_stress_GPa=float(np.abs(stress_GPa).max()),
        volume_change_pct=100.0 * (relaxed.volume - v0) / v0,
        volume_per_atom_A3=relaxed.volume / len(relaxed),
        spacegroup_before=f"{sg_before[0]} ({sg_before[1]})",
        spacegroup_after=f"{sg_after[0]} ({sg_after[1]})",
        fix_symmetry=fix_symmetry,
        optimizer=opt_name,
        lattice_abc_A=[float(x) for x in lat.abc],
        lattice_angles_deg=[float(x) for x in lat.angles],
    )
    return Relaxed(relaxed, result)


def primitive_cell(atoms: Atoms, symprec: float) -> Atoms:
    """spglib's standardised primitive cell of ``atoms`` when it has fewer atoms, else ``atoms``."""
    import spglib

    try:
        res = spglib.standardize_cell((atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), to_primitive=True, symprec=symprec)
    except Exception:  # noqa: BLE001 - keep the input cell
        return atoms
    if res is None or len(res[2]) >= len(atoms):
        return atoms
    lat, frac, nums = res
    return Atoms(numbers=nums, scaled_positions=frac, cell=lat, pbc=True, info=dict(atoms.info))


def standard_cell(s: Structure | Atoms, symprec: float = 1e-3, primitive: bool = True) -> Atoms:
    """The cell a property calculation works on: ``s`` as ASE atoms without calculator or constraints,
    symmetrised (ASE ``refine_symmetry``) and, with ``primitive``, reduced to spglib's standardised primitive cell
    (same crystal, fewer atoms: a conventional rock-salt cell of 8 atoms becomes 2). The elastic tensor's
    reference cell (:func:`dsei.mechanics.elastic_tensors`) and ``dsei screen``'s relax stage both start here,
    so the screen's relaxed structure is the one the elastic tensor would have relaxed itself."""
    from ase.spacegroup.symmetrize import refine_symmetry

    a = s.copy() if isinstance(s, Atoms) else AseAtomsAdaptor.get_atoms(s)
    a.calc = None
    a.set_constraint()
    with quiet():
        try:
            refine_symmetry(a, symprec=max(symprec, 1e-5))
        except Exception:  # noqa: BLE001 - spglib cannot symmetrise odd cells: continue unsymmetrised
            pass
    return primitive_cell(a, symprec) if primitive else a


def relax_many(
    structures: list[Structure],
    model: str | Model = DEFAULT_MODEL,
    fmax: float = 0.01,
    steps: int = 500,
    optimizer: str = "BFGS",
    fix_symmetry: bool = True,
    symprec: float = 1e-3,
    sources: list[str | None] | None = None,
    standardize: bool = False,
) -> list[Relaxed]:
    """:func:`relax` for many structures at once: each keeps its own ASE optimizer, filter and symmetry
    constraint, but every step evaluates all unconverged structures in one batched forward pass
    (:func:`dsei.optimize.batched_relax`). Same convergence criterion and result fields as
    :func:`relax` (cell and positions relaxed). ``standardize``: relax :func:`standard_cell` of each structure
    (symmetrised, primitive) instead of the cell as given; ``spacegroup_before`` is still the input's."""
    from dsei.optimize import batched_relax

    m = model if isinstance(model, Model) else load_model(model)
    opt_name = optimizer.upper()
    if opt_name not in ("FIRE", "BFGS"):
        raise ValueError(f"optimizer must be FIRE or BFGS for batched relaxation, not {optimizer!r}")
    sources = sources or [None] * len(structures)
    atoms_list = [standard_cell(s, symprec) if standardize else AseAtomsAdaptor.get_atoms(s) for s in structures]
    v0 = [a.get_volume() for a in atoms_list]
    sg_before = [spacegroup(s, symprec) for s in structures]
    infos = batched_relax(
        atoms_list, m, fmax=fmax, steps=steps, optimizer=opt_name, relax_cell=True, fix_symmetry=fix_symmetry, symprec=symprec
    )
    out = []
    for struct, atoms, info, v, sgb, src in zip(structures, atoms_list, infos, v0, sg_before, sources, strict=True):
        relaxed = AseAtomsAdaptor.get_structure(atoms)
        relaxed.properties = dict(struct.properties or {})
        source = src or (struct.properties or {}).get("source")
        stress = np.asarray(info.evaluation.stress_eV_per_A3) / units.GPa
        out.append(_relaxed(relaxed, m.name, source, float(info.evaluation.energy_eV), bool(info.converged), int(info.steps), fmax,
                            float(info.max_force_eV_per_A), stress, v, sgb, fix_symmetry, opt_name, symprec))
    return out

