"""Reading structures: CIF, POSCAR/CONTCAR (VASP), extxyz, pymatgen JSON, a library formula/ID, or an MP id.

Every failure is a :class:`~dsei.errors.InputError` whose one-line message names the file and the problem.
Reading does not validate physics (overlaps, disorder, element coverage): see :mod:`dsei.structures.validate`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

from pymatgen.core import Structure

from dsei.errors import InputError

MP_ID = re.compile(r"^(mp|mvc)-\d+$")

_FORMATS = {
    ".cif": "cif",
    ".mcif": "cif",
    ".vasp": "poscar",
    ".poscar": "poscar",
    ".extxyz": "extxyz",
    ".xyz": "extxyz",
    ".json": "json",
}


def detect_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.startswith(("poscar", "contcar")) or name.endswith((".poscar", ".contcar")):
        return "poscar"
    for suffix in reversed(path.suffixes):
        if suffix.lower() in _FORMATS:
            return _FORMATS[suffix.lower()]
    return None


def read_structure(source: str | Path, fmt: str | None = None) -> Structure:
    """Read one structure from a file (or an MP id when ``mp-api`` and ``MP_API_KEY`` are present).

    ``fmt`` forces a format (``cif``, ``poscar``, ``extxyz``, ``json``); otherwise it is taken from the name.
    The returned structure carries ``properties["source"]`` (the file name).
    """
    text = str(source)
    if MP_ID.match(text) and not Path(text).exists():
        return _read_mp(text)
    path = Path(source)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory, not a structure file")
    fmt = fmt or detect_format(path)
    if fmt is None:
        raise InputError(path, "unknown structure format (use .cif, POSCAR/CONTCAR/.vasp, .extxyz or .json)")
    try:
        struct = _READERS[fmt](path)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's problem, reported in one line
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"cannot parse as {fmt}: {msg}") from exc
    struct.properties = dict(struct.properties or {})
    struct.properties.setdefault("source", str(path))
    return struct


def _read_cif(path: Path) -> Structure:
    from pymatgen.io.cif import CifParser

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parser = CifParser(path, occupancy_tolerance=1.0, site_tolerance=1e-4)
            structs = parser.parse_structures(primitive=False)
        except ValueError as exc:
            detail = " ".join(str(w.message) for w in caught)[:200]
            raise InputError(path, f"cannot parse as cif: {exc}{' (' + detail + ')' if detail else ''}") from exc
    if not structs:
        raise InputError(path, "cif contains no structure")
    if len(structs) > 1:
        warnings.warn(f"{path}: {len(structs)} structures in the CIF; using the first", stacklevel=2)
    return structs[0]


def _read_poscar(path: Path) -> Structure:
    from pymatgen.io.vasp import Poscar

    return Poscar.from_file(path, check_for_potcar=False).structure


def _read_extxyz(path: Path) -> Structure:
    from ase.io import read

    from dsei.structures.validate import check_periodic

    atoms = read(path, format="extxyz", index=-1)
    check_periodic(atoms.pbc, atoms.cell.array, path)
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_structure(atoms)


def _read_json(path: Path) -> Structure:
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "structure" in data and "lattice" not in data:
        data = data["structure"]
    if not isinstance(data, dict) or "lattice" not in data or "sites" not in data:
        raise InputError(path, "JSON is not a pymatgen Structure (needs 'lattice' and 'sites')")
    return Structure.from_dict(data)


_READERS = {"cif": _read_cif, "poscar": _read_poscar, "extxyz": _read_extxyz, "json": _read_json}


def _read_mp(mp_id: str) -> Structure:
    key = os.environ.get("MP_API_KEY")
    try:
        from mp_api.client import MPRester  # type: ignore[import-not-found]
    except ImportError as exc:
        raise InputError(mp_id, "reading Materials Project ids needs mp-api (pip install 'dsei[mp]') and MP_API_KEY") from exc
    if not key:
        raise InputError(mp_id, "reading Materials Project ids needs the environment variable MP_API_KEY")
    try:
        with MPRester(key) as mpr:
            struct = mpr.get_structure_by_material_id(mp_id)
    except Exception as exc:  # noqa: BLE001 - network/API failure reported in one line
        raise InputError(mp_id, f"Materials Project request failed: {exc}") from exc
    struct.properties = {"source": mp_id, "provenance": "Materials Project (CC BY 4.0)"}
    return struct


def load_structure(spec: str | Path, fmt: str | None = None) -> Structure:
    """A file, an MP id, or a built-in library entry (ID like ``Ag2S-acanthite`` or a formula like ``AgF``); a
    formula with no library entry may name one of the chemistry set's extra binaries (``ZnCl2``; see
    :func:`dsei.structures.library.extra_structure`)."""
    p = Path(spec)
    if p.exists() or MP_ID.match(str(spec)) or detect_format(p) is not None or os.sep in str(spec):
        return read_structure(spec, fmt)
    from dsei.structures.library import structure_for_formula

    struct = structure_for_formula(str(spec))
    if struct is None:
        raise InputError(spec, "no such file, and no built-in structure of that ID or formula (library: `dsei library list`; or a chemistry-set binary)")
    return struct
