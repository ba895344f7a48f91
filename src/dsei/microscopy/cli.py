"""``dsei sem``: measure SEM images (cross-sections and top views); JSON, CSV, overlay PNG and HTML out."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dsei._cli_common import JsonOpt, err_console, out_console

app = typer.Typer()


class Mode(StrEnum):
    """``--mode``, as :data:`dsei.microscopy.api.MODES`."""

    cross_section = "cross-section"
    top_view = "top-view"


class Objects(StrEnum):
    """``--objects`` of a top view."""

    bright = "bright"
    dark = "dark"


@app.command("sem")
def sem_cmd(
    paths: Annotated[list[Path], typer.Argument(metavar="IMAGE|FOLDER...", help="SEM images (TIFF from FEI/Thermo, Zeiss, TESCAN, JEOL, Hitachi; PNG/JPEG/BMP with --pixel-size) or folders of them.")],
    mode: Annotated[Mode, typer.Option("--mode", help="cross-section (layer thickness, roughness) or top-view (particles, dendrites).", metavar="cross-section|top-view")] = Mode.top_view,
    pixel_size: Annotated[str | None, typer.Option("--pixel-size", help="Pixel size with its unit, e.g. 2.6um or 500nm (overrides the metadata).", metavar="SIZE")] = None,
    layers: Annotated[int | None, typer.Option("--layers", help="Cross-section: number of layers (default: every boundary that stands out of the noise).", metavar="N")] = None,
    tilt_correction: Annotated[float | None, typer.Option("--tilt-correction", help="Cross-section: stage tilt (degrees) of a FIB cross-section face (e.g. 52); vertical lengths are divided by sin(tilt).", metavar="DEG")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Analyse only x0,y0,x1,y1 (pixels).", metavar="x0,y0,x1,y1")] = None,
    data_bar: Annotated[str, typer.Option("--data-bar", help="auto (metadata, else detected), none, or the bar's height in rows.", metavar="auto|none|ROWS")] = "auto",
    objects: Annotated[Objects, typer.Option("--objects", help="Top view: the objects are bright or dark.", metavar="bright|dark")] = Objects.bright,
    threshold: Annotated[str, typer.Option("--threshold", help="Top view: auto, isodata, otsu, or a grey level in 0..1.", metavar="auto|isodata|otsu|LEVEL")] = "auto",
    flatten: Annotated[bool, typer.Option("--flatten/--no-flatten", help="Top view: divide out uneven illumination first.")] = False,
    min_area_px: Annotated[int, typer.Option("--min-area-px", help="Top view: ignore objects smaller than this (pixels).")] = 12,
    max_pixels: Annotated[int, typer.Option("--max-pixels", help="Refuse images with more pixels than this (memory).")] = 64_000_000,
    compare: Annotated[bool, typer.Option("--compare", help="Print (and write with --json) one table comparing all images.")] = False,
    json_out: JsonOpt = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Per-object (top view) or per-column (cross-section) measurements.", metavar="OUT.csv")] = None,
    overlay: Annotated[Path | None, typer.Option("--overlay", help="Overlay PNG (one image) or a folder for one PNG per image.", metavar="OUT.png|DIR")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="HTML report (dsei screen style, self-contained).", metavar="OUT.html")] = None,
) -> None:
    """Measure SEM images: layer thickness and interface roughness (cross-section), or particle count, size, coverage, porosity, shape, dendrite indicator and index of dispersion (top view)."""
    from dsei.errors import InputError
    from dsei.microscopy.api import analyse_image, image_files
    from dsei.microscopy.outputs import write_csv, write_html

    mode, objects = Mode(mode).value, Objects(objects).value
    thr = _checked_options(mode, pixel_size, data_bar, threshold, max_pixels)
    files = image_files(paths)
    single = len(files) == 1
    if overlay is not None and not single and overlay.suffix.lower() == ".png":
        raise InputError("--overlay", "several images: give a folder, not a .png file")
    if overlay is not None and single and overlay.suffix.lower() not in (".png", ""):
        raise InputError(overlay, "overlays are written as PNG: give a .png path or a folder")
    kwargs = dict(mode=mode, pixel_size=pixel_size, layers=layers, region=region, data_bar=data_bar, max_pixels=max_pixels, objects=objects, flatten=flatten, min_area_px=min_area_px, threshold=thr, tilt_correction_deg=tilt_correction)
    con = out_console(json_out)
    overlays: dict[str, str] = {}
    if single:
        analyses = [analyse_image(files[0], **kwargs)]  # an unusable single file is an error (exit 2)
        _overlay(analyses[0], overlay, single, overlays)
    else:
        analyses = _analyse_folder(files, kwargs, mode, overlay, overlays)
    for a in analyses:
        if csv_out is not None:
            a.result.outputs["csv"] = str(csv_out)
    if csv_out is not None:
        write_csv(analyses, csv_out)
    if html_out is not None:
        write_html(analyses, html_out, overlays)
        for a in analyses:
            a.result.outputs["html"] = str(html_out)
    results = [a.result for a in analyses]
    if json_out:
        _write_json(analyses, json_out, compare, single)
    if compare or not single:
        _print_comparison(con, analyses, mode)
    else:
        _print_single(con, results[0])
    failed = [r for r in results if r.status == "failed"]
    if failed and len(failed) == len(results):
        raise InputError(results[0].file if single else "IMAGE|FOLDER", "no image could be analysed")


def _checked_options(mode: str, pixel_size: str | None, data_bar: str, threshold: str, max_pixels: int) -> str | float:
    """Refuse bad options before any file is read; returns the threshold (a method name or a grey level)."""
    from dsei.errors import InputError
    from dsei.microscopy.api import MODES
    from dsei.microscopy.io import parse_pixel_size

    if mode not in MODES:  # the enum and MODES must agree (tests/test_cli_imports.py)
        raise InputError("--mode", f"must be cross-section or top-view, not {mode!r}")
    parse_pixel_size(pixel_size)  # a bad --pixel-size is an error before any file is read
    if data_bar not in ("auto", "none") and not data_bar.isdigit():
        raise InputError("--data-bar", f"must be auto, none or a number of rows, not {data_bar!r}")
    thr: str | float = threshold
    if threshold not in ("auto", "isodata", "otsu"):
        try:
            thr = float(threshold)
        except ValueError:
            raise InputError("--threshold", f"must be auto, isodata, otsu or a number, not {threshold!r}") from None
    if max_pixels < 256:
        raise InputError("--max-pixels", "must be at least 256")
    return thr


def _analyse_folder(files: list[Path], kwargs: dict, mode: str, overlay: Path | None, overlays: dict) -> list:
    """Every image with a progress bar; overlays written as it goes and the arrays dropped (flat memory); a file
    that fails becomes a ``failed`` result with a warning, and the rest go on."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dsei.errors import DseiError
    from dsei.microscopy.api import SemAnalysis, SemResult, analyse_image

    analyses = []
    with Progress(TextColumn("[bold]sem[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"), console=err_console, transient=False) as prog:
        task = prog.add_task("", total=len(files))
        for f in files:
            prog.update(task, description=f.name)
            try:
                a = analyse_image(f, **kwargs)
                _overlay(a, overlay, False, overlays)  # written as we go: a later failure loses nothing
                a.image, a.raw = None, None  # memory stays flat over a long folder: the arrays are no longer needed
                analyses.append(a)
            except DseiError as exc:  # one bad file never stops the rest
                analyses.append(SemAnalysis(SemResult(file=str(f), mode=mode, status="failed", reason=str(exc)), None))
                err_console.print(f"[yellow]warning:[/] {exc}")
            except Exception as exc:  # noqa: BLE001 - a bug on one image must not lose the others
                first = " ".join(str(exc).split())[:160]
                analyses.append(SemAnalysis(SemResult(file=str(f), mode=mode, status="failed", reason=f"internal error {type(exc).__name__}: {first}"), None))
                err_console.print(f"[yellow]warning:[/] {f}: internal error {type(exc).__name__}: {first}")
            prog.advance(task)
    return analyses


def _write_json(analyses: list, json_out: str, compare: bool, single: bool) -> None:
    """The comparison (``--compare``), the one result, or ``{command: sem, results}``."""
    from dsei.microscopy.api import compare as compare_analyses
    from dsei.results import write_json

    results = [a.result for a in analyses]
    if compare:
        write_json(compare_analyses(analyses), json_out)
    elif single:
        write_json(results[0], json_out)
    else:
        write_json(results, json_out, command="sem")


def _print_comparison(con, analyses: list, mode: str) -> None:
    """One column per image, one row per quantity: readable in a terminal for any number of metrics."""
    from rich.table import Table

    from dsei.microscopy.api import compare as compare_analyses

    cmp = compare_analyses(analyses)
    keys: list[str] = []
    for r in cmp.rows:
        keys.extend(k for k in r if k not in keys and k != "file")
    table = Table(title=f"dsei sem --mode {mode}: {len(analyses)} images")
    table.add_column("quantity")
    for r in cmp.rows:
        table.add_column(str(r["file"]), overflow="fold")
    for k in keys:
        table.add_row(k, *[_cell(r.get(k)) for r in cmp.rows])
    con.print(table)


def _overlay(a, overlay: Path | None, single: bool, overlays: dict) -> None:
    from dsei.microscopy.outputs import write_overlay

    if overlay is None or a.image is None:
        return
    out = overlay if (single and overlay.suffix.lower() == ".png") else overlay / f"{Path(a.result.file).stem}_overlay.png"
    write_overlay(a, out)
    overlays[a.result.file] = str(out)
    a.result.outputs["overlay_png"] = str(out)


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def _print_single(con, r) -> None:
    from rich.table import Table

    t = Table(title=f"{Path(r.file).name} ({r.mode})")
    t.add_column("quantity")
    t.add_column("value")
    t.add_row("pixel size", f"{r.pixel_size_nm:.4g} nm  ({r.pixel_size_source})")
    bar = f"rows {r.data_bar_start_row}-{r.image_height_px - 1} excluded" if r.data_bar_start_row is not None else "none"
    t.add_row("data bar", f"{bar}  ({r.data_bar_source})")
    t.add_row("status", r.status + (f": {r.reason}" if r.reason else ""))
    if r.cross_section:
        cs = r.cross_section
        t.add_row("stack tilt", f"{cs['stack_tilt_deg']:.2f}°")
        for b in cs["boundaries"]:
            t.add_row(f"boundary {b['boundary']}", f"depth {b['mean_depth_um']:.4g} µm, Ra {b['ra_nm']:.4g} nm, Rq {b['rq_nm']:.4g} nm (tilt removed), traced {100 * b['traced_fraction']:.0f} %")
        for lay in cs["layers"]:
            if "thickness_mean_um" in lay:
                t.add_row(
                    f"layer {lay['layer']} thickness",
                    f"{lay['thickness_mean_um']:.4g} ± {lay['thickness_std_um']:.3g} µm (min {lay['thickness_min_um']:.4g}, max {lay['thickness_max_um']:.4g}) = {lay['thickness_mean_nm']:.4g} nm",
                )
    if r.top_view:
        tv = r.top_view
        t.add_row("objects", f"{tv['count']} ({tv['count_touching_edge']} touch the edge; sizes from the other {tv['count_measured']})")
        if tv["equivalent_diameter_mean_um"] is not None:
            t.add_row("equivalent diameter", f"{tv['equivalent_diameter_mean_um']:.4g} ± {tv['equivalent_diameter_std_um']:.3g} µm (d50 {tv['equivalent_diameter_d50_um']:.4g} µm)")
            t.add_row("circularity / aspect ratio", f"{tv['circularity_mean']:.3f} / {tv['aspect_ratio_mean']:.3f}")
        t.add_row("coverage / porosity", f"{tv['coverage_fraction']:.4f} / {tv['porosity_fraction']:.4f}")
        if tv["dendrite_indicator"] is not None:
            t.add_row("dendrite indicator", f"{tv['dendrite_indicator']:.3g} (skeleton length / eq. diameter), {tv['branch_points_per_um2']:.4g} branch points/µm², {tv['skeleton_length_um_per_um2']:.4g} µm/µm²")
        t.add_row("index of dispersion", f"{tv['index_of_dispersion']:.4g} (threshold sweep, Nicolas et al. PNAS 2025)")
    for n in r.notes:
        t.add_row("note", n)
    con.print(t)
