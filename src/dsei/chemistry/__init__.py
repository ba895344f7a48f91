"""Chemistry of the interphase: stability against the metal anode and additive conversion reactions
(``dsei stability`` / ``dsei convert``). See docs/chemistry.md.

``stability(phase, anode="Li")`` → :class:`~dsei.chemistry.stability.StabilityResult`;
``convert(native, additive)`` → :class:`~dsei.chemistry.conversion.ConversionResult`.
The gradient-SEI design (``dsei design``), which orchestrates chemistry, mechanics and transport, sits a
layer above in :mod:`dsei.campaign.design` (see docs/architecture.md); ``dsei.design`` is its function.

The functions are imported here eagerly (pymatgen only, no torch) so that ``dsei.chemistry.stability``
names the function, not the submodule of the same name.
"""

from dsei.chemistry.conversion import ConversionResult, convert, rank_additives
from dsei.chemistry.energies import EnergySet
from dsei.chemistry.stability import StabilityResult, stability

__all__ = [
    "ConversionResult",
    "EnergySet",
    "StabilityResult",
    "convert",
    "rank_additives",
    "stability",
]
