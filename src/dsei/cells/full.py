"""Full cells (e.g. Li|NCM811): capacity, Coulombic efficiency, retention, rate capability, voltages.

Definitions (as in Kang et al., Nature 2025, and the usual reporting practice, e.g. Xiao et al.,
"Understanding and applying Coulombic efficiency in lithium metal batteries", Nat. Energy 5, 561
(2020)):

* a cycle is the record's first current direction followed by the opposite one (charge → discharge
  for a cathode full cell; lithiation → delithiation for a half cell that starts with a discharge);
* capacity of a half-cycle = ∫|I| dt, per gram of active material (``mass_mg``), per cm² (``area_cm2``)
  or in mAh;
* Coulombic efficiency CE_n = Q(second half of cycle n) / Q(first half of cycle n) × 100;
* capacity retention = discharge capacity of the last cycle / that of the first cycle run at the same
  current × 100 (so a rate test that returns to its first rate is compared like for like);
* average voltage of a half-cycle = ∫|V I| dt / ∫|I| dt; hysteresis = V̄(charge) − V̄(discharge);
* rate table: consecutive cycles at the same discharge current (within 5 %) form one row; the C rate is
  the current over the 1C current (``one_c_mA``, or mass × ``specific_capacity_1C_mAh_g`` — 200 mAh g⁻¹
  for NCM811 by default — or else the first discharge capacity over 1 h).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from dsei.cells.halfcycles import HalfCycles
from dsei.results import Result


class FullCellResult(Result):
    """Summary of a full-cell record (field names are the public JSON interface)."""

    cell: str = "full"
    source: str = ""
    format: str = ""
    n_rows: int = 0
    duration_h: float = 0.0
    cycles: int = 0
    capacity: dict[str, Any] = Field(default_factory=dict)
    coulombic_efficiency: dict[str, float | None] = Field(default_factory=dict)
    retention_pct: float | None = None
    rate_table: list[dict[str, Any]] = Field(default_factory=list)
    average_voltage_V: dict[str, float | None] = Field(default_factory=dict)
    voltage_hysteresis_V: dict[str, float | None] = Field(default_factory=dict)
    mass_mg: float | None = None
    area_cm2: float | None = None
    one_c_mA: float | None = None
    warnings: list[str] = Field(default_factory=list)
    per_cycle: dict[str, list] = Field(default_factory=dict)


def _cycles(hc: HalfCycles) -> list[tuple[int | None, int | None]]:
    """(first-half index, second-half index) per cycle, starting with the record's first direction."""
    if len(hc) == 0:
        return []
    lead = int(hc.sign[0])
    out: list[list[int | None]] = []
    for k, s in enumerate(hc.sign):
        if s == lead:
            out.append([k, None])
        elif out and out[-1][1] is None:
            out[-1][1] = k
        else:
            out.append([None, k])
    return [tuple(x) for x in out]


def _num(x: float) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def analyse_full(
    hc: HalfCycles,
    mass_mg: float | None = None,
    area_cm2: float | None = None,
    one_c_mA: float | None = None,
    specific_capacity_1C_mAh_g: float = 200.0,
    source: str = "",
    fmt: str = "",
) -> FullCellResult:
    """Analyse the half-cycle summary of a full-cell record (see the module docstring)."""
    warnings: list[str] = []
    pairs = _cycles(hc)
    norm, unit = _normalisation(mass_mg, area_cm2, warnings)
    c = _per_cycle(hc, pairs, norm)
    if one_c_mA is None:
        one_c_mA = _one_c_current(mass_mg, specific_capacity_1C_mAh_g, c.qdis, norm)
    retention, ret_curve = _retention(c.qdis, c.idis, len(pairs))
    if len(pairs) == 0:
        warnings.append("no current-carrying half-cycle found")
    return FullCellResult(
        source=source,
        format=fmt,
        n_rows=hc.n_rows,
        duration_h=hc.last_time_h - hc.first_time_h,
        cycles=len(pairs),
        capacity=_capacity(c, unit),
        coulombic_efficiency=_coulombic(c.ce),
        retention_pct=retention,
        rate_table=_rate_table(c, len(pairs), one_c_mA, area_cm2, unit),
        average_voltage_V={"charge_first": _first(c.vch), "discharge_first": _first(c.vdis),
                           "charge_last": _last(c.vch), "discharge_last": _last(c.vdis)},
        voltage_hysteresis_V={"first": _first(c.hyst),
                              "median": _num(np.median(_fin(c.hyst))) if len(_fin(c.hyst)) else None,
                              "last": _last(c.hyst)},
        mass_mg=mass_mg,
        area_cm2=area_cm2,
        one_c_mA=one_c_mA,
        warnings=warnings,
        per_cycle={
            "cycle": list(range(1, len(pairs) + 1)),
            "charge_capacity": [_num(x) for x in c.qch],
            "discharge_capacity": [_num(x) for x in c.qdis],
            "coulombic_efficiency_pct": [_num(x) for x in c.ce],
            "retention_pct": [_num(x) for x in ret_curve],
            "discharge_current_mA": [_num(x) for x in c.idis],
            "c_rate": [_num(x / one_c_mA) if one_c_mA else None for x in c.idis],
            "average_charge_voltage_V": [_num(x) for x in c.vch],
            "average_discharge_voltage_V": [_num(x) for x in c.vdis],
            "hysteresis_V": [_num(x) for x in c.hyst],
        },
    )


def _normalisation(mass_mg: float | None, area_cm2: float | None, warnings: list[str]) -> tuple[float, str]:
    """(divisor of a capacity in mAh, its unit): per gram of active material, per cm², or mAh."""
    if mass_mg:
        return mass_mg / 1000.0, "mAh/g"
    if area_cm2:
        return area_cm2, "mAh/cm2"
    warnings.append("neither --mass nor --area given: capacities in mAh")
    return 1.0, "mAh"


@dataclass
class _PerCycle:
    """Per-cycle arrays (NaN where a half is missing): capacities (normalised), average voltages (V), discharge
    current (mA), Coulombic efficiency (%) and hysteresis (V); ``lead`` is the sign of the first half."""

    lead: int
    qch: np.ndarray
    qdis: np.ndarray
    vch: np.ndarray
    vdis: np.ndarray
    idis: np.ndarray
    ce: np.ndarray
    hyst: np.ndarray


def _per_cycle(hc: HalfCycles, pairs: list[tuple[int | None, int | None]], norm: float) -> _PerCycle:
    """The per-cycle arrays of ``pairs`` (see :class:`_PerCycle`)."""
    lead = int(hc.sign[0]) if len(hc) else 1
    nan = float("nan")

    def get(arr: np.ndarray, k: int | None) -> float:
        return float(arr[k]) if k is not None else nan

    q1 = np.array([get(hc.charge_mAh, a) for a, _ in pairs]) / norm
    q2 = np.array([get(hc.charge_mAh, b) for _, b in pairs]) / norm
    e1 = np.array([get(hc.energy_mWh, a) for a, _ in pairs])
    e2 = np.array([get(hc.energy_mWh, b) for _, b in pairs])
    i2 = np.array([get(hc.current_mA, b) for _, b in pairs])
    i1 = np.array([get(hc.current_mA, a) for a, _ in pairs])
    with np.errstate(divide="ignore", invalid="ignore"):
        ce = q2 / q1 * 100.0
        v1 = e1 / (q1 * norm)
        v2 = e2 / (q2 * norm)
    qch, qdis = (q1, q2) if lead > 0 else (q2, q1)
    vch, vdis = (v1, v2) if lead > 0 else (v2, v1)
    idis = i2 if lead > 0 else i1
    return _PerCycle(lead, qch, qdis, vch, vdis, idis, ce, vch - vdis)


def _one_c_current(mass_mg: float | None, specific_capacity_1C_mAh_g: float, qdis: np.ndarray, norm: float) -> float | None:
    """The 1C current (mA): mass × specific 1C capacity, or else the first discharge capacity over 1 h."""
    if mass_mg:
        return mass_mg / 1000.0 * specific_capacity_1C_mAh_g
    first = qdis[np.isfinite(qdis)]
    return float(first[0] * norm) if len(first) else None


def _retention(qdis: np.ndarray, idis: np.ndarray, n_cycles: int) -> tuple[float | None, np.ndarray]:
    """Retention of the last cycle against the first cycle at its current (%), and the curve against cycle 1."""
    valid = np.flatnonzero(np.isfinite(qdis) & (qdis > 0))
    if not len(valid):
        return None, np.full(n_cycles, float("nan"))
    last = valid[-1]
    same = [k for k in valid if abs(idis[k] - idis[last]) <= 0.05 * idis[last]]
    ref = same[0]
    return float(qdis[last] / qdis[ref] * 100.0), qdis / qdis[valid[0]] * 100.0


def _rate_table(c: _PerCycle, n_cycles: int, one_c_mA: float | None, area_cm2: float | None, unit: str) -> list[dict[str, Any]]:
    """One row per block of consecutive cycles at the same discharge current (within 5 %)."""
    idis = c.idis
    blocks: list[list[int]] = []
    for k in range(n_cycles):
        if not np.isfinite(idis[k]):
            continue
        if blocks and abs(idis[k] - idis[blocks[-1][0]]) <= 0.05 * idis[blocks[-1][0]]:
            blocks[-1].append(k)
        else:
            blocks.append([k])
    rate_table = []
    for b in blocks:
        cur = float(np.median(idis[b]))
        rate_table.append({
            "c_rate": _num(round(cur / one_c_mA, 3)) if one_c_mA else None,
            "current_mA": cur,
            "current_density_mA_cm2": cur / area_cm2 if area_cm2 else None,
            "first_cycle": b[0] + 1,
            "last_cycle": b[-1] + 1,
            "n_cycles": len(b),
            "discharge_capacity": _num(np.nanmean(c.qdis[b])),
            "charge_capacity": _num(np.nanmean(c.qch[b])),
            "coulombic_efficiency_pct": _num(np.nanmean(c.ce[b])),
            "average_discharge_voltage_V": _num(np.nanmean(c.vdis[b])),
            "unit": unit,
        })
    return rate_table


def _fin(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


def _first(x: np.ndarray) -> float | None:
    """The first finite value of ``x``, or None."""
    f = _fin(x)
    return _num(f[0]) if len(f) else None


def _last(x: np.ndarray) -> float | None:
    """The last finite value of ``x``, or None."""
    f = _fin(x)
    return _num(f[-1]) if len(f) else None


def _capacity(c: _PerCycle, unit: str) -> dict[str, Any]:
    """First charge and discharge, last and largest discharge capacity."""
    dis = _fin(c.qdis)
    return {
        "unit": unit,
        "cycle_starts_with": "charge" if c.lead > 0 else "discharge",
        "first_charge": _first(c.qch),
        "first_discharge": _num(dis[0]) if len(dis) else None,
        "last_discharge": _num(dis[-1]) if len(dis) else None,
        "max_discharge": _num(dis.max()) if len(dis) else None,
    }


def _coulombic(ce: np.ndarray) -> dict[str, float | None]:
    """First, average (from cycle 2 on; cycle 1 alone if it is the only one) and last Coulombic efficiency (%)."""
    cef = _fin(ce)
    return {
        "first_pct": _num(cef[0]) if len(cef) else None,
        "average_pct": _num(np.mean(cef[1:])) if len(cef) > 1 else (_num(cef[0]) if len(cef) else None),
        "last_pct": _num(cef[-1]) if len(cef) else None,
    }
