"""Regenerate the bad-input corpus (issue #25): ``python tests/data/bad/make_corpus.py``.

Every file here is something a user might hand dsei that is *not* a usable bulk crystal, or not a readable
file. Each must end in exactly one ``error: FILE: ...`` line and exit status 2 in every command that takes a
structure (``tests/test_bad_inputs.py``). The files are small text, written once and committed.
"""

from __future__ import annotations

from pathlib import Path

from pymatgen.core import Lattice, Structure

HERE = Path(__file__).parent

CIF_TEMPLATE = """data_LiF
_symmetry_space_group_name_H-M   'P 1'
_symmetry_Int_Tables_number   1
_cell_length_a   {a}
_cell_length_b   {b}
_cell_length_c   {c}
_cell_angle_alpha   {alpha}
_cell_angle_beta   {beta}
_cell_angle_gamma   {gamma}
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
 Li1 Li 0.0 0.0 0.0 1
 F1 F 0.5 0.5 0.5 1
"""


def lif_conventional() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.03), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def write(name: str, text: str) -> None:
    (HERE / name).write_text(text)


def main() -> None:
    # --- cells that are not finite positive numbers (a rocksalt LiF primitive cell otherwise) -------------
    good = dict(a=2.85, b=2.85, c=2.85, alpha=60, beta=60, gamma=60)
    for name, a in (("nan", "nan"), ("inf", "inf"), ("huge", "1e300"), ("negative", "-2.85"), ("zero", "0")):
        write(f"cell_{name}.cif", CIF_TEMPLATE.format(**{**good, "a": a}))
    write("cell_angle_180.cif", CIF_TEMPLATE.format(**{**good, "alpha": 180}))
    write("cell_flat.cif", CIF_TEMPLATE.format(**{**good, "alpha": 120, "beta": 120, "gamma": 120}))  # coplanar

    # --- not bulk -------------------------------------------------------------------------------------------
    conv = lif_conventional()
    slab = conv * (1, 1, 3)  # 3 conventional cells (12.09 Å) along c
    c_old = slab.lattice.c
    lat = Lattice.from_parameters(slab.lattice.a, slab.lattice.b, c_old + 25.0, 90, 90, 90)
    slab = Structure(lat, slab.species, slab.cart_coords, coords_are_cartesian=True)
    slab.to(filename=str(HERE / "LiF_slab_25A_vacuum.cif"))
    wire = Structure(Lattice.from_parameters(4.03 + 20, 4.03 + 20, 4.03 * 3, 90, 90, 90), (conv * (1, 1, 3)).species,
                     (conv * (1, 1, 3)).cart_coords, coords_are_cartesian=True)
    wire.to(filename=str(HERE / "LiF_wire.cif"))
    mol = Structure(Lattice.cubic(20.0), ["Li", "F"], [[10.0, 10.0, 10.0], [11.56, 10.0, 10.0]], coords_are_cartesian=True)
    mol.to(filename=str(HERE / "LiF_molecule_20A_box.cif"))
    Structure(Lattice.cubic(40.0), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]]).to(filename=str(HERE / "two_atoms_40A_cube.cif"))
    # a 'gas': 27 Ar atoms on a 6.2 Å grid: no planar gap over 6.2 Å and 238 Å^3/atom (inside the density
    # window), but no atom has a neighbour within its contact distance (1.5 × 2 × 1.88 Å = 5.64 Å)
    grid = [[x / 3, y / 3, z / 3] for x in range(3) for y in range(3) for z in range(3)]
    Structure(Lattice.cubic(18.6), ["Ar"] * 27, grid).to(filename=str(HERE / "argon_gas_6A_grid.cif"))

    # --- POSCAR ----------------------------------------------------------------------------------------------
    write("POSCAR_counts_mismatch", "LiF\n1.0\n4.03 0 0\n0 4.03 0\n0 0 4.03\nLi F\n3 3\nDirect\n0 0 0\n0.5 0.5 0.5\n")
    write("POSCAR_truncated", "LiF\n1.0\n4.03 0 0\n0 4.03\n")
    write("POSCAR_garbled", "LiF\n1.0\n4.03 0 0\n0 x.03 0\n0 0 4.03\nLi F\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n")
    write("POSCAR_nan_scale", "LiF\nnan\n4.03 0 0\n0 4.03 0\n0 0 4.03\nLi F\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n")
    write("POSCAR_bad_coordinate", "LiF\n1.0\n4.03 0 0\n0 4.03 0\n0 0 4.03\nLi F\n1 1\nDirect\n0 0 0\n0.5 abc 0.5\n")
    write("empty.vasp", "")

    # --- CIF, truncated and garbled --------------------------------------------------------------------------
    full = CIF_TEMPLATE.format(**good)
    write("truncated.cif", full[: len(full) // 3])
    write("garbled.cif", "".join(chr((ord(ch) * 7 + 3) % 94 + 33) if i % 5 == 0 else ch for i, ch in enumerate(full)))
    write("no_atoms.cif", full.split("loop_\n _atom_site_label")[0])
    write("binary_junk.cif", "\x00\x01\x02PK\x03\x04 not a cif at all \xff\n")

    # --- extxyz ----------------------------------------------------------------------------------------------
    header = 'Lattice="2.85 0 0 0 2.85 0 0 0 2.85" Properties=species:S:1:pos:R:3 pbc="T T T"'
    write("truncated.extxyz", f"4\n{header}\nLi 0 0 0\nF 1.42 1.42 1.42\n")
    write("garbled.extxyz", f"two\n{header}\nLi 0 0 0\nF 1.42 1.42 1.42\n")
    write("bad_number.extxyz", f"2\n{header}\nLi 0 0 0\nF 1.42 zz 1.42\n")
    write("nan_lattice.extxyz", '2\nLattice="nan 0 0 0 2.85 0 0 0 2.85" Properties=species:S:1:pos:R:3 pbc="T T T"\nLi 0 0 0\nF 1.42 1.42 1.42\n')
    write("no_lattice.extxyz", "2\nLiF molecule\nLi 0 0 0\nF 1.56 0 0\n")

    # --- JSON ------------------------------------------------------------------------------------------------
    write("truncated.json", '{"@module": "pymatgen.core.structure", "lattice": {"matrix": [[4.03, 0')


if __name__ == "__main__":
    main()
