"""Mechanics: elastic tensors, descriptors and the ductility verdict (Pugh's ratio B/G ≥ 1.75).

``dsei.elastic(structure, model=...)`` → :class:`~dsei.mechanics.elastic.ElasticResult`;
``elastic_many(structures, model)`` batches many structures. See docs/mechanics.md.
"""

from dsei._lazy import lazy_package

# lazy (PEP 562): ``dsei --help`` imports this package (its cli.py) and must not load pymatgen, ASE or torch
_EXPORTS = {
    "DEFAULT_ELASTIC_MODEL": "dsei.mechanics.elastic",
    "ElasticResult": "dsei.mechanics.elastic",
    "elastic": "dsei.mechanics.elastic",
    "elastic_many": "dsei.mechanics.elastic",
    "elastic_tensors": "dsei.mechanics.elastic",
}

__all__ = sorted(_EXPORTS)

lazy_package(__name__, _EXPORTS)
