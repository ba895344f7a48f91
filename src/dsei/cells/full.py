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
    if mass_mg:
        norm, unit = mass_mg / 1000.0, "mAh/g"
    elif area_cm2:
        norm, unit = area_cm2, "mAh/cm2"
    else:
        norm, unit = 1.0, "mAh"
        warnings.append("neither --mass nor --area given: capacities in mAh")
    lead = int(hc.sign[0]) if len(hc) else 1
    first_name = "charge" if lead > 0 else "discharge"
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
    hyst = vch - vdis
    if one_c_mA is None:
        if mass_mg:
            one_c_mA = mass_mg / 1000.0 * specific_capacity_1C_mAh_g
        else:
            first = qdis[np.isfinite(qdis)]
            one_c_mA = float(first[0] * norm) if len(first) else None
    # Retention against the first cycle at the current of the last cycle.
    valid = np.flatnonzero(np.isfinite(qdis) & (qdis > 0))
    retention = None
    ret_curve = np.full(len(pairs), nan)
    if len(valid):
        last = valid[-1]
        same = [k for k in valid if abs(idis[k] - idis[last]) <= 0.05 * idis[last]]
        ref = same[0]
        retention = float(qdis[last] / qdis[ref] * 100.0)
        ret_curve = qdis / qdis[valid[0]] * 100.0
    # Rate table: blocks of consecutive cycles at the same discharge current.
    blocks: list[list[int]] = []
    for k in range(len(pairs)):
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
            "discharge_capacity": _num(np.nanmean(qdis[b])),
            "charge_capacity": _num(np.nanmean(qch[b])),
            "coulombic_efficiency_pct": _num(np.nanmean(ce[b])),
            "average_discharge_voltage_V": _num(np.nanmean(vdis[b])),
            "unit": unit,
        })

    def fin(x: np.ndarray) -> np.ndarray:
        return x[np.isfinite(x)]

    dis = fin(qdis)
    ch = fin(qch)
    cef = fin(ce)
    capacity = {
        "unit": unit,
        "cycle_starts_with": first_name,
        "first_charge": _num(ch[0]) if len(ch) else None,
        "first_discharge": _num(dis[0]) if len(dis) else None,
        "last_discharge": _num(dis[-1]) if len(dis) else None,
        "max_discharge": _num(dis.max()) if len(dis) else None,
    }
    coulombic = {
        "first_pct": _num(cef[0]) if len(cef) else None,
        "average_pct": _num(np.mean(cef[1:])) if len(cef) > 1 else (_num(cef[0]) if len(cef) else None),
        "last_pct": _num(cef[-1]) if len(cef) else None,
    }
    if len(pairs) == 0:
        warnings.append("no current-carrying half-cycle found")
    return FullCellResult(
        source=source,
        format=fmt,
        n_rows=hc.n_rows,
        duration_h=hc.last_time_h - hc.first_time_h,
        cycles=len(pairs),
        capacity=capacity,
        coulombic_efficiency=coulombic,
        retention_pct=retention,
        rate_table=rate_table,
        average_voltage_V={"charge_first": _num(fin(vch)[0]) if len(fin(vch)) else None,
                           "discharge_first": _num(fin(vdis)[0]) if len(fin(vdis)) else None,
                           "charge_last": _num(fin(vch)[-1]) if len(fin(vch)) else None,
                           "discharge_last": _num(fin(vdis)[-1]) if len(fin(vdis)) else None},
        voltage_hysteresis_V={"first": _num(fin(hyst)[0]) if len(fin(hyst)) else None,
                              "median": _num(np.median(fin(hyst))) if len(fin(hyst)) else None,
                              "last": _num(fin(hyst)[-1]) if len(fin(hyst)) else None},
        mass_mg=mass_mg,
        area_cm2=area_cm2,
        one_c_mA=one_c_mA,
        warnings=warnings,
        per_cycle={
            "cycle": list(range(1, len(pairs) + 1)),
            "charge_capacity": [_num(x) for x in qch],
            "discharge_capacity": [_num(x) for x in qdis],
            "coulombic_efficiency_pct": [_num(x) for x in ce],
            "retention_pct": [_num(x) for x in ret_curve],
            "discharge_current_mA": [_num(x) for x in idis],
            "c_rate": [_num(x / one_c_mA) if one_c_mA else None for x in idis],
            "average_charge_voltage_V": [_num(x) for x in vch],
            "average_discharge_voltage_V": [_num(x) for x in vdis],
            "hysteresis_V": [_num(x) for x in hyst],
        },
    )
