"""What the retries before ``unstable`` (dsei.mechanics.elastic.RETRIES) rescue, on dev compounds the default model
finds unstable.

    OMP_NUM_THREADS=1 nice python benchmarks/elastic_retries.py --limit 14

Takes the compounds whose cached raw tensor (``elastic_accuracy.py``'s cache, ``--out``) from the default model is
not positive definite (every dev compound is stable in DFT), in cache order, at most ``--limit``, and runs dsei's
default ``elastic_many`` on them (all together, retries on). Prints, per compound, the attempt that gave a
positive-definite tensor (or none), the model, the B/G reported against DFT's, and the time per structure.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import elastic_accuracy as EA  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=EA.ROOT / "bench-out" / "elastic_accuracy")
    ap.add_argument("--limit", type=int, default=20)
    args = ap.parse_args()
    print("command: python " + " ".join(sys.argv), flush=True)
    import torch
    from pymatgen.core import Structure

    from dsei.mechanics import elastic_many
    from dsei.mechanics.elastic import DEFAULT_ELASTIC_MODEL

    torch.set_num_threads(1)
    dev = {e["mp_id"]: e for e in EA.load_dev(1)}
    raw = EA.load_raw(args.out, DEFAULT_ELASTIC_MODEL)
    ids = [i for i, r in raw.items() if "C_GPa" in r and np.linalg.eigvalsh(np.array(r["C_GPa"])).min() <= 0][: args.limit]
    t = time.perf_counter()
    res = elastic_many([Structure.from_dict(dev[i]["structure"]) for i in ids])
    dt = time.perf_counter() - t
    print(f"{len(ids)} unstable compounds, {dt:.0f} s ({dt / max(1, len(ids)):.1f} s per structure, retries included)")
    print("| compound | mp-id | rescued by | model | B/G | DFT B/G | same side |")
    print("|---|---|---|---|---|---|---|")
    for i, r in zip(ids, res, strict=True):
        e = dev[i]
        ref = e["K_vrh"] / e["G_vrh"]
        ok = next((a for a in r.retries if a["born_stable"]), None)
        side = "—" if r.pugh_ratio is None else ("yes" if (r.pugh_ratio >= EA.THRESH) == (ref >= EA.THRESH) else "no")
        bg = "—" if r.pugh_ratio is None else f"{r.pugh_ratio:.2f}"
        print(f"| {e['formula']} | {i} | {ok['attempt'] if ok else 'none (unstable)'} | {r.model} | {bg} | {ref:.2f} | {side} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
