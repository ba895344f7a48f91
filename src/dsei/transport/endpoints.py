"""End points of one migration hop in a supercell: vacancy (optionally charge-compensated) and interstitial.

Both functions return ``(start, end, info)``: two pymatgen ``Structure`` objects with **the same atom order**
(the moving ion keeps its index, ``info["moving_index"]``), ready for :func:`dsei.transport.neb.neb`.
Fractional coordinates refer to the supercell passed in; ``end_frac`` may lie outside ``[0, 1)`` (the nearest
periodic image of the target site); the moving ion is placed at the image of the end site nearest to the start
site, so that a straight interpolation follows the short path.

Charge compensation. Removing a neutral Li atom from LiF leaves, besides the Li⁺ vacancy, an electron hole
that the MLIP has to spread over the host (in DFT it localises on F as a polaron or smears out); the barrier
then mixes ion migration with whatever the model makes of the hole. ``compensate="schottky"`` removes in
addition, far from the hop and from each other, the counter-ions (and, where the charges require it,
further ions of the migrating species) that make the removed set charge neutral — a Schottky-type defect
cell: F for LiF, O + one more Li for Li₂O/Li₂S, N + two more Li for Li₃N. Oxidation states come from
pymatgen (``Composition.oxi_state_guesses``, falling back to ``BVAnalyzer``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pymatgen.core import Element, Structure

from dsei.errors import InputError

#: A site given by fractional coordinates must lie within this distance (Å) of an atom of the ion.
SITE_TOLERANCE_A = 0.5


def _frac(x, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float).reshape(-1)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise InputError(what, f"expected three finite fractional coordinates, got {x!r}")
    return arr


def _find_ion(structure: Structure, frac: np.ndarray, ion: str, what: str) -> int:
    """Index of the ``ion`` atom at ``frac`` (periodic, within :data:`SITE_TOLERANCE_A`)."""
    idx = [i for i, sp in enumerate(structure.species) if sp.symbol == ion]
    if not idx:
        raise InputError("structure", f"no {ion} atoms in {structure.composition.reduced_formula}")
    d = structure.lattice.get_all_distances(frac[None, :], structure.frac_coords[idx])[0]
    k = int(np.argmin(d))
    if d[k] > SITE_TOLERANCE_A:
        raise InputError(what, f"no {ion} atom within {SITE_TOLERANCE_A} Å of {np.round(frac, 4).tolist()} (nearest {d[k]:.2f} Å)")
    return idx[k]


def oxidation_states(structure: Structure) -> dict[str, float]:
    """Element → oxidation state: pymatgen's most probable guess, else bond valence (``BVAnalyzer``)."""
    comp = structure.composition
    try:
        guesses = comp.reduced_composition.oxi_state_guesses()
    except Exception:  # noqa: BLE001 - pymatgen raises various errors on odd compositions; try BV below
        guesses = []
    if guesses:
        return {str(k): float(v) for k, v in guesses[0].items()}
    try:
        from pymatgen.analysis.bond_valence import BVAnalyzer

        valences = BVAnalyzer().get_valences(structure)
    except Exception as exc:  # noqa: BLE001 - BVAnalyzer raises ValueError or others
        raise InputError("structure", f"cannot assign oxidation states to {comp.reduced_formula} for a charge-neutral defect cell") from exc
    out: dict[str, list[float]] = {}
    for sp, v in zip(structure.species, valences, strict=True):
        out.setdefault(sp.symbol, []).append(float(v))
    return {k: float(np.mean(v)) for k, v in out.items()}


def schottky_set(structure: Structure, ion: str) -> tuple[str, int, int]:
    """The smallest charge-neutral vacancy set containing one ``ion``: ``(counter_element, n_counter, n_extra_ion)``.

    With ion charge q and counter-ion charge c of opposite sign: ``(1 + n_extra)·|q| = n_counter·|c|``, the
    smallest solution (lcm). Among several counter-ion elements, the one needing the fewest removed atoms,
    then the most abundant, then the most electronegative (e.g. F in LiF, O + 1 Li in Li₂O, N + 2 Li in Li₃N).
    """
    ox = oxidation_states(structure)
    q = ox.get(ion, 0.0)
    if abs(q) < 1e-6 or abs(q - round(q)) > 1e-6:
        raise InputError("structure", f"{ion} has oxidation state {q:g} in {structure.composition.reduced_formula}; a Schottky cell needs an integer ionic charge")
    q = round(q)
    comp = structure.composition.get_el_amt_dict()
    options = []
    for el, c in ox.items():
        if el == ion or c * q >= 0 or abs(c - round(c)) > 1e-6:
            continue
        c = round(c)
        lcm = abs(q * c) // math.gcd(abs(q), abs(c))
        n_counter, n_extra = lcm // abs(c), lcm // abs(q) - 1
        options.append((n_counter + n_extra, -comp.get(el, 0.0), -Element(el).X, el, n_counter, n_extra))
    if not options:
        raise InputError("structure", f"no counter-ion of opposite charge to {ion} in {structure.composition.reduced_formula}")
    _, _, _, el, n_counter, n_extra = min(options)
    return el, n_counter, n_extra


def _farthest(structure: Structure, candidates: list[int], anchors: list[np.ndarray]) -> tuple[int, float]:
    """The candidate whose shortest periodic distance to the anchor points (fractional) is largest."""
    d = structure.lattice.get_all_distances(structure.frac_coords[candidates], np.array(anchors))
    dmin = d.min(axis=1)
    k = int(np.argmax(dmin))
    return candidates[k], float(dmin[k])


def vacancy_endpoints(
    host_supercell: Structure,
    start_frac,
    end_frac,
    ion: str,
    compensate: str | None = None,
) -> tuple[Structure, Structure, dict[str, Any]]:
    """Start and end of a vacancy hop of ``ion`` from ``start_frac`` to ``end_frac``.

    ``host_supercell`` contains the ion on both sites. Start: the ion at ``start_frac``, a vacancy at
    ``end_frac``. End: the same ion (same index) moved to ``end_frac``, a vacancy at ``start_frac``.
    ``compensate="schottky"`` also removes the counter-ions and extra ions of :func:`schottky_set`, each as
    far as possible (greedy max-min periodic distance) from the hop's two sites and from the atoms already
    removed. ``info``: ``moving_index``, ``hop_distance_A``, ``removed`` (element, frac, distance to the hop),
    ``compensate``.
    """
    if compensate not in (None, "none", "schottky"):
        raise InputError("compensate", f"must be None or 'schottky', not {compensate!r}")
    s_frac, e_frac = _frac(start_frac, "start_frac"), _frac(end_frac, "end_frac")
    i_s = _find_ion(host_supercell, s_frac, ion, "start_frac")
    i_e = _find_ion(host_supercell, e_frac, ion, "end_frac")
    if i_s == i_e:
        raise InputError("end_frac", "start and end are the same site")
    lat = host_supercell.lattice
    # the image of the end site nearest to the start atom (the short hop), whatever image end_frac named
    _, image = lat.get_distance_and_image(host_supercell.frac_coords[i_s], host_supercell.frac_coords[i_e])
    target = host_supercell.frac_coords[i_e] + image
    hop_A = float(np.linalg.norm(lat.get_cartesian_coords(target - host_supercell.frac_coords[i_s])))
    anchors = [host_supercell.frac_coords[i_s], host_supercell.frac_coords[i_e]]
    removed = [i_e]
    info_removed = [{"element": ion, "frac": [float(x) for x in host_supercell.frac_coords[i_e]], "role": "hop vacancy", "distance_to_hop_A": 0.0}]
    if compensate == "schottky":
        counter, n_counter, n_extra = schottky_set(host_supercell, ion)
        plan = [counter] * n_counter + [ion] * n_extra
        for el in plan:
            cands = [i for i, sp in enumerate(host_supercell.species) if sp.symbol == el and i not in removed and i != i_s]
            if not cands:
                raise InputError("structure", f"the supercell has too few {el} atoms for a Schottky defect cell")
            k, _ = _farthest(host_supercell, cands, anchors + [host_supercell.frac_coords[j] for j in removed[1:]])
            d_hop = float(lat.get_all_distances(host_supercell.frac_coords[[k]], np.array(anchors)).min())
            removed.append(k)
            info_removed.append(
                {"element": el, "frac": [float(x) for x in host_supercell.frac_coords[k]], "role": "compensation", "distance_to_hop_A": d_hop}
            )
    start = host_supercell.copy()
    start.remove_sites(sorted(removed))
    moving = i_s - sum(1 for j in removed if j < i_s)
    end = start.copy()
    # keep the (possibly out-of-cell) image so a straight line in Cartesian space is the short path
    end.replace(moving, end[moving].species, coords=target - host_supercell.frac_coords[i_s] + start.frac_coords[moving], coords_are_cartesian=False)
    info: dict[str, Any] = {
        "mechanism": "vacancy",
        "moving_index": int(moving),
        "hop_distance_A": hop_A,
        "compensate": compensate if compensate == "schottky" else None,
        "removed": info_removed,
        "n_atoms": len(start),
    }
    if len(info_removed) > 1:
        fr = np.array([r["frac"] for r in info_removed])
        d = lat.get_all_distances(fr, fr)
        info["min_distance_between_removed_A"] = float(d[np.triu_indices(len(fr), 1)].min())
    return start, end, info


def interstitial_endpoints(host_supercell: Structure, start_frac, end_frac, ion: str) -> tuple[Structure, Structure, dict[str, Any]]:
    """Start and end of an interstitial hop: the host plus one ``ion`` (appended last) at ``start_frac`` / ``end_frac``.

    ``info``: ``moving_index`` (= number of host atoms), ``hop_distance_A`` and the shortest distance from the
    ion to a host atom at each end (``min_host_distance_A``), which flags a site that overlaps the host.
    """
    s_frac, e_frac = _frac(start_frac, "start_frac"), _frac(end_frac, "end_frac")
    try:
        Element(ion)
    except ValueError as exc:
        raise InputError("ion", f"{ion!r} is not an element") from exc
    lat = host_supercell.lattice
    start = host_supercell.copy()
    start.append(ion, s_frac, coords_are_cartesian=False)
    end = host_supercell.copy()
    end.append(ion, e_frac, coords_are_cartesian=False)
    host_fc = host_supercell.frac_coords
    dmin = [float(lat.get_all_distances(f[None, :], host_fc).min()) if len(host_fc) else math.inf for f in (s_frac, e_frac)]
    info = {
        "mechanism": "interstitial",
        "moving_index": len(host_supercell),
        "hop_distance_A": float(np.linalg.norm(lat.get_cartesian_coords(e_frac - s_frac))),
        "min_host_distance_A": dmin,
        "n_atoms": len(start),
    }
    return start, end, info
