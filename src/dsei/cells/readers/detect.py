"""Which format a file is: header sniffing, encodings and delimiters."""

from __future__ import annotations

import re
from pathlib import Path

from dsei.cells.readers.columns import ARBIN_SIGNATURE, BIOLOGIC_COLUMNS, LAND_SIGNATURE, NEWARE_SIGNATURE
from dsei.cells.readers.xlsx import _load_workbook, _xlsx_format
from dsei.errors import InputError


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
