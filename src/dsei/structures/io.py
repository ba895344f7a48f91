"""Reading structures: CIF, POSCAR/CONTCAR (VASP), extxyz, pymatgen JSON, a library formula/ID, or an MP id.

Every failure is a :class:`~dsei.errors.InputError` whose one-line message names the file and the problem.
Reading does not validate physics (overlaps, disorder, element coverage): see :mod:`dsei.structures.validate`.
A damaged file is reported in its format's terms (``6 atoms in the counts line, 2 coordinate lines``; ``no
_cell_length_b``; ``cell length a = nan Å is not a finite positive number``): each reader checks the file's layout
before the parser runs (:func:`check_cif_text`, :func:`check_poscar_text`, :func:`check_extxyz_text`).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
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


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError(path, f"cannot parse as {detect_format(path) or 'text'}: binary data, not a text structure file")
    return raw.decode("utf-8", errors="replace")


_CIF_NUMBER = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity))(?:\(\d+\))?$", re.IGNORECASE)


def _cif_value(text: str, tag: str) -> str | None:
    m = re.search(rf"^\s*{re.escape(tag)}\s+(\S+)", text, re.MULTILINE | re.IGNORECASE)
    return m.group(1).strip("'\"") if m else None


def check_cif_text(text: str, path: Path) -> None:
    """What a CIF must have before pymatgen parses it, reported in CIF terms: a ``data_`` block, the six cell
    parameters as finite numbers making a 3D cell (:func:`dsei.structures.cell_checks.check_cell_parameters`), and
    an atom-site loop with fractional or Cartesian coordinates."""
    from dsei.structures.cell_checks import check_cell_parameters

    if not re.search(r"^\s*data_", text, re.MULTILINE | re.IGNORECASE):
        raise InputError(path, "cannot parse as cif: no data_ block (not a CIF, or the file is damaged)")
    values = []
    for tag in ("_cell_length_a", "_cell_length_b", "_cell_length_c", "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma"):
        raw = _cif_value(text, tag)
        if raw is None:
            raise InputError(path, f"cannot parse as cif: no {tag} (the cell is incomplete; truncated file?)")
        if not _CIF_NUMBER.match(raw):
            raise InputError(path, f"cannot parse as cif: {tag} = {raw!r} is not a number")
        values.append(float(re.sub(r"\(\d+\)$", "", raw)))
    check_cell_parameters(values[:3], values[3:], path)
    if not re.search(r"^\s*_atom_site_(fract|cartn)_x", text, re.MULTILINE | re.IGNORECASE):
        raise InputError(path, "cannot parse as cif: no atom sites (no _atom_site_fract_x / _atom_site_Cartn_x loop)")


def _read_cif(path: Path) -> Structure:
    from pymatgen.io.cif import CifParser

    check_cif_text(_text(path), path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parser = CifParser(path, occupancy_tolerance=1.0, site_tolerance=1e-4)
            structs = parser.parse_structures(primitive=False)
        except ValueError as exc:
            detail = _cif_detail([str(w.message) for w in caught])
            raise InputError(path, f"cannot parse as cif: {detail or exc}") from exc
    if not structs:
        raise InputError(path, "cif contains no structure")
    if len(structs) > 1:
        warnings.warn(f"{path}: {len(structs)} structures in the CIF; using the first", stacklevel=2)
    return structs[0]


def _cif_detail(messages: list[str]) -> str:
    """pymatgen's warnings for a CIF it could not read, cut to the informative part (one line)."""
    skip = ("No structure parsed for section", "Issues encountered while parsing CIF", "No _symmetry_equiv_pos_as_xyz")
    parts = []
    for msg in messages:
        for piece in re.split(r"(?<=[.!])\s+", " ".join(msg.split())):
            if piece and not piece.startswith(skip) and piece not in parts:
                parts.append(piece)
    text = "; ".join(parts)
    if text.startswith("'") and text.endswith("'"):
        text = f"missing CIF item {text}"
    return text[:200]


def _floats(tokens: list[str], n: int) -> list[float] | None:
    try:
        vals = [float(t) for t in tokens[:n]]
    except ValueError:
        return None
    return vals if len(vals) == n else None


def check_poscar_text(text: str, path: Path) -> None:
    """A POSCAR's layout checked line by line before pymatgen reads it, so that a damaged file is reported in
    POSCAR terms (``6 atoms in the counts line, 2 coordinate lines``) rather than as a parser exception.

    Layout (VASP 5): comment; scale; three lattice vectors; element symbols (optional in VASP 4); counts;
    optional ``Selective dynamics``; ``Direct``/``Cartesian``; one coordinate line per atom.
    """
    from dsei.structures.cell_checks import check_cell_matrix

    lines = text.splitlines()
    if not "".join(lines).strip():
        raise InputError(path, "cannot parse as poscar: the file is empty")
    if len(lines) < 8:
        raise InputError(path, f"cannot parse as poscar: truncated ({len(lines)} lines; a POSCAR needs a comment, the scale, "
                         "3 lattice vectors, the counts, the coordinate mode and one line per atom)")
    scale = _floats(lines[1].split(), 1)
    if scale is None:
        raise InputError(path, f"cannot parse as poscar: line 2 (scale factor) {lines[1].strip()!r} is not a number")
    if not np.isfinite(scale[0]) or scale[0] == 0:
        raise InputError(path, f"cannot parse as poscar: line 2 scale factor {scale[0]:g} is not a finite non-zero number")
    vecs = []
    for k in range(3):
        v = _floats(lines[2 + k].split(), 3)
        if v is None:
            raise InputError(path, f"cannot parse as poscar: line {3 + k} (lattice vector {'abc'[k]}) {lines[2 + k].strip()!r} is not three numbers")
        vecs.append(v)
    check_cell_matrix(np.array(vecs) * abs(scale[0]), path)
    i = 5
    if _floats(lines[i].split(), 1) is None:  # VASP 5: a line of element symbols
        i += 1
    if i >= len(lines):
        raise InputError(path, "cannot parse as poscar: truncated (no counts line)")
    try:
        counts = [int(t) for t in lines[i].split()]
    except ValueError:
        raise InputError(path, f"cannot parse as poscar: line {i + 1} (atom counts) {lines[i].strip()!r} is not whole numbers") from None
    if not counts or any(c < 0 for c in counts):
        raise InputError(path, f"cannot parse as poscar: line {i + 1} (atom counts) {lines[i].strip()!r} is not a list of counts")
    if i == 6:
        species = lines[5].split()
        if len(species) != len(counts):
            raise InputError(path, f"cannot parse as poscar: {len(species)} element symbols (line 6) but {len(counts)} counts (line 7)")
    i += 1
    if i < len(lines) and lines[i].strip()[:1].lower() == "s":
        i += 1
    if i >= len(lines) or lines[i].strip()[:1].lower() not in ("d", "c", "k"):
        got = lines[i].strip() if i < len(lines) else "end of file"
        raise InputError(path, f"cannot parse as poscar: line {i + 1} should be Direct or Cartesian, got {got!r}")
    i += 1
    n = sum(counts)
    coords = 0
    while i + coords < len(lines) and lines[i + coords].strip():
        tokens = lines[i + coords].split()
        if _floats(tokens, 3) is None:
            if coords < n:
                bad = next((t for t in tokens[:3] if _floats([t], 1) is None), "")
                if len(tokens) >= 3 and bad:
                    raise InputError(path, f"cannot parse as poscar: coordinate line {coords + 1} (line {i + coords + 1}): {bad!r} is not a number")
            break
        coords += 1
    if coords != n:
        raise InputError(path, f"cannot parse as poscar: {n} atoms in the counts line, {coords} coordinate line{'s' if coords != 1 else ''}")
    bad = [v for v in lines[i : i + n] if not np.isfinite(_floats(v.split(), 3)).all()]
    if bad:
        raise InputError(path, f"cannot parse as poscar: coordinate line {bad[0].strip()!r} is not finite")


def _read_poscar(path: Path) -> Structure:
    from pymatgen.io.vasp import Poscar

    check_poscar_text(_text(path), path)
    return Poscar.from_file(path, check_for_potcar=False).structure


def check_extxyz_text(text: str, path: Path) -> None:
    """The first frame of an extended-XYZ file in its own terms: an atom count, a comment line, then one line per
    atom whose columns after the species are numbers."""
    lines = text.splitlines()
    if not "".join(lines).strip():
        raise InputError(path, "cannot parse as extxyz: the file is empty")
    first = lines[0].strip()
    try:
        n = int(first)
    except ValueError:
        raise InputError(path, f"cannot parse as extxyz: line 1 should be the number of atoms, got {first[:40]!r}") from None
    if n < 1:
        raise InputError(path, f"cannot parse as extxyz: line 1 says {n} atoms")
    body = [ln for ln in lines[2 : 2 + n] if ln.strip()]
    if len(body) < n:
        raise InputError(path, f"cannot parse as extxyz: {n} atoms in line 1, {len(body)} atom lines")
    for k, ln in enumerate(body):
        tokens = ln.split()
        if len(tokens) < 4 or _floats(tokens[1:4], 3) is None:
            raise InputError(path, f"cannot parse as extxyz: atom line {k + 1} (line {k + 3}) {ln.strip()[:60]!r} is not 'species x y z'")


def _read_extxyz(path: Path) -> Structure:
    from ase.io import read

    from dsei.structures.cell_checks import check_periodic

    check_extxyz_text(_text(path), path)
    atoms = read(path, format="extxyz", index=-1)
    check_periodic(atoms.pbc, atoms.cell.array, path)
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_structure(atoms)


def _read_json(path: Path) -> Structure:
    try:
        data = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"cannot parse as json: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}; truncated?)") from exc
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
