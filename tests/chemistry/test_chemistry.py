"""Stability, conversion and design with the shipped MLIP energies (library + extra set; no relaxation
except the one user-file test, which relaxes a 2-atom cell), and the CLI."""

from __future__ import annotations

import json

import pytest

from dsei.campaign.design import design
from dsei.chemistry import convert, stability
from dsei.chemistry.corrections import fit, load_fit, reduction_benchmark
from dsei.models import DEFAULT_CHEMISTRY_MODEL

MODELS = (DEFAULT_CHEMISTRY_MODEL, "sevennet", "chgnet")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("phase", ["LiF", "Li2S", "Li2O", "Li3N", "LiCl"])
def test_native_phases_stable_against_li(phase, model):
    r = stability(phase, anode="Li", model=model)
    assert r.stable_at_0V is True
    assert r.reduction_potential_V is None
    assert r.products_at_0V == [phase]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("phase", ["Li3P", "Li3Sb"])
def test_fully_lithiated_pnictides_stable_against_li(phase, model):
    """Li3P (an SEI phase from LiPF6) and Li3Sb are the Li-richest phases of their systems: on the hull and not
    reduced. P and Sb have no fitted reference (no phosphide/antimonide ΔfH° in the table): their computed
    elemental solids (black P, A7 Sb) are the references."""
    r = stability(phase, anode="Li", model=model)
    assert r.stable_at_0V and r.reduction_potential_V is None and r.products_at_0V == [phase]
    assert r.e_above_hull_eV_per_atom == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("model", MODELS)
def test_agf_reduced_by_li_to_lif_and_ag(model):
    r = stability("AgF", anode="Li", model=model)
    assert r.stable_at_0V is False
    assert r.reduction_potential_V > 3.0
    # The first step gives LiF and either Ag or silver subfluoride Ag2F (a phase stable at room temperature that
    # decomposes to Ag + AgF near 100 °C, so within a few meV/atom of the hull): which one depends on the model.
    assert r.reaction in ("AgF + Li -> Ag + LiF", "AgF + 0.5 Li -> 0.5 Ag2F + 0.5 LiF")
    li = 1.0 if r.reaction.startswith("AgF + Li ") else 0.5
    assert r.reaction_energy_eV_per_fu == pytest.approx(-li * r.reduction_potential_V)  # eV per AgF
    assert "LiF" in r.products_at_0V
    assert any("Ag" in p for p in r.products_at_0V)  # Ag or a Li–Ag alloy


def test_ag2s_reduced_two_li():
    r = stability("Ag2S", anode="Li")
    assert r.reaction == "Ag2S + 2 Li -> 2 Ag + Li2S"
    assert r.reaction_energy_eV_per_fu == pytest.approx(-2 * r.reduction_potential_V)


def test_sodium_anode():
    r = stability("AgF", anode="Na")
    assert not r.stable_at_0V and "NaF" in r.products_at_0V
    assert stability("NaF", anode="Na").stable_at_0V


@pytest.mark.parametrize("model", MODELS)
def test_li2s_agno3_favourable(model):
    r = convert("Li2S", "AgNO3", model=model)
    assert r.reaction == "Li2S + 2 Ag+ -> Ag2S + 2 Li+"
    assert r.favorable is True and r.driving_force_eV_per_fu < 0
    assert r.driving_force_eV_per_Li == pytest.approx(r.driving_force_eV_per_fu / 2)
    # ΔG per Li = V_red(Ag2S) − [E°(Ag+/Ag) − E°(Li+/Li)]
    v = stability("Ag2S", model=model).reduction_potential_V
    assert r.driving_force_eV_per_Li == pytest.approx(v - (0.7996 + 3.0401), abs=1e-6)


@pytest.mark.parametrize("model", MODELS)
def test_all_solid_agno3_against_experiment(model):
    """The all-solid version, from MLIP energies of both salts (AgNO3 from the extra set): Li2S + 2 AgNO3 is
    strongly downhill and LiF + AgNO3 uphill, as the experimental ΔrH° (−3.13 and +0.54 eV per f.u.) says."""
    s = convert("Li2S", "AgNO3", model=model)
    assert s.solid_state_reaction == "Li2S + 2 AgNO3 -> Ag2S + 2 LiNO3" and not s.notes
    assert s.solid_state_energy_eV_per_fu == pytest.approx(s.experimental_solid_state_energy_eV_per_fu, abs=0.3)
    f = convert("LiF", "AgNO3", model=model)
    assert 0.1 < f.solid_state_energy_eV_per_fu < f.experimental_solid_state_energy_eV_per_fu + 0.3


def test_lif_agno3_reported_with_sign():
    r = convert("LiF", "AgNO3")
    assert r.driving_force_eV_per_fu is not None and r.favorable == (r.driving_force_eV_per_fu < 0)


def test_design_order_is_derived():
    d = design(["LiF", "Li2S"], "AgNO3", mechanics=False)
    first = d.layers[0]
    assert first["position"] == 1 and {"LiF", "Li2S"} <= set(first["phases"])
    pos = {p: lay["position"] for lay in d.layers for p in lay["phases"]}
    assert pos["Ag2S"] > 1 and pos["AgF"] > pos["Ag2S"]  # AgF is reduced at a higher potential
    assert pos["Ag"] < pos["Ag2S"]  # metallic Ag next to the inner layer, inside the sulfide
    for lay in d.layers:
        assert set(lay) >= {"position", "phases", "role", "pugh_ratio", "barrier_eV"}
        for p in lay["phase_properties"]:
            if p["formula"] in ("Ag", "LiAg"):  # metals: no ionic migration barrier, said so
                assert p["barrier_eV"] is None and "metal" in p["barrier_note"]
            elif p["formula"] in ("LiF", "Li2S", "Ag2S", "AgF"):  # BVSE by default: a number, its method named
                assert p["barrier_eV"] is not None and 0 < p["barrier_eV"] < 3 and p["barrier_method"] == "bvse"


def test_shipped_fit_matches_refit():
    for model in MODELS:
        shipped, refit = load_fit(model, "mp2020"), fit(model, "mp2020")
        stale = "energies changed since the fit was shipped: rerun `python -m dsei.chemistry.corrections`"
        assert shipped.compounds == refit.compounds, stale
        for el, mu in refit.mu.items():
            assert shipped.mu[el] == pytest.approx(mu, abs=1e-6), stale


def test_benchmark_has_twenty_phases():
    rows = reduction_benchmark("sevennet")
    assert len(rows) >= 20
    for r in rows:  # experimental and computed potentials of the same balanced reaction
        assert r["V_exp"] == pytest.approx(r["V_exp"]) and r["reaction"].count("->") == 1


# ----------------------------------------------------------------------------------------------- CLI
def test_cli_convert_json(run_cli):
    code, out, err = run_cli("convert", "--native", "Li2S", "--additive", "AgNO3", "--json", "-")
    assert code == 0, err
    d = json.loads(out)
    assert set(d) >= {
        "native",
        "additive",
        "cation",
        "reaction",
        "driving_force_eV_per_fu",
        "driving_force_eV_per_Li",
        "favorable",
        "schema_version",
    }
    assert d["favorable"] is True and d["cation"] == "Ag+"


def test_cli_stability_json(run_cli):
    code, out, err = run_cli("stability", "AgF", "--anode", "Li", "--json", "-")
    assert code == 0, err
    d = json.loads(out)
    assert set(d) >= {
        "formula",
        "anode",
        "reduction_potential_V",
        "stable_at_0V",
        "reaction",
        "reaction_energy_eV_per_fu",
        "products_at_0V",
    }
    code, out, _ = run_cli("stability", "LiF", "--json", "-")
    assert json.loads(out)["reduction_potential_V"] is None


def test_cli_design_json(run_cli):
    code, out, err = run_cli(
        "design", "--native", "LiF,Li2S", "--additive", "AgNO3", "--no-mechanics", "--json", "-"
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["anode"] == "Li" and d["layers"][0]["position"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ("stability", "Unobtainium"),
        ("stability", "Xe3Kr"),
        ("stability", "LiF", "--anode", "Qq"),
        ("convert", "--native", "Li2S", "--additive", "AgXyz"),
        ("convert", "--native", "AgF", "--additive", "AgNO3"),
        ("stability", "LiF", "--correction", "magic"),
        ("convert", "--native", "Li2S", "--additive", "Au(NO3)3"),
    ],
)
def test_cli_bad_input(run_cli, args):
    code, out, err = run_cli(*args)
    assert code == 2
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_stability_of_a_file(tmp_path, monkeypatch, lif):
    monkeypatch.setenv("DSEI_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "LiF.cif"
    lif.to(filename=str(path))
    r = stability(str(path), anode="Li")
    assert r.formula == "LiF" and r.stable_at_0V and r.source == str(path)
    from dsei.cache import Cache
    from dsei.chemistry.energies import CACHE_FILE, ENERGY_NAMESPACE, energy_signature

    cached = Cache(tmp_path / "cache" / CACHE_FILE).items(ENERGY_NAMESPACE, energy_signature(DEFAULT_CHEMISTRY_MODEL))
    assert [rec["formula"] for rec in cached.values()] == ["LiF"]


def test_library_structure_uses_its_shipped_energy(tmp_path, monkeypatch):
    """A structure that is a library entry takes the entry's stored relaxed energy (no second relaxation),
    so the screen's stability of a library candidate equals ``dsei stability <library id>``."""
    import dsei.chemistry.energies as energies
    from dsei.structures.library import get_library

    def no_relax(*_a, **_k):
        raise AssertionError("a library structure was relaxed again")

    monkeypatch.setenv("DSEI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(energies, "relax_and_cache", no_relax)
    lib = get_library()
    entry = lib.find("Ag2S")
    by_structure = stability(lib.structure(entry.id), anode="Li")
    by_id = stability(entry.id, anode="Li")
    assert by_structure.reduction_potential_V == pytest.approx(by_id.reduction_potential_V, abs=1e-9)
    assert by_structure.reaction == by_id.reaction
    # the chemistry set's extra structures too: α-ZnCl2 as shipped takes its stored energy
    from dsei.structures.library import extra_structure

    assert stability(extra_structure("ZnCl2"), anode="Li").reduction_potential_V == pytest.approx(
        stability("ZnCl2", anode="Li").reduction_potential_V, abs=1e-9
    )
    # a strained copy is not the library phase: it is relaxed (here: the fault the fake raises)
    strained = lib.structure(entry.id)
    strained.apply_strain(0.03)
    assert lib.match(strained) is None
    with pytest.raises(AssertionError, match="relaxed again"):
        stability(strained, anode="Li")


def test_design_computes_mechanics_of_a_phase_outside_the_library(tmp_path, monkeypatch):
    """ZnCl2 (LiCl + Zn²⁺) has chemistry energies but no library entry: its layer still gets an elastic tensor
    and a BVSE barrier, from the chemistry set's α-ZnCl2 structure, with the default elastic model."""
    from dsei.campaign.design import barrier_of, mechanics_of
    from dsei.models import DEFAULT_ELASTIC_MODEL

    monkeypatch.setenv("DSEI_CACHE", str(tmp_path / "cache"))
    m = mechanics_of("ZnCl2", DEFAULT_ELASTIC_MODEL)  # cached here for the design below
    assert m["structure_source"] == "extra:ZnCl2" and m["library_id"] is None
    assert m["pugh_ratio"] is not None and m["G_vrh_GPa"] > 0 and m["verdict"] in ("ductile", "brittle", "uncertain")
    barrier, note = barrier_of("ZnCl2", "Li")
    assert barrier is not None and 0 < barrier < 3 and "BVSE" in note

    # every outer conversion product's own verdict is reported, so a brittle one is not hidden by a mean
    d = design(["LiCl"], "Zn(OTf)2", barrier_method=None)
    outer = d.gradient["outer_phases"]
    assert "ZnCl2" in outer
    assert set(d.gradient["outer_not_ductile"]) == {
        p["formula"] for lay in d.layers for p in lay["phase_properties"] if p["formula"] in outer and p["verdict"] != "ductile"
    }
    assert d.gradient["outer_all_ductile"] is (not d.gradient["outer_not_ductile"])


@pytest.mark.slow
def test_paper_design_is_soft_outside_strong_inside(tmp_path, monkeypatch):
    """LiF, Li2S + AgNO3 with mechanics (default elastic model): the brittle Li phases sit next to Li, the
    ductile Ag2S and AgF outside — the paper's gradient, from computed potentials and tensors."""
    monkeypatch.setenv("DSEI_CACHE", str(tmp_path / "cache"))
    d = design(["LiF", "Li2S"], "AgNO3", barrier_method=None)
    props = {p["formula"]: p for lay in d.layers for p in lay["phase_properties"]}
    assert props["LiF"]["verdict"] == "brittle" and props["Li2S"]["verdict"] == "brittle"
    assert props["Ag2S"]["verdict"] == "ductile" and props["AgF"]["verdict"] == "ductile"
    g = d.gradient
    assert set(g["outer_phases"]) == {"Ag2S", "AgF"} and set(g["inner_phases"]) == {"LiF", "Li2S"}
    assert g["soft_outside_strong_inside"] is True and g["outer_all_ductile"] is True
    assert g["outer_mean_G_GPa"] < g["inner_mean_G_GPa"]


@pytest.mark.slow
def test_cli_convert_reports_the_product_mechanics(run_cli, tmp_path, monkeypatch):
    """`dsei convert --mechanics`: the product's own B/G and verdict beside the driving force (Ag2S, acanthite,
    default elastic model: ductile); without the flag the fields stay null."""
    monkeypatch.setenv("DSEI_CACHE", str(tmp_path / "cache"))
    code, out, err = run_cli("convert", "--native", "Li2S", "--additive", "AgNO3", "--mechanics", "--json", "-")
    assert code == 0, err
    d = json.loads(out)
    assert d["product"] == "Ag2S" and d["favorable"] is True
    assert d["product_verdict"] == "ductile" and d["product_pugh_ratio"] > 1.75
    code, out, err = run_cli("convert", "--native", "Li2S", "--additive", "AgNO3", "--json", "-")
    assert code == 0 and json.loads(out)["product_verdict"] is None
