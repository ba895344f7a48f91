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

Package layout (one module per concern): ``common`` (types, units), ``columns`` (column maps),
``detect`` (format detection), ``text`` (CSV/TSV), ``xlsx``, ``biologic`` (.mpt/.mpr); :func:`open_source`
and :func:`read_record` here.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from dsei.cells.readers.biologic import _iter_mpr, _mpt_source
from dsei.cells.readers.columns import (
    ARBIN_COLUMNS,
    ARBIN_SIGNATURE,
    BIOLOGIC_COLUMNS,
    GENERIC_SYNONYMS,
    LAND_COLUMNS,
    LAND_SIGNATURE,
    NEWARE_COLUMNS,
    NEWARE_SIGNATURE,
    map_generic,
    map_known,
)
from dsei.cells.readers.common import (
    BATCH_ROWS,
    CSV_BLOCK_BYTES,
    CSV_THREADS,
    FORMATS,
    ROLES,
    Batch,
    ColumnMap,
    Source,
    parse_unit,
)
from dsei.cells.readers.detect import _head_text, _header_line, _text_encoding, detect_format
from dsei.cells.readers.text import _arrow_msg, _hms_arrow, _iter_text, _make_batch
from dsei.cells.readers.xlsx import _iter_xlsx, _load_workbook, _xlsx_format, _xlsx_header
from dsei.errors import InputError

__all__ = [
    "ARBIN_COLUMNS", "ARBIN_SIGNATURE", "BATCH_ROWS", "BIOLOGIC_COLUMNS", "CSV_BLOCK_BYTES", "CSV_THREADS", "FORMATS",
    "GENERIC_SYNONYMS", "LAND_COLUMNS", "LAND_SIGNATURE", "NEWARE_COLUMNS", "NEWARE_SIGNATURE", "ROLES", "Batch",
    "ColumnMap", "Source", "detect_format", "map_generic", "map_known", "open_source", "parse_unit", "read_record",
]


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
