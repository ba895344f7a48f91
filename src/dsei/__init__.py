"""dsei — design ductile solid electrolyte interphases with universal ML interatomic potentials.

The public API is imported lazily (``import dsei`` stays fast; torch loads on first use)::

    import dsei
    dsei.relax_file("LiF.cif", model="sevennet")
    dsei.load_model("chgnet").evaluate(structures)
"""

import os

from dsei._version import __version__

# spglib's new error handling, set once before dsei, pymatgen or ASE first call spglib: a failed symmetry search
# raises spglib.SpglibError instead of returning None, and the deprecated old default's DeprecationWarning on every
# call goes away. spglib's documented switch (spglib.error, "deprecated:: 2.7.0") is spglib.error.OLD_ERROR_HANDLING
# = False or the environment variable SPGLIB_OLD_ERROR_HANDLING=false, read at every call; the variable needs no
# import of spglib (and numpy) here, and reaches worker processes. A value the user set is kept: dsei's callers
# handle both behaviours (they catch the exception and still check for None).
os.environ.setdefault("SPGLIB_OLD_ERROR_HANDLING", "false")

_LAZY = {
    "relax": "dsei.relax",
    "relax_file": "dsei.api",
    "prepare": "dsei.structures.validate",
    "load_model": "dsei.models",
    "get_calculator": "dsei.models",
    "evaluate": "dsei.models",
    "read_structure": "dsei.structures.io",
    "load_structure": "dsei.structures.io",
    "validate_structure": "dsei.structures.validate",
    "fingerprint": "dsei.structures.fingerprint",
    "get_library": "dsei.structures.library",
    "elastic": "dsei.mechanics",
    "barrier": "dsei.transport",
    "bvse": "dsei.transport",
    "cycle": "dsei.cells",
    "stability": "dsei.chemistry", "convert": "dsei.chemistry", "design": "dsei.campaign.design",
}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    for module in ("dsei.api",):
        mod = importlib.import_module(module)
        if hasattr(mod, name):
            return getattr(mod, name)
    raise AttributeError(f"module 'dsei' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
