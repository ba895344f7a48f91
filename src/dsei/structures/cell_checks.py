"""Check 1 of :mod:`dsei.structures.validate` — a usable cell — on its own, so that the readers in
:mod:`dsei.structures.io` can check a cell while parsing it (before pymatgen sees it) without importing
:mod:`~dsei.structures.validate`, which imports the readers for ``prepare``: imports go one way.

Cell lengths finite, positive and below :data:`MAX_CELL_LENGTH_A`; angles finite and strictly between 0° and
180°; volume above 1 Å³ (not flat). Each failure is one :class:`~dsei.errors.InputError` line naming the file.
"""

from __future__ import annotations

import math

import numpy as np

from dsei.errors import InputError

#: Longest cell edge accepted (Å). With at most a few hundred sites no crystal cell is anywhere near this long;
#: beyond it coordinates lose precision and neighbour searches overflow (a CIF with ``_cell_length_a 1e300``).
MAX_CELL_LENGTH_A = 1.0e4


def check_periodic(pbc, cell, source) -> None:
    """3D periodic boundary conditions and a finite, non-degenerate cell (ASE ``pbc``/``cell``)."""
    pbc = np.asarray(pbc, dtype=bool).reshape(-1)
    if pbc.size != 3 or not pbc.all():
        raise InputError(source, f"not 3D-periodic (pbc={pbc.tolist()}); dsei needs a bulk crystal with a full 3D cell")
    check_cell_matrix(cell, source)


def check_cell_parameters(lengths, angles, source) -> None:
    """Cell lengths (Å) finite, positive, below :data:`MAX_CELL_LENGTH_A`; angles (°) finite, in (0, 180); and a
    3D cell (the angles must not put the three edges in one plane)."""
    for name, v in zip("abc", lengths, strict=True):
        v = float(v)
        if not math.isfinite(v) or v <= 0:
            raise InputError(source, f"cell length {name} = {_num(v)} Å is not a finite positive number")
        if v > MAX_CELL_LENGTH_A:
            raise InputError(source, f"cell length {name} = {_num(v)} Å is not a usable cell length (over {MAX_CELL_LENGTH_A:.0f} Å)")
    for name, v in zip(("alpha", "beta", "gamma"), angles, strict=True):
        v = float(v)
        if not math.isfinite(v) or not 0 < v < 180:
            raise InputError(source, f"cell angle {name} = {_num(v)}° is not strictly between 0° and 180°")
    ca, cb, cg = (math.cos(math.radians(float(x))) for x in angles)
    radicand = 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg
    vol = float(np.prod([float(x) for x in lengths])) * math.sqrt(max(radicand, 0.0))
    if radicand <= 1e-8 or vol < 1.0:
        a, b, g = (float(x) for x in angles)
        raise InputError(source, f"degenerate cell: angles {a:g}°, {b:g}°, {g:g}° and the lengths give volume {vol:.3g} Å^3 (not a 3D cell)")


def check_cell_matrix(cell, source) -> None:
    """A 3×3 cell matrix (rows = lattice vectors, Å): finite entries, then :func:`check_cell_parameters`."""
    m = np.asarray(cell, dtype=float)
    if m.shape != (3, 3):
        raise InputError(source, f"cell is not 3×3 (shape {m.shape})")
    bad = ~np.isfinite(m)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise InputError(source, f"cell vector {'abc'[i]} = {_vec(m[i])} Å is not finite")
    for i, name in enumerate("abc"):
        if np.abs(m[i]).max() > MAX_CELL_LENGTH_A:
            raise InputError(source, f"cell vector {name} = {_vec(m[i])} Å is not a usable cell vector (over {MAX_CELL_LENGTH_A:.0f} Å)")
    lengths = np.linalg.norm(m, axis=1)
    for name, v in zip("abc", lengths, strict=True):
        if v <= 1e-8:
            raise InputError(source, f"cell length {name} = {_num(float(v))} Å is not a finite positive number")
    with np.errstate(all="ignore"):
        angles = [
            math.degrees(math.acos(float(np.clip(np.dot(m[j], m[k]) / (lengths[j] * lengths[k]), -1.0, 1.0))))
            for j, k in ((1, 2), (0, 2), (0, 1))
        ]
    check_cell_parameters(lengths, angles, source)
    vol = abs(float(np.linalg.det(m)))
    if not math.isfinite(vol) or vol < 1.0:
        raise InputError(source, f"degenerate cell (volume {vol:.3g} Å^3); not 3D-periodic")


def _num(v: float) -> str:
    return "nan" if math.isnan(v) else ("inf" if v == math.inf else ("-inf" if v == -math.inf else f"{v:g}"))


def _vec(v) -> str:
    return "[" + ", ".join(_num(float(x)) for x in v) + "]"
