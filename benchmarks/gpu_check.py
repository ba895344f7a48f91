"""GPU check: the same models and pipeline on CUDA and on the CPU of the same machine, in one run.

dsei picks CUDA whenever a GPU is visible (``device="auto"``), so a user on a GPU node gets numbers from a
path that CI (CPU only) never runs. This script answers, on a machine with a GPU:

1. **agreement** — energies, forces and stresses of every shipped model on CUDA vs CPU (same weights, same
   rattled library cells): max |ΔE| (meV/atom), |ΔF| (meV/Å), |Δσ| (GPa);
2. **paper six** — the default elastic pipeline (SevenNet-l3i5 + calibration + CHGNet fallback) on LiF,
   Li2S, Li2O, Ag2S, AgF, AgCl on CUDA and on the CPU: B/G, verdict, max |ΔC_ij|;
3. **dev set** — ``elastic_tensors`` with the default model on dev compounds: a fixed subset on both
   devices (time ratio on identical work), then as many more on CUDA as the time box allows, each compared
   with the CPU tensors cached by ``benchmarks/elastic_accuracy.py`` (same model, another machine): Pugh
   side and verdict agreement, |ΔK|, |ΔG|; the CUDA tensors go to ``OUT/raw_<model>.jsonl`` (the cache format of
   ``elastic_accuracy.py``, which ``--analyze-only --out OUT`` reads);
4. **batch size** — atoms/s of one batched ``Model.evaluate`` vs ``max_atoms_per_batch`` on CUDA (the
   choice of ``dsei.models.base.GPU_ATOMS_PER_BATCH``), against the CPU's default batch in the same run;
5. **screen** (``--parts screen``, not in the default set: not yet run on a GPU) — ``dsei screen`` on the
   built-in library with the default job chunks and with GPU-sized ones (``[elastic] chunk = 100``,
   ``[relax] chunk = 8``, the setting docs/campaign.md suggests for a GPU), same verdicts?

Timings are ratios within this run (the CPU anchor is the same machine's CPU, all its cores).

    python benchmarks/gpu_check.py --out OUT [--dev DEV.json.gz --cpu-cache raw_sevennet-l3i5.jsonl(.gz)]

Results: docs/benchmarks.md, "Models on a GPU".
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np
from ase import units

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MODELS = ["sevennet", "sevennet-l3i5", "sevennet-mf-r2scan", "chgnet"]
PAPER_SIX = ["LiF", "Li2S", "Li2O", "Ag2S", "AgF", "AgCl"]
BATCH_ATOMS = [250, 500, 1000, 2000, 4000, 8000, 16000]
#: The device under test (``--gpu``; ``cpu`` only to dry-run this script on a machine without one).
GPU = "cuda"
WORK_ATOMS = 32000


def _sync() -> None:
    import torch

    if GPU.startswith("cuda"):
        torch.cuda.synchronize()


def _open(p: Path):
    return gzip.open(p, "rt") if p.suffix == ".gz" else p.open()


def _save(out: Path, results: dict) -> None:
    (out / "gpu_check.json").write_text(json.dumps(results, indent=1, default=str))


def env_info() -> dict:
    import torch

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
    for pkg in ("sevenn", "chgnet", "e3nn", "torch_geometric", "pymatgen", "ase", "numpy"):
        try:
            from importlib.metadata import version

            info[pkg] = version(pkg.replace("_", "-"))
        except Exception:  # noqa: BLE001
            info[pkg] = "?"
    return info


def rattled_library(n: int, max_sites: int = 16, seed: int = 0):
    """The first ``n`` library ground states with ≤ max_sites sites, each rattled by 0.05 Å (nonzero forces)."""
    from pymatgen.core import Structure

    from dsei.structures.library import get_library

    lib = get_library()
    rng = np.random.default_rng(seed)
    out = []
    for e in lib.ground_states():
        s = lib.structure(e.id)
        if len(s) > max_sites:
            continue
        disp = rng.normal(0, 0.05, (len(s), 3))
        out.append(Structure(s.lattice, s.species, s.cart_coords + disp, coords_are_cartesian=True))
        if len(out) == n:
            break
    return out


def part_agreement(res: dict) -> None:
    from dsei.models import load_model

    structs = rattled_library(24)
    rows = []
    for name in MODELS:
        mc, mg = load_model(name, "cpu"), load_model(name, GPU)
        ec, eg = mc.evaluate(structs), mg.evaluate(structs)
        de = max(abs(a.energy_eV - b.energy_eV) / len(s) for a, b, s in zip(ec, eg, structs, strict=True))
        df = max(
            float(np.abs(a.forces_eV_per_A - b.forces_eV_per_A).max()) for a, b in zip(ec, eg, strict=True)
        )
        ds = (
            max(
                float(np.abs(a.stress_eV_per_A3 - b.stress_eV_per_A3).max())
                for a, b in zip(ec, eg, strict=True)
            )
            / units.GPa
        )
        fmax = max(float(np.abs(a.forces_eV_per_A).max()) for a in ec)
        rows.append(
            {
                "model": name,
                "n": len(structs),
                "max_dE_meV_per_atom": 1e3 * de,
                "max_dF_meV_per_A": 1e3 * df,
                "max_dsigma_GPa": ds,
                "max_F_eV_per_A": fmax,
            }
        )
        print(
            f"agreement {name}: |dE| {1e3 * de:.4f} meV/atom, |dF| {1e3 * df:.4f} meV/A (max |F| {fmax:.2f} eV/A), "
            f"|dsigma| {ds:.5f} GPa",
            flush=True,
        )
    res["agreement"] = rows


def part_paper_six(res: dict) -> None:

    from dsei.mechanics.elastic import FALLBACK_MODEL, elastic_many
    from dsei.models import DEFAULT_ELASTIC_MODEL, load_model
    from dsei.structures.library import get_library

    lib = get_library()
    structs = [lib.structure(lib.find(f).id) for f in PAPER_SIX]
    out = {}
    for label, dev in (("gpu", GPU), ("cpu", "cpu")):
        m, fb = load_model(DEFAULT_ELASTIC_MODEL, dev), load_model(FALLBACK_MODEL, dev)
        elastic_many(structs[:1], m, fallback=fb)  # warm-up
        _sync()
        t = time.perf_counter()
        out[label] = (elastic_many(structs, m, fallback=fb), time.perf_counter() - t)
    rows = []
    for k, f in enumerate(PAPER_SIX):
        g, c = out["gpu"][0][k], out["cpu"][0][k]
        dc = float(np.abs(np.array(g.C_GPa) - np.array(c.C_GPa)).max())
        rows.append(
            {
                "formula": f,
                "pugh_gpu": g.pugh_ratio,
                "pugh_cpu": c.pugh_ratio,
                "verdict_gpu": g.verdict,
                "verdict_cpu": c.verdict,
                "max_dC_GPa": dc,
            }
        )
        print(
            f"six {f}: B/G gpu {g.pugh_ratio} cpu {c.pugh_ratio}; {g.verdict} / {c.verdict}; max|dC| {dc:.3f} GPa",
            flush=True,
        )
    res["paper_six"] = {"rows": rows, "time_gpu_s": out["gpu"][1], "time_cpu_s": out["cpu"][1]}
    print(f"six: {out['gpu'][1]:.1f} s gpu, {out['cpu'][1]:.1f} s cpu", flush=True)


def _verdict(c: np.ndarray, formula: str, vol: float, model: str):
    from dsei.mechanics import calibration as cal
    from dsei.mechanics.descriptors import describe
    from dsei.mechanics.verdict import uncertain_band, verdict

    c2, applied = cal.apply(np.asarray(c), model, formula, vol)
    d = describe(c2, vol).as_dict()
    below, above = uncertain_band(applied)
    return verdict(d["pugh_ratio"], d["born_stable"], below=below, above=above)[0], d


def part_dev(
    res: dict, dev_path: Path, cache_path: Path | None, box_s: float, n_both: int, chunk: int, out: Path
) -> None:
    """Also writes the GPU tensors to ``out/raw_<model>.jsonl`` in the cache format of elastic_accuracy.py
    (``--analyze-only --out`` reads it: the whole dev-set benchmark from one GPU run)."""
    from elastic_accuracy import raw_record  # benchmarks/ is on sys.path when run as a script
    from pymatgen.core import Structure

    from dsei.mechanics import elastic_tensors
    from dsei.mechanics.descriptors import PUGH_THRESHOLD
    from dsei.models import DEFAULT_ELASTIC_MODEL, load_model

    entries = json.load(_open(dev_path))
    cache_out = (out / f"raw_{DEFAULT_ELASTIC_MODEL}.jsonl").open("w")
    cpu_cache = {}
    if cache_path and cache_path.exists():
        for line in _open(cache_path):
            if line.strip():
                r = json.loads(line)
                if "volume_A3_per_atom" in r:  # caches written before the field was named volume_per_atom_A3
                    r["volume_per_atom_A3"] = r.pop("volume_A3_per_atom")
                if "C_GPa" in r:
                    cpu_cache[r["mp_id"]] = r
    both = entries[:: max(1, len(entries) // n_both)][:n_both]
    both_ids = {e["mp_id"] for e in both}
    rest = [e for e in entries if e["mp_id"] not in both_ids]
    rest.sort(key=lambda e: e["nsites"])
    timing = {}
    tensors: dict[str, dict] = {}
    for label, dev in (("gpu", GPU), ("cpu", "cpu")):
        m = load_model(DEFAULT_ELASTIC_MODEL, dev)
        structs = [Structure.from_dict(e["structure"]) for e in both]
        t = time.perf_counter()
        raws = elastic_tensors(structs, m)
        _sync()
        timing[label] = time.perf_counter() - t
        for e, r in zip(both, raws, strict=True):
            tensors.setdefault(e["mp_id"], {})[label] = (np.asarray(r.C_GPa), r.volume_per_atom_A3)
            if label == "gpu":
                cache_out.write(json.dumps(raw_record(e, DEFAULT_ELASTIC_MODEL, r, timing[label] / len(both))) + "\n")
        print(f"dev subset ({len(both)}) on {dev}: {timing[label]:.1f} s", flush=True)
    # as many more on the GPU as the box allows
    m = load_model(DEFAULT_ELASTIC_MODEL, GPU)
    t0 = time.perf_counter()
    n_more = 0
    for i in range(0, len(rest), chunk):
        if time.perf_counter() - t0 > box_s:
            break
        part = rest[i : i + chunk]
        t = time.perf_counter()
        raws = elastic_tensors([Structure.from_dict(e["structure"]) for e in part], m)
        dt = time.perf_counter() - t
        for e, r in zip(part, raws, strict=True):
            tensors.setdefault(e["mp_id"], {})["gpu"] = (np.asarray(r.C_GPa), r.volume_per_atom_A3)
            cache_out.write(json.dumps(raw_record(e, DEFAULT_ELASTIC_MODEL, r, dt / len(part))) + "\n")
        cache_out.flush()
        n_more += len(part)
        print(f"dev on gpu: {n_more} more in {time.perf_counter() - t0:.1f} s", flush=True)
    t_more = time.perf_counter() - t0
    cache_out.close()
    formula = {e["mp_id"]: e["formula"] for e in entries}

    def compare(ref_key: str):
        n = same_side = same_verdict = 0
        dk, dg, dc, diffs = [], [], [], []
        for mp, d in tensors.items():
            if "gpu" not in d:
                continue
            if ref_key == "cpu-cached":
                if mp not in cpu_cache:
                    continue
                ref = (np.asarray(cpu_cache[mp]["C_GPa"]), cpu_cache[mp]["volume_per_atom_A3"])
            else:
                if "cpu" not in d:
                    continue
                ref = d["cpu"]
            vg, dgd = _verdict(d["gpu"][0], formula[mp], d["gpu"][1], DEFAULT_ELASTIC_MODEL)
            vc, dcd = _verdict(ref[0], formula[mp], ref[1], DEFAULT_ELASTIC_MODEL)
            n += 1
            same_verdict += vg == vc
            pg, pc = dgd["pugh_ratio"], dcd["pugh_ratio"]
            stable = dgd["born_stable"] and dcd["born_stable"]
            same_side += (not stable and dgd["born_stable"] == dcd["born_stable"]) or (
                stable and (pg >= PUGH_THRESHOLD) == (pc >= PUGH_THRESHOLD)
            )
            dc.append(float(np.abs(d["gpu"][0] - ref[0]).max()))
            if vg != vc or dc[-1] > 1.0:
                diffs.append(
                    {
                        "mp_id": mp,
                        "formula": formula[mp],
                        "verdict_gpu": vg,
                        "verdict_ref": vc,
                        "pugh_gpu": pg,
                        "pugh_ref": pc,
                        "K_gpu": dgd["K_vrh_GPa"],
                        "K_ref": dcd["K_vrh_GPa"],
                        "G_gpu": dgd["G_vrh_GPa"],
                        "G_ref": dcd["G_vrh_GPa"],
                        "max_dC_GPa": dc[-1],
                    }
                )
            if stable:
                dk.append(abs(dgd["K_vrh_GPa"] - dcd["K_vrh_GPa"]))
                dg.append(abs(dgd["G_vrh_GPa"] - dcd["G_vrh_GPa"]))
        if not n:
            return None
        return {
            "n": n,
            "same_verdict": same_verdict,
            "same_pugh_side": int(same_side),
            "median_max_dC_GPa": float(np.median(dc)),
            "p95_max_dC_GPa": float(np.percentile(dc, 95)),
            "max_dK_GPa": max(dk, default=None),
            "median_dK_GPa": float(np.median(dk)) if dk else None,
            "max_dG_GPa": max(dg, default=None),
            "median_dG_GPa": float(np.median(dg)) if dg else None,
            "n_max_dC_over_1_GPa": sum(x > 1.0 for x in dc),
            "differences": diffs,
        }

    res["dev"] = {
        "n_both": len(both),
        "time_gpu_s": timing["gpu"],
        "time_cpu_s": timing["cpu"],
        "n_more_gpu": n_more,
        "time_more_gpu_s": t_more,
        "vs_cpu_same_run": compare("cpu"),
        "vs_cpu_cached": compare("cpu-cached"),
    }
    print("dev:", json.dumps(res["dev"]), flush=True)


def part_batch(res: dict) -> None:
    import torch

    from dsei.models import load_model

    base = rattled_library(40, max_sites=16, seed=1)
    work = []
    while sum(len(s) for s in work) < WORK_ATOMS:
        work += [s * (2, 2, 2) if len(s) < 8 else s.copy() for s in base]
    n_atoms = sum(len(s) for s in work)
    rows = []
    for name in ("sevennet-l3i5", "chgnet"):
        mc, mg = load_model(name, "cpu"), load_model(name, GPU)
        sub = work[: len(work) // 16]
        mc.evaluate(sub[:4])
        t = time.perf_counter()
        mc.evaluate(sub)
        cpu_rate = sum(len(s) for s in sub) / (time.perf_counter() - t)
        mg.evaluate(work[:8])
        for b in BATCH_ATOMS:
            try:
                _sync()
                if GPU.startswith("cuda"):
                    torch.cuda.reset_peak_memory_stats()
                t = time.perf_counter()
                mg.evaluate(work, max_atoms_per_batch=b)
                _sync()
                rate = n_atoms / (time.perf_counter() - t)
                peak = torch.cuda.max_memory_allocated() / 2**30 if GPU.startswith("cuda") else 0.0
                rows.append(
                    {
                        "model": name,
                        "atoms_per_batch": b,
                        "atoms_per_s": rate,
                        "cpu_atoms_per_s": cpu_rate,
                        "ratio_vs_cpu": rate / cpu_rate,
                        "peak_GiB": peak,
                    }
                )
                print(
                    f"batch {name} {b}: {rate:.0f} atoms/s ({rate / cpu_rate:.1f}x CPU {cpu_rate:.0f}), peak {peak:.1f} GiB",
                    flush=True,
                )
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                rows.append({"model": name, "atoms_per_batch": b, "error": "out of memory"})
                print(f"batch {name} {b}: out of memory", flush=True)
    res["batch"] = {"n_atoms": n_atoms, "rows": rows}


def part_screen(res: dict, out: Path, stages: list[str] | None) -> None:
    """``dsei screen`` on the built-in library with the default chunks and with GPU-sized ones (elastic 100
    structures a job, relax 8), each from an empty store; the anchor is the LiF batch on the same device."""
    import shutil

    from anchor import lif_anchor_s

    from dsei.campaign.screen import screen
    from dsei.models import DEFAULT_ELASTIC_MODEL, load_model
    from dsei.models.registry import DEFAULT_MODELS

    for name in set(DEFAULT_MODELS.values()):  # loaded before any timing
        load_model(name, GPU)
    anchor = lif_anchor_s(load_model(DEFAULT_ELASTIC_MODEL, GPU))
    rows = []
    gpu_sized = {"elastic": {"chunk": 100}, "relax": {"chunk": 8}}
    # A, B, A: the repeat shows how much of a difference is order (warm caches), not chunking
    for label, overrides in (("default chunks", None), ("elastic chunk 100, relax chunk 8", gpu_sized), ("default chunks, again", None)):
        d = out / "screen_run"
        shutil.rmtree(d, ignore_errors=True)
        t = time.perf_counter()
        r = screen(out_dir=d, stages=stages, overrides=overrides)
        dt = time.perf_counter() - t
        verdicts = {row.get("candidate_id"): row.get("verdict") for row in r.rows}
        rows.append({"setting": label, "seconds": dt, "time_over_anchor": dt / anchor, "n": len(r.rows), "verdicts": verdicts})
        print(f"screen ({label}): {len(r.rows)} candidates in {dt:.1f} s ({dt / anchor:.0f}x the anchor {anchor:.2f} s)", flush=True)
    shutil.rmtree(out / "screen_run", ignore_errors=True)
    same = rows[0]["verdicts"] == rows[1]["verdicts"] == rows[2]["verdicts"]
    res["screen"] = {"anchor_s": anchor, "rows": rows, "same_verdicts": same}
    print(f"screen: same verdicts in all three runs: {same}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "gpu_check")
    ap.add_argument(
        "--dev", type=Path, default=ROOT.parent / "shared" / "data" / "mp_binary_elasticity_dev.json.gz"
    )
    ap.add_argument(
        "--cpu-cache", type=Path, default=ROOT / "bench-out" / "elastic_accuracy" / "raw_sevennet-l3i5.jsonl"
    )
    ap.add_argument("--dev-box-s", type=float, default=120.0, help="seconds of extra CUDA dev-set work")
    ap.add_argument("--n-both", type=int, default=25, help="dev compounds run on both devices")
    ap.add_argument(
        "--chunk", type=int, default=100, help="dev compounds per batched elastic_tensors call on CUDA"
    )
    ap.add_argument("--parts", nargs="+", default=["agreement", "six", "dev", "batch"], help="also: screen")
    ap.add_argument("--screen-stages", nargs="+", default=None, help="stages of the screen part (default: all)")
    ap.add_argument("--gpu", default="cuda", help="device under test (cpu only to dry-run this script)")
    ap.add_argument("--batch-atoms", type=int, default=32000, help="atoms in the batch-size workload")
    args = ap.parse_args()
    import torch

    global GPU, WORK_ATOMS
    GPU, WORK_ATOMS = args.gpu, args.batch_atoms
    if GPU.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible", file=sys.stderr)
        return 2
    torch.set_num_threads(os.cpu_count() or 1)
    args.out.mkdir(parents=True, exist_ok=True)
    res = {"env": env_info()}
    print(json.dumps(res["env"]), flush=True)
    parts = {
        "agreement": part_agreement,
        "six": part_paper_six,
        "batch": part_batch,
        "dev": lambda r: part_dev(r, args.dev, args.cpu_cache, args.dev_box_s, args.n_both, args.chunk, args.out),
        "screen": lambda r: part_screen(r, args.out, args.screen_stages),
    }
    for p in args.parts:
        t = time.perf_counter()
        try:
            parts[p](res)
        except Exception:  # noqa: BLE001 - report and go on to the next part
            res[f"{p}_error"] = traceback.format_exc()
            print(res[f"{p}_error"], flush=True)
        res.setdefault("part_s", {})[p] = time.perf_counter() - t
        _save(args.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
