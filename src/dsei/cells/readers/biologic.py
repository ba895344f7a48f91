"""BioLogic EC-Lab files: ASCII ``.mpt`` and binary ``.mpr`` (galvani)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dsei.cells.readers.columns import BIOLOGIC_COLUMNS, _find, map_known
from dsei.cells.readers.common import BATCH_ROWS, Batch, ColumnMap, Source
from dsei.cells.readers.detect import _head_text, _sniff_delimiter, _text_encoding
from dsei.cells.readers.text import _make_batch
from dsei.errors import InputError


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
    from dsei.extras import require

    BioLogic = require("galvani.BioLogic", "cyclers", path, "reading a BioLogic .mpr file")
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
