"""The built-in phase library: index consistency, prototypes, lookup and the CLI. No MLIP needed."""

from __future__ import annotations

import json
import warnings
from collections import Counter

import pytest
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from dsei.structures.library import ROLES, Library, get_library
from dsei.structures.prototypes import PROTOTYPES, build, nearest_neighbour_distance_A

MP_ATTRIBUTION = "CC BY 4.0"
MP_PAPER = "A. Jain et al., APL Materials 1, 011002 (2013)"


def _read(path) -> Structure:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Structure.from_file(path)


@pytest.fixture(scope="module")
def lib() -> Library:
    return get_library()


def test_every_file_exists_parses_and_matches_its_formula(lib):
    assert len(lib) >= 90
    for e in lib:
        path = lib.root / e.file
        assert path.is_file(), e.id
        s = _read(path)
        assert s.composition.reduced_formula == e.formula, e.id
        assert len(s.get_primitive_structure()) == e.nsites, e.id  # nsites counts the primitive cell


def test_ids_unique_and_roles_valid(lib):
    ids = [e.id for e in lib]
    assert len(ids) == len(set(ids))
    assert {e.role for e in lib} <= set(ROLES)
    for role in ROLES:
        assert lib.by_role(role), f"no {role} entries"


def test_exactly_one_ground_state_per_formula(lib):
    formulas = {e.formula for e in lib}
    counts = Counter(e.formula for e in lib if e.ground_state)
    assert set(counts) == formulas
    assert all(n == 1 for n in counts.values()), {f: n for f, n in counts.items() if n != 1}
    # at most one experimental room-temperature phase per formula
    exp = Counter(e.formula for e in lib if e.experimental_ground_state)
    assert all(n == 1 for n in exp.values())


def test_ground_state_follows_default_model_energy(lib):
    """Where the ranking is present, the ground state has the lowest SevenNet-0 energy (1 meV/atom ties)."""
    by_formula: dict[str, list] = {}
    for e in lib:
        by_formula.setdefault(e.formula, []).append(e)
    for formula, group in by_formula.items():
        if len(group) < 2 or not all("sevennet" in e.energy_per_atom_eV for e in group):
            continue
        gs = next(e for e in group if e.ground_state)
        emin = min(e.energy_per_atom_eV["sevennet"] for e in group)
        assert gs.energy_per_atom_eV["sevennet"] - emin < 1e-3 + 1e-9, formula


def test_materials_project_entries_carry_attribution(lib):
    mp = [e for e in lib if e.mp_id]
    assert len(mp) == 80
    for e in mp:
        assert MP_ATTRIBUTION in e.provenance and MP_PAPER in e.provenance and e.mp_id in e.provenance
    assert MP_ATTRIBUTION in lib.meta["attribution"]
    for e in lib:
        if not e.mp_id:
            assert e.provenance.startswith("literature prototype;") and e.reference in e.provenance, e.id


@pytest.mark.parametrize("proto_id", sorted(PROTOTYPES))
def test_prototype_spacegroup_and_neighbours(proto_id, lib):
    p = PROTOTYPES[proto_id]
    s = build(proto_id)
    assert s.composition.reduced_formula == p.formula
    assert SpacegroupAnalyzer(s, symprec=1e-3).get_space_group_number() == p.spacegroup_number
    assert nearest_neighbour_distance_A(s) == pytest.approx(p.nn_distance_A, abs=0.02)
    # the shipped CIF is the same phase
    e = lib.get(proto_id)
    shipped = _read(lib.root / e.file)
    assert SpacegroupAnalyzer(shipped, symprec=1e-3).get_space_group_number() == p.spacegroup_number
    assert shipped.volume / len(shipped) == pytest.approx(s.volume / len(s), rel=1e-4)
    assert e.role == p.role


def test_required_phases_present(lib):
    for formula in [
        "Li",
        "Na",
        "Ag",
        "Cu",
        "Zn",
        "Mg",
        "Al",
        "Sn",
        "Bi",
        "In",
        "AgF",
        "Ag2S",
        "LiNO3",
        "Li2S",
        "LiF",
    ]:
        assert lib.find(formula) is not None, formula
    assert {e.id for e in lib if e.formula == "Sn"} == {"Sn-alpha", "Sn-beta"}


def test_find_ag2s_and_agf(lib):
    ag2s = lib.find("Ag2S")
    assert ag2s is not None and ag2s.formula == "Ag2S" and ag2s.ground_state
    assert lib.get("Ag2S-acanthite").experimental_ground_state
    assert "Frueh" in lib.get("Ag2S-acanthite").reference
    agf = lib.find("AgF")
    assert agf is not None and agf.formula == "AgF" and agf.spacegroup.endswith("(225)")
    assert lib.find("AgF-rocksalt") is agf
    assert lib.find("NoSuchPhase") is None


def test_experimental_phase_lookup(lib):
    assert lib.experimental("Ag2S").id == "Ag2S-acanthite"
    assert lib.experimental("Sn").id == "Sn-beta"
    assert lib.experimental("Ag2Se").id == "Ag2Se-mp-568936"
    assert lib.experimental("Cu2S") is None  # low chalcocite is not in the library
    assert lib.experimental("not a formula") is None


def test_structure_properties(lib):
    s = lib.structure("Ag2S-acanthite")
    assert s.properties["library_id"] == "Ag2S-acanthite"
    assert len(s) == 12 and lib.get("Ag2S-acanthite").nsites == 12


def test_cli_export_writes_cif_that_reads_back(run_cli, tmp_path, lib):
    code, out, err = run_cli("library", "export", "Ag2S", tmp_path)
    assert code == 0, err
    path = tmp_path / lib.find("Ag2S").file
    assert path.is_file()
    assert _read(path).composition.reduced_formula == "Ag2S"
    code, _, err = run_cli("library", "export", "AgF-rocksalt", tmp_path / "sub")
    assert code == 0, err
    assert _read(tmp_path / "sub" / "AgF-rocksalt.cif").composition.reduced_formula == "AgF"


def test_cli_export_unknown_id_is_input_error(run_cli, tmp_path):
    code, _, err = run_cli("library", "export", "Xx9-nothing", tmp_path)
    assert code == 2 and err.startswith("error:")


def test_cli_list_json(run_cli, lib):
    code, out, err = run_cli("library", "list", "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["entries"]) == len(lib)
    assert "CC BY 4.0" in data["attribution"]
    ids = {e["id"] for e in data["entries"]}
    assert {"AgF-rocksalt", "Ag2S-acanthite", "LiNO3-calcite", "Li-bcc"} <= ids
    code, out, _ = run_cli("library", "list", "--json", "-", "--role", "metal")
    assert code == 0
    assert {e["role"] for e in json.loads(out)["entries"]} == {"metal"}


def test_extra_structures_cover_the_chemistry_set():
    """Every binary with shipped chemistry energies but no library entry has the structure its energies were
    relaxed from (same formula and cell size), and Materials Project ones keep their attribution."""
    from importlib import resources

    from dsei.structures.library import extra_structure

    extra = json.loads(resources.files("dsei.chemistry").joinpath("data/extra_energies.json").read_text())["phases"]
    for formula, rec in extra.items():
        s = extra_structure(formula)
        assert s is not None, formula
        assert s.composition.reduced_formula == formula and len(s) == int(rec["nsites"]), formula
        assert s.properties["source"] == f"extra:{formula}"
        if rec["prototype"].startswith("MP mp-"):
            assert "CC BY 4.0" in s.properties["provenance"], formula
    assert extra_structure("NoSuchPhase") is None and extra_structure("not a formula") is None


def test_formula_lookup_prefers_the_library_then_the_chemistry_set(lib):
    from dsei.structures.io import load_structure
    from dsei.structures.library import structure_for_formula

    assert structure_for_formula("AgF").properties["library_id"] == lib.find("AgF").id
    zncl2 = load_structure("ZnCl2")  # not in the library: α-ZnCl2 from the chemistry set (MP mp-22909)
    assert zncl2.properties["source"] == "extra:ZnCl2"
    assert SpacegroupAnalyzer(zncl2, symprec=1e-3).get_space_group_number() == 122
    assert structure_for_formula("Xe2F9") is None
