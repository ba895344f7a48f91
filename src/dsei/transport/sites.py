"""Sites of the moving ion: which mechanism, the ion's own sites (vacancy) or relaxed voids (interstitial).

- :func:`choose_mechanism` — vacancy hops when the host contains the ion, interstitial hops otherwise.
- :func:`vacancy_sites` — the symmetry-distinct sites of the ion (spglib through pymatgen's
  ``SpacegroupAnalyzer.get_symmetrized_structure``: Wyckoff symbols and multiplicities).
- :func:`interstitial_sites` — candidate voids from pymatgen-analysis-defects' ``VoronoiInterstitialGenerator``
  (Voronoi vertices of the host, clustered, >= 0.9 Å from any atom; Shen et al., the pymatgen-analysis-defects
  paper, J. Open Source Softw. 9, 5941 (2024)), each inserted into a supercell whose periodic images are
  >= ``min_image_A`` apart, relaxed with the MLIP (positions only, fixed cell; all candidates in lockstep so that
  each BFGS step is one batched ``model.evaluate``), mapped back into the host cell, snapped onto its site
  symmetry, merged when symmetry-equivalent (several voids often relax into the same site) and ranked by
  energy. Sites within ``energy_window_eV`` of the lowest are kept, with ``energy_eV`` relative to it.

Cost cap: at most ``MAX_CANDIDATES`` symmetry-distinct voids (the largest first: biggest distance to the
nearest host atom) are relaxed, at ``fmax`` 0.05 eV/Å and <= 200 BFGS steps — the product's laptop budget.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from pymatgen.core import Element, Structure

from dsei.errors import CalculationError, InputError
from dsei.transport.supercell import supercell_matrix

#: Symmetry tolerance (Å) for site grouping (pymatgen/spglib ``symprec``).
SYMPREC = 0.01
#: Most symmetry-distinct voids relaxed per host (largest voids first).
MAX_CANDIDATES = 8
#: Relaxed positions closer than this (Å, periodic) are one site (the void clustering tolerance of
#: pymatgen-analysis-defects; a hop shorter than this is no resolvable migration step).
MERGE_TOL_A = 0.5
#: A relaxed position within this distance (Å) of a higher-symmetry position is snapped onto it (removes the
#: numerical noise of the relaxation so that orbits and Wyckoff positions come out exact).
SNAP_TOL_A = 0.15
#: Cost cap: after this many BFGS steps, candidates more than ``energy_window_eV + PRUNE_MARGIN_EV`` above the
#: lowest stop relaxing (most of the relaxation energy is released by then).
PRUNE_AFTER_STEPS = 40
PRUNE_MARGIN_EV = 1.0
MECHANISMS = ("auto", "vacancy", "interstitial")


@dataclass
class Site:
    """A symmetry-distinct site of the moving ion, in fractional coordinates of the host cell passed in."""

    frac: tuple[float, float, float]
    kind: str  # "vacancy" | "interstitial"
    label: str
    multiplicity: int  # equivalent positions in the host cell passed in
    wyckoff: str | None
    energy_eV: float | None  # interstitial: relative to the lowest site; None for vacancy
    orbit: list[tuple[float, float, float]] = field(default_factory=list)  # all equivalent positions in the cell
    converged: bool | None = None  # interstitial: did the relaxation reach fmax
    # interstitial: distance to the nearest atom of the UNrelaxed host, and the largest host-atom displacement
    # of the relaxation; a short distance with a large displacement means the ion pushed a host atom away
    # (kick-out / exchange), so the site lives in a locally rebuilt host
    host_distance_A: float | None = None
    max_host_displacement_A: float | None = None


def ion_element(ion: str) -> str:
    """``"Li"``, ``"Li+"``, ``"Li1+"`` → ``"Li"``; InputError for anything else."""
    m = re.fullmatch(r"([A-Z][a-z]?)(\d*[+-]?)", str(ion).strip())
    if not m or not Element.is_valid_symbol(m.group(1)):
        raise InputError("ion", f"not an ion: {ion!r} (e.g. Li, Na, Li+)")
    return m.group(1)


def _source(structure: Structure) -> str:
    return str((structure.properties or {}).get("source") or structure.composition.reduced_formula)


def _host(structure: Structure) -> Structure:
    """A copy without oxidation states and site properties (spglib and the matchers compare species)."""
    host = structure.copy()
    host.remove_oxidation_states()
    for prop in list(host.site_properties):
        host.remove_site_property(prop)
    return host


def choose_mechanism(structure: Structure, ion: str, mechanism: str = "auto") -> tuple[str, str]:
    """(mechanism, reason): ``auto`` = vacancy if the host contains the ion, else interstitial."""
    el = ion_element(ion)
    formula = structure.composition.reduced_formula
    present = el in {e.symbol for e in structure.composition.elements}
    mech = str(mechanism).strip().lower()
    if mech not in MECHANISMS:
        raise InputError("mechanism", f"unknown mechanism {mechanism!r} (choose from {', '.join(MECHANISMS)})")
    if mech == "vacancy" and not present:
        raise InputError(
            _source(structure), f"{el} is not in {formula}: no vacancy mechanism; use the interstitial mechanism"
        )
    if mech == "vacancy":
        return "vacancy", f"requested: {el} vacancies hop between the {el} sites of {formula}"
    if mech == "interstitial":
        return "interstitial", f"requested: {el} interstitials hop between voids of {formula}"
    if present:
        return "vacancy", f"auto: {el} is in {formula}, so {el} vacancies hop between its {el} sites"
    return "interstitial", f"auto: {el} is not in {formula}, so {el} interstitials hop between its voids"


def _unique_labels(labels: list[str]) -> list[str]:
    out = []
    for lab in labels:
        if labels.count(lab) == 1:
            out.append(lab)
        else:
            out.append(f"{lab}#{sum(1 for x in out if x.startswith(lab + '#')) + 1}")
    return out


def vacancy_sites(structure: Structure, ion: str, symprec: float = SYMPREC) -> list[Site]:
    """The symmetry-distinct sites of ``ion`` in ``structure`` (InputError if it has none)."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    el = ion_element(ion)
    choose_mechanism(structure, el, "vacancy")
    host = _host(structure)
    sym = SpacegroupAnalyzer(host, symprec=symprec).get_symmetrized_structure()
    sites = []
    for group, wyckoff in zip(sym.equivalent_sites, sym.wyckoff_symbols, strict=True):
        if group[0].specie.symbol != el:
            continue
        sites.append(
            Site(
                frac=tuple(float(x) for x in group[0].frac_coords),
                kind="vacancy",
                label=f"{el}-{wyckoff}",
                multiplicity=len(group),
                wyckoff=wyckoff,
                energy_eV=None,
                orbit=[tuple(float(x) for x in s.frac_coords) for s in group],
            )
        )
    for s, lab in zip(sites, _unique_labels([s.label for s in sites]), strict=True):
        s.label = lab
    return sites


# ---------------------------------------------------------------- interstitials: symmetry helpers


def _symmetry_ops(host: Structure, symprec: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (k,3,3) and translations (k,3) of the host's space group in fractional coordinates of its cell."""
    import spglib

    cell = (host.lattice.matrix, host.frac_coords, [s.specie.Z for s in host])
    try:
        ds = spglib.get_symmetry_dataset(cell, symprec=symprec)
    except spglib.SpglibError:  # spglib's new error handling (dsei/__init__) raises where it returned None
        ds = None
    if ds is None:
        return np.eye(3, dtype=int)[None], np.zeros((1, 3))
    return np.asarray(ds.rotations), np.asarray(ds.translations)


def _periodic_dist(lattice_matrix: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances (Å) between frac point(s) a (…,3) and b (3,) under periodic boundary conditions."""
    d = np.asarray(a) - np.asarray(b)
    d = d - np.rint(d)
    # the minimum-image by rounding is exact enough for the short tolerances used here (< half a cell)
    return np.linalg.norm(d @ lattice_matrix, axis=-1)


def _snap(frac: np.ndarray, rots: np.ndarray, trans: np.ndarray, matrix: np.ndarray, tol: float) -> np.ndarray:
    """Project a position onto its (approximate) site symmetry: average of the images g(x) that lie within
    ``tol`` of x, each unwrapped next to x. Removes the numerical noise of a relaxation so that the orbit and
    the Wyckoff position come out exact."""
    images = np.einsum("kij,j->ki", rots, frac) + trans
    images = images - np.rint(images - frac)
    close = np.linalg.norm((images - frac) @ matrix, axis=1) < tol
    return np.mod(images[close].mean(axis=0), 1.0) if close.any() else np.mod(frac, 1.0)


def _orbit(frac: np.ndarray, rots: np.ndarray, trans: np.ndarray, matrix: np.ndarray, tol: float) -> list[np.ndarray]:
    images = np.mod(np.einsum("kij,j->ki", rots, frac) + trans, 1.0)
    out: list[np.ndarray] = []
    for p in images:
        if not out or np.min(_periodic_dist(matrix, np.array(out), p)) > tol:
            out.append(p)
    return out


def _wyckoff(host: Structure, el: str, orbit: list[np.ndarray], symprec: float) -> str | None:
    """Wyckoff symbol of a position: the ion's group in the symmetrized host + full orbit."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    decorated = host.copy()
    for p in orbit:
        decorated.append(el, p)
    try:
        sym = SpacegroupAnalyzer(decorated, symprec=symprec).get_symmetrized_structure()
    except Exception:  # noqa: BLE001 - spglib failure: the label is optional
        return None
    n = len(host)
    for group_idx, wyckoff in zip(sym.equivalent_indices, sym.wyckoff_symbols, strict=True):
        if n in group_idx:
            return wyckoff
    return None


# ---------------------------------------------------------------- interstitials: candidates and relaxation


def _voronoi_candidates(host: Structure, el: str) -> list[np.ndarray]:
    from pymatgen.analysis.defects.generators import VoronoiInterstitialGenerator

    try:
        found = list(VoronoiInterstitialGenerator().generate(host, [el]))
    except Exception as exc:  # noqa: BLE001 - third-party geometry code
        raise CalculationError(f"{_source(host)}: Voronoi void search failed ({exc})") from exc
    return [np.mod(np.asarray(d.site.frac_coords, dtype=float), 1.0) for d in found]


@dataclass
class InterstitialSearch:
    """What :func:`interstitial_search` did: the kept sites plus every candidate's fate."""

    sites: list[Site]
    candidates: list[dict[str, Any]]
    supercell_matrix: list[list[int]]
    n_supercell_atoms: int
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{sites: [...], candidates: [...], supercell_matrix, n_supercell_atoms, elapsed_s}``."""
        return asdict(self)


def interstitial_search(
    structure: Structure,
    ion: str,
    model,
    energy_window_eV: float = 0.5,
    min_image_A: float = 9.0,
    max_candidates: int = MAX_CANDIDATES,
    fmax: float = 0.05,
    max_steps: int = 200,
    max_atoms: int = 500,
    symprec: float = SYMPREC,
    candidates: list | None = None,
) -> InterstitialSearch:
    """:func:`interstitial_sites` with the details (candidates, relaxed positions, energies, supercell).

    ``candidates``: fractional positions to relax instead of the Voronoi voids (relaxed as given, no
    symmetry reduction or cap)."""
    t0 = time.perf_counter()
    el = ion_element(ion)
    host = _host(structure)
    host.properties = dict(structure.properties or {})
    _check_model_covers(model, el, host, structure)
    rots, trans = _symmetry_ops(host, symprec)
    if candidates is not None:
        cands = [np.mod(np.asarray(p, dtype=float).reshape(3), 1.0) for p in candidates]
        if not cands:
            raise InputError("candidates", "empty list of interstitial candidates")
    else:
        cands = _largest_distinct_voids(host, el, rots, trans, max_candidates, _source(structure))
    sc_matrix, sc_atoms, relaxed = _relax_inserted(host, el, cands, model, min_image_A, max_atoms, fmax, max_steps, energy_window_eV)
    records = [_relaxed_record(cand, atoms, inserted, info, host, rots, trans) for cand, (atoms, inserted, info) in zip(cands, relaxed, strict=True)]
    kept = _merge_equivalent(records, host.lattice.matrix, rots, trans)
    e_min = kept[0]["rec"]["energy_eV"]
    sites, site_of_key = _sites_in_window(kept, host, el, e_min, energy_window_eV, symprec)
    for rec in records:
        idx = site_of_key[rec.pop("site")]
        rec["site_label"] = sites[idx].label if idx is not None else None
        rec["energy_rel_eV"] = round(rec["energy_eV"] - e_min, 6)
        del rec["_frac"]
    return InterstitialSearch(
        sites=sites,
        candidates=records,
        supercell_matrix=np.asarray(sc_matrix).tolist(),
        n_supercell_atoms=sc_atoms,
        elapsed_s=time.perf_counter() - t0,
    )


def _check_model_covers(model, el: str, host: Structure, structure: Structure) -> None:
    """InputError when ``model`` (if it can tell) lacks the ion or an element of the host."""
    if hasattr(model, "missing_elements") and model.missing_elements({el} | {e.symbol for e in host.composition}):
        missing = model.missing_elements({el} | {e.symbol for e in host.composition})
        raise InputError(_source(structure), f"model {getattr(model, 'name', model)} does not cover {sorted(missing)}")


def _largest_distinct_voids(host: Structure, el: str, rots: np.ndarray, trans: np.ndarray, max_candidates: int,
                            source: str) -> list[np.ndarray]:
    """Symmetry-distinct Voronoi voids, the largest (farthest from any host atom) first, at most ``max_candidates``."""
    matrix = host.lattice.matrix
    distinct: list[np.ndarray] = []
    for p in _voronoi_candidates(host, el):
        orbits = (np.array(_orbit(q, rots, trans, matrix, 1e-3)) for q in distinct)
        if not any(np.min(_periodic_dist(matrix, o, p)) < 1e-2 for o in orbits):
            distinct.append(p)
    if not distinct:
        raise CalculationError(f"{source}: no voids found for {el}")
    clearance = [float(np.min(_periodic_dist(matrix, host.frac_coords, p))) for p in distinct]
    order = np.argsort(clearance)[::-1][:max_candidates]
    return [distinct[i] for i in order]


def _relax_inserted(host: Structure, el: str, cands: list[np.ndarray], model, min_image_A: float, max_atoms: int,
                    fmax: float, max_steps: int, energy_window_eV: float):
    """Each candidate inserted into the defect supercell, all relaxed in lockstep (positions only; one batched model
    call per BFGS step). Returns the supercell matrix, its atom count with the ion, and per candidate
    ``(relaxed Atoms, inserted Structure, relaxation info)``."""
    from dsei.models.base import to_atoms
    from dsei.optimize import batched_relax

    matrix = host.lattice.matrix
    m = supercell_matrix(host, min_image_A=min_image_A, max_atoms=max_atoms)
    sc = host.copy()
    sc.make_supercell(m)
    inserted = []
    for p in cands:
        s = sc.copy()
        s.append(el, p @ matrix, coords_are_cartesian=True)
        inserted.append(s)
    atoms = [to_atoms(s) for s in inserted]
    infos = batched_relax(
        atoms, model, fmax=fmax, steps=max_steps, optimizer="BFGS",
        prune_eV=energy_window_eV + PRUNE_MARGIN_EV, prune_after=PRUNE_AFTER_STEPS,
        finite_check="relaxing an interstitial",
    )
    return m, len(sc) + 1, list(zip(atoms, inserted, infos, strict=True))


def _relaxed_record(cand: np.ndarray, atoms, inserted: Structure, info, host: Structure, rots: np.ndarray,
                    trans: np.ndarray) -> dict[str, Any]:
    """One candidate's fate: the ion position mapped back into the host cell (minus the tiny net drift of the host
    atoms, snapped onto its site symmetry), energy, convergence, host displacement and clearance."""
    matrix = host.lattice.matrix
    cell = atoms.cell.array
    d = atoms.get_scaled_positions(wrap=False)[:-1] - inserted.frac_coords[:-1]
    drift = ((d - np.rint(d)) @ cell).mean(axis=0)
    cart = atoms.positions[-1] - drift
    frac = np.mod(np.linalg.solve(matrix.T, cart), 1.0)
    frac = _snap(frac, rots, trans, matrix, SNAP_TOL_A)
    host_disp = np.linalg.norm((d - np.rint(d)) @ cell - drift, axis=1)
    return {
        "candidate_frac": [round(float(x), 6) for x in cand],
        "relaxed_frac": [round(float(x), 6) for x in frac],
        "energy_eV": float(info.evaluation.energy_eV),
        "converged": bool(info.converged),
        "steps": int(info.steps),
        "pruned": bool(info.pruned),
        "max_host_displacement_A": round(float(host_disp.max()), 4),
        "host_distance_A": round(float(host.lattice.get_all_distances(frac[None], host.frac_coords).min()), 4),
        "_frac": frac,
    }


def _merge_equivalent(records: list[dict[str, Any]], matrix: np.ndarray, rots: np.ndarray, trans: np.ndarray) -> list[dict[str, Any]]:
    """Symmetry-equivalent relaxed positions merged into one site (lowest energy first); each record gets the
    ``site`` key of the merged site it belongs to."""
    kept: list[dict[str, Any]] = []
    for rec in sorted(records, key=lambda r: r["energy_eV"]):
        for site in kept:
            if np.min(_periodic_dist(matrix, np.array(site["orbit"]), rec["_frac"])) < MERGE_TOL_A:
                rec["site"] = site["key"]
                break
        else:
            orbit = _orbit(rec["_frac"], rots, trans, matrix, MERGE_TOL_A)
            key = len(kept)
            kept.append({"key": key, "rec": rec, "orbit": orbit})
            rec["site"] = key
    return kept


def _sites_in_window(kept: list[dict[str, Any]], host: Structure, el: str, e_min: float, energy_window_eV: float,
                     symprec: float) -> tuple[list[Site], dict[int, int | None]]:
    """The merged sites within ``energy_window_eV`` of the lowest as :class:`Site` (unique labels), and the index
    of each merged site's :class:`Site` (None: outside the window)."""
    sites: list[Site] = []
    site_of_key: dict[int, int | None] = {}
    for site in kept:
        rec = site["rec"]
        rel = rec["energy_eV"] - e_min
        if rel > energy_window_eV + 1e-12:
            site_of_key[site["key"]] = None
            continue
        wyckoff = _wyckoff(host, el, site["orbit"], symprec)
        sites.append(
            Site(
                frac=tuple(float(x) for x in rec["_frac"]),
                kind="interstitial",
                label=f"{el}i-{wyckoff}" if wyckoff else f"{el}i-{len(sites) + 1}",
                multiplicity=len(site["orbit"]),
                wyckoff=wyckoff,
                energy_eV=float(rel),
                orbit=[tuple(float(x) for x in p) for p in site["orbit"]],
                converged=rec["converged"],
                host_distance_A=rec["host_distance_A"],
                max_host_displacement_A=rec["max_host_displacement_A"],
            )
        )
        site_of_key[site["key"]] = len(sites) - 1
    for s, lab in zip(sites, _unique_labels([s.label for s in sites]), strict=True):
        s.label = lab
    return sites, site_of_key


def interstitial_sites(
    structure: Structure,
    ion: str,
    model,
    energy_window_eV: float = 0.5,
    min_image_A: float = 9.0,
    max_candidates: int = MAX_CANDIDATES,
    fmax: float = 0.05,
    max_steps: int = 200,
    max_atoms: int = 500,
    symprec: float = SYMPREC,
) -> list[Site]:
    """Symmetry-distinct interstitial sites of ``ion`` in ``structure`` within ``energy_window_eV`` of the lowest,
    lowest first (``energy_eV`` relative to it). ``model`` is a loaded :class:`dsei.models.base.Model`. See the
    module docstring for the method; :func:`interstitial_search` also returns every candidate's fate."""
    return interstitial_search(
        structure,
        ion,
        model,
        energy_window_eV=energy_window_eV,
        min_image_A=min_image_A,
        max_candidates=max_candidates,
        fmax=fmax,
        max_steps=max_steps,
        max_atoms=max_atoms,
        symprec=symprec,
    ).sites
