"""Reading, validation, fingerprints and the built-in phase library."""

from dsei._lazy import lazy_package

# lazy (PEP 562): ``dsei --help`` imports this package (its cli.py) and must not load pymatgen, ASE or torch
_EXPORTS = {
    "fingerprint": "dsei.structures.fingerprint",
    "load_structure": "dsei.structures.io",
    "read_structure": "dsei.structures.io",
    "Library": "dsei.structures.library",
    "LibraryEntry": "dsei.structures.library",
    "get_library": "dsei.structures.library",
    "analyse_bulk": "dsei.structures.validate",
    "bulk_problem": "dsei.structures.validate",
    "prepare": "dsei.structures.validate",
    "validate_structure": "dsei.structures.validate",
}

__all__ = sorted(_EXPORTS)

lazy_package(__name__, _EXPORTS)
