"""Files of ``dsei sem``: per-object CSV, overlay PNG with a scale bar, and the HTML microscopy section."""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from dsei.microscopy.api import SemAnalysis, compare_row


def nice_scale_bar_um(width_um: float, fraction: float = 0.2) -> float:
    """A 1/2/5 x 10^k length close to ``fraction`` of the field width."""
    target = max(width_um * fraction, 1e-9)
    k = np.floor(np.log10(target))
    for m in (5, 2, 1):
        if m * 10**k <= target:
            return float(m * 10**k)
    return float(10**k)


def _bar_label(um: float) -> str:
    if um >= 1000:
        return f"{um / 1000:g} mm"
    if um >= 1:
        return f"{um:g} µm"
    return f"{um * 1000:g} nm"


def write_csv(analyses: list[SemAnalysis], path: str | Path) -> Path:
    """One row per object (top view) or per column (cross-section), with a ``file`` column first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"file": Path(a.result.file).name, **r} for a in analyses for r in (a.objects or [])]
    keys: list[str] = []
    for r in rows:
        keys.extend(k for k in r if k not in keys)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys or ["file"])
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)) for k, v in r.items()})
    return path


def write_overlay(analysis: SemAnalysis, path: str | Path, max_side_px: int = 2048) -> Path:
    """The image with the boundaries (cross-section) or object outlines and skeleton (top view) drawn on it,
    the excluded data bar shaded, and a scale bar. Images larger than ``max_side_px`` are drawn reduced."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = analysis.image
    res = analysis.result
    if img is None:
        raise ValueError("no image to draw (the analysis failed)")
    grey = img.grey
    rows, cols = grey.shape
    step = max(1, int(np.ceil(max(rows, cols) / max_side_px)))
    shown = grey[::step, ::step]
    h, w = shown.shape
    fig = plt.figure(figsize=(w / 100, h / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    # display stretch: 0.5-99.5 percentiles (12-bit data in a 16-bit file would otherwise look black)
    lo, hi = (float(v) for v in np.percentile(shown, [0.5, 99.5]))
    if hi <= lo:
        lo, hi = float(shown.min()), float(shown.max()) + 1e-6
    ax.imshow(shown, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest", extent=(-0.5, cols - 0.5, rows - 0.5, -0.5))
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.axis("off")
    x0, y0, x1, y1 = analysis.region or (0, 0, cols, rows)
    if res.data_bar_start_row is not None:
        ax.add_patch(Rectangle((-0.5, res.data_bar_start_row - 0.5), cols, rows - res.data_bar_start_row, color="red", alpha=0.25, lw=0))
        ax.text(cols * 0.99, res.data_bar_start_row - 2, "data bar excluded", color="red", ha="right", va="bottom", fontsize=8)
    if (x0, y0, x1, y1) != (0, 0, cols, res.data_bar_start_row if res.data_bar_start_row is not None else rows):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="cyan", lw=1, ls="--"))
    raw = analysis.raw
    colours = ["#ff3b30", "#34c759", "#0a84ff", "#ffcc00", "#af52de", "#ff9500"]
    if res.mode == "cross-section" and raw is not None:
        xs = np.arange(x0, x1)
        for k, b in enumerate(raw.boundaries):
            ax.plot(xs, b.y_px + y0, color=colours[k % len(colours)], lw=1.2, label=f"boundary {b.index}")
        if raw.boundaries:
            ax.legend(loc="upper right", fontsize=7, framealpha=0.7)
    elif res.mode == "top-view" and raw is not None and raw.labels.size:
        from skimage.segmentation import find_boundaries

        edges = find_boundaries(raw.labels, mode="inner")
        rgba = np.zeros((*edges.shape, 4), np.uint8)
        rgba[edges] = (255, 217, 0, 255)
        if raw.skeleton is not None:
            rgba[raw.skeleton] = (255, 51, 51, 255)
        ax.imshow(rgba, extent=(x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5), interpolation="nearest")
    px = res.pixel_size_um or 1.0
    field_um = (x1 - x0) * px
    bar_um = nice_scale_bar_um(field_um)
    bar_px = bar_um / px
    bx, by = x0 + 0.04 * (x1 - x0), y1 - 0.06 * (y1 - y0)
    thick = max(2.0, 0.012 * (y1 - y0))
    ax.add_patch(Rectangle((bx - 3, by - thick - 3 - 0.05 * (y1 - y0)), bar_px + 6, thick + 6 + 0.05 * (y1 - y0), color="black", alpha=0.55, lw=0))
    ax.add_patch(Rectangle((bx, by - thick), bar_px, thick, color="white", lw=0))
    ax.text(bx + bar_px / 2, by - thick - 2, _bar_label(bar_um), color="white", ha="center", va="bottom", fontsize=9, fontweight="bold")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _png_data_uri(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if not np.isfinite(v) else (f"{v:.4g}")
    return html.escape("" if v is None else str(v))


def microscopy_section_html(analyses: list[SemAnalysis], overlays: dict[str, str] | None = None) -> tuple[str, str]:
    """(HTML of the microscopy section, JavaScript that draws its plotly figures); to embed in a page
    that already loads plotly.js and :data:`dsei.report.html._CSS`."""
    import plotly.graph_objects as go

    overlays = overlays or {}
    rows = [compare_row(a.result) for a in analyses]
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    failed = ' class="failed"'
    body = "".join(
        f"<tr{failed if r.get('status') == 'failed' else ''}>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows
    )
    parts = ["<h2>Microscopy</h2>", "<p class='muted'>Click a column header to sort. Lengths in µm unless the column says otherwise.</p>"]
    parts.append(f"<table class='sortable' id='sem'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    scripts = []
    for i, a in enumerate(analyses):
        r = a.result
        parts.append(f"<details open><summary>{html.escape(Path(r.file).name)} — {html.escape(r.mode)}, {html.escape(r.status)}</summary>")
        parts.append(
            f"<p class='muted'>pixel size {_fmt(r.pixel_size_nm)} nm ({html.escape(r.pixel_size_source)}); data bar: {html.escape(r.data_bar_source)}"
            + (f"; {html.escape(r.reason)}" if r.reason else "")
            + "</p>"
        )
        ov = overlays.get(r.file)
        if ov and Path(ov).is_file():
            parts.append(f"<img src='{_png_data_uri(ov)}' style='max-width:100%;max-height:600px' alt='overlay'>")
        fig = None
        if r.cross_section and r.cross_section.get("thickness_profile"):
            prof = r.cross_section["thickness_profile"]
            fig = go.Figure()
            for k, v in prof.items():
                if k != "x_um":
                    fig.add_trace(go.Scatter(x=prof["x_um"], y=v, mode="lines", name=k))
            fig.update_layout(xaxis_title="x (µm)", yaxis_title="thickness (µm)")
        elif r.top_view and a.objects:
            d = [o["equivalent_diameter_um"] for o in a.objects if not o["touches_edge"]]
            fig = go.Figure(go.Histogram(x=d, nbinsx=30, name="equivalent diameter"))
            fig.update_layout(xaxis_title="equivalent diameter (µm)", yaxis_title="count")
        if fig is not None and len(fig.data):
            fig.update_layout(template="plotly_white", height=320, margin=dict(l=50, r=20, t=20, b=40))
            parts.append(f"<div id='semfig{i}' style='width:100%;height:320px'></div>")
            scripts.append(f"(function(){{var f={fig.to_json()};Plotly.newPlot('semfig{i}',f.data,f.layout,{{responsive:true}});}})();")
        slim = r.to_json_dict()
        if slim.get("top_view"):
            slim["top_view"] = {k: v for k, v in slim["top_view"].items() if k != "index_of_dispersion_curve"}
        if slim.get("cross_section"):
            slim["cross_section"] = {k: v for k, v in slim["cross_section"].items() if k != "thickness_profile"}
        parts.append(f"<pre>{html.escape(json.dumps(slim, indent=1))}</pre></details>")
    return "\n".join(parts), "\n".join(scripts)


def write_html(analyses: list[SemAnalysis], path: str | Path, overlays: dict[str, str] | None = None) -> Path:
    """A self-contained page (plotly.js inlined) in the style of ``dsei screen``'s report."""
    from plotly.offline import get_plotlyjs

    from dsei.report.html import _CSS, _SORT_JS

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    section, scripts = microscopy_section_html(analyses, overlays)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>dsei sem report</title>
<style>{_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>dsei sem</h1>
{section}
<script type="text/javascript">{scripts}</script>
<script type="text/javascript">{_SORT_JS}</script>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
