"""Top-view mode: particles / deposits / grains, their sizes and shapes, a skeleton dendrite indicator and
the threshold-sweep index of dispersion.

Segmentation (scikit-image / scipy.ndimage):

1. Gaussian smoothing (σ = ``sigma_px``) and, optionally (``flatten``), division by a wide Gaussian
   background (σ = max(H, W)/8) to remove uneven illumination;
2. a global threshold (:func:`select_threshold`): by default the candidate level — ISODATA /
   Ridler–Calvard (:func:`skimage.filters.threshold_isodata`, the midpoint of the two class means) or
   a 3-/4-class multi-Otsu level — whose object outlines lie on the steepest edges. A level midway
   between object and background grey cuts a blurred step edge at its half height, so object sizes are
   unbiased by blur (Otsu's two-class level moves with the area fraction of the classes);
   ``objects='bright'`` (default) or ``'dark'`` picks the foreground;
3. holes filled, objects smaller than ``min_area_px`` removed (noise specks);
4. touching objects split by a watershed on the Euclidean distance transform, with markers at the
   distance maxima that stand at least ``h_px`` above their surroundings (h-maxima, h = 2 px by default:
   two touching disks have a saddle near 0 between peaks of their radius; one convex particle has a
   single maximum) and reach at least 4 px (so thin arms of dendrites or rods, whose ridge wobbles by a
   pixel or two, are never cut into pieces; particles under ~8 px across are not split); only
   connected components with solidity (area / convex-hull area) >= 0.6 are split at all: clumps of
   round particles (two touching disks: ~0.9) are, branched deposits (solidity well below 0.5) are
   not, since their junctions are distance maxima joined by narrower arms exactly like touching
   particles are;
5. objects that do not stand out of their own surroundings are dropped: the mean grey inside must
   exceed the mean of a 3-px ring around the object by at least (threshold − background class mean),
   i.e. a real particle is as far above its local background as the threshold is above the global one.
   Specks of substrate texture or bright crack rims that just cross the threshold fail this;
6. :func:`skimage.measure.regionprops`: area, equivalent diameter, perimeter, axes, centroid.

Reported (objects cut by the image edge are counted, but left out of the size and shape statistics,
whose values they would bias low): count, equivalent diameter distribution (µm), area coverage,
porosity (share of enclosed voids — background pixels not connected to the image border — in the
deposit area including those voids), circularity 4πA/P² (1 for a disk; digital perimeters make small
objects scatter around 1), aspect ratio (major / minor axis of the moment ellipse).

Dendrite indicator from the skeleton (:func:`skimage.morphology.skeletonize`): end points and branch
points are counted from the 3x3 neighbour count of every skeleton pixel (1 neighbour: end; >= 3:
branch, with touching branch pixels merged into one point). skan, the usual library for skeleton
graphs, is not a dependency of dsei; the neighbour count is all that these two numbers need. Skeleton
length counts 1 per orthogonal and √2 per diagonal neighbour pair. Branches per object =
ends + junctions − 1 (a tree). ``dendrite_indicator`` = mean over objects of skeleton length /
equivalent diameter: ~0–0.5 for compact particles (the skeleton of a disk is a dot or a short stub),
~1 for rods, well above 1 for branched (dendritic) deposits.

Index of dispersion (threshold sweep), after Nicolas et al., PNAS 2025, doi:10.1073/pnas.2502518122:
the image is binarised at a sweep of thresholds; at each, the image is divided into a grid of
quadrats and the number of white (foreground) pixels n_i counted in each; ID = s²/mean of the n_i
(sample variance over mean: 1 for a Poisson-like random pattern of independent pixels, larger for
clustered deposits). The reported ID is the maximum over the sweep (the published description: the
sweep makes the ID insensitive to the image's contrast; the maximum is taken as the image's value).
What is implemented here follows our reading of the paper's description (we could not consult the
paper's code): 32 thresholds evenly spaced between the 2nd and 98th percentile of the smoothed grey
values, an 8 x 8 grid of quadrats (``id_grid``), foreground = bright. The ID scales with the pixel
count per quadrat: compare images of the same pixel count and grid only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

ID_THRESHOLDS = 32
ID_GRID = 8
#: watershed markers only where the distance map reaches this radius: thin arms (dendrites, rods) are never cut
MIN_SPLIT_RADIUS_PX = 4.0
#: only connected components at least this convex (area / convex-hull area) are split: clumps of round
#: particles are (two touching disks: ~0.9), branched deposits are not (their arms' junctions would be cut apart)
MIN_SPLIT_SOLIDITY = 0.6


@dataclass
class TopViewRaw:
    labels: np.ndarray  # int32 label image
    mask: np.ndarray  # bool foreground
    threshold: float
    threshold_method: str = ""
    objects: list[dict] = field(default_factory=list)  # per object, px units
    skeleton: np.ndarray | None = None
    n_end_points: int = 0
    n_branch_points: int = 0
    skeleton_length_px: float = 0.0
    porosity: float = 0.0
    coverage: float = 0.0
    id_curve: list[tuple[float, float]] = field(default_factory=list)
    id_max: float = float("nan")
    id_threshold: float = float("nan")
    status: str = "ok"
    reason: str = ""


def _skeleton_points(skel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(neighbour count image, end-point mask, branch-point mask) from the 3x3 neighbour count."""
    s = skel.astype(np.uint8)
    nb = ndi.convolve(s, np.ones((3, 3), np.uint8), mode="constant") - s
    nb = nb * s
    ends = skel & (nb == 1)
    branch = skel & (nb >= 3)
    return nb, ends, branch


def _skeleton_length(skel: np.ndarray) -> float:
    s = skel
    orth = np.count_nonzero(s[:, 1:] & s[:, :-1]) + np.count_nonzero(s[1:, :] & s[:-1, :])
    diag = np.count_nonzero(s[1:, 1:] & s[:-1, :-1]) + np.count_nonzero(s[1:, :-1] & s[:-1, 1:])
    return float(orth + np.sqrt(2) * diag)


def index_of_dispersion(smoothed: np.ndarray, n_thresholds: int = ID_THRESHOLDS, grid: int = ID_GRID, bright: bool = True) -> tuple[list[tuple[float, float]], float, float]:
    """Threshold-sweep quadrat index of dispersion (see the module docstring). Returns (curve, max, threshold at max)."""
    rows, cols = smoothed.shape
    qh, qw = rows // grid, cols // grid
    if qh < 2 or qw < 2:
        return [], float("nan"), float("nan")
    view = smoothed[: qh * grid, : qw * grid]
    lo, hi = np.percentile(view, [2, 98])
    curve = []
    for t in np.linspace(lo, hi, n_thresholds):
        white = view > t if bright else view < t
        counts = white.reshape(grid, qh, grid, qw).sum(axis=(1, 3), dtype=np.int64).ravel().astype(np.float64)
        m = counts.mean()
        if m <= 0:
            continue
        curve.append((float(t), float(counts.var(ddof=1) / m)))
    if not curve:
        return [], float("nan"), float("nan")
    t_best, id_best = max(curve, key=lambda c: c[1])
    return curve, float(id_best), float(t_best)


def _drop_low_contrast(sm: np.ndarray, labels: np.ndarray, t: float, bright: bool) -> tuple[np.ndarray, np.ndarray]:
    """Remove objects whose inside is not above a 3-px ring around them by (t − background mean)."""
    sign = 1.0 if bright else -1.0
    bg = labels == 0
    if not bg.any():
        return labels, labels > 0
    need = sign * (t - float(sm[bg].mean()))
    out = labels.copy()
    rows, cols = labels.shape
    for sl_i, sl in enumerate(ndi.find_objects(labels)):
        if sl is None:
            continue
        lab = sl_i + 1
        r0, r1 = max(0, sl[0].start - 4), min(rows, sl[0].stop + 4)
        c0, c1 = max(0, sl[1].start - 4), min(cols, sl[1].stop + 4)
        sub = labels[r0:r1, c0:c1]
        obj = sub == lab
        ring = ndi.binary_dilation(obj, iterations=3) & (sub == 0)
        if not ring.any():
            continue
        win = sm[r0:r1, c0:c1]
        if sign * (float(win[obj].mean()) - float(win[ring].mean())) < need:
            out[r0:r1, c0:c1][obj] = 0
    return out, out > 0


def select_threshold(sm: np.ndarray, how: str | float = "auto", bright: bool = True) -> tuple[float, str]:
    """The grey level that separates objects from background.

    ``'isodata'``: Ridler–Calvard (midpoint of the two class means); ``'otsu'``; a number: that level;
    ``'auto'``: of the ISODATA level and the 3- and 4-class multi-Otsu levels (skimage), the one whose
    object outlines sit on the steepest grey-level edges (highest mean Sobel magnitude on the
    outline pixels). A level that cuts through the background texture draws outlines in flat noise;
    the level of the real objects draws them on their edges, at half height. On a two-phase image
    ISODATA wins; on bright particles over a textured, two-tone substrate (the Zeiss test image) a
    multi-Otsu level does.
    """
    from skimage.filters import threshold_isodata, threshold_multiotsu, threshold_otsu

    if isinstance(how, int | float) and not isinstance(how, bool):
        return float(how), "given"
    if how == "isodata":
        return float(threshold_isodata(sm)), "isodata"
    if how == "otsu":
        return float(threshold_otsu(sm)), "otsu"
    cands = {"isodata": float(threshold_isodata(sm))}
    sample = sm[:: max(1, sm.shape[0] // 1024), :: max(1, sm.shape[1] // 1024)]
    for k in (3, 4):
        try:
            for i, t in enumerate(threshold_multiotsu(sample, classes=k)):
                cands[f"multi-otsu {k} classes, level {i + 1}"] = float(t)
        except ValueError:  # too few grey levels
            pass
    gm = np.hypot(ndi.sobel(sm, 0), ndi.sobel(sm, 1))
    best, best_score = "isodata", -1.0
    for name, t in cands.items():
        m = sm > t if bright else sm < t
        outline = m & ~ndi.binary_erosion(m)
        if np.count_nonzero(outline) < 20:
            continue
        score = float(gm[outline].mean())
        if score > best_score:
            best, best_score = name, score
    return cands[best], f"auto: {best}"


def analyse_top_view_array(
    grey: np.ndarray,
    objects: str = "bright",
    sigma_px: float = 1.0,
    min_area_px: int = 12,
    h_px: float = 2.0,
    flatten: bool = False,
    split: bool = True,
    id_grid: int = ID_GRID,
    threshold: str | float = "auto",
) -> TopViewRaw:
    from skimage.measure import regionprops
    from skimage.morphology import h_maxima, remove_small_objects, skeletonize
    from skimage.segmentation import watershed

    img = grey.astype(np.float32, copy=False)
    sm = ndi.gaussian_filter(img, sigma_px) if sigma_px else img.copy()
    if flatten:
        bgr = ndi.gaussian_filter(sm, max(sm.shape) / 8.0)
        sm = sm / np.maximum(bgr, 1e-3)
    bright = objects != "dark"
    curve, id_max, id_t = index_of_dispersion(sm, grid=id_grid, bright=bright)
    if float(sm.max() - sm.min()) < 1e-6:
        empty = np.zeros(img.shape, np.int32)
        return TopViewRaw(empty, empty.astype(bool), float("nan"), status="no_objects", reason="the image is uniform: nothing to segment", id_curve=curve, id_max=id_max, id_threshold=id_t)
    t, threshold_method = select_threshold(sm, threshold, bright)
    mask = sm > t if bright else sm < t
    mask = ndi.binary_fill_holes(mask) if mask.any() else mask
    # porosity: enclosed voids of the raw (unfilled) foreground
    raw = sm > t if bright else sm < t
    enclosed = mask & ~raw
    deposit = mask.sum()
    porosity = float(enclosed.sum() / deposit) if deposit else 0.0
    mask = remove_small_objects(mask, max_size=max(0, min_area_px - 1)) if _has_max_size() else remove_small_objects(mask, min_size=min_area_px)
    if not mask.any():
        empty = np.zeros(img.shape, np.int32)
        return TopViewRaw(empty, mask, t, status="no_objects", reason=f"no object of at least {min_area_px} px above the threshold", porosity=porosity, id_curve=curve, id_max=id_max, id_threshold=id_t)
    if split:
        comp, ncomp = ndi.label(mask)
        splittable = np.zeros(ncomp + 1, bool)
        for rp in regionprops(comp):
            splittable[rp.label] = rp.area >= 4 * np.pi * MIN_SPLIT_RADIUS_PX**2 and rp.solidity >= MIN_SPLIT_SOLIDITY
        dist = ndi.distance_transform_edt(mask)
        markers, _ = ndi.label(h_maxima(dist, h_px) & (dist >= MIN_SPLIT_RADIUS_PX) & splittable[comp])
        if markers.max() > 0:
            labels = watershed(-dist, markers, mask=mask & splittable[comp]).astype(np.int32)
        else:  # no marker at all: skimage would seed every local minimum; keep the connected components
            labels = np.zeros(mask.shape, np.int32)
        # objects without a marker (tiny) keep their connected-component label
        missing = mask & (labels == 0)
        if missing.any():
            extra, _ = ndi.label(missing)
            labels[missing] = extra[missing] + labels.max()
    else:
        labels, _ = ndi.label(mask)
        labels = labels.astype(np.int32)
    labels, mask = _drop_low_contrast(sm, labels, t, bright)
    if not mask.any():
        empty = np.zeros(img.shape, np.int32)
        return TopViewRaw(empty, mask, t, threshold_method, status="no_objects", reason="no object stands out of its surroundings", porosity=porosity, id_curve=curve, id_max=id_max, id_threshold=id_t)
    deposit = ndi.binary_fill_holes(mask)
    porosity = float((deposit & ~raw).sum() / deposit.sum()) if deposit.any() else 0.0
    coverage = float((mask & raw).mean())
    skel = skeletonize(mask)
    _, ends, branch = _skeleton_points(skel)
    branch_lbl, n_branch_points = ndi.label(branch, structure=np.ones((3, 3)))
    rows, cols = img.shape
    objs = []
    for rp in regionprops(labels):
        r0, c0, r1, c1 = rp.bbox
        edge = r0 == 0 or c0 == 0 or r1 == rows or c1 == cols
        sub = skel[r0:r1, c0:c1] & rp.image
        n_end = int(np.count_nonzero(ends[r0:r1, c0:c1] & rp.image))
        n_jun = len(np.unique(branch_lbl[r0:r1, c0:c1][rp.image & (branch_lbl[r0:r1, c0:c1] > 0)]))
        length = _skeleton_length(sub)
        per = float(rp.perimeter)
        objs.append(
            {
                "label": int(rp.label),
                "centroid_row_px": float(rp.centroid[0]),
                "centroid_col_px": float(rp.centroid[1]),
                "area_px": float(rp.area),
                "equivalent_diameter_px": float(rp.equivalent_diameter_area),
                "perimeter_px": per,
                "circularity": float(4 * np.pi * rp.area / per**2) if per > 0 else float("nan"),
                "major_axis_px": float(rp.axis_major_length),
                "minor_axis_px": float(rp.axis_minor_length),
                "aspect_ratio": float(rp.axis_major_length / rp.axis_minor_length) if rp.axis_minor_length > 0 else float("nan"),
                "skeleton_length_px": length,
                "end_points": n_end,
                "branch_points": n_jun,
                "branches": max(n_end + n_jun - 1, 1 if length > 0 else 0),
                "touches_edge": bool(edge),
            }
        )
    return TopViewRaw(
        labels=labels,
        mask=mask,
        threshold=t,
        threshold_method=threshold_method,
        objects=objs,
        skeleton=skel,
        n_end_points=int(np.count_nonzero(ends)),
        n_branch_points=int(n_branch_points),
        skeleton_length_px=_skeleton_length(skel),
        porosity=porosity,
        coverage=coverage,
        id_curve=curve,
        id_max=id_max,
        id_threshold=id_t,
    )


def _has_max_size() -> bool:
    """scikit-image 0.26 renamed remove_small_objects(min_size=) to max_size= (objects <= max_size go)."""
    import inspect

    from skimage.morphology import remove_small_objects

    return "max_size" in inspect.signature(remove_small_objects).parameters
