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
    """Threshold-sweep quadrat index of dispersion (see the module docstring). Returns (curve, max, threshold at max).

    All thresholds at once: the grey values are binned into 1024 levels per quadrat (one bincount), and
    the white-pixel count of every quadrat at every threshold is a cumulative sum over the levels."""
    rows, cols = smoothed.shape
    qh, qw = rows // grid, cols // grid
    if qh < 2 or qw < 2:
        return [], float("nan"), float("nan")
    view = smoothed[: qh * grid, : qw * grid]
    sample = view[:: max(1, qh // 64), :: max(1, qw // 64)]
    lo, hi = (float(v) for v in np.percentile(sample, [2, 98]))
    if hi <= lo:
        return [], float("nan"), float("nan")
    nb = 1024
    level = np.clip(((view - lo) / (hi - lo) * (nb - 1)).astype(np.int32), -1, nb - 1) + 1  # 0: below lo
    quad = (np.arange(qh * grid) // qh)[:, None] * grid + (np.arange(qw * grid) // qw)[None, :]
    hist = np.bincount((quad * (nb + 1) + level).ravel(), minlength=grid * grid * (nb + 1)).reshape(grid * grid, nb + 1)
    above = hist[:, ::-1].cumsum(axis=1)[:, ::-1]  # above[:, j]: pixels with level >= j
    curve = []
    for t in np.linspace(lo, hi, n_thresholds):
        j = int(np.floor((t - lo) / (hi - lo) * (nb - 1))) + 2  # level > that of t
        j = min(j, nb)
        counts = (above[:, j] if bright else qh * qw - above[:, j]).astype(np.float64)
        m = counts.mean()
        if m <= 0:
            continue
        curve.append((float(t), float(counts.var(ddof=1) / m)))
    if not curve:
        return [], float("nan"), float("nan")
    t_best, id_best = max(curve, key=lambda c: c[1])
    return curve, float(id_best), float(t_best)


def _ring_contrast_keep(sm: np.ndarray, labels: np.ndarray, t: float, bright: bool) -> np.ndarray:
    """Per label: keep it if its mean grey exceeds that of a 3-px ring around it by (t − background mean)."""
    n = int(labels.max())
    keep = np.ones(n + 1, bool)
    bg = labels == 0
    if n == 0 or not bg.any():
        return keep
    sign = 1.0 if bright else -1.0
    need = sign * (t - float(sm[bg].mean()))
    cross = ndi.generate_binary_structure(2, 1)
    grown = labels
    for _ in range(3):  # a 3-px (city-block) ring around every object
        grown = ndi.maximum_filter(grown, footprint=cross)
    ring = np.where(bg, grown, 0)
    n_in = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    inside = np.bincount(labels.ravel(), weights=sm.ravel(), minlength=n + 1)[1:] / np.maximum(n_in, 1)
    n_ring = np.bincount(ring.ravel(), minlength=n + 1)[1:]
    has_ring = n_ring > 0
    around = np.bincount(ring.ravel(), weights=sm.ravel(), minlength=n + 1)[1:] / np.maximum(n_ring, 1)
    keep[1:] = ~has_ring | (sign * (inside - around) >= need)
    return keep


def select_threshold(sm: np.ndarray, how: str | float = "auto", bright: bool = True) -> tuple[float, str]:
    """The grey level that separates objects from background.

    ``'isodata'``: Ridler–Calvard (midpoint of the two class means); ``'otsu'``; a number: that level;
    ``'auto'``: of the ISODATA level and the 3- and 4-class multi-Otsu levels (skimage), the one whose
    object outlines sit on the steepest grey-level edges (highest mean Sobel magnitude on the
    outline pixels). A level that cuts through the background texture draws outlines in flat noise;
    the level of the real objects draws them on their edges, at half height. On a two-phase image
    ISODATA wins; on bright particles over a textured, two-tone substrate (the Zeiss test image) a
    multi-Otsu level does. The choice is made on a subsample of at most ~1.5 Mpx.
    """
    from skimage.filters import threshold_isodata, threshold_multiotsu, threshold_otsu

    if isinstance(how, int | float) and not isinstance(how, bool):
        return float(how), "given"
    if how == "isodata":
        return float(threshold_isodata(sm)), "isodata"
    if how == "otsu":
        return float(threshold_otsu(sm)), "otsu"
    step = max(1, int(np.ceil(np.sqrt(sm.size / 1.5e6))))
    sample = sm[::step, ::step]
    cands = {"isodata": float(threshold_isodata(sample))}
    for k in (3, 4):
        try:
            for i, t in enumerate(threshold_multiotsu(sample, classes=k)):
                cands[f"multi-otsu {k} classes, level {i + 1}"] = float(t)
        except ValueError:  # too few grey levels
            pass
    win = sm[: min(sm.shape[0], 1024 * step), : min(sm.shape[1], 1536 * step)] if step > 1 else sm
    if step > 1:  # outlines need full resolution: score on a full-resolution window of ~1.5 Mpx
        r0 = (sm.shape[0] - min(sm.shape[0], 1024)) // 2
        c0 = (sm.shape[1] - min(sm.shape[1], 1536)) // 2
        win = sm[r0 : r0 + 1024, c0 : c0 + 1536]
    gm = np.hypot(ndi.sobel(win, 0), ndi.sobel(win, 1))
    best, best_score = "isodata", -1.0
    for name, t in cands.items():
        m = win > t if bright else win < t
        outline = m & ~ndi.binary_erosion(m)
        if np.count_nonzero(outline) < 20:
            continue
        score = float(gm[outline].mean())
        if score > best_score:
            best, best_score = name, score
    return cands[best], f"auto: {best}"


def _split_touching(mask: np.ndarray, h_px: float) -> np.ndarray:
    """Label ``mask``; components that look like clumps of round particles are split by a watershed on
    their distance map (see the module docstring). Work is done per component crop: most components
    (single convex particles, thin branched deposits) are never handed to the watershed."""
    from skimage.measure import regionprops
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    comp, n = ndi.label(mask)
    if n == 0:
        return comp.astype(np.int32)
    labels = comp.astype(np.int32)
    idx = np.arange(1, n + 1)
    area = np.asarray(ndi.sum(mask, comp, idx))
    slices = ndi.find_objects(comp)
    next_label = n + 1
    min_area = 4 * np.pi * MIN_SPLIT_RADIUS_PX**2
    for i in np.nonzero(area >= min_area)[0]:
        sl = slices[i]
        sl = (slice(max(0, sl[0].start - 1), sl[0].stop + 1), slice(max(0, sl[1].start - 1), sl[1].stop + 1))
        obj = comp[sl] == i + 1
        dist = ndi.distance_transform_edt(obj)
        peak = float(dist.max())
        # one disk: area = π peak²; a clump of k disks: ~k x that. Anything within 15 % of one disk is one particle
        if peak < MIN_SPLIT_RADIUS_PX or area[i] < 1.15 * np.pi * peak**2:
            continue
        if regionprops(obj.astype(np.uint8))[0].solidity < MIN_SPLIT_SOLIDITY:
            continue  # branched or ragged: never cut at its junctions
        markers, nm = ndi.label(h_maxima(dist, h_px) & (dist >= MIN_SPLIT_RADIUS_PX))
        if nm < 2:
            continue
        ws = watershed(-dist, markers, mask=obj)
        sub = labels[sl]
        sub[obj & (ws > 1)] = ws[obj & (ws > 1)] + next_label - 2  # watershed region 1 keeps the component's label
        next_label += nm - 1
    return labels


def _per_object(labels: np.ndarray, skel: np.ndarray, ends: np.ndarray, branch: np.ndarray) -> list[dict]:
    """Object measures (regionprops_table) and skeleton counts per object (vectorised bincounts)."""
    from skimage.measure import regionprops_table

    n = int(labels.max())
    if n == 0:
        return []
    props = regionprops_table(
        labels,
        properties=("label", "area", "centroid", "equivalent_diameter_area", "perimeter", "axis_major_length", "axis_minor_length", "bbox"),
    )
    lab_sk = np.where(skel, labels, 0)
    length = np.zeros(n + 1)
    for a, b, w in (
        (lab_sk[:, 1:], lab_sk[:, :-1], 1.0),
        (lab_sk[1:, :], lab_sk[:-1, :], 1.0),
        (lab_sk[1:, 1:], lab_sk[:-1, :-1], np.sqrt(2)),
        (lab_sk[1:, :-1], lab_sk[:-1, 1:], np.sqrt(2)),
    ):
        same = (a == b) & (a > 0)
        length += w * np.bincount(a[same], minlength=n + 1)
    n_end = np.bincount(labels[ends], minlength=n + 1)
    blab, nb = ndi.label(branch, structure=np.ones((3, 3)))
    n_jun = np.zeros(n + 1, np.int64)
    if nb:
        owner = np.asarray(ndi.maximum(labels, blab, np.arange(1, nb + 1))).astype(np.int64)
        n_jun = np.bincount(owner, minlength=n + 1)
    rows, cols = labels.shape
    out = []
    for k in range(len(props["label"])):
        lab = int(props["label"][k])
        per = float(props["perimeter"][k])
        area = float(props["area"][k])
        major, minor = float(props["axis_major_length"][k]), float(props["axis_minor_length"][k])
        edge = props["bbox-0"][k] == 0 or props["bbox-1"][k] == 0 or props["bbox-2"][k] == rows or props["bbox-3"][k] == cols
        e, j, L = int(n_end[lab]), int(n_jun[lab]), float(length[lab])
        out.append(
            {
                "label": lab,
                "centroid_row_px": float(props["centroid-0"][k]),
                "centroid_col_px": float(props["centroid-1"][k]),
                "area_px": area,
                "equivalent_diameter_px": float(props["equivalent_diameter_area"][k]),
                "perimeter_px": per,
                "circularity": float(4 * np.pi * area / per**2) if per > 0 else float("nan"),
                "major_axis_px": major,
                "minor_axis_px": minor,
                "aspect_ratio": major / minor if minor > 0 else float("nan"),
                "skeleton_length_px": L,
                "end_points": e,
                "branch_points": j,
                "branches": max(e + j - 1, 1 if L > 0 else 0),
                "touches_edge": bool(edge),
            }
        )
    return out


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
    """Segment and measure ``grey`` (the analysed area); see the module docstring."""
    from skimage.morphology import remove_small_objects, skeletonize

    img = grey.astype(np.float32, copy=False)
    sm = ndi.gaussian_filter(img, sigma_px) if sigma_px else img.copy()
    if flatten:
        bgr = ndi.gaussian_filter(sm, max(sm.shape) / 8.0)
        sm = sm / np.maximum(bgr, 1e-3)
    bright = objects != "dark"
    curve, id_max, id_t = index_of_dispersion(sm, grid=id_grid, bright=bright)
    empty = np.zeros(img.shape, np.int32)
    if float(sm.max() - sm.min()) < 1e-6:
        return TopViewRaw(empty, empty.astype(bool), float("nan"), status="no_objects", reason="the image is uniform: nothing to segment", id_curve=curve, id_max=id_max, id_threshold=id_t)
    t, threshold_method = select_threshold(sm, threshold, bright)
    raw = sm > t if bright else sm < t
    mask = ndi.binary_fill_holes(raw) if raw.any() else raw
    if _has_max_size():
        mask = remove_small_objects(mask, max_size=max(0, min_area_px - 1))
    else:  # pragma: no cover - scikit-image < 0.26
        mask = remove_small_objects(mask, min_size=min_area_px)
    labels = _split_touching(mask, h_px) if split else ndi.label(mask)[0].astype(np.int32)
    if labels.max():
        keep = _ring_contrast_keep(sm, labels, t, bright)
        labels = np.where(keep[labels], labels, 0).astype(np.int32)
        mask = labels > 0
    if not mask.any():
        return TopViewRaw(empty, mask, t, threshold_method, status="no_objects", reason=f"no object of at least {min_area_px} px stands out of its surroundings", id_curve=curve, id_max=id_max, id_threshold=id_t)
    deposit = ndi.binary_fill_holes(mask)
    porosity = float((deposit & ~raw).sum() / deposit.sum())
    coverage = float((mask & raw).mean())
    skel = skeletonize(mask)
    _, ends, branch = _skeleton_points(skel)
    n_branch_points = ndi.label(branch, structure=np.ones((3, 3)))[1]
    objs = _per_object(labels, skel, ends, branch)
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
