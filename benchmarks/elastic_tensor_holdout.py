"""Held-out test of the shipped elastic pipeline on tensor-set compounds that neither the calibration nor the
fine-tune saw: the compounds of ``../shared/data/mp_elastic_tensors_dejong2015.json.gz`` (de Jong et al. 2015)
that are not in the dev set and not in ``sevennet-l3i5-elastic``'s training set.

    OMP_NUM_THREADS=1 nice python benchmarks/elastic_tensor_holdout.py --shard 0 --shards 2   # and --shard 1 (--max-sites 16 default)
    OMP_NUM_THREADS=1 python benchmarks/elastic_tensor_holdout.py --analyze-only

Held out: ``in_dev_set`` false (the shipped trees and p_ductile were fitted on the dev set only) and not a
training compound of ``scripts/finetune_elastic.py --max-sites 12 --only-pairs`` (a cell of ≤ 12 sites with at
least one symmetry-clamped strain pair, ``finetune_elastic.strain_pairs``), limited to ``--max-sites`` sites (the
cells SevenNet-l3i5's cache ``bench-out/tensor_set_raw`` covers). Raw tensors: ``benchmarks/elastic_accuracy.py``'s
``run_model`` (same pipeline, resumable cache ``OUT/raw_<model>.jsonl``; shards write ``OUT/shard<k>/`` and
``--analyze-only`` merges them), SevenNet-l3i5's read from ``bench-out/tensor_set_raw`` where present.

Per model, uncalibrated and with its *shipped* calibration (no refitting: a true held-out test), with dsei's
fallback (``--fallback``, default CHGNet with its shipped calibration, where the model's tensor is not positive
definite; such results are always ``uncertain``, so they add no confident verdict), and the verdict from its
shipped p_ductile at its shipped p*: MAE K and G against the DFT VRH moduli, Pugh agreement (an
``unstable`` result is a miss), confident verdicts and how many are right; on all held-out compounds, on the
SEI-like ones (``elastic_accuracy.is_sei_like``) and on the compounds both models find positive definite.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from elastic_accuracy import (  # noqa: E402
    ROOT,
    THRESH,
    is_sei_like,
    load_raw,
    metrics,
    predict,
    run_model,
    tensors,
    with_fallback,
)

DATA = ROOT.parent / "shared" / "data" / "mp_elastic_tensors_dejong2015.json.gz"
MODELS = ("sevennet-l3i5-elastic", "sevennet-l3i5")
L3I5_CACHE = ROOT / "bench-out" / "tensor_set_raw"


def held_out(max_sites: int, strain: float = 0.01) -> list[dict]:
    """Tensor-set compounds outside the dev set and outside the fine-tune's training set, smallest first."""
    from finetune_elastic import strain_pairs

    entries = [e for e in json.load(gzip.open(DATA)) if not e.get("in_dev_set") and e["nsites"] <= max_sites]
    out = [e for e in entries if e["nsites"] > 12 or not strain_pairs(e, strain)]
    return sorted(out, key=lambda e: (e["nsites"], e["mp_id"]))


def merged_raw(out: Path, model: str) -> dict[str, dict]:
    raw = {}
    for d in [L3I5_CACHE] * (model == "sevennet-l3i5") + sorted(out.glob("shard*")) + [out]:
        raw.update(load_raw(d, model))
    return raw


def shipped(raw: dict, entries: list[dict], model: str) -> tuple[list, list, list]:
    """(uncalibrated predictions, calibrated predictions, p_ductile or None) per entry."""
    from dsei.mechanics import confidence as conf
    from dsei.mechanics.calibration import apply_with_features

    ids = [e["mp_id"] for e in entries]
    cs = tensors(raw, ids, "C_GPa")
    vols = [raw.get(i, {}).get("volume_per_atom_A3", 10.0) for i in ids]
    params = conf.parameters(model)
    cal, ps = [], []
    for c, v, e in zip(cs, vols, entries, strict=True):
        if c is None:
            cal.append(None)
            ps.append(None)
            continue
        cc, ok, feats = apply_with_features(c, model, e["formula"], v)
        cal.append(cc)
        ps.append(None)
        if ok and params is not None and feats is not None:
            d = predict([cc], [v])[0]
            if d["stable"] and d["pugh"] > 0:
                ps[-1] = conf.p_ductile(params, d["pugh"], feats)
    return predict(cs, vols), predict(cal, vols), ps


def confident(ps: list, entries: list[dict], p_star: float) -> tuple[int, int]:
    """(confident verdicts, right ones) at ``p_star``."""
    n = right = 0
    for p, e in zip(ps, entries, strict=True):
        if p is None or 1 - p_star < p < p_star:
            continue
        n += 1
        right += (p >= p_star) == (e["K_vrh"] / e["G_vrh"] >= THRESH)
    return n, right


def report(entries: list[dict], results: dict[str, tuple], label: str) -> None:
    from dsei.mechanics import confidence as conf

    print(f"\n{label}: {len(entries)} compounds")
    print("| model | calibration | MAE K (GPa) | MAE G (GPa) | Pugh agreement | unstable | confident (p*) | confident right |")
    print("|---|---|---|---|---|---|---|---|")
    for m, (unc, cal, ps, fb) in results.items():
        p_star = (conf.parameters(m) or {}).get("p_star", 0.7)
        rows = [("none", unc, False), ("shipped", cal, True)] + ([("shipped + fallback", fb, True)] if fb is not None else [])
        for name, preds, calibrated in rows:
            r = metrics(preds, entries, calibrated=calibrated)
            conf_txt = right_txt = "—"
            if calibrated:
                n, right = confident(ps, entries, p_star)
                conf_txt = f"{100 * n / len(entries):.1f} % ({p_star})"
                right_txt = f"{100 * right / n:.1f} % ({right}/{n})" if n else "—"
            print(f"| {m} | {name} | {r['mae_K']:.2f} | {r['mae_G']:.2f} | {100 * r['agreement']:.1f} % | {r['unstable']} | {conf_txt} | {right_txt} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--max-sites", type=int, default=16)
    ap.add_argument("--shard", type=int, default=0)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=8)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "tensor_holdout")
    ap.add_argument("--analyze-only", action="store_true")
    ap.add_argument("--fallback", default="chgnet", help="the fallback model for unstable tensors ('none': off)")
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"error: {DATA}: not found (the shared data folder must sit beside the repository)")
    print("command: python " + " ".join(sys.argv), flush=True)
    entries = held_out(args.max_sites)
    if not args.analyze_only:
        import torch

        torch.set_num_threads(1)
        mine = entries[args.shard :: args.shards]
        out = args.out / f"shard{args.shard}" if args.shards > 1 else args.out
        out.mkdir(parents=True, exist_ok=True)
        for m in args.models + ([args.fallback] if args.fallback != "none" else []):
            have = merged_raw(args.out, m)
            todo = [e for e in mine if e["mp_id"] not in have]
            if todo:
                run_model(m, todo, out, args.chunk)
    raws = {m: merged_raw(args.out, m) for m in args.models}
    done = [e for e in entries if all(e["mp_id"] in raws[m] for m in args.models)]
    print(f"{len(entries)} held-out compounds of ≤ {args.max_sites} sites; {len(done)} computed with every model")
    results = {m: shipped(raws[m], done, m) for m in args.models}
    fb_raw = merged_raw(args.out, args.fallback) if args.fallback != "none" else {}
    fb_cal = shipped(fb_raw, done, args.fallback)[1] if fb_raw and all(e["mp_id"] in fb_raw for e in done) else None
    results = {m: (*r, None if fb_cal is None else with_fallback(r[1], fb_cal)) for m, r in results.items()}
    report(done, results, "all held out")
    sei = [i for i, e in enumerate(done) if is_sei_like(e)]
    report([done[i] for i in sei], {m: tuple(None if r is None else [r[i] for i in sei] for r in res) for m, res in results.items()}, "SEI-like")
    both = [i for i, e in enumerate(done) if all(res[0][i] is not None and res[0][i]["stable"] for res in results.values())]
    report([done[i] for i in both], {m: tuple(None if r is None else [r[i] for i in both] for r in res) for m, res in results.items()},
           "positive definite with every model")
    wrong = [(done[i]["formula"], done[i]["mp_id"], results[args.models[0]][2][i], done[i]["K_vrh"] / done[i]["G_vrh"])
             for i in sei if results[args.models[0]][2][i] is not None]
    p_star = 0.7
    for f, mp, p, ref in wrong:
        if (p >= p_star and ref < THRESH) or (p <= 1 - p_star and ref >= THRESH):
            print(f"  confidently wrong, SEI-like ({args.models[0]}): {f} {mp} p={p:.3f} DFT B/G {ref:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
