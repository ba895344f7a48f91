"""Reduction potentials vs Li/Li+ of binary phases: MLIP (raw, MP2020, FERE-corrected under
cross-validation) against experimental formation enthalpies; MP2020 evidence; AgNO3 driving forces.

    python benchmarks/reduction_potentials.py [--models sevennet,chgnet] [--markdown]

Reaction for each phase M_pX_q: ``M_pX_q + k Li -> (q/r) Li_sX_r + p M`` (the Li binary of the same
anion + the elemental metal); V = −ΔrH/k. Experimental ΔfH° at 298 K from the table shipped in
``dsei/chemistry/data/thermo_exp.json`` (Kubaschewski / NIST-JANAF as compiled for MP2020 by Wang et
al. 2021). "CV" = FERE refitted without the phase *and* its Li product (leave-reaction-out); only those
numbers count as the corrected error. Uses the cached relaxed energies only (no MLIP call).
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
    ap.add_argument("--markdown", action="store_true", help="print markdown tables (for docs/benchmarks.md)")
    args = ap.parse_args()
    from pymatgen.core import Composition

    from dsei.chemistry.conversion import convert
    from dsei.chemistry.corrections import fit, leave_one_out, reduction_benchmark
    from dsei.chemistry.energies import EnergySet, mp2020_correction_eV

    t0 = time.time()
    models = args.models.split(",")
    summary = []
    for model in models:
        rows = reduction_benchmark(model)
        mp = EnergySet(model, "mp2020")
        print(f"\n### {model}: {len(rows)} phases (V vs Li/Li+)\n")
        print("| phase | reaction | V exp | V raw | V MP2020 | V FERE (CV) | err raw | err CV |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            n, k = r["n_product"], r["k"]
            v_mp = (
                -(
                    n * mp.energy(r["product"])
                    + r["p"] * mp.energy(r["metal"])
                    - mp.energy(r["formula"])
                    - k * mp.energy("Li")
                )
                / k
            )
            r["V_mp2020"] = v_mp
            flag = "" if r["metal_in_cv_fit"] else " †"
            print(
                f"| {r['formula']}{flag} | {r['reaction']} | {r['V_exp']:.3f} | {r['V_raw']:.3f} | {v_mp:.3f} | {r['V_cv']:.3f} | "
                f"{r['V_raw'] - r['V_exp']:+.3f} | {r['V_cv'] - r['V_exp']:+.3f} |"
            )
        subsets = {
            "all": rows,
            "metal present in the CV fold": [r for r in rows if r["metal_in_cv_fit"]],
            "Ag phases": [r for r in rows if r["metal"] == "Ag"],
        }
        print(
            "\n| subset | N | MAE raw | max raw | MAE MP2020 | MAE FERE in-sample | MAE FERE CV | max FERE CV |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, rs in subsets.items():
            mr, xr = stats([r["V_raw"] - r["V_exp"] for r in rs])
            mm, _ = stats([r["V_mp2020"] - r["V_exp"] for r in rs])
            mi, _ = stats([r["V_fit_in_sample"] - r["V_exp"] for r in rs])
            mc, xc = stats([r["V_cv"] - r["V_exp"] for r in rs])
            print(f"| {name} | {len(rs)} | {mr:.3f} | {xr:.3f} | {mm:.3f} | {mi:.3f} | {mc:.3f} | {xc:.3f} |")
            summary.append((model, name, len(rs), mr, xr, mc, xc))
        loo = leave_one_out(model, "mp2020")
        fr = fit(model, "mp2020")
        print(
            f"\nFERE fit ({len(fr.compounds)} binaries): ΔfH MAE in-sample {1000 * stats(fr.residuals_eV_per_atom.values())[0]:.0f} meV/atom, "
            f"leave-one-out {1000 * stats(loo.values())[0]:.0f} meV/atom (max {1000 * stats(loo.values())[1]:.0f})."
        )
        print("δ (eV/atom): " + ", ".join(f"{k} {v:+.3f}" for k, v in sorted(fr.delta.items())))

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
        "| model | reaction | ΔG eV/f.u. | ΔG eV/Li | favourable | exp. (ΔfH° + E°) eV/f.u. | all-solid exp. ΔrH° eV/f.u. |"
    )
    print("|---|---|---|---|---|---|---|")
    for model in models:
        for nat in ("Li2S", "LiF"):
            r = convert(nat, "AgNO3", model=model)
            print(
                f"| {model} | {r.reaction} | {r.driving_force_eV_per_fu:+.3f} | {r.driving_force_eV_per_Li:+.3f} | {r.favorable} | "
                f"{r.experimental_driving_force_eV_per_fu:+.3f} | {r.experimental_solid_state_energy_eV_per_fu:+.3f} ({r.solid_state_reaction}) |"
            )
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
