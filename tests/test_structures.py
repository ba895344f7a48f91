"""Reading, validation (each bad-input case: one error line, exit status 2) and fingerprints."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from dsei.errors import InputError
from dsei.structures import fingerprint, read_structure, validate_structure

AGCL = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.55), ["Ag", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.mark.parametrize("fmt", ["cif", "poscar", "extxyz", "json"])
def test_read_formats(tmp_path, fmt):
    name = {"cif": "x.cif", "poscar": "POSCAR", "extxyz": "x.extxyz", "json": "x.json"}[fmt]
    path = tmp_path / name
    if fmt == "extxyz":
        from ase.io import write
        from pymatgen.io.ase import AseAtomsAdaptor

        write(path, AseAtomsAdaptor.get_atoms(AGCL), format="extxyz")
    else:
        AGCL.to(filename=str(path), fmt=fmt)
    s = read_structure(path)
    assert s.composition.reduced_formula == "AgCl" and len(s) == 8
    assert abs(s.volume - AGCL.volume) < 1e-3
    assert s.properties["source"] == str(path)


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


DISORDERED_CIF = """data_x
_symmetry_space_group_name_H-M 'P 1'
_cell_length_a 4.0
_cell_length_b 4.0
_cell_length_c 4.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_Int_Tables_number 1
loop_
_symmetry_equiv_pos_as_xyz
 'x, y, z'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Li1 Li 0 0 0 0.5
Na1 Na 0 0 0 0.5
F1 F 0.5 0.5 0.5 1
"""


def _bad_inputs(tmp_path):
    """(description, file, expected fragment of the error)."""
    cases = []
    cases.append(("unparsable", _write(tmp_path, "garbage.cif", "this is not a cif\n"), "cannot parse"))
    cases.append(("unknown suffix", _write(tmp_path, "x.pdbq", "x"), "unknown structure format"))
    cases.append(("missing", tmp_path / "missing.cif", "no such file"))
    cases.append(("disorder", _write(tmp_path, "disordered.cif", DISORDERED_CIF), "partial occupancy"))
    overlap = Structure(Lattice.cubic(4.0), ["Li", "F"], [[0, 0, 0], [0.05, 0, 0]])
    p = tmp_path / "overlap.json"
    p.write_text(json.dumps(overlap.as_dict()))
    cases.append(("overlap", p, "overlapping atoms"))
    po = Structure(Lattice.cubic(6.0), ["Po"], [[0, 0, 0]])
    p = tmp_path / "polonium.json"
    p.write_text(json.dumps(po.as_dict()))
    cases.append(("element not covered by SevenNet-0", p, "does not cover element(s) Po"))
    big = AGCL.copy()
    big.make_supercell([4, 4, 4])  # 512 sites
    p = tmp_path / "big.json"
    p.write_text(json.dumps(big.as_dict()))
    cases.append(("too many sites", p, "more than the cap"))
    mol = _write(tmp_path, "molecule.extxyz", '2\nProperties=species:S:1:pos:R:3 pbc="F F F"\nLi 0 0 0\nF 1.6 0 0\n')
    cases.append(("not periodic", mol, "not 3D-periodic"))
    return cases


def test_each_bad_input_gives_one_error_line_and_status_2(tmp_path, run_cli):
    for what, path, fragment in _bad_inputs(tmp_path):
        code, out, err = run_cli("relax", path, "--model", "sevennet")
        lines = [line for line in err.strip().splitlines() if line.strip()]
        assert code == 2, (what, code, err)
        assert len(lines) == 1 and lines[0].startswith("error:"), (what, err)
        assert str(path) in lines[0] or path.name in lines[0], (what, lines[0])
        assert fragment in lines[0], (what, lines[0])
        assert "Traceback" not in err


def test_validate_python_api():
    validate_structure(AGCL, source="agcl")
    with pytest.raises(InputError, match="cap of 4"):
        validate_structure(AGCL, source="agcl", max_sites=4)


def test_fingerprint_stable_under_supercell_rotation_translation():
    fp = fingerprint(AGCL)
    assert fp.startswith("AgCl-Fm-3m-225-")
    prim = AGCL.get_primitive_structure()
    sup = AGCL.copy()
    sup.make_supercell([2, 1, 1])
    shifted = AGCL.copy()
    shifted.translate_sites(list(range(len(shifted))), [0.13, 0.21, 0.37])
    rotated = Structure(
        Lattice(AGCL.lattice.matrix @ np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]])), AGCL.species, AGCL.frac_coords
    )
    for other in (prim, sup, shifted, rotated):
        assert fingerprint(other) == fp
    strained = AGCL.copy()
    strained.scale_lattice(AGCL.volume * 1.05)
    assert fingerprint(strained) != fp
    nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.55), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert fingerprint(nacl) != fp


def test_library_formula_resolves(run_cli):
    from dsei.structures.io import load_structure

    s = load_structure("LiF")
    assert s.composition.reduced_formula == "LiF"
    code, _, err = run_cli("relax", "NoSuchPhase123", "--model", "sevennet")
    assert code == 2 and err.startswith("error: NoSuchPhase123:")


def test_spglib_new_error_handling_no_deprecation_and_failures_handled(monkeypatch):
    """dsei switches spglib to its new error handling once (``import dsei``): no DeprecationWarning from spglib on
    dsei's symmetry calls, and where spglib raises instead of returning None the callers still fall back."""
    import os
    import warnings

    import spglib
    from ase.build import bulk

    import dsei  # noqa: F401 - sets SPGLIB_OLD_ERROR_HANDLING
    from dsei.mechanics.elastic import _standardize
    from dsei.mechanics.ions import _symmetry_ops
    from dsei.relax import primitive_cell as _primitive
    from dsei.relax import spacegroup

    assert os.environ["SPGLIB_OLD_ERROR_HANDLING"].lower() in ("false", "0")
    lif = bulk("LiF", "rocksalt", a=4.03, cubic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert _standardize(lif.copy(), 1e-3).number == 225
        assert len(_primitive(lif, 1e-3)) == 2 and spacegroup(lif) == ("Fm-3m", 225)
        assert fingerprint(AGCL).startswith("AgCl-Fm-3m-225-")

    def fail(*args, **kwargs):  # injected fault: spglib's new handling raises where it returned None
        raise spglib.SpglibError("spacegroup search failed")

    monkeypatch.setattr(spglib, "get_symmetry_dataset", fail)
    monkeypatch.setattr(spglib, "standardize_cell", fail)
    assert _standardize(lif.copy(), 1e-3) is None
    assert len(_primitive(lif, 1e-3)) == 8  # the input cell is kept
    rep, ops = _symmetry_ops(lif, 1e-3)
    assert len(ops) == 1 and list(rep) == list(range(8))  # identity only
