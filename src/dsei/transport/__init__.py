"""Transport: Li+ (Na+, …) migration barriers in SEI phases, vacancy and interstitial.

- :func:`barrier` — end to end: sites → symmetry-distinct hops → climbing-image NEB (images batched) →
  1D/2D/3D percolation (``method="neb"``); or the BVSE pre-screen (``"bvse"``) or MLIP MD (``"md"``).
- :func:`bvse` — the seconds-per-structure bond-valence site-energy pre-screen.

Submodules, one step each: :mod:`.sites`, :mod:`.paths`, :mod:`.supercell`, :mod:`.endpoints`, :mod:`.neb`,
:mod:`.percolation`, :mod:`.md`, :mod:`.bvse`.
"""

from dsei.transport.barrier import BarrierResult, HopResult, barrier
from dsei.transport.bvse import BVSEResult, bvse, bvse_file
from dsei.transport.md import MDResult, md_diffusion

__all__ = ["BVSEResult", "BarrierResult", "HopResult", "MDResult", "barrier", "bvse", "bvse_file", "md_diffusion"]
