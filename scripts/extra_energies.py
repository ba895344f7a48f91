"""Relax the extra binary phases of ``src/dsei/chemistry/data/extra_energies.json`` with more models.

    nice python scripts/extra_energies.py --models sevennet-mf-r2scan [--check sevennet]

The extra phases are binaries the chemistry benchmark needs that are not in the structure library
(rock-salt NaCl, corundum Al2O3, …). Each is rebuilt here from its prototype and experimental lattice
parameters (the values recorded in the JSON's ``prototype`` field; references in docs/references.md:
Wyckoff, *Crystal Structures*; Swanson et al., NBS Circular 539), relaxed with ``dsei.relax`` (BFGS, fmax
0.01 eV/Å, symmetry kept), and its energy per atom stored under the model's name. Models already present
for a phase are skipped. ``--check MODEL`` recomputes an existing model's energies and prints the largest
difference from the stored ones (a reproducibility check of this script against the shipped numbers).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from pymatgen.core import Lattice, Structure

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "src" / "dsei" / "chemistry" / "data" / "extra_energies.json"


def _sg(sg: str, lat: Lattice, species: list[str], coords: list[list[float]]) -> Structure:
    return Structure.from_spacegroup(sg, lat, species, coords).get_primitive_structure()


def rocksalt(c: str, a: str, a_A: float) -> Structure:
    return _sg("Fm-3m", Lattice.cubic(a_A), [c, a], [[0, 0, 0], [0.5, 0.5, 0.5]])


def antifluorite(c: str, a: str, a_A: float) -> Structure:
    return _sg("Fm-3m", Lattice.cubic(a_A), [a, c], [[0, 0, 0], [0.25, 0.25, 0.25]])


def fluorite(c: str, a: str, a_A: float) -> Structure:
    return _sg("Fm-3m", Lattice.cubic(a_A), [c, a], [[0, 0, 0], [0.25, 0.25, 0.25]])


def zincblende(c: str, a: str, a_A: float) -> Structure:
    return _sg("F-43m", Lattice.cubic(a_A), [c, a], [[0, 0, 0], [0.25, 0.25, 0.25]])


def fcc(el: str, a_A: float) -> Structure:
    return _sg("Fm-3m", Lattice.cubic(a_A), [el], [[0, 0, 0]])


#: formula → structure builder (experimental lattice parameters, as recorded in the JSON)
BUILDERS = {
    "NaCl": lambda: rocksalt("Na", "Cl", 5.640),
    "NaBr": lambda: rocksalt("Na", "Br", 5.977),
    "NaI": lambda: rocksalt("Na", "I", 6.473),
    "MgS": lambda: rocksalt("Mg", "S", 5.200),
    "CaO": lambda: rocksalt("Ca", "O", 4.811),
    "CaS": lambda: rocksalt("Ca", "S", 5.689),
    "SrO": lambda: rocksalt("Sr", "O", 5.160),
    "Na2O": lambda: antifluorite("Na", "O", 5.55),
    "Na2S": lambda: antifluorite("Na", "S", 6.54),
    "CuBr": lambda: zincblende("Cu", "Br", 5.69),
    "ZnSe": lambda: zincblende("Zn", "Se", 5.668),
    "Ca": lambda: fcc("Ca", 5.588),
    "Sr": lambda: fcc("Sr", 6.08),
    "Al2O3": lambda: _sg(
        "R-3c", Lattice.hexagonal(4.759, 12.991), ["Al", "O"], [[0, 0, 0.3522], [0.3062, 0, 0.25]]
    ),
    "SnO2": lambda: _sg("P4_2/mnm", Lattice.tetragonal(4.737, 3.186), ["Sn", "O"], [[0, 0, 0], [0.3056, 0.3056, 0]]),
    "SrCl2": lambda: fluorite("Sr", "Cl", 6.98),
    # litharge, P4/nmm origin choice 1: O 2a (0,0,0), Sn 2c (0,1/2,z)
    "SnO": lambda: Structure(
        Lattice.tetragonal(3.8029, 4.8382),
        ["O", "O", "Sn", "Sn"],
        [[0, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0.2381], [0.5, 0, -0.2381]],
    ),
    "Li2Te": lambda: antifluorite("Li", "Te", 6.517),
    "ZnTe": lambda: zincblende("Zn", "Te", 6.104),
    "SnTe": lambda: rocksalt("Sn", "Te", 6.327),
    "Na2Te": lambda: antifluorite("Na", "Te", 7.329),
    "CaSe": lambda: rocksalt("Ca", "Se", 5.916),
    "SrS": lambda: rocksalt("Sr", "S", 6.019),
    "AlN": lambda: _sg("P6_3mc", Lattice.hexagonal(3.112, 4.982), ["Al", "N"], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.382]]),
    "Bi2Se3": lambda: _sg(
        "R-3m", Lattice.hexagonal(4.143, 28.636), ["Bi", "Se", "Se"], [[0, 0, 0.4008], [0, 0, 0], [0, 0, 0.2117]]
    ),
    "Bi2Te3": lambda: _sg(
        "R-3m", Lattice.hexagonal(4.3835, 30.487), ["Bi", "Te", "Te"], [[0, 0, 0.4005], [0, 0, 0], [0, 0, 0.2095]]
    ),
}


def relaxed_energy(structure: Structure, model: str) -> tuple[float, bool]:
    from dsei.models import load_model
    from dsei.relax import relax

    r = relax(structure, load_model(model), fmax=0.01, steps=500, optimizer="BFGS")
    return float(r.result.energy_per_atom_eV), bool(r.result.converged)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=[])
    ap.add_argument("--check", default=None, help="recompute this model's stored energies and compare")
    args = ap.parse_args()
    data = json.loads(FILE.read_text())
    phases = data["phases"]
    missing = sorted(set(phases) - set(BUILDERS))
    if missing:
        raise SystemExit(f"{FILE}: no builder for {', '.join(missing)}")
    for formula, rec in phases.items():
        s = BUILDERS[formula]()
        assert s.composition.reduced_formula == formula and len(s) == rec["nsites"], (formula, len(s))
        if args.check:
            e, ok = relaxed_energy(s, args.check)
            print(f"check {formula:7s} {args.check}: {e:.6f} stored {rec['energy_per_atom_eV'][args.check]:.6f} "
                  f"diff {1000 * (e - rec['energy_per_atom_eV'][args.check]):+.2f} meV/atom", flush=True)
        for m in args.models:
            if m in rec["energy_per_atom_eV"]:
                continue
            e, ok = relaxed_energy(s, m)
            rec["energy_per_atom_eV"][m] = round(e, 6)
            rec["converged"][m] = ok
            FILE.write_text(json.dumps(data, indent=1) + "\n")  # after every phase: resumable
            print(f"{formula:7s} {m}: {e:.6f} eV/atom converged={ok}", flush=True)


if __name__ == "__main__":
    main()
