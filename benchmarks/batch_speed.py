"""Batched vs one-by-one evaluation throughput (energies, forces, stresses) for each model.

    python benchmarks/batch_speed.py [--models chgnet sevennet] [--n 8] [--repeat 3]

The anchor is the one-by-one ASE-calculator loop over the same structures in the same run; the script
prints structures/s for both paths and their ratio. Structures: n rattled, differently strained copies
of small cells (LiF 8-atom conventional, AgCl primitive, Li2S primitive), as in an elastic strain set.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def cells(n: int):
    from pymatgen.core import Lattice, Structure

    protos = [
        Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.03), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.55), ["Ag", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure(),
        Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.70), ["S", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]]).get_primitive_structure(),
    ]
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        s = protos[i % len(protos)].copy()
        s.apply_strain(rng.uniform(-0.01, 0.01, 3).tolist())
        s.perturb(0.02)
        out.append(s)
    return out


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["chgnet", "sevennet"])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import torch

    from dsei.models import load_model

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}")
    structs = cells(args.n)
    print(f"# {len(structs)} structures, {sum(len(s) for s in structs)} atoms in all")
    print(f"{'model':<12} {'one-by-one (structures/s)':>26} {'batched (structures/s)':>24} {'speed-up':>9}  max |dE| (eV/atom)")
    for name in args.models:
        m = load_model(name)
        m.evaluate(structs[:2])
        m.evaluate_one_by_one(structs[:2])  # warm-up
        t_one = best_time(lambda m=m: m.evaluate_one_by_one(structs), args.repeat)
        t_bat = best_time(lambda m=m: m.evaluate(structs), args.repeat)
        de = max(
            abs(a.energy_per_atom_eV - b.energy_per_atom_eV)
            for a, b in zip(m.evaluate(structs), m.evaluate_one_by_one(structs), strict=True)
        )
        print(f"{name:<12} {len(structs) / t_one:>26.2f} {len(structs) / t_bat:>24.2f} {t_one / t_bat:>8.2f}x  {de:.1e}")


if __name__ == "__main__":
    main()
