"""Fast structure descriptors for the discovery surrogate (milliseconds per structure, no MLIP).

Two groups, all plain floats in a fixed order (:data:`FEATURES`):

- **composition** (Magpie-like elemental statistics, L. Ward et al., npj Comput. Mater. 2, 16028 (2016)): the
  ten descriptors of :data:`dsei.mechanics.calibration.COMPOSITION_FEATURES`, plus the electronegativity spread,
  all-metal flag, transition-metal fraction, mean period, and atomic-fraction-weighted mean / min / max of the
  Pauling electronegativity, atomic radius, row and melting point, and the number of elements;
- **structure**: ln volume per atom (Å³), density (g/cm³), packing fraction (Σ 4/3 π r_atomic³ / V), mean and
  minimum nearest-neighbour distance over the sum of the two atomic radii, mean and spread of a coordination
  number (neighbours within 1.2 × each site's nearest distance), crystal system from spglib (symprec 0.1, as an
  index 0 triclinic … 6 cubic) and sites per primitive cell.

Why not MLIP embeddings: measured (benchmarks/discovery_mlip_features.py, docs/discovery.md §2). CHGNet's crystal
and cation/anion-pooled atom features of the unrelaxed cell (one forward pass, ~20 ms per candidate on one core,
affordable) do not improve the trees' B/G under grouped CV; a kernel model on them stacked under the trees adds
+1.8 points Pugh side / +0.035 Spearman by mp_id (a descriptor-only kernel model: +0.4 / +0.008) but +0.4 / +0.029
by formula — below the +2 points / +0.05 that would justify shipping a second model and its training embeddings.
SevenNet-0's node features do worse, and CHGNet fine-tuned end to end with a property head on these descriptors
(benchmarks/discovery_gnn.py) is two points behind the trees alone. Richer composition statistics (15 elemental
properties incl. the elements' moduli) and a structure-type target encoding did not move B/G either
(benchmarks/discovery_descriptors.py).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from pymatgen.core import Composition, Element, Structure

from dsei.mechanics.calibration import _composition_features

COMPOSITION = (
    "vec", "mean_group", "group_spread", "radius_mismatch", "mean_chi", "ln_mass", "min_fraction", "ln_melting",
    "p_fraction", "f_fraction",
    "dchi", "all_metal", "tm_fraction", "mean_period", "min_chi", "max_chi", "mean_radius", "min_radius",
    "max_radius", "max_row", "min_melting", "n_elements", "alkali_fraction",
)
STRUCTURE = (
    "ln_volume", "density", "packing_fraction", "mean_nn_over_radii", "min_nn_over_radii", "mean_cn", "cn_spread",
    "crystal_system", "ln_nsites",
)
#: feature order of the surrogate (a shipped model names its own; see :mod:`dsei.discovery.surrogate`)
FEATURES = COMPOSITION + STRUCTURE

@functools.lru_cache(maxsize=256)
def _element(symbol: str) -> dict[str, float]:
    el = Element(symbol)
    x = float(el.X)
    return {
        "chi": x if math.isfinite(x) else float("nan"),
        "radius": float(el.atomic_radius or el.atomic_radius_calculated or 1.5),
        "row": float(el.row),
        "melting": float(el.melting_point or 300.0),
        "metal": float(el.is_metal),
        "tm": float(el.is_transition_metal or el.is_lanthanoid or el.is_actinoid),
        "alkali": float(el.is_alkali),
    }


@functools.lru_cache(maxsize=4096)
def composition_features(formula: str) -> tuple[float, ...]:
    """The :data:`COMPOSITION` descriptors of a formula (cached: candidates share compositions)."""
    comp = Composition(formula)
    frac = {el: comp.get_atomic_fraction(el) for el in comp.elements}
    base = _composition_features(frac)
    props = {el.symbol: _element(el.symbol) for el in frac}
    f = np.array(list(frac.values()))
    chis = [(fr, props[el.symbol]["chi"]) for el, fr in frac.items() if math.isfinite(props[el.symbol]["chi"])]
    chi_vals = [c for _, c in chis] or [0.0]
    radii = np.array([props[el.symbol]["radius"] for el in frac])
    rows = [props[el.symbol]["row"] for el in frac]
    melt = [props[el.symbol]["melting"] for el in frac]
    extra = {
        "dchi": max(chi_vals) - min(chi_vals),
        "all_metal": float(all(props[el.symbol]["metal"] for el in frac)),
        "tm_fraction": float(sum(fr * props[el.symbol]["tm"] for el, fr in frac.items())),
        "mean_period": float(f @ np.array(rows)),
        "min_chi": min(chi_vals),
        "max_chi": max(chi_vals),
        "mean_radius": float(f @ radii),
        "min_radius": float(radii.min()),
        "max_radius": float(radii.max()),
        "max_row": max(rows),
        "min_melting": math.log(min(melt)),
        "n_elements": float(len(frac)),
        "alkali_fraction": float(sum(fr * props[el.symbol]["alkali"] for el, fr in frac.items())),
    }
    merged = {**base, **extra}
    return tuple(float(merged[k]) for k in COMPOSITION)


def structure_features(struct: Structure) -> tuple[float, ...]:
    """The :data:`STRUCTURE` descriptors of one structure (see module doc)."""
    import spglib

    n = len(struct)
    vol = float(struct.volume)
    species = [site.specie.symbol if hasattr(site.specie, "symbol") else str(site.specie) for site in struct]
    species = [Element(s).symbol if s in Element.__members__ else s for s in species]
    radii = np.array([_element(s)["radius"] for s in species])
    packing = float(np.sum(4.0 / 3.0 * np.pi * radii**3) / vol)
    # nearest neighbours from pymatgen's (compiled) neighbour list; the cutoff grows until every site has one
    cutoff = max(4.0, 2.2 * float(radii.max()))
    for _ in range(4):
        centers, points, _, dists = struct.get_neighbor_list(cutoff)
        if len(centers) and len(np.unique(centers)) == n:
            break
        cutoff *= 1.5
    nn = np.full(n, np.inf)
    np.minimum.at(nn, centers, dists)
    ratio = dists / (radii[centers] + radii[points])
    nn_ratio = np.full(n, np.inf)
    np.minimum.at(nn_ratio, centers, ratio)
    within = dists <= 1.2 * nn[centers]
    cn = np.bincount(centers[within], minlength=n).astype(float)
    cell = (struct.lattice.matrix, struct.frac_coords, [site.specie.Z for site in struct])
    try:
        sg = spglib.get_symmetry_dataset(cell, symprec=0.1)
        number = int(sg.number)  # spglib >= 2.5 (pinned): a SpglibDataset with attributes
    except Exception:  # noqa: BLE001 - spglib gives up on a broken cell: call it triclinic
        number = 1
    system = 0 if number <= 2 else 1 if number <= 15 else 2 if number <= 74 else 3 if number <= 142 else 4 if number <= 167 else 5 if number <= 194 else 6
    nsites_prim = n
    try:
        prim = spglib.find_primitive(cell, symprec=0.1)
        if prim is not None:
            nsites_prim = len(prim[2])
    except Exception:  # noqa: BLE001
        pass
    return (
        math.log(vol / n),
        float(struct.density),
        packing,
        float(np.mean(nn_ratio)),
        float(np.min(nn_ratio)),
        float(np.mean(cn)),
        float(np.max(cn) - np.min(cn)),
        float(system),
        math.log(nsites_prim),
    )


def featurize(struct: Structure) -> np.ndarray:
    """All :data:`FEATURES` of one structure as a float vector."""
    return np.array(composition_features(struct.composition.reduced_formula) + structure_features(struct), dtype=float)


def featurize_many(structs) -> np.ndarray:
    return np.vstack([featurize(s) for s in structs]) if len(structs) else np.zeros((0, len(FEATURES)))
