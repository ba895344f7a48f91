"""Chemistry of the interphase: stability against the metal anode, additive conversion reactions and the
gradient-SEI design (``dsei stability`` / ``dsei convert`` / ``dsei design``). See docs/chemistry.md.

``stability(phase, anode="Li")`` → :class:`~dsei.chemistry.stability.StabilityResult`;
``convert(native, additive)`` → :class:`~dsei.chemistry.conversion.ConversionResult`;
``design(native, additive)`` → :class:`~dsei.chemistry.design.DesignResult`.

The functions are imported here eagerly (pymatgen only, no torch) so that ``dsei.chemistry.stability``
and ``dsei.chemistry.design`` name the functions, not the submodules of the same name.
"""

from dsei.chemistry.conversion import ConversionResult, convert, rank_additives
from dsei.chemistry.design import DesignResult, design
from dsei.chemistry.energies import EnergySet
from dsei.chemistry.stability import StabilityResult, stability

__all__ = [
    "ConversionResult",
    "DesignResult",
    "EnergySet",
    "StabilityResult",
    "convert",
    "design",
    "rank_additives",
    "stability",
]
