"""Speed of `dsei discover`: surrogate throughput, a funnel run with MLIP verification of the top 1 %, SIGKILL resume.

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_speed.py [--n 10000] [--workers 1] [--out bench-out/discovery_speed]
        [--kill-after 60] [--skip-run]

1. Surrogate throughput: featurise + predict the first ``--n-surrogate`` enumerated candidates in this process
   (one core), candidates per minute, and the same-run anchor (one batched SevenNet-0 evaluation of 32 LiF cells,
   benchmarks/anchor.py) as a ratio, so numbers from busy machines compare.
2. Funnel: `dsei discover` over a space large enough for ``--n`` candidates, relax + BVSE for the top 1 %
   (``--relax-fraction 0.01``) and the MLIP elastic verdict for all of them (``--top`` = 1 % of n), stage by stage
   timings from the run's JSON. With ``--kill-after S`` the run is first started as a subprocess, SIGKILLed after
   S seconds, the store's finished results are counted, and the run is started again: it must reuse every one of
   them (nothing lost) and finish.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

CATIONS = "Ag,Cu,Zn,Sn,Bi,In,Mg,Ca,Al,Na,K,Sr"  # every metal with shipped reference energies (hull)
ANIONS = "F,Cl,Br,I,O,S,Se,N,Te"


def counts(store: Path) -> dict[str, int]:
    if not store.exists():
        return {}
    con = sqlite3.connect(store)
    try:
        return dict(con.execute("SELECT stage || ':' || status, COUNT(*) FROM results GROUP BY stage, status").fetchall())
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--n-surrogate", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default="bench-out/discovery_speed")
    ap.add_argument("--kill-after", type=float, default=None)
    ap.add_argument("--skip-run", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from anchor import lif_anchor_s

    from dsei.discovery.enumerate import enumerate_candidates
    from dsei.discovery.features import featurize_many
    from dsei.discovery.surrogate import load_surrogate
    from dsei.models import load_model

    anchor = lif_anchor_s(load_model("sevennet"))
    t = time.perf_counter()
    en = enumerate_candidates("Li", CATIONS.split(","), ANIONS.split(","), max_candidates=args.n)
    t_enum = time.perf_counter() - t
    structs = en.structures[: args.n_surrogate]
    sur = load_surrogate()
    t = time.perf_counter()
    pred = sur.predict_features(featurize_many(structs))
    t_sur = time.perf_counter() - t
    per_min = len(structs) / t_sur * 60
    report = {
        "anchor_s": anchor, "enumerated": len(en.structures), "enumeration_s": t_enum, "enumeration_summary": en.summary(),
        "surrogate_candidates": len(structs), "surrogate_s": t_sur, "surrogate_per_min_one_core": per_min,
        "surrogate_s_per_candidate_over_anchor": t_sur / len(structs) / anchor, "p_ductile_mean": float(pred.p_ductile.mean()),
    }
    print(f"anchor (32 LiF, SevenNet-0): {anchor:.3f} s")
    print(f"enumerated {len(en.structures)} candidates in {t_enum:.0f} s ({en.summary()['dropped']})")
    print(f"surrogate: {len(structs)} candidates featurised + predicted in {t_sur:.1f} s on one core = {per_min:.0f}/min "
          f"({t_sur / len(structs) / anchor:.3f} anchors per candidate)")
    if not args.skip_run:
        top = max(1, math.ceil(0.01 * len(en.structures)))
        cmd = [sys.executable, "-m", "dsei.cli", "discover", "--cations", CATIONS, "--anions", ANIONS, "--max-candidates", str(args.n),
               "--relax-fraction", "0.01", "--top", str(top), "--workers", str(args.workers), "--out", str(out / "run"),
               "--json", str(out / "run.json")]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        if args.kill_after:
            p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(args.kill_after)
            p.send_signal(signal.SIGKILL)
            p.wait()
            before = counts(out / "run" / "results.sqlite")
            report["killed_after_s"] = args.kill_after
            report["store_after_kill"] = before
            print(f"SIGKILL after {args.kill_after:.0f} s; store holds {before}")
        t = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-3000:])
            raise SystemExit("discover failed")
        after = counts(out / "run" / "results.sqlite")
        res = json.loads((out / "run.json").read_text())
        report.update(run_wall_s=wall, store_after_run=after, rounds=res["rounds"], failures=len(res["failures"]))
        if args.kill_after:
            lost = {k: v - after.get(k, 0) for k, v in report["store_after_kill"].items() if after.get(k, 0) < v}
            report["lost_after_kill"] = lost
            print(f"resumed run: {wall:.0f} s; store now {after}; lost results: {lost or 'none'}")
        else:
            print(f"run: {wall:.0f} s; store {after}")
        for rd in res["rounds"]:
            print("  " + ", ".join(f"{k} {v:.0f}" if isinstance(v, float) else f"{k} {v}" for k, v in rd.items()))
    (out / "speed.json").write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
