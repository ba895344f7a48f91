"""End-to-end ``dsei.barrier`` / ``dsei barrier``: real model (the transport default), small cells."""

from __future__ import annotations

import json

import pytest
from pymatgen.core import Lattice, Structure


@pytest.fixture(scope="module")
def li2o():
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]])


@pytest.fixture(scope="module")
def li2o_vacancy(li2o):
    """Li vacancy NEB in antifluorite Li2O with a short image distance (a test-sized cell, not a production one)."""
    from dsei.transport import barrier

    return barrier(li2o.get_primitive_structure(), ion="Li", mechanism="auto", min_image_A=6.0, n_images=3, fmax=0.1, max_hops=2)


@pytest.mark.slow
def test_vacancy_barrier_end_to_end(li2o_vacancy):
    r = li2o_vacancy
    assert r.mechanism == "vacancy" and "contains" in r.mechanism_reason.lower() or "Li" in r.mechanism_reason
    from dsei.models import DEFAULT_BARRIER_MODEL

    assert r.method == "neb" and r.model == DEFAULT_BARRIER_MODEL == "sevennet-mf-r2scan"
    ok = [h for h in r.hops if h.status == "ok"]
    assert ok, r.hops
    nn = min(ok, key=lambda h: h.distance_A)
    # antifluorite: nearest Li-Li hop is a/2 along <100> (2.3 Å); its barrier is positive and well below 1 eV
    assert nn.distance_A == pytest.approx(4.61 / 2, abs=0.15)
    assert 0.0 < nn.barrier_eV < 1.0
    # a hop between equivalent sites: symmetric profile, forward = reverse barrier
    assert nn.reverse_barrier_eV == pytest.approx(nn.barrier_eV, abs=0.05)
    assert nn.profile_eV[0] == pytest.approx(0.0, abs=1e-9) and len(nn.profile_eV) == 3 + 2
    # the simple-cubic Li sublattice percolates in 3D through the nearest-neighbour hops
    assert r.dimension == "3D" and r.barrier_eV == pytest.approx(r.percolation_eV["3D"])
    assert r.percolation_eV["1D"] <= r.percolation_eV["2D"] <= r.percolation_eV["3D"]
    # supercell: images of the moving ion at least min_image_A apart
    assert r.supercell_atoms >= 3 * 8
    d = r.to_json_dict()
    for key in ("source", "formula", "ion", "mechanism", "method", "model", "supercell", "hops", "percolation_eV", "barrier_eV", "dimension", "schema_version"):
        assert key in d
    for key in ("start_frac", "end_frac", "distance_A", "barrier_eV", "converged", "profile_eV"):
        assert key in d["hops"][0]


def test_li_free_host_vacancy_is_an_input_error(run_cli, tmp_path):
    from pymatgen.core import Lattice, Structure

    agf = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.92), ["Ag", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    f = tmp_path / "AgF.cif"
    agf.to(filename=str(f))
    code, out, err = run_cli("barrier", f, "--ion", "Li", "--mechanism", "vacancy")
    assert code == 2
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Li" in lines[0] and "vacancy" in lines[0]
    assert "Traceback" not in err + out


def test_bad_method_and_missing_file(run_cli, tmp_path):
    code, _, err = run_cli("barrier", tmp_path / "nope.cif")
    assert code == 2 and "nope.cif" in err and "Traceback" not in err
    code, _, err = run_cli("barrier", "LiF", "--method", "dft")
    assert code == 2 and "--method" in err


def test_bvse_method_through_barrier(run_cli, tmp_path):
    out = tmp_path / "b.json"
    code, _, err = run_cli("barrier", "Li2O", "--method", "bvse", "--json", out)
    assert code == 0, err
    d = json.loads(out.read_text())
    assert d["method"] == "bvse" and d["mechanism"] == "vacancy" and d["hops"] == []
    assert d["barrier_eV"] is not None and d["dimension"] in ("1D", "2D", "3D")


def _broken_model():
    """A model whose every evaluation raises (fault injection for neb()'s own failure path)."""
    from dsei.models import Model

    class Broken(Model):
        name = "broken"

        def evaluate(self, *a, **k):
            raise RuntimeError("injected model failure")

        def calculator(self):
            raise RuntimeError("injected model failure")

    return Broken()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["neb raises", "neb returns a failed result"])
def test_failed_hop_is_reported_and_others_kept(li2o, monkeypatch, mode):
    """Fault injection: the NEB of one hop raises, or (neb's own path) its end points cannot be evaluated and
    neb() returns a result carrying the error; either way that hop is 'failed', the rest are still computed."""
    import dsei.transport.neb as neb_mod
    from dsei.transport import barrier

    real = neb_mod.neb
    calls = {"n": 0}

    def flaky(start, end, model, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            if mode == "neb raises":
                raise RuntimeError("injected model failure")
            return real(start, end, _broken_model(), *args, **kwargs)
        return real(start, end, model, *args, **kwargs)

    monkeypatch.setattr(neb_mod, "neb", flaky)
    r = barrier(li2o.get_primitive_structure(), ion="Li", min_image_A=6.0, n_images=3, fmax=0.1, max_hops=2)
    statuses = [h.status for h in r.hops if h.status != "not_computed"]
    assert "failed" in statuses and "ok" in statuses
    failed = next(h for h in r.hops if h.status == "failed")
    assert "injected model failure" in failed.error
    assert r.failed_hops == 1 and any("failed" in n for n in r.notes)


@pytest.mark.slow
def test_cli_json_and_plot(run_cli, tmp_path, li2o):
    f = tmp_path / "Li2O.cif"
    li2o.get_primitive_structure().to(filename=str(f))
    js, png = tmp_path / "b.json", tmp_path / "b.png"
    code, out, err = run_cli("barrier", f, "--ion", "Li", "--min-image", "6", "--images", "3", "--fmax", "0.1", "--max-hops", "1",
                             "--json", js, "--plot", png)
    assert code == 0, err
    d = json.loads(js.read_text())
    assert d["mechanism"] == "vacancy" and d["hops"][0]["status"] in ("ok", "not_computed")
    assert png.stat().st_size > 1000
    assert "barrier" in out
