"""Streaming reduction of a cycling record to half-cycles.

A *half-cycle* is a maximal run of points with the same current direction (rest points inside a run,
|I| ≤ tolerance, do not split it; they are left out of the statistics). For each half-cycle the
accumulator keeps a fixed-size summary — times, median current, charge and energy passed, voltage
plateau/peak, and a binned voltage profile (mean, min, max in ``bins`` equal time bins) — so memory is
bounded by the number of half-cycles, not of points: a 7,000 h record at 1 s sampling (25 M rows,
~7,000 half-cycles) needs a few MB once read. The binned profiles serve the failure-time refinement
and the plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsei.cells.readers import Batch

PROFILE_BINS = 32
PLATEAU_WINDOW = (0.25, 0.75)  # plateau = median |V| over the middle half (in time) of a half-cycle


@dataclass
class HalfCycles:
    """Per-half-cycle summary arrays (all the same length ``n``)."""

    sign: np.ndarray  # +1 / -1 current direction
    t_start_h: np.ndarray
    t_end_h: np.ndarray
    n_points: np.ndarray
    current_mA: np.ndarray  # median |I| of the active points
    charge_mAh: np.ndarray  # ∫|I| dt (trapezoid, within the run)
    energy_mWh: np.ndarray  # ∫|V I| dt
    plateau_V: np.ndarray  # median |V| over the middle half of the run
    peak_V: np.ndarray  # max |V|
    v_start_V: np.ndarray
    v_end_V: np.ndarray
    profile_mean_V: np.ndarray  # (n, bins) signed V, NaN for empty bins
    profile_min_V: np.ndarray
    profile_max_V: np.ndarray
    file_cycle: np.ndarray  # cycle column of the file at the run start (-1 if none)
    n_rows: int  # all rows read, rest included
    first_time_h: float
    last_time_h: float

    def __len__(self) -> int:
        return len(self.sign)

    @property
    def duration_h(self) -> np.ndarray:
        return self.t_end_h - self.t_start_h

    @property
    def bins(self) -> int:
        return self.profile_mean_V.shape[1] if self.profile_mean_V.ndim == 2 else PROFILE_BINS

    def bin_start_h(self, k: int) -> np.ndarray:
        return self.t_start_h[k] + np.arange(self.bins) * (self.duration_h[k] / self.bins)


class HalfCycleAccumulator:
    """Feed :class:`Batch` objects in time order; :meth:`finish` returns :class:`HalfCycles`.

    ``current_scale`` multiplies the batch currents (the electrode area when the file gives current
    density). ``rest_fraction`` sets the rest tolerance: |I| below this fraction of the typical |I|
    (95th percentile of the first batch that carries current) counts as rest. 10⁻³ keeps a 0.05C step
    of a rate test that reaches 20C active while cyclers' rest-current offsets (≲10⁻⁴ of the range)
    stay rest.
    """

    _FIELDS = ("sign", "t_start_h", "t_end_h", "n_points", "current_mA", "charge_mAh", "energy_mWh", "plateau_V",
               "peak_V", "v_start_V", "v_end_V", "file_cycle")

    def __init__(self, bins: int = PROFILE_BINS, current_scale: float = 1.0, rest_fraction: float = 1e-3):
        self.bins = bins
        self.current_scale = current_scale
        self.rest_fraction = rest_fraction
        self.tol: float | None = None
        self._carry: dict[str, np.ndarray] | None = None
        self._carry_sign = 0
        self._rows = 0
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._cols: dict[str, list] = {f: [] for f in self._FIELDS}
        self._prof: list[np.ndarray] = []

    def add(self, b: Batch) -> None:
        n = len(b)
        if n == 0:
            return
        self._rows += n
        if self._first_t is None:
            self._first_t = float(b.time_h[0])
        self._last_t = float(b.time_h[-1])
        i = b.current_mA * self.current_scale if self.current_scale != 1.0 else b.current_mA
        if self.tol is None:
            typical = float(np.percentile(np.abs(i), 95))
            if typical > 0:
                self.tol = max(self.rest_fraction * typical, 1e-9)
        tol = self.tol if self.tol is not None else np.inf
        cyc = b.cycle if b.cycle is not None else np.full(n, -1, dtype=np.int64)
        cols = {"t": b.time_h, "v": b.voltage_V, "i": i, "c": cyc}
        s = np.where(i > tol, 1, np.where(i < -tol, -1, 0)).astype(np.int8)
        if self._carry is not None:
            cols = {k: np.concatenate([self._carry[k], cols[k]]) for k in cols}
            s = np.concatenate([self._carry["s"], s])
        # Direction of the run each point belongs to: the last non-zero sign at or before it.
        idx = np.where(s != 0, np.arange(len(s)), 0)
        np.maximum.accumulate(idx, out=idx)
        sf = s[idx]
        if s[0] == 0:  # leading rest points: direction of the carried run (or none)
            first_nz = np.flatnonzero(s)
            lead = first_nz[0] if len(first_nz) else len(s)
            sf[:lead] = self._carry_sign
        cuts = np.flatnonzero(sf[1:] != sf[:-1]) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [len(sf)]])
        for a, e in zip(starts[:-1], ends[:-1], strict=True):
            if sf[a] != 0:
                self._reduce(cols, s, a, e, int(sf[a]))
        a = starts[-1]
        self._carry_sign = int(sf[a])
        if self._carry_sign == 0:  # an open rest run carries nothing the statistics need
            self._carry = None
            return
        self._carry = {k: v[a:] for k, v in cols.items()}
        self._carry["s"] = s[a:]

    def _reduce(self, cols: dict[str, np.ndarray], s: np.ndarray, a: int, e: int, sign: int) -> None:
        t = cols["t"][a:e]
        v = cols["v"][a:e]
        i = cols["i"][a:e]
        active = s[a:e] != 0
        if active.sum() < 2:
            return
        ta, va, ia = t[active], v[active], i[active]
        dt = np.clip(np.diff(t), 0.0, None)
        ai = np.abs(i)
        charge = float(np.sum(0.5 * (ai[1:] + ai[:-1]) * dt))
        p = np.abs(v * i)
        energy = float(np.sum(0.5 * (p[1:] + p[:-1]) * dt))
        t0, t1 = float(ta[0]), float(ta[-1])
        d = t1 - t0
        av = np.abs(va)
        if d > 0:
            lo, hi = np.searchsorted(ta, [t0 + PLATEAU_WINDOW[0] * d, t0 + PLATEAU_WINDOW[1] * d])
            mid = av[lo:hi] if hi - lo >= 3 else av
        else:
            mid = av
        nb = self.bins
        mean = np.full(nb, np.nan)
        vmin = np.full(nb, np.nan)
        vmax = np.full(nb, np.nan)
        if d > 0:
            edges = np.searchsorted(ta, t0 + d * np.arange(nb) / nb)
            counts = np.diff(np.append(edges, len(ta)))
            ne = counts > 0
            starts = edges[ne]
            mean[ne] = np.add.reduceat(va, starts) / counts[ne]
            vmin[ne] = np.minimum.reduceat(va, starts)
            vmax[ne] = np.maximum.reduceat(va, starts)
        else:
            mean[0] = vmin[0] = vmax[0] = float(np.mean(va))
        c = self._cols
        c["sign"].append(sign)
        c["t_start_h"].append(t0)
        c["t_end_h"].append(t1)
        c["n_points"].append(int(len(ta)))
        c["current_mA"].append(float(np.median(np.abs(ia))))
        c["charge_mAh"].append(charge)
        c["energy_mWh"].append(energy)
        c["plateau_V"].append(float(np.median(mid)))
        c["peak_V"].append(float(av.max()))
        c["v_start_V"].append(float(va[0]))
        c["v_end_V"].append(float(va[-1]))
        c["file_cycle"].append(int(cols["c"][a]))
        self._prof.append(np.stack([mean, vmin, vmax]).astype(np.float32))

    def finish(self) -> HalfCycles:
        if self._carry is not None and len(self._carry["t"]) and self._carry_sign != 0:
            self._reduce(self._carry, self._carry["s"], 0, len(self._carry["t"]), self._carry_sign)
        self._carry = None
        c = self._cols
        prof = np.stack(self._prof) if self._prof else np.zeros((0, 3, self.bins), dtype=np.float32)
        ints = {"sign", "n_points", "file_cycle"}
        arrays = {k: np.asarray(v, dtype=np.int64 if k in ints else np.float64) for k, v in c.items()}
        return HalfCycles(
            **arrays,
            profile_mean_V=prof[:, 0, :],
            profile_min_V=prof[:, 1, :],
            profile_max_V=prof[:, 2, :],
            n_rows=self._rows,
            first_time_h=float(self._first_t or 0.0),
            last_time_h=float(self._last_t or 0.0),
        )
