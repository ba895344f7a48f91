"""Cost of MLIP MD per ps per atom on one core, and one small real MD → Arrhenius result.

    OMP_NUM_THREADS=1 python benchmarks/md_cost.py [--models sevennet chgnet] [--steps 20]
    OMP_NUM_THREADS=1 python benchmarks/md_cost.py --models --result [--result-model chgnet] [--vacancies 1]
        [--temps 600 700 800] [--time-ps 2.5] [--equil-ps 0.2] [--json OUT.json]

Cost part: NVT (Bussi) MD of a Li3N 2×2×2 supercell with one Li vacancy (31 atoms) at 600 K. The anchor,
measured in the same run on the same cell, is one force call of the model's ASE calculator: the script
prints s per MD step, the step/force-call ratio (MD overhead), s per ps per atom (2 fs steps), and each model's
cost relative to the first model — ratios that survive the machine's load; absolute wall seconds do not, so the
process's own CPU seconds per ps per atom are printed too (one thread: CPU time ≈ wall time on an idle core).

Result part: :func:`dsei.transport.md.md_diffusion` on α-Li3N 2×2×1 with ``--vacancies`` Li vacancies (1: 15
atoms, Li11N4) at the given temperatures, and the Arrhenius Ea ± σ and extrapolated conductivities; ``--json`` writes the result.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def li3n_cell(supercell, vacancies: int = 1):
    from dsei.api import prepare
    from dsei.transport.md import build_cell

    return build_cell(prepare("Li3N"), "Li", 8.0, supercell, vacancies, 0, "Li3N")[0]


def cost(model_name: str, steps: int, repeat: int) -> tuple[float, float, float, int]:
    """(wall s per MD step, wall s per force call, CPU s per MD step, atoms) on the 31-atom cell, best of ``repeat``."""
    from ase import units
    from ase.md.bussi import Bussi
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from pymatgen.io.ase import AseAtomsAdaptor

    from dsei.models import load_model

    atoms = AseAtomsAdaptor.get_atoms(li3n_cell([2, 2, 2]))
    atoms.calc = load_model(model_name).calculator()
    rng = np.random.default_rng(0)
    MaxwellBoltzmannDistribution(atoms, temperature_K=600, rng=rng)
    dyn = Bussi(atoms, 2 * units.fs, 600, 100 * units.fs, rng=rng)
    dyn.run(3)  # warm-up
    t_md, t_force, cpu_md = [], [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        dyn.run(steps)
        t_md.append((time.perf_counter() - t) / steps)
        cpu_md.append((time.process_time() - c) / steps)
        probe = atoms.copy()
        probe.calc = atoms.calc
        t = time.perf_counter()
        for i in range(steps // 2 or 1):
            probe.positions[0, 0] += 1e-4 * (i + 1)  # new positions: no cached result
            probe.get_forces()
        t_force.append((time.perf_counter() - t) / (steps // 2 or 1))
    return min(t_md), min(t_force), min(cpu_md), len(atoms)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=["sevennet", "chgnet"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--result", action="store_true", help="also run the Li3N MD → Arrhenius result")
    ap.add_argument("--result-model", default="chgnet")
    ap.add_argument("--temps", nargs="+", type=float, default=[600.0, 700.0, 800.0])
    ap.add_argument("--time-ps", type=float, default=2.5)
    ap.add_argument("--equil-ps", type=float, default=0.2)
    ap.add_argument("--vacancies", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}")
    if args.models:
        print(f"# cost: Li3N 2x2x2 - 1 Li (31 atoms), Bussi NVT 600 K, 2 fs, {args.steps} steps, best of {args.repeat}")
        print(
            f"{'model':<10} {'s/step':>8} {'s/force call (anchor)':>22} {'step/call':>9} {'s/ps/atom (wall)':>17} "
            f"{'CPU s/ps/atom':>14} {'vs first':>9}"
        )
        first = None
        for name in args.models:
            step, call, cpu, nat = cost(name, args.steps, args.repeat)
            per_ps_atom = step * 500 / nat
            first = first or per_ps_atom
            print(
                f"{name:<10} {step:>8.3f} {call:>22.3f} {step / call:>9.2f} {per_ps_atom:>17.2f} {cpu * 500 / nat:>14.2f} "
                f"{per_ps_atom / first:>8.2f}x"
            )
    if args.result:
        from dsei.api import prepare
        from dsei.results import write_json
        from dsei.transport.md import md_diffusion

        t = time.perf_counter()
        r = md_diffusion(
            prepare("Li3N"),
            model=args.result_model,
            temperatures_K=args.temps,
            time_ps=args.time_ps,
            equilibration_ps=args.equil_ps,
            supercell=[2, 2, 1],
            vacancies=args.vacancies,
            sample_fs=4.0,
        )
        wall = time.perf_counter() - t
        print(
            f"# result: {r.cell_formula} ({r.n_atoms} atoms), {r.model}, {args.equil_ps} ps equilibration + "
            f"{r.time_ps} ps production per T, 2 fs, Bussi 100 fs; {wall:.0f} s wall"
        )
        print(f"{'T (K)':>6} {'<T> (K)':>8} {'D (cm2/s)':>10} {'+-':>9} {'hops':>6} {'fw MSD (A2)':>11}  status")
        for row in r.temperatures:
            d = row.diffusivity_cm2_per_s
            e = row.diffusivity_err_cm2_per_s
            print(
                f"{row.temperature_K:>6.0f} {row.mean_temperature_K or float('nan'):>8.0f} {d or float('nan'):>10.2e} "
                f"{e or float('nan'):>9.1e} {row.effective_hops or float('nan'):>6.1f} {row.framework_msd_A2 or float('nan'):>11.2f}  "
                f"{row.status}{' (' + row.reason + ')' if row.reason else ''}"
            )
        if r.activation_energy_eV is not None:
            print(f"Ea = {r.activation_energy_eV:.3f} +- {r.activation_energy_err_eV:.3f} eV, D0 = {r.prefactor_D0_cm2_per_s:.2e} cm2/s")
            for x in r.extrapolated:
                print(
                    f"sigma({x.temperature_K:.2f} K) = {x.conductivity_S_per_cm:.2e} S/cm "
                    f"(1 sigma {x.conductivity_low_S_per_cm:.1e} .. {x.conductivity_high_S_per_cm:.1e})"
                )
        for w in r.warnings:
            print(f"# warning: {w}")
        print(f"# cost {r.cost_s_per_ps_per_atom:.1f} s per ps per atom (this run, this load)")
        if args.json:
            write_json(r, args.json)


if __name__ == "__main__":
    main()
