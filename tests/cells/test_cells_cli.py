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
    import dsei.cells

    assert dsei.cycle is dsei.cells.cycle and dsei.cycle.__module__ == "dsei.cells.api"


def test_cli_module_imports_no_heavy_packages():
    """`dsei --help` imports dsei.cells.cli: it must not pull numpy/pandas/matplotlib/pyarrow in."""
    import subprocess
    import sys

    code = "import sys, dsei.cells.cli; print(sorted(m for m in ('numpy', 'pandas', 'matplotlib', 'pyarrow', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_generic_columns_and_units_from_cli(tmp_path, run_cli):
    import pandas as pd

    rec = sim.symmetric(duration_h=30, dt_s=120, failure="hard_short", t_fail_h=21.4, seed=22)
    p = tmp_path / "lab.txt"
    pd.DataFrame({"elapsed": rec.time_s / 60, "E": rec.voltage_V * 1000, "I": rec.current_mA}).to_csv(p, sep="\t", index=False)
    code, out, err = run_cli("cycle", p, "--columns", "time=elapsed,voltage=E,current=I", "--units", "time=min,voltage=mV",
                             "--area", rec.area_cm2, "--json", "-")
    assert code == 0, err
    d = json.loads(out)
    assert d["format"] == "generic"
    assert d["failure"]["kind"] == "hard_short"
    assert d["failure"]["time_h"] == pytest.approx(21.4, rel=0.01)
    code, _, err = run_cli("cycle", p, "--columns", "time")
    assert code == 2 and "--columns" in err
