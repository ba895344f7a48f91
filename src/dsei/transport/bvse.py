"""Fast pre-screen: bond-valence site-energy (BVSE) landscape and percolation barriers of a mobile ion.

Implementation: ``bvlain`` (Fedotov et al., the BVSE method of Chen & Adams, softBV parameters:
H. Chen, S. Adams, IUCrJ 4, 614 (2017); S. Adams, R. P. Rao, Phys. Status Solidi A 208, 1746 (2011)).
We use bvlain rather than our own code because it already serves Li-free hosts: the framework is every
ion except the mobile one, so Ag2S or AgF (no Li at all) get a Li+ landscape directly — the case this
product needs. Oxidation states come from pymatgen's ``BVAnalyzer``.

Result: the lowest energy (eV, relative to the landscape minimum) at which the iso-surface percolates
in 1D, 2D and 3D. The headline ``barrier_eV`` is the 3D value when it exists, else the highest dimension
that percolates (named in ``dimension``). BVSE barriers are a ranking tool (seconds per structure), not
NEB-quality numbers: absolute values differ from DFT by tenths of an eV.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import time
import warnings
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from dsei.errors import CalculationError, InputError
from dsei.results import Result

#: Energy (eV) above which a landscape is treated as non-percolating.
ENCUT_EV = 5.0
#: Grid spacing (Å) of the landscape.
RESOLUTION_A = 0.2


class BVSEResult(Result):
    """JSON: ``{source, formula, ion, method, percolation_eV: {"1D","2D","3D"}, barrier_eV, dimension, ...}``."""

    source: str | None = None
    formula: str
    ion: str
    method: str = "bvse"
    mechanism: str
    percolation_eV: dict[str, float | None]
    barrier_eV: float | None
    dimension: str | None
    resolution_A: float
    elapsed_s: float


def _ion_label(ion: str) -> tuple[str, str]:
    m = re.fullmatch(r"([A-Z][a-z]?)(\d*)([+-]?)", ion.strip())
    if not m:
        raise InputError("ion", f"not an ion: {ion!r} (e.g. Li, Na, Li1+)")
    el, charge, sign = m.groups()
    charge = charge or "1"
    sign = sign or "+"
    return el, f"{el}{charge}{sign}"


def bvse(structure: Structure, ion: str = "Li", resolution_A: float = RESOLUTION_A, source: str | None = None) -> BVSEResult:
    """BVSE percolation barriers of ``ion`` in ``structure`` (host with or without that ion)."""
    from bvlain import Lain

    element, label = _ion_label(ion)
    source = source or (structure.properties or {}).get("source")
    host = structure.copy()
    t0 = time.perf_counter()
    calc = Lain(verbose=False)
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            calc.read_structure(host)
        except Exception as exc:  # noqa: BLE001 - BVAnalyzer cannot assign oxidation states
            raise InputError(source or host.composition.reduced_formula, f"cannot assign oxidation states for BVSE ({exc})") from exc
        try:
            # bvlain's Coulomb term divides by r on grid points that sit on an ion (r = 0): those points get
            # inf/nan, never fall below a percolation energy, and numpy's warnings about them are noise
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                calc.bvse_distribution(mobile_ion=label, resolution=resolution_A)
                energies = calc.percolation_barriers(encut=ENCUT_EV)
        except KeyError as exc:
            missing = exc.args[0] if exc.args else "?"
            try:
                from ase.data import chemical_symbols

                missing = chemical_symbols[int(missing)]
            except (TypeError, ValueError, IndexError):
                pass
            raise CalculationError(
                f"{source or host.composition.reduced_formula}: no softBV parameters for {label} against {missing} "
                "(BVSE covers ionic frameworks; intermetallics and hydrides are outside it)"
            ) from exc
    perc = {}
    for dim in ("1D", "2D", "3D"):
        v = energies.get(f"E_{dim}")
        perc[dim] = float(v) if v is not None and math.isfinite(float(v)) else None
    dimension = next((d for d in ("3D", "2D", "1D") if perc[d] is not None), None)
    return BVSEResult(
        source=str(source) if source else None,
        formula=host.composition.reduced_formula,
        ion=element,
        mechanism="vacancy" if element in {e.symbol for e in host.composition.elements} else "interstitial",
        percolation_eV=perc,
        barrier_eV=perc[dimension] if dimension else None,
        dimension=dimension,
        resolution_A=resolution_A,
        elapsed_s=time.perf_counter() - t0,
    )


def bvse_file(spec: str | Path | Structure, ion: str = "Li", **kwargs) -> BVSEResult:
    from dsei.structures.validate import prepare

    struct = prepare(spec)
    return bvse(struct, ion, source=(struct.properties or {}).get("source"), **kwargs)
