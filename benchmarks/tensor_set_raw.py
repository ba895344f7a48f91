"""Raw elastic tensors of the tensor-set compounds that are not in the dev set (resumable cache).

    OMP_NUM_THREADS=1 nice python benchmarks/tensor_set_raw.py [--shard 0 --shards 2] [--max-sites 12] [--model M]

The same pipeline and cache format as ``benchmarks/elastic_accuracy.py`` (``run_model``), on the 949 compounds of
``../shared/data/mp_elastic_tensors_dejong2015.json.gz`` with ``in_dev_set`` false, smallest cells first. Shards
write ``bench-out/tensor_set_raw/shard<k>/``; the compounds done so far are merged into
``bench-out/tensor_set_raw/raw_<model>.jsonl`` (read by ``benchmarks/elastic_calibration_variants.py``). ``--model``:
any name of ``dsei models`` (default SevenNet-l3i5, whose cache the variants table in docs/mechanics.md used).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from elastic_accuracy import ROOT, TENSOR_SET, load_tensor_set, run_model  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shard", type=int, default=0)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--max-sites", type=int, default=0, help="only cells with at most this many sites (0: all)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "tensor_set_raw")
    ap.add_argument("--model", default="sevennet-l3i5")
    ap.add_argument("--merge-only", action="store_true")
    args = ap.parse_args()
    if not TENSOR_SET.exists():
        sys.exit(f"error: {TENSOR_SET}: not found (the shared data folder must sit beside the repository)")
    if not args.merge_only:
        import torch

        torch.set_num_threads(1)
        entries = load_tensor_set(args.max_sites)
        entries = sorted(entries, key=lambda e: (e["nsites"], e["mp_id"]))[args.shard :: args.shards]
        shard = args.out / f"shard{args.shard}"
        shard.mkdir(parents=True, exist_ok=True)
        run_model(args.model, entries, shard, chunk=8)
    name = f"raw_{args.model}.jsonl"
    lines = [line for p in sorted(args.out.glob(f"shard*/{name}")) for line in p.read_text().splitlines() if line.strip()]
    (args.out / name).write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} compounds in {args.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
