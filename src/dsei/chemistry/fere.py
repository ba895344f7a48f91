"""Fitted elemental reference energies (FERE) for MLIP thermochemistry: the data, the fit and the shipped fits.

Method (Stevanović, Lany, Zhang, Zunger, PRB 85, 115104 (2012)), adapted to MLIP energies: for every
binary compound c with an experimental standard formation enthalpy ΔfH°(c) (``data/thermo_exp.json``)
and an MLIP energy E(c) (per formula unit, at the ``base`` level: ``none`` or ``mp2020``)::

    E(c) − Σ_metals n_m (E_m + δ_m) − Σ_anions n_x μ_x  =  ΔfH°(c)

with E_m the MLIP energy of the elemental metal. The unknowns — one shift δ_m per metal and one
reference μ_x per non-metal — are fitted by linear least squares on the per-atom residuals, with a
weak ridge (``RIDGE``) pulling each δ_m to 0. The ridge only fixes the one direction the data leave
free (δ_m += t·ox_m, μ_x += t·ox_x leaves every charge-balanced compound unchanged) and sets δ = 0 for
a metal without any training compound; reduction and exchange energies are invariant to that
direction, so it changes no reported potential.

Applied (:mod:`dsei.chemistry.energies`): compounds containing an anion get −Σ n_m δ_m; elemental metals
and intermetallics keep their MLIP energies; non-metals take μ_x as their reference. Nothing is tuned to
individual compounds. Compounds whose tabulated ΔfH° uncertainty exceeds ``MAX_EXP_UNCERTAINTY_eV`` are
neither fitted nor benchmarked.

This module is a leaf of :mod:`dsei.chemistry`: it imports nothing from it, so that
:mod:`dsei.chemistry.energies` can apply a fit (:func:`shipped_fit`, or :func:`fit_fere` on the fly for a
model with none shipped) and :mod:`dsei.chemistry.corrections` — which writes the shipped fits and
cross-validates them — can import :mod:`~dsei.chemistry.energies`: the imports go one way. The functions that
need energies take an *energy set* (a :class:`dsei.chemistry.energies.EnergySet`: ``model``,
``correction``, ``phases()``, ``energy(formula)``, ``energy_per_atom(formula)``) as an argument.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from pymatgen.core import Composition

#: elements treated as anions (the FERE correction shifts the metals of compounds that contain one)
ANION_ELEMENTS = ("F", "Cl", "Br", "I", "O", "S", "Se", "Te", "N", "P", "H", "C", "B", "As", "Sb")

RIDGE = 1e-3
#: compounds left out of the fit and the benchmark: peroxides (O–O bonded, not O²⁻); InBr, whose value in the
#: MP2020 experimental set (−20.5 kJ/mol) cannot be the solid's (CRC Handbook: ΔfH°(InBr, s) = −175.3 kJ/mol;
#: InCl −186.2, InI −116.3 bracket it), so it is neither fitted nor benchmarked
EXCLUDED = ("Li2O2", "InBr")
#: compounds whose tabulated ΔfH° uncertainty exceeds this (eV per f.u.) are neither fitted nor benchmarked:
#: a reference uncertain by several times the 0.05 V target can neither train nor test the scheme
#: (in the table: Na2Te ±0.26, CaSe ±0.35 eV; the largest one kept is BiF3 ±0.15 eV)
MAX_EXP_UNCERTAINTY_eV = 0.2
FIT_FILE = "fere_fits.json"
#: models whose fits ``data/fere_fits.json`` ships (python -m dsei.chemistry.corrections)
FIT_MODELS = ("sevennet", "chgnet", "sevennet-mf-r2scan", "sevennet-l3i5", "chgnet-r2scan")


def data_dir() -> Path:
    """``dsei/chemistry/data``: the experimental table, the shipped fits and the extra energies."""
    return Path(str(resources.files("dsei.chemistry") / "data"))


@lru_cache(maxsize=1)
def thermo_data() -> dict:
    return json.loads((data_dir() / "thermo_exp.json").read_text())


def exp_uncertainty(formula: str) -> float:
    """Tabulated uncertainty of ΔfH° (eV per formula unit as written); 0 where the table gives none."""
    comp = Composition(formula)
    rec = thermo_data()["compounds"].get(comp.reduced_formula) or {}
    factor = comp.num_atoms / Composition(comp.reduced_formula).num_atoms
    return float(rec.get("uncertainty_eV_per_fu") or 0.0) * factor


def usable(formula: str) -> bool:
    """In the experimental table, not excluded by rule, and known to better than MAX_EXP_UNCERTAINTY_eV."""
    red = Composition(formula).reduced_formula
    return (
        red in thermo_data()["compounds"]
        and red not in EXCLUDED
        and exp_uncertainty(red) <= MAX_EXP_UNCERTAINTY_eV
    )


def exp_dhf(formula: str) -> float | None:
    """Experimental ΔfH° (eV per formula unit as written) or None."""
    comp = Composition(formula)
    rec = thermo_data()["compounds"].get(comp.reduced_formula)
    if rec is None:
        return None
    factor = comp.num_atoms / Composition(comp.reduced_formula).num_atoms
    return rec["dHf_eV_per_fu"] * factor


@dataclass
class FereFit:
    model: str
    base: str
    ridge: float
    #: δ per metal (eV/atom): fitted μ − MLIP elemental energy
    delta: dict[str, float]
    #: fitted μ per element (eV/atom): metals E_m + δ_m, non-metals the fitted reference
    mu: dict[str, float]
    compounds: list[str]
    #: in-sample residual ΔfH(fit) − ΔfH(exp), eV/atom
    residuals_eV_per_atom: dict[str, float] = field(default_factory=dict)
    #: leave-one-out residuals, eV/atom (each compound predicted by a fit without it)
    loo_residuals_eV_per_atom: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def training_rows(es) -> list[tuple[str, float, float]]:
    """(formula, E per f.u. at ``es``'s level, ΔfH_exp per f.u.) for every binary with both numbers."""
    phases = es.phases()
    out = []
    for formula in thermo_data()["compounds"]:
        comp = Composition(formula)
        if not usable(formula) or len(comp.elements) != 2 or formula not in phases:
            continue
        metals = [e.symbol for e in comp.elements if e.symbol not in ANION_ELEMENTS]
        if len(metals) != 1 or metals[0] not in phases:
            continue
        out.append((formula, es.energy(formula), exp_dhf(formula)))
    return out


def fit_fere(
    es,
    exclude: tuple[str, ...] | set[str] = (),
    ridge: float = RIDGE,
    data: list[tuple[str, float, float]] | None = None,
) -> FereFit:
    """The FERE fit of the energy set ``es`` (its model, at its correction level ``none`` or ``mp2020``) to the
    experimental ΔfH° of ``data`` (default :func:`training_rows` of ``es``) less the compounds in ``exclude``."""
    rows = [r for r in (data if data is not None else training_rows(es)) if r[0] not in set(exclude)]
    comps = [Composition(f) for f, _, _ in rows]
    metals = sorted({e.symbol for c in comps for e in c.elements if e.symbol not in ANION_ELEMENTS})
    anions = sorted({e.symbol for c in comps for e in c.elements if e.symbol in ANION_ELEMENTS})
    cols = metals + anions
    e_metal = {m: es.energy_per_atom(m) for m in metals}
    A, b = [], []
    for (_f, e_fu, dh), c in zip(rows, comps, strict=True):
        n = c.num_atoms
        A.append([c[m] / n for m in cols])
        b.append((e_fu - sum(c[m] * e_metal[m] for m in metals) - dh) / n)
    for i, _m in enumerate(metals):
        row = [0.0] * len(cols)
        row[i] = np.sqrt(ridge)
        A.append(row)
        b.append(0.0)
    x, *_ = np.linalg.lstsq(np.array(A), np.array(b), rcond=None)
    delta = {m: float(x[i]) for i, m in enumerate(metals)}
    mu = {m: e_metal[m] + delta[m] for m in metals} | {
        a: float(x[len(metals) + j]) for j, a in enumerate(anions)
    }
    res = {}
    for (f, e_fu, dh), c in zip(rows, comps, strict=True):
        pred = e_fu - sum(c[el.symbol] * mu[el.symbol] for el in c.elements)
        res[f] = (pred - dh) / c.num_atoms
    return FereFit(es.model, es.correction, ridge, delta, mu, [r[0] for r in rows], res)


def predict_dhf(fitres: FereFit, formula: str, e_fu: float) -> float | None:
    c = Composition(formula)
    if any(el.symbol not in fitres.mu for el in c.elements):
        return None
    return e_fu - sum(c[el.symbol] * fitres.mu[el.symbol] for el in c.elements)


@lru_cache(maxsize=16)
def shipped_fit(model: str, base: str = "mp2020") -> FereFit | None:
    """The fit ``data/fere_fits.json`` ships for ``model``/``base``, or None where it ships none."""
    try:
        rec = json.loads((data_dir() / FIT_FILE).read_text())["fits"][f"{model}/{base}"]
    except (OSError, KeyError, ValueError):
        return None
    keys = FereFit.__dataclass_fields__.keys()
    return FereFit(**{k: rec[k] for k in keys if k in rec})
