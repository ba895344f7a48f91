"""Energies of phases for thermochemistry: relaxed MLIP energies, MP2020 compatibility and the fitted
elemental-reference correction, or user-supplied DFT entries — all through one :class:`EnergySet`.

Where the energies come from, per model (eV/atom, relaxed, lowest polymorph per formula):

1. the structure library (``energy_per_atom_eV`` of every entry — all polymorphs; the lowest wins);
2. ``chemistry/data/extra_energies.json`` — binaries that are not in the library (rock-salt NaCl, …),
   relaxed with the same settings and shipped so nobody recomputes them;
3. a per-user cache (``$DSEI_CACHE`` or ``~/.cache/dsei``, ``chemistry.sqlite``, see :mod:`dsei.cache`) of
   phases relaxed on demand (a library entry that lacks this model's energy, or a user's file), keyed on
   :func:`energy_signature` (model and relaxation settings) and the library id or the structure's fingerprint.
   A ``chemistry_energies_<model>.json`` written by an older dsei is imported into it once.

Three correction levels (``correction=``):

``none``
    the model's energy as predicted.
``mp2020``
    Materials-Project compatible: pymatgen's ``MaterialsProject2020Compatibility`` is applied to
    models trained on *uncorrected* MPtrj energies (SevenNet-0) and **not** to CHGNet, whose training
    labels were the MP2020-corrected energies (applying it again would double-count; evidence in
    ``docs/chemistry.md``: CHGNet − SevenNet-0 per anion equals the MP2020 anion correction).
``fitted`` (default)
    ``mp2020`` plus fitted elemental reference energies (FERE, Stevanović et al. PRB 85, 115104
    (2012)) fitted to experimental formation enthalpies, see :mod:`dsei.chemistry.fere` (the method and the
    shipped fits) and :mod:`dsei.chemistry.corrections` (how they are fitted and cross-validated):
    compounds that contain an anion element are shifted by −Σ nᵢ δᵢ over their metals (δᵢ = μᵢ^FERE −
    E(metal i)); metals and intermetallics keep their computed energies (metallic bonding needs no
    correction); non-metal elements get the fitted μ as their reference energy.

User DFT entries (``entries=`` a JSON list of pymatgen ``ComputedEntry``/``ComputedStructureEntry``
dicts, or MP via ``mp-api``) replace all of this: they are used as given (they are assumed already
MP2020-compatible, as MP's are), with the same downstream code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pymatgen.core import Composition, Structure
from pymatgen.entries.computed_entries import ComputedEntry

from dsei._warnings import quiet
from dsei.cache import Cache, cache_dir, signature
from dsei.chemistry.fere import ANION_ELEMENTS, FereFit, data_dir, fit_fere, shipped_fit
from dsei.errors import InputError
from dsei.models import DEFAULT_CHEMISTRY_MODEL

# ANION_ELEMENTS and data_dir live in the leaf dsei.chemistry.fere and are imported from here as before
#: formal charge of each anion element in a simple binary (used to find the cation's oxidation state)
ANION_CHARGE = {
    "F": -1,
    "Cl": -1,
    "Br": -1,
    "I": -1,
    "H": -1,
    "O": -2,
    "S": -2,
    "Se": -2,
    "Te": -2,
    "N": -3,
    "P": -3,
}
CORRECTIONS = ("none", "mp2020", "fitted")

#: Does the model's training set use MP2020-corrected energies as labels? (True → never apply MP2020 again)
#: CHGNet 0.3.0: trained on MPtrj MP2020-corrected energies (Deng et al., Nat. Mach. Intell. 5, 1031 (2023));
#: SevenNet-0 predicts uncorrected GGA(+U) energies. Checked numerically (docs/chemistry.md): CHGNet − SevenNet-0
#: per anion equals the MP2020 anion correction, while the metals agree.
TRAINED_ON_MP2020 = {"chgnet": True, "sevennet": False, "sevennet-l3i5": False, "sevennet-mf-pbe": False}
#: Models whose energies are not GGA(+U) at all, so the MP2020 GGA/GGA+U corrections do not belong on them:
#: SevenNet-MF-0 at its r2SCAN fidelity and the r2SCAN fine-tune of CHGNet predict r2SCAN energies (MP's
#: r2SCAN data carry no anion corrections; Kingsbury et al., Phys. Rev. Mater. 6, 013801 (2022)).
#: ``mp2020`` = ``none`` for these.
NOT_GGA = {"sevennet-mf-r2scan", "chgnet-r2scan"}
#: any other model: MP2020 applied (uncorrected labels assumed) — check it with the evidence table of
#: benchmarks/reduction_potentials.py before relying on ``mp2020``/``fitted`` energies of a new model


def mp2020_applies(model: str) -> bool:
    """Whether the ``mp2020`` level adds MP2020 corrections to ``model``'s energies: not where they are already
    in its training labels (CHGNet), nor where its energies are not GGA(+U) at all (r2SCAN fidelity)."""
    return not TRAINED_ON_MP2020.get(model.lower(), False) and model.lower() not in NOT_GGA


def has_anion(comp: Composition) -> bool:
    return any(el.symbol in ANION_ELEMENTS for el in comp.elements)


@dataclass
class Phase:
    """One phase: composition, energy per atom (model as predicted), where it came from."""

    formula: str
    energy_per_atom_eV: float
    source: str
    structure: Structure | None = None
    entry_id: str = ""
    #: energies of all polymorphs seen (id → eV/atom), for the record
    polymorphs: dict[str, float] = field(default_factory=dict)

    @property
    def composition(self) -> Composition:
        return Composition(self.formula)


# ----------------------------------------------------------------------------------- MP2020 correction
@lru_cache(maxsize=1)
def _mp2020():
    from pymatgen.entries.compatibility import MaterialsProject2020Compatibility

    return MaterialsProject2020Compatibility(check_potcar=False)


_U_ELEMENTS = {"Co": 3.32, "Cr": 3.7, "Fe": 5.3, "Mn": 3.9, "Mo": 4.38, "Ni": 6.2, "V": 3.25, "W": 6.2}


def mp2020_correction_eV(comp: Composition, energy_eV: float, structure: Structure | None = None) -> float:
    """MP2020 correction (eV, total for ``comp`` as given) for a GGA(+U) energy; 0 where none applies.

    GGA+U (MP's U values) is assumed where MP would have used it: oxides/fluorides of Co, Cr, Fe, Mn,
    Mo, Ni, V, W.
    """
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    els = {e.symbol for e in comp.elements}
    u = bool(els & set(_U_ELEMENTS)) and bool(els & {"O", "F"})
    params = {
        "run_type": "GGA+U" if u else "GGA",
        "is_hubbard": u,
        "hubbards": {e: _U_ELEMENTS.get(e, 0.0) for e in els} if u else {},
        "potcar_symbols": [],
        "potcar_spec": [],
    }
    with quiet():
        if structure is not None:
            entry = ComputedStructureEntry(
                structure, energy_eV * len(structure) / comp.num_atoms, parameters=params
            )
            scale = comp.num_atoms / len(structure)
        else:
            entry = ComputedEntry(comp, energy_eV, parameters=params)
            scale = 1.0
        processed = _mp2020().process_entry(entry)
    if processed is None:
        return 0.0
    return processed.correction * scale


# ------------------------------------------------------------------------------------- raw energy sets
def _extra_file() -> Path:
    return data_dir() / "extra_energies.json"


@lru_cache(maxsize=1)
def _extra_phases() -> dict:
    """The shipped extra set's records (``data/extra_energies.json`` ``phases``), read once."""
    return _read_json(_extra_file()).get("phases", {})


# ------------------------------------------------------------------------------ the per-user cache
#: relaxation of a phase relaxed on demand (:func:`dsei.relax.relax` with these settings, all passed explicitly,
#: so that :func:`energy_signature` names every one of them)
RELAX_FMAX_EV_A = 0.01
RELAX_STEPS = 500
RELAX_SETTINGS = {"optimizer": "BFGS", "fix_symmetry": True, "relax_cell": True, "symprec": 1e-3}
#: cache file (in :func:`dsei.cache.cache_dir`) and namespace of the energies relaxed on demand
CACHE_FILE = "chemistry.sqlite"
ENERGY_NAMESPACE = "chemistry.energy"


def chemistry_cache() -> Cache:
    """The chemistry cache (``$DSEI_CACHE/chemistry.sqlite``), shared with :mod:`dsei.campaign.design`."""
    return Cache(cache_dir() / CACHE_FILE)


def energy_signature(model: str) -> str:
    """Cache signature of an energy relaxed on demand: the model (canonical name) and every setting of the
    relaxation, so a change of either is recomputed, never silently reused. A content hash: the same in every
    process."""
    from dsei.models.registry import canonical_name

    return signature("relaxed-energy", canonical_name(model), RELAX_FMAX_EV_A, RELAX_STEPS, sorted(RELAX_SETTINGS.items()))


def _legacy_json(model: str) -> Path:
    """The whole-file JSON cache of dsei before the SQLite cache."""
    return cache_dir() / f"chemistry_energies_{model}.json"


_imported: set[tuple[str, str]] = set()


def _user_energies(model: str) -> tuple[Cache, str]:
    """The cache and this model's signature, after importing a legacy JSON cache of ``model``: its entries were
    relaxed with these same settings (fmax 0.01 eV/Å, 500 steps, BFGS, symmetry kept), so they are kept as they
    are (a value already in the cache wins). The JSON file is left in place (an older dsei still reads and
    writes it); it is imported again only when it has changed since (size and mtime)."""
    cache, sig = chemistry_cache(), energy_signature(model)
    legacy = _legacy_json(model)
    marker = f"imported:{legacy.name}"
    done = (str(cache.path), marker)
    if done not in _imported:
        stamp = f"{legacy.stat().st_size}:{legacy.stat().st_mtime_ns}" if legacy.exists() else None
        if stamp is not None and cache.meta(marker) != stamp:
            old = {
                k: v
                for k, v in _read_json(legacy).items()
                if isinstance(v, dict) and "energy_per_atom_eV" in v and k.startswith(("library:", "user:"))
            }
            cache.put_many(ENERGY_NAMESPACE, sig, old, meta={marker: stamp}, replace=False)
        _imported.add(done)
    return cache, sig


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _add(phases: dict[str, Phase], formula: str, e: float, source: str, entry_id: str = "") -> None:
    red = Composition(formula).reduced_formula
    cur = phases.get(red)
    if cur is None:
        phases[red] = Phase(red, e, source, entry_id=entry_id, polymorphs={entry_id or source: e})
        return
    cur.polymorphs[entry_id or source] = e
    if e < cur.energy_per_atom_eV:
        cur.energy_per_atom_eV, cur.source, cur.entry_id = e, source, entry_id


@lru_cache(maxsize=8)
def _model_phases(model: str) -> dict[str, Phase]:
    from dsei.structures.library import get_library

    phases: dict[str, Phase] = {}
    for entry in get_library():
        e = entry.energy_per_atom_eV.get(model)
        if e is not None:
            _add(phases, entry.formula, float(e), f"library:{entry.id}", entry.id)
    extra = _extra_phases()
    for formula, rec in extra.items():
        e = rec.get("energy_per_atom_eV", {}).get(model)
        if e is not None:
            _add(
                phases, formula, float(e), f"extra:{formula} ({rec.get('prototype', '')})", f"extra:{formula}"
            )
    cache, sig = _user_energies(model)
    for rec in cache.items(ENERGY_NAMESPACE, sig).values():
        if rec.get("library_id"):
            _add(
                phases,
                rec["formula"],
                float(rec["energy_per_atom_eV"]),
                f"library:{rec['library_id']} (relaxed on demand)",
                rec["library_id"],
            )
    return phases


def relax_and_cache(structure: Structure, model: str, key: str, library_id: str | None = None) -> float:
    """Relax ``structure`` with ``model`` (dsei.relax, BFGS, fmax 0.01 eV/Å) unless cached; eV/atom.

    ``key``: ``library:<id>`` or ``user:<formula>:<fingerprint>``; the cache adds :func:`energy_signature`. The
    result is committed in its own transaction the moment it is known (:mod:`dsei.cache`)."""
    cache, sig = _user_energies(model)
    hit = cache.get(ENERGY_NAMESPACE, sig, key)
    if hit is not None:
        return float(hit["energy_per_atom_eV"])
    from dsei.models import load_model
    from dsei.relax import relax

    r = relax(structure, load_model(model), fmax=RELAX_FMAX_EV_A, steps=RELAX_STEPS, **RELAX_SETTINGS)
    rec = {
        "formula": structure.composition.reduced_formula,
        "energy_per_atom_eV": r.result.energy_per_atom_eV,
        "converged": r.result.converged,
        "library_id": library_id,
    }
    cache.put(ENERGY_NAMESPACE, sig, key, rec)
    _model_phases.cache_clear()
    return float(r.result.energy_per_atom_eV)


def library_energy(structure: Structure, model: str, fp: str | None = None) -> float | None:
    """The shipped relaxed energy (eV/atom) of a structure that is a library entry, where the library's
    ranking relaxation with ``model`` converged, or that is one of the chemistry set's extra structures (relaxed
    with these very settings by scripts/extra_energies.py); else None (the caller relaxes it). Relaxing such a
    structure again lands on the same minimum: 16 library entries relaxed with SevenNet-MF-0 r2SCAN (BFGS, fmax
    0.01 eV/Å) differ from the stored energies by at most 0.05 meV/atom, so this only saves the relaxation
    (seconds per phase; ``dsei screen`` on the built-in library no longer relaxes its candidates a second time
    for stability). ``fp``: the structure's fingerprint, if the caller has it."""
    from dsei.structures.fingerprint import fingerprint
    from dsei.structures.library import extra_fingerprint, get_library

    try:
        fp = fp or fingerprint(structure)
        entry = get_library().match(structure, fp)
        if entry is not None:
            if not entry.relaxation.get(model, {}).get("converged"):
                return None
            e = entry.energy_per_atom_eV.get(model)
            return None if e is None else float(e)
        red = structure.composition.reduced_formula
        rec = _extra_phases().get(red)
        if not rec or not rec.get("converged", {}).get(model) or model not in rec.get("energy_per_atom_eV", {}):
            return None
        if extra_fingerprint(red) != fp:
            return None
        return float(rec["energy_per_atom_eV"][model])
    except Exception:  # noqa: BLE001 - a failed lookup only means relaxing
        return None


def ensure_library_energies(formulas: list[str], model: str) -> None:
    """Relax (and cache) the ground-state library entry of each formula that has no energy for ``model``."""
    from dsei.structures.library import get_library

    lib = get_library()
    have = _model_phases(model)
    for f in formulas:
        red = Composition(f).reduced_formula
        if red in have:
            continue
        entry = lib.find(red)
        if entry is None:
            continue
        relax_and_cache(lib.structure(entry.id), model, f"library:{entry.id}", library_id=entry.id)


# ------------------------------------------------------------------------------------------ EnergySet
class EnergySet:
    """Energies of every known phase for one model and correction level (or from user entries).

    ``energy(formula)`` → eV per formula unit (as written) at the chosen correction level;
    ``entries(elements)`` → pymatgen entries for a phase diagram over those elements, with non-metal
    references taken from the fitted μ's.
    """

    def __init__(
        self,
        model: str = DEFAULT_CHEMISTRY_MODEL,
        correction: str = "fitted",
        entries: str | Path | list | None = None,
    ):
        if correction not in CORRECTIONS:
            raise InputError("correction", f"must be one of {', '.join(CORRECTIONS)}, not {correction!r}")
        self.model = model
        self.correction = correction
        self.user_entries: list[ComputedEntry] | None = None
        if entries is not None:
            self.user_entries = load_user_entries(entries)
            self.model = "user-entries"
            self.correction = "as-supplied"
        self._fere = None

    # --------------------------------------------------------------- corrections
    @property
    def fere(self):
        if self._fere is None and self.user_entries is None:
            base = "none" if self.correction == "none" else "mp2020"
            self._fere = load_fit(self.model, base)
        return self._fere

    @property
    def description(self) -> str:
        if self.user_entries is not None:
            return "user-supplied entries, used as given"
        if self.correction == "none":
            return f"{self.model} energies as predicted (no correction)"
        mp = (
            "MP2020 applied"
            if mp2020_applies(self.model)
            else "r2SCAN energies (MP2020 GGA corrections do not apply)"
            if self.model.lower() in NOT_GGA
            else "MP2020 already in the training labels (not re-applied)"
        )
        if self.correction == "mp2020":
            return f"{self.model}, {mp}"
        return f"{self.model}, {mp}, fitted elemental references (FERE) from experimental ΔfH"

    def _base_energy_per_atom(self, formula: str, e_raw: float, structure: Structure | None) -> float:
        if self.correction == "none" or not mp2020_applies(self.model):
            return e_raw
        comp = Composition(formula)
        return e_raw + mp2020_correction_eV(comp, e_raw * comp.num_atoms, structure) / comp.num_atoms

    def _fere_shift_per_fu(self, comp: Composition) -> float:
        """−Σ nᵢ δᵢ over the metals of a compound that contains an anion (0 otherwise, and unless fitted)."""
        if self.correction != "fitted" or not has_anion(comp):
            return 0.0
        fit = self.fere
        return -sum(
            amt * fit.delta.get(el.symbol, 0.0) for el, amt in comp.items() if el.symbol not in ANION_ELEMENTS
        )

    # --------------------------------------------------------------- phases
    def phases(self) -> dict[str, Phase]:
        if self.user_entries is not None:
            out: dict[str, Phase] = {}
            for i, e in enumerate(self.user_entries):
                _add(
                    out,
                    e.composition.reduced_formula,
                    e.energy_per_atom,
                    f"user entry {e.entry_id or i}",
                    str(e.entry_id or i),
                )
            return out
        return dict(_model_phases(self.model))

    def add_structure(self, structure: Structure, label: str, fp: str | None = None) -> tuple[str, float]:
        """Relax a user structure with the model (cached by fingerprint); returns (reduced formula,
        energy per formula unit at this correction level). ``fp``: the structure's fingerprint, if the caller
        already has it (a campaign candidate)."""
        from dsei.structures.fingerprint import fingerprint

        if self.user_entries is not None:
            raise InputError(label, "with --entries, phases come from the entries file; give a formula")
        try:
            fp = fp or fingerprint(structure)
        except Exception:  # noqa: BLE001 - fingerprint is a cache key only
            # a content hash of the structure: the same in every process (``hash()`` of a str is salted per process)
            fp = "sha256:" + hashlib.sha256(structure.to(fmt="poscar").encode()).hexdigest()[:16]
        red = structure.composition.reduced_formula
        e_raw = library_energy(structure, self.model, fp)
        if e_raw is None:
            e_raw = relax_and_cache(structure, self.model, f"user:{red}:{fp}")
        return red, self.corrected_energy_per_atom(red, e_raw, structure) * Composition(red).num_atoms

    def has(self, formula: str) -> bool:
        return Composition(formula).reduced_formula in self.phases()

    def corrected_energy_per_atom(
        self, formula: str, e_raw: float, structure: Structure | None = None
    ) -> float:
        """A model energy per atom (as predicted) brought to this correction level."""
        red = Composition(formula).reduced_formula
        e = self._base_energy_per_atom(red, e_raw, structure)
        return e + self._fere_shift_per_fu(Composition(red)) / Composition(red).num_atoms

    def energy_per_atom(self, formula: str) -> float:
        """Energy per atom at this correction level (the lowest polymorph)."""
        red = Composition(formula).reduced_formula
        ph = self.phases().get(red)
        if ph is None:
            raise InputError(
                formula, f"no energy for this phase ({self.description}); not in the library or the extra set"
            )
        if self.user_entries is not None:
            return ph.energy_per_atom_eV
        return self.corrected_energy_per_atom(red, ph.energy_per_atom_eV)

    def energy(self, formula: str) -> float:
        """Energy (eV) of ``formula`` as written (e.g. ``Ag2S`` → per Ag2S, ``Ag`` → per atom)."""
        comp = Composition(formula)
        return self.energy_per_atom(formula) * comp.num_atoms

    def element_reference(self, el: str) -> float | None:
        """eV/atom of the element's reference: computed metal, or fitted μ for a non-metal; a non-metal that no
        fitted compound constrains (P, Sb: no phosphide or antimonide has a tabulated ΔfH° here) falls back to
        its computed elemental solid (black P, A7 Sb), as a metal does."""
        phases = self.phases()
        if el in phases and (el not in ANION_ELEMENTS or self.user_entries is not None):
            return self.energy_per_atom(el)
        if self.user_entries is not None:
            return None
        mu = self.fere.mu.get(el)
        if mu is None and el in phases:
            return self.energy_per_atom(el)
        return mu

    def entries(self, elements: list[str] | set[str]) -> list[ComputedEntry]:
        """Entries of every phase inside the chemical system, with element references for the terminals."""
        els = set(elements)
        out: list[ComputedEntry] = []
        seen_el: set[str] = set()
        for red, ph in self.phases().items():
            comp = Composition(red)
            if not {e.symbol for e in comp.elements} <= els:
                continue
            if (
                len(comp.elements) == 1
                and comp.elements[0].symbol in ANION_ELEMENTS
                and self.user_entries is None
            ):
                continue  # non-metal elements: fitted reference below
            e_fu = self.energy_per_atom(red) * comp.num_atoms
            out.append(
                ComputedEntry(comp, e_fu, entry_id=ph.entry_id or ph.source, data={"source": ph.source})
            )
            if len(comp.elements) == 1:
                seen_el.add(comp.elements[0].symbol)
        for el in els - seen_el:
            mu = self.element_reference(el)
            if mu is None:
                raise InputError(el, f"no reference energy for element {el} ({self.description})")
            out.append(
                ComputedEntry(
                    Composition(el),
                    mu,
                    entry_id=f"ref:{el}",
                    data={"source": "fitted reference (FERE μ)" if el in ANION_ELEMENTS else "reference"},
                )
            )
        return out


@lru_cache(maxsize=16)
def load_fit(model: str, base: str = "mp2020") -> FereFit:
    """The FERE fit for ``model``/``base``: the shipped one (``data/fere_fits.json``), fitted on the fly
    (:func:`dsei.chemistry.fere.fit_fere` on this model's ``base``-level energies) for a model that has none
    shipped. Also importable from :mod:`dsei.chemistry.corrections`."""
    if base not in CORRECTIONS:
        raise ValueError(base)
    fit = shipped_fit(model, base)
    return fit if fit is not None else fit_fere(EnergySet(model, correction=base))


def load_user_entries(spec: str | Path | list) -> list[ComputedEntry]:
    """A JSON file (or list) of ComputedEntry / ComputedStructureEntry dicts, or ``mp`` for Materials
    Project via ``mp-api`` (needs network and ``MP_API_KEY``)."""
    from monty.json import MontyDecoder

    if isinstance(spec, list):
        raw = spec
    else:
        p = Path(spec)
        if not p.exists():
            raise InputError(spec, "entries file not found")
        try:
            raw = json.loads(p.read_text())
        except ValueError as exc:
            raise InputError(spec, f"not JSON ({exc})") from None
        if isinstance(raw, dict):
            raw = raw.get("entries", [raw])
    out = []
    for i, d in enumerate(raw):
        if isinstance(d, ComputedEntry):
            out.append(d)
            continue
        try:
            out.append(
                MontyDecoder().process_decoded(d)
                if "@class" in d
                else ComputedEntry(
                    Composition(d["composition"]), float(d["energy"]), entry_id=d.get("entry_id")
                )
            )
        except Exception as exc:  # noqa: BLE001 - user data
            raise InputError(
                spec if not isinstance(spec, list) else "entries", f"entry {i} is not a ComputedEntry ({exc})"
            ) from None
    if not out:
        raise InputError(spec if not isinstance(spec, list) else "entries", "no entries")
    return out


def mp_entries(elements: list[str]) -> list[ComputedEntry]:
    """Materials Project entries (MP2020-corrected GGA/GGA+U) for a chemical system via ``mp-api``."""
    try:
        from mp_api.client import MPRester
    except ImportError:
        raise InputError(
            "entries", "'mp' needs mp-api, which is not installed (pip install mp-api) — or pass a JSON file of entries"
        ) from None
    try:
        with MPRester() as mpr:
            return list(mpr.get_entries_in_chemsys(elements))
    except Exception as exc:  # noqa: BLE001 - network / key
        raise InputError("entries", f"'mp': Materials Project query failed ({exc})") from None
