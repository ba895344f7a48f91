"""Column maps: which header names mean time, voltage, current, ... for each cycler format."""

from __future__ import annotations

import re

from dsei.cells.readers.common import ROLES, ColumnMap, _factor, parse_unit
from dsei.errors import InputError

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
