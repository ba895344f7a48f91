"""Gradient-SEI design: which phases sit next to the metal and which further out, with their mechanics.

Rule (derived, nothing listed by hand): through the interphase the electrode potential seen by a phase
rises from 0 V vs M/M⁺ at the metal to the electrolyte's value outside; a phase can only exist where
the local potential is above its reduction potential. So

1. the candidate phases are the native phases, the products of their conversion by the additive cation
   (:func:`~dsei.chemistry.conversion.convert`), the additive metal (its cation is reduced by the metal
   anode: M^z+ + z A → M + z A⁺, always downhill for the cations considered) and, recursively, the
   products at 0 V of every candidate that the anode reduces (e.g. Ag2S + 4 Li → Li2S + 2 LiAg);
2. every candidate gets its reduction potential against the anode (:func:`~dsei.chemistry.stability.analyse`);
3. layer 1 (next to the anode) holds the candidates stable at 0 V; the others follow in increasing
   reduction potential, one layer per phase — the further out, the more oxidising the phase.

Each layer carries its mechanics (Pugh ratio B/G, shear and bulk moduli, verdict from
:mod:`dsei.mechanics`, computed on demand and cached) and the anode ion's migration barrier from
:func:`dsei.transport.barrier` (BVSE by default, NEB on request; cached), null with a note for metals. The
mechanical contrast between neighbouring layers is reported; ``gradient`` compares inner and outer.
"""

from __future__ import annotations

import functools
import json
import statistics

from pymatgen.core import Composition

from dsei.cache import defaults_of, signature
from dsei.chemistry.conversion import convert, parse_additive
from dsei.chemistry.energies import ANION_ELEMENTS, EnergySet, cache_dir, chemistry_cache
from dsei.chemistry.stability import analyse, energy_set
from dsei.errors import InputError
from dsei.models import DEFAULT_BARRIER_MODEL, DEFAULT_CHEMISTRY_MODEL, DEFAULT_ELASTIC_MODEL
from dsei.results import Result


class DesignResult(Result):
    """JSON: ``{anode, layers: [{position, phases, role, pugh_ratio, barrier_eV, ...}], ...}``, position 1
    next to the anode. A layer's ``pugh_ratio`` is that of its phase, or the lowest of its phases (the
    most brittle one limits the layer) when it holds several; per-phase values are in ``phase_properties``."""

    anode: str
    layers: list[dict]
    native: list[str] = []
    additive: str = ""
    cation: str = ""
    conversions: list[dict] = []
    gradient: dict = {}
    model: str = ""
    correction: str = ""
    mechanics_model: str | None = None
    rule: str = (
        "layer 1: phases stable against the anode at 0 V; outer layers in increasing reduction potential vs the anode "
        "(a phase exists only where the local potential exceeds its reduction potential)"
    )
    notes: list[str] = []


def _is_metallic(formula: str) -> bool:
    return not any(e.symbol in ANION_ELEMENTS for e in Composition(formula).elements)


# ------------------------------------------------------------------------------------------ mechanics
# Cached in the chemistry cache (:func:`dsei.chemistry.energies.chemistry_cache`, SQLite, one transaction per
# value: :mod:`dsei.cache`), keyed on (method signature, formula).
MECHANICS_NAMESPACE = "chemistry.mechanics"
BARRIER_NAMESPACE = "chemistry.barrier"


def mechanics_signature(model: str) -> str:
    """Cache signature of a layer's mechanics: the elastic model and
    :func:`dsei.mechanics.elastic.method_signature` (strains, tolerances, calibration, retries)."""
    from dsei.mechanics.elastic import method_signature
    from dsei.models.registry import canonical_name

    return signature("elastic", canonical_name(model), method_signature())


def barrier_signature(method: str, model: str) -> str:
    """Cache signature of a layer's barrier: the method, the model (NEB/MD only: BVSE uses none) and the defaults
    of :func:`dsei.transport.barrier` and of the method's own function."""
    from dsei.models.registry import canonical_name
    from dsei.transport.barrier import barrier as barrier_fn
    from dsei.transport.bvse import ENCUT_EV
    from dsei.transport.bvse import bvse as bvse_fn

    # method, model and ion are passed by barrier_of (and in the key); the other defaults are used as they are
    parts: tuple = ("barrier", method, defaults_of(barrier_fn, exclude=("method", "model", "ion", "source", "progress")))
    if method == "bvse":
        parts += (defaults_of(bvse_fn), ENCUT_EV)
    else:
        parts += (canonical_name(model),)
        if method == "neb":
            from dsei.transport.neb import neb

            parts += (defaults_of(neb),)
    return signature(*parts)


def _legacy_mechanics(key: str):
    """The value of a mechanics key in the whole-file JSON cache of dsei before the SQLite cache
    (``chemistry_mechanics.json``, keys ``<model>:<elastic method signature>:<formula>``), or None. Barriers there
    carry no method signature and are recomputed."""
    path = cache_dir() / "chemistry_mechanics.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text()).get(key)
    except (OSError, ValueError):
        return None


def mechanics_of(formula: str, model: str) -> dict:
    """Pugh ratio, moduli and verdict of the library ground state of ``formula``, or of the chemistry set's
    structure of a phase the library lacks (:func:`dsei.structures.library.structure_for_formula`); cached per
    model."""
    from dsei.mechanics import elastic
    from dsei.mechanics.elastic import method_signature

    sig = mechanics_signature(model)
    cache = chemistry_cache()
    cached = cache.get(MECHANICS_NAMESPACE, sig, formula)
    if cached is None:  # a value of the former JSON cache with today's elastic method: kept, copied over
        cached = _legacy_mechanics(f"{model}:{method_signature()}:{formula}")
        if cached is not None:
            cache.put(MECHANICS_NAMESPACE, sig, formula, cached)
    if cached is not None:
        return cached
    from dsei.structures.library import structure_for_formula

    struct = structure_for_formula(formula)
    if struct is None:
        return {"pugh_ratio": None, "note": f"no structure for {formula} (library or chemistry set): mechanics not computed"}
    try:
        r = elastic(struct, model=model)
    except Exception as exc:  # noqa: BLE001 - report, do not fail the design
        return {"pugh_ratio": None, "note": f"elastic calculation failed ({type(exc).__name__}: {exc})"}
    rec = {
        "pugh_ratio": r.pugh_ratio,
        "G_vrh_GPa": r.G_vrh_GPa,
        "K_vrh_GPa": r.K_vrh_GPa,
        "E_GPa": r.E_GPa,
        "verdict": r.verdict,
        "library_id": struct.properties.get("library_id"),
        "structure_source": struct.properties.get("source"),
        "model": r.model,
    }
    cache.put(MECHANICS_NAMESPACE, sig, formula, rec)
    return rec


def barrier_of(
    formula: str, ion: str, method: str = "bvse", model: str = DEFAULT_BARRIER_MODEL
) -> tuple[float | None, str | None]:
    """Migration barrier (eV) of ``ion`` in the library ground state of ``formula`` (or the chemistry set's
    structure, as for :func:`mechanics_of`) from
    :func:`dsei.transport.barrier` (cached per method and model), else (None, note).

    ``method="bvse"`` (default: seconds, a ranking-quality number) or ``"neb"`` (climbing-image NEB with the
    model, vacancy or interstitial as the host allows: minutes per phase). Metals get no barrier."""
    if _is_metallic(formula):
        return None, "metal: no ionic migration barrier"
    from dsei.transport import barrier

    sig = barrier_signature(method, model)
    key = f"{ion}:{formula}"
    cache = chemistry_cache()
    cached = cache.get(BARRIER_NAMESPACE, sig, key)
    if cached is not None:
        return cached["barrier_eV"], cached.get("note")
    from dsei.structures.library import structure_for_formula

    struct = structure_for_formula(formula)
    if struct is None:
        return None, f"no structure for {formula} (library or chemistry set)"
    try:
        r = barrier(struct, ion=ion, method=method, model=model)
    except Exception as exc:  # noqa: BLE001 - report, do not fail the design
        return None, f"{method} barrier failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    val = float(r.barrier_eV) if r.barrier_eV is not None else None
    note = f"{method.upper()}, {r.mechanism}" + (
        f", {r.dimension} percolation" if r.dimension else ", no percolation"
    )
    cache.put(BARRIER_NAMESPACE, sig, key, {"barrier_eV": val, "note": note})
    return val, note


# ------------------------------------------------------------------------------------------- design
def design(
    native: list[str] | str,
    additive: str,
    anode: str = "Li",
    model: str = DEFAULT_CHEMISTRY_MODEL,
    correction: str = "fitted",
    entries=None,
    mechanics: bool = True,
    mechanics_model: str | None = None,
    barrier_method: str | None = "bvse",
    barrier_model: str | None = None,
    progress=None,
) -> DesignResult:
    """The layered interphase from the anode outward (see the module docstring for the rule).

    ``barrier_method``: how each phase's Li (anode-ion) migration barrier is obtained — ``"bvse"`` (default,
    seconds), ``"neb"`` (minutes per phase) or None (not computed); ``barrier_model`` the model of NEB barriers
    (default: the transport default, :data:`dsei.models.DEFAULT_BARRIER_MODEL`); ``mechanics_model`` the model of
    each layer's elastic tensor (default: the elastic default, :data:`dsei.models.DEFAULT_ELASTIC_MODEL`).
    ``progress``: called as ``progress(phases_done, phases_total, formula)`` before each phase's properties."""
    natives = [n.strip() for n in (native.split(",") if isinstance(native, str) else native) if n.strip()]
    if not natives:
        raise InputError("native", "give at least one native phase (e.g. LiF,Li2S)")
    metal, z, _, _ = parse_additive(additive)
    elements = {anode, metal} | {e.symbol for n in natives for e in Composition(n).elements}
    es: EnergySet = energy_set(model, correction, entries, elements)
    notes: list[str] = []
    conversions, origin = _conversions(natives, additive, anode, es, notes)
    origin.setdefault(metal, "metallic by-product")  # M^z+ reduced by the anode metal
    stab = _reduction_closure(origin, anode, es, notes)
    groups, has_inner = _layer_groups(stab)
    mech_model = mechanics_model or DEFAULT_ELASTIC_MODEL
    phase_props = functools.partial(
        _phase_properties, stab=stab, origin=origin, anode=anode, mech_model=mech_model if mechanics else None,
        barrier_method=barrier_method, barrier_model=barrier_model or DEFAULT_BARRIER_MODEL,
    )
    layers = _layers(groups, has_inner, stab, origin, anode, phase_props, progress)
    _add_contrasts(layers)
    return DesignResult(
        anode=anode,
        layers=layers,
        native=[Composition(n).reduced_formula for n in natives],
        additive=additive,
        cation=f"{metal}{'' if z == 1 else z}+",
        conversions=conversions,
        gradient=_gradient(layers, origin),
        model=es.model,
        correction=es.description,
        mechanics_model=mech_model if mechanics else None,
        notes=notes,
    )


def _conversions(natives: list[str], additive: str, anode: str, es: EnergySet, notes: list[str]) -> tuple[list[dict], dict[str, str]]:
    """Each native phase's conversion by the additive (JSON dicts) and the origin of every phase met so far."""
    conversions = []
    origin: dict[str, str] = {}
    for n in natives:
        red = Composition(n).reduced_formula
        origin.setdefault(red, "native")
        c = convert(red, additive, anode=anode, es=es)
        conversions.append(c.to_json_dict())
        if c.product:
            origin.setdefault(c.product, "conversion" if c.favorable else "conversion (not favourable)")
            if not c.favorable:
                notes.append(
                    f"{c.reaction}: ΔG = {c.driving_force_eV_per_Li:+.2f} eV per {anode} (not favourable); {c.product} is placed where it would be stable"
                )
        else:
            notes.append(f"{red}: {c.notes[0] if c.notes else 'no conversion product'}")
    return conversions, origin


def _reduction_closure(origin: dict[str, str], anode: str, es: EnergySet, notes: list[str]) -> dict[str, dict]:
    """Reduction potential of every candidate and, recursively, of the products of its reduction at 0 V (added to
    ``origin``)."""
    stab: dict[str, dict] = {}
    queue = list(origin)
    while queue:
        f = queue.pop(0)
        if f in stab:
            continue
        if not es.has(f):
            notes.append(f"{f}: no energy available, left out")
            continue
        stab[f] = analyse(f, anode, es)
        for p in stab[f]["products_at_0V"]:
            if p not in origin:
                origin[p] = "metallic by-product" if _is_metallic(p) else "reduction product at the anode"
                queue.append(p)
    return stab


def _layer_groups(stab: dict[str, dict]) -> tuple[list[list[str]], bool]:
    """The phases of each layer from the anode out (layer 1: all phases stable at 0 V, if any; then one phase per
    layer in increasing reduction potential), and whether there is such an inner layer."""
    inner = sorted(f for f, s in stab.items() if s["stable_at_0V"])
    outer = sorted(
        (f for f, s in stab.items() if not s["stable_at_0V"]), key=lambda f: stab[f]["reduction_potential_V"]
    )
    groups = [inner] + [[f] for f in outer] if inner else [[f] for f in outer]
    return groups, bool(inner)


def _phase_properties(
    f: str, *, stab: dict[str, dict], origin: dict[str, str], anode: str, mech_model: str | None,
    barrier_method: str | None, barrier_model: str,
) -> dict:
    """One phase's record: its reduction, its mechanics (``mech_model`` None: not requested) and its barrier."""
    s = stab[f]
    rec = {
        "formula": f,
        "origin": origin[f],
        "reduction_potential_V": s["reduction_potential_V"],
        "stable_at_0V": s["stable_at_0V"],
        "products_at_0V": s["products_at_0V"],
        "reaction": s["reaction"],
    }
    if mech_model is not None:
        rec |= mechanics_of(f, mech_model)
    else:
        rec |= {"pugh_ratio": None, "note": "mechanics not requested"}
    if barrier_method:
        b, bnote = barrier_of(f, anode, barrier_method, barrier_model)
    else:
        b, bnote = None, "barrier not requested"
    rec["barrier_eV"] = b
    rec["barrier_method"] = barrier_method
    if bnote:
        rec["barrier_note"] = bnote
    return rec


def _role(pos: int, has_inner: bool, f: str, stab: dict[str, dict], origin: dict[str, str], anode: str) -> str:
    """Why the layer at ``pos`` (first phase ``f``) sits where it does."""
    if pos == 1 and has_inner:
        return f"inner: stable in contact with {anode} metal (0 V vs {anode}/{anode}+)"
    v = stab[f]["reduction_potential_V"]
    kind = {
        "metallic by-product": "metallic by-product",
        "native": "native phase",
        "reduction product at the anode": "reduction product",
    }.get(origin[f], origin[f].replace("conversion", "conversion product"))
    return f"outer: {kind}, reduced by {anode} below {v:.2f} V — stable only further from the metal"


def _layers(groups, has_inner: bool, stab: dict[str, dict], origin: dict[str, str], anode: str, phase_props, progress) -> list[dict]:
    """One dict per layer with its phases' properties; a layer's Pugh ratio, barrier and shear modulus are the
    lowest of its phases'."""
    layers = []
    n_phases, done = sum(len(g) for g in groups), 0
    for pos, phases in enumerate(groups, start=1):
        props = []
        for f in phases:
            if progress:
                progress(done, n_phases, f)
            done += 1
            props.append(phase_props(f))
        pughs = [p["pugh_ratio"] for p in props if p.get("pugh_ratio") is not None]
        barriers = [p["barrier_eV"] for p in props if p.get("barrier_eV") is not None]
        layer = {
            "position": pos,
            "phases": phases,
            "role": _role(pos, has_inner, phases[0], stab, origin, anode),
            "pugh_ratio": min(pughs) if pughs else None,
            "barrier_eV": min(barriers) if barriers else None,
            "phase_properties": props,
        }
        if not barriers:
            layer["barrier_note"] = props[0].get("barrier_note", "no barrier")
        gs = [p["G_vrh_GPa"] for p in props if p.get("G_vrh_GPa") is not None]
        layer["G_vrh_GPa"] = min(gs) if gs else None
        layers.append(layer)
    return layers


def _add_contrasts(layers: list[dict]) -> None:
    """The mechanical contrast of each layer to the next one out (in place: ``contrast_to_next``)."""
    for a, b in zip(layers, layers[1:], strict=False):
        a["contrast_to_next"] = {
            "delta_pugh_ratio": (b["pugh_ratio"] - a["pugh_ratio"])
            if a["pugh_ratio"] is not None and b["pugh_ratio"] is not None
            else None,
            "shear_modulus_ratio_outer_over_inner": (b["G_vrh_GPa"] / a["G_vrh_GPa"])
            if a["G_vrh_GPa"] and b["G_vrh_GPa"]
            else None,
        }


def _gradient(layers: list[dict], origin: dict[str, str]) -> dict:
    """Inner (layer 1, non-metallic) vs outer conversion products: mean Pugh ratio and shear modulus."""
    inner = [p for p in layers[0]["phase_properties"] if not _is_metallic(p["formula"])] if layers else []
    outer = [
        p
        for lay in layers[1:]
        for p in lay["phase_properties"]
        if origin[p["formula"]].startswith("conversion")
    ]

    def mean(ps, k):
        vals = [p[k] for p in ps if p.get(k) is not None]
        return statistics.fmean(vals) if vals else None

    out = {
        "inner_phases": [p["formula"] for p in inner],
        "outer_phases": [p["formula"] for p in outer],
        "inner_mean_pugh_ratio": mean(inner, "pugh_ratio"),
        "outer_mean_pugh_ratio": mean(outer, "pugh_ratio"),
        "inner_mean_G_GPa": mean(inner, "G_vrh_GPa"),
        "outer_mean_G_GPa": mean(outer, "G_vrh_GPa"),
    }
    if None not in (
        out["inner_mean_pugh_ratio"],
        out["outer_mean_pugh_ratio"],
        out["inner_mean_G_GPa"],
        out["outer_mean_G_GPa"],
    ):
        out["soft_outside_strong_inside"] = bool(
            out["outer_mean_G_GPa"] < out["inner_mean_G_GPa"]
            and out["outer_mean_pugh_ratio"] > out["inner_mean_pugh_ratio"]
        )
    else:
        out["soft_outside_strong_inside"] = None
    # the means can hide a brittle member (LiCl + Zn²⁺: ZnO 2.60 and ZnCl2 1.43 average 2.02): name each outer
    # conversion product whose own verdict is not ductile; outer_all_ductile is None where any has no verdict
    # (e.g. --no-mechanics)
    verdicts = {p["formula"]: p.get("verdict") for p in outer}
    out["outer_not_ductile"] = {f: v for f, v in verdicts.items() if v is not None and v != "ductile"}
    out["outer_all_ductile"] = (not out["outer_not_ductile"]) if outer and None not in verdicts.values() else None
    return out


def with_product_mechanics(result, mechanics_model: str | None = None):
    """``result`` (a :class:`~dsei.chemistry.conversion.ConversionResult`) with its product's Pugh ratio and
    verdict filled in (computed once per model, then cached); ``dsei convert --mechanics``."""
    if result.product is None:
        return result
    m = mechanics_of(result.product, mechanics_model or DEFAULT_ELASTIC_MODEL)
    return result.model_copy(update={"product_pugh_ratio": m.get("pugh_ratio"), "product_verdict": m.get("verdict")})
