"""Python API behind the CLI: one function per command, taking files or structures.

``dsei.relax_file(path, model=...)`` is what ``dsei relax`` runs; later modules add their own here
(``elastic``, ``barrier``, ``stability``, ``convert``, ``design``, ``screen``, ``cycle``).
"""

from __future__ import annotations

from pathlib import Path

from pymatgen.core import Structure

from dsei.models import DEFAULT_MODEL, Model, load_model
from dsei.relax import Relaxed, relax
from dsei.structures.io import load_structure
from dsei.structures.validate import DEFAULT_MAX_SITES, validate_structure


def prepare(
    spec: str | Path | Structure, model: str | Model | None = None, max_sites: int | None = DEFAULT_MAX_SITES, bulk: str = "refuse"
) -> Structure:
    """Read (file, MP id or library ID/formula) and validate a structure before any model runs
    (:func:`dsei.structures.validate_structure`: every check that needs no model first, so a bad file is
    refused before any weights load). ``bulk="warn"`` lets a slab or molecule through with a warning."""
    struct = spec if isinstance(spec, Structure) else load_structure(spec)
    source = (struct.properties or {}).get("source") or (None if isinstance(spec, Structure) else str(spec))
    return validate_structure(struct, source=source, model=model, max_sites=max_sites, bulk=bulk)


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
