"""Python API of ``dsei sem``: one image (:func:`analyse_image`), many (:func:`analyse_images`), a folder
(:func:`image_files`), side by side (:func:`compare`), and their files (CSV, overlay PNG, HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dsei.errors import DseiError, InputError
from dsei.microscopy.databar import find_data_bar
from dsei.microscopy.io import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, SemImage, read_image
from dsei.results import SCHEMA_VERSION, Result

MODES = ("cross-section", "top-view")
PROFILE_POINTS = 400


class SemResult(Result):
    """One image's measurements. Lengths carry their unit in the name (``_um``, ``_nm``, ``_px``)."""

    file: str
    mode: str
    status: str  # ok | partial | no_boundary | no_objects | failed
    reason: str = ""
    vendor: str = ""
    image_width_px: int = 0
    image_height_px: int = 0
    pixel_size_um: float | None = None
    pixel_size_nm: float | None = None
    pixel_size_source: str = ""
    data_bar_start_row: int | None = None
    data_bar_height_px: int = 0
    data_bar_source: str = ""
    analysed_region_px: list[int] | None = None  # x0, y0, x1, y1 (x1, y1 exclusive)
    analysed_area_um2: float | None = None
    original_dtype: str = ""
    original_mode: str = ""
    notes: list[str] = []
    cross_section: dict[str, Any] | None = None
    top_view: dict[str, Any] | None = None
    outputs: dict[str, str] = {}


@dataclass
class SemAnalysis:
    """What :func:`analyse_image` returns: the JSON result plus the arrays the outputs are drawn from."""

    result: SemResult
    image: SemImage | None
    raw: Any = None  # CrossSectionRaw | TopViewRaw
    objects: list[dict[str, Any]] | None = None  # per-object (top view) or per-column (cross-section) rows, physical units
    region: tuple[int, int, int, int] | None = None


def parse_region(text: str | None) -> tuple[int, int, int, int] | None:
    if text is None or str(text).strip() == "":
        return None
    parts = str(text).replace(" ", "").split(",")
    try:
        vals = tuple(int(float(p)) for p in parts)
    except ValueError:
        raise InputError("region", f"expected x0,y0,x1,y1 in pixels, got {text!r}") from None
    if len(vals) != 4:
        raise InputError("region", f"expected four numbers x0,y0,x1,y1, got {text!r}")
    x0, y0, x1, y1 = vals
    if x1 <= x0 or y1 <= y0 or min(vals) < 0:
        raise InputError("region", f"needs 0 <= x0 < x1 and 0 <= y0 < y1, got {text!r}")
    return vals  # type: ignore[return-value]


def _stats(v: np.ndarray, scale: float) -> dict[str, float]:
    v = v[np.isfinite(v)] * scale
    if v.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "min": float("nan"), "max": float("nan")}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "min": float(v.min()), "max": float(v.max())}


def _cross_section_summary(raw, px_um: float, x0: int, y0: int, y_scale: float = 1.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Boundaries, layers and profile in physical units; ``y_scale`` multiplies vertical lengths (tilt correction)."""
    py = px_um * y_scale  # µm per pixel, vertically
    bds = []
    for b in raw.boundaries:
        ok = np.isfinite(b.y_px)
        bds.append(
            {
                "boundary": b.index,
                "mean_depth_um": float(np.nanmean(b.y_px) + y0) * py if ok.any() else None,
                "tilt_deg": float(np.degrees(np.arctan(b.slope * y_scale))),
                "ra_um": b.ra_px * py,
                "rq_um": b.rq_px * py,
                "ra_nm": b.ra_px * py * 1e3,
                "rq_nm": b.rq_px * py * 1e3,
                "traced_fraction": b.coverage,
                "polarity": "brighter below" if b.sign > 0 else "darker below",
            }
        )
    layers = []
    n_layers = len(raw.boundaries) + 1 if raw.boundaries else 0
    for i in range(n_layers):
        entry: dict[str, Any] = {"layer": i + 1, "mean_grey": raw.layer_means[i] if i < len(raw.layer_means) else None}
        if i == 0:
            entry["position"] = "top: extends beyond the analysed area, thickness not measurable"
        elif i == n_layers - 1:
            entry["position"] = "bottom: extends beyond the analysed area, thickness not measurable"
        else:
            t = raw.thickness_px[i - 1]
            su, sn = _stats(t, py), _stats(t, py * 1e3)
            entry.update(
                {
                    "position": f"between boundaries {i} and {i + 1}",
                    "thickness_mean_um": su["mean"],
                    "thickness_std_um": su["std"],
                    "thickness_min_um": su["min"],
                    "thickness_max_um": su["max"],
                    "thickness_mean_nm": sn["mean"],
                    "thickness_std_nm": sn["std"],
                    "thickness_min_nm": sn["min"],
                    "thickness_max_nm": sn["max"],
                    "thickness_mean_px": float(np.nanmean(t)) if np.isfinite(t).any() else None,
                    "measured_columns": int(np.isfinite(t).sum()),
                }
            )
        layers.append(entry)
    cols = raw.boundaries[0].y_px.size if raw.boundaries else 0
    step = max(1, int(np.ceil(cols / PROFILE_POINTS))) if cols else 1
    idx = np.arange(0, cols, step)
    profile = {"x_um": [float((x0 + i) * px_um) for i in idx]}
    for i, t in enumerate(raw.thickness_px):
        profile[f"layer{i + 2}_thickness_um"] = [float(v * py) if np.isfinite(v) else None for v in t[idx]]
    rows = []
    for xi in range(cols):
        row: dict[str, Any] = {"x_px": x0 + xi, "x_um": (x0 + xi) * px_um}
        for b in raw.boundaries:
            v = b.y_px[xi]
            row[f"boundary{b.index}_y_um"] = (v + y0) * py if np.isfinite(v) else None
        for i, t in enumerate(raw.thickness_px):
            row[f"layer{i + 2}_thickness_um"] = t[xi] * py if np.isfinite(t[xi]) else None
        rows.append(row)
    summary = {
        "n_boundaries": len(raw.boundaries),
        "n_layers": n_layers,
        "stack_tilt_deg": float(np.degrees(np.arctan(raw.tilt_slope * y_scale))),
        "boundaries": bds,
        "layers": layers,
        "thickness_profile": profile,
        "method": "per-column gradient peaks; thickness perpendicular to the interface (vertical distance x cos tilt); "
        "Ra/Rq after removing each boundary's least-squares linear tilt",
    }
    return summary, rows


def _top_view_summary(raw, px_um: float, area_um2: float, x0: int, y0: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    objs = raw.objects
    rows = []
    for o in objs:
        rows.append(
            {
                "label": o["label"],
                "x_um": (o["centroid_col_px"] + x0) * px_um,
                "y_um": (o["centroid_row_px"] + y0) * px_um,
                "area_um2": o["area_px"] * px_um**2,
                "equivalent_diameter_um": o["equivalent_diameter_px"] * px_um,
                "perimeter_um": o["perimeter_px"] * px_um,
                "circularity": o["circularity"],
                "aspect_ratio": o["aspect_ratio"],
                "major_axis_um": o["major_axis_px"] * px_um,
                "minor_axis_um": o["minor_axis_px"] * px_um,
                "skeleton_length_um": o["skeleton_length_px"] * px_um,
                "branch_points": o["branch_points"],
                "end_points": o["end_points"],
                "branches": o["branches"],
                "touches_edge": o["touches_edge"],
            }
        )
    inner = [r for r in rows if not r["touches_edge"]]
    d = np.array([r["equivalent_diameter_um"] for r in inner])
    circ = np.array([r["circularity"] for r in inner], dtype=float)
    asp = np.array([r["aspect_ratio"] for r in inner], dtype=float)
    dendr = np.array([o["skeleton_length_px"] / o["equivalent_diameter_px"] for o in objs if o["equivalent_diameter_px"] > 0])
    n_br = sum(o["branches"] for o in objs)

    def q(a, p):
        return float(np.percentile(a, p)) if a.size else None

    hist_counts, hist_edges = (np.histogram(d, bins=min(20, max(1, d.size))) if d.size else ([], []))
    summary = {
        "count": len(objs),
        "count_measured": len(inner),
        "count_touching_edge": len(objs) - len(inner),
        "number_density_per_um2": len(objs) / area_um2 if area_um2 else None,
        "equivalent_diameter_mean_um": float(d.mean()) if d.size else None,
        "equivalent_diameter_std_um": float(d.std(ddof=1)) if d.size > 1 else (0.0 if d.size else None),
        "equivalent_diameter_min_um": float(d.min()) if d.size else None,
        "equivalent_diameter_max_um": float(d.max()) if d.size else None,
        "equivalent_diameter_d10_um": q(d, 10),
        "equivalent_diameter_d50_um": q(d, 50),
        "equivalent_diameter_d90_um": q(d, 90),
        "equivalent_diameter_histogram": {"edges_um": [float(e) for e in hist_edges], "counts": [int(c) for c in hist_counts]},
        "coverage_fraction": raw.coverage,
        "porosity_fraction": raw.porosity,
        "circularity_mean": float(np.nanmean(circ)) if circ.size else None,
        "aspect_ratio_mean": float(np.nanmean(asp)) if asp.size else None,
        "skeleton_length_um_per_um2": raw.skeleton_length_px * px_um / area_um2 if area_um2 else None,
        "branch_points_per_um2": raw.n_branch_points / area_um2 if area_um2 else None,
        "end_points_per_um2": raw.n_end_points / area_um2 if area_um2 else None,
        "mean_branch_length_um": raw.skeleton_length_px * px_um / n_br if n_br else None,
        "dendrite_indicator": float(dendr.mean()) if dendr.size else None,
        "index_of_dispersion": raw.id_max,
        "index_of_dispersion_threshold_grey": raw.id_threshold,
        "index_of_dispersion_curve": [{"threshold_grey": t, "index_of_dispersion": v} for t, v in raw.id_curve],
        "threshold_grey": raw.threshold,
        "threshold_method": raw.threshold_method,
    }
    return summary, rows


def analyse_image(
    path: str | Path,
    mode: str = "top-view",
    pixel_size: str | float | None = None,
    layers: int | None = None,
    region: str | tuple[int, int, int, int] | None = None,
    data_bar: str | int = "auto",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    objects: str = "bright",
    flatten: bool = False,
    min_area_px: int = 12,
    id_grid: int = 8,
    threshold: str | float = "auto",
    tilt_correction_deg: float | None = None,
) -> SemAnalysis:
    """Read one SEM image and measure it (``mode``: ``'cross-section'`` or ``'top-view'``).

    ``tilt_correction_deg``: a cross-section face imaged at this stage tilt (FIB-SEM: typically 52°) is
    foreshortened vertically by sin(tilt); vertical lengths (thickness, roughness, depth) are divided by it.

    Raises :class:`~dsei.errors.InputError` for unusable input (not an image, no pixel size, bad region);
    an image in which nothing is found returns a result with ``status`` ``no_boundary``/``no_objects``
    and the ``reason``.
    """
    from dsei.microscopy.top_view import analyse_top_view_array

    _check_options(mode, layers, tilt_correction_deg, objects)
    img = read_image(path, pixel_size=pixel_size, max_pixels=max_pixels)
    rows, cols = img.shape
    bar = find_data_bar(img.grey, img.metadata, data_bar)
    last_row = bar.start_row if bar.start_row is not None else rows
    x0, y0, x1, y1 = _analysed_region(region, cols, last_row)
    notes = list(img.notes)
    if bar.start_row is not None:
        notes.append(f"data bar rows {bar.start_row}-{rows - 1} excluded ({bar.source})")
    grey = img.grey[y0:y1, x0:x1]
    px = img.pixel_size_um
    area_um2 = (x1 - x0) * (y1 - y0) * px * px
    res = SemResult(
        file=str(path),
        mode=mode,
        status="ok",
        vendor=img.vendor,
        image_width_px=cols,
        image_height_px=rows,
        pixel_size_um=px,
        pixel_size_nm=px * 1e3,
        pixel_size_source=img.pixel_size_source,
        data_bar_start_row=bar.start_row,
        data_bar_height_px=bar.height_px,
        data_bar_source=bar.source,
        analysed_region_px=[x0, y0, x1, y1],
        analysed_area_um2=area_um2,
        original_dtype=img.original_dtype,
        original_mode=img.original_mode,
        notes=notes,
    )
    if mode == "cross-section":
        raw, table = _measure_cross_section(grey, layers, tilt_correction_deg, img.metadata, px, x0, y0, res, notes)
    else:
        raw = analyse_top_view_array(grey, objects=objects, flatten=flatten, min_area_px=min_area_px, id_grid=id_grid, threshold=threshold)
        summary, table = _top_view_summary(raw, px, area_um2, x0, y0)
        res.top_view = summary
    res.status, res.reason = raw.status, raw.reason
    return SemAnalysis(result=res, image=img, raw=raw, objects=table, region=(x0, y0, x1, y1))


def _check_options(mode: str, layers: int | None, tilt_correction_deg: float | None, objects: str) -> None:
    """Refuse options out of range (InputError naming the argument)."""
    if mode not in MODES:
        raise InputError("mode", f"must be cross-section or top-view, not {mode!r}")
    if layers is not None and layers < 2:
        raise InputError("layers", "needs at least 2 layers (one boundary)")
    if tilt_correction_deg is not None and not 5 <= tilt_correction_deg <= 90:
        raise InputError("tilt_correction", f"must be the stage tilt in degrees, 5 to 90, not {tilt_correction_deg!r}")
    if objects not in ("bright", "dark"):
        raise InputError("objects", f"must be bright or dark, not {objects!r}")


def _analysed_region(region, cols: int, last_row: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in px: ``region`` (text or tuple) clipped to the image above the data bar, or all of it."""
    reg = parse_region(region) if isinstance(region, str) or region is None else tuple(int(v) for v in region)
    if not reg:
        return 0, 0, cols, last_row
    x0, y0, x1, y1 = reg
    if x0 >= cols or y0 >= last_row:
        raise InputError("region", f"{reg} lies outside the analysable image ({cols} x {last_row} px without the data bar)")
    x1, y1 = min(x1, cols), min(y1, last_row)
    if x1 - x0 < 16 or y1 - y0 < 16:
        raise InputError("region", f"{reg} leaves less than 16 x 16 px inside the analysable image")
    return x0, y0, x1, y1


def _measure_cross_section(grey, layers, tilt_correction_deg, metadata: dict, px: float, x0: int, y0: int, res: SemResult, notes: list[str]):
    """Layers of a cross-section, vertical lengths corrected for the stage tilt where asked (a note where the
    metadata shows an uncorrected tilt); the summary goes into ``res``; returns (raw result, per-layer table)."""
    from dsei.microscopy.cross_section import analyse_cross_section_array

    raw = analyse_cross_section_array(grey, n_layers=layers)
    y_scale = 1.0
    if tilt_correction_deg is not None:
        y_scale = 1.0 / float(np.sin(np.radians(tilt_correction_deg)))
        notes.append(f"vertical lengths divided by sin({tilt_correction_deg:g}°) = {1 / y_scale:.4f} (--tilt-correction: a face viewed at that stage tilt)")
    else:
        st = metadata.get("stage_tilt_deg")
        if st is not None and abs(st) > 5 and not metadata.get("tilt_correction_on", False):
            notes.append(
                f"the stage was tilted by {st:.1f}° and the instrument's tilt correction was off: on a FIB cross-section face "
                f"vertical lengths are foreshortened by sin({abs(st):.1f}°); give --tilt-correction {abs(st):.0f} to correct them"
            )
    summary, table = _cross_section_summary(raw, px, x0, y0, y_scale)
    summary["vertical_scale_factor"] = y_scale
    res.cross_section = summary
    return raw, table


def image_files(paths: list[str | Path]) -> list[Path]:
    """Expand folders into their image files (sorted); files are kept as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise InputError(p, f"folder holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            out.extend(found)
        else:
            out.append(p)
    return out


def analyse_images(paths: list[str | Path], progress=None, **kwargs) -> list[SemAnalysis]:
    """Analyse every image; one that fails becomes a ``status='failed'`` result and the rest go on.
    ``progress(i, n, path)`` is called before each image (the CLI drives a rich progress bar with it)."""
    files = image_files(paths)
    out = []
    for i, f in enumerate(files):
        if progress is not None:
            progress(i, len(files), f)
        try:
            out.append(analyse_image(f, **kwargs))
        except DseiError as exc:
            out.append(SemAnalysis(SemResult(file=str(f), mode=kwargs.get("mode", "top-view"), status="failed", reason=str(exc)), None))
        except Exception as exc:  # noqa: BLE001 - a bug on one image must not lose the others
            reason = f"internal error {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
            out.append(SemAnalysis(SemResult(file=str(f), mode=kwargs.get("mode", "top-view"), status="failed", reason=reason), None))
    return out


# --------------------------------------------------------------------------------------------- compare
class SemComparison(Result):
    """Several images side by side: one row per image with the headline numbers of its mode."""

    command: str = "sem --compare"
    rows: list[dict[str, Any]]
    results: list[SemResult]


def compare_row(r: SemResult) -> dict[str, Any]:
    row: dict[str, Any] = {"file": Path(r.file).name, "mode": r.mode, "status": r.status, "pixel_size_nm": r.pixel_size_nm}
    if r.cross_section:
        cs = r.cross_section
        for lay in cs["layers"]:
            if "thickness_mean_um" in lay:
                n = lay["layer"]
                row[f"layer{n}_thickness_mean_um"] = lay["thickness_mean_um"]
                row[f"layer{n}_thickness_std_um"] = lay["thickness_std_um"]
        for b in cs["boundaries"]:
            row[f"boundary{b['boundary']}_rq_nm"] = b["rq_nm"]
        row["stack_tilt_deg"] = cs["stack_tilt_deg"]
    if r.top_view:
        tv = r.top_view
        for k in (
            "count",
            "equivalent_diameter_mean_um",
            "equivalent_diameter_d50_um",
            "coverage_fraction",
            "porosity_fraction",
            "circularity_mean",
            "aspect_ratio_mean",
            "dendrite_indicator",
            "branch_points_per_um2",
            "index_of_dispersion",
        ):
            row[k] = tv.get(k)
    if r.reason:
        row["reason"] = r.reason
    return row


def compare(analyses: list[SemAnalysis] | list[SemResult]) -> SemComparison:
    results = [a.result if isinstance(a, SemAnalysis) else a for a in analyses]
    return SemComparison(schema_version=SCHEMA_VERSION, rows=[compare_row(r) for r in results], results=results)


def compare_images(paths: list[str | Path], **kwargs) -> SemComparison:
    """Analyse ``paths`` (files or folders) with the same settings and tabulate them."""
    return compare(analyse_images(paths, **kwargs))
