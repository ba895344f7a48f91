"""The hop network of the moving ion: every hop between its sites in the cell, grouped into symmetry-distinct
hops (one NEB each), with the periodic edge list that maps NEB barriers back onto the whole network.

Hops are grouped with the equivalence of pymatgen-analysis-diffusion's ``MigrationHop`` (the field's tool;
Shen et al., npj Comput. Mater. 9, 99 (2023)): two hops are one class when a space-group operation maps
start and end point onto the other hop's (either direction) with one common lattice translation. We do not
call ``MigrationGraph`` itself because it recomputes the symmetrized structure for every edge and compares
hops in Python loops: 35 s for the 72 hops of Li2O plus a 28 s import on a loaded CPU, against milliseconds
for the vectorised check in :func:`_group_hops` (same classes on LiF, Li3N, Li2O). Pairs within the cutoff
come from pymatgen's ``Structure.get_neighbor_list``. For interstitials of a host that already contains the ion
(e.g. Li in LiF) the nodes are the interstitial sites only.

Default cutoff: the shortest site–site distance + 1.0 Å, raised if needed to the shortest distance at which
the network reaches the highest percolation dimension available within ``MAX_CUTOFF_A`` (6 Å: longer jumps
are not elementary hops), never above ``MAX_CUTOFF_A``.

Blocked hops are dropped: a straight hop whose segment passes closer than ``BLOCK_A`` (0.9 Å) to any other
atom (host atoms and the other ion sites, end points excluded) goes through that atom, i.e. it is two
shorter hops or no hop at all; its NEB would start from an unphysical straight-line guess. Dropped classes are
listed in ``SiteNetwork.dropped_hops``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pymatgen.core import Structure

from dsei.errors import CalculationError, InputError
from dsei.transport.percolation import percolation_barriers, periodic_dimension
from dsei.transport.sites import (
    MERGE_TOL_A,
    SYMPREC,
    Site,
    _host,
    _orbit,
    _periodic_dist,
    _symmetry_ops,
    ion_element,
)

#: Longest hop considered by the default cutoff (Å).
MAX_CUTOFF_A = 6.0
#: A hop whose straight segment passes closer than this to another atom (Å) is blocked.
BLOCK_A = 0.9


@dataclass
class Hop:
    """A symmetry-distinct hop. Coordinates are fractional in the cell of the structure passed in;
    ``end_frac`` is the actual nearest image of the end site (may lie outside [0, 1))."""

    index: int
    label: str
    start_frac: tuple[float, float, float]
    end_frac: tuple[float, float, float]
    distance_A: float
    multiplicity: int  # edges of this class in the cell
    start_site: str | None = None  # Site.label of the start / end site
    end_site: str | None = None


@dataclass
class SiteNetwork:
    structure: Structure  # the host with the ion on ALL equivalent sites (vacancy: the host itself)
    ion: str
    mechanism: str
    sites: list[Site]
    hops: list[Hop]
    n_nodes: int  # ion sites in the cell; node k = k-th entry of node_frac
    edges: list[tuple[int, int, tuple[int, int, int], int]]  # (i, j, image of j, hop index)
    cutoff_A: float = 0.0
    node_frac: list[tuple[float, float, float]] = field(default_factory=list)
    node_site: list[int] = field(default_factory=list)  # index into ``sites`` of each node
    node_index: list[int] = field(default_factory=list)  # index of each node's atom in ``structure``
    dimension: int = 0  # periodic dimension of the network with all hops open
    dropped_hops: list[dict[str, Any]] = field(default_factory=list)

    def edges_with_barriers(self, barriers_eV: dict[int, float | None] | list[float | None]) -> list[tuple]:
        """``(i, j, image, barrier)`` for :func:`~dsei.transport.percolation.percolation_barriers`, given one
        barrier per distinct hop (by hop index)."""
        get = barriers_eV.get if isinstance(barriers_eV, dict) else (lambda k: barriers_eV[k])
        return [(i, j, img, get(h)) for i, j, img, h in self.edges]

    def percolation_barriers(self, barriers_eV) -> dict[str, float | None]:
        return percolation_barriers(self.n_nodes, self.edges_with_barriers(barriers_eV))


def _blocked(struct: Structure, p_cart: np.ndarray, q_cart: np.ndarray, block_A: float) -> tuple[bool, float]:
    """(blocked, closest approach in Å) of any atom other than the end points to the segment p–q."""
    seg = q_cart - p_cart
    length = float(np.linalg.norm(seg))
    mid = (p_cart + q_cart) / 2
    closest = float("inf")
    for nb in struct.get_sites_in_sphere(mid, length / 2 + block_A):
        x = nb.coords
        if np.linalg.norm(x - p_cart) < 0.1 or np.linalg.norm(x - q_cart) < 0.1:
            continue
        t = float(np.dot(x - p_cart, seg) / length**2)
        if t <= 0.0 or t >= 1.0:
            continue
        closest = min(closest, float(np.linalg.norm(x - (p_cart + t * seg))))
    return closest < block_A, closest


def _pairs(nodes: Structure, r: float) -> list[tuple[int, int, tuple[int, int, int], float]]:
    """Every node pair (i <= j, one of each ± image for i == j) within r: (i, j, image, distance)."""
    centers, points, images, dists = nodes.get_neighbor_list(r)
    out = []
    for i, j, img, d in zip(centers, points, images, dists, strict=True):
        img = tuple(int(x) for x in img)
        if d < 1e-6:
            continue
        if i > j or (i == j and img < (0, 0, 0)):
            continue
        out.append((int(i), int(j), img, float(d)))
    return out


def _default_cutoff(classes: list[list], is_blocked: list[bool], n_nodes: int) -> float:
    """Shortest hop + 1.0 Å, raised to the shortest length at which the open hops reach the highest
    percolation dimension they reach within ``MAX_CUTOFF_A``; capped at ``MAX_CUTOFF_A``."""
    d_min = min(m[0][3] for m in classes)
    open_pairs = [e for m, blocked in zip(classes, is_blocked, strict=True) if not blocked for e in m]
    thresholds = percolation_barriers(n_nodes, open_pairs)  # "barrier" = hop length
    d_top = next((thresholds[k] for k in ("3D", "2D", "1D") if thresholds[k] is not None), None)
    cutoff = d_min + 1.0 if d_top is None else max(d_min + 1.0, d_top + 0.01)
    return float(min(cutoff, MAX_CUTOFF_A))


def site_network(
    structure: Structure,
    ion: str,
    mechanism: str,
    sites: list[Site],
    cutoff_A: float | None = None,
    block_A: float = BLOCK_A,
    symprec: float = SYMPREC,
) -> SiteNetwork:
    """The hop network of ``ion`` over ``sites`` (from :func:`~dsei.transport.sites.vacancy_sites` or
    :func:`~dsei.transport.sites.interstitial_sites`) in ``structure``; see the module docstring."""
    el = ion_element(ion)
    if mechanism not in ("vacancy", "interstitial"):
        raise InputError("mechanism", f"site_network needs 'vacancy' or 'interstitial', not {mechanism!r}")
    if not sites:
        raise InputError("sites", f"no {el} sites to connect")
    host = _host(structure)
    rots, trans = _symmetry_ops(host, symprec)
    node_frac, node_site = _site_positions(sites, rots, trans, host.lattice.matrix)
    if mechanism == "vacancy":
        nodes, full, node_site, node_index = _vacancy_nodes(host, el, node_frac, node_site)
    else:
        nodes = Structure(host.lattice, [el] * len(node_frac), node_frac)
        full = Structure.from_sites(list(host.sites) + list(nodes.sites))
        node_index = list(range(len(host), len(full)))
    # all pairs up to the longest cutoff considered, grouped by symmetry; blocking checked once per class
    r_max = float(cutoff_A) if cutoff_A is not None else MAX_CUTOFF_A
    classes, checks = _hop_classes(nodes, full, el, r_max, rots, trans, block_A, host.composition.reduced_formula)
    cutoff = r_max if cutoff_A is not None else _default_cutoff(classes, [c[0] for c in checks], len(nodes))
    hops, edges, dropped = _open_hops(classes, checks, cutoff, nodes, [sites[k].label for k in node_site])
    if not hops:
        raise CalculationError(
            f"{host.composition.reduced_formula}: every {el} hop within {cutoff:.2f} Å is blocked by an atom"
        )
    return SiteNetwork(
        structure=full,
        ion=el,
        mechanism=mechanism,
        sites=sites,
        hops=hops,
        n_nodes=len(nodes),
        edges=edges,
        cutoff_A=cutoff,
        node_frac=[tuple(float(x) for x in f) for f in nodes.frac_coords],
        node_site=node_site,
        node_index=node_index,
        dimension=periodic_dimension(len(nodes), edges),
        dropped_hops=dropped,
    )


def _site_positions(sites: list[Site], rots: np.ndarray, trans: np.ndarray, matrix: np.ndarray) -> tuple[list[np.ndarray], list[int]]:
    """All positions of every distinct site in the host cell, and the index of the site each one belongs to."""
    node_frac: list[np.ndarray] = []
    node_site: list[int] = []
    for k, site in enumerate(sites):
        for p in _orbit(np.asarray(site.frac, dtype=float), rots, trans, matrix, MERGE_TOL_A):
            if node_frac and np.min(_periodic_dist(matrix, np.array(node_frac), p)) < MERGE_TOL_A:
                continue  # two site classes on top of each other: keep the first (lowest energy)
            node_frac.append(p)
            node_site.append(k)
    return node_frac, node_site


def _vacancy_nodes(host: Structure, el: str, node_frac: list[np.ndarray], node_site: list[int]):
    """Vacancy nodes are the host's own ion sites, in structure order (the NEB end points refer to them): the node
    structure, the full structure (the host), each node's site index and its atom index in the host."""
    matrix = host.lattice.matrix
    ion_idx = [i for i, s in enumerate(host) if s.specie.symbol == el]
    order = []
    for i in ion_idx:
        d = _periodic_dist(matrix, np.array(node_frac), host[i].frac_coords)
        if d.min() > MERGE_TOL_A:
            raise InputError(
                "sites",
                f"{el} site {i} of {host.composition.reduced_formula} is in none of the given vacancy sites",
            )
        order.append(int(np.argmin(d)))
    nodes = Structure(host.lattice, [el] * len(ion_idx), [host[i].frac_coords for i in ion_idx])
    return nodes, host, [node_site[k] for k in order], ion_idx


def _hop_classes(nodes: Structure, full: Structure, el: str, r_max: float, rots: np.ndarray, trans: np.ndarray,
                 block_A: float, formula: str) -> tuple[list[list], list[tuple[bool, float]]]:
    """Every node pair within ``r_max`` grouped into symmetry classes, and (blocked, closest approach) of each
    class's representative straight hop."""
    pairs = _pairs(nodes, r_max + 1e-6)
    if not pairs:
        raise CalculationError(f"{formula}: no two {el} sites are within {r_max:.2f} Å")
    classes = _group_hops(nodes, pairs, rots, trans)
    checks = []
    for members in classes:
        u, v, img, _ = members[0]
        p = nodes.lattice.get_cartesian_coords(nodes[u].frac_coords)
        q = nodes.lattice.get_cartesian_coords(nodes[v].frac_coords + np.array(img))
        checks.append(_blocked(full, p, q, block_A))
    return classes, checks


def _open_hops(classes: list[list], checks: list[tuple[bool, float]], cutoff: float, nodes: Structure,
               node_label: list[str]) -> tuple[list[Hop], list[tuple[int, int, tuple[int, int, int], int]], list[dict[str, Any]]]:
    """The classes within ``cutoff`` as distinct :class:`Hop` s with their periodic edges; blocked ones as dropped."""
    hops: list[Hop] = []
    edges: list[tuple[int, int, tuple[int, int, int], int]] = []
    dropped: list[dict[str, Any]] = []
    for members, (blocked, closest) in zip(classes, checks, strict=True):
        u, v, img, length = members[0]
        if length > cutoff + 1e-6:
            continue
        start, end = node_label[u], node_label[v]
        if blocked:
            dropped.append(
                {
                    "start_site": start,
                    "end_site": end,
                    "distance_A": round(length, 4),
                    "multiplicity": len(members),
                    "closest_atom_A": round(closest, 4),
                }
            )
            continue
        index = len(hops)
        hops.append(
            Hop(
                index=index,
                label=f"hop{index + 1} {start}->{end} {length:.2f}A",
                start_frac=tuple(float(x) for x in nodes[u].frac_coords),
                end_frac=tuple(float(x) for x in nodes[v].frac_coords + np.array(img)),
                distance_A=float(length),
                multiplicity=len(members),
                start_site=start,
                end_site=end,
            )
        )
        edges.extend((a, b, im, index) for a, b, im, _ in members)
    return hops, edges, dropped


def _group_hops(nodes: Structure, pairs: list, rots: np.ndarray, trans: np.ndarray, tol_A: float = 0.05) -> list[list]:
    """Group hops (i, j, image, distance) into symmetry classes: hop P→Q is equivalent to P'→Q' when one
    space-group operation g maps {P, Q} onto {P', Q'} up to ONE common lattice translation (either direction).

    The same criterion as pymatgen-analysis-diffusion's ``MigrationHop.__eq__`` (which maps start, middle and end
    point together), vectorised over the operations: ``MigrationGraph`` recomputes the symmetrized structure
    for every edge and compares hops in Python loops, measured 35 s for the 72 hops of Li2O (plus a 28 s
    import) on a loaded CPU; this takes milliseconds. Classes are ordered by length."""
    matrix = nodes.lattice.matrix
    fr = nodes.frac_coords
    reps: list[tuple[np.ndarray, np.ndarray, float]] = []
    classes: list[list] = []
    for i, j, img, d in sorted(pairs, key=lambda t: t[3]):
        p, q = fr[i], fr[j] + np.array(img)
        gp = np.einsum("kab,b->ka", rots, p) + trans
        gq = np.einsum("kab,b->ka", rots, q) + trans
        for k, (rp, rq, rd) in enumerate(reps):
            if abs(rd - d) > tol_A:
                continue
            found = False
            for a, b in ((rp, rq), (rq, rp)):
                d1, d2 = gp - a, gq - b
                ok = (np.linalg.norm((d1 - np.rint(d1)) @ matrix, axis=1) < tol_A) & (
                    np.linalg.norm((d2 - d1) @ matrix, axis=1) < tol_A
                )
                if ok.any():
                    found = True
                    break
            if found:
                classes[k].append((i, j, img, d))
                break
        else:
            reps.append((p, q, d))
            classes.append([(i, j, img, d)])
    return classes
