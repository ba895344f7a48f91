"""`dsei screen` command line: config file, JSON output, bad input."""

from __future__ import annotations

import json

from pymatgen.core import Lattice, Structure


def test_screen_cli_with_config_and_json(tmp_path, run_cli):
    folder = tmp_path / "in"
    folder.mkdir()
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.05), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()
    s.to(filename=str(folder / "LiF.cif"))
    cfg = tmp_path / "screen.toml"
    cfg.write_text('model = "sevennet"\nstages = ["validate", "relax"]\n[relax]\nfmax = 0.02\nsteps = 50\n')
    out = tmp_path / "out"
    code, stdout, err = run_cli("screen", folder, "--out", out, "--config", cfg, "--json", "-")
    assert code == 0, err
    data = json.loads(stdout)
    assert data["schema_version"] and len(data["results"]) == 1
    row = data["results"][0]
    assert row["formula"] == "LiF" and row["relax_converged"] is True
    assert [s["stage"] for s in data["stages"]] == ["validate", "relax"]
    assert (out / "results.csv").exists() and (out / "report.html").exists() and (out / "results.sqlite").exists()
    # rerun: everything reused
    code, stdout, _ = run_cli("screen", folder, "--out", out, "--config", cfg, "--json", "-")
    assert code == 0
    assert all(s["computed"] == 0 for s in json.loads(stdout)["stages"])


def test_screen_bad_input(tmp_path, run_cli):
    code, _, err = run_cli("screen", "--stages", "validate,nonsense", "--out", tmp_path / "o")
    assert code == 2 and err.startswith("error: --stages:") and "nonsense" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("model = [unclosed\n")
    code, _, err = run_cli("screen", "--config", bad, "--out", tmp_path / "o")
    assert code == 2 and err.startswith(f"error: {bad}: invalid TOML")
    foreign = tmp_path / "o2"
    foreign.mkdir()
    (foreign / "results.sqlite").write_text("not sqlite" * 100)
    code, _, err = run_cli("screen", "--stages", "validate", "--out", foreign)
    assert code == 2 and "results.sqlite" in err and "not a usable dsei result store" in err
