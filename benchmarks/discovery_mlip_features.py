"""Do MLIP-derived features improve the discovery surrogate? (CHGNet embeddings of the unrelaxed input cell.)

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_mlip_features.py featurise [--cache bench-out/mlip_features.npz]
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_mlip_features.py cv [--members 2] [--variants base,both_pca16]
        [--groupings mp_id,formula] [--report bench-out/mlip_features_cv.json]
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_mlip_features.py ensemble [--groupings mp_id,formula]
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_mlip_features.py strain [--every 10] [--dv 0.1]
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_mlip_features.py speed [--n 300]

Results and the decision (not shipped): docs/discovery.md §2, "MLIP-derived features". Offline: CHGNet's weights
ship in the chgnet wheel, SevenNet-0's in sevenn's (checked with the network namespace removed).

``featurise``: every training row of the surrogate (the two elasticity sets of ../shared/data, one row per mp_id,
K, G > 0: the rows and order of :func:`dsei.discovery.train.load_reference_sets`) through one CHGNet 0.3.0 forward
pass on the *unrelaxed* input structure, batched (no relaxation), on one core, cached to an ``.npz`` (not
committed). Per structure it keeps:

- ``crystal``: CHGNet's crystal feature (64; mean over atoms of the last layer's atom features after the readout
  norm — the vector its energy head reads);
- ``cation`` / ``anion``: the atom features before the last convolution (64 each; ``return_atom_feas``) averaged
  over the cation and over the anion sites (anions: the non-metal elements more electronegative than the
  composition's mean; else the most electronegative element; cations: the rest);
- ``scalars``: the predicted energy per atom (eV), the pressure of the unrelaxed cell (GPa, −tr σ/3; one backward
  pass through the strain, no graph kept) and the mean |magmom| (μB);

and the surrogate's 32 fast descriptors (:func:`dsei.discovery.features.featurize`), timed separately.

``cv``: the surrogate's grouped 5-fold cross-validation (:func:`dsei.discovery.train.cross_validate`: three GBT
heads × bootstrap members, the blend), with the feature variants below; PCA of an embedding block is fitted inside
each fold on the training rows only. Scores: Pugh side, Spearman of B/G, MAE K/G, and the ionic subset (a halogen,
chalcogen, N, P or H with a metal: the definition of docs/discovery.md §2).

``featurise --model sevennet``: SevenNet-0's node features after the last interaction block instead (128 per
atom, pooled the same way; scalars: the energy per atom only).

``ensemble``: the GBT's out-of-fold predictions (from ``cv --members 5 --variants base``) averaged with kernel ridge
regression on the MLIP embeddings, and as the control with kernel ridge on the 32 descriptors (no MLIP).

``strain``: the training cells at volume × (1 ± dv), how far the predicted ln(B/G) moves (candidates are
unrelaxed; the training cells are DFT-relaxed).

``speed``: MLIP features of enumerated candidates (the rediscovery space), ms per structure on one core, batched,
next to the shipped surrogate (descriptors included) and the same-run anchor (benchmarks/anchor.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from dsei.discovery.surrogate import blend_ln_pugh

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
DATA = [ROOT.parent / "shared" / "data" / "mp_binary_elasticity_dev.json.gz",
        ROOT.parent / "shared" / "data" / "mp_elastic_tensors_dejong2015.json.gz"]
if not DATA[0].exists():
    DATA = [Path("/work/shared/data") / p.name for p in DATA]
IONIC_ANIONS = {"F", "Cl", "Br", "I", "O", "S", "Se", "Te", "N", "P", "H"}


class CHGNetFeaturiser:
    """One batched CHGNet forward pass per batch of unrelaxed structures (the model loads once)."""

    def __init__(self, stress: bool = True):
        import contextlib
        import io

        import torch
        from chgnet.model import CHGNet

        with contextlib.redirect_stdout(io.StringIO()):
            self.model = CHGNet.load(model_name="0.3.0", use_device="cpu", verbose=False)  # weights in the wheel
        self.model.eval()
        self.stress = stress
        self.torch = torch

    @staticmethod
    def anion_mask(struct) -> np.ndarray:
        from pymatgen.core import Element

        els = [site.specie.symbol for site in struct]
        uniq = sorted(set(els))
        chi = {e: float(Element(e).X) for e in uniq}
        mean_chi = float(np.mean([chi[e] for e in els]))
        anions = {e for e in uniq if not Element(e).is_metal and chi[e] > mean_chi}
        if not anions or len(anions) == len(uniq):
            anions = {max(uniq, key=lambda e: chi[e])}
        return np.array([e in anions for e in els])

    def __call__(self, structs, batch_size: int = 32) -> dict[str, np.ndarray]:
        from chgnet.model.model import BatchedGraph

        m, torch = self.model, self.torch
        out = {"crystal": [], "cation": [], "anion": [], "scalars": []}
        for i in range(0, len(structs), batch_size):
            chunk = structs[i:i + batch_size]
            graphs = [m.graph_converter(s) for s in chunk]
            g = BatchedGraph.from_graphs(graphs, bond_basis_expansion=m.bond_basis_expansion,
                                         angle_basis_expansion=m.angle_basis_expansion, compute_stress=self.stress)
            with torch.set_grad_enabled(self.stress):
                comp = m.composition_model(graphs) if m.composition_model is not None else 0.0
                p = m._compute(g, compute_magmom=True, return_atom_feas=True, return_crystal_feas=True)
                nat = p["atoms_per_graph"].to(p["e"].dtype)
                if self.stress:
                    total = p["e"] * nat if m.is_intensive else p["e"]
                    grads = torch.autograd.grad(total.sum(), list(g.strains))
                    pressure = [-float(torch.trace(gr)) / 3.0 / float(v) * 160.21766208 for gr, v in zip(grads, g.volumes, strict=True)]
                else:
                    pressure = [0.0] * len(chunk)
            e_pa = ((p["e"] + comp) if m.is_intensive else (p["e"] / nat + comp)).detach().numpy()
            out["crystal"].append(p["crystal_fea"].detach().numpy())
            for j, s in enumerate(chunk):
                af = p["atom_fea"][j].detach().numpy()
                an = self.anion_mask(s)
                cat = ~an if (~an).any() else an
                out["cation"].append(af[cat].mean(0))
                out["anion"].append(af[an].mean(0))
                out["scalars"].append([float(e_pa[j]), pressure[j], float(p["m"][j].detach().abs().mean())])
        return {"crystal": np.vstack(out["crystal"]), "cation": np.array(out["cation"]), "anion": np.array(out["anion"]),
                "scalars": np.array(out["scalars"])}


class SevenNetFeaturiser:
    """SevenNet-0 node features after the last interaction block (the input of its energy readout), pooled as
    CHGNet's: ``crystal`` (mean over atoms), ``cation`` / ``anion``; ``scalars``: the predicted energy per atom
    (no forces, no stress: the modules are run up to the readout under ``no_grad`` plus the energy head)."""

    def __init__(self):
        from dsei.models import load_model

        self.m = load_model("sevennet")
        self.stress = False

    def __call__(self, structs, batch_size: int = 32) -> dict[str, np.ndarray]:
        import sevenn._keys as KEY
        import torch
        from pymatgen.io.ase import AseAtomsAdaptor
        from sevenn.atom_graph_data import AtomGraphData
        from sevenn.train.dataload import unlabeled_atoms_to_graph
        from torch_geometric.data import Batch

        model = self.m._batch_model
        out = {"crystal": [], "cation": [], "anion": [], "scalars": []}
        for i in range(0, len(structs), batch_size):
            chunk = structs[i:i + batch_size]
            graphs = [AtomGraphData.from_numpy_dict(unlabeled_atoms_to_graph(AseAtomsAdaptor.get_atoms(s), self.m.cutoff, with_shift=False))
                      for s in chunk]
            data = Batch.from_data_list(graphs)
            with torch.no_grad():
                node = None
                data = model._preprocess(data)  # atomic numbers → SevenNet's type one-hot
                for name, mod in model._modules.items():
                    if name == "reduce_input_to_hidden":
                        node = data[KEY.NODE_FEATURE].clone()
                    if name == "force_output":
                        break
                    data = mod(data)
            e_atom = data[KEY.ATOMIC_ENERGY].reshape(-1).numpy()
            owner = data[KEY.BATCH].numpy()
            node = node.numpy()
            for j, st in enumerate(chunk):
                sel = owner == j
                af = node[sel]
                an = CHGNetFeaturiser.anion_mask(st)
                cat = ~an if (~an).any() else an
                out["crystal"].append(af.mean(0))
                out["cation"].append(af[cat].mean(0))
                out["anion"].append(af[an].mean(0))
                out["scalars"].append([float(e_atom[sel].mean()), 0.0, 0.0])
        return {k: np.array(v) for k, v in out.items()}


def training_structures():
    """(structures, ids, formulas, ln_K, ln_G, sources): the rows of load_reference_sets, same order."""
    from pymatgen.core import Structure

    seen: set[str] = set()
    rows = []
    for p in DATA:
        with gzip.open(p, "rt") as fh:
            data = json.load(fh)
        for d in data:
            if d["mp_id"] in seen or not (d["K_vrh"] > 0 and d["G_vrh"] > 0):
                continue
            seen.add(d["mp_id"])
            s = Structure.from_dict(d["structure"])
            rows.append((s, d["mp_id"], s.composition.reduced_formula, math.log(d["K_vrh"]), math.log(d["G_vrh"]), p.name))
    return rows


def cmd_featurise(args) -> None:
    from dsei.discovery.features import featurize

    rows = training_structures()
    structs = [r[0] for r in rows]
    t0 = time.perf_counter()
    x = np.array([featurize(s) for s in structs])
    t_desc = time.perf_counter() - t0
    t0 = time.perf_counter()
    fz = CHGNetFeaturiser(stress=True) if args.model == "chgnet" else SevenNetFeaturiser()
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    f = fz(structs, batch_size=args.batch_size)
    t_mlip = time.perf_counter() - t0
    n = len(structs)
    print(f"{n} rows, mean {np.mean([len(s) for s in structs]):.1f} sites; 32 descriptors {t_desc / n * 1e3:.1f} ms/structure; "
          f"{args.model} load {t_load:.1f} s, forward {t_mlip / n * 1e3:.1f} ms/structure, batch {args.batch_size}")
    out = Path(args.cache)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, x=x, ids=np.array([r[1] for r in rows]), formulas=np.array([r[2] for r in rows]),
                        ln_K=np.array([r[3] for r in rows]), ln_G=np.array([r[4] for r in rows]),
                        sources=np.array([r[5] for r in rows]), elements=np.array([" ".join(sorted({e.symbol for e in s.composition})) for s in structs]),
                        ms_desc=t_desc / n * 1e3, ms_mlip=t_mlip / n * 1e3, **f)
    print(f"wrote {out}")


def ionic_mask(elements: np.ndarray) -> np.ndarray:
    from pymatgen.core import Element

    out = []
    for e in elements:
        els = e.split()
        out.append(any(x in IONIC_ANIONS for x in els) and any(Element(x).is_metal for x in els))
    return np.array(out)


class _Blocks:
    """Per-fold feature assembly: raw blocks, or a PCA fitted on the fold's training rows."""

    def __init__(self, cache, spec: list[tuple[str, int]]):
        self.cache, self.spec = cache, spec

    def build(self, train_idx: np.ndarray) -> np.ndarray:
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        cols = []
        for name, k in self.spec:
            block = self.cache[name]
            if k <= 0 or k >= block.shape[1]:
                cols.append(block)
                continue
            sc = StandardScaler().fit(block[train_idx])
            pca = PCA(n_components=k, random_state=0).fit(sc.transform(block[train_idx]))
            cols.append(pca.transform(sc.transform(block)))
        return np.hstack(cols)


VARIANTS = {
    "base": [("x", 0)],
    "crystal": [("crystal", 0)],
    "mlip_pca16": [("crystal", 16), ("cation", 8), ("anion", 8), ("scalars", 0)],
    "base_scalars": [("x", 0), ("scalars", 0)],
    "both_pca8": [("x", 0), ("crystal", 8), ("scalars", 0)],
    "both_pca16": [("x", 0), ("crystal", 16), ("scalars", 0)],
    "both_catan": [("x", 0), ("crystal", 8), ("cation", 8), ("anion", 8), ("scalars", 0)],
    "both_raw": [("x", 0), ("crystal", 0), ("scalars", 0)],
}


def cmd_cv(args) -> None:
    from scipy.stats import spearmanr
    from sklearn.model_selection import GroupKFold

    from dsei.discovery.surrogate import LN_PUGH_THRESHOLD
    from dsei.discovery.train import TrainingSet, fit_surrogate, scores

    c = dict(np.load(args.cache))
    ionic = ionic_mask(c["elements"])
    report = json.loads(Path(args.report).read_text()) if Path(args.report).exists() else {}
    for variant in args.variants.split(","):
        blocks = _Blocks(c, VARIANTS[variant])
        for grouping in args.groupings.split(","):
            groups = c["ids"] if grouping == "mp_id" else c["formulas"]
            t0 = time.perf_counter()
            n = len(c["ids"])
            oof = {k: np.zeros(n) for k in ("ln_K", "ln_G", "ln_pugh", "spread")}
            nfeat = 0
            for train, test in GroupKFold(n_splits=5).split(c["x"], groups=groups):
                x = blocks.build(train)
                nfeat = x.shape[1]
                ts = TrainingSet(x[train], c["ln_K"][train], c["ln_G"][train], list(c["ids"][train]), list(c["formulas"][train]))
                sur = fit_surrogate(ts, members=args.members, seed=0)
                sur.features = [f"f{i}" for i in range(nfeat)]
                mp = sur.member_predictions(x[test])
                blend = blend_ln_pugh(mp["ln_K"], mp["ln_G"], mp["ln_pugh"])
                oof["ln_K"][test], oof["ln_G"][test] = mp["ln_K"].mean(0), mp["ln_G"].mean(0)
                oof["ln_pugh"][test], oof["spread"][test] = blend.mean(0), blend.std(0, ddof=1)
            full = TrainingSet(c["x"], c["ln_K"], c["ln_G"], list(c["ids"]), list(c["formulas"]))
            sc = scores(full, oof)
            true = c["ln_K"] - c["ln_G"]
            sub = ionic
            sc["ionic"] = {
                "n": int(sub.sum()),
                "pugh_side_agreement": float(np.mean((true[sub] >= LN_PUGH_THRESHOLD) == (oof["ln_pugh"][sub] >= LN_PUGH_THRESHOLD))),
                "spearman_pugh": float(spearmanr(true[sub], oof["ln_pugh"][sub]).statistic),
                "mae_K_GPa": float(np.mean(np.abs(np.exp(c["ln_K"][sub]) - np.exp(oof["ln_K"][sub])))),
                "mae_G_GPa": float(np.mean(np.abs(np.exp(c["ln_G"][sub]) - np.exp(oof["ln_G"][sub])))),
            }
            sc.update({"variant": variant, "grouping": grouping, "members": args.members, "n_features": nfeat,
                       "spec": VARIANTS[variant], "wall_s": round(time.perf_counter() - t0, 1)})
            report[f"{variant}|{grouping}|m{args.members}"] = sc
            np.savez(Path(args.report).with_name(f"oof_{variant}_{grouping}_m{args.members}.npz"), **oof)
            Path(args.report).write_text(json.dumps(report, indent=1))
            print(f"{variant:12s} {grouping:7s} m{args.members} nf {nfeat:3d}: Pugh side {sc['pugh_side_agreement']:.3f} "
                  f"Spearman {sc['spearman_pugh']:.3f} MAE K {sc['mae_K_GPa']:.1f} G {sc['mae_G_GPa']:.1f} GPa | ionic "
                  f"(n {sc['ionic']['n']}) {sc['ionic']['pugh_side_agreement']:.3f} / {sc['ionic']['spearman_pugh']:.3f} "
                  f"[{sc['wall_s']:.0f} s]", flush=True)


def krr_oof(X: np.ndarray, y: dict[str, np.ndarray], groups, alpha: float, gamma_per_feature: float) -> dict[str, np.ndarray]:
    """Out-of-fold kernel ridge regression (RBF on standardised features, γ = gamma_per_feature / n_features) of
    ln K, ln G and ln(B/G); the same GroupKFold split as the GBT CV. ``ln_pugh`` is the heads' blend as the GBT's."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = {k: np.zeros(len(X)) for k in y}
    for train, test in GroupKFold(n_splits=5).split(X, groups=groups):
        for k, v in y.items():
            m = make_pipeline(StandardScaler(), KernelRidge(alpha=alpha, kernel="rbf", gamma=gamma_per_feature / X.shape[1]))
            out[k][test] = m.fit(X[train], v[train]).predict(X[test])
    out["ln_pugh"] = blend_ln_pugh(out["ln_K"], out["ln_G"], out["ln_pugh_direct"])
    return out


def _score_row(c, oof, ionic) -> dict:
    from scipy.stats import spearmanr

    from dsei.discovery.surrogate import LN_PUGH_THRESHOLD

    true = c["ln_K"] - c["ln_G"]
    res = {}
    for name, sub in (("all", np.ones(len(true), bool)), ("ionic", ionic)):
        res[name] = {
            "n": int(sub.sum()),
            "pugh_side_agreement": float(np.mean((true[sub] >= LN_PUGH_THRESHOLD) == (oof["ln_pugh"][sub] >= LN_PUGH_THRESHOLD))),
            "spearman_pugh": float(spearmanr(true[sub], oof["ln_pugh"][sub]).statistic),
            "mae_K_GPa": float(np.mean(np.abs(np.exp(c["ln_K"][sub]) - np.exp(oof["ln_K"][sub])))),
            "mae_G_GPa": float(np.mean(np.abs(np.exp(c["ln_G"][sub]) - np.exp(oof["ln_G"][sub])))),
        }
    return res


def cmd_ensemble(args) -> None:
    """GBT on the 32 descriptors (out-of-fold predictions saved by ``cv``) averaged with kernel ridge on the MLIP
    embeddings — and, as the control, with kernel ridge on the same 32 descriptors (no MLIP)."""
    c = dict(np.load(args.cache))
    ionic = ionic_mask(c["elements"])
    y = {"ln_K": c["ln_K"], "ln_G": c["ln_G"], "ln_pugh_direct": c["ln_K"] - c["ln_G"]}
    emb = np.hstack([c["crystal"], c["cation"], c["anion"]])
    report = {}
    for grouping in args.groupings.split(","):
        groups = c["ids"] if grouping == "mp_id" else c["formulas"]
        gbt = dict(np.load(Path(args.report).with_name(f"oof_base_{grouping}_m{args.members}.npz")))
        # hyperparameters: a 3 × 4 grid (α 0.03–0.3, γ·n_features 0.03–1) on the mp_id split, best Spearman
        k_emb = krr_oof(emb, y, groups, alpha=0.03, gamma_per_feature=0.33)
        k_emb_s = krr_oof(np.hstack([emb, c["scalars"]]), y, groups, alpha=0.03, gamma_per_feature=0.33)
        k_x = krr_oof(c["x"], y, groups, alpha=0.3, gamma_per_feature=0.96)
        rows = {
            "GBT(descriptors) [shipped model]": gbt,
            "KRR(descriptors)": k_x,
            "KRR(MLIP embeddings)": k_emb,
            "KRR(MLIP embeddings + E, P, magmom)": k_emb_s,
            "GBT(descriptors) + KRR(descriptors) [control, no MLIP]": {k: 0.5 * (gbt[k] + k_x[k]) for k in ("ln_K", "ln_G", "ln_pugh")},
            "GBT(descriptors) + KRR(MLIP embeddings)": {k: 0.5 * (gbt[k] + k_emb[k]) for k in ("ln_K", "ln_G", "ln_pugh")},
            "GBT(descriptors) + KRR(MLIP emb. + E, P, magmom)": {k: 0.5 * (gbt[k] + k_emb_s[k]) for k in ("ln_K", "ln_G", "ln_pugh")},
            "GBT + KRR(descriptors) + KRR(MLIP embeddings)": {k: (gbt[k] + k_x[k] + k_emb[k]) / 3 for k in ("ln_K", "ln_G", "ln_pugh")},
        }
        for name, oof in rows.items():
            sc = _score_row(c, oof, ionic)
            report[f"{name}|{grouping}"] = sc
            a, i = sc["all"], sc["ionic"]
            print(f"{grouping:7s} {name:55s} Pugh side {a['pugh_side_agreement']:.3f} Spearman {a['spearman_pugh']:.3f} "
                  f"MAE K {a['mae_K_GPa']:.1f} G {a['mae_G_GPa']:.1f} | ionic (n {i['n']}) {i['pugh_side_agreement']:.3f} / "
                  f"{i['spearman_pugh']:.3f}", flush=True)
    Path(args.out).write_text(json.dumps(report, indent=1))


def cmd_stack(args) -> None:
    """Stacking: the GBT on the 32 descriptors plus three more columns — kernel ridge predictions of ln K, ln G and
    ln(B/G) from ``--kernel-on`` (the CHGNet embeddings, or the 32 descriptors as the no-MLIP control). Nested: the
    training rows of each outer fold get the kernel model's inner out-of-fold predictions (same grouping), the test
    rows those of a kernel model fitted on all the fold's training rows."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from dsei.discovery.train import TrainingSet, fit_surrogate

    c = dict(np.load(args.cache))
    ionic = ionic_mask(c["elements"])
    if args.kernel_on == "mlip":
        z, alpha, gpf = np.hstack([c["crystal"], c["cation"], c["anion"]]), 0.03, 0.33
    else:
        z, alpha, gpf = c["x"], 0.3, 0.96
    heads = ("ln_K", "ln_G", "ln_pugh_direct")
    y = {"ln_K": c["ln_K"], "ln_G": c["ln_G"], "ln_pugh_direct": c["ln_K"] - c["ln_G"]}
    groups = c["ids"] if args.grouping == "mp_id" else c["formulas"]
    n = len(z)
    oof = {k: np.zeros(n) for k in ("ln_K", "ln_G", "ln_pugh")}
    t0 = time.perf_counter()
    for train, test in GroupKFold(n_splits=5).split(z, groups=groups):
        inner = krr_oof(z[train], {k: v[train] for k, v in y.items()}, groups[train], alpha, gpf)
        f_train = np.column_stack([inner[k] for k in heads])
        f_test = np.column_stack([
            make_pipeline(StandardScaler(), KernelRidge(alpha=alpha, kernel="rbf", gamma=gpf / z.shape[1]))
            .fit(z[train], y[k][train]).predict(z[test]) for k in heads])
        ts = TrainingSet(np.hstack([c["x"][train], f_train]), c["ln_K"][train], c["ln_G"][train],
                         list(c["ids"][train]), list(c["formulas"][train]))
        mp = fit_surrogate(ts, members=args.members).member_predictions(np.hstack([c["x"][test], f_test]))
        oof["ln_K"][test], oof["ln_G"][test] = mp["ln_K"].mean(0), mp["ln_G"].mean(0)
        oof["ln_pugh"][test] = blend_ln_pugh(mp["ln_K"], mp["ln_G"], mp["ln_pugh"]).mean(0)
    sc = _score_row(c, oof, ionic)
    sc.update({"kernel_on": args.kernel_on, "grouping": args.grouping, "members": args.members,
               "wall_s": round(time.perf_counter() - t0, 1)})
    a, i = sc["all"], sc["ionic"]
    print(f"stack GBT(32 + KRR({args.kernel_on})) {args.grouping} m{args.members}: Pugh side {a['pugh_side_agreement']:.3f} "
          f"Spearman {a['spearman_pugh']:.3f} MAE K {a['mae_K_GPa']:.1f} G {a['mae_G_GPa']:.1f} | ionic {i['pugh_side_agreement']:.3f} / "
          f"{i['spearman_pugh']:.3f} [{sc['wall_s']:.0f} s]", flush=True)
    Path(args.out).write_text(json.dumps(sc, indent=1))


def cmd_strain(args) -> None:
    """How much the predicted ln(B/G) moves when an input cell is not at equilibrium (the candidates are unrelaxed,
    the training cells are DFT-relaxed): every ``--every``-th training row at volume × (1 ± ``--dv``), KRR on the
    CHGNet embeddings (fitted on all rows) vs the shipped GBT surrogate on the 32 descriptors."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from dsei.discovery.surrogate import load_surrogate

    c = dict(np.load(args.cache))
    emb = np.hstack([c["crystal"], c["cation"], c["anion"]])
    y = c["ln_K"] - c["ln_G"]
    krr = make_pipeline(StandardScaler(), KernelRidge(alpha=0.03, kernel="rbf", gamma=0.33 / emb.shape[1])).fit(emb, y)
    sur = load_surrogate()
    rows = training_structures()[:: args.every]
    fz = CHGNetFeaturiser(stress=True)
    res = {}
    preds = {}
    for f in (1 - args.dv, 1.0, 1 + args.dv):
        structs = []
        for r in rows:
            s = r[0].copy()
            s.scale_lattice(s.volume * f)
            structs.append(s)
        e = fz(structs)
        preds[f] = (krr.predict(np.hstack([e["crystal"], e["cation"], e["anion"]])), sur.predict(structs).ln_pugh,
                    e["scalars"][:, 1])
    for f in (1 - args.dv, 1 + args.dv):
        res[f"volume x{f:.2f}"] = {
            "n": len(rows),
            "mean_abs_shift_ln_pugh_krr_mlip": float(np.mean(np.abs(preds[f][0] - preds[1.0][0]))),
            "mean_abs_shift_ln_pugh_gbt_descriptors": float(np.mean(np.abs(preds[f][1] - preds[1.0][1]))),
            "median_pressure_GPa": float(np.median(preds[f][2])),
        }
    print(json.dumps(res, indent=1))


def cmd_speed(args) -> None:
    from dsei.discovery.enumerate import enumerate_candidates
    from dsei.discovery.features import featurize_many

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from anchor import lif_anchor_s

    from dsei.discovery.surrogate import load_surrogate
    from dsei.models import load_model

    anchor_s = lif_anchor_s(load_model("sevennet"))
    en = enumerate_candidates("Li", ["Ag", "Cu", "Zn", "Sn", "Bi", "In"], ["F", "Cl", "Br", "I", "O", "S", "Se"],
                              max_candidates=args.n)
    structs = list(en.structures)[: args.n]
    fz = CHGNetFeaturiser(stress=True)
    fz(structs[:8])  # warm-up
    t0 = time.perf_counter()
    featurize_many(structs)
    t_desc = time.perf_counter() - t0
    sur = load_surrogate()
    t0 = time.perf_counter()
    sur.predict(structs)
    t_sur = time.perf_counter() - t0
    res = {"anchor_s": anchor_s, "n": len(structs), "mean_sites": float(np.mean([len(s) for s in structs])),
           "ms_desc": t_desc / len(structs) * 1e3, "ms_shipped_surrogate_incl_features": t_sur / len(structs) * 1e3}
    for stress in (False, True):
        fz.stress = stress
        for bs in (16, 32, 64):
            t0 = time.perf_counter()
            f = fz(structs, batch_size=bs)
            res[f"ms_mlip_bs{bs}{'_stress' if stress else ''}"] = (time.perf_counter() - t0) / len(structs) * 1e3
    res["pressure_GPa_percentiles_5_50_95"] = [float(v) for v in np.percentile(f["scalars"][:, 1], [5, 50, 95])]
    print(json.dumps(res, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("featurise")
    a.add_argument("--cache", default="bench-out/mlip_features.npz")
    a.add_argument("--batch-size", type=int, default=32)
    a.add_argument("--model", choices=("chgnet", "sevennet"), default="chgnet")
    b = sub.add_parser("cv")
    b.add_argument("--cache", default="bench-out/mlip_features.npz")
    b.add_argument("--members", type=int, default=2)
    b.add_argument("--variants", default=",".join(VARIANTS))
    b.add_argument("--groupings", default="mp_id")
    b.add_argument("--report", default="bench-out/mlip_features_cv.json")
    e = sub.add_parser("ensemble")
    e.add_argument("--cache", default="bench-out/mlip_features.npz")
    e.add_argument("--members", type=int, default=5)
    e.add_argument("--groupings", default="mp_id,formula")
    e.add_argument("--report", default="bench-out/mlip_features_cv.json", help="where cv wrote its oof_*.npz")
    e.add_argument("--out", default="bench-out/mlip_ensemble.json")
    k = sub.add_parser("stack")
    k.add_argument("--cache", default="bench-out/mlip_features.npz")
    k.add_argument("--members", type=int, default=5)
    k.add_argument("--kernel-on", choices=("mlip", "descriptors"), default="mlip")
    k.add_argument("--grouping", choices=("mp_id", "formula"), default="mp_id")
    k.add_argument("--out", default="bench-out/mlip_stack.json")
    t = sub.add_parser("strain")
    t.add_argument("--cache", default="bench-out/mlip_features.npz")
    t.add_argument("--every", type=int, default=10)
    t.add_argument("--dv", type=float, default=0.1)
    s = sub.add_parser("speed")
    s.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    {"featurise": cmd_featurise, "cv": cmd_cv, "ensemble": cmd_ensemble, "stack": cmd_stack, "strain": cmd_strain, "speed": cmd_speed}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
