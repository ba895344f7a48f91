"""Find the instrument's data bar (the text strip at the bottom of an SEM image).

No library does this (each vendor draws its own strip), so it is written here. A data bar is a band of
rows at the bottom whose statistics differ sharply from the image above it: text on a near-uniform
dark or bright background, so nearly every pixel sits at one of the two extremes of the grey range,
and most bars are separated from the image by a uniform line or a step in brightness. The detector

1. computes per row: the mean, the standard deviation and the *extreme fraction* (share of pixels
   within 8 % of the image's min or max grey value);
2. for every candidate start row ``b`` in the bottom 35 % of the image compares the rows below ``b``
   with a band of the same height above it (differences of the medians of the three features, plus
   the step in the row mean across ``b``) and keeps the ``b`` with the largest score;
3. accepts it only when the strip looks like text on a flat background: median extreme fraction
   >= 0.75 in the strip, at least 15 % of its rows carry contrast (std >= 0.12: the text), and the
   score is >= 0.35. Otherwise the image has no data bar and nothing is cropped.

FEI/Thermo files also say where their bar starts (``[Image] ResolutionY``, ``[PrivateFei]
DatabarHeight``): when present that is used and the detector is checked against it in the tests.
The thresholds were set on the FEI Helios and Zeiss test images (tests/data/sem) and on synthetic
images without a bar, which must not lose any rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEARCH_FRACTION = 0.35
EXTREME_BAND = 0.08
MIN_EXTREME_FRACTION = 0.75
TEXT_STD = 0.12
MIN_TEXT_ROWS = 0.15
MIN_SCORE = 0.35


@dataclass
class DataBar:
    start_row: int | None  # first excluded row; None: no data bar
    height_px: int
    source: str  # "FEI metadata ...", "detected", "none found", "--data-bar"
    score: float | None = None


def row_features(grey: np.ndarray, lo: float | None = None, hi: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo = float(grey.min()) if lo is None else lo
    hi = float(grey.max()) if hi is None else hi
    span = hi - lo if hi > lo else 1.0
    band = EXTREME_BAND * span
    mean = grey.mean(axis=1, dtype=np.float64)
    std = grey.std(axis=1, dtype=np.float64)
    extreme = ((grey <= lo + band) | (grey >= hi - band)).mean(axis=1)
    return (mean - lo) / span, std / span, extreme


def detect_data_bar(grey: np.ndarray) -> DataBar:
    """Detect the data bar at the bottom of ``grey`` (float image); see the module docstring."""
    rows = grey.shape[0]
    if rows < 32:
        return DataBar(None, 0, "none found (image too small)")
    first = int(rows * (1 - SEARCH_FRACTION))
    # only the rows a candidate strip or its comparison band can reach (features padded with NaN above)
    top = max(0, first - (rows - first) - 8)
    part = row_features(grey[top:], float(grey.min()), float(grey.max()))
    mean, std, extreme = (np.concatenate([np.full(top, np.nan), f]) for f in part)
    best_b, best = None, -1.0
    for b in range(max(first, 4), rows - 3):
        h = rows - b
        above = slice(max(0, b - max(h, 8)), b)
        below = slice(b, rows)
        score = (
            abs(np.median(mean[above]) - np.median(mean[below]))
            + abs(np.median(std[above]) - np.median(std[below]))
            + abs(np.median(extreme[above]) - np.median(extreme[below]))
            + 0.5 * abs(mean[b] - mean[b - 1])
        )
        if score > best:
            best, best_b = score, b
    if best_b is None:
        return DataBar(None, 0, "none found")
    strip = slice(best_b, rows)
    text_rows = float((std[strip] >= TEXT_STD).mean())
    looks_like_text = np.median(extreme[strip]) >= MIN_EXTREME_FRACTION and text_rows >= MIN_TEXT_ROWS
    if not (looks_like_text and best >= MIN_SCORE):
        return DataBar(None, 0, "none found", score=float(best))
    b = best_b
    # a uniform separator line directly above the strip belongs to it
    if b - 2 >= 0 and std[b - 1] < 0.05 and extreme[b - 1] > 0.95 and abs(mean[b - 1] - mean[b - 2]) > 0.3:
        b -= 1
    return DataBar(b, rows - b, "detected (row statistics: text on a flat background)", score=float(best))


def find_data_bar(grey: np.ndarray, metadata: dict | None = None, override: str | int | None = "auto") -> DataBar:
    """The data bar to exclude: ``override`` ``'auto'`` (metadata, else detection), ``'none'`` or a row count."""
    rows = grey.shape[0]
    if override in (None, "auto"):
        md = metadata or {}
        res_y = md.get("ResolutionY")
        if res_y and 0 < int(res_y) < rows:
            return DataBar(int(res_y), rows - int(res_y), f"FEI metadata [Image] ResolutionY={int(res_y)} (DatabarHeight {md.get('DatabarHeight')})")
        return detect_data_bar(grey)
    if str(override).lower() in ("none", "0", "off"):
        return DataBar(None, 0, "--data-bar none")
    n = int(override)
    return DataBar(rows - n, n, f"--data-bar {n}")
