"""Excel workbooks (Neware, LAND, Arbin exports) read with openpyxl in batches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dsei.cells.readers.columns import NEWARE_SIGNATURE
from dsei.cells.readers.common import BATCH_ROWS, Batch, ColumnMap, Source
from dsei.cells.readers.text import _make_batch
from dsei.errors import InputError


# ---------------------------------------------------------------------------------------- xlsx
def _load_workbook(path: Path):
    """Open an xlsx read-only (streamed rows, formulas as cached values)."""
    from dsei.extras import require

    openpyxl = require("openpyxl", "cyclers", path, "reading an Excel workbook")
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
