"""Lazy package namespaces (PEP 562): a package's public names are imported on first use.

``dsei --help`` imports every ``dsei/<package>/cli.py`` and with it its package; the lazy ``__init__`` keeps
that from loading pymatgen, ASE or torch. Use at the end of a package ``__init__``::

    from dsei._lazy import lazy_package
    lazy_package(__name__, {"stability": "dsei.chemistry.stability", ...})
"""

from __future__ import annotations

import importlib
import sys
import types


def lazy_package(name: str, exports: dict[str, str]) -> None:
    """Make each ``exports`` key (public name → defining module) an attribute of package ``name`` on first use.

    Where a public function has the name of its own submodule (``dsei.chemistry.stability``,
    ``dsei.transport.barrier``), the package attribute stays the function even after the import system binds
    the loaded submodule to it — what the eager ``from .stability import stability`` used to give.
    """
    package = sys.modules[name]

    class _LazyPackage(types.ModuleType):
        def __getattr__(self, attr: str):
            if attr in exports:
                value = getattr(importlib.import_module(exports[attr]), attr)
                types.ModuleType.__setattr__(self, attr, value)
                return value
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")

        def __setattr__(self, attr: str, value) -> None:
            if isinstance(value, types.ModuleType) and exports.get(attr) == f"{name}.{attr}" and hasattr(value, attr):
                value = getattr(value, attr)  # the submodule was just loaded: the package keeps naming the function
            types.ModuleType.__setattr__(self, attr, value)

        def __dir__(self):
            return sorted(set(super().__dir__()) | set(exports))

    package.__class__ = _LazyPackage
