"""Python API behind the CLI: one function per command, taking files or structures.

This is the thin public layer on top of the science packages: nothing under ``dsei`` imports it (see
``docs/architecture.md``). :func:`prepare` lives in :mod:`dsei.structures.validate` and is re-exported here.

``dsei.relax_file(path, model=...)`` is what ``dsei relax`` runs; later modules add their own here
(``elastic``, ``barrier``, ``stability``, ``convert``, ``design``, ``screen``, ``cycle``).
"""

from __future__ import annotations

from pathlib import Path

from pymatgen.core import Structure

from dsei.models import DEFAULT_MODEL, Model, load_model
from dsei.relax import Relaxed, relax
from dsei.structures.validate import DEFAULT_MAX_SITES, prepare

__all__ = ["prepare", "relax_file"]


def relax_file(
    spec: str | Path | Structure,
    model: str | Model = DEFAULT_MODEL,
    max_sites: int | None = DEFAULT_MAX_SITES,
    bulk: str = "warn",
    **kwargs,
) -> Relaxed:
    """Read, validate and relax one structure (see :func:`dsei.relax.relax` for the options). A slab, wire or
    molecule is relaxed too (legitimately), with a :class:`~dsei.structures.validate.NotBulkWarning`; ``bulk``
    ("warn", "refuse", "ignore") changes that. The structure is checked before the model loads."""
    struct = prepare(spec, None, max_sites, bulk=bulk)
    m = model if isinstance(model, Model) else load_model(model)
    prepare(struct, m, max_sites, bulk="ignore")  # the model's element coverage
    return relax(struct, m, **kwargs)
