"""Mechanics: elastic tensors, descriptors and the ductility verdict (Pugh's ratio B/G ≥ 1.75).

``dsei.elastic(structure, model=...)`` → :class:`~dsei.mechanics.elastic.ElasticResult`;
``elastic_many(structures, model)`` batches many structures. See docs/mechanics.md.
"""

from dsei.mechanics.elastic import (
    DEFAULT_ELASTIC_MODEL,
    ElasticResult,
    elastic,
    elastic_many,
    elastic_tensors,
)

__all__ = ["DEFAULT_ELASTIC_MODEL", "ElasticResult", "elastic", "elastic_many", "elastic_tensors"]
