"""The same-run timing anchor of the benchmarks: one batched evaluation of 32 primitive rock-salt LiF cells."""

from __future__ import annotations

import time


def lif_anchor_s(model) -> float:
    """Seconds for one batched ``model.evaluate`` of 32 LiF cells (after one warm-up call)."""
    from pymatgen.core import Lattice, Structure

    lif = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.03), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()
    model.evaluate([lif] * 32)
    t = time.perf_counter()
    model.evaluate([lif] * 32)
    return time.perf_counter() - t
