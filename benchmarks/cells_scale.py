"""Scale benchmark for ``dsei.cells``: read + analyse a 10-million-row Li|Li cycling record.

The record is a 7,000 h Li|Li test (1 h half-cycles, 15 mA on 1 cm², ~25 mV polarization with a
nucleation peak and noise, a soft short at 6,000 h) logged every 2.52 s: 10 M rows, written once to a
temporary CSV (``time/s,Ewe/V,I/mA,cycle number``, ~0.5 GB) and Parquet.

Each measurement runs in its own subprocess, which reports its wall time and its peak resident memory
(``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` where there is no /proc):

* ``anchor``  — ``pyarrow.csv.read_csv`` of the whole file (all columns into one Arrow table): the
  fastest plain columnar read on this machine, the yardstick;
* ``dsei``    — ``dsei.cells.cycle(path, cell="symmetric")``: streamed read + half-cycle reduction +
  failure detection (the full analysis);
* ``dsei-parquet`` — the same analysis from the Parquet copy;
* ``python``  — the interpreter with numpy/pandas/pyarrow imported (the memory floor).

Results are printed as a table and as ratios to the anchor (rows/s) measured in the same run.

Usage::

    nice python benchmarks/cells_scale.py [--rows 10000000] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

T_FAIL_H = 6000.0


def generate(path_csv: Path, path_pq: Path, rows: int, chunk: int = 1_000_000) -> float:
    """Write the synthetic record in chunks (bounded memory); returns the true failure time (h)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    duration_h = 7000.0
    dt_s = duration_h * 3600 / rows
    rng = np.random.default_rng(0)
    schema = pa.schema([("time/s", pa.float64()), ("Ewe/V", pa.float64()), ("I/mA", pa.float64()), ("cycle number", pa.int64())])
    with pcsv.CSVWriter(path_csv, schema) as wc, pq.ParquetWriter(path_pq, schema) as wp:
        for lo in range(0, rows, chunk):
            idx = np.arange(lo, min(rows, lo + chunk))
            t_s = idx * dt_s
            t_h = t_s / 3600
            k = np.floor(t_h).astype(np.int64)  # 1 h half-cycles
            tau = t_h - k
            s = np.where(k % 2 == 0, -1.0, 1.0)
            eta = 25.0 + 8.0 * np.exp(-tau / 0.03) + 1.0 * tau**4
            eta = np.where(t_h >= T_FAIL_H, 3.0, eta)
            v = (s * eta + rng.normal(0, 0.5, len(idx))) / 1000
            i = s * 15.0
            tb = pa.table({"time/s": np.round(t_s, 3), "Ewe/V": np.round(v, 7), "I/mA": i, "cycle number": k // 2}, schema=schema)
            wc.write_table(tb)
            wp.write_table(tb)
    return T_FAIL_H


CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
import numpy, pandas, pyarrow, pyarrow.csv
t0 = time.perf_counter()
out = {}
if mode == "anchor":
    tb = pyarrow.csv.read_csv(path)
    out["rows"] = tb.num_rows
elif mode.startswith("dsei"):
    from dsei.cells import cycle
    r = cycle(path, cell="symmetric", area_cm2=1.0)
    out.update(rows=r.n_rows, failure=r.failure.kind, failure_h=r.failure.time_h, median_mV=r.overpotential_mV["median"], half_cycles=r.half_cycles)
else:
    out["rows"] = 0
out["seconds"] = time.perf_counter() - t0
# VmHWM: the high-water mark of this process's own memory map (ru_maxrss would carry the parent's
# peak across fork/exec on Linux).
try:
    hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0]
    out["peak_rss_MiB"] = int(hwm.split()[1]) / 1024
except (OSError, IndexError):
    out["peak_rss_MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(mode: str, path: Path) -> dict:
    env = dict(os.environ)
    res = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{mode} failed: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--tmp", type=Path, default=None, help="Directory for the temporary record (default: system temp).")
    ap.add_argument("--json", type=Path, default=None, help="Also write the results as JSON here.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.tmp) as d:
        csv = Path(d) / "lili_7000h.csv"
        pq = Path(d) / "lili_7000h.parquet"
        t0 = time.perf_counter()
        t_fail = generate(csv, pq, args.rows)
        gen_s = time.perf_counter() - t0
        size_mb = csv.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows in {gen_s:.1f} s: CSV {size_mb:.0f} MB, Parquet {pq.stat().st_size / 1e6:.0f} MB")
        results = {
            "python": measure("python", csv),
            "anchor": measure("anchor", csv),
            "dsei": measure("dsei", csv),
            "dsei-parquet": measure("dsei-parquet", pq),
        }
    anchor_rate = results["anchor"]["rows"] / results["anchor"]["seconds"]
    print(f"\n{'measurement':<14} {'s':>7} {'rows/s':>12} {'vs anchor':>10} {'peak RSS MiB':>13}")
    for name, r in results.items():
        rate = r["rows"] / r["seconds"] if r["rows"] else float("nan")
        r["rows_per_s"] = rate
        r["rate_vs_anchor"] = rate / anchor_rate if r["rows"] else None
        print(f"{name:<14} {r['seconds']:7.2f} {rate:12,.0f} {r['rate_vs_anchor'] or float('nan'):10.2f} {r['peak_rss_MiB']:13.0f}")
    floor = results["python"]["peak_rss_MiB"]
    for name in ("anchor", "dsei", "dsei-parquet"):
        r = results[name]
        r["rss_above_python_MiB"] = r["peak_rss_MiB"] - floor
    a_mem = max(results["anchor"]["rss_above_python_MiB"], 1e-9)
    print(f"\npeak RSS above the bare interpreter ({floor:.0f} MiB): anchor {results['anchor']['rss_above_python_MiB']:.0f} MiB, "
          f"dsei {results['dsei']['rss_above_python_MiB']:.0f} MiB ({results['dsei']['rss_above_python_MiB'] / a_mem:.2f} x anchor), "
          f"dsei-parquet {results['dsei-parquet']['rss_above_python_MiB']:.0f} MiB")
    d = results["dsei"]
    print(f"dsei verdict: {d['failure']} at {d['failure_h']:.1f} h (true {t_fail:.1f} h), median overpotential {d['median_mV']:.2f} mV (true 25), "
          f"{d['half_cycles']} half-cycles")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "csv_MB": size_mb, "results": results}, indent=2))


if __name__ == "__main__":
    main()
