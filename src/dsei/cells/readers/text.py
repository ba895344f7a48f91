"""Delimited text (CSV/TSV exports of every format) parsed in chunks with pyarrow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dsei.cells.readers.common import CSV_BLOCK_BYTES, CSV_THREADS, Batch, Source
from dsei.errors import InputError


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
