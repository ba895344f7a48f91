"""Li vacancy migration barriers from dsei ``neb`` against published DFT (nearest-neighbour vacancy hops).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/barrier_literature.py [--model sevennet]
        [--systems LiF Li2O Li2S Li3N] [--settings schottky neutral] [--cache bench-out/neb_cache.json]

Cells as in ``benchmarks/neb_speed.py`` (library ground state relaxed with the model, primitive cell repeated
so that images of the moving ion are >= 9 Å apart: LiF 4x4x4 = 128 sites, Li2O/Li2S 3x3x3 = 81, α-Li3N 3x3x3 =
108); each hop is run twice: ``neutral`` (one Li atom removed: the cell keeps an electron hole, as in Chen et
al.'s neutral DFT cells) and ``schottky`` (the removed set made charge neutral:
+F for LiF, +O+Li for Li2O/Li2S, +N+2Li for Li3N, far from the hop; :func:`dsei.transport.endpoints.vacancy_endpoints`).
NEB: ``dsei.transport.neb.neb`` defaults (5 images, climbing image, fmax 0.05 eV/Å, IDPP). The neutral cases
share the cache entries of ``neb_speed.py``. Resumable; prints a markdown table.

DFT references (PBE/GGA NEB, vacancy mechanism):
- LiF 0.729 eV, Li2O 0.152 eV: Y. C. Chen, C. Y. Ouyang, L. J. Song, Z. L. Sun, J. Phys. Chem. C 115, 7044 (2011).
- Li2S 0.27 eV for the negatively charged vacancy V⁻Li (charge-compensated by a background, i.e. no hole):
  A. Moradabadi, P. Kaghazchi, "Thermodynamics and kinetics of defects in Li2S", Appl. Phys. Lett. 108,
  213906 (2016).
- α-Li3N in-plane Li(2)–Li(2) vacancy hop ≈ 0.004 eV: J. Sarnthein, K. Schwarz, P. E. Blöchl, Phys. Rev. B 53,
  9084 (1996).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from neb_speed import DEFAULT_CACHE, load_cache, run_dsei  # noqa: E402

LITERATURE_eV = {
    "LiF": (0.729, "Chen et al., JPCC 115, 7044 (2011)"),
    "Li2O": (0.152, "Chen et al., JPCC 115, 7044 (2011)"),
    "Li2S": (0.27, "Moradabadi & Kaghazchi, APL 108, 213906 (2016)"),
    "Li3N": (0.004, "Sarnthein et al., PRB 53, 9084 (1996)"),
}
TOLERANCE_eV = 0.15


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="sevennet")
    ap.add_argument("--systems", nargs="+", default=["Li2O", "Li2S", "LiF", "Li3N"])
    ap.add_argument("--settings", nargs="+", default=["schottky", "neutral"], choices=["schottky", "neutral"])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--table", action="store_true", help="only print the table of cached results")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from dsei.models import load_model

    model = load_model(args.model)
    cache = load_cache(args.cache)
    if not args.table:
        for setting in args.settings:
            for f in args.systems:
                run_dsei(f, model, cache, args.cache, None if setting == "neutral" else "schottky")
    cache = load_cache(args.cache)

    def cell(rec, key):
        return "—" if rec is None or rec.get(key) is None else f"{rec[key]:.3f}"

    print(f"\n| system | DFT (eV) | dsei neutral (eV) | dsei Schottky (eV) | closer to DFT | within ±{TOLERANCE_eV} | "
          "time/hop neutral, Schottky (s) | t/anchor | converged | atoms (neutral, Schottky) | source |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for f in args.systems:
        ref, src = LITERATURE_eV[f]
        n = cache.get(f"dsei|{model.name}|{f}|neutral")
        s = cache.get(f"dsei|{model.name}|{f}|schottky")
        errs = {k: abs(r["barrier_eV"] - ref) for k, r in (("neutral", n), ("Schottky", s)) if r and r.get("barrier_eV") is not None}
        closer = min(errs, key=errs.get) if len(errs) == 2 else "—"
        within = ", ".join(f"{k}: {'yes' if e <= TOLERANCE_eV else 'no'}" for k, e in errs.items()) or "—"
        times = ", ".join(f"{r['time_s']:.0f}" if r else "—" for r in (n, s))
        rel = ", ".join(f"{r['time_s'] / r['anchor_s']:.0f}" if r else "—" for r in (n, s))
        conv = ", ".join(str(r["converged"]) if r else "—" for r in (n, s))
        atoms = ", ".join(str(r["n_atoms"]) if r else "—" for r in (n, s))
        print(f"| {f} | {ref:.3f} | {cell(n, 'barrier_eV')} | {cell(s, 'barrier_eV')} | {closer} | {within} | {times} | {rel} | "
              f"{conv} | {atoms} | {src} |")


if __name__ == "__main__":
    main()
