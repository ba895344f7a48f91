"""The gradient designs of docs/benchmarks.md ("Gradient designs"): the paper's AgNO3 design and five other chemistries.

    OMP_NUM_THREADS=2 python benchmarks/design_tables.py     # ~3 min on 2 cores (elastic and BVSE results cached)

Runs :func:`dsei.campaign.design.design` with the defaults of ``dsei design`` (energies on the chemistry default with
the fitted corrections, mechanics on the elastic default, BVSE barriers) and prints the paper's design as the
markdown table of the page, with the inner/outer means; writes every layer of the other five designs to
``docs/benchmarks/design_other_chemistries.csv`` (B/G / G in GPa / BVSE barrier in eV per phase; metals without a
barrier).
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN = ("Li", "LiF,Li2S", "AgNO3")
OTHERS = (
    ("Li", "LiCl,Li2O", "Zn(OTf)2"),
    ("Li", "LiF,Li2O", "Cu(NO3)2"),
    ("Li", "LiCl,Li2S", "Sn(OTf)2"),
    ("Li", "LiF,Li2O", "Mg(NO3)2"),
    ("Na", "NaF,Na2S", "AgNO3"),
)

def _extra(p: dict) -> str:
    return " (extra)" if str(p.get("structure_source", "")).startswith("extra") else ""


def _props(p: dict) -> str:
    """'B/G / G / barrier' (barrier where there is one) and the verdict where it is uncertain or unstable."""
    if p.get("pugh_ratio") is None:
        return p.get("verdict") or "no elastic result"
    parts = [f"{p['pugh_ratio']:.2f}", f"{p['G_vrh_GPa']:.1f}"] + ([f"{p['barrier_eV']:.2f}"] if p.get("barrier_eV") is not None else [])
    return " / ".join(parts) + (f" ({p['verdict']})" if p.get("verdict") in ("uncertain", "unstable") else "")


def _inner(p: dict) -> str:
    return f"{p['formula']}{_extra(p)} {_props(p)}"


def _outer(p: dict) -> str:
    nf = " (not favourable)" if "not favourable" in (p.get("origin") or "") else ""
    return f"{p['formula']}{_extra(p)} {p['reduction_potential_V']:.2f} V{nf}, {_props(p)}"


def run(anode: str, native: str, additive: str) -> dict:
    from dsei.campaign.design import design
    return design(native, additive, anode=anode, barrier_method="bvse").to_json_dict()


def main() -> int:
    t0 = time.perf_counter()
    r = run(*MAIN)
    print("| position | phase | origin | V_red vs Li/Li+ (V) | Pugh B/G | G (GPa) | verdict | Li barrier (eV, BVSE) |")
    print("|---|---|---|---|---|---|---|---|")
    for layer in r["layers"]:
        for p in layer["phase_properties"]:
            v = "stable at 0 V" if p.get("stable_at_0V") else f"{p['reduction_potential_V']:.2f}"
            bg = "—" if p.get("pugh_ratio") is None else f"{p['pugh_ratio']:.2f}"
            g = "—" if p.get("G_vrh_GPa") is None else f"{p['G_vrh_GPa']:.1f}"
            note = p.get("barrier_note") or ""
            bar = "— (metal)" if p.get("barrier_eV") is None else f"{p['barrier_eV']:.2f} ({note.split(', ', 1)[-1].replace(' percolation', '')})"
            print(f"| {layer['position']} | {p['formula']} | {p['origin']} | {v} | {bg}"
                  f"{'' if p.get('model') in (None, r.get('mechanics_model')) else ' (' + p['model'] + ', a retry)'} | {g} | {p['verdict']} | {bar} |")
    gr = r["gradient"]
    print(f"\ninner mean B/G {gr['inner_mean_pugh_ratio']:.2f}, G {gr['inner_mean_G_GPa']:.1f} GPa; outer mean B/G "
          f"{gr['outer_mean_pugh_ratio']:.2f}, G {gr['outer_mean_G_GPa']:.1f} GPa; soft_outside_strong_inside "
          f"{gr['soft_outside_strong_inside']}; {time.perf_counter() - t0:.0f} s")
    rows = []
    for anode, native, additive in OTHERS:
        d = run(anode, native, additive)
        layers = d["layers"]
        inner = "; ".join(_inner(p) for p in layers[0]["phase_properties"])
        outer = "; ".join(
            f"{layer['position']}: " + "; ".join(_outer(p) for p in layer["phase_properties"] if p["origin"] != "metallic by-product")
            for layer in layers[1:] if any(p["origin"] != "metallic by-product" for p in layer["phase_properties"]))
        g = d["gradient"]
        bad = g.get("outer_not_ductile") or {}
        flag = str(g["soft_outside_strong_inside"]).lower() + (
            ", but `outer_not_ductile`: " + ", ".join(f"{k} ({v})" for k, v in bad.items()) if bad else "")
        rows.append([f"{anode}; {native.replace(',', ', ')} + {additive}", inner, outer, flag])
        print(f"{anode}; {native} + {additive}: {flag}", flush=True)
    out = ROOT / "docs" / "benchmarks" / "design_other_chemistries.csv"
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["anode, native + additive", "layer 1 (stable at 0 V)", "outer layers", "`soft_outside_strong_inside`"])
        w.writerows(rows)
    print(f"wrote {out} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
