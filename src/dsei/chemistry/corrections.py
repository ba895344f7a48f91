"""Fitting the FERE correction (written to ``data/fere_fits.json``) and cross-validating it.

The method, the experimental data and the fit itself are in the leaf :mod:`dsei.chemistry.fere` (which
:mod:`dsei.chemistry.energies` applies); this module drives it per model name: :func:`fit`,
:func:`leave_one_out` (held-out ΔfH residuals), :func:`build_fits` / ``python -m dsei.chemistry.corrections``
(rewrites the shipped fits), and :func:`reduction_benchmark`, which predicts every reduction potential with fits
that leave out the phase (``compound``, the headline), the phase and its Li product (``reaction``) or every
compound of its metal (``metal``) — see ``CV_SCHEMES`` — and only those held-out numbers are reported as the
corrected error. Imports go one way: this module imports :mod:`~dsei.chemistry.energies`, never the reverse.

Because the anion references cancel in ``M_pX_q + k Li → (q/r) Li_sX_r + p M``, the correction moves the
potential by (k·δ_Li − p·δ_M)/k: a per-metal constant. No element-reference scheme can move two phases of one
metal relative to each other; the within-metal scatter of the raw errors is its floor (docs/chemistry.md).
"""

from __future__ import annotations

import json

import numpy as np
from pymatgen.core import Composition

from dsei.chemistry.energies import ANION_ELEMENTS, EnergySet, data_dir, load_fit
from dsei.chemistry.fere import (
    EXCLUDED,
    FIT_FILE,
    FIT_MODELS,
    RIDGE,
    FereFit,
    MAX_EXP_UNCERTAINTY_eV,
    exp_dhf,
    exp_uncertainty,
    fit_fere,
    predict_dhf,
    thermo_data,
    training_rows,
    usable,
)

#: the names this module has always offered (the data and the fit record now live in dsei.chemistry.fere)
__all__ = [
    "CV_SCHEMES",
    "EXCLUDED",
    "FIT_FILE",
    "FIT_MODELS",
    "LI_BINARY",
    "MAX_EXP_UNCERTAINTY_eV",
    "RIDGE",
    "FereFit",
    "benchmark_summary",
    "build_fits",
    "cv_excluded",
    "exp_dhf",
    "exp_potential",
    "exp_uncertainty",
    "fit",
    "leave_one_out",
    "load_fit",
    "predict_dhf",
    "reduction_benchmark",
    "reduction_reactions",
    "thermo_data",
    "training_set",
    "usable",
]


def training_set(model: str, base: str = "mp2020") -> list[tuple[str, float, float]]:
    """(formula, E_base per f.u., ΔfH_exp per f.u.) for every binary with both numbers."""
    return training_rows(EnergySet(model, correction=base))


def fit(
    model: str,
    base: str = "mp2020",
    exclude: tuple[str, ...] | set[str] = (),
    ridge: float = RIDGE,
    data=None,
) -> FereFit:
    """The FERE fit of ``model`` at ``base`` level (:func:`dsei.chemistry.fere.fit_fere`)."""
    return fit_fere(EnergySet(model, correction=base), exclude=exclude, ridge=ridge, data=data)


def leave_one_out(model: str, base: str = "mp2020") -> dict[str, float]:
    """Held-out ΔfH residual (eV/atom) of each training compound; None-free (compounds whose elements
    vanish from the fold are skipped)."""
    data = training_set(model, base)
    out = {}
    for f, e_fu, dh in data:
        fr = fit(model, base, exclude={f}, data=data)
        pred = predict_dhf(fr, f, e_fu)
        if pred is not None:
            out[f] = (pred - dh) / Composition(f).num_atoms
    return out


def build_fits(models=FIT_MODELS) -> dict:
    """Fit every model × base and return the JSON shipped as ``data/fere_fits.json``."""
    out = {
        "description": "Fitted elemental reference energies per model and base correction level; see dsei.chemistry.corrections.",
        "method": "FERE (Stevanović et al., PRB 85, 115104 (2012)) on MLIP energies; least squares on per-atom ΔfH residuals; ridge on metal shifts",
        "experimental_data": thermo_data()["source"],
        "fits": {},
    }
    for m in models:
        for base in ("none", "mp2020"):
            fr = fit(m, base)
            fr.loo_residuals_eV_per_atom = leave_one_out(m, base)
            d = fr.to_dict()
            d["mae_in_sample_eV_per_atom"] = float(np.mean(np.abs(list(fr.residuals_eV_per_atom.values()))))
            d["mae_loo_eV_per_atom"] = float(np.mean(np.abs(list(fr.loo_residuals_eV_per_atom.values()))))
            out["fits"][f"{m}/{base}"] = d
    return out


def main() -> None:  # python -m dsei.chemistry.corrections  → rewrite data/fere_fits.json
    import sys

    models = tuple(sys.argv[1:]) or FIT_MODELS
    out = build_fits(models)
    (data_dir() / FIT_FILE).write_text(json.dumps(out, indent=1) + "\n")
    for k, d in out["fits"].items():
        print(
            f"{k}: {len(d['compounds'])} compounds, MAE in-sample {d['mae_in_sample_eV_per_atom']:.3f}, LOO {d['mae_loo_eV_per_atom']:.3f} eV/atom"
        )


# ------------------------------------------------------------------------- reduction-potential benchmark
LI_BINARY = {
    "F": "LiF",
    "Cl": "LiCl",
    "Br": "LiBr",
    "I": "LiI",
    "O": "Li2O",
    "S": "Li2S",
    "Se": "Li2Se",
    "Te": "Li2Te",
    "N": "Li3N",
}
#: cross-validation schemes of :func:`reduction_benchmark` (what is left out of the fit that predicts a phase)
CV_SCHEMES = {
    "compound": "the phase itself (leave-one-compound-out; its Li product and all other compounds stay in the fit)",
    "reaction": "the phase and its Li product (leave-reaction-out)",
    "metal": "every compound of the phase's metal (leave-cation-family-out: δ of that metal = 0, raw)",
}


def reduction_reactions(model: str, anode: str = "Li") -> list[dict]:
    """Every binary M_pX_q of the experimental table that can be reduced to the anode binary + metal M,
    with both experimental ΔfH° and MLIP energies available: ``M_pX_q + k A → (q/r) A_sX_r + p M``."""
    from pymatgen.core import Composition

    if anode != "Li":
        raise ValueError("the benchmark is defined against Li")
    phases = EnergySet(model, "none").phases()
    out = []
    for formula in thermo_data()["compounds"]:
        comp = Composition(formula)
        if not usable(formula) or len(comp.elements) != 2 or anode in {e.symbol for e in comp.elements}:
            continue
        metals = [e.symbol for e in comp.elements if e.symbol not in ANION_ELEMENTS]
        anions = [e.symbol for e in comp.elements if e.symbol in ANION_ELEMENTS]
        if len(metals) != 1 or len(anions) != 1 or anions[0] not in LI_BINARY:
            continue
        m, x = metals[0], anions[0]
        lix = LI_BINARY[x]
        if not all(f in phases for f in (formula, m, lix, anode)) or not usable(lix):
            continue
        lc = Composition(lix)
        n_prod = comp[x] / lc[x]
        k = n_prod * lc[anode]
        out.append(
            {
                "formula": formula,
                "metal": m,
                "anion": x,
                "product": lix,
                "n_product": n_prod,
                "k": k,
                "p": comp[m],
                "reaction": f"{formula} + {k:g} {anode} -> {n_prod:g} {lix} + {comp[m]:g} {m}".replace(
                    " 1 ", " "
                ),
            }
        )
    return out


def _corrected(fitres: FereFit | None, formula: str, e_base: float) -> float:
    if fitres is None:
        return e_base
    c = Composition(formula)
    return e_base - sum(
        amt * fitres.delta.get(el.symbol, 0.0) for el, amt in c.items() if el.symbol not in ANION_ELEMENTS
    )


def cv_excluded(scheme: str, row: dict, compounds: list[str]) -> set[str]:
    """Compounds a ``scheme`` fold leaves out of the fit that predicts reaction ``row``."""
    if scheme == "compound":
        return {row["formula"]}
    if scheme == "reaction":
        return {row["formula"], row["product"]}
    if scheme == "metal":
        return {f for f in compounds if row["metal"] in {e.symbol for e in Composition(f).elements}}
    raise ValueError(f"cv scheme must be one of {', '.join(CV_SCHEMES)}, not {scheme!r}")


def exp_potential(row: dict) -> tuple[float, float]:
    """Experimental V vs Li/Li⁺ of a :func:`reduction_reactions` row and its uncertainty (propagated from the
    tabulated ΔfH° uncertainties of the phase and its Li product)."""
    n, k = row["n_product"], row["k"]
    v = -(n * exp_dhf(row["product"]) - exp_dhf(row["formula"])) / k
    sigma = float(np.hypot(exp_uncertainty(row["formula"]), n * exp_uncertainty(row["product"]))) / k
    return v, sigma


def reduction_benchmark(
    model: str, base: str = "mp2020", schemes: tuple[str, ...] = tuple(CV_SCHEMES), ridge: float = RIDGE
) -> list[dict]:
    """Experimental vs MLIP reduction potentials (V vs Li/Li⁺) for :func:`reduction_reactions`.

    ``V_exp`` (± ``sigma_V_exp``) from experimental ΔfH°; ``V_raw`` from the model's energies as predicted;
    ``V_fit_in_sample`` with the shipped fit (all data, for reference only); ``V_cv_<scheme>`` with a fit that
    leaves out what ``CV_SCHEMES[scheme]`` says — only these held-out numbers count as the corrected error.
    ``V_cv`` is ``V_cv_compound`` (the headline: the phase under test is never in the fit that predicts it).
    """
    raw = EnergySet(model, "none")
    es = EnergySet(model, base)
    data = training_set(model, base)
    compounds = [f for f, _, _ in data]
    full = fit(model, base, data=data, ridge=ridge)
    rows = []
    for r in reduction_reactions(model):
        v_exp, sigma = exp_potential(r)

        def volts(eset, fr, r=r):
            d_e = (
                r["n_product"] * _corrected(fr, r["product"], eset.energy(r["product"]))
                + r["p"] * eset.energy(r["metal"])
                - _corrected(fr, r["formula"], eset.energy(r["formula"]))
                - r["k"] * eset.energy("Li")
            )
            return -d_e / r["k"]

        out = r | {
            "V_exp": v_exp,
            "sigma_V_exp": sigma,
            "V_raw": volts(raw, None),
            "V_fit_in_sample": volts(es, full),
        }
        for scheme in schemes:
            cv_fit = fit(model, base, exclude=cv_excluded(scheme, r, compounds), data=data, ridge=ridge)
            out[f"V_cv_{scheme}"] = volts(es, cv_fit)
            out[f"metal_in_cv_fit_{scheme}"] = r["metal"] in cv_fit.delta
        if "compound" in schemes:
            out["V_cv"], out["metal_in_cv_fit"] = out["V_cv_compound"], out["metal_in_cv_fit_compound"]
        rows.append(out)
    return rows


def benchmark_summary(rows: list[dict], key: str = "V_cv") -> dict:
    """MAE and max |error| (V) of column ``key`` against ``V_exp``; ``None`` for an empty set."""
    errs = [abs(r[key] - r["V_exp"]) for r in rows]
    if not errs:
        return {"n": 0, "mae_V": None, "max_V": None}
    return {"n": len(errs), "mae_V": float(np.mean(errs)), "max_V": float(np.max(errs))}


if __name__ == "__main__":
    main()
