"""The built-in phase library: SEI-relevant crystal structures shipped with dsei.

Data: ``dsei/structures/data/library/`` — one CIF per entry and ``index.json`` (written by
``scripts/build_library.py``; see ``docs/library.md`` for provenance, roles and how the ground-state
polymorph is chosen). Materials Project structures are CC BY 4.0: A. Jain et al., APL Materials 1, 011002
(2013); the attribution is kept in each entry's ``provenance`` and in ``docs/references.md``.

Roles: ``native`` (native SEI phase on the metal anode: LiF, Li2S, ...), ``conversion`` (product of an
additive displacement reaction: Ag2S, AgF, ...), ``alloy`` (Li/Na intermetallic), ``metal`` (element),
``salt`` (additive or its by-product: AgNO3, LiNO3).
"""

from __future__ import annotations

import functools
import json
import shutil
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from pymatgen.core import Composition, Structure

from dsei._warnings import quiet
from dsei.errors import InputError

ROLES = ("native", "conversion", "alloy", "metal", "salt")


@dataclass
class LibraryEntry:
    id: str
    formula: str
    file: str
    role: str
    spacegroup: str
    nsites: int
    provenance: str
    mp_id: str | None = None
    polymorph: str = ""
    reference: str = ""
    ground_state: bool = False
    #: relaxed energies used for the ground-state ranking, eV/atom per model
    energy_per_atom_eV: dict[str, float] = field(default_factory=dict)
    notes: str = ""
    #: the phase observed at room temperature and ambient pressure (literature), independent of the ranking
    experimental_ground_state: bool = False
    #: per model: converged, steps, volume_change_pct, spacegroup_before/after of the ranking relaxation
    relaxation: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def library_dir() -> Path:
    return Path(str(resources.files("dsei.structures") / "data" / "library"))


class Library:
    """The index of built-in phases. ``get_library()`` returns the shared instance."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else library_dir()
        index = self.root / "index.json"
        data = json.loads(index.read_text())
        self.meta = {k: v for k, v in data.items() if k != "entries"}
        self.entries = [LibraryEntry(**e) for e in data["entries"]]
        self._by_id = {e.id: e for e in self.entries}
        self._fps: dict[str, str] = {}

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> LibraryEntry:
        try:
            return self._by_id[entry_id]
        except KeyError:
            raise InputError(entry_id, "no such library entry (see `dsei library list`)") from None

    def find(self, key: str) -> LibraryEntry | None:
        """An entry by ID, or the ground-state polymorph of a formula (e.g. ``Ag2S``), case-sensitive."""
        if key in self._by_id:
            return self._by_id[key]
        try:
            reduced = Composition(key).reduced_formula
        except Exception:  # noqa: BLE001 - not a formula
            return None
        matches = [e for e in self.entries if e.formula == reduced]
        if not matches:
            return None
        ground = [e for e in matches if e.ground_state]
        return ground[0] if ground else matches[0]

    def experimental(self, formula: str) -> LibraryEntry | None:
        """The phase observed at room temperature for ``formula`` (``experimental_ground_state``), if the
        library holds it; may differ from :meth:`find`, which returns the default model's ground state."""
        try:
            reduced = Composition(formula).reduced_formula
        except Exception:  # noqa: BLE001 - not a formula
            return None
        return next((e for e in self.entries if e.formula == reduced and e.experimental_ground_state), None)

    def match(self, structure: Structure, fp: str | None = None) -> LibraryEntry | None:
        """The entry whose structure is ``structure`` (same :func:`~dsei.structures.fingerprint.fingerprint`;
        ``fp`` if the caller has it), or None. Only entries of the same formula are fingerprinted, so a miss costs
        milliseconds."""
        from dsei.structures.fingerprint import fingerprint

        reduced = structure.composition.reduced_formula
        same = [e for e in self.entries if e.formula == reduced]
        if not same:
            return None
        fp = fp or fingerprint(structure)
        return next((e for e in same if self._fingerprint(e.id) == fp), None)

    def _fingerprint(self, entry_id: str) -> str:
        from dsei.structures.fingerprint import fingerprint

        if entry_id not in self._fps:
            self._fps[entry_id] = fingerprint(self.structure(entry_id))
        return self._fps[entry_id]

    def by_role(self, role: str) -> list[LibraryEntry]:
        return [e for e in self.entries if e.role == role]

    def ground_states(self) -> list[LibraryEntry]:
        """One entry per formula: the ground-state polymorph."""
        return [e for e in self.entries if e.ground_state]

    def structure(self, entry_id: str) -> Structure:
        entry = self.get(entry_id)
        with quiet():
            struct = Structure.from_file(self.root / entry.file)
        struct.properties = {
            "source": f"library:{entry.id}",
            "library_id": entry.id,
            "provenance": entry.provenance,
        }
        return struct

    def export(self, entry_id: str, directory: str | Path) -> Path:
        """Copy the entry's CIF to ``directory`` (created if needed); returns the new path."""
        entry = self.get(entry_id)
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        target = out / entry.file
        shutil.copyfile(self.root / entry.file, target)
        return target


@functools.lru_cache(maxsize=1)
def get_library() -> Library:
    return Library()


def extra_dir() -> Path:
    return Path(str(resources.files("dsei.structures") / "data" / "extra"))


@functools.lru_cache(maxsize=1)
def _extra_index() -> dict:
    try:
        return json.loads((extra_dir() / "index.json").read_text())["phases"]
    except (OSError, KeyError, ValueError):
        return {}


def extra_structure(formula: str) -> Structure | None:
    """The structure of a chemistry-set binary that has no library entry (``data/extra/``, written by
    ``scripts/extra_energies.py --write-structures``: the prototype with experimental lattice parameters, or the
    Materials Project structure, that its shipped energies were relaxed from), or None.

    These are not library entries (``dsei screen`` does not screen them); they let ``dsei design`` give every
    phase of a chemistry answer its mechanics and barrier, and ``dsei elastic ZnCl2`` find a structure."""
    try:
        reduced = Composition(formula).reduced_formula
    except Exception:  # noqa: BLE001 - not a formula
        return None
    rec = _extra_index().get(reduced)
    if rec is None:
        return None
    with quiet():
        struct = Structure.from_file(extra_dir() / rec["file"])
    struct.properties = {"source": f"extra:{reduced}", "provenance": rec["provenance"]}
    return struct


@functools.cache
def extra_fingerprint(formula: str) -> str | None:
    """Fingerprint of :func:`extra_structure` (read and computed once per formula), or None."""
    from dsei.structures.fingerprint import fingerprint

    struct = extra_structure(formula)
    return None if struct is None else fingerprint(struct)


def structure_for_formula(formula: str) -> Structure | None:
    """The library's ground-state polymorph of ``formula`` (or the entry of that ID), else the chemistry set's
    extra structure (:func:`extra_structure`), else None."""
    lib = get_library()
    entry = lib.find(formula)
    if entry is not None:
        return lib.structure(entry.id)
    return extra_structure(formula)
