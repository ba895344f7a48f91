"""Conversion of a native SEI phase by an additive cation: ``Li_aX + (a/z) M^z+ → M_pX_q + a Li+``.

The additive is given as a salt (``AgNO3``, ``Cu(NO3)2``, ``Zn(OTf)2``, ``In(TFSI)3`` …) or an ion
(``Ag+``, ``Cu2+``); only its cation M^z+ matters for the ionic route. The product is the M–X phase in
which M keeps its charge z (metathesis, no net redox), the lowest polymorph the energy set knows.

Driving force (per formula unit of the native phase, eV; **negative = favourable**)::

    ΔG = ΔE_solid + ΔG_ion
    ΔE_solid = E(M_pX_q)·(b/q) + a·E(A) − E(A_aX_b) − (a/z)·E(M)          (0 K solid energies, item 1)
    ΔG_ion   = −a·e·[E°(M^z+/M) − E°(A+/A)]                                 (standard potentials, V vs SHE)

i.e. the solid exchange ``A_aX_b + (a/z) M → product + a A`` plus ``(a/z) M^z+ + a A → (a/z) M + a A+``.
Per exchanged Li, ΔG/a = V_red(product) − [E°(M^z+/M) − E°(A+/A)], where V_red is the potential (vs
A/A+) at which the product would be reduced back to A_aX_b + M: the additive converts the native phase
when its cation is more oxidising than that reduction potential. E° are the aqueous values (CRC
Electrochemical Series / Bard–Parsons–Jordan, ``data/thermo_exp.json``); in aprotic electrolytes the
ion solvation energies differ and the ionic term is an estimate — the all-solid version (salt + native →
product + Li salt), computed where both salts have energies, has no such term.

Balancing is done here by charge and atom counting (binary native, binary product, one cation) and
checked with pymatgen's ``Reaction``: the reactions are fixed by the exchange, not by a
least-squares balance that could pick another product.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pymatgen.core import Composition

from dsei.chemistry.energies import ANION_CHARGE, ANION_ELEMENTS, EnergySet
from dsei.chemistry.stability import energy_set, format_reaction
from dsei.errors import InputError
from dsei.models import DEFAULT_CHEMISTRY_MODEL
from dsei.results import Result

#: polyatomic / abbreviated anions of common salts → (charge, formula used for the all-solid route or None)
SALT_ANIONS = {
    "NO3": (-1, "NO3"),
    "ClO4": (-1, "ClO4"),
    "PF6": (-1, "PF6"),
    "BF4": (-1, "BF4"),
    "AsF6": (-1, "AsF6"),
    "OTf": (-1, None),
    "CF3SO3": (-1, None),
    "TFSI": (-1, None),
    "TFSA": (-1, None),
    "FSI": (-1, None),
    "FSA": (-1, None),
    "BOB": (-1, None),
    "DFOB": (-1, None),
    "OAc": (-1, None),
    "CH3COO": (-1, None),
    "acac": (-1, None),
    "HCOO": (-1, None),
    "SO4": (-2, "SO4"),
    "CO3": (-2, "CO3"),
    "NO2": (-1, "NO2"),
    "F": (-1, "F"),
    "Cl": (-1, "Cl"),
    "Br": (-1, "Br"),
    "I": (-1, "I"),
}
#: additives ranked by default (salt formulas as a user would write them; Cu(I) as the ion)
DEFAULT_ADDITIVES = (
    "AgNO3",
    "Cu+",
    "Cu(NO3)2",
    "Zn(NO3)2",
    "Mg(NO3)2",
    "Sn(OTf)2",
    "In(NO3)3",
    "Bi(NO3)3",
    "Al(NO3)3",
)


class ConversionResult(Result):
    """JSON: ``{native, additive, cation, reaction, driving_force_eV_per_fu, driving_force_eV_per_Li,
    favorable, ...}``; energies per formula unit of the native phase, negative = favourable."""

    native: str
    additive: str
    cation: str
    reaction: str | None
    driving_force_eV_per_fu: float | None
    driving_force_eV_per_Li: float | None
    favorable: bool | None
    product: str | None = None
    anode: str = "Li"
    exchanged_per_fu: float | None = None
    solid_exchange_energy_eV_per_fu: float | None = None
    ionic_term_eV_per_fu: float | None = None
    electrode_potentials_V_vs_SHE: dict[str, float] = {}
    solid_state_reaction: str | None = None
    solid_state_energy_eV_per_fu: float | None = None
    experimental_driving_force_eV_per_fu: float | None = None
    experimental_solid_state_energy_eV_per_fu: float | None = None
    #: with ``dsei convert --mechanics``: the product's Pugh ratio B/G and ductility verdict (default elastic
    #: model, :func:`dsei.campaign.design.with_product_mechanics`), so a ranking shows which favourable products are ductile
    product_pugh_ratio: float | None = None
    product_verdict: str | None = None
    sign_convention: str = "energies are products minus reactants; negative = favourable (downhill)"
    model: str = ""
    correction: str = ""
    notes: list[str] = []


@lru_cache(maxsize=1)
def electrode_potentials() -> dict[str, tuple[int, float]]:
    from dsei.chemistry.corrections import thermo_data

    return {
        k: (int(v[0]), float(v[1]))
        for k, v in thermo_data()["electrode_potentials_V_vs_SHE"]["couples"].items()
    }


def standard_potential(metal: str, z: int) -> float:
    key = f"{metal}{'' if z == 1 else z}+/{metal}"
    pots = electrode_potentials()
    if key not in pots:
        raise InputError(key, f"no standard potential in the table (have: {', '.join(sorted(pots))})")
    return pots[key][1]


def parse_additive(additive: str) -> tuple[str, int, str | None, int]:
    """``"Cu(NO3)2"`` → ``("Cu", 2, "NO3", 2)``: cation, its charge, the anion formula (None if it has no
    simple formula, e.g. OTf) and anions per cation. Ions: ``"Ag+"``, ``"Cu2+"``, ``"In3+"``."""
    s = additive.strip()
    m = re.fullmatch(r"([A-Z][a-z]?)(\d*)\+", s)
    if m:
        return m.group(1), int(m.group(2) or 1), None, 0
    m = re.fullmatch(r"([A-Z][a-z]?)(\d*)(.+)", s)
    if not m:
        raise InputError(
            additive, "not a salt formula (e.g. AgNO3, Cu(NO3)2, Zn(OTf)2) or an ion (Ag+, Cu2+)"
        )
    cation, n_cat, rest = m.group(1), int(m.group(2) or 1), m.group(3)
    pm = re.fullmatch(r"\((\w+)\)(\d*)", rest)
    if pm:
        name, count = pm.group(1), int(pm.group(2) or 1)
    else:
        name = next((a for a in sorted(SALT_ANIONS, key=len, reverse=True) if rest.startswith(a)), None)
        if name is None:
            raise InputError(additive, f"unknown anion {rest!r} (known: {', '.join(SALT_ANIONS)})")
        tail = rest[len(name) :]
        if tail and not tail.isdigit():
            raise InputError(additive, f"cannot parse the anion part {rest!r}")
        count = int(tail or 1)
    if name not in SALT_ANIONS:
        raise InputError(additive, f"unknown anion {name!r} (known: {', '.join(SALT_ANIONS)})")
    charge, formula = SALT_ANIONS[name]
    z_total = -charge * count
    if z_total % n_cat:
        raise InputError(additive, "the cation charge is not an integer")
    try:
        Composition(cation)
    except Exception:  # noqa: BLE001
        raise InputError(additive, f"{cation!r} is not an element") from None
    return cation, z_total // n_cat, formula, count // n_cat if count % n_cat == 0 else count


def _native_parts(native: str, anode: str) -> tuple[Composition, str, float, float]:
    comp = Composition(native)
    els = {e.symbol for e in comp.elements}
    anions = [e for e in els if e in ANION_ELEMENTS]
    if anode not in els or len(els) != 2 or len(anions) != 1:
        raise InputError(
            native,
            f"a native phase must be a binary of the anode metal {anode} with one anion (LiF, Li2S, Li2O, Li3N, LiCl …)",
        )
    x = anions[0]
    return comp, x, comp[anode], comp[x]


def _product_candidates(es: EnergySet, metal: str, x: str, z: int) -> list[str]:
    """M–X binaries known to the energy set in which M has charge z (from the anion's formal charge)."""
    out = []
    for f in es.phases():
        c = Composition(f)
        if {e.symbol for e in c.elements} != {metal, x} or x not in ANION_CHARGE:
            continue
        if abs(c[x] * -ANION_CHARGE[x] - c[metal] * z) < 1e-6:
            out.append(f)
    return out


def convert(
    native: str,
    additive: str,
    anode: str = "Li",
    model: str = DEFAULT_CHEMISTRY_MODEL,
    correction: str = "fitted",
    entries=None,
    es: EnergySet | None = None,
) -> ConversionResult:
    """Driving force for converting ``native`` (e.g. Li2S) with the cation of ``additive`` (e.g. AgNO3)."""
    native_comp, x, a, b = _native_parts(native, anode)
    native_red = native_comp.reduced_formula
    metal, z, salt_anion, _per = parse_additive(additive)
    if es is None:
        es = energy_set(model, correction, entries, {anode, metal, x})
    e_m = standard_potential(metal, z)
    e_a = standard_potential(anode, 1)
    cation = f"{metal}{'' if z == 1 else z}+"
    base = {
        "native": native_red,
        "additive": additive,
        "cation": cation,
        "anode": anode,
        "model": es.model,
        "correction": es.description,
        "electrode_potentials_V_vs_SHE": {f"{cation}/{metal}": e_m, f"{anode}+/{anode}": e_a},
    }
    if not es.has(native_red):
        raise InputError(native, "unknown native phase: not in the library or the entries given")
    # per reduced formula unit of the native phase
    nat = Composition(native_red)
    a, b = nat[anode], nat[x]
    cands = _product_candidates(es, metal, x, z)
    if not cands:
        return ConversionResult(
            **base,
            reaction=None,
            driving_force_eV_per_fu=None,
            driving_force_eV_per_Li=None,
            favorable=None,
            product=None,
            notes=[f"no {metal}(+{z})–{x} phase known: supply one (--entries)"],
        )
    product = min(cands, key=lambda f: es.energy_per_atom(f))
    pc = Composition(product)
    n_prod = b / pc[x]
    n_m = a / z
    if abs(n_prod * pc[metal] - n_m) > 1e-6:
        raise AssertionError("charge balance failed")  # guarded by _product_candidates
    if not es.has(metal):
        raise InputError(metal, f"no energy for metal {metal} ({es.description})")
    d_solid = (
        n_prod * es.energy(product) + a * es.energy(anode) - es.energy(native_red) - n_m * es.energy(metal)
    )
    d_ion = -a * (e_m - e_a)
    total = d_solid + d_ion
    notes: list[str] = []
    out = base | {
        "reaction": format_reaction({native_red: 1.0, cation: n_m}, {product: n_prod, f"{anode}+": a}),
        "product": product,
        "exchanged_per_fu": a,
        "solid_exchange_energy_eV_per_fu": d_solid,
        "ionic_term_eV_per_fu": d_ion,
        "driving_force_eV_per_fu": total,
        "driving_force_eV_per_Li": total / a,
        "favorable": total < 0,
    }
    out |= _experimental_and_all_solid(es, native_red, product, metal, z, anode, salt_anion, a, n_prod, n_m, d_ion, notes)
    out["notes"] = notes
    return ConversionResult(**out)


def _experimental_and_all_solid(
    es: EnergySet, native_red: str, product: str, metal: str, z: int, anode: str, salt_anion: str | None,
    a: float, n_prod: float, n_m: float, d_ion: float, notes: list[str],
) -> dict:
    """The same reaction from experimental ΔfH° (with the same E° term) and, for a salt whose anion is not an
    element of the phases, the all-solid version native + (a/z) M(anion)_z → product + a A(anion), model and
    experimental; a missing energy becomes a note."""
    from dsei.chemistry.corrections import exp_dhf

    out: dict = {}
    h_nat, h_prod = exp_dhf(native_red), exp_dhf(product)
    if h_nat is not None and h_prod is not None:
        out["experimental_driving_force_eV_per_fu"] = n_prod * h_prod - h_nat + d_ion
    if salt_anion is None or salt_anion in ANION_ELEMENTS:
        return out
    m_salt = Composition(f"{metal}({salt_anion}){z}" if z > 1 else f"{metal}{salt_anion}").reduced_formula
    a_salt = Composition(f"{anode}{salt_anion}").reduced_formula
    out["solid_state_reaction"] = format_reaction({native_red: 1.0, m_salt: n_m}, {product: n_prod, a_salt: a})
    if es.has(m_salt) and es.has(a_salt):
        out["solid_state_energy_eV_per_fu"] = (
            n_prod * es.energy(product)
            + a * es.energy(a_salt)
            - es.energy(native_red)
            - n_m * es.energy(m_salt)
        )
    else:
        missing = [s for s in (m_salt, a_salt) if not es.has(s)]
        notes.append(f"all-solid energy not computed: no energy for {', '.join(missing)}")
    hs = [exp_dhf(s) for s in (m_salt, a_salt)]
    if None not in hs and h_nat is not None and h_prod is not None:
        out["experimental_solid_state_energy_eV_per_fu"] = (
            n_prod * h_prod + a * hs[1] - h_nat - n_m * hs[0]
        )
    return out


def rank_additives(
    native: str,
    additives=DEFAULT_ADDITIVES,
    anode: str = "Li",
    model: str = DEFAULT_CHEMISTRY_MODEL,
    correction: str = "fitted",
    entries=None,
    annotate=None,
) -> list[ConversionResult]:
    """``convert`` for every additive, most favourable (most negative ΔG per Li) first; unknown last.
    ``annotate``: a function applied to each result before ranking, e.g.
    :func:`dsei.campaign.design.with_product_mechanics` (each product's Pugh ratio and verdict, what
    ``dsei convert --mechanics`` passes)."""
    res = [
        convert(native, ad, anode=anode, model=model, correction=correction, entries=entries)
        for ad in additives
    ]
    if annotate is not None:
        res = [annotate(r) for r in res]
    return sorted(
        res,
        key=lambda r: (
            r.driving_force_eV_per_Li is None,
            r.driving_force_eV_per_Li if r.driving_force_eV_per_Li is not None else 0.0,
        ),
    )
