"""Validation before any model runs. Each failure is one :class:`InputError` line naming the file.

Checks, in this order (cheap and certain first; every threshold is a module constant below, with its reason):

1. **A usable cell**: cell lengths finite, positive and below :data:`MAX_CELL_LENGTH_A`; angles finite and
   strictly between 0° and 180°; volume above 1 Å³ (not flat); every coordinate finite.
2. **Chemistry the models can take**: no partial occupancy, no dummy species, at most ``max_sites`` sites.
3. **Density**: no two atoms closer than :data:`MIN_DISTANCE_A`; volume per atom inside
   [:data:`MIN_VOLUME_PER_ATOM_A3`, :data:`MAX_VOLUME_PER_ATOM_A3`].
4. **A bulk crystal** (:func:`bulk_problem`), not a slab, a wire, a molecule or a gas in a box:

   - *isolated atoms*: every atom has another atom (or a periodic image) within its **contact distance**
     ``CONTACT_FACTOR × (r_vdW,i + r_vdW,j)`` (Alvarez van der Waals radii);
   - *vacuum gap*: along each of the 13 lattice-plane families with Miller indices in {-1, 0, 1} (the three
     cell axes, the face and the body diagonals), the widest slab containing no atom centre — the largest gap
     between consecutive atoms projected on the plane normal, i.e. sorted fractional coordinates
     ``h·x + k·y + l·z (mod 1)`` times the interplanar spacing ``d_hkl`` — must not exceed
     :data:`MAX_VACUUM_GAP_A`;
   - *percolation*: the contact graph (edges between atoms within their contact distance, across periodic
     boundaries) must percolate in three dimensions: every connected component, unwrapped through the periodic
     images, spans three independent lattice directions (rank determination algorithm of Larsen et al.,
     Phys. Rev. Mater. 3, 034003 (2019), as implemented in ASE). A molecule in a box is a 0D component, a
     wire 1D, a slab 2D. Molecular and van der Waals crystals pass: their molecules and layers are in contact
     with each other at the van der Waals distance.

   ``elastic``, ``barrier``, ``stability`` and ``dsei screen`` refuse non-bulk input; ``relax`` only warns
   (relaxing a slab is legitimate), through ``bulk="warn"``.
5. **Model coverage**: the elements the chosen model covers (last, since it may load the model's weights).

The thresholds were checked against every structure dsei ships and every test/benchmark structure
(``benchmarks/validate_real_crystals.py``; docs/input-validation.md: of 1,239 real crystals only five Materials
Project entries that are single layers in vacuum-padded cells are refused).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from pymatgen.core import Structure

from dsei.errors import InputError
from dsei.structures.cell_checks import (  # noqa: F401 - the cell checks (check 1) are importable from here as before
    MAX_CELL_LENGTH_A,
    _vec,
    check_cell_matrix,
    check_cell_parameters,
    check_periodic,
)

#: Default cap on sites per cell (configurable): larger cells are slow on a CPU laptop.
DEFAULT_MAX_SITES = 200
#: Two atoms closer than this (Å) are overlapping: no real crystal has bonds this short (H–H in H2 is 0.74 Å,
#: the shortest bond there is).
MIN_DISTANCE_A = 0.5
#: Smallest volume per atom accepted (Å³/atom). Diamond, the densest solid at ambient pressure in atoms per
#: volume, has 5.67 Å³/atom (a = 3.567 Å, 8 atoms); LiH 8.5, Be 8.1. Half of diamond's leaves room for
#: compressed cells; below it the input is overlapping or mis-scaled (a POSCAR scale factor in the wrong units).
MIN_VOLUME_PER_ATOM_A3 = 2.5
#: Largest volume per atom accepted (Å³/atom). The least dense elemental solids are Cs (bcc, a = 6.14 Å:
#: 116 Å³/atom) and the solid noble gases (Xe 59 Å³/atom); open frameworks (zeolites, MOF-5: ~40 Å³/atom) sit
#: well below. Twice the Cs value; beyond it the cell is mostly vacuum (a molecule or gas in a box).
MAX_VOLUME_PER_ATOM_A3 = 250.0
#: Widest slab of empty space (Å, between atom centres, normal to a lattice plane) that a bulk crystal may
#: have. The widest gaps in real crystals are van der Waals gaps between layers: graphite 3.35 Å, MoS2
#: 3.0 Å between S planes (~6.15 Å between Mo planes), CsI's Cs–I planes ~2.3 Å, and no accepted one of the 1,239
#: checked crystals exceeds 4.53 Å (CaI2 mp-30031, a PBE-swollen van der Waals gap) (docs/input-validation.md). A slab model has ≥ 10 Å of vacuum by construction
#: (to decouple its surfaces). 8 Å sits between the two.
MAX_VACUUM_GAP_A = 8.0
#: Contact distance between atoms i and j: ``CONTACT_FACTOR × (r_vdW,i + r_vdW,j)``. The van der Waals radius
#: is about half the closest distance between non-bonded atoms in condensed phases (Alvarez, Dalton Trans. 42,
#: 8617 (2013): radii from the contact-distance distributions of the CSD), so in a crystal every atom has a
#: neighbour within the sum, and layers and molecules touch each other within it. Computed structures stretch
#: this: PBE without a dispersion correction swells van der Waals gaps, and in the Materials Project set the
#: layered iodides and chalcogenides need a factor up to 1.28 (CaI2 mp-30031; GaSe 1.26, CdBr2 1.25, MgI2 1.23)
#: for their layers to touch. 1.5 leaves room above that; bonded atoms are far inside it (covalent radii are
#: about half the van der Waals ones). Measured by ``benchmarks/validate_real_crystals.py``.
CONTACT_FACTOR = 1.5
#: Used where the Alvarez table has no radius (Pm, Po, At, Rn, Fr, Ra; Å): generous, so such atoms are not
#: called isolated for want of data.
FALLBACK_VDW_RADIUS_A = 2.5
#: Miller indices of the lattice-plane families searched for vacuum gaps: every (h k l) with h, k, l in
#: {-1, 0, 1}, one sign of each (13 families: 3 axes, 6 face diagonals, 4 body diagonals).
GAP_DIRECTIONS = tuple(
    (h, k, l)
    for h in (-1, 0, 1)
    for k in (-1, 0, 1)
    for l in (-1, 0, 1)  # noqa: E741 - Miller index
    if (h, k, l) != (0, 0, 0) and next(x for x in (h, k, l) if x) > 0
)


class NotBulkWarning(UserWarning):
    """Raised as a warning (not an error) by ``validate_structure(..., bulk="warn")``: ``relax`` goes on."""


# ------------------------------------------------------------------------------------------- bulk analysis
@dataclass
class BulkReport:
    """What :func:`analyse_bulk` found. ``problem`` is None for a bulk crystal."""

    widest_gap_A: float
    widest_gap_direction: str
    gaps_over_limit: list[tuple[float, str]] = field(default_factory=list)
    isolated_atoms: list[tuple[int, str, float, float]] = field(default_factory=list)  # index, species, nearest, cutoff
    component_dims: list[int] = field(default_factory=list)  # periodic rank of each contact-graph component
    component_formulas: list[str] = field(default_factory=list)
    problem: str | None = None


def vdw_radius_A(symbol: str) -> float:
    """Alvarez (2013) van der Waals radius (Å), as tabulated in ASE; :data:`FALLBACK_VDW_RADIUS_A` where missing."""
    from ase.data import atomic_numbers
    from ase.data.vdw_alvarez import vdw_radii

    z = atomic_numbers.get(symbol)
    r = float(vdw_radii[z]) if z is not None and z < len(vdw_radii) else float("nan")
    return r if math.isfinite(r) else FALLBACK_VDW_RADIUS_A


def _direction_label(hkl: tuple[int, int, int]) -> str:
    axes = {(1, 0, 0): "a", (0, 1, 0): "b", (0, 0, 1): "c"}
    if hkl in axes:
        return f"along {axes[hkl]} (normal to the ({' '.join(map(str, hkl))}) planes)"
    return f"normal to the ({' '.join(map(str, hkl))}) planes"


def vacuum_gaps(struct: Structure) -> list[tuple[float, tuple[int, int, int]]]:
    """The widest atom-free slab (Å) normal to each lattice-plane family of :data:`GAP_DIRECTIONS`, widest first.

    Projecting every atom on the plane normal gives its fractional position ``t = h·x + k·y + l·z (mod 1)``
    in units of the interplanar spacing ``d_hkl``; the widest gap between consecutive ``t`` (periodically) times
    ``d_hkl`` is the thickest slab, parallel to those planes and spanning the whole crystal, with no atom centre.
    """
    frac = np.asarray(struct.frac_coords, dtype=float)
    recip = struct.lattice.reciprocal_lattice_crystallographic.matrix  # rows b1, b2, b3 (1/Å, no 2π)
    out = []
    for hkl in GAP_DIRECTIONS:
        g = np.asarray(hkl, dtype=float) @ recip
        d = 1.0 / float(np.linalg.norm(g))
        t = np.sort(np.mod(frac @ np.asarray(hkl, dtype=float), 1.0))
        gaps = np.diff(np.concatenate([t, [t[0] + 1.0]]))
        out.append((float(gaps.max()) * d, hkl))
    out.sort(key=lambda x: -x[0])
    return out


def analyse_bulk(struct: Structure, max_gap_A: float = MAX_VACUUM_GAP_A, contact_factor: float = CONTACT_FACTOR) -> BulkReport:
    """Vacuum gaps, isolated atoms and the periodic dimensionality of the contact graph (module docstring)."""
    gaps = vacuum_gaps(struct)
    rep = BulkReport(gaps[0][0], _direction_label(gaps[0][1]))
    rep.gaps_over_limit = [(g, _direction_label(hkl)) for g, hkl in gaps if g > max_gap_A]
    symbols = [site.specie.symbol for site in struct]
    radii = {s: vdw_radius_A(s) for s in set(symbols)}
    r = np.array([radii[s] for s in symbols])
    rmax = contact_factor * 2 * float(r.max())
    centers, neighbors, images, dists = struct.get_neighbor_list(r=rmax, exclude_self=False)
    is_self = (centers == neighbors) & np.all(images == 0, axis=1)
    keep = ~is_self & (dists <= contact_factor * (r[centers] + r[neighbors]))
    centers, neighbors, images = centers[keep], neighbors[keep], images[keep].astype(int)
    has_contact = np.zeros(len(struct), dtype=bool)
    has_contact[centers] = True
    for i in np.flatnonzero(~has_contact)[:1]:
        # nearest other atom at any distance, for the message (the first isolated atom only): up to the cell's size
        reach = max(rmax, 1.01 * float(max(struct.lattice.abc)))
        _, nb, im, dd = struct.get_neighbor_list(r=reach, sites=[struct[int(i)]], exclude_self=False)
        dd = dd[dd > 1e-8]
        nearest = float(dd.min()) if len(dd) else float("inf")
        rep.isolated_atoms.append((int(i), symbols[i], nearest, contact_factor * 2 * float(r[i])))
    for i in np.flatnonzero(~has_contact)[1:]:
        rep.isolated_atoms.append((int(i), symbols[i], float("nan"), contact_factor * 2 * float(r[i])))
    labels, dims = periodic_components(len(struct), centers, neighbors, images)
    from pymatgen.core import Composition

    for comp in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == comp)
        rep.component_dims.append(int(dims[comp]))
        rep.component_formulas.append(Composition("".join(symbols[m] for m in members)).reduced_formula)
    rep.problem = _bulk_problem_text(rep, max_gap_A)
    return rep


def periodic_components(n: int, centers, neighbors, images) -> tuple[np.ndarray, list[int]]:
    """Connected components of a periodic graph and the periodic rank (0–3) of each.

    Edges ``centers[k] → neighbors[k]`` lead into the cell ``images[k]`` (integer lattice translation). A
    breadth-first spanning tree gives each atom a cell ``p``; every edge then closes a cycle whose net translation
    ``p(i) + image − p(j)`` is a lattice vector the component repeats along (zero for tree edges). The
    component's rank is the dimension these vectors span: 0 molecule, 1 chain, 2 layer, 3 bulk network (the
    criterion of Larsen et al., Phys. Rev. Mater. 3, 034003 (2019)). Written here (scipy's graph search plus a
    rank) rather than calling ASE's ``RDA``: its single-pass component merge split MgI2's layers into two "2D"
    components with the interlayer bonds present (ASE 3.29).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    ci = np.asarray(centers, dtype=int)
    nj = np.asarray(neighbors, dtype=int)
    im = np.asarray(images, dtype=int).reshape(-1, 3)
    graph = coo_matrix((np.ones(len(ci)), (ci, nj)), shape=(n, n)).tocsr()
    ncomp, labels = connected_components(graph, directed=False)
    # the image of each directed edge i -> j (first one found); the reverse edge has the opposite image
    edge_image: dict[tuple[int, int], np.ndarray] = {}
    for i, j, o in zip(ci.tolist(), nj.tolist(), im, strict=True):
        edge_image.setdefault((i, j), o)
    cell = np.zeros((n, 3), dtype=int)
    sym = (graph + graph.T).tocsr()
    for comp in range(ncomp):
        root = int(np.flatnonzero(labels == comp)[0])
        order, pred = breadth_first_order(sym, root, directed=False, return_predecessors=True)
        for j in order[1:]:
            i = int(pred[j])
            o = edge_image.get((i, int(j)))
            cell[j] = cell[i] + (o if o is not None else -edge_image[(int(j), i)])
    cycles = cell[ci] + im - cell[nj]
    dims = []
    for comp in range(ncomp):
        vecs = cycles[(labels[ci] == comp) & cycles.any(axis=1)]
        dims.append(int(np.linalg.matrix_rank(np.unique(vecs, axis=0))) if len(vecs) else 0)
    return labels, dims


def _bulk_problem_text(rep: BulkReport, max_gap_A: float) -> str | None:
    shape = {0: "an isolated molecule or cluster", 1: "a wire or chain", 2: "a slab or layer"}
    low = [d for d in rep.component_dims if d < 3]
    what = "mostly vacuum"
    if low:
        k = rep.component_dims.index(min(low))
        what = f"{shape[min(low)]} ({rep.component_formulas[k]}) in a box"
    if rep.isolated_atoms:
        i, sp, nearest, cut = rep.isolated_atoms[0]
        n = len(rep.isolated_atoms)
        who = f"{n} atoms (first: {sp}, site {i}) have" if n > 1 else f"atom {sp} (site {i}) has"
        return (f"not a bulk crystal: {who} no neighbour within the contact distance {cut:.2f} Å (nearest atom "
                f"{nearest:.2f} Å away); isolated atoms or a gas in a box")
    if rep.gaps_over_limit:
        axis = {w.split()[1]: g for g, w in rep.gaps_over_limit if w.startswith("along")}
        if axis:
            names = sorted(axis)
            where = "along " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])
            sizes = ", ".join(f"{axis[n]:.1f}" for n in names)
            gap = f"{sizes} Å of vacuum {where}"
        else:
            g, w = rep.gaps_over_limit[0]
            gap = f"{g:.1f} Å of vacuum {w}"
        return f"not a bulk crystal: {gap} (a bulk crystal has at most {max_gap_A:g} Å); this looks like {what}"
    if low:
        return (f"not a bulk crystal: {what}: it touches nothing in {3 - min(low)} lattice direction(s) "
                f"(widest vacuum {rep.widest_gap_A:.1f} Å {rep.widest_gap_direction})")
    return None


def bulk_problem(struct: Structure) -> str | None:
    """One line saying why ``struct`` is not a bulk crystal, or None (see :func:`analyse_bulk`)."""
    return analyse_bulk(struct).problem


# ------------------------------------------------------------------------------------------------ validate
def validate_structure(
    struct: Structure,
    source: str | None = None,
    model=None,
    max_sites: int | None = DEFAULT_MAX_SITES,
    min_distance_A: float = MIN_DISTANCE_A,
    bulk: str = "refuse",
) -> Structure:
    """Return ``struct`` if usable, else raise :class:`InputError` with one line naming ``source``.

    ``model`` is a :class:`dsei.models.Model` or a model name; its element coverage is checked last, after every
    check that needs no model. ``bulk``: ``"refuse"`` (default) raises on a slab, wire, molecule or gas;
    ``"warn"`` issues a :class:`NotBulkWarning` and goes on (``relax``); ``"ignore"`` skips the test.
    """
    if bulk not in ("refuse", "warn", "ignore"):
        raise ValueError(f"bulk must be refuse, warn or ignore, not {bulk!r}")
    try:
        source = source or (struct.properties or {}).get("source") or struct.composition.reduced_formula
    except Exception:  # noqa: BLE001 - a structure too broken to name itself
        source = "structure"
    if len(struct) == 0:
        raise InputError(source, "structure has no atoms")
    check_cell_matrix(struct.lattice.matrix, source)
    frac = np.asarray(struct.frac_coords, dtype=float)
    if not np.isfinite(frac).all():
        i = int(np.argwhere(~np.isfinite(frac))[0][0])
        raise InputError(source, f"site {i} ({struct[i].species_string}) has non-finite coordinates {_vec(frac[i])}")
    if not struct.is_ordered:
        bad = next(s for s in struct if not s.is_ordered)
        raise InputError(
            source,
            f"partial occupancy/disorder at site {bad.species_string} {np.round(bad.frac_coords, 3).tolist()}: "
            "order it first (e.g. pymatgen OrderDisorderedStructureTransformation or a supercell enumeration)",
        )
    if any(getattr(sp, "symbol", None) in (None, "X") or sp.Z == 0 for sp in struct.composition.elements):
        raise InputError(source, "contains dummy species; give real elements")
    if max_sites is not None and len(struct) > max_sites:
        raise InputError(source, f"{len(struct)} sites is more than the cap of {max_sites} (raise it with --max-sites)")
    vpa = struct.volume / len(struct)
    if vpa < MIN_VOLUME_PER_ATOM_A3:
        raise InputError(source, f"volume per atom {vpa:.3g} Å^3 is below {MIN_VOLUME_PER_ATOM_A3} Å^3 (denser than any solid: "
                         "overlapping atoms or a wrong scale factor?)")
    work = _reduced(struct)
    dmin = _min_distance(work, min_distance_A)
    if dmin < min_distance_A:
        raise InputError(source, f"overlapping atoms: two atoms are {dmin:.3f} Å apart (< {min_distance_A} Å)")
    if bulk != "ignore":
        problem = bulk_problem(work)
        if problem is None and vpa > MAX_VOLUME_PER_ATOM_A3:
            problem = (f"not a bulk crystal: volume per atom {vpa:.4g} Å^3 is over {MAX_VOLUME_PER_ATOM_A3:g} Å^3 "
                       "(less dense than any solid; mostly vacuum)")
        if problem is not None:
            if bulk == "refuse":
                raise InputError(source, problem)
            warnings.warn(f"{source}: {problem}", NotBulkWarning, stacklevel=2)
    if model is not None:
        missing = _missing_elements(model, {el.symbol for el in struct.composition.elements})
        if missing:
            name = model if isinstance(model, str) else getattr(model, "name", str(model))
            raise InputError(source, f"model {name} does not cover element(s) {', '.join(sorted(missing))}")
    return struct


def prepare(spec, model=None, max_sites: int | None = DEFAULT_MAX_SITES, bulk: str = "refuse") -> Structure:
    """Read (file, MP id or library ID/formula) and validate a structure before any model runs
    (:func:`validate_structure`: every check that needs no model first, so a bad file is refused before any
    weights load). ``spec`` is a path, an id or a :class:`~pymatgen.core.Structure`; ``model`` a model name, a
    :class:`dsei.models.Model` or ``None``. ``bulk="warn"`` lets a slab or molecule through with a warning."""
    from dsei.structures.io import load_structure

    struct = spec if isinstance(spec, Structure) else load_structure(spec)
    source = (struct.properties or {}).get("source") or (None if isinstance(spec, Structure) else str(spec))
    return validate_structure(struct, source=source, model=model, max_sites=max_sites, bulk=bulk)


def _reduced(struct: Structure) -> Structure:
    """The LLL-reduced cell (same crystal, most compact lattice vectors) for neighbour searches: a very skewed
    input cell would otherwise need many periodic images. Falls back to the input where reduction fails."""
    try:
        red = struct.get_reduced_structure("LLL")
        return red if np.isfinite(red.lattice.matrix).all() else struct
    except Exception:  # noqa: BLE001 - reduction is only an optimisation
        return struct


def _min_distance(struct: Structure, r: float) -> float:
    """Shortest interatomic distance below ``r`` (Å), periodic images included; ``inf`` if none."""
    centers, neighbors, images, dists = struct.get_neighbor_list(r=max(r, 1e-3), exclude_self=False)
    is_self = (centers == neighbors) & np.all(images == 0, axis=1)
    dists = dists[~is_self]
    return float(dists.min()) if len(dists) else float("inf")


def _missing_elements(model, symbols: set[str]) -> set[str]:
    if isinstance(model, str):
        from dsei.models.registry import model_elements

        elements = model_elements(model)
        return set() if elements is None else symbols - set(elements)
    return model.missing_elements(symbols)
