"""Chemistry of the interphase: stability against the metal anode and additive conversion reactions
(``dsei stability`` / ``dsei convert``). See docs/chemistry.md.

``stability(phase, anode="Li")`` → :class:`~dsei.chemistry.stability.StabilityResult`;
``convert(native, additive)`` → :class:`~dsei.chemistry.conversion.ConversionResult`.
The gradient-SEI design (``dsei design``), which orchestrates chemistry, mechanics and transport, sits a
layer above in :mod:`dsei.campaign.design` (see docs/architecture.md); ``dsei.design`` is its function.

The functions are imported on first use; ``dsei.chemistry.stability`` names the function, not the submodule
of the same name (see :func:`dsei._lazy.lazy_package`).
"""

from dsei._lazy import lazy_package

# lazy (PEP 562): ``dsei --help`` imports this package (its cli.py) and must not load pymatgen, ASE or torch
_EXPORTS = {
    "ConversionResult": "dsei.chemistry.conversion",
    "convert": "dsei.chemistry.conversion",
    "rank_additives": "dsei.chemistry.conversion",
    "EnergySet": "dsei.chemistry.energies",
    "StabilityResult": "dsei.chemistry.stability",
    "stability": "dsei.chemistry.stability",
}

__all__ = sorted(_EXPORTS)

lazy_package(__name__, _EXPORTS)
