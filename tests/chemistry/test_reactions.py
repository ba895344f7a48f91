"""Pure-logic tests: reaction balancing, sign conventions and a phase diagram with a known answer
(hand-made entries through the user-entries code path; no MLIP)."""

from __future__ import annotations

import re

import pytest
from pymatgen.core import Composition
from pymatgen.entries.computed_entries import ComputedEntry

from dsei.chemistry.conversion import convert, parse_additive
from dsei.chemistry.energies import EnergySet
from dsei.chemistry.stability import analyse, format_reaction
from dsei.errors import InputError


def side_counts(side: str) -> tuple[dict[str, float], float]:
    """Element counts and total charge of one side of ``"a X + b Y"`` (ions like ``Ag+``, ``Cu2+``)."""
    counts: dict[str, float] = {}
    charge = 0.0
    for term in side.split(" + "):
        m = re.fullmatch(r"(?:([\d.]+) )?(\S+)", term.strip())
        coeff, species = float(m.group(1) or 1), m.group(2)
        q = re.search(r"(\d*)\+$", species)
        if q:
            charge += coeff * int(q.group(1) or 1)
            species = species[: q.start()]
        for el, n in Composition(species).items():
            counts[el.symbol] = counts.get(el.symbol, 0.0) + coeff * n
    return counts, charge


def assert_balanced(reaction: str) -> None:
    lhs, rhs = reaction.split(" -> ")
    (cl, ql), (cr, qr) = side_counts(lhs), side_counts(rhs)
    assert set(cl) == set(cr), reaction
    for el in cl:
        assert cl[el] == pytest.approx(cr[el], abs=1e-6), (reaction, el)
    assert ql == pytest.approx(qr, abs=1e-6), reaction


def toy(entries: dict[str, float]) -> EnergySet:
    return EnergySet(entries=[ComputedEntry(Composition(f), e) for f, e in entries.items()])


@pytest.mark.parametrize(
    ("salt", "expected"),
    [
        ("AgNO3", ("Ag", 1)),
        ("Cu(NO3)2", ("Cu", 2)),
        ("Zn(OTf)2", ("Zn", 2)),
        ("In(TFSI)3", ("In", 3)),
        ("Bi(NO3)3", ("Bi", 3)),
        ("ZnSO4", ("Zn", 2)),
        ("CuCl", ("Cu", 1)),
        ("Ag+", ("Ag", 1)),
        ("Cu2+", ("Cu", 2)),
        ("Al(ClO4)3", ("Al", 3)),
    ],
)
def test_parse_additive(salt, expected):
    assert parse_additive(salt)[:2] == expected


@pytest.mark.parametrize("bad", ["", "hello", "AgXyz", "Ag(NO3"])
def test_parse_additive_rejects(bad):
    with pytest.raises(InputError):
        parse_additive(bad)


def test_format_reaction_and_balance_helper():
    r = format_reaction({"Li2S": 1, "AgNO3": 2}, {"Ag2S": 1, "LiNO3": 2})
    assert r == "Li2S + 2 AgNO3 -> Ag2S + 2 LiNO3"
    assert_balanced(r)
    with pytest.raises(AssertionError):
        assert_balanced("Li2S + AgNO3 -> Ag2S + 2 LiNO3")


def test_toy_reduction_potential_known_answer():
    # Li–Ag–F with hand-made energies (eV per formula unit): AgF + Li -> LiF + Ag has ΔE = -6 - (-2) = -4 eV,
    # so AgF is reduced below exactly 4.000 V; LiAg (ΔE = -0.3 eV) makes LiF + LiAg the products at 0 V.
    es = toy({"Li": 0.0, "Ag": 0.0, "F": 0.0, "LiF": -6.0, "AgF": -2.0, "LiAg": -0.3})
    d = analyse("AgF", "Li", es)
    assert d["reduction_potential_V"] == pytest.approx(4.0, abs=1e-9)
    assert d["reaction_energy_eV_per_fu"] == pytest.approx(-4.0, abs=1e-9)
    assert d["reaction"] == "AgF + Li -> Ag + LiF"
    assert_balanced(d["reaction"])
    assert sorted(d["products_at_0V"]) == ["LiAg", "LiF"]
    assert d["reaction_energy_at_0V_eV_per_fu"] == pytest.approx(-4.3, abs=1e-9)
    assert_balanced(d["reaction_at_0V"])
    ag = analyse("Ag", "Li", es)
    assert ag["reduction_potential_V"] == pytest.approx(0.3, abs=1e-9)
    lif = analyse("LiF", "Li", es)
    assert lif["stable_at_0V"] and lif["reduction_potential_V"] is None and lif["products_at_0V"] == ["LiF"]


def test_toy_two_step_reduction():
    # MX2-type: ZnF2 + 2 Li -> Zn + 2 LiF, ΔE = -12 - (-7) = -5 eV for 2 Li: 2.5 V.
    es = toy({"Li": 0.0, "Zn": 0.0, "F": 0.0, "LiF": -6.0, "ZnF2": -7.0})
    d = analyse("ZnF2", "Li", es)
    assert d["reduction_potential_V"] == pytest.approx(2.5, abs=1e-9)
    assert d["metal_consumed_per_fu"] == pytest.approx(2.0)
    assert_balanced(d["reaction"])


def test_toy_stable_phase_against_metal():
    # MgO-like: the exchange MgO + 2 Li -> Li2O + Mg is uphill (+0.2 eV): stable at 0 V, potential null.
    es = toy({"Li": 0.0, "Mg": 0.0, "O": 0.0, "Li2O": -6.0, "MgO": -6.2})
    d = analyse("MgO", "Li", es)
    assert d["stable_at_0V"] is True
    assert d["reduction_potential_V"] is None
    assert d["products_at_0V"] == ["MgO"]


def test_conversion_sign_convention_known_answer():
    # LiF + Ag+ -> AgF + Li+: ΔE_solid = E(AgF) + E(Li) - E(LiF) - E(Ag) = +4 eV,
    # ionic term -(E°Ag+/Ag - E°Li+/Li) = -(0.7996 + 3.0401) = -3.8397 eV → ΔG = +0.1603 eV: not favourable.
    es = toy({"Li": 0.0, "Ag": 0.0, "F": 0.0, "LiF": -6.0, "AgF": -2.0})
    r = convert("LiF", "AgNO3", es=es)
    assert r.reaction == "LiF + Ag+ -> AgF + Li+"
    assert_balanced(r.reaction)
    assert r.solid_exchange_energy_eV_per_fu == pytest.approx(4.0)
    assert r.ionic_term_eV_per_fu == pytest.approx(-3.8397)
    assert r.driving_force_eV_per_fu == pytest.approx(0.1603)
    assert r.favorable is False
    # a more stable product flips the sign: AgF at -2.5 eV → ΔG = -0.3397 eV, favourable
    r2 = convert("LiF", "Ag+", es=toy({"Li": 0.0, "Ag": 0.0, "F": 0.0, "LiF": -6.0, "AgF": -2.5}))
    assert r2.driving_force_eV_per_fu == pytest.approx(-0.3397) and r2.favorable is True


def test_conversion_per_li_and_balance_divalent():
    es = toy({"Li": 0.0, "Zn": 0.0, "S": 0.0, "Li2S": -4.5, "ZnS": -2.0})
    r = convert("Li2S", "Zn(OTf)2", es=es)
    assert r.reaction == "Li2S + Zn2+ -> ZnS + 2 Li+"
    assert_balanced(r.reaction)
    assert r.driving_force_eV_per_Li == pytest.approx(r.driving_force_eV_per_fu / 2)
    assert r.solid_state_reaction is None  # OTf has no formula for an all-solid version


def test_all_solid_reaction_is_balanced():
    es = toy({"Li": 0.0, "Ag": 0.0, "S": 0.0, "Li2S": -4.5, "Ag2S": -0.3})
    r = convert("Li2S", "AgNO3", es=es)
    assert r.solid_state_reaction == "Li2S + 2 AgNO3 -> Ag2S + 2 LiNO3"
    assert_balanced(r.solid_state_reaction)
    # experimental: ΔrH° from the shipped table is strongly downhill
    assert r.experimental_solid_state_energy_eV_per_fu < -2.5


def test_native_must_contain_anode():
    es = toy({"Li": 0.0, "Ag": 0.0, "F": 0.0, "LiF": -6.0, "AgF": -2.0})
    with pytest.raises(InputError):
        convert("AgF", "AgNO3", es=es)


def test_user_entries_file_same_code_path(tmp_path, run_cli):
    import json

    entries = [
        ComputedEntry(Composition(f), e).as_dict()
        for f, e in {"Li": 0.0, "Ag": 0.0, "F": 0.0, "LiF": -6.0, "AgF": -2.0}.items()
    ]
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries))
    code, out, err = run_cli("stability", "AgF", "--entries", str(path), "--json", "-")
    assert code == 0, err
    d = json.loads(out)
    assert d["reduction_potential_V"] == pytest.approx(4.0) and d["products_at_0V"] == ["Ag", "LiF"]
    code, out, err = run_cli(
        "convert", "--native", "LiF", "--additive", "Ag+", "--entries", str(path), "--json", "-"
    )
    assert code == 0, err
    assert json.loads(out)["driving_force_eV_per_fu"] == pytest.approx(0.1603)
    code, _, err = run_cli("stability", "AgF", "--entries", str(tmp_path / "missing.json"))
    assert code == 2 and err.startswith("error:")
