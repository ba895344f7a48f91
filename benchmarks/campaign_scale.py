"""A 1,000-structure campaign: the dev set's structures through validate → relax → elastic, resumably.

    OMP_NUM_THREADS=1 nice python benchmarks/campaign_scale.py [--n 1000] [--workers 1] [--out bench-out/campaign_scale]

Writes the dev set's structures (../shared/data/mp_binary_elasticity_dev.json.gz) as pymatgen JSON files into
``OUT/structures/`` and runs :func:`dsei.campaign.screen.screen` on that folder (mechanics only: stages
validate, relax, elastic; default model) with its store in ``OUT/``. Killed and started again, it resumes:
only the missing (candidate, stage) results are computed. Each invocation appends a line to
``OUT/runs.jsonl`` and prints:

- candidates computed in this invocation, wall time, throughput (candidates/h) and s per candidate;
- peak resident memory of this process (``ru_maxrss``; workers' peak too when ``--workers`` > 1);
- the anchor (one batched evaluation of 32 rock-salt LiF cells with the same model, same run) and the
  time per candidate as a ratio to it, so runs on busy or different machines can be compared.

With ``--accuracy`` it also scores the stored elastic results against the dev set's DFT K_VRH / G_VRH
(MAE over Born-stable results, Pugh-verdict agreement counting unstable results as misses) — the
full-dev-set figure of the mechanics benchmark, computed from the campaign's own store.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "mp_binary_elasticity_dev.json.gz"
PUGH = 1.75


def export(n: int, folder: Path) -> list[dict]:
    data = json.load(gzip.open(DEV))[:n]
    folder.mkdir(parents=True, exist_ok=True)
    for e in data:
        f = folder / f"{e['mp_id']}.json"
        if not f.exists():
            f.write_text(json.dumps(e["structure"]))
    return data


def anchor_s(model_name: str) -> float:
    from anchor import lif_anchor_s

    from dsei.models import load_model

    return lif_anchor_s(load_model(model_name))


def accuracy(out: Path, data: list[dict]) -> dict:
    """Score the store's elastic results against DFT (relaxed-ion, the campaign's default settings)."""
    from dsei.campaign.store import ResultStore

    ref = {e["mp_id"]: e for e in data}
    rows = {}
    with ResultStore(out / "results.sqlite") as store:
        for rec in store.records(stage="elastic"):
            rows[rec.candidate_id] = rec
    n = agree = unstable = failed = negative = 0
    ek, eg = [], []
    for mp_id, e in ref.items():
        rec = rows.get(mp_id)
        if rec is None:
            continue
        n += 1
        if rec.status != "ok":
            failed += 1
            continue
        r = rec.result
        dft_ductile = e["K_vrh"] / e["G_vrh"] >= PUGH
        if r["verdict"] == "unstable" or r["pugh_ratio"] is None:
            unstable += 1
            continue
        if r["K_vrh_GPa"] < 0 or r["G_vrh_GPa"] < 0:
            negative += 1
        ek.append(abs(r["K_vrh_GPa"] - e["K_vrh"]))
        eg.append(abs(r["G_vrh_GPa"] - e["G_vrh"]))
        agree += (r["pugh_ratio"] >= PUGH) == dft_ductile
    return {
        "compounds_scored": n,
        "failed": failed,
        "unstable": unstable,
        "negative_moduli_reported": negative,
        "MAE_K_GPa": sum(ek) / len(ek) if ek else None,
        "MAE_G_GPa": sum(eg) / len(eg) if eg else None,
        "pugh_agreement_pct": 100.0 * agree / n if n else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--model", default="sevennet")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "campaign_scale")
    ap.add_argument("--accuracy", action="store_true", help="also score the stored elastic results against DFT")
    ap.add_argument("--analyze-only", action="store_true", help="score the store without computing")
    args = ap.parse_args()
    if not DEV.exists():
        print(f"error: {DEV}: dev set not found (benchmarks read ../shared)", file=sys.stderr)
        return 2
    data = export(args.n, args.out / "structures")
    if args.analyze_only:
        print(json.dumps(accuracy(args.out, data), indent=1))
        return 0
    from dsei.campaign.screen import screen

    t_anchor = anchor_s(args.model)
    t0 = time.perf_counter()
    res = screen([str(args.out / "structures")], out_dir=args.out, model=args.model,
                 stages=["validate", "relax", "elastic"], workers=args.workers)
    wall = time.perf_counter() - t0
    computed = {s.stage: s.computed for s in res.run.stages}
    reused = {s.stage: s.reused for s in res.run.stages}
    n_new = computed.get("elastic", 0)
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    line = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "n": len(data), "workers": args.workers, "model": args.model,
        "computed": computed, "reused": reused, "failures": len(res.run.failures),
        "wall_s": round(wall, 1),
        "candidates_per_h": round(3600 * n_new / wall, 1) if n_new else None,
        "s_per_candidate": round(wall / n_new, 2) if n_new else None,
        "anchor_s": round(t_anchor, 3),
        "s_per_candidate_over_anchor": round(wall / n_new / t_anchor, 2) if n_new else None,
        "peak_rss_MiB": round(peak_self, 1), "peak_rss_workers_MiB": round(peak_children, 1),
        "rows": len(res.rows),
    }
    if args.accuracy:
        line["accuracy"] = accuracy(args.out, data)
    with (args.out / "runs.jsonl").open("a") as fh:
        fh.write(json.dumps(line) + "\n")
    print(json.dumps(line, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
