"""Symmetry-reduced strain sets for finite-strain elastic constants.

The crystal's Laue class (from its spglib space-group number) fixes how many independent elastic
constants there are (cubic 3, hexagonal 5, trigonal 6–7, tetragonal 6–7, orthorhombic 9, monoclinic 13,
triclinic 21) and hence how many strain *states* must be applied: each state is a general (all six
components non-zero) strain that yields six stress equations, so ⌈n/6⌉ states suffice in principle; we
use the universal linear-independent coupling strains (ULICS) of Yu et al., Comput. Phys. Commun. 181,
671 (2010), with one or two spare states for the higher symmetries so that the least-squares fit is
over-determined (cubic 1, hexagonal/trigonal/tetragonal 2, orthorhombic 3, monoclinic 5, triclinic 6).

Every state is applied at several magnitudes (default ±0.25 % and ±0.5 %), so the stress–strain relation
is fitted by least squares and the even-order (non-linear) terms cancel between +δ and −δ. The Materials
Project workflow (de Jong et al., Sci. Data 2, 150009 (2015)) uses ±0.5 % and ±1 % because DFT stresses are
noisy; an MLIP's stresses are deterministic and smooth, and at 1 % the odd-order terms that ± pairs do not
cancel matter: SevenNet-0 gives L1_0 MnPt C11 = 216 GPa from ±0.25 % or ±0.5 % pure strains but 197 GPa from
±1 %, enough to turn C11 − C12 negative and the tensor ``unstable`` (docs/mechanics.md, "Unstable results").

Voigt conventions used throughout ``dsei.mechanics``: order xx, yy, zz, yz, xz, xy; strain vectors hold
*engineering* shear strains (γ_yz = 2 ε_yz, ...), so that σ_I = Σ_J C_IJ e_J with C in the usual
Voigt form.
"""

from __future__ import annotations

import numpy as np

#: Laue classes in the order of the space-group numbers that start them.
LAUE_CLASSES = ("-1", "2/m", "mmm", "4/m", "4/mmm", "-3", "-3m", "6/m", "6/mmm", "m-3", "m-3m")
_LAUE_START = (1, 3, 16, 75, 89, 143, 149, 168, 177, 195, 207)

#: Independent second-order elastic constants per Laue class (Nye, Physical Properties of Crystals, 1957).
N_INDEPENDENT = {"-1": 21, "2/m": 13, "mmm": 9, "4/m": 7, "4/mmm": 6, "-3": 7, "-3m": 6, "6/m": 5, "6/mmm": 5, "m-3": 3, "m-3m": 3}

#: Strain states applied per Laue class (each gives six stress equations per magnitude).
N_STATES = {"-1": 6, "2/m": 5, "mmm": 3, "4/m": 2, "4/mmm": 2, "-3": 2, "-3m": 2, "6/m": 2, "6/mmm": 2, "m-3": 1, "m-3m": 1}

#: The six ULICS vectors of Yu et al. (2010), Voigt order (e1..e6, e4..e6 engineering shear), in units
#: of the strain magnitude divided by 6 (the largest component equals the magnitude).
ULICS = np.array(
    [
        [1, 2, 3, 4, 5, 6],
        [-2, 1, 4, -3, 6, -5],
        [3, -5, -1, 6, 2, -4],
        [-4, -6, 5, 1, -3, 2],
        [5, 4, 6, -2, -1, -3],
        [-6, 3, -2, 5, -4, 1],
    ],
    dtype=float,
) / 6.0

#: Default strain magnitudes (fractions): ±0.25 % and ±0.5 % (see the module docstring).
DEFAULT_MAGNITUDES = (-0.005, -0.0025, 0.0025, 0.005)


def laue_class(spacegroup_number: int) -> str:
    """Laue class (Hermann–Mauguin symbol) of a space group number 1–230."""
    n = int(spacegroup_number)
    if not 1 <= n <= 230:
        raise ValueError(f"space group number must be 1..230, not {n}")
    idx = int(np.searchsorted(_LAUE_START, n, side="right")) - 1
    return LAUE_CLASSES[idx]


def strain_states(laue: str, extra: int = 0) -> np.ndarray:
    """The ULICS strain states (rows, Voigt, unit magnitude) used for ``laue`` (+ ``extra`` spares)."""
    k = min(6, N_STATES[laue] + int(extra))
    return ULICS[:k].copy()


def voigt_to_strain_tensor(e_voigt: np.ndarray) -> np.ndarray:
    """Engineering-Voigt strain (6,) → symmetric 3×3 strain tensor."""
    e1, e2, e3, e4, e5, e6 = np.asarray(e_voigt, dtype=float)
    return np.array([[e1, e6 / 2, e5 / 2], [e6 / 2, e2, e4 / 2], [e5 / 2, e4 / 2, e3]])


def strain_set(laue: str, magnitudes=DEFAULT_MAGNITUDES, extra_states: int = 0) -> list[np.ndarray]:
    """All strains (engineering Voigt vectors) applied to a crystal of Laue class ``laue``:
    every state times every magnitude."""
    return [m * s for s in strain_states(laue, extra_states) for m in magnitudes]


def deformed_cell(cell: np.ndarray, e_voigt: np.ndarray) -> np.ndarray:
    """Lattice vectors (rows) after the homogeneous deformation F = I + ε (ε symmetric)."""
    F = np.eye(3) + voigt_to_strain_tensor(e_voigt)
    return np.asarray(cell, dtype=float) @ F.T
