"""Relax the extra binary phases of ``src/dsei/chemistry/data/extra_energies.json`` with more models.

    nice python scripts/extra_energies.py --models sevennet-mf-r2scan [--check sevennet]

The extra phases are binaries the chemistry benchmark needs that are not in the structure library
(rock-salt NaCl, corundum Al2O3, …). Each is rebuilt here from its prototype and experimental lattice
parameters (the values recorded in the JSON's ``prototype`` field; references in docs/references.md:
Wyckoff, *Crystal Structures*; Swanson et al., NBS Circular 539), relaxed with ``dsei.relax`` (BFGS, fmax
0.01 eV/Å, symmetry kept), and its energy per atom stored under the model's name. Models already present
for a phase are skipped. ``--check MODEL`` recomputes an existing model's energies and prints the largest
difference from the stored ones (a reproducibility check of this script against the shipped numbers).
``NEW_PHASES`` built from a Materials Project structure (``mp_dev``) read it from ../shared's dev set, so this
script, like scripts/build_library.py, needs ../shared beside the repository.

``--write-structures`` writes every builder's structure (as built, before relaxation) to
``src/dsei/structures/data/extra/`` (one CIF per formula + ``index.json`` with its prototype and provenance), so
that ``dsei design`` can compute the mechanics and barrier of a phase that has an energy here but no library
entry, and ``dsei elastic FORMULA`` finds it (``dsei.structures.library.extra_structure``).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import warnings
from pathlib import Path

from pymatgen.core import Lattice, Structure

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "src" / "dsei" / "chemistry" / "data" / "extra_energies.json"
STRUCTURES = ROOT / "src" / "dsei" / "structures" / "data" / "extra"
MP_ATTRIBUTION = "Materials Project (CC BY 4.0; A. Jain et al., APL Materials 1, 011002 (2013))"


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


def bcc(el: str, a_A: float) -> Structure:
    return _sg("Im-3m", Lattice.cubic(a_A), [el], [[0, 0, 0]])


def cdi2(c: str, a: str, a_A: float, c_A: float, z: float = 0.25) -> Structure:
    """CdI2 type, P-3m1: M 1a (0,0,0), X 2d (1/3,2/3,z)."""
    return _sg("P-3m1", Lattice.hexagonal(a_A, c_A), [c, a], [[0, 0, 0], [1 / 3, 2 / 3, z]])


def cdcl2(c: str, a: str, a_A: float, c_A: float, z: float) -> Structure:
    """CdCl2 type, R-3m (hexagonal axes): M 3a (0,0,0), X 6c (0,0,z)."""
    return _sg("R-3m", Lattice.hexagonal(a_A, c_A), [c, a], [[0, 0, 0], [0, 0, z]])


def cacl2(c: str, a: str, abc: tuple[float, float, float], xy: tuple[float, float]) -> Structure:
    """CaCl2 type (distorted rutile), Pnnm: M 2a (0,0,0), X 4g (x,y,0)."""
    return _sg("Pnnm", Lattice.orthorhombic(*abc), [c, a], [[0, 0, 0], [xy[0], xy[1], 0]])


def ges(c: str, a: str, abc: tuple[float, float, float], mc: tuple[float, float], xc: tuple[float, float]) -> Structure:
    """GeS type (α-SnS, α-SnSe), Pnma: both atoms on 4c (x,1/4,z)."""
    return _sg("Pnma", Lattice.orthorhombic(*abc), [c, a], [[mc[0], 0.25, mc[1]], [xc[0], 0.25, xc[1]]])


def bixbyite(m: str, x: str, a_A: float, x_24d: float, xyz_48e: tuple[float, float, float], anti: bool = False) -> Structure:
    """Bixbyite (Mn2O3, In2O3) or, with ``anti``, anti-bixbyite (Mg3N2, Ca3N2, Zn3N2), Ia-3: the 2-fold species
    on 8b (1/4,1/4,1/4) + 24d (x,0,1/4), the 3-fold one on 48e (x,y,z). 40-atom primitive cell."""
    sites, coords = ([x, x, m] if anti else [m, m, x]), [[0.25, 0.25, 0.25], [x_24d, 0, 0.25], list(xyz_48e)]
    return _sg("Ia-3", Lattice.cubic(a_A), sites, coords)


def wurtzite(c: str, a: str, a_A: float, c_A: float, u: float) -> Structure:
    return _sg("P6_3mc", Lattice.hexagonal(a_A, c_A), [c, a], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, u]])


DEV = ROOT.parent / "shared" / "data" / "mp_binary_elasticity_dev.json.gz"


@functools.lru_cache(maxsize=1)
def _dev() -> dict:
    return {d["mp_id"]: d for d in json.load(gzip.open(DEV))}


def mp_dev(mp_id: str, subs: dict[str, str] | None = None) -> Structure:
    """A Materials Project structure (CC BY 4.0) from ../shared's dev set, optionally with species substituted
    (an isostructural prototype; the relaxation sets the lattice). Needs ../shared: a maintainer's script."""
    s = Structure.from_dict(_dev()[mp_id]["structure"])
    if subs:
        s.replace_species(subs)
    return s.get_primitive_structure()


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
    "AlN": lambda: wurtzite("Al", "N", 3.112, 4.982, 0.382),
    "Bi2Se3": lambda: _sg(
        "R-3m", Lattice.hexagonal(4.143, 28.636), ["Bi", "Se", "Se"], [[0, 0, 0.4008], [0, 0, 0], [0, 0, 0.2117]]
    ),
    "Bi2Te3": lambda: _sg(
        "R-3m", Lattice.hexagonal(4.3835, 30.487), ["Bi", "Te", "Te"], [[0, 0, 0.4005], [0, 0, 0], [0, 0, 0.2095]]
    ),
}

#: Phases of the reduction-potential benchmark beyond the library (more phases per metal, In³⁺ and Cu²⁺, K): formula →
#: (prototype as recorded in the JSON, builder). Lattice parameters: Wyckoff, *Crystal Structures*; bixbyite
#: In2O3: Marezio, Acta Cryst. 20, 723 (1966); anti-bixbyite Mg3N2: Partin et al., J. Solid State Chem. 132, 56
#: (1997) (the same internal coordinates seed Ca3N2 and Zn3N2); tenorite CuO: Åsbrink & Norrby, Acta Cryst. B26,
#: 8 (1970); α-SnS/α-SnSe: Chattopadhyay et al., J. Phys. Chem. Solids 47, 879 (1986). ``MP mp-…``: the Materials
#: Project structure (CC BY 4.0) of the ground-state structure type, from the dev set in ../shared.
NEW_PHASES = {
    "K": ("bcc, a=5.328 Å (exp.)", lambda: bcc("K", 5.328)),
    "KF": ("rocksalt, a=5.347 Å (exp.)", lambda: rocksalt("K", "F", 5.347)),
    "KCl": ("rocksalt, a=6.293 Å (exp.)", lambda: rocksalt("K", "Cl", 6.293)),
    "KBr": ("rocksalt, a=6.600 Å (exp.)", lambda: rocksalt("K", "Br", 6.600)),
    "KI": ("rocksalt, a=7.066 Å (exp.)", lambda: rocksalt("K", "I", 7.066)),
    "K2O": ("antifluorite, a=6.436 Å (exp.)", lambda: antifluorite("K", "O", 6.436)),
    "K2S": ("antifluorite, a=7.406 Å (exp.)", lambda: antifluorite("K", "S", 7.406)),
    "MgCl2": ("CdCl2 type R-3m, a=3.641, c=17.67 Å, z=0.2578 (exp.)", lambda: cdcl2("Mg", "Cl", 3.641, 17.67, 0.2578)),
    "MgBr2": ("CdI2 type P-3m1, a=3.81, c=6.26 Å (exp.)", lambda: cdi2("Mg", "Br", 3.81, 6.26)),
    "MgI2": ("CdI2 type P-3m1, a=4.14, c=6.88 Å (exp.)", lambda: cdi2("Mg", "I", 4.14, 6.88)),
    "CaI2": ("CdI2 type P-3m1, a=4.48, c=6.96 Å (exp.)", lambda: cdi2("Ca", "I", 4.48, 6.96)),
    "SnS2": ("CdI2 type P-3m1, a=3.645, c=5.899 Å (exp.)", lambda: cdi2("Sn", "S", 3.645, 5.899)),
    "SnSe2": ("CdI2 type P-3m1, a=3.811, c=6.137 Å (exp.)", lambda: cdi2("Sn", "Se", 3.811, 6.137)),
    "CaCl2": ("CaCl2 type Pnnm, a=6.24, b=6.43, c=4.20 Å (exp.)", lambda: cacl2("Ca", "Cl", (6.24, 6.43, 4.20), (0.275, 0.325))),
    "CaBr2": ("CaCl2 type Pnnm, a=6.584, b=6.871, c=4.342 Å (exp.)", lambda: cacl2("Ca", "Br", (6.584, 6.871, 4.342), (0.275, 0.325))),
    "SnS": ("α-SnS (GeS type) Pnma, a=11.20, b=3.987, c=4.334 Å (exp.)",
            lambda: ges("Sn", "S", (11.20, 3.987, 4.334), (0.1198, 0.1194), (0.8508, 0.4793))),
    "SnSe": ("α-SnSe (GeS type) Pnma, a=11.50, b=4.153, c=4.445 Å (exp.)",
             lambda: ges("Sn", "Se", (11.50, 4.153, 4.445), (0.1185, 0.1031), (0.8553, 0.4814))),
    "CuO": ("tenorite C2/c, a=4.6837, b=3.4226, c=5.1288 Å, β=99.54° (exp.)",
            lambda: _sg("C2/c", Lattice.monoclinic(4.6837, 3.4226, 5.1288, 99.54), ["Cu", "O"],
                        [[0.25, 0.25, 0], [0, 0.4184, 0.25]])),
    "Cu2Se": ("antifluorite (α-Cu2Se; the room-temperature β phase is not ordered in a small cell), a=5.76 Å (exp.)",
              lambda: antifluorite("Cu", "Se", 5.76)),
    "InN": ("wurtzite, a=3.538, c=5.703 Å, u=0.377 (exp.)", lambda: wurtzite("In", "N", 3.538, 5.703, 0.377)),
    "In2O3": ("bixbyite Ia-3, a=10.117 Å (exp.)",
              lambda: bixbyite("In", "O", 10.117, -0.0336, (0.3905, 0.1529, 0.3832))),
    "Mg3N2": ("anti-bixbyite Ia-3, a=9.964 Å (exp.)",
              lambda: bixbyite("Mg", "N", 9.964, -0.0305, (0.3890, 0.1520, 0.3822), anti=True)),
    "Ca3N2": ("anti-bixbyite Ia-3, a=11.473 Å (exp.)",
              lambda: bixbyite("Ca", "N", 11.473, -0.0305, (0.3890, 0.1520, 0.3822), anti=True)),
    "Zn3N2": ("anti-bixbyite Ia-3, a=9.769 Å (exp.)",
              lambda: bixbyite("Zn", "N", 9.769, -0.0305, (0.3890, 0.1520, 0.3822), anti=True)),
    "AlCl3": ("MP mp-25469 (AlCl3 type C2/m)", lambda: mp_dev("mp-25469")),
    "AlBr3": ("MP mp-23288 (Al2Br6 dimers, P2_1/c)", lambda: mp_dev("mp-23288")),
    "AlI3": ("MP mp-30930 (Al2I6 dimers, P2_1/c)", lambda: mp_dev("mp-30930")),
    "BiI3": ("MP mp-22849 (BiI3 type R-3)", lambda: mp_dev("mp-22849")),
    "ZnCl2": ("MP mp-22909 (α-ZnCl2, I-42d)", lambda: mp_dev("mp-22909")),
    "CuCl2": ("MP mp-30999 (CuCl2 type C2/m)", lambda: mp_dev("mp-30999")),
    "InBr": ("MP mp-22870 (TlI type Cmcm)", lambda: mp_dev("mp-22870")),
    "InI": ("MP mp-22870 (TlI type Cmcm) with Br→I", lambda: mp_dev("mp-22870", {"Br": "I"})),
    "InTe": ("MP mp-20320 (TlSe type I4/mcm)", lambda: mp_dev("mp-20320")),
    "InCl3": ("MP mp-25469 (AlCl3 type C2/m) with Al→In", lambda: mp_dev("mp-25469", {"Al": "In"})),
    "InBr3": ("MP mp-25469 (AlCl3 type C2/m) with Al→In, Cl→Br", lambda: mp_dev("mp-25469", {"Al": "In", "Cl": "Br"})),
    # The elemental references Li3Sb and Li3P (library alloy / native phases) need for `dsei stability`.
    # A7 antimony: Barrett, Cucka & Haefner, Acta Cryst. 16, 451 (1963) (Sb–Sb 2.908 Å, 6.69 g/cm³); black
    # phosphorus (A17): Brown & Rundqvist, Acta Cryst. 19, 684 (1965) (P–P 2.224/2.244 Å, 2.71 g/cm³).
    "Sb": ("A7 (α-As type) R-3m, a=4.3084, c=11.274 Å, z=0.23349 (exp.)",
           lambda: _sg("R-3m", Lattice.hexagonal(4.3084, 11.274), ["Sb"], [[0, 0, 0.23349]])),
    "P": ("black phosphorus (A17) Cmce, a=3.3136, b=10.478, c=4.3763 Å, y=0.10168, z=0.08056 (exp.)",
          lambda: _sg("Cmce", Lattice.orthorhombic(3.3136, 10.478, 4.3763), ["P"], [[0, 0.10168, 0.08056]])),
}



def agno3_search_start() -> Structure:
    """AgNO3 for the all-solid conversion route (Li2S + 2 AgNO3 → Ag2S + 2 LiNO3).

    The room-temperature phase is orthorhombic Pbca (Z = 8; Meyer, Rimsky & Chevalier, Acta Cryst. B34, 1457
    (1978)), whose atomic coordinates could not be obtained here (docs/library.md). Its energy is taken instead
    from the lowest structure a small search finds: the calcite-type nitrate cell (the LiNO3/NaNO3 structure
    type, dsei.structures.prototypes.calcite_nitrate) with Ag, scaled to AgNO3's measured density (4.35 g/cm³,
    CRC Handbook), every atom displaced by a seeded Gaussian of 0.12 Å so that the relaxation (P1: no symmetry
    to keep) can leave the calcite cell if the model finds it unstable. Measured, below the relaxed
    calcite cell: r2SCAN fidelity 7.3 meV/atom (R3c-like, nitrates tilted; other seeds and 20-atom supercells
    reach the same energy within 0.05 meV/atom), CHGNet 5.7 (C2/c-like), SevenNet-l3i5 2.9 (R3c-like),
    SevenNet-0 0.0 (back to calcite). A stand-in: if the true phase is lower, the all-solid reaction energies
    made with it are too downhill by twice (Li2S) or once (LiF) the difference per AgNO3 (docs/benchmarks.md, "Additive driving forces").
    """
    import numpy as np

    from dsei.structures.prototypes import calcite_nitrate

    s = calcite_nitrate("Ag", 5.14, 17.04).get_primitive_structure()
    disp = np.random.default_rng(7).normal(0.0, 0.12, (len(s), 3))
    return Structure(s.lattice, s.species, s.cart_coords + disp, coords_are_cartesian=True)


NEW_PHASES["AgNO3"] = (
    "calcite-type AgNO3 cell (R-3c, a=5.14, c=17.04 Å: density 4.35 g/cm³) rattled 0.12 Å (seed 7), relaxed "
    "without symmetry; stand-in for the Pbca room-temperature phase (no coordinates available)",
    agno3_search_start,
)
BUILDERS |= {f: b for f, (_, b) in NEW_PHASES.items()}


def relaxed_energy(structure: Structure, model: str) -> tuple[float, bool]:
    from dsei.models import load_model
    from dsei.relax import relax

    r = relax(structure, load_model(model), fmax=0.01, steps=500, optimizer="BFGS")
    return float(r.result.energy_per_atom_eV), bool(r.result.converged)


def write_structures(phases: dict) -> None:
    """One CIF per extra phase (as built: prototype + experimental lattice, or the MP structure) and an index."""
    STRUCTURES.mkdir(parents=True, exist_ok=True)
    index = {
        "schema_version": "1.0",
        "description": "Structures of the chemistry set's extra binaries (src/dsei/chemistry/data/extra_energies.json), "
        "as built by scripts/extra_energies.py before relaxation; not part of the screened library.",
        "attribution": f"Structures marked 'MP mp-…': {MP_ATTRIBUTION}.",
        "phases": {},
    }
    for formula, rec in sorted(phases.items()):
        s = BUILDERS[formula]()
        name = f"{formula}.cif"
        s.to(filename=str(STRUCTURES / name))  # P1, the exact cell built (a symmetrized CIF is the conventional cell)
        proto = rec["prototype"]
        index["phases"][formula] = {
            "file": name,
            "prototype": proto,
            "nsites": len(s),
            "provenance": f"{MP_ATTRIBUTION}, {proto.split()[1]}" if proto.startswith("MP mp-") else f"built from the {proto} (docs/references.md)",
        }
    (STRUCTURES / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(index['phases'])} structures to {STRUCTURES}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=[])
    ap.add_argument("--check", default=None, help="recompute this model's stored energies and compare")
    ap.add_argument("--write-structures", action="store_true", help=f"write the built structures to {STRUCTURES}")
    args = ap.parse_args()
    data = json.loads(FILE.read_text())
    phases = data["phases"]
    for formula, (proto, build) in NEW_PHASES.items():
        if formula not in phases:
            phases[formula] = {"prototype": proto, "nsites": len(build()), "energy_per_atom_eV": {}, "converged": {}}
    missing = sorted(set(phases) - set(BUILDERS))
    if missing:
        raise SystemExit(f"{FILE}: no builder for {', '.join(missing)}")
    if args.write_structures:  # every phase, NEW_PHASES ones not yet relaxed included
        write_structures(phases)
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
