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
    current_mA: np.ndarray  # mean |I| of the active points
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
    (99.9th percentile of the first batch that carries current) counts as rest. 10⁻³ keeps a 0.05C step
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
            # 99.9th percentile: the working current even when most of the batch is rest
            typical = float(np.percentile(np.abs(i), 99.9))
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
        done = sf[starts[:-1]] != 0  # complete runs (all but the last) that carry current
        self._reduce_runs(cols, s, starts[:-1][done], ends[:-1][done], sf[starts[:-1]][done].astype(np.int64))
        a = starts[-1]
        self._carry_sign = int(sf[a])
        if self._carry_sign == 0:  # an open rest run carries nothing the statistics need
            self._carry = None
            return
        self._carry = {k: v[a:] for k, v in cols.items()}
        self._carry["s"] = s[a:]

    def _reduce_runs(self, cols: dict[str, np.ndarray], s: np.ndarray, starts: np.ndarray, ends: np.ndarray, signs: np.ndarray) -> None:
        """Summaries of complete runs ``[starts[r], ends[r])``, vectorised over all runs of a batch."""
        if len(starts) == 0:
            return
        t_all, v_all, i_all = cols["t"], cols["v"], cols["i"]
        lo, hi = int(starts[0]), int(ends[-1])
        t, v, i, sa = t_all[lo:hi], v_all[lo:hi], i_all[lo:hi], s[lo:hi]
        st, en = starts - lo, ends - lo
        nrun = len(st)
        rid = np.repeat(np.arange(nrun), en - st)
        # Charge and energy: trapezoid rule between consecutive points of the same run.
        dt = np.diff(t, prepend=t[0])
        np.clip(dt, 0.0, None, out=dt)
        dt[st] = 0.0
        ai = np.abs(i)
        pw = np.abs(v * i)
        q = np.empty_like(dt)
        e = np.empty_like(dt)
        q[0] = e[0] = 0.0
        q[1:] = 0.5 * (ai[1:] + ai[:-1]) * dt[1:]
        e[1:] = 0.5 * (pw[1:] + pw[:-1]) * dt[1:]
        charge = np.add.reduceat(q, st)
        energy = np.add.reduceat(e, st)
        # Statistics over the active (current-carrying) points only.
        act = np.flatnonzero(sa != 0)
        ra = rid[act]
        ta, va, ia = t[act], v[act], ai[act]
        n_act = np.bincount(ra, minlength=nrun)
        keep = n_act >= 2
        sa_start = np.searchsorted(ra, np.arange(nrun))
        ok = n_act > 0
        first = np.where(ok, sa_start, 0)
        last = np.where(ok, sa_start + n_act - 1, 0)
        t0, t1 = ta[first], ta[last]
        d = t1 - t0
        av = np.abs(va)
        nz = np.flatnonzero(ok)
        peak = np.zeros(nrun)
        cur = np.zeros(nrun)
        if len(nz):
            peak[nz] = np.maximum.reduceat(av, sa_start[nz])
            cur[nz] = np.add.reduceat(ia, sa_start[nz]) / n_act[nz]
        # Plateau: median |V| over the middle half (in time) of each run, by one sort over the batch.
        rel = np.where(d[ra] > 0, (ta - t0[ra]) / np.where(d[ra] > 0, d[ra], 1.0), 0.5)
        mid = (rel >= PLATEAU_WINDOW[0]) & (rel <= PLATEAU_WINDOW[1])
        n_mid = np.bincount(ra[mid], minlength=nrun)
        use_all = n_mid < 3
        sel = mid | use_all[ra]
        plateau = _grouped_median(ra[sel], av[sel], nrun)
        prof = _binned_profile(ra, rel, va, nrun, self.bins)
        k = np.flatnonzero(keep)
        c = self._cols
        c["sign"].extend(signs[k].tolist())
        c["t_start_h"].extend(t0[k].tolist())
        c["t_end_h"].extend(t1[k].tolist())
        c["n_points"].extend(n_act[k].tolist())
        c["current_mA"].extend(cur[k].tolist())
        c["charge_mAh"].extend(charge[k].tolist())
        c["energy_mWh"].extend(energy[k].tolist())
        c["plateau_V"].extend(plateau[k].tolist())
        c["peak_V"].extend(peak[k].tolist())
        c["v_start_V"].extend(va[first[k]].tolist())
        c["v_end_V"].extend(va[last[k]].tolist())
        c["file_cycle"].extend(cols["c"][starts[k]].tolist())
        self._prof.append(prof[k])

    def finish(self) -> HalfCycles:
        if self._carry is not None and len(self._carry["t"]) and self._carry_sign != 0:
            n = len(self._carry["t"])
            self._reduce_runs(self._carry, self._carry["s"], np.array([0]), np.array([n]), np.array([self._carry_sign]))
        self._carry = None
        c = self._cols
        prof = np.concatenate(self._prof) if self._prof else np.zeros((0, 3, self.bins), dtype=np.float32)
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


def _binned_profile(ra: np.ndarray, rel: np.ndarray, va: np.ndarray, nrun: int, nb: int) -> np.ndarray:
    """(run, [mean, min, max], bin) of the signed voltage in ``nb`` equal time bins per run (float32; NaN for an
    empty bin); ``ra``: run of each active point, ``rel``: its time within the run (0..1)."""
    b = np.minimum((rel * nb).astype(np.int64), nb - 1)
    g = ra * nb + b
    cnt = np.bincount(g, minlength=nrun * nb)
    ssum = np.bincount(g, weights=va, minlength=nrun * nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, ssum / np.where(cnt > 0, cnt, 1), np.nan)
    vmin = np.full(nrun * nb, np.inf)
    vmax = np.full(nrun * nb, -np.inf)
    if len(g):
        seg = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        np.minimum.at(vmin, g[seg], np.minimum.reduceat(va, seg))
        np.maximum.at(vmax, g[seg], np.maximum.reduceat(va, seg))
    vmin[cnt == 0] = np.nan
    vmax[cnt == 0] = np.nan
    return np.stack([mean.reshape(nrun, nb), vmin.reshape(nrun, nb), vmax.reshape(nrun, nb)], axis=1).astype(np.float32)


def _grouped_median(groups: np.ndarray, values: np.ndarray, ngroups: int) -> np.ndarray:
    """Median of ``values`` per group id (0..ngroups-1; NaN for empty groups), with one sort.

    Groups and values are packed into one float key (group × span + value) so that a single
    ``np.sort`` orders by group then value; values are non-negative here (|V|)."""
    out = np.full(ngroups, np.nan)
    if len(values) == 0:
        return out
    span = float(values.max()) * 2.0 + 1.0
    key = np.sort(groups * span + values)
    counts = np.bincount(groups, minlength=ngroups)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    lo = start + (counts - 1) // 2
    hi = start + counts // 2
    lo, hi = lo[has], hi[has]
    g = np.flatnonzero(has)
    out[has] = 0.5 * ((key[lo] - g * span) + (key[hi] - g * span))
    return out
