"""Reduction potentials vs Li/Li+ of binary phases: MLIP (raw, MP2020, FERE-corrected under three
cross-validation schemes) against experimental formation enthalpies; MP2020 evidence; AgNO3 driving forces.

    python benchmarks/reduction_potentials.py [--models sevennet,chgnet]

Reaction for each phase M_pX_q: ``M_pX_q + k Li -> (q/r) Li_sX_r + p M`` (the Li binary of the same
anion + the elemental metal); V = −ΔrH/k. Experimental ΔfH° at 298 K from the table shipped in
``dsei/chemistry/data/thermo_exp.json`` (Kubaschewski / NIST-JANAF as compiled for MP2020 by Wang et
al. 2021); ``σ`` = the experimental uncertainty of V propagated from the tabulated ΔfH° uncertainties.
Cross-validation (``dsei.chemistry.corrections.CV_SCHEMES``): the FERE fit that predicts a phase is refitted
without (compound) the phase itself — the headline —, (reaction) the phase and its Li product, (metal) every
compound of its metal. Only held-out numbers count as the corrected error. Cached energies only (no MLIP call).
Also printed: the entropy term V(ΔG°) − V(ΔH°), and V from a second table (CRC ΔfH°, ``gibbs_check``) against the
set's, with the first model's CV errors against both — is what remains after FERE the reference's or the model's?
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

warnings.filterwarnings("ignore")


def stats(errs):
    a = [abs(e) for e in errs]
    return (statistics.fmean(a), max(a)) if a else (float("nan"), float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="sevennet,chgnet")
    args = ap.parse_args()
    from pymatgen.core import Composition

    from dsei.chemistry.conversion import convert
    from dsei.chemistry.corrections import RIDGE, fit, leave_one_out, reduction_benchmark
    from dsei.chemistry.energies import EnergySet, mp2020_correction_eV

    t0 = time.time()
    models = args.models.split(",")
    rows_by_model = {}
    for model in models:
        rows = rows_by_model[model] = reduction_benchmark(model)
        mp = EnergySet(model, "mp2020")
        print(f"\n### {model}: {len(rows)} phases (V vs Li/Li+)\n")
        print(
            "| phase | reaction | V exp ± σ | V raw | V MP2020 | V FERE CV compound | CV reaction | CV metal | "
            "err raw | err CV compound |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            n, k = r["n_product"], r["k"]
            r["V_mp2020"] = (
                -(
                    n * mp.energy(r["product"])
                    + r["p"] * mp.energy(r["metal"])
                    - mp.energy(r["formula"])
                    - k * mp.energy("Li")
                )
                / k
            )
            flag = "" if r["metal_in_cv_fit"] else " †"
            print(
                f"| {r['formula']}{flag} | {r['reaction']} | {r['V_exp']:.3f} ± {r['sigma_V_exp']:.3f} | "
                f"{r['V_raw']:.3f} | {r['V_mp2020']:.3f} | {r['V_cv']:.3f} | {r['V_cv_reaction']:.3f} | "
                f"{r['V_cv_metal']:.3f} | {r['V_raw'] - r['V_exp']:+.3f} | {r['V_cv'] - r['V_exp']:+.3f} |"
            )
        subsets = {
            "all": rows,
            "metal has another compound in the fit (no †)": [r for r in rows if r["metal_in_cv_fit"]],
            "σ(V exp) ≤ 0.05 V": [r for r in rows if r["sigma_V_exp"] <= 0.05],
            "Ag phases": [r for r in rows if r["metal"] == "Ag"],
        }
        print(
            "\n| subset | N | MAE raw | max raw | MAE FERE in-sample | MAE / max CV compound | "
            "MAE / max CV reaction | MAE / max CV metal | N over 0.15 V (CV compound) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for name, rs in subsets.items():
            mr, xr = stats([r["V_raw"] - r["V_exp"] for r in rs])
            mi, _ = stats([r["V_fit_in_sample"] - r["V_exp"] for r in rs])
            cells = []
            for scheme in ("compound", "reaction", "metal"):
                m, x = stats([r[f"V_cv_{scheme}"] - r["V_exp"] for r in rs])
                cells.append(f"{m:.3f} / {x:.3f}")
            over = sum(abs(r["V_cv"] - r["V_exp"]) > 0.15 for r in rs)
            print(f"| {name} | {len(rs)} | {mr:.3f} | {xr:.3f} | {mi:.3f} | {' | '.join(cells)} | {over} |")
        loo = leave_one_out(model, "mp2020")
        fr = fit(model, "mp2020")
        print(
            f"\nFERE fit ({len(fr.compounds)} binaries, ridge {RIDGE:g}): ΔfH MAE in-sample "
            f"{1000 * stats(fr.residuals_eV_per_atom.values())[0]:.0f} meV/atom, leave-one-out "
            f"{1000 * stats(loo.values())[0]:.0f} meV/atom (max {1000 * stats(loo.values())[1]:.0f})."
        )
        print("δ (eV/atom): " + ", ".join(f"{k} {v:+.3f}" for k, v in sorted(fr.delta.items())))
        scan = []
        for ridge in (1e-3, 1e-2, 1e-1, 1.0):
            rs = reduction_benchmark(model, schemes=("compound",), ridge=ridge)
            m, x = stats([r["V_cv"] - r["V_exp"] for r in rs])
            scan.append(f"{ridge:g}: {m:.3f} / {x:.3f}")
        print("ridge scan, CV-compound MAE / max (V): " + "; ".join(scan))

    # Entropy term: V from ΔrG° vs from ΔrH° where the CRC table has ΔfG° of both sides (never fitted)
    from dsei.chemistry.corrections import reduction_reactions, thermo_data

    crc = thermo_data()["gibbs_check"]["compounds"]

    def crc_volts(r: dict, key: str) -> float:
        """V vs Li/Li+ of reaction ``r`` from the CRC table's ``key`` (ΔfH° or ΔfG°, kJ/mol) of phase and Li product."""
        return -(r["n_product"] * crc[r["product"]][key] - crc[r["formula"]][key]) / r["k"] / 96.485

    print("\n### Entropy term: V(ΔG°) − V(ΔH°), CRC ΔfG°/ΔfH° (V vs Li/Li+)\n")
    print("| phase | V(ΔH°) | V(ΔG°) | V(ΔG°) − V(ΔH°) |")
    print("|---|---|---|---|")
    terms, missing = [], []
    for r in reduction_reactions(models[0]):
        f = r["formula"]
        a, b = crc.get(f), crc.get(r["product"])
        if not a or not b or a["dGf_kJ_per_mol"] is None or b["dGf_kJ_per_mol"] is None:
            missing.append(f)
            continue
        vh, vg = crc_volts(r, "dHf_kJ_per_mol"), crc_volts(r, "dGf_kJ_per_mol")
        terms.append(vg - vh)
        print(f"| {f} | {vh:.3f} | {vg:.3f} | {vg - vh:+.3f} |")
    print(
        f"\n{len(terms)} reactions: mean |V(ΔG°) − V(ΔH°)| = {statistics.fmean(abs(x) for x in terms):.3f} V, "
        f"range {min(terms):+.3f} … {max(terms):+.3f} V; no ΔfG° on one side for: {', '.join(missing)}"
    )

    # A second experimental table: is the error left after FERE the reference's or the model's? (never fitted)
    print(f"\n### Second table: V from CRC ΔfH° vs from the MP2020 set, and {models[0]}'s CV errors against each\n")
    print("| phase | V exp (set) | V exp (CRC) | CRC − set | err CV vs set | err CV vs CRC |")
    print("|---|---|---|---|---|---|")
    both, no_crc = [], []
    for r in rows_by_model[models[0]]:
        if r["formula"] not in crc or r["product"] not in crc:
            no_crc.append(r["formula"])
            continue
        both.append((r, crc_volts(r, "dHf_kJ_per_mol")))
    for r, v_crc in sorted(both, key=lambda x: -abs(x[1] - x[0]["V_exp"])):
        print(
            f"| {r['formula']} | {r['V_exp']:.3f} | {v_crc:.3f} | {v_crc - r['V_exp']:+.3f} | "
            f"{r['V_cv'] - r['V_exp']:+.3f} | {r['V_cv'] - v_crc:+.3f} |"
        )
    d_tab = [v - r["V_exp"] for r, v in both]
    e_set = [r["V_cv"] - r["V_exp"] for r, _ in both]
    e_crc = [r["V_cv"] - v for r, v in both]
    print(
        f"\n{len(both)} phases with CRC ΔfH° on both sides: mean |CRC − set| {statistics.fmean(abs(x) for x in d_tab):.3f} V "
        f"({sum(abs(x) > 0.05 for x in d_tab)} over 0.05 V); {models[0]} CV MAE / max / N over 0.15 V: against the set "
        f"{stats(e_set)[0]:.3f} / {stats(e_set)[1]:.3f} / {sum(abs(x) > 0.15 for x in e_set)}, against CRC "
        f"{stats(e_crc)[0]:.3f} / {stats(e_crc)[1]:.3f} / {sum(abs(x) > 0.15 for x in e_crc)}. "
        f"Not in CRC (phase or Li product): {', '.join(no_crc)}."
    )

    # MP2020 evidence: CHGNet − SevenNet-0 energy per anion vs the MP2020 anion correction
    if {"sevennet", "chgnet"} <= set(models):
        print(
            "\n### MP2020 evidence: CHGNet − SevenNet-0 (eV per anion) vs MP2020 correction (eV per anion)\n"
        )
        print("| phase | anion | CHGNet − SevenNet-0 | MP2020 correction |")
        print("|---|---|---|---|")
        s7, ch = EnergySet("sevennet", "none"), EnergySet("chgnet", "none")
        diffs = []
        for f in (
            "LiF",
            "NaF",
            "MgF2",
            "CaF2",
            "LiCl",
            "NaCl",
            "LiBr",
            "LiI",
            "Li2O",
            "MgO",
            "CaO",
            "Li2S",
            "Na2S",
            "ZnS",
            "Li3N",
            "Li",
            "Na",
            "Mg",
            "Ag",
            "Cu",
        ):
            c = Composition(f)
            an = [e.symbol for e in c.elements if e.symbol in ("F", "Cl", "Br", "I", "O", "S", "N")]
            n_an = c[an[0]] if an else 1
            d = (ch.energy(f) - s7.energy(f)) / n_an
            corr = mp2020_correction_eV(c, s7.energy(f)) / n_an
            diffs.append(d - corr)
            print(f"| {f} | {an[0] if an else '(metal)'} | {d:+.3f} | {corr:+.3f} |")
        print(
            f"\nmean |difference − correction| = {statistics.fmean(abs(x) for x in diffs):.3f} eV per anion"
        )

    print("\n### Additive driving forces (ΔG, eV; negative = favourable)\n")
    print(
        "| model | reaction | ΔG eV/f.u. | ΔG eV/Li | favourable | exp. (ΔfH° + E°) eV/f.u. | all-solid reaction | "
        "all-solid ΔE eV/f.u. (MLIP) | all-solid exp. ΔrH° eV/f.u. |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for model in models:
        for nat in ("Li2S", "LiF"):
            r = convert(nat, "AgNO3", model=model)
            print(
                f"| {model} | {r.reaction} | {r.driving_force_eV_per_fu:+.3f} | {r.driving_force_eV_per_Li:+.3f} | {r.favorable} | "
                f"{r.experimental_driving_force_eV_per_fu:+.3f} | {r.solid_state_reaction} | "
                f"{'n/a' if r.solid_state_energy_eV_per_fu is None else f'{r.solid_state_energy_eV_per_fu:+.3f}'} | {r.experimental_solid_state_energy_eV_per_fu:+.3f} |"
            )
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
