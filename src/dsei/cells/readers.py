"""Readers for cycler files, streamed as column batches in normalised units.

Every reader yields :class:`Batch` objects (numpy columns ``time_h``, ``voltage_V``, ``current_mA``
and, where the file has them, ``cycle`` and ``step``), so that a 7,000 h record logged every few
seconds (millions of rows) is analysed in bounded memory: nothing downstream holds more than one
batch of raw points plus the per-half-cycle summary.

Supported formats (``fmt`` names; see ``docs/cells.md`` for the exact column maps and versions):

``biologic-mpr``  BioLogic EC-Lab binary ``.mpr`` (read with galvani, ``galvani.BioLogic.MPRfile``).
``biologic-mpt``  BioLogic EC-Lab ASCII export ``.mpt`` (``EC-Lab ASCII FILE`` header, tab separated,
                  decimal point or decimal comma, cp1252).
``neware``        Neware BTSDA 7.x/8.x ``record`` export (CSV or the ``record`` sheet of XLSX).
``land``          LAND (LANDdt / LAND BTS) ``Record`` export (CSV or the ``Record`` sheet of XLSX).
``arbin``         Arbin MITS Pro / DataPro export (CSV or the ``Channel_*`` sheets of XLSX).
``generic``       any delimited text with a header: time, voltage, current (or current density)
                  columns auto-detected from their names or given by the user.

Units are parsed from the column names (``/s``, ``(h)``, ``(A)``, ``[mA]``, ``/mA cm-2``...) and
converted to h, V and mA (current densities are multiplied by the electrode area).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dsei.errors import InputError

FORMATS = ("biologic-mpr", "biologic-mpt", "neware", "land", "arbin", "generic")
ROLES = ("time", "voltage", "current", "current_density", "cycle", "step")
BATCH_ROWS = 1 << 18  # rows per batch for readers that build their own batches (xlsx, mpr)
CSV_BLOCK_BYTES = 8 << 20  # bytes of text parsed at a time (one chunk in memory)
CSV_THREADS = True  # pyarrow parses each chunk with all cores

_TIME_TO_H = {"s": 1 / 3600, "sec": 1 / 3600, "min": 1 / 60, "h": 1.0, "hr": 1.0, "ms": 1 / 3.6e6, "d": 24.0}
_V_TO_V = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6}
_I_TO_MA = {"A": 1e3, "mA": 1.0, "uA": 1e-3, "µA": 1e-3, "nA": 1e-6}


@dataclass
class Batch:
    """A block of consecutive rows in normalised units (h, V, mA)."""

    time_h: np.ndarray
    voltage_V: np.ndarray
    current_mA: np.ndarray
    cycle: np.ndarray | None = None
    step: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.time_h)


@dataclass
class ColumnMap:
    """Which file column plays which role, and the factor that brings it to h / V / mA (or mA cm⁻²)."""

    names: dict[str, str] = field(default_factory=dict)
    factors: dict[str, float] = field(default_factory=dict)
    time_format: str = "number"  # or "hms" (Neware ``Total Time`` as [D-]H:MM:SS[.fff])


@dataclass
class Source:
    """An opened cycler file: its format, column map and a batch iterator factory."""

    path: Path
    fmt: str
    columns: ColumnMap
    detail: str = ""  # e.g. the sheets read, the header line count


# ----------------------------------------------------------------------------------- unit parsing


def parse_unit(name: str) -> str | None:
    """The unit written in a column name: ``time/s`` → ``s``, ``Current(mA)`` → ``mA``,
    ``j / mA cm-2`` → ``mA/cm2``. ``None`` when the name carries no recognisable unit."""
    text = name.strip()
    m = re.search(r"[/(\[]\s*([^/()\[\]]+(?:/[^()\[\]]+)?)\s*[)\]]?\s*$", text)
    cand = None
    if m:
        cand = m.group(1).strip()
    else:
        m = re.search(r"_([A-Za-zµ]+)$", text)
        if m:
            cand = m.group(1)
    if cand is None:
        return None
    c = cand.replace(" ", "").replace("·", "").replace("^", "").replace("⁻²", "-2").replace("μ", "µ")
    c = c.replace(".h", "h")
    dens = re.fullmatch(r"([µu]?[mn]?A)(?:/cm2|cm-2|/cm-2)", c)
    if dens:
        return dens.group(1).replace("u", "µ") + "/cm2"
    for table in (_TIME_TO_H, _V_TO_V, _I_TO_MA):
        for unit in table:
            if c == unit or c.lower() == unit.lower() and unit not in ("mA", "A", "mV", "V", "ms", "m"):
                return unit
    if c.lower() in ("hours", "hour", "hrs"):
        return "h"
    if c.lower() in ("seconds", "second", "secs"):
        return "s"
    if c.lower() in ("minutes", "minute", "mins"):
        return "min"
    return None


def _factor(role: str, unit: str | None, source: object, column: str) -> float:
    """Factor that converts a column in ``unit`` to the role's normal unit (h, V, mA, mA cm⁻²)."""
    if role == "time":
        unit = unit or "s"
        if unit not in _TIME_TO_H:
            raise InputError(source, f"column {column!r}: unknown time unit {unit!r} (use s, min or h)")
        return _TIME_TO_H[unit]
    if role == "voltage":
        unit = unit or "V"
        if unit not in _V_TO_V:
            raise InputError(source, f"column {column!r}: unknown voltage unit {unit!r} (use V or mV)")
        return _V_TO_V[unit]
    if role == "current":
        unit = unit or "mA"
        if unit.endswith("/cm2"):
            raise InputError(source, f"column {column!r} is a current density; give it as current_density")
        if unit not in _I_TO_MA:
            raise InputError(source, f"column {column!r}: unknown current unit {unit!r} (use A, mA or µA)")
        return _I_TO_MA[unit]
    if role == "current_density":
        unit = (unit or "mA/cm2").replace("u", "µ")
        base = unit.split("/")[0]
        if base not in _I_TO_MA:
            raise InputError(source, f"column {column!r}: unknown current-density unit {unit!r} (use mA/cm2)")
        return _I_TO_MA[base]
    return 1.0


# --------------------------------------------------------------------------------- column maps
# Exact (case-insensitive) column names written by each cycler's exporter.
NEWARE_COLUMNS = {
    "time": ["Total Time", "Total Time(s)", "Total Time(h)", "Test Time"],
    "voltage": ["Voltage(V)", "Voltage(mV)"],
    "current": ["Current(mA)", "Current(A)", "Current(uA)", "Current(µA)"],
    "cycle": ["Cycle Index", "Cycle ID", "Cycle"],
    "step": ["Step Index", "Step ID", "Step"],
}
NEWARE_SIGNATURE = ("DataPoint", "Step Type")  # both present in BTSDA 7.x/8.x record exports

LAND_COLUMNS = {
    "time": ["TestTime/h", "TestTime/s", "TestTime/min", "Test Time/h", "Time/h"],
    "voltage": ["Voltage/V", "Voltage/mV"],
    "current": ["Current/mA", "Current/A", "Current/uA", "Current/µA"],
    "cycle": ["Cycle", "Cycle Index", "CycleIndex"],
    "step": ["Step", "Step Index", "StepIndex"],
}
LAND_SIGNATURE = ("StepTime/h", "TestTime/h")

ARBIN_COLUMNS = {
    "time": ["Test_Time(s)", "Test Time (s)", "Test_Time(h)", "Test Time (h)"],
    "voltage": ["Voltage(V)", "Voltage (V)"],
    "current": ["Current(A)", "Current (A)", "Current(mA)", "Current (mA)"],
    "cycle": ["Cycle_Index", "Cycle Index"],
    "step": ["Step_Index", "Step Index"],
}
ARBIN_SIGNATURE = ("Cycle_Index", "Test_Time(s)", "Cycle Index", "Test Time (s)")

BIOLOGIC_COLUMNS = {
    "time": ["time/s"],
    "voltage": ["Ewe/V", "Ecell/V", "<Ewe>/V", "<Ewe/V>", "Ewe-Ece/V"],
    "current": ["I/mA", "<I>/mA", "control/V/mA"],
    "cycle": ["cycle number"],
    "step": ["Ns"],
}

# Name patterns (lower case, unit stripped) for the generic reader.
GENERIC_SYNONYMS = {
    "time": ["time", "t", "test time", "test_time", "testtime", "total time", "elapsed time", "elapsed", "time_s", "time_h", "time_min", "runtime"],
    "voltage": ["voltage", "v", "ewe", "e", "ecell", "potential", "cell voltage", "u", "voltage_v", "volts"],
    "current": ["current", "i", "current_ma", "current_a", "amps", "<i>"],
    "current_density": ["current density", "j", "current_density", "i_density"],
    "cycle": ["cycle", "cycle index", "cycle_index", "cycle number", "cycle_number", "cyc#", "cycle id"],
    "step": ["step", "step index", "step_index", "ns", "step id"],
}


def _strip_unit(name: str) -> str:
    base = re.sub(r"\s*[/(\[].*$", "", name.strip())
    return base.strip().lower()


def _find(header: list[str], candidates: list[str]) -> str | None:
    lower = {h.strip().lower(): h for h in header}
    for c in candidates:
        if c.lower() in lower:
            return lower[c.lower()]
    return None


def map_known(header: list[str], table: dict[str, list[str]], source: object, fmt: str) -> ColumnMap:
    """Map a cycler's exact column names to roles (time, voltage, current, cycle, step)."""
    cm = ColumnMap()
    for role, cands in table.items():
        col = _find(header, cands)
        if col is not None:
            cm.names[role] = col
    missing = [r for r in ("time", "voltage", "current") if r not in cm.names]
    if missing:
        want = "; ".join(f"{r}: one of {', '.join(table[r])}" for r in missing)
        raise InputError(source, f"{fmt} file lacks the {', '.join(missing)} column(s) ({want}); found columns: {', '.join(header[:20])}")
    for role, col in cm.names.items():
        if role == "time" and fmt == "neware" and "(" not in col:
            cm.time_format = "hms"
            cm.factors[role] = 1 / 3600
            continue
        cm.factors[role] = _factor(role, parse_unit(col), source, col)
    return cm


def map_generic(header: list[str], source: object, columns: dict[str, str] | None = None, units: dict[str, str] | None = None) -> ColumnMap:
    """Columns for the generic reader: user-given names first, then names that match the synonyms."""
    columns = dict(columns or {})
    units = dict(units or {})
    for role in columns:
        if role not in ROLES:
            raise InputError(source, f"unknown column role {role!r} (use {', '.join(ROLES)})")
    cm = ColumnMap()
    stripped = {h: _strip_unit(h) for h in header}
    for role in ROLES:
        if role in columns:
            if columns[role] not in header:
                raise InputError(source, f"has no column {columns[role]!r} (given for {role}); columns are: {', '.join(header[:30])}")
            cm.names[role] = columns[role]
            continue
        for h in header:
            if h in cm.names.values():
                continue
            if stripped[h] in GENERIC_SYNONYMS[role]:
                unit = parse_unit(h)
                if role == "current" and unit and unit.endswith("/cm2"):
                    continue  # a density column: picked up as current_density
                if role == "current_density" and not (unit is None or unit.endswith("/cm2")):
                    continue
                cm.names[role] = h
                break
    if "current" not in cm.names and "current_density" not in cm.names:
        for h in header:  # e.g. "I/mA cm-2" under a current synonym
            unit = parse_unit(h)
            if unit and unit.endswith("/cm2") and h not in cm.names.values():
                cm.names["current_density"] = h
                break
    missing = [r for r in ("time", "voltage") if r not in cm.names]
    if "current" not in cm.names and "current_density" not in cm.names:
        missing.append("current (or current density)")
    if missing:
        raise InputError(
            source,
            f"cannot find the {', '.join(missing)} column(s) among: {', '.join(header[:30])} "
            "(name them with columns={'time': ..., 'voltage': ..., 'current': ...} or --columns)",
        )
    for role, col in cm.names.items():
        cm.factors[role] = _factor(role, units.get(role) or parse_unit(col), source, col)
    return cm


# ----------------------------------------------------------------------------------- detection
def _head_text(path: Path, nbytes: int = 65536) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(nbytes)
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1", errors="replace")


def _text_encoding(path: Path, nbytes: int = 1 << 20) -> str:
    """``utf8`` if the first MB decodes as UTF-8 (a character cut at the end is fine), else cp1252
    (EC-Lab and Windows cycler software write cp1252: ``°``, ``µ``, ``²``)."""
    import codecs

    with open(path, "rb") as fh:
        raw = fh.read(nbytes)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        return "utf8"
    except UnicodeDecodeError:
        return "cp1252"


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ",", ";")}
    return max(counts, key=counts.get) if max(counts.values()) > 0 else ","


def _header_line(lines: list[str], source: object) -> tuple[int, str, list[str]]:
    """Index, delimiter and fields of the header: the first line whose next line starts with a number
    and has as many fields."""
    for k, line in enumerate(lines[:-1]):
        if not line.strip():
            continue
        delim = _sniff_delimiter(line)
        fields = [f.strip().strip('"') for f in line.rstrip("\r\n").split(delim)]
        nxt = [f.strip().strip('"') for f in lines[k + 1].rstrip("\r\n").split(delim)]
        if len(fields) >= 2 and len(nxt) >= len([f for f in fields if f]) and any(re.match(r"^[-+]?\d", x) for x in nxt):
            if not any(re.match(r"^[-+]?\d+([.,]\d+)?([eE][-+]?\d+)?$", f) for f in fields if f):
                return k, delim, fields
    raise InputError(source, "no header line followed by numeric rows was found (is it a cycler export?)")


def detect_format(path: Path) -> str:
    """Format from the suffix and the header: ``.mpr`` / ``.mpt`` are BioLogic, xlsx by sheet names,
    delimited text by the cycler's signature columns, else ``generic``."""
    suffix = path.suffix.lower()
    if suffix == ".mpr":
        return "biologic-mpr"
    if suffix == ".mpt":
        return "biologic-mpt"
    if suffix in (".xlsx", ".xlsm"):
        wb = _load_workbook(path)
        try:
            return _xlsx_format(wb)
        finally:
            wb.close()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            return _format_from_header(list(pq.read_schema(path).names))
        except Exception:  # noqa: BLE001 - unreadable: the reader reports it
            return "generic"
    text = _head_text(path)
    if text.startswith("EC-Lab ASCII FILE") or text.startswith("BT-Lab ASCII FILE"):
        return "biologic-mpt"
    lines = text.splitlines()[:200]
    try:
        _, _, header = _header_line(lines, path)
    except InputError:
        return "generic"
    return _format_from_header(header)


def _format_from_header(header: list[str]) -> str:
    hs = set(header)
    if all(c in hs for c in NEWARE_SIGNATURE):
        return "neware"
    if any(c in hs for c in LAND_SIGNATURE):
        return "land"
    if any(c in hs for c in ARBIN_SIGNATURE):
        return "arbin"
    if "time/s" in hs and any(c in hs for c in BIOLOGIC_COLUMNS["voltage"]):
        return "biologic-mpt"
    return "generic"


# ---------------------------------------------------------------------------------------- xlsx
def _load_workbook(path: Path):
    """Open an xlsx read-only (streamed rows, formulas as cached values)."""
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any openpyxl failure means: not a readable workbook
        raise InputError(path, f"cannot open as an Excel workbook ({type(exc).__name__}: {exc})") from exc


def _xlsx_header(wb, sheet: str) -> list[str]:
    for row in wb[sheet].iter_rows(values_only=True, max_row=1):
        return [str(c).strip() if c is not None else "" for c in row]
    return []


def _xlsx_format(wb) -> str:
    sheets = list(wb.sheetnames)
    low = [s.lower() for s in sheets]
    if any(s.startswith("channel_") and s != "channel_chart" for s in low):
        return "arbin"
    if "record" in low:
        header = _xlsx_header(wb, sheets[low.index("record")])
        return "neware" if all(c in header for c in NEWARE_SIGNATURE) else "land"
    return "generic"


def _hms_to_seconds_py(values: list) -> np.ndarray:
    out = np.empty(len(values))
    for k, v in enumerate(values):
        if isinstance(v, int | float):
            out[k] = float(v)
            continue
        if hasattr(v, "total_seconds"):
            out[k] = v.total_seconds()
            continue
        if hasattr(v, "hour"):  # datetime.time from a formatted cell
            out[k] = v.hour * 3600 + v.minute * 60 + v.second + getattr(v, "microsecond", 0) / 1e6
            continue
        m = re.match(r"^\s*(?:(\d+)-)?(\d+):(\d+):([\d.]+)\s*$", str(v))
        out[k] = np.nan if m is None else (int(m.group(1) or 0) * 86400 + int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4)))
    return out


def _iter_xlsx(src: Source, sheets: list[str], wb) -> Iterator[Batch]:
    """Stream rows of the given sheets (same header on each, as cyclers split long records)."""
    cm = src.columns
    try:
        for sheet in sheets:
            rows = wb[sheet].iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                continue
            header = [str(c).strip() if c is not None else "" for c in header]
            idx = {}
            for role, col in cm.names.items():
                if col not in header:
                    raise InputError(src.path, f"sheet {sheet!r} lacks the column {col!r} ({role})")
                idx[role] = header.index(col)
            buf: dict[str, list] = {r: [] for r in idx}
            for row in rows:
                if row is None or all(c is None for c in row):
                    continue
                for role, i in idx.items():
                    buf[role].append(row[i] if i < len(row) else None)
                if len(buf["time"]) >= BATCH_ROWS // 4:
                    yield _batch_from_lists(buf, cm, src.path)
                    buf = {r: [] for r in idx}
            if buf["time"]:
                yield _batch_from_lists(buf, cm, src.path)
    finally:
        wb.close()


def _to_float(values: list, source: object, column: str) -> np.ndarray:
    try:
        return np.asarray([np.nan if v is None or v == "" else v for v in values], dtype=float)
    except (TypeError, ValueError):
        out = np.empty(len(values))
        for k, v in enumerate(values):
            try:
                out[k] = float(str(v).replace(",", ".")) if v not in (None, "") else np.nan
            except ValueError as exc:
                raise InputError(source, f"column {column!r} has a non-numeric value {v!r}") from exc
        return out


def _batch_from_lists(buf: dict[str, list], cm: ColumnMap, source: object) -> Batch:
    if cm.time_format == "hms":
        t = _hms_to_seconds_py(buf["time"]) * cm.factors["time"]
    else:
        t = _to_float(buf["time"], source, cm.names["time"]) * cm.factors["time"]
    cols = {r: _to_float(v, source, cm.names[r]) * cm.factors.get(r, 1.0) for r, v in buf.items() if r != "time"}
    return _make_batch(t, cols)


# ----------------------------------------------------------------------------------- text/CSV
def _text_chunks(path: Path, skip_rows: int, chunk_bytes: int) -> Iterator[tuple[list[str] | None, bytes]]:
    """The header line (first item only) and then the data as byte chunks cut at line ends.

    pyarrow's own streaming CSV reader parses ahead without bound (a 300 MB file ends up fully
    buffered when the consumer is slower than the parser); cutting the file ourselves keeps one chunk
    in memory while pyarrow still parses each chunk with all cores."""
    with open(path, "rb") as fh:
        for _ in range(skip_rows):
            if not fh.readline():
                return
        header = fh.readline()
        yield None, header
        leftover = b""
        while True:
            buf = fh.read(chunk_bytes)
            if not buf:
                if leftover.strip():
                    yield None, leftover
                return
            data = leftover + buf if leftover else buf
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                leftover = data
                continue
            yield None, data[:cut]
            leftover = data[cut:]


def _iter_text(src: Source, skip_rows: int, delimiter: str, encoding: str = "utf8", decimal_comma: bool = False) -> Iterator[Batch]:
    """Stream a delimited text file: byte chunks cut at line ends, each parsed by pyarrow
    (multithreaded, only the needed columns, typed on read)."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    cm = src.columns
    wanted = list(dict.fromkeys(cm.names.values()))
    types = {}
    for role, col in cm.names.items():
        if decimal_comma or (role == "time" and cm.time_format == "hms"):
            types[col] = pa.string()
        else:
            types[col] = pa.float64()
    chunks = _text_chunks(src.path, skip_rows, CSV_BLOCK_BYTES)
    _, header_bytes = next(chunks, (None, b""))
    header_text = header_bytes.decode("utf-8" if encoding == "utf8" else encoding, errors="replace").lstrip("\ufeff").rstrip("\r\n")
    names = [h.strip().strip('"') for h in header_text.split(delimiter)]
    names = [n if n and n not in names[:k] else f"_unnamed_{k}" for k, n in enumerate(names)]
    missing = [c for c in wanted if c not in names]
    if missing:
        raise InputError(src.path, f"header has no column {', '.join(map(repr, missing))}")
    read = pcsv.ReadOptions(column_names=names, encoding=encoding, use_threads=CSV_THREADS, block_size=1 << 22)
    parse = pcsv.ParseOptions(delimiter=delimiter, quote_char='"', ignore_empty_lines=True)
    conv = pcsv.ConvertOptions(include_columns=wanted, column_types=types, strings_can_be_null=True,
                               null_values=["", "NaN", "nan", "-", "NULL"])
    for _, chunk in chunks:
        try:
            tb = pcsv.read_csv(io.BytesIO(chunk), read_options=read, parse_options=parse, convert_options=conv)
        except pa.ArrowInvalid as exc:
            raise InputError(src.path, f"bad row in {src.fmt} text: {_arrow_msg(exc)}") from exc
        if tb.num_rows == 0:
            continue
        arrays = {}
        for role, col in cm.names.items():
            arr = tb.column(col).combine_chunks()
            if role == "time" and cm.time_format == "hms":
                arrays[role] = _hms_arrow(arr, src.path) * cm.factors[role]
                continue
            if arr.type == pa.string():
                arr = pc.replace_substring(arr, ",", ".") if decimal_comma else arr
                try:
                    arr = pc.cast(arr, pa.float64())
                except pa.ArrowInvalid as exc:
                    raise InputError(src.path, f"column {col!r} is not numeric: {_arrow_msg(exc)}") from exc
            arrays[role] = arr.to_numpy(zero_copy_only=False) * cm.factors.get(role, 1.0)
        del tb
        t = arrays.pop("time")
        yield _make_batch(t, arrays)


def _arrow_msg(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


def _hms_arrow(arr, source: object) -> np.ndarray:
    """Neware ``Total Time`` strings ``[D-]H:MM:SS[.fff]`` → seconds, vectorised in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.type != pa.string():
        return arr.to_numpy(zero_copy_only=False).astype(float)
    try:
        parts = pc.extract_regex(arr, r"^\s*(?:(?P<d>\d+)-)?(?P<h>\d+):(?P<m>\d+):(?P<s>[0-9.]+)\s*$")
    except pa.ArrowInvalid as exc:
        raise InputError(source, f"time column is not [D-]H:MM:SS: {_arrow_msg(exc)}") from exc

    def num(name):
        f = parts.field(name)
        f = pc.if_else(pc.equal(f, ""), "0", f)
        return pc.cast(f, pa.float64()).to_numpy(zero_copy_only=False)

    return num("d") * 86400 + num("h") * 3600 + num("m") * 60 + num("s")


def _make_batch(t: np.ndarray, cols: dict[str, np.ndarray]) -> Batch:
    v = cols["voltage"]
    if "current" in cols:
        i = cols["current"]
    else:
        i = cols["current_density"]  # converted to mA by the caller (area known there)
    keep = np.isfinite(t) & np.isfinite(v) & np.isfinite(i)
    if not keep.all():
        t, v, i = t[keep], v[keep], i[keep]
        cols = {k: a[keep] for k, a in cols.items()}
    cyc = cols.get("cycle")
    step = cols.get("step")
    return Batch(
        time_h=np.ascontiguousarray(t, dtype=np.float64),
        voltage_V=np.ascontiguousarray(v, dtype=np.float64),
        current_mA=np.ascontiguousarray(i, dtype=np.float64),
        cycle=None if cyc is None else np.nan_to_num(cyc).astype(np.int64),
        step=None if step is None else np.nan_to_num(step).astype(np.int64),
    )


# ------------------------------------------------------------------------------------ BioLogic
def _mpt_header(path: Path) -> tuple[int, str, str, bool]:
    """(number of header lines, encoding, delimiter, decimal comma) of an EC-Lab ``.mpt`` file."""
    text = _head_text(path, 1 << 18)
    lines = text.splitlines()
    if not lines:
        raise InputError(path, "empty file")
    nb = 1
    if lines[0].startswith(("EC-Lab ASCII FILE", "BT-Lab ASCII FILE")):
        m = next((re.search(r"Nb header lines\s*:\s*(\d+)", ln) for ln in lines[:5] if "Nb header lines" in ln), None)
        if m is None:
            raise InputError(path, "EC-Lab ASCII file without the 'Nb header lines : N' line")
        nb = int(m.group(1))
        if len(lines) <= nb:
            raise InputError(path, f"header says {nb} header lines but the file has {len(lines)} lines (no data)")
    data_line = lines[nb] if len(lines) > nb else ""
    delim = "\t" if nb > 1 or "\t" in lines[nb - 1] else _sniff_delimiter(lines[nb - 1])
    decimal_comma = delim != "," and bool(re.search(r"(^|" + re.escape(delim) + r")-?\d+,\d+", data_line))
    return nb, _text_encoding(path), delim, decimal_comma


def _mpt_source(path: Path) -> tuple[Source, dict]:
    nb, enc, delim, dcomma = _mpt_header(path)
    lines = _head_text(path, 1 << 18).splitlines()
    header = [h.strip().strip('"') for h in lines[nb - 1].rstrip("\r\n").split(delim)]
    header = [h for h in header if h]
    cm = map_known(header, BIOLOGIC_COLUMNS, path, "biologic")
    return Source(path, "biologic-mpt", cm, detail=f"{nb} header lines"), {"skip_rows": nb - 1, "delimiter": delim, "encoding": enc, "decimal_comma": dcomma}


def _iter_mpr(path: Path) -> tuple[Source, Iterator[Batch]]:
    from galvani import BioLogic

    try:
        mpr = BioLogic.MPRfile(str(path))
    except Exception as exc:  # noqa: BLE001 - galvani raises plain ValueError, struct.error or its own "not implemented" errors
        raise InputError(path, f"galvani cannot read this .mpr file ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from exc
    data = mpr.data
    names = list(data.dtype.names or ())
    cm = ColumnMap()
    for role, cands in BIOLOGIC_COLUMNS.items():
        col = _find(names, cands)
        if col is not None:
            cm.names[role] = col
    has_dq = "dq/mA.h" in names or "dQ/mA.h" in names
    if "current" not in cm.names and not has_dq:
        raise InputError(path, f".mpr file has no current column (I/mA, <I>/mA, control/V/mA) nor dq/mA.h; columns: {', '.join(names)}")
    missing = [r for r in ("time", "voltage") if r not in cm.names]
    if missing:
        raise InputError(path, f".mpr file lacks the {', '.join(missing)} column(s); columns: {', '.join(names)}")
    # control/V/mA is the set point (current in galvanostatic techniques): the measured charge
    # increment dq/mA.h is the better current when I/mA is not recorded.
    dq_col = "dq/mA.h" if "dq/mA.h" in names else ("dQ/mA.h" if "dQ/mA.h" in names else None)
    use_dq = dq_col is not None and cm.names.get("current") in (None, "control/V/mA")
    src = Source(path, "biologic-mpr", cm, detail=f"galvani MPRfile, {len(data)} rows, columns: {', '.join(names)}")

    def gen() -> Iterator[Batch]:
        prev_t = None
        for lo in range(0, len(data), BATCH_ROWS):
            chunk = data[lo : lo + BATCH_ROWS]
            t_s = np.asarray(chunk[cm.names["time"]], dtype=float)
            v = np.asarray(chunk[cm.names["voltage"]], dtype=float)
            if use_dq:
                dq = np.asarray(chunk[dq_col], dtype=float)
                dt_h = np.diff(t_s, prepend=t_s[0] if prev_t is None else prev_t) / 3600
                with np.errstate(divide="ignore", invalid="ignore"):
                    i = np.where(dt_h > 0, dq / np.where(dt_h > 0, dt_h, 1), 0.0)
                if "control/V/mA" in names:  # first point of a step: fall back on the set point
                    ctrl = np.asarray(chunk["control/V/mA"], dtype=float)
                    i = np.where(dt_h > 0, i, ctrl)
            else:
                i = np.asarray(chunk[cm.names["current"]], dtype=float)
            cols = {"voltage": v, "current": i}
            if "cycle" in cm.names:
                cols["cycle"] = np.asarray(chunk[cm.names["cycle"]], dtype=float)
            if "step" in cm.names:
                cols["step"] = np.asarray(chunk[cm.names["step"]], dtype=float)
            prev_t = t_s[-1] if len(t_s) else prev_t
            yield _make_batch(t_s / 3600, cols)

    return src, gen()


# ------------------------------------------------------------------------------------- open
def open_source(
    path: str | Path,
    fmt: str | None = None,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
) -> tuple[Source, Iterator[Batch]]:
    """Open a cycler file: its :class:`Source` description and an iterator of normalised batches.

    ``fmt`` forces a format (one of :data:`FORMATS`); ``columns``/``units`` give the generic reader
    the role → column name map and role → unit (``{"time": "min", "current": "A"}``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory, not a cycler file")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file")
    if fmt is not None and fmt not in FORMATS:
        raise InputError(fmt, f"unknown format (use one of {', '.join(FORMATS)})")
    if columns and fmt is None:
        fmt = "generic"
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm") and fmt not in ("biologic-mpr", "biologic-mpt"):
        return _open_xlsx(path, fmt, columns, units)
    fmt = fmt or detect_format(path)
    if suffix in (".parquet", ".pq"):
        return _open_parquet(path, fmt, columns, units)
    if fmt == "biologic-mpr":
        return _iter_mpr(path)
    if fmt == "biologic-mpt":
        src, opts = _mpt_source(path)
        return src, _iter_text(src, **opts)
    text = _head_text(path)
    lines = text.splitlines()[:200]
    k, delim, header = _header_line(lines, path)
    table = {"neware": NEWARE_COLUMNS, "land": LAND_COLUMNS, "arbin": ARBIN_COLUMNS}.get(fmt)
    cm = map_known(header, table, path, fmt) if table else map_generic(header, path, columns, units)
    enc = _text_encoding(path)
    src = Source(path, fmt, cm, detail=f"header on line {k + 1}, delimiter {delim!r}")
    first_data = lines[k + 1] if len(lines) > k + 1 else ""
    dcomma = delim != "," and bool(re.search(r"(^|[" + re.escape(delim) + r"])-?\d+,\d+", first_data))
    return src, _iter_text(src, skip_rows=k, delimiter=delim, encoding=enc, decimal_comma=dcomma)


def _open_xlsx(path: Path, fmt: str | None, columns, units) -> tuple[Source, Iterator[Batch]]:
    wb = _load_workbook(path)  # opened once: detection, header and rows
    try:
        fmt = fmt or _xlsx_format(wb)
        sheets = list(wb.sheetnames)
        low = [s.lower() for s in sheets]
        if fmt == "arbin":
            data_sheets = [s for s in sheets if s.lower().startswith("channel_") and s.lower() != "channel_chart"]
        elif fmt in ("neware", "land"):
            if "record" not in low:
                raise InputError(path, f"{fmt} workbook has no 'record' sheet (sheets: {', '.join(sheets)})")
            data_sheets = [sheets[low.index("record")]]
        else:
            data_sheets = [sheets[0]]
        if not data_sheets:
            raise InputError(path, f"{fmt} workbook has no data sheet (sheets: {', '.join(sheets)})")
        header = _xlsx_header(wb, data_sheets[0])
        table = {"neware": NEWARE_COLUMNS, "land": LAND_COLUMNS, "arbin": ARBIN_COLUMNS}.get(fmt)
        cm = map_known(header, table, path, fmt) if table else map_generic(header, path, columns, units)
    except BaseException:
        wb.close()
        raise
    src = Source(path, fmt, cm, detail=f"sheets: {', '.join(data_sheets)}")
    return src, _iter_xlsx(src, data_sheets, wb)


def _open_parquet(path: Path, fmt: str, columns, units) -> tuple[Source, Iterator[Batch]]:
    """Parquet (e.g. a record converted once for fast re-analysis): columns mapped like text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"cannot read as Parquet: {_arrow_msg(exc)}") from exc
    header = list(pf.schema_arrow.names)
    table = {"neware": NEWARE_COLUMNS, "land": LAND_COLUMNS, "arbin": ARBIN_COLUMNS, "biologic-mpt": BIOLOGIC_COLUMNS}.get(fmt)
    cm = map_known(header, table, path, fmt) if table else map_generic(header, path, columns, units)
    src = Source(path, fmt, cm, detail=f"parquet, {pf.metadata.num_rows} rows")

    def gen() -> Iterator[Batch]:
        wanted = list(dict.fromkeys(cm.names.values()))
        # One row group at a time (iter_batches' read-ahead lets memory creep up on long files).
        for rg in range(pf.metadata.num_row_groups):
            group = pf.read_row_group(rg, columns=wanted)
            for rb in group.to_batches(max_chunksize=BATCH_ROWS):
                yield _parquet_batch(rb)
            del group

    def _parquet_batch(rb) -> Batch:
        arrays = {}
        for role, col in cm.names.items():
            arr = rb.column(col)
            if role == "time" and cm.time_format == "hms":
                arrays[role] = _hms_arrow(arr, path) * cm.factors[role]
            else:
                arrays[role] = arr.to_numpy(zero_copy_only=False).astype(float) * cm.factors.get(role, 1.0)
        return _make_batch(arrays.pop("time"), arrays)

    return src, gen()


def read_record(path: str | Path, fmt: str | None = None, area_cm2: float | None = None, columns=None, units=None):
    """The whole record as a pandas DataFrame (``time_h, voltage_V, current_mA[, current_mA_cm2,
    cycle, step]``). Convenient for small files and plotting; analysis streams instead."""
    import pandas as pd

    src, batches = open_source(path, fmt, columns, units)
    frames = []
    for b in batches:
        cur = b.current_mA
        if "current" not in src.columns.names:
            if not area_cm2:
                raise InputError(path, "the file gives current density only: give the electrode area (area_cm2 / --area)")
            cur = cur * area_cm2
        d = {"time_h": b.time_h, "voltage_V": b.voltage_V, "current_mA": cur}
        if area_cm2:
            d["current_mA_cm2"] = cur / area_cm2
        if b.cycle is not None:
            d["cycle"] = b.cycle
        if b.step is not None:
            d["step"] = b.step
        frames.append(pd.DataFrame(d))
    if not frames:
        raise InputError(path, "no data rows")
    df = pd.concat(frames, ignore_index=True)
    df.attrs.update({"source": str(path), "format": src.fmt})
    return df
