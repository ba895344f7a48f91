"""The screen's data route: one relaxation per model (default) against relaxing on a second model first.

    python benchmarks/screen_route.py [--n 42]        # the README screen's candidates and stages, 2 torch threads

Both runs screen the first N library ground states (roles native/conversion/alloy; 42 = all of the README's
`dsei screen`) with the default stages validate → relax → stability → BVSE → elastic, each into a fresh store and
one empty chemistry cache (library candidates take stored energies), in this one invocation:

- **anchor** (the route before): ``relax.model = sevennet`` — the relax stage on SevenNet-0, so the elastic stage
  (SevenNet-l3i5) starts from the input structure and relaxes every candidate a second time;
- **default**: the relax stage on the elastic model; the elastic stage starts from its relaxed cell.

Models are loaded before either run (their load time is in neither). Prints each run's wall time per stage, the speed-up, and how far the elastic results agree (verdicts, max |ΔB/G|).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")


def run(cands, overrides: dict, tmp: str, tag: str):
    from dsei.campaign import Pipeline, ResultStore, default_stages

    stages = default_stages(None, overrides)
    t0 = time.perf_counter()
    with ResultStore(f"{tmp}/{tag}.sqlite") as store:
        pipe = Pipeline(stages, store)
        summary = pipe.run(cands)
        rows = pipe.collect(cands)
    return time.perf_counter() - t0, summary, rows, {s.name: s.model for s in stages}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=42)
    args = ap.parse_args()
    from dsei.campaign.screen import library_candidates

    cands = library_candidates()[: args.n]
    from dsei.models import load_model

    for name in ("sevennet", "sevennet-l3i5", "sevennet-mf-r2scan"):  # loads (and first passes) out of the timing
        load_model(name).evaluate([cands[0].pmg()])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DSEI_CACHE"] = f"{tmp}/cache"  # an empty chemistry cache, as on a fresh machine
        runs = {
            "anchor: relax on SevenNet-0, elastic relaxes again": run(cands, {"relax": {"model": "sevennet"}}, tmp, "anchor"),
            "default: one relaxation per model": run(cands, {}, tmp, "default"),
        }
    print(f"# {len(cands)} library candidates, default stages, torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}")
    anchor = next(iter(runs.values()))[0]
    for name, (wall, summary, _, models) in runs.items():
        stages = ", ".join(f"{s.stage} {s.elapsed_s:.1f}" for s in summary.stages)
        print(f"{name}: {wall:.1f} s ({anchor / wall:.2f}x the anchor); stages (s): {stages}; relax on {models['relax']}")
    (_, _, a_rows, _), (_, _, b_rows, _) = runs.values()
    same, d_max = 0, 0.0
    for a, b in zip(a_rows, b_rows, strict=True):
        ea, eb = a["results"].get("elastic", {}), b["results"].get("elastic", {})
        same += ea.get("verdict") == eb.get("verdict")
        if ea.get("pugh_ratio") is not None and eb.get("pugh_ratio") is not None:
            d_max = max(d_max, abs(ea["pugh_ratio"] - eb["pugh_ratio"]))
    print(f"elastic verdicts equal: {same}/{len(a_rows)}; max |ΔB/G| = {d_max:.4f}")


if __name__ == "__main__":
    main()
