"""``report.html``: a self-contained page (plotly.js inlined, no CDN) with the paper's map.

The map: Pugh's ratio B/G (x) against the Li migration barrier (y, eV; BVSE or NEB when computed), the
ductility line at B/G = 1.75 (Pugh, Philos. Mag. 45, 823 (1954); used by Kang et al., Nature 2025),
points coloured by verdict, hover with formula and values. Candidates without a barrier are drawn on a
"no barrier yet" strip below the axis so every candidate with a Pugh ratio appears exactly once.
Below it: a sortable table and per-phase details (elastic tensor, relaxation, stability, failures).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

PUGH_LINE = 1.75
COLORS = {"ductile": "#1b9e77", "brittle": "#d95f02", "uncertain": "#7570b3", "unstable": "#999999", None: "#444444"}


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return html.escape(str(v))


def build_figure(rows: list[dict[str, Any]]):
    import plotly.graph_objects as go

    fig = go.Figure()
    pts = [r for r in rows if r.get("pugh_ratio") is not None]
    barriers = [r.get("barrier_eV") for r in pts]
    known = [b for b in barriers if b is not None]
    strip_y = (min(known) - 0.1) if known else 0.0
    by_verdict: dict[Any, list[int]] = {}
    for i, r in enumerate(pts):
        by_verdict.setdefault(r.get("verdict"), []).append(i)
    for verdict, idx in by_verdict.items():
        ys = [barriers[i] if barriers[i] is not None else strip_y for i in idx]
        fig.add_trace(
            go.Scatter(
                x=[pts[i]["pugh_ratio"] for i in idx],
                y=ys,
                mode="markers+text",
                text=[pts[i]["formula"] for i in idx],
                textposition="top center",
                name=str(verdict),
                marker={"size": 11, "color": COLORS.get(verdict, "#444"), "line": {"width": 1, "color": "#222"}},
                customdata=[
                    [pts[i]["candidate_id"], pts[i].get("K_vrh_GPa"), pts[i].get("G_vrh_GPa"), barriers[i] if barriers[i] is not None else "not computed"]
                    for i in idx
                ],
                hovertemplate="<b>%{text}</b> (%{customdata[0]})<br>B/G = %{x:.2f}<br>K = %{customdata[1]:.1f} GPa, G = %{customdata[2]:.1f} GPa"
                "<br>Li barrier: %{customdata[3]} eV<extra>%{fullData.name}</extra>",
            )
        )
    fig.add_vline(x=PUGH_LINE, line_dash="dash", line_color="#333", annotation_text="B/G = 1.75 (Pugh)", annotation_position="top")
    fig.update_layout(
        title="Ductility vs Li-ion transport",
        xaxis_title="Pugh's ratio B/G (Hill, log scale)",
        xaxis_type="log",
        yaxis_title="Li migration barrier (eV)" + ("" if known else " — not computed yet (points on the baseline)"),
        template="plotly_white",
        height=560,
        legend_title="verdict",
    )
    return fig


_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.getAttribute('data-asc') !== 'true';
    rows.sort(function (a, b) {
      var x = a.cells[col].textContent, y = b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    th.setAttribute('data-asc', asc);
  });
});
"""

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f3f3f3;cursor:pointer;position:sticky;top:0}td:nth-child(-n+3){text-align:left}
details{margin:0.4em 0}summary{cursor:pointer;font-weight:600}pre{background:#f8f8f8;padding:8px;overflow:auto}
.failed{color:#b00}.muted{color:#777}
"""


def write_report(
    rows: list[dict[str, Any]], details: dict[str, dict[str, Any]], path: str | Path, meta: dict[str, Any], title: str = "dsei screen"
) -> Path:
    """Write the report. ``details``: candidate_id → stage results (tensor, hops, stability...); ``title``: the
    command that made it (heading and page title)."""
    from plotly.offline import get_plotlyjs

    fig = build_figure(rows)
    plot_json = fig.to_json()
    columns = [c for c in (rows[0].keys() if rows else []) if c not in ("fingerprint", "source")]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cls = ' class="failed"' if r.get("failure") else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in columns) + "</tr>")
    det = []
    for r in rows:
        d = details.get(r["candidate_id"], {})
        slim = {k: ({kk: vv for kk, vv in v.items() if kk != "structure"} if isinstance(v, dict) else v) for k, v in d.items()}
        det.append(
            f"<details><summary>{html.escape(r['candidate_id'])} — {html.escape(r['formula'])}</summary>"
            f"<p class='muted'>source: {html.escape(str(r.get('source')))}; fingerprint {html.escape(str(r.get('fingerprint')))}</p>"
            f"<pre>{html.escape(json.dumps(slim, indent=1, default=str))}</pre></details>"
        )
    meta_html = "".join(f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>" for k, v in meta.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} report</title>
<style>{_CSS}</style>
<script type="text/javascript">
window.__dseiErrors = [];
window.addEventListener('error', function (e) {{ window.__dseiErrors.push(String(e.message)); }});
(function () {{ var ce = console.error; console.error = function () {{
  window.__dseiErrors.push(Array.prototype.join.call(arguments, ' ')); ce.apply(console, arguments); }}; }})();
</script>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>{html.escape(title)}</h1>
<ul>{meta_html}</ul>
<div id="map" style="width:100%;height:560px"></div>
<h2>Ranked candidates</h2>
<p class="muted">Click a column header to sort.</p>
<table class="sortable" id="results"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>
<h2>Per-phase details</h2>
{''.join(det)}
<p class="muted">Materials Project structures: CC BY 4.0 (A. Jain et al., APL Materials 1, 011002 (2013)).</p>
<script type="text/javascript">
var fig = {plot_json};
Plotly.newPlot('map', fig.data, fig.layout, {{responsive: true}}).then(function (gd) {{
  var n = 0; gd.data.forEach(function (t) {{ n += (t.x || []).length; }});
  gd.setAttribute('data-points', n);
  document.body.setAttribute('data-errors', JSON.stringify(window.__dseiErrors));
}});
{_SORT_JS}
</script>
</body></html>
"""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(page, encoding="utf-8")
    return p
