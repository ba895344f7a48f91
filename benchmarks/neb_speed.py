"""NEB per hop: "what a user does today" (matcalc NEBCalc) vs dsei ``neb`` on the same model, cell and end points.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/neb_speed.py [--model sevennet] [--systems Li2O Li2S LiF]
        [--only dsei|matcalc] [--reps N] [--cache bench-out/neb_cache.json]

Cells: the library ground state (``dsei.api.prepare``) relaxed with the model (``dsei.relax.relax``, cell and
positions, fmax 0.01), its primitive cell repeated 4x4x4 (LiF, 128 atoms) or 3x3x3 (Li2O, Li2S: 81 atoms),
then one nearest-neighbour Li vacancy hop: start = Li j removed, end = Li i moved onto site j
(:func:`dsei.transport.endpoints.vacancy_endpoints`; 127 / 80 atoms). Both sides get these same unrelaxed end
points and relax them themselves (timed):

- baseline: matcalc 0.7 ``NEBCalc(calculator, optimizer="BFGS", fmax=0.05, climb=True, max_steps=300)``:
  ``calc_endpoints`` (matcalc ``RelaxCalc``, BFGS, fmax 0.05, fixed cell) then ``calc_images(n_images=5)``
  (pymatgen linear interpolation, ASE NEB with one shared ASE calculator);
- dsei: ``neb(start, end, model, n_images=5, fmax=0.05)`` (end points batched-relaxed to 0.02, IDPP, batched
  image evaluation, the default optimiser).

Anchor: one ``model.evaluate`` of the 128-atom LiF supercell, timed right before each case (min of 2), so that
times taken under different machine load can be compared (``t/anchor``). Every case is cached in the JSON file
(resumable: cached cases are not re-run); a markdown table is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / "bench-out" / "neb_cache.json"
#: primitive-cell repetition per system: images of the moving ion >= 9 Å apart
REPS = {"LiF": 4, "Li2O": 3, "Li2S": 3, "Li3N": 3}
#: ``--reps N`` (quick runs on smaller cells): every system repeated NxNxN, cache keys tagged ``|xN``
TAG = ""


def load_cache(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_cache(path: Path, cache: dict) -> None:
    """Merge ``cache`` into the file (two benchmark scripts may share one cache) and write it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    on_disk = load_cache(path)
    on_disk.update(cache)
    cache.update(on_disk)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(on_disk, indent=1))
    tmp.replace(path)


def relaxed_primitive(formula: str, model, cache: dict, cache_path: Path):
    """Library ground state relaxed with the model (cached), as its primitive cell."""
    from pymatgen.core import Structure

    key = f"relaxed|{model.name}|{formula}"
    if key not in cache:
        from dsei.api import prepare
        from dsei.relax import relax

        t = time.perf_counter()
        r = relax(prepare(formula), model, fmax=0.01)
        prim = r.structure.get_primitive_structure()
        cache[key] = {"structure": prim.as_dict(), "relax_s": time.perf_counter() - t, "converged": r.result.converged,
                      "spacegroup": r.result.spacegroup_after, "abc_A": r.result.lattice_abc_A}
        save_cache(cache_path, cache)
    return Structure.from_dict(cache[key]["structure"])


def hop_sites(sc, formula: str) -> tuple[int, int]:
    """Indices (i, j) of a nearest-neighbour Li–Li pair in the supercell (Li3N: in-plane Li(2)–Li(2))."""
    li = [k for k, s in enumerate(sc) if s.specie.symbol == "Li"]
    if formula == "Li3N":
        # α-Li3N (P6/mmm): Li(2) lies in the Li2N plane, i.e. at the same height as N
        z_n = {round(float(s.frac_coords[2]) % 1.0, 3) for s in sc if s.specie.symbol == "N"}
        li = [k for k in li if round(float(sc[k].frac_coords[2]) % 1.0, 3) in z_n]
    i = li[0]
    d = sc.lattice.get_all_distances(sc.frac_coords[[i]], sc.frac_coords[li])[0]
    d[0] = np.inf
    return i, li[int(np.argmin(d))]


def _min_image_A(lattice) -> float:
    m = lattice.matrix
    best = np.inf
    for n in np.array(np.meshgrid(*[range(-1, 2)] * 3)).T.reshape(-1, 3):
        if np.any(n):
            best = min(best, float(np.linalg.norm(n @ m)))
    return best


def build(formula: str, model, cache: dict, cache_path: Path, compensate: str | None = None):
    from dsei.transport.endpoints import vacancy_endpoints

    prim = relaxed_primitive(formula, model, cache, cache_path)
    sc = prim.copy()
    sc.make_supercell(int(TAG[2:]) if TAG else REPS[formula])
    i, j = hop_sites(sc, formula)
    start, end, info = vacancy_endpoints(sc, sc.frac_coords[i], sc.frac_coords[j], "Li", compensate=compensate)
    info["min_image_A"] = _min_image_A(sc.lattice)
    return start, end, info


def anchor_s(model, cache: dict, cache_path: Path) -> float:
    """min of 3 timings of one batched evaluation of the 128-atom LiF supercell."""
    prim = relaxed_primitive("LiF", model, cache, cache_path)
    sc = prim.copy()
    sc.make_supercell(4)
    times = []
    for _ in range(2):
        t = time.perf_counter()
        model.evaluate([sc])
        times.append(time.perf_counter() - t)
    return min(times)


def run_dsei(formula: str, model, cache: dict, cache_path: Path, compensate: str | None = None) -> dict:
    from dsei.transport.neb import neb

    key = f"dsei|{model.name}|{formula}|{compensate or 'neutral'}{TAG}"
    cache.update(load_cache(cache_path))
    if key in cache:
        return cache[key]
    start, end, info = build(formula, model, cache, cache_path, compensate)
    anchor = anchor_s(model, cache, cache_path)
    print(f"# {key}: {len(start)} atoms, hop {info['hop_distance_A']:.3f} Å, anchor {anchor:.2f} s", flush=True)
    r = neb(start, end, model, n_images=5, fmax=0.05)
    rec = {"tool": "dsei", "formula": formula, "setting": compensate or "neutral", "n_atoms": len(start),
           "anchor_s": anchor, "time_s": r.elapsed_s, "endpoint_relax_s": r.endpoint_relax_s,
           "barrier_eV": r.barrier_eV, "reverse_barrier_eV": r.reverse_barrier_eV, "converged": r.converged,
           "steps": r.steps, "force_calls": r.force_calls, "max_force_eV_per_A": r.max_force_eV_per_A,
           "optimizer": "+".join(r.optimizers_used), "profile_eV": r.profile_eV, "endpoint_steps": r.endpoint_steps,
           "error": r.error, "info": info,
           "structure_evaluations": 5 * r.force_calls + sum(r.endpoint_steps) + 2}
    cache[key] = rec
    save_cache(cache_path, cache)
    print(json.dumps({k: v for k, v in rec.items() if k not in ("info", "profile_eV")}), flush=True)
    return rec


def run_matcalc(formula: str, model, cache: dict, cache_path: Path) -> dict:
    from matcalc import NEBCalc
    from pymatgen.io.ase import AseAtomsAdaptor

    key = f"matcalc|{model.name}|{formula}|neutral{TAG}"
    cache.update(load_cache(cache_path))
    if key in cache:
        return cache[key]
    start, end, info = build(formula, model, cache, cache_path)
    anchor = anchor_s(model, cache, cache_path)
    print(f"# {key}: {len(start)} atoms, anchor {anchor:.2f} s", flush=True)
    calc = model.calculator()
    n_calls = [0]
    orig = calc.calculate

    def counted(*a, **k):  # counts the structures the model is run on
        n_calls[0] += 1
        return orig(*a, **k)

    calc.calculate = counted
    t0 = time.perf_counter()
    nc = NEBCalc(calc, optimizer="BFGS", fmax=0.05, climb=True, max_steps=300)
    r0, r1 = nc.calc_endpoints(start, end)
    t_ep = time.perf_counter() - t0
    s0, s1 = r0["final_structure"], r1["final_structure"]
    s0 = s0 if not hasattr(s0, "get_positions") else AseAtomsAdaptor.get_structure(s0)
    s1 = s1 if not hasattr(s1, "get_positions") else AseAtomsAdaptor.get_structure(s1)
    res = nc.calc_images(s0, s1, n_images=5)
    elapsed = time.perf_counter() - t0
    energies = np.array(res["mep"].energies, dtype=float)
    forces = np.asarray(res["forces"], dtype=float).reshape(-1, 3)
    rec = {"tool": "matcalc", "formula": formula, "setting": "neutral", "n_atoms": len(start), "anchor_s": anchor,
           "time_s": elapsed, "endpoint_relax_s": t_ep, "barrier_eV": float(res["barrier"]),
           "barrier_max_image_eV": float(energies.max() - energies[0]),
           "converged": bool(res.get("converged", False)), "structure_evaluations": n_calls[0],
           "max_force_eV_per_A": float(np.sqrt((forces**2).sum(axis=1)).max()),
           "profile_eV": (energies - energies[0]).tolist(), "info": info}
    cache[key] = rec
    save_cache(cache_path, cache)
    print(json.dumps({k: v for k, v in rec.items() if k not in ("info", "profile_eV")}), flush=True)
    return rec


def fmt(x, nd=3):
    return "—" if x is None else f"{x:.{nd}f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="sevennet")
    ap.add_argument("--systems", nargs="+", default=["Li2O", "Li2S", "LiF"])
    ap.add_argument("--only", choices=["dsei", "matcalc"], default=None)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--table", action="store_true", help="only print the table of cached results")
    ap.add_argument("--reps", type=int, default=None, help="repeat every primitive cell NxNxN instead (quick runs)")
    args = ap.parse_args()
    global TAG
    TAG = f"|x{args.reps}" if args.reps else ""
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from dsei.models import load_model

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}")
    cache = load_cache(args.cache)
    model = load_model(args.model)
    if not args.table:
        for f in args.systems:
            if args.only in (None, "dsei"):
                run_dsei(f, model, cache, args.cache)
            if args.only in (None, "matcalc"):
                run_matcalc(f, model, cache, args.cache)
    print(f"\n| system ({args.model}) | atoms | tool | time/hop (s) | t/anchor | anchor (s) | barrier (eV) | converged | structures evaluated | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for f in args.systems:
        d = cache.get(f"dsei|{model.name}|{f}|neutral{TAG}")
        m = cache.get(f"matcalc|{model.name}|{f}|neutral{TAG}")
        ratio = None
        if d and m:
            ratio = (m["time_s"] / m["anchor_s"]) / (d["time_s"] / d["anchor_s"])
        for rec in (m, d):
            if rec is None:
                continue
            calls = rec.get("structure_evaluations", "—")
            sp = fmt(ratio, 2) + "×" if (rec is d and ratio) else ""
            print(f"| {f} | {rec['n_atoms']} | {rec['tool']} | {rec['time_s']:.0f} | {rec['time_s'] / rec['anchor_s']:.0f} | "
                  f"{rec['anchor_s']:.2f} | {fmt(rec['barrier_eV'])} | {rec['converged']} | {calls} | {sp} |")


if __name__ == "__main__":
    main()
