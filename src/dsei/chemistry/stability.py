"""Stability of a phase against a metal anode (Li, Na): reduction reaction, potential and products.

Method: the phase diagram over the phase's elements plus the anode metal M (pymatgen ``PhaseDiagram``,
entries from :class:`~dsei.chemistry.energies.EnergySet`). With M open at chemical potential
μ_M = E_M − e·V (V vs M/M⁺), the phase reacts with M wherever some assemblage on the tie line from the
phase towards M has a lower grand potential. For each critical composition on that line (pymatgen
``get_critical_compositions``) the balanced reaction ``P + x M → products`` has energy ΔE_k; it runs
below V_k = −ΔE_k / x_k, and the **reduction potential** is max_k V_k over x_k > 0 (the first reaction
met as V falls). For a phase on the hull this is the transition chemical potential of the grand-potential
phase diagram; for a metastable phase it includes its own decomposition energy. The products at 0 V are
the decomposition at μ_M = E_M (``GrandPotentialPhaseDiagram``).

Sign conventions: reaction energies are E(products) − E(reactants) per formula unit of the phase, eV;
negative = downhill. A phase with reduction potential ≤ 0 V (or none) is stable against the metal;
``reduction_potential_V`` is then null, and ``lowest_stable_potential_V`` keeps the (negative) value.
"""

from __future__ import annotations

import re
from pathlib import Path

from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition, Element, Structure
from pymatgen.entries.computed_entries import ComputedEntry

from dsei.chemistry.energies import EnergySet, mp_entries
from dsei.errors import InputError
from dsei.models import DEFAULT_CHEMISTRY_MODEL
from dsei.results import Result

ANODES = ("Li", "Na", "K", "Mg", "Ca", "Zn")
TOL = 1e-6


class StabilityResult(Result):
    """JSON: ``{formula, anode, reduction_potential_V, stable_at_0V, reaction, reaction_energy_eV_per_fu,
    products_at_0V, ...}``; potentials vs M/M⁺ (M = anode); energies per formula unit of the phase."""

    formula: str
    anode: str
    reduction_potential_V: float | None
    stable_at_0V: bool
    reaction: str | None
    reaction_energy_eV_per_fu: float | None
    products_at_0V: list[str]
    reduction_potential_V_vs_M: float | None = None
    lowest_stable_potential_V: float | None = None
    metal_consumed_per_fu: float | None = None
    reaction_at_0V: str | None = None
    reaction_energy_at_0V_eV_per_fu: float | None = None
    e_above_hull_eV_per_atom: float | None = None
    chemical_system: str = ""
    model: str = ""
    correction: str = ""
    potential_reference: str = ""
    source: str = ""
    notes: list[str] = []


def _user_structure(phase: str | Path | Structure) -> Structure | None:
    """A structure file, MP id or Structure read and validated (a bulk crystal) — before any model loads; None
    for a formula or library ID."""
    from dsei.structures.validate import prepare

    if isinstance(phase, Structure):
        return prepare(phase, None)
    spec = str(phase)
    if Path(spec).exists() or re.fullmatch(r"mp-\d+", spec):
        return prepare(spec, None)
    return None


def _formula_or_structure(
    phase: str | Path | Structure, es: EnergySet, struct: Structure | None = None, fp: str | None = None
) -> tuple[str, str, float | None]:
    """Resolve a phase spec to (reduced formula, source, energy per f.u. or None for a library phase);
    user structures (``struct``, read by :func:`_user_structure`) are relaxed with the model (cached) and keep
    their own energy."""
    if isinstance(phase, Structure):
        red, e_fu = es.add_structure(struct if struct is not None else phase, "structure", fp)
        return red, "structure", e_fu
    spec = str(phase)
    if Path(spec).exists() or re.fullmatch(r"mp-\d+", spec):
        struct = struct if struct is not None else _user_structure(spec)
        red, e_fu = es.add_structure(struct, spec)
        return red, spec, e_fu
    from dsei.structures.library import get_library

    lib = get_library()
    if spec in {e.id for e in lib} and es.user_entries is None:  # a library ID: that polymorph
        entry = lib.get(spec)
        raw = entry.energy_per_atom_eV.get(es.model)
        if raw is None:
            red, e_fu = es.add_structure(lib.structure(entry.id), spec)
            return red, f"library:{spec}", e_fu
        red = Composition(entry.formula).reduced_formula
        return (
            red,
            f"library:{spec}",
            es.corrected_energy_per_atom(red, float(raw)) * Composition(red).num_atoms,
        )
    try:
        comp = Composition(spec)
        if not comp.valid or comp.num_atoms == 0:
            raise ValueError
    except Exception:  # noqa: BLE001
        raise InputError(spec, "not a file and not a chemical formula") from None
    red = comp.reduced_formula
    if not es.has(red):
        from dsei.chemistry.energies import ensure_library_energies

        if es.user_entries is None:
            ensure_library_energies([red], es.model)
        if not es.has(red):
            raise InputError(
                spec,
                "unknown phase: not in the structure library (see `dsei library list`), the chemistry extra set or the entries given; pass a structure file",
            )
    return red, f"library:{red}", None


def energy_set(
    model: str, correction: str, entries: str | Path | list | None, elements: set[str] | None = None
) -> EnergySet:
    if entries is not None and str(entries).lower() == "mp":
        if elements is None:
            raise InputError("entries", "'mp' needs a chemical system")
        return EnergySet(model, correction, entries=mp_entries(sorted(elements)))
    return EnergySet(model, correction, entries=entries)


def format_reaction(lhs: dict[str, float], rhs: dict[str, float]) -> str:
    """``{formula: coeff}`` on each side → ``"AgF + Li -> LiF + Ag"`` (coefficients ≤ 1e-6 dropped)."""

    def side(d: dict[str, float]) -> str:
        parts = []
        for f, c in d.items():
            if c <= TOL:
                continue
            cs = "" if abs(c - 1) < 1e-4 else (f"{c:.0f} " if abs(c - round(c)) < 1e-4 else f"{c:.4g} ")
            parts.append(f"{cs}{f}")
        return " + ".join(parts)

    return f"{side(lhs)} -> {side(rhs)}"


def _steps(pd: PhaseDiagram, red: str, e_fu: float, anode: str, e_metal: float) -> list[dict]:
    """Every reaction ``P + x M → products`` at the critical compositions on the tie line P → M."""
    el = Element(anode)
    p_comp = Composition(red)
    gc = Composition({k: v for k, v in p_comp.items() if k != el})
    g = gc.num_atoms
    if g <= TOL:
        return []
    out = []
    for cc in pd.get_critical_compositions(Composition(anode), gc):
        cc = cc.fractional_composition
        m_frac = cc[el]
        if 1 - m_frac <= TOL:
            continue
        s = g / (1 - m_frac)
        x = s * m_frac - p_comp[el]
        decomp = pd.get_decomposition(cc)
        products: dict[str, float] = {}
        e_prod = 0.0
        for entry, frac in decomp.items():
            if frac <= TOL:
                continue
            f = entry.composition.reduced_formula
            n_atoms_fu = Composition(f).num_atoms
            products[f] = products.get(f, 0.0) + s * frac / n_atoms_fu
            e_prod += s * frac * entry.energy_per_atom
        d_e = e_prod - e_fu - x * e_metal
        products = {f: float(c) for f, c in products.items()}
        out.append(
            {"x": float(x), "products": products, "dE": float(d_e), "V": float(-d_e / x) if x > TOL else None}
        )
    return out


def analyse(formula: str, anode: str, es: EnergySet, energy_fu: float | None = None) -> dict:
    """The numbers behind :func:`stability` (pure function of the energies). ``energy_fu``: the phase's
    own energy per reduced formula unit (a user structure); default the lowest known polymorph."""
    comp = Composition(formula)
    red = comp.reduced_formula
    elements = {e.symbol for e in comp.elements} | {anode}
    entries = es.entries(elements)
    e_fu = es.energy(red) if energy_fu is None else energy_fu
    if energy_fu is not None:
        entries.append(ComputedEntry(Composition(red), e_fu, entry_id="user-structure"))
    pd = PhaseDiagram(entries)
    e_metal = es.element_reference(anode)
    e_hull = float(pd.get_e_above_hull(ComputedEntry(Composition(red), e_fu), allow_negative=True))
    notes: list[str] = []
    steps = [st for st in _steps(pd, red, e_fu, anode, e_metal) if st["x"] > TOL]
    best = max(steps, key=lambda st: st["V"]) if steps else None
    final = max(steps, key=lambda st: st["x"]) if steps else None
    if final is not None:
        prods = sorted(final["products"], key=lambda f: Composition(f).average_electroneg)
    else:
        prods = [red]
    if e_hull > 1e-3:
        notes.append(
            f"{red} is {e_hull * 1000:.0f} meV/atom above the hull of this chemical system (metastable in this model)"
        )
    v = best["V"] if best else None
    stable = bool(v is None or v <= 0.0)
    return {
        "formula": red,
        "anode": anode,
        "reduction_potential_V": None if stable else v,
        "lowest_stable_potential_V": v if (stable and v is not None) else None,
        "reduction_potential_V_vs_M": v,
        "stable_at_0V": stable,
        "reaction": format_reaction({red: 1.0, anode: best["x"]}, best["products"]) if best else None,
        "reaction_energy_eV_per_fu": best["dE"] if best else None,
        "metal_consumed_per_fu": best["x"] if best else None,
        "products_at_0V": prods,
        "reaction_at_0V": format_reaction({red: 1.0, anode: final["x"]}, final["products"])
        if final
        else None,
        "reaction_energy_at_0V_eV_per_fu": final["dE"] if final else None,
        "e_above_hull_eV_per_atom": e_hull,
        "chemical_system": "-".join(sorted(elements)),
        "notes": notes,
    }


def stability(
    phase: str | Path | Structure,
    anode: str = "Li",
    model: str = DEFAULT_CHEMISTRY_MODEL,
    correction: str = "fitted",
    entries: str | Path | list | None = None,
    fingerprint: str | None = None,
) -> StabilityResult:
    """Reduction of ``phase`` (library formula, structure file or Structure) by the metal ``anode``.
    ``fingerprint``: that of a Structure ``phase``, when the caller already has it (it keys the energy cache)."""
    if anode not in ANODES:
        raise InputError("anode", f"must be one of {', '.join(ANODES)}, not {anode!r}")
    struct = _user_structure(phase)  # a bad or non-bulk file is refused before any energy is computed
    es = energy_set(model, correction, entries, _elements_hint(phase, anode))
    formula, source, e_fu = _formula_or_structure(phase, es, struct, fingerprint)
    if not es.has(anode):
        raise InputError("anode", f"no energy for metal {anode} ({es.description})")
    d = analyse(formula, anode, es, energy_fu=e_fu)
    return StabilityResult(
        **d, model=es.model, correction=es.description, potential_reference=f"{anode}/{anode}+", source=source
    )


def _elements_hint(phase, anode: str) -> set[str] | None:
    try:
        if isinstance(phase, Structure):
            return {e.symbol for e in phase.composition.elements} | {anode}
        return {e.symbol for e in Composition(str(phase)).elements} | {anode}
    except Exception:  # noqa: BLE001
        return None
