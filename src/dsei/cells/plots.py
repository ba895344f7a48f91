"""Publication-style PNG figures (matplotlib, Agg backend).

* symmetric cells: voltage vs time over the whole record (min/max envelope of the binned half-cycle
  profiles, so a 7,000 h record draws as fast as a short one) with zoomed insets at the start, in the
  middle of the healthy life and at the failure (or the end), in the style of Kang et al., Nature 2025;
* full cells: charge/discharge capacity and Coulombic efficiency vs cycle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dsei.cells.halfcycles import HalfCycles
from dsei.errors import InputError

_STYLE = {
    "font.size": 8,
    "axes.linewidth": 0.8,
    "axes.labelsize": 9,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "xtick.top": True,
    "ytick.right": True,
    "legend.frameon": False,
    "savefig.dpi": 300,
    "font.family": "sans-serif",
}


def _trace(hc: HalfCycles, lo: int, hi: int, which: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Time/voltage points of half-cycles lo..hi-1 from their binned profiles (NaN between runs)."""
    ts, vs = [], []
    prof = {"mean": hc.profile_mean_V, "min": hc.profile_min_V, "max": hc.profile_max_V}[which]
    for k in range(lo, hi):
        d = hc.t_end_h[k] - hc.t_start_h[k]
        nb = prof.shape[1]
        t = hc.t_start_h[k] + (np.arange(nb) + 0.5) * d / nb
        v = prof[k].astype(float)
        ok = np.isfinite(v)
        ts.append(np.concatenate([[hc.t_start_h[k]], t[ok], [hc.t_end_h[k]]]))
        vs.append(np.concatenate([[hc.v_start_V[k]], v[ok], [hc.v_end_V[k]]]))
    if not ts:
        return np.array([]), np.array([])
    return np.concatenate(ts) - hc.first_time_h, np.concatenate(vs)


def plot_symmetric(result, hc: HalfCycles, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    n = len(hc)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7.0, 3.2))
        if n:
            # Envelope: each half-cycle as a band from 0 to its extreme voltage; at the scale of
            # thousands of hours the alternating half-cycles read as the familiar ±η band.
            vmin = np.minimum(np.nanmin(hc.profile_min_V, axis=1) * 1e3, 0.0)
            vmax = np.maximum(np.nanmax(hc.profile_max_V, axis=1) * 1e3, 0.0)
            tt = (np.c_[hc.t_start_h, hc.t_end_h] - hc.first_time_h).ravel()
            lo = np.repeat(vmin, 2)
            hi = np.repeat(vmax, 2)
            ax.fill_between(tt, lo, hi, color="#1f4e9c", lw=0)
            ax.plot(tt, hi, color="#1f4e9c", lw=0.3)
            ax.plot(tt, lo, color="#1f4e9c", lw=0.3)
            span = np.nanmax(np.abs(np.r_[vmin, vmax]))
            ax.set_ylim(-1.3 * span, 3.3 * span)  # room above the band for the insets
        ax.set_xlabel("Time (h)")
        ax.set_ylabel("Voltage (mV)")
        ax.set_xlim(0, max(result.duration_h, 1e-9))
        ax.axhline(0, color="0.6", lw=0.4)
        title = "Li|Li symmetric cell"
        if result.current_density_mA_cm2:
            title += f", {result.current_density_mA_cm2:.3g} mA cm$^{{-2}}$"
        if result.areal_capacity_mAh_cm2:
            title += f", {result.areal_capacity_mAh_cm2:.3g} mAh cm$^{{-2}}$"
        ax.set_title(title, fontsize=9)
        if result.failure.detected:
            ax.axvline(result.failure.time_h, color="#c0392b", lw=0.8, ls="--")
            ax.text(result.failure.time_h, ax.get_ylim()[0] * 0.92, f" {result.failure.kind.replace('_', ' ')} at {result.failure.time_h:.0f} h",
                    color="#c0392b", fontsize=7, va="bottom")
        # Insets: a few cycles at the start, mid-life and at the failure (or the end).
        if n >= 2:
            k_fail = (result.failure.half_cycle - 1) if result.failure.detected and result.failure.half_cycle else n - 1
            picks = [0, max(0, k_fail // 2 - 2), max(0, k_fail - 3)]
            labels = ["start", "mid-life", "failure" if result.failure.detected else "end"]
            seen = set()
            for slot, (k0, lab) in enumerate(zip(picks, labels, strict=True)):
                if k0 in seen:
                    continue
                seen.add(k0)
                k1 = min(n, k0 + 6)
                t, v = _trace(hc, k0, k1)
                if len(t) == 0:
                    continue
                ins = ax.inset_axes([0.03 + slot * 0.33, 0.58, 0.28, 0.37])
                ins.plot(t, v * 1e3, color="#1f4e9c", lw=0.7)
                ins.axhline(0, color="0.6", lw=0.3)
                ins.set_title(f"{lab}: {t[0]:.0f}–{t[-1]:.0f} h", fontsize=6, pad=2)
                ins.tick_params(labelsize=5, length=2)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
    return path


def plot_full(result, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    pc = result.per_cycle
    cyc = np.asarray(pc.get("cycle", []))
    unit = result.capacity.get("unit", "mAh")
    label = {"mAh/g": "Capacity (mAh g$^{-1}$)", "mAh/cm2": "Capacity (mAh cm$^{-2}$)"}.get(unit, "Capacity (mAh)")

    def arr(key):
        return np.array([np.nan if x is None else x for x in pc.get(key, [])], dtype=float)

    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.plot(cyc, arr("charge_capacity"), "o", ms=3, mfc="none", color="#1f4e9c", label="charge")
        ax.plot(cyc, arr("discharge_capacity"), "o", ms=3, color="#1f4e9c", label="discharge")
        ax.set_xlabel("Cycle number")
        ax.set_ylabel(label)
        qmax = np.nanmax(np.r_[arr("charge_capacity"), arr("discharge_capacity"), 0.0])
        ax.set_ylim(0, 1.25 * qmax if qmax > 0 else 1.0)
        ax2 = ax.twinx()
        ax2.plot(cyc, arr("coulombic_efficiency_pct"), "s", ms=2.5, color="#c0392b", label="CE")
        ax2.set_ylabel("Coulombic efficiency (%)", color="#c0392b")
        ax2.set_ylim(0, 110)
        ax2.tick_params(axis="y", colors="#c0392b")
        for row in result.rate_table if len(result.rate_table) > 1 else []:
            if row.get("c_rate") is not None:
                ax.text((row["first_cycle"] + row["last_cycle"]) / 2, ax.get_ylim()[1] * 0.94, f"{row['c_rate']:g}C",
                        ha="center", fontsize=6)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="lower left", fontsize=7)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
    return path


def plot_result(result, hc: HalfCycles, path: str | Path) -> Path:
    """Write the figure for a :class:`SymmetricResult` or :class:`FullCellResult` to ``path`` (PNG)."""
    if Path(path).suffix.lower() != ".png":
        raise InputError(path, "plots are written as PNG: give a .png path")
    if result.cell == "symmetric":
        return plot_symmetric(result, hc, path)
    return plot_full(result, path)
