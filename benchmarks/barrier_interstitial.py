"""Interstitial Li barriers end to end (no manual input): Ag2S (ground-state polymorph), AgF, and LiF for comparison.

    OMP_NUM_THREADS=1 nice python benchmarks/barrier_interstitial.py [--min-image 9] [--model sevennet] [--only Ag2S]

Each case is ``dsei.barrier(<library ground state>, ion="Li", mechanism="interstitial", method="neb")``:
MLIP-relaxed interstitial sites, symmetry-distinct hops, CI-NEB per hop, percolation. The JSON of every case is
cached in ``--out`` (resumable; delete a file to recompute it). Prints one markdown table: the headline
barrier and its dimension, and every computed hop (which hop, length, barrier, converged, time), with an
anchor timing (one batched evaluation of 32 rock-salt LiF cells, same model, same run).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
from anchor import lif_anchor_s  # noqa: E402 - benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
CASES = ("Ag2S", "AgF", "LiF")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-image", type=float, default=9.0, help="periodic images of the moving ion at least this far apart (Å)")
    ap.add_argument("--model", default="sevennet")
    ap.add_argument("--only", nargs="*", default=list(CASES))
    ap.add_argument("--max-hops", type=int, default=8)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "barrier_interstitial")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from dsei.api import prepare
    from dsei.models import load_model
    from dsei.transport import barrier

    m = load_model(args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    t_anchor = lif_anchor_s(m)
    print(f"anchor (32 LiF cells, one batched evaluation): {t_anchor:.3f} s", flush=True)
    rows = []
    for formula in args.only:
        f = args.out / f"{formula}_{args.model}_{args.min_image:g}A.json"
        if f.exists():
            d = json.loads(f.read_text())
        else:
            t0 = time.perf_counter()
            r = barrier(prepare(formula), ion="Li", mechanism="interstitial", method="neb", model=m,
                        min_image_A=args.min_image, max_hops=args.max_hops)
            d = r.to_json_dict()
            d["wall_s"] = time.perf_counter() - t0
            d["anchor_s"] = t_anchor
            f.write_text(json.dumps(d, indent=1))
        rows.append(d)
        print(f"{formula}: {d['barrier_eV']} eV ({d['dimension']}), {d['wall_s']:.0f} s", flush=True)
    print()
    print("| host | supercell atoms | sites (rel. eV) | headline barrier (eV) | dimension | hop | length (Å) | barrier (eV) | saddle (eV) | converged | time/hop (s) | time/hop / anchor |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for d in rows:
        sites = ", ".join(f"{s['label']} {s['energy_eV']:.2f}" for s in d["sites"])
        head = "—" if d["barrier_eV"] is None else f"{d['barrier_eV']:.3f}"
        for k, h in enumerate(d["hops"]):
            if h["status"] == "not_computed":
                continue
            first = k == 0
            b = "failed: " + (h.get("error") or "")[:60] if h["status"] == "failed" else f"{h['barrier_eV']:.3f}"
            sad = "—" if h.get("saddle_eV") is None else f"{h['saddle_eV']:.3f}"
            t = h.get("elapsed_s") or 0.0
            print(
                f"| {d['formula'] if first else ''} | {d['supercell_atoms'] if first else ''} | {sites if first else ''} | "
                f"{head if first else ''} | {(d['dimension'] or '—') if first else ''} | {h['label']} | {h['distance_A']:.2f} | {b} | {sad} | "
                f"{h.get('converged')} | {t:.0f} | {t / d['anchor_s']:.0f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
