"""The ductility verdict: ``ductile``, ``brittle``, ``uncertain`` or ``unstable``.

Rule (in this order):

1. ``unstable`` — the fitted stiffness matrix is not positive definite (smallest eigenvalue ≤ 0; Born
   criterion in the form of Mouhat & Coudert, Phys. Rev. B 90, 224104 (2014)). No moduli are reported.
2. ``uncertain`` — committee members fall on different sides of Pugh's threshold (or one of them is
   unstable), or |B/G − 1.75| < :data:`PUGH_MARGIN`.
3. ``ductile`` if B/G ≥ 1.75, else ``brittle`` (S. F. Pugh, Philos. Mag. 45, 823 (1954)).

The margin is the median absolute error of B/G of the default setting against DFT (PBE) for the dev-set
compounds whose DFT B/G lies within ±0.5 of the threshold, measured with ``benchmarks/elastic_accuracy.py``
(see docs/mechanics.md): a verdict inside it is as likely to flip under the model's typical error as not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dsei.mechanics.descriptors import PUGH_THRESHOLD

#: Half-width (in B/G) of the band around 1.75 in which the verdict is ``uncertain``; measured on the
#: dev set with the default model (docs/mechanics.md, "Verdict margin").
PUGH_MARGIN = 0.10

VERDICTS = ("ductile", "brittle", "uncertain", "unstable")


def verdict(
    pugh: float | None,
    born_stable: bool,
    member_pughs: Sequence[float | None] = (),
    member_stable: Sequence[bool] = (),
    margin: float = PUGH_MARGIN,
) -> tuple[str, str]:
    """(verdict, reason) for a tensor with Pugh ratio ``pugh`` (committee: also each member's)."""
    if not born_stable or pugh is None or not math.isfinite(pugh):
        return "unstable", "elastic tensor is not positive definite (Born criterion fails)"
    if member_stable and not all(member_stable):
        return "uncertain", "a committee member's tensor is not positive definite"
    sides = {p >= PUGH_THRESHOLD for p in member_pughs if p is not None and math.isfinite(p)}
    if len(sides) > 1:
        vals = ", ".join(f"{p:.2f}" for p in member_pughs if p is not None)
        return "uncertain", f"committee members disagree on the side of {PUGH_THRESHOLD} (B/G = {vals})"
    if abs(pugh - PUGH_THRESHOLD) < margin:
        return "uncertain", f"B/G = {pugh:.2f} is within ±{margin:.2f} of {PUGH_THRESHOLD}"
    if pugh >= PUGH_THRESHOLD:
        return "ductile", f"B/G = {pugh:.2f} ≥ {PUGH_THRESHOLD}"
    return "brittle", f"B/G = {pugh:.2f} < {PUGH_THRESHOLD}"
