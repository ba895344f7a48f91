"""A stable structure fingerprint for caching: reduced formula + space group + hash of the standardized cell.

``LiF-Fm-3m-225-1a2b3c4d5e6f`` — the hash is SHA-256 of the spglib-standardized primitive cell (species,
lattice parameters rounded to 0.01 Å and 0.1°, fractional coordinates rounded to 1e-3 after wrapping and
sorting). The same crystal read from a CIF, a POSCAR, a supercell or a rotated/translated copy gives the
same fingerprint; a relaxed and an unrelaxed cell generally do not (they are different inputs).
"""

from __future__ import annotations

import hashlib

import numpy as np
from pymatgen.core import Structure


def fingerprint(struct: Structure, symprec: float = 1e-3) -> str:
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    formula = struct.composition.reduced_formula
    try:
        sga = SpacegroupAnalyzer(struct, symprec=symprec)
        prim = sga.get_primitive_standard_structure()
        sg = f"{sga.get_space_group_symbol().replace('/', '_')}-{sga.get_space_group_number()}"
    except Exception:  # noqa: BLE001 - spglib failure: fall back to the raw reduced cell
        prim = struct.get_reduced_structure()
        sg = "P1-1"
    abc = np.round(np.asarray(prim.lattice.abc), 2)
    angles = np.round(np.asarray(prim.lattice.angles), 1)
    rows = sorted(
        (site.species_string, *np.round(np.mod(site.frac_coords + 1e-6, 1.0), 3).tolist()) for site in prim
    )
    # Origin choice: shift so that the first site of the sorted list sits at the origin.
    first = np.array(rows[0][1:])
    rows = sorted((r[0], *np.round(np.mod(np.array(r[1:]) - first + 1e-6, 1.0), 3).tolist()) for r in rows)
    payload = repr((abc.tolist(), angles.tolist(), rows)).encode()
    return f"{formula}-{sg}-{hashlib.sha256(payload).hexdigest()[:12]}"
