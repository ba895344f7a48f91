"""Candidate enumeration by ionic substitution into known prototypes (``dsei discover``, step 1).

For an anode (Li, Na, K) and a chemical space (cations, anions), every prototype of
``data/prototypes.json.gz`` (the built-in library, the chemistry set's extra structures, the shared SEI
structures and the structures of the two elasticity sets: ``scripts/build_prototypes.py``) whose ions can be
replaced one-to-one by ions of the space *with the same charge* gives a candidate — so every candidate is charge
balanced by construction (tested). Targets: the anode as M⁺; each cation in its positive ICSD oxidation states
up to its highest common one (pymatgen ``Element``: Cu⁺/Cu²⁺, In⁺…In³⁺, Sn²⁺…Sn⁴⁺, Ag⁺, Zn²⁺, Bi⁺…Bi³⁺); each
anion at its usual charge (:data:`dsei.chemistry.energies.ANION_CHARGE`). Binaries and ternaries
(anode–metal–anion, metal–metal–anion, metal–mixed-anion) come out of binary and ternary prototypes.

Each substitution is scored by pymatgen's substitution probability P(new ions | prototype ions) (the lambda
table of G. Hautier et al., Inorg. Chem. 50, 656 (2011), shipped inside pymatgen: offline), candidates are
built in decreasing probability, the cell is scaled by the cube root of Σ r_ion³ (new / old; Shannon radii via
pymatgen, a simple ionic volume predictor) and deduplicated by :func:`dsei.structures.fingerprint.fingerprint`,
until ``max_candidates`` unique ones exist. Every substitution that does not become a candidate is counted under
its reason (:attr:`Enumeration.dropped`).
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from pymatgen.core import Composition, Element, Species, Structure

from dsei.chemistry.energies import ANION_CHARGE
from dsei.errors import InputError

ANODES = ("Li", "Na", "K")
DEFAULT_CATIONS = ("Ag", "Cu", "Zn", "Sn", "Bi", "In")
DEFAULT_ANIONS = ("F", "Cl", "Br", "I", "O", "S", "Se", "N")
#: rough memory one enumerated candidate holds (structure dict, fingerprint, features), bytes — measured ~15 kB
#: for 10,000 candidates of ≤ 24 sites; doubled for headroom
BYTES_PER_CANDIDATE = 30_000
#: closest approach allowed after scaling, as a fraction of the sum of the two ionic radii
MIN_CONTACT = 0.6
#: a prototype ion with this many symmetry-distinct orbits (inclusive range) may be split between two ions
SPLIT_ORBITS = (2, 3)


@dataclass
class Enumeration:
    """The candidates (pymatgen structures, best substitution probability first) and what was dropped."""

    structures: list[Structure]
    records: list[dict]
    substitutions: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    prototypes: int = 0

    def summary(self) -> dict:
        return {"prototypes": self.prototypes, "substitutions": self.substitutions, "candidates": len(self.structures),
                "dropped": dict(self.dropped)}


@functools.lru_cache(maxsize=1)
def load_prototypes() -> list[dict]:
    path = resources.files("dsei.discovery") / "data" / "prototypes.json.gz"
    with gzip.open(str(path), "rt") as fh:
        return json.load(fh)["prototypes"]


@functools.lru_cache(maxsize=1)
def _substitution_probability():
    from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability

    return SubstitutionProbability()


@functools.lru_cache(maxsize=1024)
def _cond_prob(new: Species, old: Species) -> float:
    """pymatgen's conditional substitution probability of ``old`` → ``new`` (Hautier et al., Inorg. Chem. 50, 656
    (2011)), exp λ(new, old) / p_x(old), with p_x(old) = Σ_s exp λ(s, old) summed by ``math.fsum``. pymatgen's own
    ``cond_prob`` sums p_x over a set, whose order changes with PYTHONHASHSEED: the last bits of every probability
    then differ between processes, and with them the order of near-ties and which candidates a ``--max-candidates``
    cut keeps, so a resumed run would not enumerate the same list. fsum is exactly rounded, hence order-free."""
    sp = _substitution_probability()
    if old not in sp.species:  # as pymatgen: p_x 0, an ion the lambda table has never seen
        raise ZeroDivisionError(f"{old} is not in pymatgen's substitution table")
    px = math.fsum(math.exp(sp.get_lambda(s, old)) for s in sp.species)
    return math.exp(sp.get_lambda(new, old)) / px


@functools.lru_cache(maxsize=512)
def _radius(symbol: str, charge: int) -> float:
    try:
        r = Species(symbol, charge).ionic_radius
    except Exception:  # noqa: BLE001 - no Shannon radius for this ion
        r = None
    if r is None:
        el = Element(symbol)
        r = el.atomic_radius or 1.5
    return float(r)


def _element(symbol: str, option: str) -> Element:
    try:
        return Element(symbol.strip())
    except (ValueError, KeyError):
        raise InputError(option, f"unknown element {symbol.strip()!r}") from None


def cation_charges(symbol: str) -> tuple[int, ...]:
    """Positive ICSD oxidation states of a metal up to its highest common positive one (see module doc)."""
    el = Element(symbol)
    common = [q for q in el.common_oxidation_states if q > 0]
    top = max(common) if common else max([q for q in el.icsd_oxidation_states if q > 0], default=0)
    return tuple(sorted({q for q in (*el.icsd_oxidation_states, *common) if 0 < q <= top}))


def check_space(anode: str, cations: list[str], anions: list[str]) -> tuple[str, list[str], list[str]]:
    """Validate the chemical space; one :class:`InputError` naming the option at fault."""
    a = _element(anode, "--anode")
    if not a.is_metal:
        raise InputError("anode", f"{a.symbol} is not a metal (anodes: {', '.join(ANODES)})")
    if a.symbol not in ANODES:
        raise InputError("anode", f"{a.symbol}: supported anodes are {', '.join(ANODES)}")
    cats = [_element(c, "--cations").symbol for c in cations if c.strip()]
    ans = [_element(x, "--anions").symbol for x in anions if x.strip()]
    for c in cats:
        if not Element(c).is_metal:
            raise InputError("cations", f"{c} is not a metal")
        if not cation_charges(c):
            raise InputError("cations", f"{c} has no positive oxidation state")
    for x in ans:
        if x not in ANION_CHARGE:
            raise InputError("anions", f"{x} is not an anion dsei knows (known: {', '.join(ANION_CHARGE)})")
    if not ans:
        raise InputError("anions", "empty chemical space: give at least one anion")
    return a.symbol, list(dict.fromkeys(cats)), list(dict.fromkeys(ans))


def _targets(anode: str, cations: list[str], anions: list[str]) -> dict[int, list[tuple[str, int]]]:
    by_q: dict[int, list[tuple[str, int]]] = {}
    by_q.setdefault(1, []).append((anode, 1))
    for c in cations:
        for q in cation_charges(c):
            if (c, q) not in by_q.get(q, []):
                by_q.setdefault(q, []).append((c, q))
    for x in anions:
        by_q.setdefault(ANION_CHARGE[x], []).append((x, ANION_CHARGE[x]))
    return by_q


def substitutions(anode: str, cations: list[str], anions: list[str], exclude_formulas=(), max_elements: int = 3):
    """Every (prototype, orbit map) of the space, unscored: list of (prototype index, [(el, q) per orbit]).

    Each symmetry-distinct site orbit of a prototype takes an ion of the space with the charge of the prototype
    ion on it (so the result is charge balanced); orbits of one prototype ion may take different ions (ordered
    ternaries such as LiAgS from acanthite, mixed anions). At most ``max_elements`` elements per candidate."""
    by_q = _targets(anode, cations, anions)
    excl = {Composition(f).reduced_formula for f in exclude_formulas}
    out, dropped = [], {"prototype excluded": 0}
    for i, p in enumerate(load_prototypes()):
        if p["formula"] in excl:
            dropped["prototype excluded"] += 1
            continue
        site_el = [site["species"][0]["element"] for site in p["structure"]["sites"]]
        olds = [site_el[o[0]] for o in p["orbits"]]
        ions = sorted(set(olds))
        per_ion = []
        for el in ions:
            idx = [k for k, o in enumerate(olds) if o == el]
            targets = by_q.get(p["charges"][el], [])
            opts = [{k: t for k in idx} for t in targets]
            if SPLIT_ORBITS[0] <= len(idx) <= SPLIT_ORBITS[1]:  # ordered splits over 2-3 orbits (not more: variants explode)
                for t1, t2 in itertools.combinations(targets, 2):
                    for pick in itertools.product((t1, t2), repeat=len(idx)):
                        if len(set(pick)) == 2:
                            opts.append(dict(zip(idx, pick, strict=True)))
            per_ion.append(opts)
        if any(not o for o in per_ion):
            continue
        for combo in itertools.product(*per_ion):
            used = [{t[0] for t in c.values()} for c in combo]
            allels = set().union(*used)
            if len(allels) > max_elements or sum(len(u) for u in used) != len(allels):
                continue  # at most ternary; two prototype ions never become the same element
            merged = {k: v for c in combo for k, v in c.items()}
            out.append((i, tuple(merged[k] for k in range(len(olds)))))
    return out, dropped


def estimate_memory_check(n: int, memory_gb: float | None) -> None:
    limit = (memory_gb * 1e9) if memory_gb else 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    need = n * BYTES_PER_CANDIDATE
    if need > limit:
        raise InputError("max_candidates", f"a space of {n} candidates needs ~{need / 1e9:.1f} GB, more than the "
                         f"{limit / 1e9:.1f} GB allowed; narrow --cations/--anions or lower --max-candidates")


def enumerate_candidates(anode: str = "Li", cations=DEFAULT_CATIONS, anions=DEFAULT_ANIONS,
                         max_candidates: int = 10_000, exclude_formulas=(), max_sites: int = 24,
                         memory_gb: float | None = None) -> Enumeration:
    """Charge-balanced candidate structures of the space, best substitution probability first (module doc)."""
    from dsei.structures.fingerprint import fingerprint

    anode, cations, anions = check_space(anode, list(cations), list(anions))
    if max_candidates < 1:
        raise InputError("max_candidates", "must be ≥ 1")
    subs, dropped = substitutions(anode, cations, anions, exclude_formulas)
    if not subs:
        raise InputError("cations", f"empty chemical space: no prototype fits {anode}, {'/'.join(cations) or '-'} × {'/'.join(anions)}")
    estimate_memory_check(min(len(subs), max_candidates), memory_gb)
    protos = load_prototypes()
    scored = []
    no_prob = 0
    for i, combo in subs:
        site_el = [site["species"][0]["element"] for site in protos[i]["structure"]["sites"]]
        pairs = {(site_el[o[0]], new) for o, new in zip(protos[i]["orbits"], combo, strict=True)}
        try:  # one factor per distinct (old ion → new ion) pair, however many orbits it covers, in a fixed order
            p = float(np.prod([_cond_prob(Species(*new), Species(old, protos[i]["charges"][old])) for old, new in sorted(pairs)]))
        except ZeroDivisionError:  # an ion the lambda table has never seen
            no_prob += 1
            continue
        scored.append((-p, i, combo))
    if no_prob:
        dropped["no substitution probability (ion not in pymatgen's table)"] = no_prob
    scored.sort(key=lambda t: (t[0], t[1]))
    excl = {Composition(f).reduced_formula for f in exclude_formulas}
    structs, recs, seen = [], [], set()
    for k in ("duplicate (same fingerprint)", "short contact after scaling", "too many sites", "beyond --max-candidates"):
        dropped[k] = 0
    for n_done, (negp, i, m) in enumerate(scored):
        if len(structs) >= max_candidates:
            dropped["beyond --max-candidates"] += len(scored) - n_done
            break
        p = protos[i]
        s = Structure.from_dict(p["structure"])
        if len(s) > max_sites:
            dropped["too many sites"] += 1
            continue
        old_species = [site.specie.symbol for site in s]
        new_ion = [None] * len(s)
        for orbit, ion in zip(p["orbits"], m, strict=True):
            for j in orbit:
                new_ion[j] = ion
        old_r = sum(_radius(o, p["charges"][o]) ** 3 for o in old_species)
        new_r = sum(_radius(*ion) ** 3 for ion in new_ion)
        for j, ion in enumerate(new_ion):
            s.replace(j, ion[0])
        s.scale_lattice(s.volume * new_r / old_r)
        s.add_site_property("ionic_charge", [int(ion[1]) for ion in new_ion])
        dm = s.distance_matrix + np.eye(len(s)) * 1e3
        rr = np.array([_radius(*ion) for ion in new_ion])
        if len(s) > 1 and np.min(dm / (rr[:, None] + rr[None, :])) < MIN_CONTACT:
            dropped["short contact after scaling"] += 1
            continue
        fp = fingerprint(s)
        if fp in seen:
            dropped["duplicate (same fingerprint)"] += 1
            continue
        seen.add(fp)
        red = s.composition.reduced_formula
        s.properties = {"source": f"substituted:{p['id']}", "prototype": p["id"], "fingerprint": fp}
        structs.append(s)
        recs.append({"formula": red, "prototype": p["id"], "prototype_formula": p["formula"], "prototype_mp_id": p["mp_id"],
                     "substitution": sorted({f"{old}->{el}{q:+d}" for old, (el, q) in zip((old_species[o[0]] for o in p["orbits"]), m, strict=True)}),
                     "substitution_probability": -negp,
                     "fingerprint": fp, "known_formula_excluded": red in excl})
    return Enumeration(structs, recs, substitutions=len(subs), dropped={k: v for k, v in dropped.items() if v}, prototypes=len(protos))
