"""Build src/dsei/discovery/data/prototypes.json.gz: the ionic prototypes that `dsei discover` substitutes into.

    python scripts/build_prototypes.py

Sources: the built-in library and the chemistry set's extra structures (already in the package), the 80 SEI
structures in ../shared/data/sei_structures/ and the structures of the two shared elasticity sets (Materials
Project, CC BY 4.0: A. Jain et al., APL Mater. 1, 011002 (2013); de Jong et al., Sci. Data 2, 150009 (2015)).
Kept: binaries and ternaries whose first pymatgen oxidation-state guess is integer, with at least one cation and
at least one anion of dsei.chemistry.energies.ANION_CHARGE at its usual charge, at most 24 sites in the primitive
cell; up to three structures per structure type (the dsei fingerprint of the cell with its ions replaced by
placeholder elements in order of charge and the volume scaled to 20 Å³/atom), of different formulas, first sources
win — so that removing one formula's structures (``--exclude`` in the rediscovery benchmark) leaves the type in. Each record keeps its source id
(mp-id) for attribution and its symmetry-distinct site orbits (spglib, symprec 0.1), which enumeration may fill with
different ions of the same charge (ordered ternaries and mixed-anion phases from binary prototypes).
"""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from dsei.chemistry.energies import ANION_CHARGE
from dsei.structures.library import extra_dir, get_library

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")
OUT = ROOT / "src" / "dsei" / "discovery" / "data" / "prototypes.json.gz"
MAX_SITES = 24
PER_TYPE = 3


def sources():
    lib = get_library()
    for e in lib:
        yield f"library:{e.id}", e.mp_id or "", lib.structure(e.id)
    for f in sorted(extra_dir().glob("*.cif")):
        yield f"extra:{f.stem}", "", Structure.from_file(f)
    for f in sorted((SHARED / "sei_structures").glob("*.cif")):
        yield f"sei_structures:{f.stem}", f.stem.split("_")[-1], Structure.from_file(f)
    for name in ("mp_binary_elasticity_dev.json.gz", "mp_elastic_tensors_dejong2015.json.gz"):
        with gzip.open(SHARED / name, "rt") as fh:
            for d in json.load(fh):
                yield f"{name.split('.')[0]}:{d['mp_id']}", d["mp_id"], Structure.from_dict(d["structure"])


def charges(s: Structure) -> dict[str, int] | None:
    comp = s.composition
    if len(comp.elements) not in (2, 3) or len(s) > MAX_SITES:
        return None
    guesses = comp.oxi_state_guesses(max_sites=-1)
    if not guesses:
        return None
    g = guesses[0]
    if any(abs(v - round(v)) > 1e-6 for v in g.values()):
        return None
    g = {k: int(round(v)) for k, v in g.items()}
    anions = [k for k, v in g.items() if v < 0]
    if not anions or not any(v > 0 for v in g.values()) or any(v == 0 for v in g.values()):
        return None
    if any(ANION_CHARGE.get(a) != g[a] for a in anions):
        return None
    return g


PLACEHOLDERS = ("Na", "Mg", "Al", "Si", "Cl", "S", "N", "C")


def type_key(prim: Structure, q: dict[str, int]) -> str:
    """Fingerprint of the structure type: ions → placeholders by (charge, element), volume 20 Å³/atom."""
    from dsei.structures.fingerprint import fingerprint

    order = sorted(q, key=lambda el: (-q[el], el))
    s = prim.copy()
    s.replace_species({el: PLACEHOLDERS[i] for i, el in enumerate(order)})
    s.scale_lattice(20.0 * len(s))
    return fingerprint(s).split("-", 1)[1]


def main() -> None:
    seen: dict[str, set[str]] = {}
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for origin, mp_id, s in sources():
            q = charges(s)
            if q is None:
                continue
            try:
                sga = SpacegroupAnalyzer(s, symprec=0.1)
                sg = sga.get_space_group_number()
                prim = sga.find_primitive() or s
            except Exception:  # noqa: BLE001
                continue
            prim = prim.copy()
            prim.remove_oxidation_states()
            if len(prim) > MAX_SITES:
                continue
            key = type_key(prim, q)
            formulas = seen.setdefault(key, set())
            if len(formulas) >= PER_TYPE or s.composition.reduced_formula in formulas:
                continue
            formulas.add(s.composition.reduced_formula)
            try:
                orbits = SpacegroupAnalyzer(prim, symprec=0.1).get_symmetrized_structure().equivalent_indices
            except Exception:  # noqa: BLE001
                orbits = [[i] for i in range(len(prim))]
            out.append({"id": origin, "mp_id": mp_id, "formula": s.composition.reduced_formula, "spacegroup": sg,
                        "charges": q, "orbits": [list(map(int, o)) for o in orbits], "structure": json.loads(prim.to_json())})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": "dsei-discovery-prototypes", "schema_version": 1,
               "attribution": "Materials Project structures, CC BY 4.0: A. Jain et al., APL Mater. 1, 011002 (2013); "
                              "elastic set: M. de Jong et al., Sci. Data 2, 150009 (2015); dsei library (docs/library.md)",
               "prototypes": out}
    with gzip.open(OUT, "wt") as fh:
        json.dump(payload, fh, separators=(",", ":"))
    print(f"{len(out)} prototypes -> {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
