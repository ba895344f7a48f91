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


def prepare(spec: str | Path | Structure, model: str | Model | None = None, max_sites: int | None = DEFAULT_MAX_SITES) -> Structure:
    """Read (file, MP id or library ID/formula) and validate a structure before any model runs."""
    struct = spec if isinstance(spec, Structure) else load_structure(spec)
    source = (struct.properties or {}).get("source") or str(spec)
    return validate_structure(struct, source=source, model=model, max_sites=max_sites)


def relax_file(
    spec: str | Path | Structure,
    model: str | Model = DEFAULT_MODEL,
    max_sites: int | None = DEFAULT_MAX_SITES,
    **kwargs,
) -> Relaxed:
    """Read, validate and relax one structure (see :func:`dsei.relax.relax` for the options)."""
    m = model if isinstance(model, Model) else load_model(model)
    struct = prepare(spec, m, max_sites)
    return relax(struct, m, **kwargs)
