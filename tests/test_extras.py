"""The optional extras (dask, cyclers, d3): the core works without them, and each feature that needs one stops
with one error line naming the install command.

Measured in a fresh interpreter where the extras' packages cannot be imported: ``sys.modules[name] = None`` is
what the import system documents for "not there" (``import name`` raises ModuleNotFoundError and
``importlib.util.find_spec(name)`` returns None, as for a package that is not installed). That interpreter imports
every dsei module, then runs the README's commands without the extras (``dsei --help``, a CSV ``dsei cycle``,
``dsei relax`` on LiF, ``dsei screen --stages validate,relax`` on LiF) and each blocked feature.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dsei.errors import InputError

BLOCKED = ("dask", "distributed", "galvani", "openpyxl", "torch_dftd")
CELLS_DATA = __import__("pathlib").Path(__file__).parent / "cells" / "data"
MPR = CELLS_DATA / "jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr"
XLSX = CELLS_DATA / "bs542_004_gr_li_50ua_50mv_1v_191020_Channel_11.xlsx"

_SCRIPT = r"""
import contextlib, importlib, io, json, pkgutil, sys
for name in {blocked!r}:
    sys.modules[name] = None  # as if not installed
import dsei
failed = {{}}
for m in pkgutil.walk_packages(dsei.__path__, "dsei."):
    try:
        importlib.import_module(m.name)
    except Exception as exc:
        failed[m.name] = f"{{type(exc).__name__}}: {{exc}}"
from dsei.cli import main
runs = []
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        rc = main(argv)
    runs.append({{"argv": argv, "rc": rc, "out": out.getvalue(), "err": err.getvalue()}})
loaded = sorted(n for n in {blocked!r} if sys.modules.get(n) is not None)
print(json.dumps({{"import_failures": failed, "runs": runs, "loaded": loaded}}))
"""


def _run_blocked(commands: list[list[str]], tmp_path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(blocked=BLOCKED), json.dumps(commands)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _one_error_line(run: dict, *needles: str) -> str:
    err = run["err"].strip()
    assert run["rc"] == 2, run
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in run["err"], run["err"]
    for n in needles:
        assert n in err, err
    return err


@pytest.mark.slow
def test_the_core_works_without_the_extras_and_their_features_say_how_to_install_them(tmp_path):
    from pymatgen.core import Lattice, Structure

    from cells import simulator as sim  # tests/cells (pytest puts tests/ on sys.path)

    rec = sim.symmetric(duration_h=120, failure="soft_short", t_fail_h=77.7, seed=20)
    csv = sim.write(rec, "neware", tmp_path / "lili.csv")
    cycle_csv = ["cycle", str(csv), "--cell", "symmetric", "--area", str(rec.area_cm2), "--current-density", "15",
                 "--areal-capacity", "15", "--json", "-"]
    folder = tmp_path / "in"
    folder.mkdir()
    lif = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.05), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    lif.get_primitive_structure().to(filename=str(folder / "LiF.cif"))
    commands = [
        ["--help"],
        cycle_csv,
        ["relax", str(folder / "LiF.cif"), "--model", "sevennet", "--steps", "30", "--json", "-"],
        ["screen", str(folder), "--out", str(tmp_path / "out"), "--model", "sevennet", "--stages", "validate,relax",
         "--json", "-"],
        ["models", "--json", "-"],
        # the blocked features
        ["cycle", str(MPR)],
        ["cycle", str(XLSX)],
        ["screen", str(folder), "--out", str(tmp_path / "out2"), "--stages", "validate", "--dask", "tcp://127.0.0.1:9"],
        ["relax", str(folder / "LiF.cif"), "--model", "sevennet+d3", "--json", "-"],
        ["discover", "--out", str(tmp_path / "disc"), "--dask", "tcp://127.0.0.1:9"],  # before enumerating
    ]
    r = _run_blocked(commands, tmp_path)
    assert r["import_failures"] == {}, "dsei modules that need an extra at import time"
    assert r["loaded"] == [], "an extra's package was imported after all"
    helprun, cycle, relax, screen, models, mpr, xlsx, dask, d3, discover = r["runs"]

    assert helprun["rc"] == 0 and "cycle" in helprun["out"] and "screen" in helprun["out"]

    # the CSV analysis gives the same numbers as with every package importable (this process)
    assert cycle["rc"] == 0, cycle["err"]
    from dsei.cli import main

    assert main(cycle_csv + ["--json", str(tmp_path / "here.json")]) == 0
    here = json.loads((tmp_path / "here.json").read_text())
    there = json.loads(cycle["out"])
    assert there["failure"]["kind"] == "soft_short" and there["failure"]["time_h"] == pytest.approx(77.7, rel=0.01)
    assert there == here

    assert relax["rc"] == 0, relax["err"]
    rel = json.loads(relax["out"])
    assert rel["formula"] == "LiF" and rel["model"] == "sevennet" and rel["energy_per_atom_eV"] < -3

    assert screen["rc"] == 0, screen["err"]
    data = json.loads(screen["out"])
    assert len(data["results"]) == 1 and data["results"][0]["formula"] == "LiF"
    assert data["results"][0]["relax_converged"] is True
    assert [s["stage"] for s in data["stages"]] == ["validate", "relax"]
    assert (tmp_path / "out" / "report.html").exists()

    assert models["rc"] == 0
    listed = {m["name"]: m for m in json.loads(models["out"])["models"]}
    for name in ("chgnet+d3", "sevennet+d3"):
        assert listed[name]["available"] is False
        assert 'pip install "dsei[d3]"' in listed[name]["reason"] and "torch-dftd" in listed[name]["reason"]
    assert listed["sevennet"]["available"] is True

    _one_error_line(mpr, str(MPR), "galvani", 'pip install "dsei[cyclers]"')
    _one_error_line(xlsx, str(XLSX), "openpyxl", 'pip install "dsei[cyclers]"')
    _one_error_line(dask, "--dask", "dask", 'pip install "dsei[dask]"')
    _one_error_line(discover, "--dask", 'pip install "dsei[dask]"')
    assert not (tmp_path / "disc").exists() or not any((tmp_path / "disc").iterdir())
    _one_error_line(d3, "--model", "+d3", "torch-dftd", 'pip install "dsei[d3]"')


def test_require_names_the_package_and_the_command(monkeypatch):
    from dsei.extras import install_command, missing, missing_reason, require

    for name in [n for n in sys.modules if n == "galvani" or n.startswith("galvani.")] + ["galvani"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed, even where another test imported it
    with pytest.raises(InputError) as e:
        require("galvani.BioLogic", "cyclers", "run.mpr", "reading a BioLogic .mpr file")
    assert e.value.source == "run.mpr"
    assert str(e.value) == (
        "run.mpr: reading a BioLogic .mpr file needs galvani, not installed (the 'cyclers' extra): "
        'pip install "dsei[cyclers]"'
    )
    assert missing("cyclers") == ["galvani"]
    assert missing_reason("cyclers").endswith(install_command("cyclers"))
    assert require("json", "cyclers", "x", "y") is __import__("json")  # present: the module itself


def test_extras_match_pyproject():
    """dsei.extras names exactly the extras pyproject.toml declares, and the test extra pulls them all in."""
    import tomllib
    from pathlib import Path

    from dsei.extras import DISTRIBUTIONS, EXTRAS

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    meta = tomllib.loads(pyproject.read_text())["project"]
    opt = meta["optional-dependencies"]
    for extra, modules in EXTRAS.items():
        declared = {d.split(">")[0].split("<")[0] for d in opt[extra]}
        assert declared == {DISTRIBUTIONS[m] for m in modules}, extra
        for d in opt[extra]:  # an extra's package is not also a hard dependency
            assert d not in meta["dependencies"]
    assert opt["all"] == ["dsei[dask,cyclers,d3]"] and "dsei[dask,cyclers,d3]" in opt["test"]
