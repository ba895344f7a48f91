"""Do richer composition or structure-type descriptors improve the discovery surrogate's B/G? (Measured: no.)

    OMP_NUM_THREADS=1 nice python benchmarks/discovery_descriptors.py [--members 2] [--variants base,elemental,prototype]

The surrogate's grouped 5-fold CV (by mp_id, the shipped training rows of
``dsei/discovery/data/training_features.json.gz``: the two elasticity sets of ../shared/data, one row per mp_id),
with the shipped 32 descriptors plus:

- ``elemental``: 15 elemental properties from pymatgen's periodic table (experimental elemental bulk, shear and
  Young's moduli, Poisson's ratio, molar volume, Mendeleev number, first ionisation energy, electron affinity,
  boiling point, solid density, atomic mass; s/p/d/f valence electron counts), each as the atomic-fraction-weighted
  mean, min, max and mean absolute deviation over the formula (Magpie style: L. Ward et al., npj Comput. Mater. 2,
  16028 (2016)); a property an element lacks is left out of its statistics, a statistic no element has takes the
  column median;
- ``prototype``: a target encoding of the structure type — for each row the smoothed mean ln(B/G) and ln G of the
  *training-fold* rows with the same prototype label (anonymous formula + spglib space group at symprec 0.1 +
  the set of occupied Wyckoff letters), leave-one-out on the training rows, with the count; ``prototype2`` adds
  a coarser label (anonymous formula + space group).

Prints Pugh-side agreement, Spearman of B/G, MAE of ln(B/G), K and G for each variant. Results:
docs/discovery.md §2.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import sys
import warnings
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from dsei.discovery.surrogate import blend_ln_pugh

ROOT = Path(__file__).resolve().parents[1]
DATA = [ROOT.parent / "shared" / "data" / "mp_binary_elasticity_dev.json.gz",
        ROOT.parent / "shared" / "data" / "mp_elastic_tensors_dejong2015.json.gz"]
PROPS = ("bulk_modulus", "rigidity_modulus", "youngs_modulus", "poissons_ratio", "molar_volume", "mendeleev_no",
         "ionization_energy", "electron_affinity", "boiling_point", "density_of_solid", "atomic_mass")


@functools.lru_cache(None)
def element_properties(symbol: str) -> np.ndarray:
    from pymatgen.core import Element

    el = Element(symbol)
    out = []
    for p in PROPS:
        try:
            v = getattr(el, p)
            out.append(float(v) if v is not None else np.nan)
        except (AttributeError, TypeError, ValueError):
            out.append(np.nan)
    fes = el.full_electronic_structure
    nmax = max(n for n, _, _ in fes)
    shells = {"s": (nmax,), "p": (nmax,), "d": (nmax - 1,), "f": (nmax - 2,)}
    out += [float(sum(c for n, sub, c in fes if sub == k and n in shells[k])) for k in "spdf"]
    return np.array(out, float)


def elemental_features(formulas: list[str]) -> np.ndarray:
    from pymatgen.core import Composition

    rows = []
    for formula in formulas:
        comp = Composition(formula)
        frac = np.array([comp.get_atomic_fraction(e) for e in comp.elements])
        props = np.vstack([element_properties(e.symbol) for e in comp.elements])
        row = []
        for j in range(props.shape[1]):
            col, known = props[:, j], ~np.isnan(props[:, j])
            if not known.any():
                row += [np.nan] * 4
                continue
            w = frac[known] / frac[known].sum()
            mean = float(w @ col[known])
            row += [mean, float(col[known].min()), float(col[known].max()), float(w @ np.abs(col[known] - mean))]
        rows.append(row)
    x = np.array(rows)
    med = np.nanmedian(x, axis=0)
    return np.where(np.isnan(x), np.where(np.isfinite(med), med, 0.0), x)


def prototype_labels(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    import spglib
    from pymatgen.core import Structure

    structs: dict[str, dict] = {}
    for p in DATA:
        for d in json.load(gzip.open(p)):
            structs.setdefault(d["mp_id"], d["structure"])
    fine, coarse = [], []
    for i in ids:
        s = Structure.from_dict(structs[i])
        cell = (s.lattice.matrix, s.frac_coords, [site.specie.Z for site in s])
        try:
            ds = spglib.get_symmetry_dataset(cell, symprec=0.1)
            sg, wy = ds.number, "".join(sorted(set(ds.wyckoffs)))
        except Exception:  # noqa: BLE001 - spglib gave up: its own label
            sg, wy = 0, ""
        anon = s.composition.anonymized_formula
        fine.append(f"{anon}_{sg}_{wy}")
        coarse.append(f"{anon}_{sg}")
    return np.array(fine), np.array(coarse)


def target_encoding(labels: np.ndarray, train: np.ndarray, rows: np.ndarray, y: np.ndarray, leave_one_out: bool) -> np.ndarray:
    """(smoothed mean of y over the training rows with the row's label, their count) per row; prior weight 2."""
    total: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for i in train:
        total[labels[i]] += y[i]
        count[labels[i]] += 1
    prior = float(y[train].mean())
    out = np.zeros((len(rows), 2))
    for k, i in enumerate(rows):
        t, c = total[labels[i]], count[labels[i]]
        if leave_one_out:
            t, c = t - y[i], c - 1
        out[k] = ((t + 2 * prior) / (c + 2), c)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=2, help="bootstrap members per head (shipped: 5)")
    ap.add_argument("--variants", default="base,elemental,prototype,prototype2")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from sklearn.model_selection import GroupKFold

    from dsei.discovery.train import fit_surrogate, load_training_features, scores

    ts = load_training_features()
    n = len(ts)
    variants = args.variants.split(",")
    extra = elemental_features(ts.formulas) if "elemental" in variants else None
    fine = coarse = None
    if any(v.startswith("prototype") for v in variants):
        if not all(p.exists() for p in DATA):
            sys.exit("error: ../shared/data: the elasticity sets are needed for the prototype labels")
        fine, coarse = prototype_labels(ts.ids)
        print(f"prototype labels: {len(set(fine))} fine, {len(set(coarse))} coarse over {n} rows")
    ln_pugh = ts.ln_K - ts.ln_G
    for v in variants:
        oof = {k: np.zeros(n) for k in ("ln_K", "ln_G", "ln_pugh")}
        for train, test in GroupKFold(n_splits=5).split(ts.x, groups=ts.ids):
            x_tr, x_te = [ts.x[train]], [ts.x[test]]
            if v == "elemental":
                x_tr.append(extra[train])
                x_te.append(extra[test])
            labels = {"prototype": [fine], "prototype2": [fine, coarse]}.get(v, [])
            for lab in labels:
                for y in (ln_pugh, ts.ln_G):
                    x_tr.append(target_encoding(lab, train, train, y, True))
                    x_te.append(target_encoding(lab, train, test, y, False))
            mask = np.zeros(n, bool)
            mask[train] = True
            sur = fit_surrogate(replace(ts.subset(mask), x=np.hstack(x_tr)), members=args.members)
            mp = sur.member_predictions(np.hstack(x_te))
            oof["ln_K"][test] = mp["ln_K"].mean(0)
            oof["ln_G"][test] = mp["ln_G"].mean(0)
            oof["ln_pugh"][test] = blend_ln_pugh(mp["ln_K"], mp["ln_G"], mp["ln_pugh"]).mean(0)
        sc = scores(ts, oof)
        print(f"{v:11s} Pugh side {sc['pugh_side_agreement'] * 100:.1f} %  Spearman {sc['spearman_pugh']:.3f}  "
              f"MAE ln(B/G) {sc['mae_ln_pugh']:.3f}  MAE K {sc['mae_K_GPa']:.2f} GPa  MAE G {sc['mae_G_GPa']:.2f} GPa", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
