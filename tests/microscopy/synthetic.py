"""Synthetic SEM images of known geometry for the microscopy tests (and the speed benchmark).

Layers are rendered with exact partial-pixel coverage at each boundary (a pixel's value is the area-
weighted mean of the layers it straddles), then blurred, lit unevenly and given Gaussian noise; disks
and branched shapes are rendered by 4x4 supersampling. Everything is seeded: the images are the same
on every run.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def layered(
    shape=(300, 400),
    boundaries_px=(100.0, 160.0),
    values=(0.35, 0.8, 0.2),
    tilt_deg=0.0,
    blur_px=1.5,
    noise=0.03,
    illumination=0.0,
    roughness_px=0.0,
    seed=0,
):
    """Horizontal layers; ``boundaries_px`` are the boundary heights at the image centre (vertical),
    tilted by ``tilt_deg``: the perpendicular thickness of a layer is its vertical one x cos(tilt).
    ``roughness_px`` adds a sine of that amplitude to the first boundary (Ra = 2A/π, Rq = A/√2)."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    x = np.arange(cols)
    y = np.arange(rows)[:, None]
    slope = np.tan(np.radians(tilt_deg))
    img = np.full(shape, values[0], np.float64)
    for k, b in enumerate(boundaries_px):
        yb = b + slope * (x - (cols - 1) / 2)
        if k == 0 and roughness_px:
            yb = yb + roughness_px * np.sin(2 * np.pi * x / 50.0)
        below = np.clip(y + 0.5 - yb[None, :], 0, 1)  # share of the pixel below the boundary
        img = img * (1 - below) + values[k + 1] * below
    if blur_px:
        img = ndi.gaussian_filter(img, blur_px)
    if illumination:
        img = img * (1 + illumination * (x[None, :] / cols - 0.5)) * (1 + 0.5 * illumination * (y / rows - 0.5))
    img = img + noise * rng.standard_normal(shape)
    return np.clip(img, 0, 1).astype(np.float32)


def disks(shape=(400, 400), centres=(), radii=(), fg=0.8, bg=0.25, blur_px=1.0, noise=0.03, seed=0, ss=4):
    """Bright disks on a dark background, 4x4 supersampled edges."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    cover = np.zeros(shape, np.float64)
    off = (np.arange(ss) + 0.5) / ss - 0.5
    for (cy, cx), r in zip(centres, radii, strict=True):
        y0, y1 = max(0, int(cy - r - 2)), min(rows, int(cy + r + 3))
        x0, x1 = max(0, int(cx - r - 2)), min(cols, int(cx + r + 3))
        yy = (np.arange(y0, y1)[:, None, None, None] + off[None, None, :, None]) - cy
        xx = (np.arange(x0, x1)[None, :, None, None] + off[None, None, None, :]) - cx
        inside = ((yy**2 + xx**2) <= r * r).mean(axis=(2, 3))
        cover[y0:y1, x0:x1] = np.maximum(cover[y0:y1, x0:x1], inside)
    img = bg + (fg - bg) * cover
    if blur_px:
        img = ndi.gaussian_filter(img, blur_px)
    img = img + noise * rng.standard_normal(shape)
    return np.clip(img, 0, 1).astype(np.float32)


def branched(shape=(400, 400), n=6, arm_len=40, width=3, fg=0.8, bg=0.25, blur_px=1.0, noise=0.03, seed=0):
    """Dendrite-like shapes: each a trunk with side branches, and side branches of those."""
    from skimage.draw import line

    rng = np.random.default_rng(seed)
    rows, cols = shape
    mask = np.zeros(shape, bool)
    grid = int(np.ceil(np.sqrt(n)))
    cell = min(rows, cols) // grid
    k = 0
    for i in range(grid):
        for j in range(grid):
            if k >= n:
                break
            cy, cx = i * cell + cell // 2, j * cell + cell // 2
            ang0 = rng.uniform(0, np.pi)
            for a in (ang0, ang0 + np.pi):
                ey, ex = cy + arm_len * np.sin(a), cx + arm_len * np.cos(a)
                rr, cc = line(cy, cx, int(ey), int(ex))
                mask[np.clip(rr, 0, rows - 1), np.clip(cc, 0, cols - 1)] = True
                for f in (0.35, 0.7):
                    by, bx = cy + f * arm_len * np.sin(a), cx + f * arm_len * np.cos(a)
                    for s in (1, -1):
                        b = a + s * np.pi / 3
                        ly, lx = by + 0.45 * arm_len * np.sin(b), bx + 0.45 * arm_len * np.cos(b)
                        rr, cc = line(int(by), int(bx), int(ly), int(lx))
                        mask[np.clip(rr, 0, rows - 1), np.clip(cc, 0, cols - 1)] = True
            k += 1
    mask = ndi.binary_dilation(mask, iterations=max(1, width // 2))
    img = bg + (fg - bg) * mask.astype(np.float64)
    if blur_px:
        img = ndi.gaussian_filter(img, blur_px)
    img = img + noise * np.random.default_rng(seed + 1).standard_normal(shape)
    return np.clip(img, 0, 1).astype(np.float32)
