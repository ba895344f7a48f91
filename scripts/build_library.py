"""Build the built-in phase library (src/dsei/structures/data/library) from ../shared/data.

Run from the repository root:

    python scripts/build_library.py [--shared ../shared/data]           # CIFs + index.json
    nice python scripts/build_library.py --rank [--models sevennet chgnet] [--steps 300]  # + MLIP ranking

Copies the Materials Project SEI structures (CC BY 4.0), adds the phases the science needs that are not
there (literature prototypes, see PROTOTYPES in dsei/structures/prototypes.py), assigns roles and writes
index.json.

``--rank`` relaxes every entry (cell + positions, space group kept: ``dsei.relax.relax`` with
``fix_symmetry=True``, FIRE, ``fmax`` 0.01 eV/Å, at most ``--steps`` steps) with each model and stores the
relaxed energies in ``ranking.json`` (resumable: entries already there are skipped). The index then
carries ``energy_per_atom_eV`` per model and the ground-state flag chosen by this rule:

1. per reduced formula, the polymorph with the lowest relaxed energy per atom by the default model
   (SevenNet-0) is the ground state;
2. if two polymorphs are within ``TIE_meV`` (1 meV/atom) by that model, the experimental room-temperature
   phase wins if it is one of them, otherwise the lower energy; the tie is noted;
3. if the default model has no energy for a polymorph (failed), the second model decides for the formula;
4. if the second model (CHGNet) ranks another polymorph lowest, this is noted on the chosen entry, with
   the margin.

Independently, ``experimental_ground_state`` marks the phase observed at room temperature (literature,
EXPERIMENTAL_RT_PHASE below); it is never used to override the MLIP ranking except for ties (rule 2).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

from pymatgen.core import Composition, Structure
from pymatgen.io.cif import CifWriter

OUT = Path("src/dsei/structures/data/library")
RANKING = OUT / "ranking.json"
MP_CREDIT = "Materials Project (CC BY 4.0; A. Jain et al., APL Materials 1, 011002 (2013)), {mp_id}"
ANODE_METALS = {"Li", "Na"}
ANIONS = {"F", "Cl", "Br", "I", "O", "S", "Se", "Te", "N", "P", "H", "Sb", "Bi"}
DEFAULT_RANK_MODELS = ("sevennet", "chgnet")
TIE_meV = 1.0

#: Space-group number of the phase observed at room temperature and ambient pressure, for formulas whose
#: observed phase is among the library's cells. Sources: R. W. G. Wyckoff, Crystal Structures, 2nd ed.,
#: vols. 1-2 (1963-64) unless noted. Formulas not listed here: the observed RT phase is not in the
#: library (Cu2S: low chalcocite, P2_1/c, 144 atoms; SnF2: α-SnF2, C2/c; Ag3N: not established).
EXPERIMENTAL_RT_PHASE: dict[str, tuple] = {  # formula -> (space-group number, name[, MP id if ambiguous])
    "LiF": (225, "rock salt"),
    "LiCl": (225, "rock salt"),
    "LiBr": (225, "rock salt"),
    "LiI": (225, "rock salt"),
    "LiH": (225, "rock salt"),
    "NaF": (225, "rock salt"),
    "MgO": (225, "rock salt (periclase)"),
    "Li2O": (225, "antifluorite"),
    "Li2S": (225, "antifluorite"),
    "Li2Se": (225, "antifluorite"),
    "CaF2": (225, "fluorite"),
    "SrF2": (225, "fluorite"),
    "Li2O2": (194, "P6_3/mmc (Föppl 1957)"),
    "Li3N": (191, "α-Li3N, P6/mmm (Rabenau & Schulz 1976)"),
    "Li3P": (194, "Na3As type"),
    "Li3Sb": (225, "BiF3 (Li3Bi) type"),
    "Li3Bi": (225, "BiF3 type"),
    "LiAl": (227, "NaTl type (B32)"),
    "LiAg": (221, "CsCl type (β-LiAg)"),
    "LiN3": (12, "C2/m (Pringle & Noakes 1968)"),
    "MgF2": (136, "rutile (sellaite)"),
    "ZnF2": (136, "rutile"),
    "ZnO": (186, "wurtzite (zincite)"),
    "ZnS": (216, "sphalerite (wurtzite is the high-temperature form)"),
    "AlF3": (167, "α-AlF3, R-3c"),
    "BiF3": (62, "α-BiF3, YF3 type, Pnma"),
    "AgCl": (225, "rock salt"),
    "AgBr": (225, "rock salt"),
    "AgI": (186, "β-AgI, wurtzite (stable below 147 °C; γ-AgI zincblende metastable at RT)"),
    "AgF2": (61, "Pbca (Jesih et al. 1990)"),
    "Ag2F": (164, "anti-CdI2 (Williams 1989)"),
    "CuCl": (216, "zincblende (γ-CuCl, nantokite)"),
    "CuI": (216, "zincblende (γ-CuI, marshite)"),
    "Cu2O": (224, "cuprite"),
    # Two MP cells are P2_12_12_1; mp-568936 (4.50/7.11/7.67 Å) is naumannite (a = 4.333, b = 7.062,
    # c = 7.764 Å; G. A. Wiegers, Am. Mineral. 56, 1882 (1971)); mp-2022604 (4.69/7.37/7.79 Å) is not.
    "Ag2Se": (19, "naumannite, P2_12_12_1 (Wiegers 1971)", "mp-568936"),
    "Ag2Te": (14, "hessite, P2_1/c"),
}


def role_of(formula: str) -> str:
    els = {e.symbol for e in Composition(formula).elements}
    if len(els) == 1:
        return "metal"
    if "N" in els and "O" in els:
        return "salt"
    metals_anode = els & ANODE_METALS
    if metals_anode:
        others = els - metals_anode
        # Li with another metal/semimetal and no classic anion: an alloy (LiAl, LiAg, Li3Sb, Li3Bi).
        if others and not (others & {"F", "Cl", "Br", "I", "O", "S", "Se", "Te", "N", "P", "H"}):
            return "alloy"
        return "native"
    return "conversion"


def _sg_label(struct: Structure) -> tuple[str, int]:
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    sga = SpacegroupAnalyzer(struct, symprec=1e-3)
    return sga.get_space_group_symbol(), sga.get_space_group_number()


def _read(path: Path) -> Structure:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Structure.from_file(path)


# ------------------------------------------------------------------------------------------ building
def mp_entries(shared: Path) -> list[dict]:
    entries = []
    for item in json.loads((shared / "sei_structures" / "index.json").read_text()):
        shutil.copyfile(shared / "sei_structures" / item["file"], OUT / item["file"])
        entries.append(
            {
                "id": f"{item['formula']}-{item['mp_id']}",
                "formula": Composition(item["formula"]).reduced_formula,
                "file": item["file"],
                "role": role_of(item["formula"]),
                "spacegroup": item["spacegroup"],
                "nsites": item["nsites"],
                "provenance": MP_CREDIT.format(mp_id=item["mp_id"]),
                "mp_id": item["mp_id"],
                "polymorph": "",
                "reference": "",
            }
        )
    return entries


def prototype_entries(shared: Path) -> list[dict]:
    from dsei.structures import prototypes as P

    # The acanthite CIF is shipped verbatim (its header records the transcription).
    shutil.copyfile(shared / "extra_structures" / P.ACANTHITE_SOURCE_CIF, OUT / P.ACANTHITE_LIBRARY_CIF)
    entries = []
    for pid, proto in P.PROTOTYPES.items():
        struct = P.build(pid)
        sym, num = _sg_label(struct)
        if num != proto.spacegroup_number:
            raise SystemExit(
                f"{pid}: built structure has space group {num}, expected {proto.spacegroup_number}"
            )
        nn = P.nearest_neighbour_distance_A(struct)
        if abs(nn - proto.nn_distance_A) > 0.02:
            raise SystemExit(
                f"{pid}: nearest-neighbour distance {nn:.3f} Å, expected {proto.nn_distance_A:.3f} Å"
            )
        if pid == "Ag2S-acanthite":
            fname = P.ACANTHITE_LIBRARY_CIF
        else:
            fname = f"{pid}.cif"
            CifWriter(struct, symprec=1e-3).write_file(OUT / fname)
        back = _read(OUT / fname)
        if (
            back.composition.reduced_formula != proto.formula
            or abs(back.volume / len(back) - struct.volume / len(struct)) > 1e-3
        ):
            raise SystemExit(f"{pid}: CIF does not read back to the built structure")
        entries.append(
            {
                "id": pid,
                "formula": proto.formula,
                "file": fname,
                "role": proto.role,
                "spacegroup": f"{sym} ({num})",
                "nsites": len(
                    back.get_primitive_structure()
                ),  # as for MP entries: sites in the primitive cell
                "provenance": f"literature prototype; {proto.reference}",
                "mp_id": None,
                "polymorph": proto.polymorph,
                "reference": proto.reference,
                "experimental_ground_state": proto.experimental_ground_state,
                "notes": proto.notes,
            }
        )
    return entries


def mark_experimental(entries: list[dict], ranking: dict) -> None:
    """Set ``experimental_ground_state`` on MP entries from EXPERIMENTAL_RT_PHASE (space-group match).

    If several MP cells of one formula share that space group, the one with the lowest default-model energy
    (or the first, without a ranking) is marked, and the choice is noted.
    """
    by_formula: dict[str, list[dict]] = {}
    for e in entries:
        by_formula.setdefault(e["formula"], []).append(e)
    for formula, group in by_formula.items():
        if any(e.get("experimental_ground_state") for e in group):
            continue  # a literature prototype carries it
        for e in group:
            e.setdefault("experimental_ground_state", False)
        if formula not in EXPERIMENTAL_RT_PHASE:
            continue
        sg, name, *mp_id = EXPERIMENTAL_RT_PHASE[formula]
        match = [
            e for e in group if e["spacegroup"].endswith(f"({sg})") and (not mp_id or e["mp_id"] == mp_id[0])
        ]
        if not match:
            continue

        def energy(e: dict) -> float:
            r = ranking.get(e["id"], {}).get(DEFAULT_RANK_MODELS[0])
            return r["energy_per_atom_eV"] if r and r.get("energy_per_atom_eV") is not None else float("inf")

        match.sort(key=energy)
        match[0]["experimental_ground_state"] = True
        if not match[0]["polymorph"]:
            match[0]["polymorph"] = name
        if len(match) > 1:
            others = ", ".join(m["id"] for m in match[1:])
            _note(
                match[0],
                f"Experimental RT phase ({name}); also matches the space group of {others}, "
                "this cell has the lower SevenNet-0 energy.",
            )


def _note(entry: dict, text: str) -> None:
    entry["notes"] = (entry.get("notes", "") + " " + text).strip()


# ------------------------------------------------------------------------------------------- ranking
def _read_ranking() -> dict:
    """``ranking.json`` ({} when absent); a file from before the key was named ``volume_per_atom_A3`` (it was
    ``volume_A3_per_atom``) is read with the new name."""
    ranking = json.loads(RANKING.read_text()) if RANKING.exists() else {}
    for per_model in ranking.values():
        for rec in per_model.values():
            if "volume_A3_per_atom" in rec:
                rec["volume_per_atom_A3"] = rec.pop("volume_A3_per_atom")
    return ranking


def run_ranking(entries: list[dict], models: list[str], steps: int, fmax: float, log) -> dict:
    from dsei.models import load_model
    from dsei.relax import relax

    ranking = _read_ranking()
    for name in models:
        model = load_model(name)
        todo = [e for e in entries if name not in ranking.get(e["id"], {})]
        print(f"[{time.strftime('%H:%M:%S')}] {name}: {len(todo)} entries to relax", file=log, flush=True)
        for e in sorted(todo, key=lambda e: e["nsites"]):
            struct = _read(OUT / e["file"]).get_primitive_structure()
            t0 = time.perf_counter()
            try:
                r = relax(struct, model, fmax=fmax, steps=steps, optimizer="FIRE", fix_symmetry=True).result
                rec = {
                    "energy_per_atom_eV": round(r.energy_per_atom_eV, 6),
                    "converged": r.converged,
                    "steps": r.steps,
                    "max_force_eV_per_A": round(r.max_force_eV_per_A, 4),
                    "max_stress_GPa": round(r.max_stress_GPa, 4),
                    "volume_change_pct": round(r.volume_change_pct, 2),
                    "volume_per_atom_A3": round(r.volume_per_atom_A3, 4),
                    "spacegroup_before": r.spacegroup_before,
                    "spacegroup_after": r.spacegroup_after,
                    "wall_s": round(time.perf_counter() - t0, 2),
                }
            except Exception as exc:  # noqa: BLE001 - record the failure, keep ranking the rest
                rec = {"energy_per_atom_eV": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
            ranking.setdefault(e["id"], {})[name] = rec
            RANKING.write_text(json.dumps(ranking, indent=1, sort_keys=True) + "\n")
            print(
                f"[{time.strftime('%H:%M:%S')}] {name} {e['id']:24s} {json.dumps(rec)}", file=log, flush=True
            )
    return ranking


def apply_ranking(entries: list[dict], ranking: dict, models: tuple[str, ...] = DEFAULT_RANK_MODELS) -> None:
    """Fill ``energy_per_atom_eV`` / ``relaxation`` and choose ``ground_state`` (rule in the module doc)."""
    primary, secondary = models[0], models[1] if len(models) > 1 else None
    by_formula: dict[str, list[dict]] = {}
    for e in entries:
        rec = ranking.get(e["id"], {})
        e["energy_per_atom_eV"] = {
            m: r["energy_per_atom_eV"] for m, r in rec.items() if r.get("energy_per_atom_eV") is not None
        }
        e["relaxation"] = {
            m: {
                k: r[k]
                for k in ("converged", "steps", "volume_change_pct", "spacegroup_before", "spacegroup_after")
                if k in r
            }
            | ({"error": r["error"]} if "error" in r else {})
            for m, r in rec.items()
        }
        e["ground_state"] = False
        for m, r in rec.items():
            if r.get("energy_per_atom_eV") is not None and not r.get("converged", True):
                _note(
                    e,
                    f"{m}: relaxation not converged in {r['steps']} steps (max force {r['max_force_eV_per_A']} eV/Å, "
                    f"max stress {r['max_stress_GPa']} GPa).",
                )
            if r.get("spacegroup_after") and r["spacegroup_after"] != r.get("spacegroup_before"):
                _note(
                    e,
                    f"{m}: space group changed in relaxation, {r['spacegroup_before']} -> {r['spacegroup_after']}.",
                )
            if "error" in r:
                _note(e, f"{m}: relaxation failed ({r['error'][:120]}).")
        by_formula.setdefault(e["formula"], []).append(e)

    for formula, group in by_formula.items():
        decider = primary if all(primary in e["energy_per_atom_eV"] for e in group) else secondary
        if decider is None or not all(decider in e["energy_per_atom_eV"] for e in group):
            # No complete ranking for this formula: experimental phase, else the first entry.
            chosen = next((e for e in group if e.get("experimental_ground_state")), group[0])
            chosen["ground_state"] = True
            if len(group) > 1:
                _note(
                    chosen,
                    "Ground state not ranked (no complete MLIP energies); experimental phase or first entry used.",
                )
            continue
        if decider != primary:
            _note(group[0], f"{primary} energies incomplete for {formula}; ranked by {decider}.")
        order = sorted(group, key=lambda e: e["energy_per_atom_eV"][decider])
        best = order[0]
        ties = [
            e
            for e in order
            if 1000 * (e["energy_per_atom_eV"][decider] - best["energy_per_atom_eV"][decider]) < TIE_meV
        ]
        if len(ties) > 1:
            exp = [e for e in ties if e.get("experimental_ground_state")]
            chosen = exp[0] if exp else best
            _note(
                chosen,
                f"Tie within {TIE_meV} meV/atom ({decider}) with "
                + ", ".join(e["id"] for e in ties if e is not chosen)
                + ("; the experimental RT phase was chosen." if exp else "; the lower energy was chosen."),
            )
        else:
            chosen = best
        chosen["ground_state"] = True
        if len(group) > 1:
            second = next(e for e in order if e is not chosen)
            margin = 1000 * (second["energy_per_atom_eV"][decider] - chosen["energy_per_atom_eV"][decider])
            lead = (
                f"Lowest {decider} energy of {len(group)} polymorphs"
                if chosen is best
                else f"Ground state of {len(group)} polymorphs by the tie rule"
            )
            _note(chosen, f"{lead}; nearest other: {second['id']} at {margin:+.1f} meV/atom.")
            other = secondary if decider == primary else primary
            if other and all(other in e["energy_per_atom_eV"] for e in group):
                alt = min(group, key=lambda e: e["energy_per_atom_eV"][other])
                if alt is not chosen:
                    d = 1000 * (chosen["energy_per_atom_eV"][other] - alt["energy_per_atom_eV"][other])
                    _note(
                        chosen,
                        f"Models disagree: {other} ranks {alt['id']} lowest, {d:.1f} meV/atom below this one.",
                    )
            exp = [e for e in group if e.get("experimental_ground_state")]
            if exp and exp[0] is not chosen:
                d = 1000 * (exp[0]["energy_per_atom_eV"][decider] - chosen["energy_per_atom_eV"][decider])
                _note(
                    chosen,
                    f"Not the experimental RT phase: {exp[0]['id']} is {d:+.1f} meV/atom above it ({decider}).",
                )
                _note(
                    exp[0],
                    f"Experimental RT phase, but {decider} puts it {d:+.1f} meV/atom above {chosen['id']}.",
                )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--rank", action="store_true", help="relax every entry with each model (resumable)")
    ap.add_argument("--models", nargs="+", default=list(DEFAULT_RANK_MODELS))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--fmax", type=float, default=0.01, help="eV/Å")
    ap.add_argument("--log", default="-", help="progress log for --rank (default stdout)")
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    OUT.mkdir(parents=True, exist_ok=True)
    entries = mp_entries(shared) + prototype_entries(shared)
    if args.rank:
        log = sys.stdout if args.log == "-" else open(args.log, "a")  # noqa: SIM115
        run_ranking(entries, args.models, args.steps, args.fmax, log)
    ranking = _read_ranking()
    mark_experimental(entries, ranking)
    apply_ranking(entries, ranking)
    entries.sort(key=lambda e: (e["role"], e["formula"], e["id"]))
    index = {
        "schema_version": "1.1",
        "attribution": "Materials Project structures: CC BY 4.0, A. Jain et al., APL Materials 1, 011002 (2013).",
        "ground_state_rule": (
            "Per formula, lowest relaxed energy per atom by SevenNet-0 (cell+positions, space group kept, FIRE, "
            f"fmax {args.fmax} eV/Å, <= {args.steps} steps); ties within {TIE_meV} meV/atom go to the experimental "
            "RT phase; CHGNet disagreements are noted. See docs/library.md."
        ),
        "entries": entries,
    }
    (OUT / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(entries)} entries to {OUT}")


if __name__ == "__main__":
    main()
