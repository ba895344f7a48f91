"""Transport: Li+ (Na+, …) migration barriers in SEI phases, vacancy and interstitial.

- :func:`barrier` — end to end: sites → symmetry-distinct hops → climbing-image NEB (images batched) →
  1D/2D/3D percolation (``method="neb"``); or the BVSE pre-screen (``"bvse"``) or MLIP MD (``"md"``).
- :func:`bvse` — the seconds-per-structure bond-valence site-energy pre-screen.

Submodules, one step each: :mod:`.sites`, :mod:`.paths`, :mod:`.supercell`, :mod:`.endpoints`, :mod:`.neb`,
:mod:`.percolation`, :mod:`.md`, :mod:`.bvse`.
"""

from dsei._lazy import lazy_package

# lazy (PEP 562): ``dsei --help`` imports this package (its cli.py) and must not load pymatgen, ASE or torch
_EXPORTS = {
    "BarrierResult": "dsei.transport.barrier",
    "HopResult": "dsei.transport.barrier",
    "barrier": "dsei.transport.barrier",
    "BVSEResult": "dsei.transport.bvse",
    "bvse": "dsei.transport.bvse",
    "bvse_file": "dsei.transport.bvse",
    "MDResult": "dsei.transport.md",
    "md_diffusion": "dsei.transport.md",
}

__all__ = sorted(_EXPORTS)

lazy_package(__name__, _EXPORTS)
