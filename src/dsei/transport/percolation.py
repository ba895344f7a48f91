"""Percolation of a periodic hop network: in how many dimensions do connected ion sites span the crystal?

A periodic graph is given by ``n_nodes`` sites in the cell and edges ``(i, j, image)``: site ``i`` in the home
cell is linked to site ``j`` in the cell translated by the integer vector ``image``. A connected component of
the infinite (periodic) graph is an infinite cluster when walking along it can reach a translated copy of a
site: each closed walk's net translation is a lattice vector of the component, and the component percolates
in as many dimensions as the rank of those vectors (0 = finite cluster, 3 = 3D network).

Algorithm: union–find where every node keeps its offset (the cell it sits in relative to its root). An edge
inside one component closes a cycle whose net translation is ``image - off(j) + off(i)``; a non-zero one is
added to that component's lattice basis (kept only if it raises the rank, so at most 3 vectors). This is
the standard periodic-graph dimensionality method (e.g. Larsen et al., Phys. Rev. Mater. 3, 034003 (2019);
the same bookkeeping as pymatgen's ``get_dimensionality_larsen`` but on an abstract hop graph with barriers
rather than on bonded atoms, which pymatgen's helpers cannot take), written here because it is ~40 lines and
``percolation_barriers`` needs it incrementally: edges are added one by one in order of barrier.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

DIMENSIONS = ("1D", "2D", "3D")


class PeriodicUnionFind:
    """Incremental union–find over a periodic graph that tracks each component's lattice dimension."""

    def __init__(self, n_nodes: int):
        if n_nodes < 0:
            raise ValueError("n_nodes must be >= 0")
        self.parent = list(range(n_nodes))
        self.offset = [np.zeros(3, dtype=np.int64) for _ in range(n_nodes)]  # cell of node relative to parent
        self.basis: dict[int, list[np.ndarray]] = {i: [] for i in range(n_nodes)}
        self.dimension = 0  # max over components

    def find(self, i: int) -> tuple[int, np.ndarray]:
        """(root, offset of node i relative to its root), with path compression."""
        path = []
        while self.parent[i] != i:
            path.append(i)
            i = self.parent[i]
        root = i
        # compress: walk back from the node nearest the root, accumulating offsets
        acc = np.zeros(3, dtype=np.int64)
        for node in reversed(path):
            acc = acc + self.offset[node]
            self.offset[node] = acc.copy()
            self.parent[node] = root
        return root, (self.offset[path[0]].copy() if path else np.zeros(3, dtype=np.int64))

    def _add_vector(self, root: int, v: np.ndarray) -> None:
        vecs = self.basis[root]
        if len(vecs) >= 3 or not v.any():
            return
        if np.linalg.matrix_rank(np.array(vecs + [v], dtype=float)) > len(vecs):
            vecs.append(v)
            self.dimension = max(self.dimension, len(vecs))

    def add_edge(self, i: int, j: int, image: Sequence[int]) -> None:
        """Link node ``i`` (home cell) to node ``j`` in cell ``image``."""
        img = np.asarray(image, dtype=np.int64).reshape(3)
        ri, oi = self.find(i)
        rj, oj = self.find(j)
        # node i at cell 0 is root ri at cell -oi; node j at cell img is root rj at cell img - oj
        if ri == rj:
            self._add_vector(ri, img - oj + oi)
            return
        # attach the smaller basis to the larger; rj sits at (img - oj + oi) relative to ri
        shift = img - oj + oi
        if len(self.basis[rj]) > len(self.basis[ri]):
            ri, rj, shift = rj, ri, -shift
        self.parent[rj] = ri
        self.offset[rj] = shift
        for v in self.basis.pop(rj):
            self._add_vector(ri, v)


def _check_edge(edge: Sequence, n_nodes: int) -> tuple[int, int, tuple[int, int, int]]:
    i, j, image = int(edge[0]), int(edge[1]), tuple(int(x) for x in edge[2])
    if not (0 <= i < n_nodes and 0 <= j < n_nodes) or len(image) != 3:
        raise ValueError(f"bad edge {tuple(edge)!r} for {n_nodes} nodes")
    return i, j, image


def periodic_dimension(n_nodes: int, edges: Iterable[Sequence]) -> int:
    """0..3: the highest periodic dimension of any connected component of the periodic graph.

    ``edges`` are ``(i, j, image, ...)`` (extra items, e.g. a hop index, are ignored).
    """
    uf = PeriodicUnionFind(n_nodes)
    for e in edges:
        uf.add_edge(*_check_edge(e, n_nodes))
        if uf.dimension == 3:
            break
    return uf.dimension


def percolation_barriers(n_nodes: int, edges_with_barrier: Iterable[Sequence]) -> dict[str, float | None]:
    """``{"1D", "2D", "3D"}``: the lowest barrier E at which the edges with barrier <= E percolate in that many
    dimensions (None if never). ``edges_with_barrier`` are ``(i, j, image, barrier)``; an edge whose barrier
    is None or not finite (a failed NEB) never opens."""
    edges = []
    for e in edges_with_barrier:
        i, j, image = _check_edge(e, n_nodes)
        b = e[3]
        if b is None or not np.isfinite(float(b)):
            continue
        edges.append((float(b), i, j, image))
    edges.sort(key=lambda t: t[0])
    out: dict[str, float | None] = dict.fromkeys(DIMENSIONS)
    uf = PeriodicUnionFind(n_nodes)
    for b, i, j, image in edges:
        before = uf.dimension
        uf.add_edge(i, j, image)
        for d in range(before + 1, uf.dimension + 1):
            out[DIMENSIONS[d - 1]] = b
        if uf.dimension == 3:
            break
    return out
