"""Campaign throughput with 1 and 2 local workers (and a 2-worker Dask LocalCluster) on the same set.

    OMP_NUM_THREADS=1 python benchmarks/screen_workers.py [--n 16] [--stages validate,relax,elastic]

Candidates: the first N library ground states (roles native/conversion/alloy). Each executor writes to a
fresh store; the anchor is the in-process (1 worker) run in the same invocation. Prints candidates/s and
the ratio, and checks that every executor produced the same verdicts and energies.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--stages", default="validate,relax,elastic")
    ap.add_argument("--model", default="sevennet")
    args = ap.parse_args()
    from distributed import LocalCluster

    from dsei.campaign import Pipeline, ResultStore, default_stages
    from dsei.campaign.executors import DaskExecutor, InProcessExecutor, PoolExecutor
    from dsei.campaign.screen import library_candidates

    cands = library_candidates()[: args.n]
    stages = default_stages(args.model, names=args.stages.split(","))
    results, times = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("1 worker (in-process)", lambda: InProcessExecutor()), ("2 workers (process pool)", lambda: PoolExecutor(2))]
        for name, make in runs:
            t0 = time.perf_counter()
            with ResultStore(f"{tmp}/{len(results)}.sqlite") as store, make() as ex:
                pipe = Pipeline(stages, store, ex)
                pipe.run(cands)
                results[name] = pipe.collect(cands)
            times[name] = time.perf_counter() - t0
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            t0 = time.perf_counter()
            with ResultStore(f"{tmp}/dask.sqlite") as store, DaskExecutor(cluster) as ex:
                pipe = Pipeline(stages, store, ex)
                pipe.run(cands)
                results["2 workers (Dask LocalCluster)"] = pipe.collect(cands)
            times["2 workers (Dask LocalCluster)"] = time.perf_counter() - t0
    anchor = times["1 worker (in-process)"]
    print(f"# {len(cands)} candidates, stages {args.stages}, model {args.model}")
    print(f"{'executor':<32} {'wall (s)':>9} {'candidates/s':>13} {'speed-up':>9}")
    for name, t in times.items():
        print(f"{name:<32} {t:>9.1f} {len(cands) / t:>13.3f} {anchor / t:>8.2f}x")
    ref = results["1 worker (in-process)"]
    for name, res in results.items():
        same = all(
            a["results"].get("elastic", {}).get("verdict") == b["results"].get("elastic", {}).get("verdict")
            and abs(a["results"].get("relax", {}).get("energy_per_atom_eV", 0) - b["results"].get("relax", {}).get("energy_per_atom_eV", 0)) < 1e-6
            for a, b in zip(res, ref, strict=True)
        )
        print(f"identical to the in-process run: {name}: {same}")


if __name__ == "__main__":
    main()
