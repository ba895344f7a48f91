"""``dsei cycle``: JSON fields exactly as in issue 7, pure JSON on stdout, plots, errors → status 2."""

from __future__ import annotations

import json

import pytest

from . import simulator as sim


@pytest.fixture()
def run_cli(capsys):
    from dsei.cli import main

    def _run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def test_symmetric_json_and_plot(tmp_path, run_cli):
    rec = sim.symmetric(duration_h=120, failure="soft_short", t_fail_h=77.7, seed=20)
    f = sim.write(rec, "neware", tmp_path / "lili.csv")
    png = tmp_path / "lili.png"
    code, out, err = run_cli("cycle", f, "--cell", "symmetric", "--area", rec.area_cm2, "--current-density", 15,
                             "--areal-capacity", 15, "--json", "-", "--plot", png)
    assert code == 0, err
    d = json.loads(out)  # stdout is pure JSON
    for key in ("duration_h", "cycles", "lifetime_h", "failure", "overpotential_mV", "cumulative_capacity_mAh_cm2", "schema_version"):
        assert key in d
    assert set(d["failure"]) >= {"detected", "kind", "time_h", "cycle"}
    assert set(d["overpotential_mV"]) >= {"first", "median", "last"}
    assert d["failure"]["kind"] == "soft_short"
    assert d["failure"]["time_h"] == pytest.approx(77.7, rel=0.01)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_full_json_file(tmp_path, run_cli):
    rec, _ = sim.full_cell()
    f = sim.write(rec, "arbin", tmp_path / "ncm.csv")
    out_json = tmp_path / "o" / "ncm.json"
    png = tmp_path / "ncm.png"
    code, out, err = run_cli("cycle", f, "--cell", "full", "--mass", rec.mass_mg, "--json", out_json, "--plot", png)
    assert code == 0, err
    d = json.loads(out_json.read_text())
    for key in ("cycles", "capacity", "coulombic_efficiency", "retention_pct", "rate_table"):
        assert key in d
    assert d["cycles"] == 24 and len(d["rate_table"]) == 8
    assert "rate" in out.lower() or "C (" in out  # human table on stdout
    assert png.exists()


def test_bad_input_exits_2_with_one_line(tmp_path, run_cli):
    p = tmp_path / "junk.csv"
    p.write_text("a,b\n1,2\n")
    code, out, err = run_cli("cycle", p)
    assert code == 2
    assert err.startswith(f"error: {p}: ") and err.count("\n") == 1
    code, _, err = run_cli("cycle", p, "--cell", "half")
    assert code == 2 and "--cell" in err
    code, _, err = run_cli("cycle", tmp_path / "missing.mpr")
    assert code == 2 and "no such file" in err
    code, _, err = run_cli("cycle", p, "--plot", tmp_path / "x.pdf")
    assert code == 2 and "PNG" in err


def test_api_lazy_export():
    import dsei

    assert dsei.cycle.__module__ == "dsei.cells"
