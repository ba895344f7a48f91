"""Validation before any model runs. Each failure is one :class:`InputError` line naming the file.

Checks: partial occupancy / disorder (suggest ordering), overlapping atoms (< 0.5 Å), elements the chosen
model does not cover, more sites than a cap, not 3D-periodic (or a degenerate cell).
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

from dsei.errors import InputError

#: Default cap on sites per cell (configurable): larger cells are slow on a CPU laptop.
DEFAULT_MAX_SITES = 200
#: Two atoms closer than this (Å) are overlapping: no real crystal has bonds this short.
MIN_DISTANCE_A = 0.5


def check_periodic(pbc, cell, source) -> None:
    pbc = np.asarray(pbc, dtype=bool).reshape(-1)
    if pbc.size != 3 or not pbc.all():
        raise InputError(source, f"not 3D-periodic (pbc={pbc.tolist()}); dsei needs a bulk crystal with a full 3D cell")
    vol = abs(float(np.linalg.det(np.asarray(cell, dtype=float))))
    if vol < 1.0:
        raise InputError(source, f"degenerate cell (volume {vol:.3g} Å^3); not 3D-periodic")


def validate_structure(
    struct: Structure,
    source: str | None = None,
    model=None,
    max_sites: int | None = DEFAULT_MAX_SITES,
    min_distance_A: float = MIN_DISTANCE_A,
) -> Structure:
    """Return ``struct`` if usable, else raise :class:`InputError` with one line naming ``source``.

    ``model`` is a :class:`dsei.models.Model` or a model name; its element coverage is checked without
    loading weights where possible.
    """
    source = source or (struct.properties or {}).get("source", struct.composition.reduced_formula)
    if len(struct) == 0:
        raise InputError(source, "structure has no atoms")
    check_periodic([True, True, True], struct.lattice.matrix, source)
    if not struct.is_ordered:
        bad = next(s for s in struct if not s.is_ordered)
        raise InputError(
            source,
            f"partial occupancy/disorder at site {bad.species_string} {np.round(bad.frac_coords, 3).tolist()}: "
            "order it first (e.g. pymatgen OrderDisorderedStructureTransformation or a supercell enumeration)",
        )
    if any(getattr(sp, "symbol", None) in (None, "X") or sp.Z == 0 for sp in struct.composition.elements):
        raise InputError(source, "contains dummy species; give real elements")
    if max_sites is not None and len(struct) > max_sites:
        raise InputError(source, f"{len(struct)} sites is more than the cap of {max_sites} (raise it with --max-sites)")
    dmin = _min_distance(struct, min_distance_A)
    if dmin < min_distance_A:
        raise InputError(source, f"overlapping atoms: two atoms are {dmin:.3f} Å apart (< {min_distance_A} Å)")
    if model is not None:
        missing = _missing_elements(model, {el.symbol for el in struct.composition.elements})
        if missing:
            name = model if isinstance(model, str) else getattr(model, "name", str(model))
            raise InputError(source, f"model {name} does not cover element(s) {', '.join(sorted(missing))}")
    return struct


def _min_distance(struct: Structure, r: float) -> float:
    """Shortest interatomic distance below ``r`` (Å), periodic images included; ``inf`` if none."""
    centers, neighbors, images, dists = struct.get_neighbor_list(r=max(r, 1e-3), exclude_self=False)
    is_self = (centers == neighbors) & np.all(images == 0, axis=1)
    dists = dists[~is_self]
    return float(dists.min()) if len(dists) else float("inf")


def _missing_elements(model, symbols: set[str]) -> set[str]:
    if isinstance(model, str):
        from dsei.models.registry import model_elements

        elements = model_elements(model)
        return set() if elements is None else symbols - set(elements)
    return model.missing_elements(symbols)
