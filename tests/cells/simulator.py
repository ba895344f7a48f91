"""A small, physically-motivated cell simulator and writers for each supported cycler format.

Li|SE|Li symmetric cell, galvanostatic plating/stripping with half-cycles of duration
T = areal capacity / current density. The cell voltage of a half-cycle of direction s = ±1 is

    V(τ) = s · [η_p(t) + η_nuc · exp(−τ/τ_nuc) + η_end · (τ/T)^4] + noise,

an ohmic + charge-transfer plateau η_p (the known overpotential), a Li nucleation peak at the start of
each half-cycle (Pei et al., Nano Lett. 17, 1132 (2017)) and the small rise at the end of stripping
as the electrode pits. Failures:

* soft short at t_f: the cell is bridged by a resistive Li filament, the polarization collapses to a
  few mV and the profile is flat (no peak, no end rise);
* hard short at t_f: V ≈ 0 (only measurement noise) from t_f on;
* divergence: η_p grows linearly from ``t_onset`` on (interphase growth / contact loss); the failure
  time is when η_p crosses the threshold.

Full cell (Li|NCM811-like): capacity Q(c) = Q0·(1 − fade·c)·rate_factor(C), Coulombic efficiency
CE (first cycle lower), voltage V = OCV(x) ± η(C) with OCV(x) = 3.55 + 0.65 x.

Samples are taken every ``dt_s`` and at each half-cycle boundary (cyclers log at step changes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Record:
    time_s: np.ndarray
    voltage_V: np.ndarray
    current_mA: np.ndarray
    cycle: np.ndarray  # 1-based
    step: np.ndarray  # 1-based, increments at each half-cycle / rest
    area_cm2: float = 1.0
    mass_mg: float | None = None

    def __len__(self) -> int:
        return len(self.time_s)


def _half_cycle_grid(T_h: float, dt_s: float) -> np.ndarray:
    tau = np.arange(0.0, T_h * 3600.0, dt_s)
    return np.append(tau, T_h * 3600.0) / 3600.0  # hours, both boundaries included


def symmetric(
    duration_h: float = 200.0,
    j_mA_cm2: float = 15.0,
    q_mAh_cm2: float = 15.0,
    area_cm2: float = 0.785,
    dt_s: float = 60.0,
    eta_mV: float = 25.0,
    nuc_mV: float = 8.0,
    tau_nuc_h: float = 0.03,
    end_mV: float = 1.0,
    noise_mV: float = 0.5,
    drift_pct: float = 0.0,
    failure: str | None = None,
    t_fail_h: float | None = None,
    soft_mV: float = 3.0,
    divergence_rate_mV_h: float = 5.0,
    spikes: int = 0,
    seed: int = 0,
) -> Record:
    """Li|Li record; ``failure`` in (None, 'soft_short', 'hard_short', 'divergence') at ``t_fail_h``
    (for divergence: the onset of the linear rise)."""
    rng = np.random.default_rng(seed)
    T = q_mAh_cm2 / j_mA_cm2
    n_half = int(round(duration_h / T))
    tau = _half_cycle_grid(T, dt_s)
    m = len(tau)
    k = np.repeat(np.arange(n_half), m)
    tl = np.tile(tau, n_half)
    t = k * T + tl
    s = np.where(k % 2 == 0, -1.0, 1.0)  # first half-cycle plates on the working electrode
    eta = eta_mV * (1.0 + drift_pct / 100.0 * t / max(duration_h, 1e-9))
    shape = nuc_mV * np.exp(-tl / tau_nuc_h) + end_mV * (tl / T) ** 4
    if failure == "divergence":
        eta = eta + divergence_rate_mV_h * np.clip(t - t_fail_h, 0.0, None)
    v_mV = s * (eta + shape)
    if failure == "soft_short":
        after = t >= t_fail_h
        v_mV = np.where(after, s * soft_mV, v_mV)
    elif failure == "hard_short":
        after = t >= t_fail_h
        v_mV = np.where(after, 0.0, v_mV)
    noise = rng.normal(0.0, noise_mV, len(t))
    if failure in ("soft_short", "hard_short"):
        noise = np.where(t >= t_fail_h, noise * (0.3 if failure == "soft_short" else 0.1), noise)
    v_mV = v_mV + noise
    if spikes:  # isolated measurement glitches: must not be read as failures
        idx = rng.choice(len(t), size=spikes, replace=False)
        v_mV[idx] = rng.choice([-1, 1], size=spikes) * rng.uniform(0, 2 * eta_mV, spikes)
    i_mA = s * j_mA_cm2 * area_cm2
    return Record(time_s=t * 3600.0, voltage_V=v_mV / 1000.0, current_mA=i_mA, cycle=k // 2 + 1, step=k + 1, area_cm2=area_cm2)


def stepped_ccd(
    steps_mA_cm2: tuple[float, ...] = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4),
    half_cycles_per_step: int = 4,
    half_cycle_h: float = 0.5,
    area_cm2: float = 1.0,
    r_ohm_cm2: float = 40.0,
    short_at_mA_cm2: float = 1.2,
    short_after_half_cycles: int = 1,
    dt_s: float = 20.0,
    noise_mV: float = 0.3,
    seed: int = 1,
) -> tuple[Record, float]:
    """Critical-current-density test: the polarization is ohmic (η = R·j) and the cell soft-shorts
    ``short_after_half_cycles`` into the step at ``short_at_mA_cm2``. Returns (record, t_short_h)."""
    rng = np.random.default_rng(seed)
    tau = _half_cycle_grid(half_cycle_h, dt_s)
    ts, vs, is_, ks = [], [], [], []
    k = 0
    t_short = None
    for j in steps_mA_cm2:
        for _h in range(half_cycles_per_step):
            s = -1.0 if k % 2 == 0 else 1.0
            t = k * half_cycle_h + tau
            eta = r_ohm_cm2 * j  # mV for j in mA cm-2, R in Ω cm²
            v = s * (eta + 0.2 * eta * np.exp(-tau / 0.02))
            if j == short_at_mA_cm2 and _h == short_after_half_cycles and t_short is None:
                t_short = float(t[0] + 0.4 * half_cycle_h)
            if t_short is not None:
                v = np.where(t >= t_short, s * 2.0, v)
            ts.append(t)
            vs.append(v + rng.normal(0, noise_mV, len(t)))
            is_.append(np.full(len(t), s * j * area_cm2))
            ks.append(np.full(len(t), k))
            k += 1
    t = np.concatenate(ts)
    kk = np.concatenate(ks)
    rec = Record(time_s=t * 3600, voltage_V=np.concatenate(vs) / 1000, current_mA=np.concatenate(is_), cycle=kk // 2 + 1, step=kk + 1, area_cm2=area_cm2)
    return rec, t_short


@dataclass
class FullTruth:
    discharge_mAh_g: np.ndarray
    charge_mAh_g: np.ndarray
    c_rates: np.ndarray


def full_cell(
    c_rates: tuple[float, ...] = (0.2,) * 3 + (0.5,) * 3 + (1,) * 3 + (2,) * 3 + (5,) * 3 + (10,) * 3 + (20,) * 3 + (0.2,) * 3,
    mass_mg: float = 10.0,
    area_cm2: float = 1.13,
    q0_mAh_g: float = 200.0,
    one_c_mAh_g: float = 200.0,
    fade_per_cycle: float = 0.001,
    ce_first: float = 0.88,
    ce: float = 0.998,
    points_per_half: int = 60,
    noise_mV: float = 1.0,
    seed: int = 2,
) -> tuple[Record, FullTruth]:
    """NCM811-like full cell: charge then discharge at each C rate (same rate both ways)."""
    rng = np.random.default_rng(seed)
    m_g = mass_mg / 1000.0
    ts, vs, is_, ks = [], [], [], []
    t0 = 0.0
    dis, chg = [], []
    for c, rate in enumerate(c_rates):
        rate_factor = 1.0 - 0.12 * np.log10(1 + rate)  # capacity at high rate is lower
        q_ch = q0_mAh_g * (1 - fade_per_cycle * c) * rate_factor
        q_dis = q_ch * (ce_first if c == 0 else ce)
        i_mA = rate * one_c_mAh_g * m_g
        eta = 0.02 + 0.01 * rate
        for s, q in ((1.0, q_ch), (-1.0, q_dis)):
            dur_h = q * m_g / i_mA
            tau = np.linspace(0.0, dur_h, points_per_half)
            x = tau / dur_h if s > 0 else 1 - tau / dur_h
            v = 3.55 + 0.65 * x + s * eta
            ts.append(t0 + tau)
            vs.append(v + rng.normal(0, noise_mV / 1000, len(tau)))
            is_.append(np.full(len(tau), s * i_mA))
            ks.append(np.full(len(tau), 2 * c + (0 if s > 0 else 1)))
            t0 += dur_h
        dis.append(q_dis)
        chg.append(q_ch)
    t = np.concatenate(ts)
    kk = np.concatenate(ks)
    rec = Record(time_s=t * 3600, voltage_V=np.concatenate(vs), current_mA=np.concatenate(is_), cycle=kk // 2 + 1, step=kk + 1,
                 area_cm2=area_cm2, mass_mg=mass_mg)
    return rec, FullTruth(np.array(dis), np.array(chg), np.array(c_rates))


# ------------------------------------------------------------------------------------ writers
def _charge_columns(r: Record) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step capacity (mAh, resets every step), charge capacity and discharge capacity columns."""
    dt_h = np.diff(r.time_s, prepend=r.time_s[0]) / 3600
    dq = np.abs(r.current_mA) * dt_h
    new_step = np.r_[True, r.step[1:] != r.step[:-1]]
    dq[new_step] = 0.0
    cum = np.cumsum(dq)
    step_start = np.maximum.accumulate(np.where(new_step, np.arange(len(dq)), 0))
    step_cap = cum - cum[step_start]
    chg = np.where(r.current_mA > 0, step_cap, 0.0)
    dchg = np.where(r.current_mA < 0, step_cap, 0.0)
    return step_cap, chg, dchg


def write_mpt(r: Record, path: Path, decimal_comma: bool = False) -> Path:
    """BioLogic EC-Lab ASCII export (GCPL) with the real header layout."""
    import pandas as pd

    _, chg, dchg = _charge_columns(r)
    cols = ["mode", "ox/red", "error", "control changes", "Ns changes", "counter inc.", "Ns", "I Range", "time/s", "control/V/mA",
            "Ewe/V", "I/mA", "dq/mA.h", "(Q-Qo)/mA.h", "half cycle", "Q charge/discharge/mA.h", "cycle number", "P/W"]
    n = len(r)
    df = pd.DataFrame({
        "mode": np.ones(n, dtype=int), "ox/red": (r.current_mA > 0).astype(int), "error": 0, "control changes": 0,
        "Ns changes": np.r_[0, (np.diff(r.step) != 0).astype(int)], "counter inc.": 0, "Ns": r.step - 1, "I Range": 41,
        "time/s": r.time_s, "control/V/mA": r.current_mA, "Ewe/V": r.voltage_V, "I/mA": r.current_mA,
        "dq/mA.h": r.current_mA * np.diff(r.time_s, prepend=r.time_s[0]) / 3600, "(Q-Qo)/mA.h": np.cumsum(r.current_mA * np.diff(r.time_s, prepend=r.time_s[0]) / 3600),
        "half cycle": r.step - 1, "Q charge/discharge/mA.h": chg - dchg, "cycle number": r.cycle - 1, "P/W": r.voltage_V * r.current_mA / 1000,
    })[cols]
    header_body = [
        "Galvanostatic Cycling with Potential Limitation",
        "",
        "Run on channel : 3 (SN 2301)",
        "User : ",
        "Electrode connection : standard",
        "Potential control : Ewe",
        "Ewe ctrl range : min = -10.00 V, max = 10.00 V",
        "Safety Limits :",
        "	Ewe min = -1.00 V",
        "	Ewe max = 1.00 V",
        "Acquisition started on : 01/15/2025 10:31:07.123",
        "Loop 0 from point number 0 to 0",
        "Saved on :",
        "	File : LiLi_sim_C03.mpr",
        "	Directory : C:\\Users\\lab\\Documents\\EC-Lab\\Data\\",
        "	Host : 192.109.209.200",
        "Device : VMP-300 (SN 0432)",
        "Address : USB0",
        "EC-Lab for windows v11.50 (software)",
        "Internet server v11.50 (firmware)",
        "Command interpretor v11.50 (firmware)",
        "Electrode material : Li",
        "Electrolyte : Li6PS5Cl",
        "Electrode surface area : 0.785 cm²",
        "Characteristic mass : 0.000 g",
        "Cycle Definition : Charge/Discharge alternance",
        "",
    ]
    nb = 2 + len(header_body) + 1
    head = ["EC-Lab ASCII FILE", f"Nb header lines : {nb}", *header_body]
    with open(path, "w", encoding="cp1252", newline="\r\n") as fh:
        fh.write("\n".join(head) + "\n")
        fh.write("\t".join(cols) + "\t\n")
        df.to_csv(fh, sep="\t", header=False, index=False, float_format="%.7E", decimal="," if decimal_comma else ".", lineterminator="\t\n")
    return path


def _hms(seconds: np.ndarray) -> list[str]:
    out = []
    for s in seconds:
        h = int(s // 3600)
        m = int((s % 3600) // 60)
        sec = s - 3600 * h - 60 * m
        out.append(f"{h:02d}:{m:02d}:{sec:06.3f}")
    return out


def neware_frame(r: Record):
    """Neware BTSDA 7.x/8.x ``record`` table (Current in mA, discharge negative, Total Time H:MM:SS.mmm)."""
    import pandas as pd

    step_cap, chg, dchg = _charge_columns(r)
    start = dt.datetime(2025, 1, 15, 10, 31, 7)
    new_step = np.r_[True, r.step[1:] != r.step[:-1]]
    step_t0 = r.time_s[np.maximum.accumulate(np.where(new_step, np.arange(len(r)), 0))]
    return pd.DataFrame({
        "DataPoint": np.arange(1, len(r) + 1),
        "Cycle Index": r.cycle,
        "Step Index": r.step,
        "Step Type": np.where(r.current_mA > 0, "CC Chg", np.where(r.current_mA < 0, "CC DChg", "Rest")),
        "Time": _hms(r.time_s - step_t0),
        "Total Time": _hms(r.time_s),
        "Current(mA)": np.round(r.current_mA, 5),
        "Voltage(V)": np.round(r.voltage_V, 6),
        "Capacity(mAh)": np.round(step_cap, 5),
        "Chg. Cap.(mAh)": np.round(chg, 5),
        "DChg. Cap.(mAh)": np.round(dchg, 5),
        "Energy(Wh)": np.round(step_cap * r.voltage_V / 1000, 7),
        "Date": [(start + dt.timedelta(seconds=float(s))).strftime("%Y-%m-%d %H:%M:%S") for s in r.time_s],
    })


def land_frame(r: Record):
    """LAND (LANDdt) ``Record`` table as in real exports: Index, TestTime/h, StepTime/h, Voltage/V,
    Current/mA, Capacity/mAh, State (C/D/R)."""
    import pandas as pd

    step_cap, _, _ = _charge_columns(r)
    new_step = np.r_[True, r.step[1:] != r.step[:-1]]
    step_t0 = r.time_s[np.maximum.accumulate(np.where(new_step, np.arange(len(r)), 0))]
    return pd.DataFrame({
        "Index": np.arange(1, len(r) + 1),
        "TestTime/h": np.round(r.time_s / 3600, 6),
        "StepTime/h": np.round((r.time_s - step_t0) / 3600, 6),
        "Voltage/V": np.round(r.voltage_V, 6),
        "Current/mA": np.round(r.current_mA, 5),
        "Capacity/mAh": np.round(step_cap, 5),
        "State": np.where(r.current_mA > 0, "C", np.where(r.current_mA < 0, "D", "R")),
    })


def arbin_frame(r: Record):
    """Arbin MITS Pro / DataPro channel table (Current in A, capacities in Ah)."""
    import pandas as pd

    _, chg, dchg = _charge_columns(r)
    new_step = np.r_[True, r.step[1:] != r.step[:-1]]
    step_t0 = r.time_s[np.maximum.accumulate(np.where(new_step, np.arange(len(r)), 0))]
    start = dt.datetime(2025, 1, 15, 10, 31, 7)
    return pd.DataFrame({
        "Data_Point": np.arange(1, len(r) + 1),
        "Date_Time": [(start + dt.timedelta(seconds=float(s))).strftime("%m/%d/%Y %H:%M:%S.%f")[:-3] for s in r.time_s],
        "Test_Time(s)": np.round(r.time_s, 4),
        "Step_Time(s)": np.round(r.time_s - step_t0, 4),
        "Step_Index": r.step,
        "Cycle_Index": r.cycle,
        "Voltage(V)": r.voltage_V,
        "Current(A)": r.current_mA / 1000,
        "Charge_Capacity(Ah)": chg / 1000,
        "Discharge_Capacity(Ah)": dchg / 1000,
        "Charge_Energy(Wh)": chg * r.voltage_V / 1e6,
        "Discharge_Energy(Wh)": dchg * r.voltage_V / 1e6,
        "Internal Resistance(Ohm)": 0.0,
        "dV/dt(V/s)": 0.0,
    })


def generic_frame(r: Record):
    """A lab's own CSV: time in h, voltage in mV, current density in mA cm⁻²."""
    import pandas as pd

    return pd.DataFrame({
        "time (h)": r.time_s / 3600,
        "voltage (mV)": r.voltage_V * 1000,
        "j (mA cm-2)": r.current_mA / r.area_cm2,
        "cycle": r.cycle,
    })


def write_csv(df, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def write_xlsx(df, path: Path, fmt: str, rows_per_sheet: int = 1_048_575) -> Path:
    """XLSX laid out as each cycler's exporter does (sheet names included)."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    if fmt == "neware":
        for name in ("test", "cycle", "step"):
            ws = wb.create_sheet(name)
            ws.append(["placeholder sheet of the BTSDA export"])
        data_sheets = ["record"]
    elif fmt == "land":
        data_sheets = ["Record"]
    elif fmt == "arbin":
        ws = wb.create_sheet("Global_Info")
        ws.append([None, None, None, "TEST REPORT"])
        n_sheets = max(1, -(-len(df) // rows_per_sheet))
        data_sheets = [f"Channel_3_{k + 1}" for k in range(n_sheets)]
    else:
        data_sheets = ["Sheet1"]
    cols = list(df.columns)
    values = df.to_numpy(dtype=object)
    for k, name in enumerate(data_sheets):
        ws = wb.create_sheet(name)
        ws.append(cols)
        lo = k * rows_per_sheet
        hi = len(df) if name == data_sheets[-1] else lo + rows_per_sheet
        for row in values[lo:hi]:
            ws.append([x.item() if hasattr(x, "item") else x for x in row])
    wb.save(path)
    return path


FRAMES = {"neware": neware_frame, "land": land_frame, "arbin": arbin_frame, "generic": generic_frame}


def write(r: Record, fmt: str, path: Path) -> Path:
    """Write ``r`` in ``fmt`` (biologic-mpt, biologic-mpt-comma, neware, land, arbin, generic) to
    ``path`` (the suffix decides CSV or XLSX)."""
    path = Path(path)
    if fmt.startswith("biologic-mpt"):
        return write_mpt(r, path, decimal_comma=fmt.endswith("comma"))
    df = FRAMES[fmt](r)
    if path.suffix == ".xlsx":
        return write_xlsx(df, path, fmt)
    return write_csv(df, path)
