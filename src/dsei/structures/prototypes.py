"""Literature structures the library needs that the Materials Project set does not ship.

Each phase is built from its standard structure prototype with an experimental lattice (room temperature
unless stated). ``PROTOTYPES`` maps a library ID to a :class:`Prototype` (formula, role, polymorph name,
expected space-group number, reference, builder). ``build(id)`` returns the pymatgen ``Structure``.

Cited lattice parameters (Å; RT = room temperature):

==========  ===============  ==========================================  =================================
ID          prototype        lattice / internal parameters               source
==========  ===============  ==========================================  =================================
Li-bcc      A2 (Im-3m)       a = 3.5093                                  Pearson, Handbook of Lattice
                                                                         Spacings and Structures of Metals
                                                                         (1958), 293 K
Na-bcc      A2 (Im-3m)       a = 4.2906                                  Pearson (1958), 293 K
Al-fcc      A1 (Fm-3m)       a = 4.0494                                  Swanson & Tatge, NBS Circ. 539
                                                                         vol. 1 (1953), 25 °C
Cu-fcc      A1 (Fm-3m)       a = 3.6150                                  Swanson & Tatge (1953), 26 °C
Ag-fcc      A1 (Fm-3m)       a = 4.0862                                  Swanson & Tatge (1953), 26 °C
Mg-hcp      A3 (P6_3/mmc)    a = 3.2094, c = 5.2105                      Pearson (1958), RT
Zn-hcp      A3 (P6_3/mmc)    a = 2.6649, c = 4.9468                      Swanson & Tatge (1953), 26 °C
Sn-beta     A5 (I4_1/amd)    a = 5.8316, c = 3.1815                      Swanson & Tatge (1953), 25 °C
Sn-alpha    A4 (Fd-3m)       a = 6.4892                                  Thewlis & Davey, Nature 174,
                                                                         1011 (1954), 20 °C
Bi-A7       A7 (R-3m)        a = 4.5461, c = 11.8622 (hex), z = 0.23389  Cucka & Barrett, Acta Cryst. 15,
                                                                         865 (1962), 298 K
In-bct      A6 (I4/mmm)      a = 3.2523, c = 4.9461                      Pearson (1958), RT
AgF-rs      B1 (Fm-3m)       a = 4.936                                   Hull & Berastegui, J. Phys.:
                                                                         Condens. Matter 10, 7945 (1998),
                                                                         AgF-I at ambient conditions
Ag2O-cu     C3 (Pn-3m)       a = 4.72                                    R. W. G. Wyckoff, Am. J. Sci. 3,
                                                                         184 (1922) (COD 1010604)
Ag2S-acan   acanthite        a=4.23 b=6.91 c=7.87 Å, β=99°35′,           A. J. Frueh Jr., Z. Kristallogr.
            (P2_1/c, P2_1/n  3 sites on 4e                               110, 136 (1958); CIF transcribed
            setting)                                                     in data/extra_structures
LiNO3-cal   calcite-type     a = 4.692, c = 15.22 (hex);                 Wyckoff, Crystal Structures 2nd
            (R-3c)           O at (x, 0, 1/4), x = 0.2664                ed., vol. 2 (1964), calcite-type
                                                                         nitrates table, RT
==========  ===============  ==========================================  =================================

The numbers were taken from the cited compilations/papers as recalled by the builder (no database
download was available), and checked here: each cell reproduces the expected space group, the known
nearest-neighbour distance and the X-ray density of the phase (e.g. Ag 10.50, Cu 8.93, β-Sn 7.29,
α-Sn 5.77, Bi 9.81 g/cm³). Check against the primary source before quoting to four digits.

LiNO3: Li on 6b (0,0,0), N on 6a (0,0,1/4), O on 18e (x,0,1/4) (hexagonal axes). The oxygen parameter is
not transcribed from a refinement: ``x`` is set so the N–O bond is 1.250 Å (the planar nitrate ion, e.g.
NaNO3, Cherin, Hamilton & Post, Acta Cryst. 23, 455 (1967)); the symmetry-preserving relaxation in the
ranking refines it. The cell gives 2.37 g/cm³ (measured density of LiNO3: 2.38 g/cm³).

AgNO3 (orthorhombic Pbca, a = 6.997, b = 7.325, c = 10.118 Å, Z = 8; Lindley & Woodward, J. Chem. Soc. A
1966, 123) is *not* built: reliable published atomic coordinates (Meyer, Rimsky & Chevalier, Acta Cryst.
B34, 1457 (1978)) could not be obtained here and are not invented. The chemistry set's energy of AgNO3 comes
from a stand-in structure found by a small search from the calcite-type cell (scripts/extra_energies.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Structure

from dsei._warnings import quiet

#: Frueh (1958) acanthite: the transcribed CIF from ../shared/data/extra_structures, shipped verbatim
#: (with its transcription header) as the library file of the ``Ag2S-acanthite`` entry.
ACANTHITE_SOURCE_CIF = "Ag2S_acanthite.cif"
ACANTHITE_LIBRARY_CIF = "Ag2S-acanthite.cif"


@dataclass(frozen=True)
class Prototype:
    """A literature phase: ``builder()`` returns the experimental cell."""

    id: str
    formula: str
    role: str
    polymorph: str
    spacegroup_number: int
    reference: str
    builder: Callable[[], Structure]
    #: expected nearest-neighbour distance of the experimental cell, Å (sanity check)
    nn_distance_A: float
    #: True when the literature names this polymorph as the stable phase at room temperature
    experimental_ground_state: bool = True
    notes: str = ""


# ------------------------------------------------------------------------------------------- builders
def _cubic(symbol_sites: list[tuple[str, tuple[float, float, float]]], a_A: float) -> Structure:
    species, coords = zip(*symbol_sites, strict=True)
    return Structure(Lattice.cubic(a_A), list(species), list(coords))


def bcc(element: str, a_A: float) -> Structure:
    return _cubic([(element, (0, 0, 0)), (element, (0.5, 0.5, 0.5))], a_A)


def fcc(element: str, a_A: float) -> Structure:
    return _cubic([(element, p) for p in [(0, 0, 0), (0, 0.5, 0.5), (0.5, 0, 0.5), (0.5, 0.5, 0)]], a_A)


def hcp(element: str, a_A: float, c_A: float) -> Structure:
    return Structure(
        Lattice.hexagonal(a_A, c_A), [element, element], [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]]
    )


def diamond(element: str, a_A: float) -> Structure:
    return Structure.from_spacegroup("Fd-3m", Lattice.cubic(a_A), [element], [[0, 0, 0]])


def beta_tin(a_A: float, c_A: float) -> Structure:
    """A5: Sn on 4a of I4_1/amd; origin-choice-1 positions (0,0,0), (0,1/2,1/4) + I-centring."""
    pos = [(0, 0, 0), (0, 0.5, 0.25), (0.5, 0.5, 0.5), (0.5, 0, 0.75)]
    return Structure(Lattice.tetragonal(a_A, c_A), ["Sn"] * 4, pos)


def bct_indium(a_A: float, c_A: float) -> Structure:
    return Structure(Lattice.tetragonal(a_A, c_A), ["In", "In"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def a7(element: str, a_A: float, c_A: float, z: float) -> Structure:
    """A7 (α-As type): 6c (0,0,±z) of R-3m, hexagonal axes."""
    return Structure.from_spacegroup("R-3m", Lattice.hexagonal(a_A, c_A), [element], [[0, 0, z]])


def rocksalt(cation: str, anion: str, a_A: float) -> Structure:
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(a_A), [cation, anion], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )


def cuprite(metal: str, a_A: float) -> Structure:
    """C3 (Cu2O type), Pn-3m origin choice 2: O on 2a (1/4,1/4,1/4), metal on 4b (0,0,0)."""
    o = [(0.25, 0.25, 0.25), (0.75, 0.75, 0.75)]
    m = [(0, 0, 0), (0, 0.5, 0.5), (0.5, 0, 0.5), (0.5, 0.5, 0)]
    return Structure(Lattice.cubic(a_A), [metal] * 4 + ["O"] * 2, m + o)


def calcite_nitrate(cation: str, a_A: float, c_A: float, n_o_bond_A: float = 1.250) -> Structure:
    """Calcite-type MNO3 (R-3c, hexagonal axes): M 6b (0,0,0), N 6a (0,0,1/4), O 18e (x,0,1/4).

    The N–O distance is x·a (O and N in the same z = 1/4 plane), so ``x = n_o_bond_A / a_A``.
    """
    x = n_o_bond_A / a_A
    return Structure.from_spacegroup(
        "R-3c", Lattice.hexagonal(a_A, c_A), [cation, "N", "O"], [[0, 0, 0], [0, 0, 0.25], [x, 0, 0.25]]
    )


def acanthite() -> Structure:
    """Acanthite α-Ag2S (Frueh 1958) from the transcribed CIF shipped with the library."""
    path = _acanthite_path()
    with quiet():
        return Structure.from_file(path)


def _acanthite_path() -> Path:
    here = Path(__file__).resolve().parent / "data" / "library" / ACANTHITE_LIBRARY_CIF
    if here.exists():
        return here
    # Building from the repository before the copy exists (scripts/build_library.py copies it first).
    return Path("../shared/data/extra_structures") / ACANTHITE_SOURCE_CIF


# --------------------------------------------------------------------------------------------- table
SWANSON = (
    "H. E. Swanson & E. Tatge, Standard X-ray Diffraction Powder Patterns, NBS Circular 539 vol. 1 (1953)"
)
PEARSON = "W. B. Pearson, Handbook of Lattice Spacings and Structures of Metals and Alloys (Pergamon, 1958)"

_a_li, _a_na = 3.5093, 4.2906
_a_al, _a_cu, _a_ag = 4.0494, 3.6150, 4.0862
_mg, _zn = (3.2094, 5.2105), (2.6649, 4.9468)
_sn_beta, _a_sn_alpha = (5.8316, 3.1815), 6.4892
_bi = (4.5461, 11.8622, 0.23389)
_in = (3.2523, 4.9461)
_a_agf, _a_ag2o = 4.936, 4.72
_lino3 = (4.692, 15.22)

PROTOTYPES: dict[str, Prototype] = {
    p.id: p
    for p in [
        Prototype(
            "Li-bcc",
            "Li",
            "metal",
            "bcc (A2)",
            229,
            f"{PEARSON}; a = {_a_li} Å, 293 K",
            lambda: bcc("Li", _a_li),
            _a_li * math.sqrt(3) / 2,
            notes="Below ~75 K Li transforms martensitically to close-packed (9R/fcc); bcc is the RT phase.",
        ),
        Prototype(
            "Na-bcc",
            "Na",
            "metal",
            "bcc (A2)",
            229,
            f"{PEARSON}; a = {_a_na} Å, 293 K",
            lambda: bcc("Na", _a_na),
            _a_na * math.sqrt(3) / 2,
            notes="Below ~36 K Na transforms to close-packed (9R/hcp); bcc is the RT phase.",
        ),
        Prototype(
            "Al-fcc",
            "Al",
            "metal",
            "fcc (A1)",
            225,
            f"{SWANSON}; a = {_a_al} Å, 25 °C",
            lambda: fcc("Al", _a_al),
            _a_al / math.sqrt(2),
        ),
        Prototype(
            "Cu-fcc",
            "Cu",
            "metal",
            "fcc (A1)",
            225,
            f"{SWANSON}; a = {_a_cu} Å, 26 °C",
            lambda: fcc("Cu", _a_cu),
            _a_cu / math.sqrt(2),
        ),
        Prototype(
            "Ag-fcc",
            "Ag",
            "metal",
            "fcc (A1)",
            225,
            f"{SWANSON}; a = {_a_ag} Å, 26 °C",
            lambda: fcc("Ag", _a_ag),
            _a_ag / math.sqrt(2),
        ),
        Prototype(
            "Mg-hcp",
            "Mg",
            "metal",
            "hcp (A3)",
            194,
            f"{PEARSON}; a = {_mg[0]}, c = {_mg[1]} Å, RT",
            lambda: hcp("Mg", *_mg),
            min(_mg[0], math.sqrt(_mg[0] ** 2 / 3 + _mg[1] ** 2 / 4)),
        ),
        Prototype(
            "Zn-hcp",
            "Zn",
            "metal",
            "hcp (A3)",
            194,
            f"{SWANSON}; a = {_zn[0]}, c = {_zn[1]} Å, 26 °C",
            lambda: hcp("Zn", *_zn),
            min(_zn[0], math.sqrt(_zn[0] ** 2 / 3 + _zn[1] ** 2 / 4)),
        ),
        Prototype(
            "Sn-beta",
            "Sn",
            "metal",
            "β-Sn, white tin (A5)",
            141,
            f"{SWANSON}; a = {_sn_beta[0]}, c = {_sn_beta[1]} Å, 25 °C",
            lambda: beta_tin(*_sn_beta),
            math.sqrt(_sn_beta[0] ** 2 / 4 + _sn_beta[1] ** 2 / 16),
            notes="RT phase; thermodynamically stable above 13.2 °C (α ⇄ β transition).",
        ),
        Prototype(
            "Sn-alpha",
            "Sn",
            "metal",
            "α-Sn, grey tin (A4, diamond)",
            227,
            f"J. Thewlis & A. R. Davey, Nature 174, 1011 (1954); a = {_a_sn_alpha} Å, 20 °C",
            lambda: diamond("Sn", _a_sn_alpha),
            _a_sn_alpha * math.sqrt(3) / 4,
            experimental_ground_state=False,
            notes="Stable below 13.2 °C, i.e. the T = 0 ground state; β-Sn is the room-temperature phase.",
        ),
        Prototype(
            "Bi-A7",
            "Bi",
            "metal",
            "α-Bi (A7)",
            166,
            f"P. Cucka & C. S. Barrett, Acta Cryst. 15, 865 (1962); a = {_bi[0]}, c = {_bi[1]} Å (hexagonal), "
            f"z = {_bi[2]}, 298 K",
            lambda: a7("Bi", *_bi),
            3.07,
        ),
        Prototype(
            "In-bct",
            "In",
            "metal",
            "body-centred tetragonal (A6)",
            139,
            f"{PEARSON}; a = {_in[0]}, c = {_in[1]} Å, RT",
            lambda: bct_indium(*_in),
            min(_in[0], math.sqrt(_in[0] ** 2 / 2 + _in[1] ** 2 / 4)),
        ),
        Prototype(
            "AgF-rocksalt",
            "AgF",
            "conversion",
            "rock salt, AgF-I (B1)",
            225,
            f"S. Hull & P. Berastegui, J. Phys.: Condens. Matter 10, 7945 (1998); a = {_a_agf} Å, ambient",
            lambda: rocksalt("Ag", "F", _a_agf),
            _a_agf / 2,
        ),
        Prototype(
            "Ag2O-cuprite",
            "Ag2O",
            "conversion",
            "cuprite (C3)",
            224,
            f"R. W. G. Wyckoff, Am. J. Sci. 3, 184 (1922) (COD 1010604); a = {_a_ag2o} Å, RT",
            lambda: cuprite("Ag", _a_ag2o),
            _a_ag2o * math.sqrt(3) / 4,
            notes="The Materials Project Ag2O cell shipped (mp-7711, P-3m1) is not the observed polymorph.",
        ),
        Prototype(
            "Ag2S-acanthite",
            "Ag2S",
            "conversion",
            "acanthite, α-Ag2S (P2_1/c; P2_1/n setting)",
            14,
            "A. J. Frueh Jr., Z. Kristallogr. 110, 136 (1958); a = 4.23, b = 6.91, c = 7.87 Å, β = 99°35′, RT",
            acanthite,
            2.50,
            notes="Room-temperature ground state of Ag2S (argentite/bcc above 177 °C); the Materials Project "
            "cells shipped are other polymorphs.",
        ),
        Prototype(
            "LiNO3-calcite",
            "LiNO3",
            "salt",
            "calcite type",
            167,
            f"R. W. G. Wyckoff, Crystal Structures, 2nd ed., vol. 2 (Interscience, 1964); a = {_lino3[0]}, "
            f"c = {_lino3[1]} Å (hexagonal axes), RT; O x set by N–O = 1.250 Å",
            lambda: calcite_nitrate("Li", *_lino3),
            1.250,
            notes="O parameter from the nitrate N–O bond length (1.250 Å), not a transcribed refinement; "
            "refined by the symmetry-preserving relaxation.",
        ),
    ]
}


def build(proto_id: str) -> Structure:
    """The experimental cell of a literature phase (see :data:`PROTOTYPES`)."""
    p = PROTOTYPES[proto_id]
    s = p.builder()
    s.properties = {"source": f"prototype:{p.id}", "reference": p.reference}
    return s


def nearest_neighbour_distance_A(struct: Structure) -> float:
    """Shortest interatomic distance in the periodic structure, Å."""
    dm = struct.distance_matrix.copy()
    np.fill_diagonal(dm, np.inf)
    # One-atom cells (or self-images) — fall back to the neighbour search.
    nn = min((n.nn_distance for site in struct for n in struct.get_neighbors(site, 5.0)), default=np.inf)
    return float(min(dm.min(), nn))
