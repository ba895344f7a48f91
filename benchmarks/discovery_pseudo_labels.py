"""More training rows for the surrogate from the MLIP: enumerated candidates labelled with calibrated MLIP moduli
(issue 21; docs/discovery.md §2, "Pseudo-labelled candidates").

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_pseudo_labels.py sample --n 700
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_pseudo_labels.py compute --shard 0 --shards 2   # and --shard 1
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_pseudo_labels.py cv --seeds 0,1,2 --groupings mp_id,formula

The surrogate is weakest on ionic compounds (a halogen, chalcogen, N, P or H with a metal: 348 of its 1,949 DFT rows,
Pugh side ~70 %, Spearman ~0.48), which is where discovery happens. Calibrated MLIP labels recover most of what DFT
labels add (``discovery_active_learning.py``), so the MLIP could label many new ionic structures:

- ``sample``: the charge-balanced candidates of ``dsei.discovery.enumerate`` for Li and Na anodes, cations Ag, Cu, Zn,
  Sn, Bi, In, Mg, Ca, Al, Sr, Ba, K and anions F, Cl, Br, I, O, S, Se, N (≤ 12 sites), minus every formula that
  has a DFT row (so no candidate duplicates a scored compound) and the paper's AgF and Ag2S; a seeded random ``--n``
  of them;
- ``compute``: their raw tensors with the elastic default (relaxed from the substituted cell with the model, as
  ``dsei elastic`` does; resumable, sharded; the relaxed structure is kept for the descriptors);
- ``cv``: the surrogate's grouped 5-fold CV on its 1,949 DFT rows (scored on DFT only), each fold's training rows
  with and without the candidates, whose labels are K and the shear calibrated by trees fitted on that fold's
  training compounds only (depth-3 trees, ``elastic_calibration_variants.fit_trees``, the shipped kind when measured; the default's cached tensors
  of ``discovery_active_learning.mlip_rows``), so no test compound's DFT value reaches a label. Paired by seed and
  grouping; printed for all rows and the ionic rows.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from discovery_active_learning import MODEL, calibration_row, mlip_rows, score  # noqa: E402
from elastic_accuracy import ROOT, THRESHOLD_WEIGHT, run_model  # noqa: E402
from elastic_calibration_variants import fit_trees  # noqa: E402

OUT = ROOT / "bench-out" / "pseudo"
CATIONS = ["Ag", "Cu", "Zn", "Sn", "Bi", "In", "Mg", "Ca", "Al", "Sr", "Ba", "K"]
ANIONS = ["F", "Cl", "Br", "I", "O", "S", "Se", "N"]
NON_METALS = {"F", "Cl", "Br", "I", "O", "S", "Se", "Te", "N", "P", "H"}


def is_ionic(formula: str) -> bool:
    from pymatgen.core import Composition

    els = Composition(formula).elements
    return any(e.symbol in NON_METALS for e in els) and any(e.is_metal for e in els)


def sample(n: int, seed: int) -> None:
    from pymatgen.core import Composition

    from dsei.discovery.enumerate import enumerate_candidates
    from dsei.discovery.train import load_training_features

    known = {Composition(f).reduced_formula for f in load_training_features().formulas}
    entries, seen = [], set()
    for anode in ("Li", "Na"):
        en = enumerate_candidates(anode, CATIONS, ANIONS, max_candidates=10_000, max_sites=12, exclude_formulas=["AgF", "Ag2S"])
        for s, r in zip(en.structures, en.records, strict=True):
            f = s.composition.reduced_formula
            if f in known or r["fingerprint"] in seen:
                continue
            seen.add(r["fingerprint"])
            entries.append({"mp_id": r["fingerprint"], "formula": f, "nsites": len(s), "structure": s.as_dict()})
    pick = [entries[i] for i in np.random.default_rng(seed).permutation(len(entries))[:n]]
    OUT.mkdir(parents=True, exist_ok=True)
    json.dump(pick, gzip.open(OUT / "entries.json.gz", "wt"))
    print(f"{len(entries)} candidates with a formula no DFT row has; {len(pick)} sampled → {OUT / 'entries.json.gz'}")


def compute(shard: int, shards: int) -> None:
    """Raw tensors of this shard's candidates (``elastic_accuracy.run_model``, resumable), relaxed structures kept."""
    entries = json.load(gzip.open(OUT / "entries.json.gz"))[shard::shards]
    out = OUT / f"shard{shard}"
    out.mkdir(parents=True, exist_ok=True)
    run_model(MODEL, entries, out, chunk=8, keep_structure=True)


def pseudo_rows() -> dict:
    """Descriptors (of the relaxed structure), calibration features and raw K, G of every Born-stable candidate."""
    from pymatgen.core import Structure

    from dsei.discovery.features import featurize
    rows = {"x": [], "xc": [], "K": [], "G": [], "formula": [], "s_per_candidate": []}
    for path in sorted(OUT.glob(f"shard*/raw_{MODEL}.jsonl")):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            rows["s_per_candidate"].append(r["time_s"])
            row = calibration_row(r["formula"], r)
            if row is None:
                continue
            rows["x"].append(featurize(Structure.from_dict(r["structure"])))
            rows["xc"].append(row["x"])
            rows["K"].append(row["K"])
            rows["G"].append(row["G"])
            rows["formula"].append(r["formula"])
    return {k: (np.array(v) if k != "formula" else v) for k, v in rows.items()}


def one_fold(train, test, ts, mlip, pseudo, members: int, seed: int) -> dict:
    from dsei.discovery.surrogate import blend_ln_pugh
    from dsei.discovery.train import TrainingSet, fit_surrogate
    from dsei.mechanics.descriptors import threshold_weights

    def predict(t):
        sur = fit_surrogate(t, members=members, seed=seed)
        mp = sur.member_predictions(ts.x[test])
        return mp["ln_K"].mean(0), mp["ln_G"].mean(0), blend_ln_pugh(mp["ln_K"], mp["ln_G"], mp["ln_pugh"]).mean(0)

    base = ts.subset(np.isin(np.arange(len(ts)), train))
    cal = [i for i in train if ts.ids[i] in mlip]
    lpm = np.array([np.log(mlip[ts.ids[i]]["K"] / mlip[ts.ids[i]]["G"]) for i in cal])
    lpd = (ts.ln_K - ts.ln_G)[cal]
    a_g = fit_trees(np.array([mlip[ts.ids[i]]["x"] for i in cal]), lpm - lpd, threshold_weights(lpd, **THRESHOLD_WEIGHT), pseudo["xc"])
    n = len(pseudo["K"])
    extra = TrainingSet(pseudo["x"], np.log(pseudo["K"]), np.log(pseudo["G"] * np.exp(a_g)), [f"pseudo-{i}" for i in range(n)],
                        list(pseudo["formula"]), ["pseudo"] * n)
    return {"DFT rows": predict(base), "DFT rows + candidates": predict(TrainingSet.concat(base, extra))}


def cv(seeds: list[int], groupings: list[str], members: int, jobs: int) -> None:
    from joblib import Parallel, delayed
    from pymatgen.core import Composition
    from sklearn.model_selection import GroupKFold

    from dsei.discovery.train import load_training_features

    ts = load_training_features()
    mlip = mlip_rows(ROOT / "bench-out" / "dev_full", ROOT / "bench-out" / "tensor_set_raw")
    pseudo = pseudo_rows()
    ionic = np.array([is_ionic(f) for f in ts.formulas])
    n_ionic = sum(is_ionic(f) for f in pseudo["formula"])
    print(f"{len(pseudo['K'])} Born-stable candidates of {len(pseudo['s_per_candidate'])} computed ({n_ionic} ionic; "
          f"{np.mean(pseudo['s_per_candidate']):.1f} s each on one thread); {len(ts)} DFT rows, {ionic.sum()} ionic")
    print("\n| grouping | seed | training rows | Pugh side | Spearman B/G | MAE K (GPa) | MAE G (GPa) | ionic Pugh side | ionic Spearman |")
    print("|---|---|---|---|---|---|---|---|---|")
    deltas: dict[str, list] = {}
    for grouping in groupings:
        groups = ts.ids if grouping == "mp_id" else [Composition(f).reduced_formula for f in ts.formulas]
        folds = list(GroupKFold(n_splits=5).split(ts.x, groups=groups))
        test = np.concatenate([te for _, te in folds])
        for seed in seeds:
            res = Parallel(n_jobs=jobs)(delayed(one_fold)(tr, te, ts, mlip, pseudo, members, seed) for tr, te in folds)
            got = {}
            for arm in res[0]:
                pred = [np.concatenate([r[arm][j] for r in res]) for j in range(3)]
                a = score(*pred, ts, test)
                io = ionic[test]
                b = score(*(p[io] for p in pred), ts, test[io])
                got[arm] = (a, b)
                print(f"| {grouping} | {seed} | {arm} | {100 * a['pugh_side']:.1f} % | {a['spearman']:.3f} | {a['mae_K']:.1f} | "
                      f"{a['mae_G']:.1f} | {100 * b['pugh_side']:.1f} % | {b['spearman']:.3f} |", flush=True)
            (a0, b0), (a1, b1) = got["DFT rows"], got["DFT rows + candidates"]
            deltas.setdefault(grouping, []).append((a1["pugh_side"] - a0["pugh_side"], a1["spearman"] - a0["spearman"],
                                                     b1["pugh_side"] - b0["pugh_side"], b1["spearman"] - b0["spearman"]))
    print("\nmean paired change from adding the candidates (± std over seeds):")
    for grouping, d in deltas.items():
        d = np.array(d)
        m, s = d.mean(0), d.std(0)
        print(f"  {grouping}: Pugh side {100 * m[0]:+.1f} ± {100 * s[0]:.1f} pt, Spearman {m[1]:+.3f} ± {s[1]:.3f}; "
              f"ionic: {100 * m[2]:+.1f} ± {100 * s[2]:.1f} pt, {m[3]:+.3f} ± {s[3]:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["sample", "compute", "cv"])
    ap.add_argument("--n", type=int, default=700, help="sample: candidates to draw")
    ap.add_argument("--shard", type=int, default=0)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--groupings", default="mp_id,formula")
    ap.add_argument("--members", type=int, default=2, help="bootstrap members per head (shipped: 5)")
    ap.add_argument("--jobs", type=int, default=2, help="cv: folds in parallel")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.what == "sample":
        sample(args.n, seed=0)
    elif args.what == "compute":
        if not (OUT / "entries.json.gz").exists():
            sys.exit(f"error: {OUT / 'entries.json.gz'}: not found (run the sample step first)")
        compute(args.shard, args.shards)
    else:
        if not list(OUT.glob(f"shard*/raw_{MODEL}.jsonl")):
            sys.exit(f"error: {OUT}: no shard*/raw_{MODEL}.jsonl (run the compute step first)")
        cv([int(s) for s in args.seeds.split(",")], args.groupings.split(","), args.members, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
