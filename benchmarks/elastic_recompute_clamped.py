"""Recompute the cached raw tensors that the relaxed-ion ladder changes, in place (minutes, not the hour of a full run).

    OMP_NUM_THREADS=1 python benchmarks/elastic_recompute_clamped.py --set dev --cache bench-out/dev_full --model sevennet-l3i5-elastic
    OMP_NUM_THREADS=1 python benchmarks/elastic_recompute_clamped.py --set dev --cache bench-out/dev_full --model chgnet
    OMP_NUM_THREADS=1 python benchmarks/elastic_recompute_clamped.py --set tensor --cache bench-out/tensor_set_raw --model sevennet-l3i5-elastic

Before ``dsei.mechanics.ions.CLAMP_LADDER_EV_A2``, a structure whose fully relaxed-ion tensor was not physical got
its clamped-ion tensor (docs/mechanics.md, "Relaxed ions"); now its softest internal modes stay clamped and the
rest relax. Only those structures change: the cache entries whose ``C_GPa`` equals ``C_clamped_GPa`` although
symmetry lets some ion of the (DFT) structure move (``ions.ions_clamped_by_symmetry`` false). Every other entry went
through the same code path before and after. This recomputes exactly those (``elastic_accuracy.run_model``, same
options) and writes the cache back with them replaced; the previous file is kept beside it as
``raw_<model>.pre_ladder.jsonl``. ``--set``: ``dev`` (the 1,000 dev compounds) or ``tensor`` (the tensor set's
compounds outside the dev set, ≤ ``--max-sites``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from elastic_accuracy import load_dev, load_raw, load_tensor_set, run_model  # noqa: E402


def stale(entries: list[dict], raw: dict[str, dict]) -> list[dict]:
    """The entries whose cached tensor is clamped-ion although symmetry lets an ion move."""
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    from dsei.mechanics.ions import ions_clamped_by_symmetry

    out = []
    for e in entries:
        r = raw.get(e["mp_id"])
        if not r or "C_clamped_GPa" not in r or not np.allclose(r["C_GPa"], r["C_clamped_GPa"], atol=1e-6):
            continue
        if not ions_clamped_by_symmetry(AseAtomsAdaptor.get_atoms(Structure.from_dict(e["structure"]))):
            out.append(e)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=("dev", "tensor"), required=True)
    ap.add_argument("--cache", type=Path, required=True, help="folder holding raw_<model>.jsonl")
    ap.add_argument("--model", required=True)
    ap.add_argument("--max-sites", type=int, default=32, help="--set tensor: cells of at most this many sites")
    args = ap.parse_args()
    path = args.cache / f"raw_{args.model}.jsonl"
    if not path.exists():
        sys.exit(f"error: {path}: not found")
    if args.set == "dev":
        entries = load_dev(1)
    else:
        entries = load_tensor_set(args.max_sites)
    raw = load_raw(args.cache, args.model)
    todo = stale(entries, raw)
    print(f"{path}: {len(todo)} of {len(raw)} cached tensors to recompute", flush=True)
    if not todo:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        run_model(args.model, todo, Path(tmp), chunk=4)
        new = load_raw(Path(tmp), args.model)
    shutil.copy(path, path.with_name(f"raw_{args.model}.pre_ladder.jsonl"))
    with path.open("w") as fh:
        for k, r in raw.items():
            fh.write(json.dumps(new.get(k, r)) + "\n")
    print(f"wrote {path} ({len(new)} replaced)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
