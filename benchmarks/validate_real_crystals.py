"""Run dsei's structure validator over every real crystal we have and report what it refuses (issue #25).

    PYTHONPATH=src python benchmarks/validate_real_crystals.py [--json bench-out/validate_real.json]

Sets: every CIF shipped in ``src/dsei/structures/data/`` (the built-in library and extra binaries), the SEI
structures in ``../shared/data/sei_structures/`` and the 1,000 Materials Project binaries of
``../shared/data/mp_binary_elasticity_dev.json.gz``. All are real crystals (layered ones included: graphite,
MoS2, TiS2 ...), so ideally none is refused. Prints per set: refused count, the refusals with reasons, and the
margins (widest vacuum gap; largest/smallest volume per atom; any non-3D contact component) so the thresholds
in :mod:`dsei.structures.validate` can be judged against real data. Also the time per structure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
import warnings
from pathlib import Path

from pymatgen.core import Structure

from dsei.errors import InputError
from dsei.structures.io import read_structure
from dsei.structures.validate import _reduced, analyse_bulk, validate_structure

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")


def structures():
    for p in sorted((ROOT / "src/dsei/structures/data").rglob("*.cif")):
        yield "package data", p.name, lambda p=p: read_structure(p)
    for p in sorted((SHARED / "sei_structures").glob("*.cif")):
        yield "sei_structures", p.name, lambda p=p: read_structure(p)
    with gzip.open(SHARED / "mp_binary_elasticity_dev.json.gz") as fh:
        for e in json.load(fh):
            yield "MP dev set", f"{e['mp_id']} {e['formula']}", lambda e=e: Structure.from_dict(e["structure"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    t0 = time.perf_counter()
    for group, name, load in structures():
        s = load()
        t = time.perf_counter()
        try:
            validate_structure(s, source=name, max_sites=None)
            err = None
        except InputError as exc:
            err = exc.problem
        dt = time.perf_counter() - t
        rep = analyse_bulk(_reduced(s))
        rows.append({"set": group, "name": name, "nsites": len(s), "refused": err, "widest_gap_A": rep.widest_gap_A,
                     "gap_dir": rep.widest_gap_direction, "vpa_A3": s.volume / len(s), "dims": sorted(set(rep.component_dims)),
                     "time_s": dt})
    for group in dict.fromkeys(r["set"] for r in rows):
        rs = [r for r in rows if r["set"] == group]
        ok = [r for r in rs if not r["refused"]]
        print(f"\n{group}: {len(rs)} structures, {len(rs) - len(ok)} refused")
        for r in rs:
            if r["refused"]:
                print(f"  REFUSED {r['name']} ({r['nsites']} sites): {r['refused']}")
        if ok:
            g = max(ok, key=lambda r: r["widest_gap_A"])
            v1, v2 = min(ok, key=lambda r: r["vpa_A3"]), max(ok, key=lambda r: r["vpa_A3"])
            print(f"  widest vacuum gap among accepted: {g['widest_gap_A']:.2f} Å ({g['name']}, {g['gap_dir']})")
            print(f"  volume per atom among accepted: {v1['vpa_A3']:.2f} ({v1['name']}) .. {v2['vpa_A3']:.1f} Å^3 ({v2['name']})")
            top = sorted(ok, key=lambda r: -r["widest_gap_A"])[:5]
            print("  five widest gaps: " + "; ".join(f"{r['name']} {r['widest_gap_A']:.2f}" for r in top))
        times = sorted(r["time_s"] for r in rs)
        print(f"  validation time per structure: median {1000 * times[len(times) // 2]:.1f} ms, max {1000 * times[-1]:.0f} ms")
    print(f"\ntotal {len(rows)} structures, {sum(1 for r in rows if r['refused'])} refused, {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
