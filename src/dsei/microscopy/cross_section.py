"""Cross-section mode: layer boundaries, thickness along the interface and boundary roughness.

Layers (e.g. Li | SEI | electrolyte) are stacked roughly horizontally, possibly tilted. The method:

1. smooth with a Gaussian (σ = ``sigma_px``, scipy.ndimage) and take the Sobel gradients Gx, Gy;
2. the tilt of the stack (slope dy/dx): the gradient-weighted least-squares estimate
   t = −Σ GxGy / Σ Gy² over the strongest 2 % of Gy (an edge along y = t·x has gradient ∝ (−t, 1)),
   refined by the slope at which the line-averaged profile of step 3 is sharpest (texture biases the
   first estimate; a wrong slope smears close boundaries of opposite sign into each other);
3. the signed vertical gradient is averaged along lines of that slope into one profile P(u); its peaks
   are the boundaries: the ``n_layers − 1`` strongest ones when the number of layers is given, else all
   peaks above 6x the profile's robust noise (MAD) and above 15 % of the strongest peak, at least
   ``min_layer_px`` apart;
4. each boundary is then traced column by column: in every column (gradient averaged over
   ``column_smooth_px`` columns) the extremum of the signed gradient of the same sign within a window
   around the global line, refined to sub-pixel by a parabola through the three samples at the peak.
   Columns whose peak is weaker than 30 % of the boundary's median peak are left out (gaps);
5. per boundary a straight line is fitted (least squares) and removed: Ra = mean |r|, Rq = rms r of the
   residuals r, converted from vertical to perpendicular distances by cos(atan slope) (ISO 4287
   definitions of the arithmetic and root-mean-square profile deviation, applied to the interface line);
6. the thickness of each layer between two traced boundaries is their vertical distance per column
   times cos(atan of the mean slope), i.e. measured perpendicular to the (tilted) interface.

The gradient peak of a blurred step sits at the step (for any symmetric blur), so thicknesses are
unbiased by blur, and a slowly varying illumination only adds a small smooth offset to Gy. Uneven
illumination, tilt, noise and blur are all in the synthetic tests (tests/microscopy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

PEAK_NOISE_FACTOR = 6.0
PEAK_REL_FACTOR = 0.15
WEAK_COLUMN_FRACTION = 0.3


@dataclass
class Boundary:
    index: int
    y_px: np.ndarray  # per column (NaN where not traced), in the analysed frame
    sign: int  # +1: darker above → brighter below; -1 the reverse
    strength: float
    slope: float = 0.0
    intercept: float = 0.0
    ra_px: float = float("nan")
    rq_px: float = float("nan")
    coverage: float = 0.0


@dataclass
class CrossSectionRaw:
    boundaries: list[Boundary]
    tilt_slope: float
    status: str
    reason: str
    layer_means: list[float] = field(default_factory=list)
    thickness_px: list[np.ndarray] = field(default_factory=list)  # per measurable layer, per column (perpendicular)


def _tilt(gx: np.ndarray, gy: np.ndarray) -> float:
    # only the strongest 2 % of the vertical gradient: the boundaries, not noise or shading
    gxs, gys = gx.astype(np.float64), gy.astype(np.float64)
    strong = np.abs(gys) >= np.percentile(np.abs(gys), 98)
    syy = float(np.sum(gys[strong] ** 2))
    if syy <= 0:
        return 0.0
    t = -float(np.sum(gxs[strong] * gys[strong])) / syy
    return float(np.clip(t, -1.0, 1.0))  # at most 45°: beyond that the stack is not "horizontal"


def _refine_tilt(gy: np.ndarray, start: float) -> float:
    """The slope at which the line-averaged gradient profile is sharpest (largest mean square).

    The gradient-weighted estimate is biased by texture (grain edges point every way); shearing at the
    wrong slope smears each boundary over slope error x width pixels, and two close boundaries of opposite
    sign (a thin bright SEI between darker layers) then cancel. A grid search over ±0.15 (±8.5°) around the
    estimate in steps of 0.01, then ±0.01 in steps of 0.002 around the best, on every k-th column (≤ 512 columns), maximises the profile's
    mean square, which peaks when every boundary is aligned."""
    cols = gy.shape[1]
    k = max(1, cols // 512)
    sub = np.ascontiguousarray(gy[:, ::k])

    def sharpness(t: float) -> float:
        # the sub-sampled columns sit k apart: the slope per sub-column is k x t
        _, prof = _sheared_profile(sub, t * k)
        return float(np.mean(prof**2))

    best = start
    for half, n in ((0.15, 31), (0.01, 11)):
        cands = np.clip(best + np.linspace(-half, half, n), -1.0, 1.0)
        scores = [sharpness(float(t)) for t in cands]
        best = float(cands[int(np.argmax(scores))])
    return best


def _sheared_profile(gy: np.ndarray, slope: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean of gy along lines y = u + slope*(x - xc); returns (u values, profile)."""
    rows, cols = gy.shape
    xc = (cols - 1) / 2
    shifts = np.rint(slope * (np.arange(cols) - xc)).astype(int)
    pad = int(np.abs(shifts).max()) if cols else 0
    acc = np.zeros(rows + 2 * pad, np.float64)
    cnt = np.zeros(rows + 2 * pad, np.float64)
    # shifts are monotonic in x: sum each run of columns that share a shift in one pass (reduceat), then
    # add the few hundred run sums at their offsets
    starts = np.concatenate([[0], np.nonzero(np.diff(shifts))[0] + 1])
    sums = np.add.reduceat(gy, starts, axis=1, dtype=np.float64)
    sizes = np.diff(np.concatenate([starts, [cols]]))
    for j, x in enumerate(starts):
        off = pad - shifts[x]
        acc[off : off + rows] += sums[:, j]
        cnt[off : off + rows] += sizes[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        prof = np.where(cnt > cols * 0.5, acc / np.maximum(cnt, 1), 0.0)
    u = np.arange(rows + 2 * pad) - pad
    return u, prof


def _find_peaks(prof: np.ndarray, n: int | None, min_sep: int) -> list[int]:
    from scipy.signal import find_peaks

    mag = np.abs(prof)
    noise = 1.4826 * float(np.median(np.abs(prof - np.median(prof)))) + 1e-12
    peaks, props = find_peaks(mag, distance=max(1, min_sep), prominence=0)
    if peaks.size == 0:
        return []
    prom = props["prominences"]  # prominence, not height: bumps on the flank of one broad edge are not boundaries
    order = np.argsort(prom)[::-1]
    if n is not None:
        # the n most prominent, but never pure noise
        keep = [peaks[i] for i in order if prom[i] > 3 * noise][:n]
    else:
        top = prom[order[0]]
        keep = [peaks[i] for i in order if prom[i] >= PEAK_NOISE_FACTOR * noise and prom[i] >= PEAK_REL_FACTOR * top]
    return sorted(int(p) for p in keep)


def analyse_cross_section_array(
    grey: np.ndarray,
    n_layers: int | None = None,
    sigma_px: float = 1.5,
    column_smooth_px: int = 5,
    min_layer_px: int = 4,
) -> CrossSectionRaw:
    """Find the boundaries in ``grey`` (the analysed area: data bar and outside the region removed)."""
    img = grey.astype(np.float32, copy=False)
    rows, cols = img.shape
    if float(img.max() - img.min()) < 1e-6:
        return CrossSectionRaw([], 0.0, "no_boundary", "the image is uniform: no layer boundary to find")
    sm = ndi.gaussian_filter(img, sigma_px)
    gy = ndi.sobel(sm, axis=0) / 8.0  # Sobel → per-pixel difference units
    step = max(1, int(np.sqrt(sm.size / 2e6)))  # the first tilt estimate needs no more than ~2 Mpx
    sub = sm[::step, ::step]
    slope = _refine_tilt(gy, _tilt(ndi.sobel(sub, axis=1), ndi.sobel(sub, axis=0)))
    u, prof = _sheared_profile(gy, slope)
    n_bound = None if n_layers is None else max(0, int(n_layers) - 1)
    peaks = _find_peaks(prof, n_bound, min_layer_px)
    if not peaks:
        return CrossSectionRaw([], slope, "no_boundary", f"no horizontal edge stronger than {PEAK_NOISE_FACTOR:g}x the noise of the gradient profile")
    if n_bound is not None and len(peaks) < n_bound:
        reason = f"--layers {n_layers} asks for {n_bound} boundaries; only {len(peaks)} stand out of the noise"
    else:
        reason = ""
    # column-smoothed gradient for tracing
    gyc = ndi.uniform_filter1d(gy, size=max(1, column_smooth_px), axis=1)
    xc = (cols - 1) / 2
    xs = np.arange(cols)
    upos = [float(u[p]) for p in peaks]
    boundaries: list[Boundary] = []
    for k, p in enumerate(peaks):
        sign = 1 if prof[p] > 0 else -1
        lo_gap = (upos[k] - upos[k - 1]) / 2 if k > 0 else 1e9
        hi_gap = (upos[k + 1] - upos[k]) / 2 if k + 1 < len(peaks) else 1e9
        half = int(max(2, min(lo_gap, hi_gap, max(0.25 * rows, 8))))
        centre = np.rint(upos[k] + slope * (xs - xc)).astype(np.intp)
        offs = np.arange(-half, half + 1)
        rr = centre[None, :] + offs[:, None]  # (window, cols) row indices
        inside = (rr >= 0) & (rr < rows)
        seg = np.where(inside, sign * gyc[np.clip(rr, 0, rows - 1), xs[None, :]], -np.inf)
        i = np.argmax(seg, axis=0)
        peak = seg[i, xs]
        # sub-pixel: a parabola through the peak and its two neighbours
        im1, ip1 = np.clip(i - 1, 0, seg.shape[0] - 1), np.clip(i + 1, 0, seg.shape[0] - 1)
        a, c = seg[im1, xs], seg[ip1, xs]
        den = a - 2 * peak + c
        ok_par = (i > 0) & (i < seg.shape[0] - 1) & np.isfinite(a) & np.isfinite(c) & (den != 0)
        frac = np.where(ok_par, 0.5 * (a - c) / np.where(den != 0, den, 1.0), 0.0)
        y = np.where(peak > 0, rr[i, xs] + frac, np.nan)
        strength = np.where(peak > 0, peak, 0.0)
        good = np.isfinite(y)
        if good.any():
            med = float(np.median(strength[good]))
            y[strength < WEAK_COLUMN_FRACTION * med] = np.nan
        bd = Boundary(index=k + 1, y_px=y, sign=sign, strength=float(abs(prof[p])))
        ok = np.isfinite(y)
        bd.coverage = float(ok.mean())
        if ok.sum() >= 3:
            b1, b0 = np.polyfit(xs[ok], y[ok], 1)
            bd.slope, bd.intercept = float(b1), float(b0)
            r = (y[ok] - (b0 + b1 * xs[ok])) * np.cos(np.arctan(b1))
            bd.ra_px = float(np.mean(np.abs(r)))
            bd.rq_px = float(np.sqrt(np.mean(r**2)))
        boundaries.append(bd)
    status = "ok" if not reason else "partial"
    return CrossSectionRaw(boundaries, slope, status, reason, _layer_means(img, boundaries), _thicknesses(boundaries))


def _layer_means(img: np.ndarray, boundaries: list[Boundary]) -> list[float]:
    """Mean grey of each layer: above the first boundary, between consecutive ones, below the last (on a column
    subsample, 2 px clear of the boundaries)."""
    rows, cols = img.shape
    xs = np.arange(cols)
    edges = [np.zeros(cols)] + [np.where(np.isfinite(b.y_px), b.y_px, b.intercept + b.slope * xs) for b in boundaries] + [np.full(cols, rows - 1.0)]
    layer_means = []
    sub = slice(None, None, max(1, cols // 256))
    yy = np.arange(rows)[:, None]
    for i in range(len(edges) - 1):
        m = (yy >= edges[i][None, sub] + 2) & (yy <= edges[i + 1][None, sub] - 2)
        vals = img[:, sub][m]
        layer_means.append(float(vals.mean()) if vals.size else float("nan"))
    return layer_means


def _thicknesses(boundaries: list[Boundary]) -> list[np.ndarray]:
    """Per-column thickness (px) of each layer between consecutive boundaries, perpendicular to their mean tilt."""
    thick = []
    for i in range(len(boundaries) - 1):
        b1, b2 = boundaries[i], boundaries[i + 1]
        cos = np.cos(np.arctan(0.5 * (b1.slope + b2.slope)))
        thick.append((b2.y_px - b1.y_px) * cos)
    return thick
