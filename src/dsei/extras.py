"""Optional extras: features whose packages ``pip install -e .`` does not install.

``pip install "dsei[dask]"``     ``dsei screen --dask`` / ``dsei discover --dask`` (dask.distributed)
``pip install "dsei[cyclers]"``  ``dsei cycle`` on BioLogic ``.mpr`` (galvani) and ``.xlsx`` exports (openpyxl)
``pip install "dsei[d3]"``       the ``+d3`` models (DFT-D3 dispersion from torch-dftd)
``pip install "dsei[all]"``      all three

Everything else — CSV/text cycler files, ``.mpt``, every model without ``+d3``, ``dsei screen`` in one process
or a local process pool — works without them (``tests/test_extras.py`` runs the CLI with these packages made
unimportable). Where one is missing, the feature that needs it raises one :class:`~dsei.errors.InputError`
line naming the install command; nothing imports them at module level.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from dsei.errors import InputError

#: extra name → the import names of its packages
EXTRAS: dict[str, tuple[str, ...]] = {
    "dask": ("dask", "distributed"),
    "cyclers": ("galvani", "openpyxl"),
    "d3": ("torch_dftd",),
}
#: import name → the distribution ``pip`` installs (as pyproject.toml lists it)
DISTRIBUTIONS = {
    "dask": "dask",
    "distributed": "distributed",
    "galvani": "galvani",
    "openpyxl": "openpyxl",
    "torch_dftd": "torch-dftd",
}


def install_command(extra: str) -> str:
    """``pip install "dsei[<extra>]"``."""
    if extra not in EXTRAS:
        raise ValueError(f"no extra {extra!r} (extras: {', '.join(EXTRAS)})")
    return f'pip install "dsei[{extra}]"'


def _top(module: str) -> str:
    return module.partition(".")[0]


def missing(extra: str) -> list[str]:
    """The packages of ``extra`` (import names) that cannot be imported here, without importing them."""
    out = []
    for name in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken install, or an import blocked by a finder, raises here
            found = False
        if not found:
            out.append(name)
    return out


def missing_reason(extra: str) -> str:
    """Why ``extra``'s feature is unavailable here ("" where it is available): what is missing and the command."""
    gone = missing(extra)
    if not gone:
        return ""
    pkgs = ", ".join(dict.fromkeys(DISTRIBUTIONS.get(m, m) for m in gone))
    return f"needs {pkgs}, not installed (the '{extra}' extra): {install_command(extra)}"


def require(module: str, extra: str, source: object, feature: str) -> ModuleType:
    """Import ``module`` (a package of ``extra``, or one of its submodules), or raise one
    :class:`~dsei.errors.InputError` on ``source`` (the file or argument that asked for ``feature``) saying
    which package is missing and the install command."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        gone = exc.name or module
        if _top(gone) not in EXTRAS[extra] and _top(module) != _top(gone):
            pkg = f"{DISTRIBUTIONS.get(_top(module), _top(module))} (its dependency {_top(gone)} is missing)"
        else:
            pkg = DISTRIBUTIONS.get(_top(gone), _top(gone))
        raise InputError(
            source, f"{feature} needs {pkg}, not installed (the '{extra}' extra): {install_command(extra)}"
        ) from None
