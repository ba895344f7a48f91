"""The shipped elastic pipeline on tensor-set compounds the fine-tune never saw (held out from it; the default's
calibration is fitted on them since, see below): the compounds of ``../shared/data/mp_elastic_tensors_dejong2015.json.gz`` (de Jong et al. 2015)
that are not in the dev set and not in ``sevennet-l3i5-elastic``'s training set.

    OMP_NUM_THREADS=1 nice python benchmarks/elastic_tensor_holdout.py --shard 0 --shards 2   # and --shard 1 (--max-sites 16 default)
    OMP_NUM_THREADS=1 python benchmarks/elastic_tensor_holdout.py --analyze-only

Held out: ``in_dev_set`` false and not a
training compound of the shipped fine-tune (its selection — ``max_sites``, ``only_pairs``, ``strain`` — read from
the ``dsei`` record that ``scripts/finetune_elastic.py`` writes into the checkpoint; today a cell of ≤ 12 sites with
at least one symmetry-clamped strain pair, ``finetune_elastic.strain_pairs``), limited to ``--max-sites`` sites (the
cells SevenNet-l3i5's cache ``bench-out/tensor_set_raw`` covers). The fine-tune never saw these compounds; the default's
shipped trees and p_ductile were fitted on them too since (``extra_calibration_rows``, ``elastic_accuracy.py
--extra-rows``), so for the calibration this is no longer a held-out test: its honest estimate there is the grouped CV
of ``benchmarks/elastic_calibration_union.py``. Raw tensors: ``benchmarks/elastic_accuracy.py``'s
``run_model`` (same pipeline, resumable cache ``OUT/raw_<model>.jsonl``; shards write ``OUT/shard<k>/`` and
``--analyze-only`` merges them), SevenNet-l3i5's read from ``bench-out/tensor_set_raw`` where present.

Per model, uncalibrated and with its *shipped* calibration (no refitting), with dsei's
fallback (``--fallback``, default CHGNet with its shipped calibration, where the model's tensor is not positive
definite; such results are always ``uncertain``, so they add no confident verdict), and the verdict from its
shipped p_ductile at its shipped p*: MAE K and G against the DFT VRH moduli, Pugh agreement (an
``unstable`` result is a miss), confident verdicts and how many are right; on all held-out compounds, on the
SEI-like ones (``elastic_accuracy.is_sei_like``) and on the compounds both models find positive definite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from elastic_accuracy import (  # noqa: E402
    ROOT,
    TENSOR_SET,
    THRESH,
    is_sei_like,
    load_raw,
    load_tensor_set,
    metrics,
    predict,
    run_model,
    tensors,
    with_fallback,
)

MODELS = ("sevennet-l3i5-elastic", "sevennet-l3i5")
L3I5_CACHE = ROOT / "bench-out" / "tensor_set_raw"


def held_out(max_sites: int) -> list[dict]:
    """Tensor-set compounds outside the dev set and outside the shipped fine-tune's training set (the selection
    recorded in its checkpoint), smallest first."""
    import torch
    from finetune_elastic import OUTS, strain_pairs

    train = torch.load(OUTS["sevennet-l3i5"], map_location="cpu", weights_only=False)["dsei"]
    assert not train["include_dev"], "the fine-tune saw dev compounds: this split would not be held out"

    def trained_on(e: dict) -> bool:
        if train["max_sites"] and e["nsites"] > train["max_sites"]:
            return False
        n_clamped = len(strain_pairs(e, train["strain"]))
        # the other components carry relaxed-ion labels up to finetune_elastic's --relaxed-ions-max-sites
        moving_labelled = e["nsites"] <= train.get("relaxed_ions_max_sites", 0) and n_clamped < 6
        return not train["only_pairs"] or n_clamped > 0 or moving_labelled

    entries = load_tensor_set(max_sites)
    return sorted((e for e in entries if not trained_on(e)), key=lambda e: (e["nsites"], e["mp_id"]))


def extra_calibration_rows(cache: Path, model: str, max_sites: int = 16) -> tuple[list, list, list, list[dict]]:
    """(tensors, volumes per atom, formulas, entries) of the held-out compounds of :func:`held_out` whose raw tensors
    of ``model`` are in ``cache`` (``benchmarks/tensor_set_raw.py``'s): the tensor-set rows the shipped calibration
    trees are fitted on besides the dev set (``elastic_accuracy.py --extra-rows``; docs/mechanics.md, "Calibration").
    Entries without a cached tensor are left out; an unstable tensor is kept as ``None`` (no training row)."""
    raw = load_raw(cache, model)
    entries = [e for e in held_out(max_sites) if e["mp_id"] in raw and e["K_vrh"] > 0 and e["G_vrh"] > 0]
    ids = [e["mp_id"] for e in entries]
    return (tensors(raw, ids, "C_GPa"), [raw[i].get("volume_per_atom_A3", 10.0) for i in ids],
            [e["formula"] for e in entries], entries)


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
    applied = [None if c is None else apply_with_features(c, model, e["formula"], v) for c, v, e in zip(cs, vols, entries, strict=True)]
    cal = predict([None if a is None else a[0] for a in applied], vols)
    ps = [
        conf.p_ductile(params, d["pugh"], a[2]) if a is not None and a[1] and a[2] is not None and params is not None and d["stable"] and d["pugh"] > 0 else None
        for a, d in zip(applied, cal, strict=True)
    ]
    return predict(cs, vols), cal, ps


def stated_verdicts(ps: list, entries: list[dict], p_star: float) -> list[tuple[int, bool]]:
    """(index, right?) of every confident verdict at ``p_star`` (dsei's rule,
    :func:`dsei.mechanics.verdict.verdict_from_probability`)."""
    from dsei.mechanics.verdict import verdict_from_probability

    out = []
    for i, (p, e) in enumerate(zip(ps, entries, strict=True)):
        v = verdict_from_probability(1.0, True, p, p_star)[0]  # p is only set for stable, calibrated results
        if v in ("ductile", "brittle"):
            out.append((i, (v == "ductile") == (e["K_vrh"] / e["G_vrh"] >= THRESH)))
    return out


def p_star_of(model: str) -> float:
    from dsei.mechanics import confidence as conf

    return (conf.parameters(model) or {}).get("p_star", 0.7)


def report(entries: list[dict], results: dict[str, tuple], label: str) -> None:
    print(f"\n{label}: {len(entries)} compounds")
    if not entries:
        return
    print("| model | calibration | MAE K (GPa) | MAE G (GPa) | Pugh agreement | unstable | confident (p*) | confident right |")
    print("|---|---|---|---|---|---|---|---|")
    for m, (unc, cal, ps, fb) in results.items():
        p_star = p_star_of(m)
        # the fallback's results are always `uncertain`, so both calibrated rows state the same verdicts
        stated = stated_verdicts(ps, entries, p_star)
        n, right = len(stated), sum(ok for _, ok in stated)
        rows = [("none", unc, False), ("shipped", cal, True)] + ([("shipped + fallback", fb, True)] if fb is not None else [])
        for name, preds, calibrated in rows:
            r = metrics(preds, entries, calibrated=calibrated)
            conf_txt = right_txt = "—"
            if calibrated:
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
    if not TENSOR_SET.exists():
        sys.exit(f"error: {TENSOR_SET}: not found (the shared data folder must sit beside the repository)")
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
    def subset(keep: list[int]) -> tuple[list[dict], dict[str, tuple]]:
        return [done[i] for i in keep], {m: tuple(None if r is None else [r[i] for i in keep] for r in res) for m, res in results.items()}

    report(done, results, "all held out")
    sei = [i for i, e in enumerate(done) if is_sei_like(e)]
    report(*subset(sei), "SEI-like")
    both = [i for i in range(len(done)) if all(res[0][i] is not None and res[0][i]["stable"] for res in results.values())]
    report(*subset(both), "positive definite with every model")
    first = args.models[0]
    sei_entries, sei_results = subset(sei)
    for i, ok in stated_verdicts(sei_results[first][2], sei_entries, p_star_of(first)):
        if not ok:
            e = sei_entries[i]
            print(f"  confidently wrong, SEI-like ({first}): {e['formula']} {e['mp_id']} p={sei_results[first][2][i]:.3f} DFT B/G {e['K_vrh'] / e['G_vrh']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
