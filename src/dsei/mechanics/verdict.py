"""The ductility verdict: ``ductile``, ``brittle``, ``uncertain`` or ``unstable``.

Rule (in this order):

1. ``unstable`` — the fitted stiffness matrix is not positive definite (smallest eigenvalue ≤ 0; Born
   criterion in the form of Mouhat & Coudert, Phys. Rev. B 90, 224104 (2014)). No moduli are reported.
2. ``uncertain`` — committee members fall on different sides of Pugh's threshold (or one of them is
   unstable), or B/G lies in the band 1.75 − :data:`PUGH_MARGIN_BELOW` < B/G < 1.75 + :data:`PUGH_MARGIN_ABOVE`;
   also when the requested model is unstable and the fallback model is not
   (:data:`dsei.mechanics.elastic.FALLBACK_MODEL`).
3. ``ductile`` if B/G ≥ 1.75, else ``brittle`` (S. F. Pugh, Philos. Mag. 45, 823 (1954)).

For a calibrated tensor of a model with a shipped confidence model (the default, sevennet-l3i5-elastic, and SevenNet-l3i5), rule 2's band
is replaced by a calibrated probability: :func:`verdict_from_probability` with ``p_ductile`` from
:mod:`dsei.mechanics.confidence` (docs/mechanics.md, "Confidence"). The fixed bands below remain for the other
models, uncalibrated tensors and committees.

The band is asymmetric because the models' errors are (measured with ``benchmarks/elastic_accuracy.py`` on
200 dev-set compounds, SevenNet-0, docs/mechanics.md): universal MLIPs underestimate G, so B/G comes out too
high. Predicted "ductile" with 1.75 ≤ B/G < 2.25 was right for only 8 of 21 compounds (38 %, worse than a
coin) while beyond 2.25 it was right for 71 % (102 of 143); predicted "brittle" within 0.25 below 1.75 was right for 6
of 7. So: ductile only above 2.25; brittle below 1.65 (the 0.10 below guards against fit noise).

A *calibrated* tensor (:mod:`dsei.mechanics.calibration`, on by default) has most of that bias removed,
and its band is 1.65–2.00 (:data:`CALIBRATED_MARGIN_BELOW` = 0.10, :data:`CALIBRATED_MARGIN_ABOVE` = 0.25).
Set with SevenNet-0's ridge under 5-fold CV on the same 200 compounds: a calibrated "ductile" within 0.25
above 1.75 was right for about half, beyond it for over 80 %, while a calibrated "brittle" was right for about
two thirds whatever its distance below 1.75, so a wider band below would discard verdicts without making the
rest more reliable. Rechecked for SevenNet-l3i5 since (the previous default, 5-fold CV on all 1,000 dev compounds, 948
stable results): with the shipped trees a predicted side is right for 68 % (brittle, within 0.1 below 1.75) and
65–71 % (ductile, within 0.25 above) inside the band, for 81–97 % outside it (but 10 of the 15 predicted brittle
0.5–1.0 below 1.75). And for CHGNet's trees (fitted on all 1,000 since; 910 stable results): 61–66 % inside the
band, 82–93 % (ductile) and 72–86 % (brittle) outside it. The band stands (``benchmarks/elastic_accuracy.py``, "verdict reliability";
docs/benchmarks.md, "Accuracy against DFT"; docs/mechanics.md, "Verdict").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dsei.mechanics.descriptors import PUGH_THRESHOLD

#: The ``uncertain`` band is 1.75 − PUGH_MARGIN_BELOW < B/G < 1.75 + PUGH_MARGIN_ABOVE (measured on the dev
#: set with the default model; see the module docstring and docs/mechanics.md, "Verdict").
PUGH_MARGIN_BELOW = 0.10
PUGH_MARGIN_ABOVE = 0.50
#: The band for calibrated tensors (see the module docstring).
CALIBRATED_MARGIN_BELOW = 0.10
CALIBRATED_MARGIN_ABOVE = 0.25


def uncertain_band(calibrated: bool = False) -> tuple[float, float]:
    """(margin below, margin above) 1.75 of the ``uncertain`` band for uncalibrated or calibrated tensors."""
    if calibrated:
        return CALIBRATED_MARGIN_BELOW, CALIBRATED_MARGIN_ABOVE
    return PUGH_MARGIN_BELOW, PUGH_MARGIN_ABOVE


def in_uncertain_band(pugh: float, below: float = PUGH_MARGIN_BELOW, above: float = PUGH_MARGIN_ABOVE) -> bool:
    """Whether B/G lies in the band around 1.75 where the verdict is not trusted."""
    return PUGH_THRESHOLD - below < pugh < PUGH_THRESHOLD + above

VERDICTS = ("ductile", "brittle", "uncertain", "unstable")


def verdict(
    pugh: float | None,
    born_stable: bool,
    member_pughs: Sequence[float | None] = (),
    member_stable: Sequence[bool] = (),
    below: float = PUGH_MARGIN_BELOW,
    above: float = PUGH_MARGIN_ABOVE,
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
    if in_uncertain_band(pugh, below, above):
        lo, hi = PUGH_THRESHOLD - below, PUGH_THRESHOLD + above
        return "uncertain", f"B/G = {pugh:.2f} is in the uncertain band {lo:.2f}–{hi:.2f} around {PUGH_THRESHOLD}"
    if pugh >= PUGH_THRESHOLD:
        return "ductile", f"B/G = {pugh:.2f} ≥ {PUGH_THRESHOLD}"
    return "brittle", f"B/G = {pugh:.2f} < {PUGH_THRESHOLD}"


def verdict_from_probability(pugh: float | None, born_stable: bool, p_ductile: float | None, p_star: float) -> tuple[str, str]:
    """(verdict, reason) from a calibrated probability that DFT's B/G ≥ 1.75 (:mod:`dsei.mechanics.confidence`):
    ``ductile`` if p_ductile ≥ p*, ``brittle`` if p_ductile ≤ 1 − p*, else ``uncertain``; ``unstable`` as in
    :func:`verdict`. Used for calibrated tensors of models with a shipped confidence model (the default)."""
    if not born_stable or pugh is None or not math.isfinite(pugh) or p_ductile is None:
        return "unstable", "elastic tensor is not positive definite (Born criterion fails)"
    if p_ductile >= p_star:
        return "ductile", f"B/G = {pugh:.2f}, p_ductile = {p_ductile:.3f} ≥ {p_star}"
    if p_ductile <= 1.0 - p_star:
        return "brittle", f"B/G = {pugh:.2f}, p_ductile = {p_ductile:.3f} ≤ {1.0 - p_star:.2f}"
    return "uncertain", f"B/G = {pugh:.2f}, p_ductile = {p_ductile:.3f} is between {1.0 - p_star:.2f} and {p_star}"
