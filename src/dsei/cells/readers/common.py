"""Shared pieces of the readers: the batch and column-map types, units and their conversion."""

from __future__ import annotations

import re
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
