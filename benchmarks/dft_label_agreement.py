"""How well do two DFT data sets agree with each other? The ceiling for any model scored against one of them.

    python benchmarks/dft_label_agreement.py [--shared ../shared/data]

The 176 compounds (by ``mp_id``) that are in both ``mp_binary_elasticity_dev.json.gz`` (the Materials Project's
PBE elasticity data as collected in January 2025) and ``mp_elastic_tensors_dejong2015.json.gz`` (de Jong et al.,
Sci. Data 2, 150009 (2015): the same functional, the 2015 workflow) have two independent PBE values of K_VRH and
G_VRH. Their disagreement is the label noise under the elastic (issue 19) and surrogate (issue 21) targets: the
Pugh side (B/G ≥ 1.75, :data:`dsei.mechanics.descriptors.PUGH_THRESHOLD`), Spearman of B/G and the MAE of K and G
of one set against the other (all, and the SEI-like ones of benchmarks/elastic_accuracy.py), plus the
compounds whose side differs. Results: docs/benchmarks.md, "Targets".
Data: Materials Project, CC BY 4.0.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
from elastic_accuracy import is_sei_like  # benchmarks/ is on sys.path when this script runs
from scipy.stats import spearmanr

from dsei.mechanics.descriptors import PUGH_THRESHOLD


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = ap.parse_args()
    for name in ("mp_binary_elasticity_dev.json.gz", "mp_elastic_tensors_dejong2015.json.gz"):
        if not (args.shared / name).exists():
            raise SystemExit(f"error: {args.shared / name}: not found (--shared names the folder of ../shared/data)")
    with gzip.open(args.shared / "mp_binary_elasticity_dev.json.gz", "rt") as fh:
        dev = {d["mp_id"]: d for d in json.load(fh)}
    with gzip.open(args.shared / "mp_elastic_tensors_dejong2015.json.gz", "rt") as fh:
        pairs = [(dev[t["mp_id"]], t) for t in json.load(fh) if t["mp_id"] in dev]
    n_all = len(pairs)
    pairs = [(a, b) for a, b in pairs if a["G_vrh"] > 0 and b["G_vrh"] > 0]
    k1, g1, k2, g2 = (np.array([p[i][key] for p in pairs]) for i, key in ((0, "K_vrh"), (0, "G_vrh"), (1, "K_vrh"), (1, "G_vrh")))
    b1, b2 = k1 / g1, k2 / g2
    side = (b1 >= PUGH_THRESHOLD) == (b2 >= PUGH_THRESHOLD)
    sei = np.array([is_sei_like(a) for a, _ in pairs])
    print(f"{n_all} compounds in both sets, {len(pairs)} with G > 0 in both\n")
    print("| dev set (MP 2025) against the tensor set (de Jong 2015) | value |\n|---|---|")
    print(f"| Pugh side agrees | {100 * side.mean():.1f} % ({side.sum()} of {len(side)}) |")
    print(f"| Spearman B/G | {spearmanr(b1, b2).statistic:.3f} |")
    print(f"| MAE K / G (GPa) | {np.abs(k1 - k2).mean():.2f} / {np.abs(g1 - g2).mean():.2f} |")
    print(f"| median abs. difference K / G (GPa) | {np.median(np.abs(k1 - k2)):.2f} / {np.median(np.abs(g1 - g2)):.2f} |")
    print(f"| SEI-like ({sei.sum()}): Pugh side agrees | {side[sei].sum()} of {sei.sum()} |")
    print("\nSide differs:", ", ".join(f"{a['formula']} {x:.2f}/{y:.2f}"
                                       for (a, _), x, y, s in zip(pairs, b1, b2, side, strict=True) if not s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
