"""An end-to-end fine-tuned GNN as the discovery surrogate (issue 21's untried lever; results: docs/discovery.md §2).

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_gnn.py prepare            # CHGNet graphs of the 1,949 rows
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_gnn.py fold --fold K      # K = 0…4: fine-tune, predict (~20 min)
    OMP_NUM_THREADS=1 nice python benchmarks/discovery_gnn.py gbt                # the shipped trees on the same folds
    python benchmarks/discovery_gnn.py score                                     # the table

The measured MLIP-feature levers (benchmarks/discovery_mlip_features.py) froze CHGNet and fed its embeddings to
trees or a kernel model. Here the whole network learns the target: CHGNet 0.3.0 (weights in the chgnet wheel,
offline) reads the *unrelaxed* input cell, its last layer's atom features are averaged over the atoms (64) and
joined with the surrogate's 32 standardised descriptors (:mod:`dsei.discovery.features`), and a small MLP head
(96 → 128 → 3, SiLU, dropout 0.1) predicts the standardised ln K, ln G and ln(B/G). Backbone and head train
together (AdamW; lr 2·10⁻⁴ backbone, 10⁻³ head, cosine; weight decay 10⁻⁴; batch 32; mean squared error of the three
standardised targets). The settings were fixed before any fold was scored; the final epoch is used (no epoch picked
on a test fold).

Rows, split and scores are the surrogate's: the shipped training rows (``training_features.json.gz``: the dev set
and the full-tensor set of ../shared/data, one row per mp_id, 1,949), their structures from ../shared/data, the same
grouped 5-fold split (:func:`dsei.discovery.train.cross_validate`'s ``GroupKFold`` by mp_id), and
:func:`dsei.discovery.train.scores`. ``score`` prints the GNN alone, the shipped trees, and their average in ln space.
Outputs go to ``--out`` (default bench-out/gnn; not committed).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = ("mp_binary_elasticity_dev.json.gz", "mp_elastic_tensors_dejong2015.json.gz")
SETTINGS = {"epochs": 24, "lr_backbone": 2e-4, "lr_head": 1e-3, "weight_decay": 1e-4, "batch": 32, "hidden": 128,
            "dropout": 0.1}


def _rows():
    from dsei.discovery.train import load_training_features

    return load_training_features()


def _need(path: Path, step: str) -> None:
    if not path.exists():
        sys.exit(f"error: {path}: not found (run `python benchmarks/discovery_gnn.py {step}` first)")


def _folds(ts, folds: int = 5):
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(n_splits=folds).split(ts.x, groups=ts.ids))


def prepare(out: Path) -> None:
    import torch
    from chgnet.model import CHGNet
    from pymatgen.core import Structure

    ts = _rows()
    want = set(ts.ids)
    structs = {}
    for name in SOURCES:
        with gzip.open(SHARED / name, "rt") as fh:
            for d in json.load(fh):
                if d["mp_id"] in want and d["mp_id"] not in structs:
                    structs[d["mp_id"]] = d["structure"]
    model = CHGNet.load(verbose=False)
    t0 = time.perf_counter()
    graphs = [model.graph_converter(Structure.from_dict(structs[i])) for i in ts.ids]
    print(f"{len(graphs)} graphs in {time.perf_counter() - t0:.0f} s")
    torch.save({"ids": ts.ids, "graphs": graphs}, out / "graphs.pt")


class Head:
    """CHGNet backbone + MLP head; built lazily so ``score`` needs no torch."""

    def __init__(self, n_desc: int, hidden: int, dropout: float):
        import torch
        from chgnet.model import CHGNet

        self.torch = torch
        self.backbone = CHGNet.load(verbose=False)
        self.backbone.composition_model = None  # only forward() adds its energy offsets; _compute, used here, never does
        dim = self.backbone.atom_embedding.embedding.embedding_dim  # 64 for CHGNet 0.3.0
        self.mlp = torch.nn.Sequential(torch.nn.Linear(dim + n_desc, hidden), torch.nn.SiLU(), torch.nn.Dropout(dropout),
                                       torch.nn.Linear(hidden, 3))

    def parameter_groups(self) -> tuple[list, list]:
        """(backbone, head) parameters: they train at different learning rates."""
        return [p for p in self.backbone.parameters() if p.requires_grad], list(self.mlp.parameters())

    def train(self, on: bool = True):
        self.backbone.train(on)
        self.mlp.train(on)

    def __call__(self, graphs, desc):
        from chgnet.model.model import BatchedGraph

        m = self.backbone
        bg = BatchedGraph.from_graphs(graphs, bond_basis_expansion=m.bond_basis_expansion,
                                      angle_basis_expansion=m.angle_basis_expansion, compute_stress=False)
        p = m._compute(bg, return_crystal_feas=True)
        fea = p["crystal_fea"] / p["atoms_per_graph"][:, None].to(p["crystal_fea"].dtype)  # sum pooling → mean
        return self.mlp(self.torch.cat([fea, desc], dim=1))


def run_fold(out: Path, k: int, seed: int = 0) -> None:
    import torch

    torch.manual_seed(seed)
    ts = _rows()
    _need(out / "graphs.pt", "prepare")
    data = torch.load(out / "graphs.pt", weights_only=False)
    if data["ids"] != ts.ids:
        sys.exit(f"error: {out / 'graphs.pt'}: its rows are not the shipped training rows (rerun prepare)")
    graphs = data["graphs"]
    train, test = _folds(ts)[k]
    y = np.stack([ts.ln_K, ts.ln_G, ts.ln_K - ts.ln_G], axis=1)
    mu, sd = y[train].mean(0), y[train].std(0)
    xm, xs = ts.x[train].mean(0), ts.x[train].std(0) + 1e-9
    X = torch.tensor((ts.x - xm) / xs, dtype=torch.float32)
    Y = torch.tensor((y - mu) / sd, dtype=torch.float32)
    s = SETTINGS
    model = Head(ts.x.shape[1], s["hidden"], s["dropout"])
    backbone, head = model.parameter_groups()
    opt = torch.optim.AdamW([{"params": backbone, "lr": s["lr_backbone"]}, {"params": head, "lr": s["lr_head"]}],
                            weight_decay=s["weight_decay"])
    steps = s["epochs"] * math.ceil(len(train) / s["batch"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps)))
    rng = np.random.default_rng(seed)
    log = []
    t0 = time.perf_counter()
    for epoch in range(s["epochs"]):
        model.train(True)
        order = rng.permutation(train)
        tot = 0.0
        for i in range(0, len(order), s["batch"]):
            b = order[i:i + s["batch"]]
            pred = model([graphs[j] for j in b], X[b])
            loss = ((pred - Y[b]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(b)
        log.append(tot / len(order))
        print(f"fold {k} epoch {epoch + 1}: train loss {log[-1]:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    model.train(False)
    preds = []
    with torch.no_grad():
        for i in range(0, len(test), 64):
            b = test[i:i + 64]
            preds.append(model([graphs[j] for j in b], X[b]).numpy())
    p = np.vstack(preds) * sd + mu
    (out / f"oof_fold{k}.json").write_text(json.dumps({
        "fold": k, "settings": s, "test": test.tolist(), "ln_K": p[:, 0].tolist(), "ln_G": p[:, 1].tolist(),
        "ln_pugh_direct": p[:, 2].tolist(), "train_loss": log, "seconds": time.perf_counter() - t0}))


def gbt(out: Path, members: int) -> None:
    from dsei.discovery.train import cross_validate

    ts = _rows()
    oof = cross_validate(ts, ts.ids, members=members)
    np.savez(out / "gbt_oof.npz", **oof)


def score(out: Path) -> None:
    from dsei.discovery.surrogate import blend_ln_pugh
    from dsei.discovery.train import scores

    ts = _rows()
    n = len(ts)
    g = {k: np.full(n, np.nan) for k in ("ln_K", "ln_G", "ln_pugh_direct")}
    folds = sorted(out.glob("oof_fold*.json"))
    if not folds:
        _need(out / "oof_fold0.json", "fold --fold 0")
    _need(out / "gbt_oof.npz", "gbt")
    for f in folds:
        d = json.loads(f.read_text())
        for k in g:
            g[k][d["test"]] = d[k]
    have = ~np.isnan(g["ln_K"])
    g["ln_pugh"] = blend_ln_pugh(g["ln_K"], g["ln_G"], g["ln_pugh_direct"])
    t = dict(np.load(out / "gbt_oof.npz"))
    both = {k: 0.5 * (g[k] + t[k]) for k in ("ln_K", "ln_G", "ln_pugh")}
    sub = ts.subset(have)
    print(f"{len(folds)} fold(s), {have.sum()} of {n} rows scored\n")
    print("| model | Pugh side | Spearman B/G | MAE ln(B/G) | MAE K (GPa) | MAE G (GPa) |\n|---|---|---|---|---|---|")
    for label, o in (("shipped trees (32 descriptors, 5 members)", t), ("fine-tuned CHGNet + descriptors", g),
                     ("average of the two", both)):
        sc = scores(sub, {k: v[have] for k, v in o.items()})
        print(f"| {label} | {100 * sc['pugh_side_agreement']:.1f} % | {sc['spearman_pugh']:.3f} | "
              f"{sc['mae_ln_pugh']:.3f} | {sc['mae_K_GPa']:.1f} | {sc['mae_G_GPa']:.1f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["prepare", "fold", "gbt", "score"])
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--members", type=int, default=5, help="gbt: bootstrap members per head (shipped: 5)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/gnn"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    {"prepare": lambda: prepare(args.out), "fold": lambda: run_fold(args.out, args.fold),
     "gbt": lambda: gbt(args.out, args.members), "score": lambda: score(args.out)}[args.what]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
