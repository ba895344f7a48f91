"""Cost per structure of ``dsei elastic``'s default (``elastic_many`` with every default) on stable compounds,
as a ratio to the same-run LiF anchor, for comparing two versions of dsei.

    # the previous code, extracted from git, and this checkout, alternately (one torch thread each):
    git archive b8ea3bb src | tar -x -C bench-out/prev_l3i5   # the last commit with SevenNet-l3i5 as the default
    OMP_NUM_THREADS=1 PYTHONPATH=bench-out/prev_l3i5/src python benchmarks/elastic_default_cost.py --label previous
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/elastic_default_cost.py --label current

Structures: the paper's six (LiF, Li2S, Li2O, acanthite Ag2S, rock-salt AgF, AgCl), which every version finds
positive definite, so the retries for unstable tensors cost nothing here by design and any difference is what
p_ductile adds. Each repeat computes all six in one batched call (the default path: relax, strains, relaxed ions,
calibration, verdict); the anchor (``anchor.lif_anchor_s``, always on SevenNet-l3i5 — a model both versions
have — so that it is the same computation whichever model is the default) is measured before and after. Prints
seconds per structure, the anchor and their ratio, and the verdicts.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from anchor import lif_anchor_s  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ANCHOR_MODEL = "sevennet-l3i5"
SIX = ("LiF", "Li2S", "Li2O", "Ag2S", "AgF", "AgCl")


def structures():
    from pymatgen.core import Structure

    from dsei.structures.library import get_library

    lib = get_library()
    out = []
    for f in SIX:
        if f == "Ag2S":
            out.append(Structure.from_file(ROOT / "tests" / "data" / "Ag2S_acanthite.cif"))
        else:
            out.append(lib.structure(lib.find(f).id))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--label", default="current")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    import dsei
    from dsei.mechanics import elastic_many
    from dsei.mechanics.elastic import DEFAULT_ELASTIC_MODEL
    from dsei.models import load_model

    m = load_model(DEFAULT_ELASTIC_MODEL)
    anchor_model = m if DEFAULT_ELASTIC_MODEL == ANCHOR_MODEL else load_model(ANCHOR_MODEL)
    structs = structures()
    elastic_many(structs[:1], m)  # warm-up (model, pymatgen tables)
    anchors = [lif_anchor_s(anchor_model)]
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        res = elastic_many(structs, m)
        times.append((time.perf_counter() - t) / len(structs))
    anchors.append(lif_anchor_s(anchor_model))
    a = sum(anchors) / len(anchors)
    t = min(times)
    print(f"{args.label} ({Path(dsei.__file__).parent}, default {DEFAULT_ELASTIC_MODEL}): {t:.2f} s/structure (min of {args.repeats}: "
          f"{', '.join(f'{x:.2f}' for x in times)}), anchor {a:.2f} s, ratio {t / a:.2f}")
    for f, r in zip(SIX, res, strict=True):
        print(f"  {f}: B/G {r.pugh_ratio:.2f} {r.verdict} p_ductile={getattr(r, 'p_ductile', None)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
