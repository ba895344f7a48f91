"""Li|SE|Li symmetric cells: polarization per half-cycle, failure detection, lifetime, CCD.

The validation protocol follows Kang et al., "A ductile solid electrolyte interphase for solid-state
batteries", Nature (2025): galvanostatic Li plating/stripping (e.g. 4,500 h at 15 mA cm⁻² and
15 mAh cm⁻²; 7,000 h at −30 °C and 5 mA cm⁻²) and a stepped-current critical-current-density test.

Polarization (overpotential) of a half-cycle is |V| of the cell (a symmetric cell has no OCV):

* ``plateau`` — median |V| over the middle half (in time) of the half-cycle, robust to noise and to the
  nucleation peak;
* ``peak`` — max |V| in the half-cycle (the nucleation / pitting peak).

Failure modes (first one wins; each with time in h and cycle). The shapes follow the usual reading
of Li|Li voltage traces (Wood et al., ACS Cent. Sci. 2, 790 (2016): nucleation peak, plateau, and the
flat, low-polarization trace of a cell bridged by Li; Albertus et al., Nat. Energy 3, 16 (2018);
Kasemchainan et al., Nat. Mater. 18, 1105 (2019) for solid electrolytes; Jungjohann et al., ACS
Energy Lett. 6, 2138 (2021) on soft shorts: a sudden, sustained collapse of the polarization to a few
mV with a flattened profile; a hard short reads ~0 V):

* **hard short** — the plateau falls below ``hard_short_mV`` (default 1 mV) and stays there;
* **soft short** — the plateau falls suddenly below ``soft_short_fraction`` (default 0.3) of the
  baseline (median of the ``baseline_window`` = 20 preceding half-cycles) and stays there, but above
  ``hard_short_mV``;
* **divergence** — the plateau rises past ``divergence_mV`` (a user threshold), or by default past
  ``divergence_factor`` (5) × the initial polarization (median of the first 10 half-cycles).

The relative criteria (soft short, default divergence) compare the polarization per unit current
(plateau / |I|, an area-specific resistance once multiplied by the area), so that a stepped-current
CCD test, whose polarization rises with the current, is judged like a constant-current one.

"Stays there": at least ``sustain_fraction`` of the next ``sustain`` half-cycles (or of what is left
of the record, at least 2) satisfy the same condition. The failure time is refined inside the
half-cycle with the binned voltage profile (resolution: half-cycle duration / bins).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dsei.cells.halfcycles import HalfCycles
from dsei.results import Result


@dataclass
class FailureCriteria:
    """Thresholds of the failure detector (documented in ``docs/cells.md``)."""

    soft_short_fraction: float = 0.3
    hard_short_mV: float = 1.0
    divergence_mV: float | None = None
    divergence_factor: float = 5.0
    baseline_window: int = 20
    min_baseline: int = 4
    sustain: int = 6
    sustain_fraction: float = 0.8


class FailureInfo(BaseModel):
    """When and how the cell failed (``detected: false`` and nulls when it did not)."""

    model_config = ConfigDict(extra="allow")

    detected: bool = False
    kind: str | None = None  # "soft_short" | "hard_short" | "divergence"
    time_h: float | None = None
    cycle: int | None = None
    half_cycle: int | None = None
    overpotential_before_mV: float | None = None
    overpotential_after_mV: float | None = None
    threshold_mV: float | None = None


class SymmetricResult(Result):
    """Summary of a Li|Li symmetric-cell record (field names are the public JSON interface)."""

    cell: str = "symmetric"
    source: str = ""
    format: str = ""
    n_rows: int = 0
    duration_h: float = 0.0
    cycles: int = 0
    half_cycles: int = 0
    lifetime_h: float = 0.0
    failure: FailureInfo = Field(default_factory=FailureInfo)
    overpotential_mV: dict[str, float | None] = Field(default_factory=dict)
    peak_overpotential_mV: dict[str, float | None] = Field(default_factory=dict)
    cumulative_capacity_mAh_cm2: float | None = None
    cumulative_capacity_mAh: float = 0.0
    cumulative_capacity_at_failure_mAh_cm2: float | None = None
    area_cm2: float | None = None
    area_inferred: bool = False
    current_density_mA_cm2: float | None = None
    areal_capacity_mAh_cm2: float | None = None
    nominal: dict[str, float | None] = Field(default_factory=dict)
    critical_current_density: dict[str, Any] | None = None
    criteria: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    per_half_cycle: dict[str, list] = Field(default_factory=dict)


def _sustained(cond: np.ndarray, k: int, c: FailureCriteria, allow_last: bool = False) -> bool:
    rest = len(cond) - k
    span = min(c.sustain, rest)
    if span < 2 and not (allow_last and span == 1):
        return False
    return bool(np.mean(cond[k : k + span]) >= c.sustain_fraction)


def _refine(hc: HalfCycles, k: int, below: bool, thr_V: float) -> float:
    """Time at which the binned |V| crossed ``thr_V`` for good, searched in half-cycles k-1 and k."""
    for j in (k, k - 1) if k > 0 else (k,):
        prof = np.abs(hc.profile_mean_V[j].astype(float))
        ok = np.isfinite(prof)
        bad = (prof >= thr_V) if below else (prof <= thr_V)  # bins still on the healthy side
        bad &= ok
        starts = hc.bin_start_h(j)
        if j == k:
            idx = np.flatnonzero(bad)
            if len(idx) == 0:
                continue  # the whole half-cycle is failed: look at the end of the previous one
            last = idx[-1]
            if last + 1 < len(prof):
                return float(starts[last + 1])
            return float(hc.t_end_h[j])
        idx = np.flatnonzero(bad)
        if len(idx) == 0:
            return float(hc.t_start_h[j])
        last = idx[-1]
        if last + 1 < len(prof) and ok[last + 1 :].any():
            return float(starts[last + 1])
        return float(hc.t_start_h[k])
    return float(hc.t_start_h[k])


def detect_failure(hc: HalfCycles, criteria: FailureCriteria | None = None) -> tuple[FailureInfo, list[dict]]:
    """First failure (soft short, hard short or divergence) in the half-cycle summary, and the list of
    confirmed events as dicts (that failure, or empty when the cell did not fail)."""
    c = criteria or FailureCriteria()
    p = hc.plateau_V * 1e3
    n = len(p)
    if n == 0:
        return FailureInfo(), []
    # Relative criteria compare polarization per unit current (mV/mA = Ω, an area-specific resistance
    # once multiplied by the area), so that a stepped-current (CCD) test is judged like a constant one.
    i_mA = np.where(hc.current_mA > 0, hc.current_mA, np.nan)
    res = p / i_mA
    initial = float(np.nanmedian(res[: min(10, n)]))
    if c.divergence_mV is not None:
        div_thr = np.full(n, float(c.divergence_mV))
    else:
        div_thr = c.divergence_factor * initial * hc.current_mA
    hard = p < c.hard_short_mV
    diverged = p > div_thr
    # baseline[k] = median of res over the preceding window (vectorised with a sliding window view)
    w = max(1, c.baseline_window)
    padded = np.concatenate([np.full(w, np.nan), res])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        baseline = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, w)[:n], axis=1)
    collapsed = res < c.soft_short_fraction * baseline
    candidates = np.flatnonzero(hard | diverged | collapsed)
    events: list[dict] = []
    for k in candidates:
        kind = None
        thr = None
        if hard[k] and _sustained(hard, k, c):
            kind, thr = "hard_short", c.hard_short_mV
        elif k >= c.min_baseline and collapsed[k]:
            base = float(baseline[k])
            below = res < c.soft_short_fraction * base
            if below[k] and _sustained(below, k, c):
                after = float(np.median(p[k : k + c.sustain]))
                kind = "hard_short" if after < c.hard_short_mV else "soft_short"
                thr = c.hard_short_mV if kind == "hard_short" else c.soft_short_fraction * base * hc.current_mA[k]
        if kind is None and diverged[k] and _sustained(diverged, k, c, allow_last=True):
            kind, thr = "divergence", float(div_thr[k])
        if kind is None:
            continue
        below = kind != "divergence"
        t_f = _refine(hc, k, below, thr * 1e-3)
        j = int(np.searchsorted(hc.t_start_h, t_f, side="right") - 1)
        j = min(max(j, 0), n - 1)
        k = int(k)
        before = float(np.median(p[max(0, k - c.baseline_window) : k])) if k > 0 else None
        info = FailureInfo(
            detected=True,
            kind=kind,
            time_h=t_f - hc.first_time_h,
            cycle=j // 2 + 1,
            half_cycle=j + 1,
            overpotential_before_mV=before,
            overpotential_after_mV=float(np.median(p[k : k + c.sustain])),
            threshold_mV=float(thr),
        )
        events.append(info.model_dump())
        return info, events
    return FailureInfo(), events


def _stats(x: np.ndarray) -> dict[str, float | None]:
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return {"first": None, "median": None, "last": None}
    return {"first": float(x[0]), "median": float(np.median(x)), "last": float(x[-1])}


def current_steps(hc: HalfCycles, area_cm2: float, rel_tol: float = 0.05) -> list[dict]:
    """Consecutive half-cycles at the same current density (within ``rel_tol``) grouped as steps."""
    j = hc.current_mA / area_cm2
    steps: list[dict] = []
    for k, val in enumerate(j):
        if steps and abs(val - steps[-1]["_ref"]) <= rel_tol * steps[-1]["_ref"]:
            steps[-1]["last"] = k
            continue
        steps.append({"_ref": float(val), "first": k, "last": k})
    out = []
    for s in steps:
        sl = slice(s["first"], s["last"] + 1)
        out.append({
            "current_density_mA_cm2": float(np.median(j[sl])),
            "start_h": float(hc.t_start_h[s["first"]] - hc.first_time_h),
            "end_h": float(hc.t_end_h[s["last"]] - hc.first_time_h),
            "half_cycles": s["last"] - s["first"] + 1,
            "overpotential_mV": float(np.median(hc.plateau_V[sl]) * 1e3),
        })
    return out


def critical_current_density(hc: HalfCycles, area_cm2: float, failure: FailureInfo) -> dict[str, Any] | None:
    """CCD of a stepped-current test: the highest current density whose step was completed before the
    first failure (a lower bound, ``lower_bound: true``, when the cell never failed). ``None`` when
    the record has a single current level."""
    steps = current_steps(hc, area_cm2)
    if len(steps) < 2:
        return None
    levels = [s["current_density_mA_cm2"] for s in steps]
    if not failure.detected:
        return {"ccd_mA_cm2": max(levels), "lower_bound": True, "failure_current_density_mA_cm2": None, "steps": steps}
    t_f = failure.time_h
    passed = [s for s in steps if s["end_h"] < t_f]
    failing = next((s for s in steps if s["start_h"] <= t_f <= s["end_h"] + 1e-9), steps[-1])
    ccd = max((s["current_density_mA_cm2"] for s in passed), default=0.0)
    return {"ccd_mA_cm2": ccd, "lower_bound": False, "failure_current_density_mA_cm2": failing["current_density_mA_cm2"], "steps": steps}


def _overpotentials(p_mV: np.ndarray, pk_mV: np.ndarray, failure, n: int) -> tuple[dict, dict]:
    """Statistics of the plateau and peak overpotentials (mV) over the half-cycles before failure, with the last
    values."""
    healthy = slice(0, failure.half_cycle - 1) if failure.detected and failure.half_cycle and failure.half_cycle > 1 else slice(0, n)
    op = _stats(p_mV[healthy])
    op["last"] = float(p_mV[-1]) if n else None
    op["last_before_failure"] = float(p_mV[healthy][-1]) if n and len(p_mV[healthy]) else None
    pk = _stats(pk_mV[healthy])
    pk["last"] = float(pk_mV[-1]) if n else None
    return op, pk


def _criteria_json(c: FailureCriteria) -> dict:
    """The failure criteria with their rules in words."""
    crit = asdict(c)
    crit["divergence_rule"] = (f"plateau > {c.divergence_mV:g} mV" if c.divergence_mV is not None
                               else f"plateau/current > {c.divergence_factor:g} x its initial value (median of the first 10 half-cycles)")
    crit["soft_short_rule"] = (f"plateau/current < {c.soft_short_fraction:g} x its median over the preceding {c.baseline_window} half-cycles, "
                               f"for >= {c.sustain_fraction:.0%} of the next {c.sustain} half-cycles")
    return crit


def analyse_symmetric(
    hc: HalfCycles,
    area_cm2: float | None = None,
    current_density_mA_cm2: float | None = None,
    areal_capacity_mAh_cm2: float | None = None,
    criteria: FailureCriteria | None = None,
    source: str = "",
    fmt: str = "",
) -> SymmetricResult:
    """Analyse the half-cycle summary of a Li|Li record (see the module docstring)."""
    c = criteria or FailureCriteria()
    warnings: list[str] = []
    n = len(hc)
    duration = hc.last_time_h - hc.first_time_h
    inferred = False
    if area_cm2 is None and current_density_mA_cm2 and n:
        area_cm2 = float(np.median(hc.current_mA)) / current_density_mA_cm2
        inferred = True
        warnings.append(f"electrode area inferred from the current and --current-density: {area_cm2:.4g} cm2")
    failure, events = detect_failure(hc, c)
    p_mV = hc.plateau_V * 1e3
    pk_mV = hc.peak_V * 1e3
    op, pk = _overpotentials(p_mV, pk_mV, failure, n)
    cum = float(hc.charge_mAh.sum())
    cum_fail = None
    if failure.detected:
        cum_fail = float(hc.charge_mAh[hc.t_end_h - hc.first_time_h <= failure.time_h].sum())
    j_med = float(np.median(hc.current_mA) / area_cm2) if area_cm2 and n else None
    q_med = float(np.median(hc.charge_mAh) / area_cm2) if area_cm2 and n else None
    if current_density_mA_cm2 and j_med and abs(j_med / current_density_mA_cm2 - 1) > 0.1 and not inferred:
        warnings.append(f"measured current density {j_med:.4g} mA/cm2 differs from the nominal {current_density_mA_cm2:g}")
    if areal_capacity_mAh_cm2 and q_med and abs(q_med / areal_capacity_mAh_cm2 - 1) > 0.1:
        warnings.append(f"measured areal capacity per half-cycle {q_med:.4g} mAh/cm2 differs from the nominal {areal_capacity_mAh_cm2:g}")
    if area_cm2 is None:
        warnings.append("no electrode area given (--area): capacities and current densities are not normalised")
    if n == 0:
        warnings.append("no current-carrying half-cycle found")
    ccd = critical_current_density(hc, area_cm2, failure) if area_cm2 and n else None
    crit = _criteria_json(c)
    t0 = hc.first_time_h
    return SymmetricResult(
        source=source,
        format=fmt,
        n_rows=hc.n_rows,
        duration_h=duration,
        cycles=n // 2,
        half_cycles=n,
        lifetime_h=failure.time_h if failure.detected else duration,
        failure=failure,
        overpotential_mV=op,
        peak_overpotential_mV=pk,
        cumulative_capacity_mAh_cm2=cum / area_cm2 if area_cm2 else None,
        cumulative_capacity_mAh=cum,
        cumulative_capacity_at_failure_mAh_cm2=(cum_fail / area_cm2 if area_cm2 and cum_fail is not None else None),
        area_cm2=area_cm2,
        area_inferred=inferred,
        current_density_mA_cm2=j_med,
        areal_capacity_mAh_cm2=q_med,
        nominal={"current_density_mA_cm2": current_density_mA_cm2, "areal_capacity_mAh_cm2": areal_capacity_mAh_cm2},
        critical_current_density=ccd,
        criteria=crit,
        warnings=warnings,
        per_half_cycle={
            "start_h": (hc.t_start_h - t0).round(6).tolist(),
            "end_h": (hc.t_end_h - t0).round(6).tolist(),
            "direction": hc.sign.tolist(),
            "overpotential_mV": p_mV.round(4).tolist(),
            "peak_overpotential_mV": pk_mV.round(4).tolist(),
            "current_mA": hc.current_mA.round(6).tolist(),
            "capacity_mAh": hc.charge_mAh.round(6).tolist(),
        },
    )
