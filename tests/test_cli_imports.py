"""Building the command line loads no science: ``dsei --help`` and ``dsei <command> --help`` import neither
torch, the MLIP packages, pymatgen's heavy modules, ASE nor the plotting/data/image libraries.

Measured by the modules in ``sys.modules`` of a fresh interpreter (not by time: timings live in benchmarks/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = (
    "torch", "pymatgen.core", "pymatgen.entries", "pymatgen.analysis", "ase", "sevenn", "chgnet", "plotly", "pandas",
    "skimage", "sklearn", "numpy",
)
COMMANDS = ("models", "relax", "elastic", "barrier", "stability", "convert", "design", "screen", "cycle", "sem", "discover", "library", "library list")

_SCRIPT = """
import contextlib, io, json, sys
from dsei.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    rc = main(sys.argv[1:])
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps({{"rc": rc, "heavy": heavy, "help": out.getvalue()}}))
"""


def _help(args: list[str]) -> dict:
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT.format(heavy=HEAVY), *args, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_root_help_imports_no_science():
    r = _help([])
    assert r["rc"] == 0
    assert r["heavy"] == [], f"`dsei --help` imported {r['heavy']}"
    for cmd in ("models", "relax", "elastic", "barrier", "stability", "convert", "design", "screen", "cycle", "sem", "discover", "library"):
        assert f" {cmd} " in r["help"], f"`dsei --help` does not list {cmd}"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_imports_no_science(command):
    r = _help(command.split())
    assert r["rc"] == 0
    assert r["heavy"] == [], f"`dsei {command} --help` imported {r['heavy']}"
    assert "Usage:" in r["help"]


def test_lazy_packages_keep_their_public_names():
    """The lazy ``__init__``s give the same objects as before: functions, not the submodules of the same name."""
    code = (
        "import types, dsei.transport.barrier, dsei.chemistry.stability, dsei.mechanics, dsei.models, dsei.microscopy\n"
        "import dsei.transport as t, dsei.chemistry as c\n"
        "from dsei.transport import bvse\n"
        "assert callable(t.barrier) and not isinstance(t.barrier, types.ModuleType)\n"
        "assert callable(c.stability) and not isinstance(c.stability, types.ModuleType)\n"
        "assert callable(bvse) and not isinstance(bvse, types.ModuleType)\n"
        "assert dsei.mechanics.elastic.__module__ == 'dsei.mechanics.elastic'\n"
        "assert dsei.models.Model.__module__ == 'dsei.models.base'\n"
        "assert dsei.microscopy.read_image.__module__ == 'dsei.microscopy.io'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_cli_choices_match_the_library():
    """The typer enums (defined in the light cli modules) accept exactly the library's choices."""
    from dsei.cells.api import CELLS
    from dsei.cells.cli import Cell, Format
    from dsei.cells.readers import FORMATS
    from dsei.chemistry.cli import Correction
    from dsei.chemistry.energies import CORRECTIONS
    from dsei.cli import Optimizer, Role
    from dsei.microscopy.api import MODES
    from dsei.microscopy.cli import Mode
    from dsei.relax import OPTIMIZERS
    from dsei.structures.library import ROLES
    from dsei.transport.barrier import MECHANISMS, METHODS
    from dsei.transport.cli import Mechanism, Method

    for enum, values in ((Cell, CELLS), (Format, FORMATS), (Correction, CORRECTIONS), (Optimizer, OPTIMIZERS), (Role, ROLES),
                         (Mode, MODES), (Mechanism, MECHANISMS), (Method, METHODS)):
        assert {e.value for e in enum} == set(values), enum.__name__


@pytest.mark.parametrize(
    "args,option",
    [
        (["relax", "LiF", "--optimizer", "SD"], "--optimizer"),
        (["barrier", "LiF", "--mechanism", "swap"], "--mechanism"),
        (["barrier", "LiF", "--compensate", "frenkel"], "--compensate"),
        (["design", "--native", "LiF", "--additive", "AgNO3", "--barrier", "md"], "--barrier"),
        (["stability", "LiF", "--correction", "magic"], "--correction"),
        (["cycle", "x.csv", "--format", "maccor"], "--format"),
        (["sem", "x.tif", "--objects", "grey"], "--objects"),
        (["library", "list", "--role", "anode"], "--role"),
    ],
)
def test_bad_choice_is_one_line_exit_2(args, option, capsys):
    from dsei.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and option in err and len(err.splitlines()) == 1


def test_optimizer_stays_case_insensitive():
    from typer.testing import CliRunner

    from dsei.cli import Optimizer, app

    # parsing only: --fmax 0 is refused after the choice is accepted, before any structure or model is touched
    r = CliRunner().invoke(app, ["relax", "LiF", "--optimizer", "fire", "--fmax", "0"])
    assert "--optimizer" not in (r.output or "") and r.exit_code != 0
    assert Optimizer("FIRE").value == "FIRE"


# ------------------------------------------------------------------------------------------- progress bars
def test_progress_bar_is_off_unless_a_person_watches(monkeypatch):
    from dsei import _cli_common

    monkeypatch.setattr(_cli_common.sys.stderr, "isatty", lambda: True, raising=False)
    assert _cli_common.progress_enabled("out.json") and not _cli_common.progress_enabled("-")
    monkeypatch.setattr(_cli_common.sys.stderr, "isatty", lambda: False, raising=False)
    assert not _cli_common.progress_enabled(None)


def test_progress_bar_draws_on_a_terminal(monkeypatch):
    import io

    from rich.console import Console

    from dsei import _cli_common

    buf = io.StringIO()
    monkeypatch.setattr(_cli_common, "err_console", Console(file=buf, force_terminal=True, width=100))
    monkeypatch.setattr(_cli_common, "progress_enabled", lambda json_path=None: True)
    with _cli_common.progress_bar("elastic", 3) as advance:
        for name in ("LiF", "Li2O", "Li2S"):
            advance(description=name)
    drawn = buf.getvalue()
    assert "elastic" in drawn and "3/3" in drawn and "Li2S" in drawn
    with _cli_common.progress_bar("md", None, enabled=False) as advance:  # off: a no-op
        advance(5, description="x", total=10, completed=5)
    assert buf.getvalue() == drawn


def test_md_progress_counts_every_step_to_the_end():
    """``dsei barrier --method md``'s bar: a real (SevenNet-0) MD of a 4-atom Li3N cell, 2 temperatures."""
    import torch

    from dsei.structures.library import get_library
    from dsei.transport.md import md_diffusion

    torch.set_num_threads(1)
    calls = []
    li3n = get_library().structure(get_library().find("Li3N").id)
    r = md_diffusion(li3n, "Li", model="sevennet", temperatures_K=(300.0, 600.0), time_ps=0.04, equilibration_ps=0.004,
                     supercell=[1, 1, 1], vacancies=1, sample_fs=4.0, progress=lambda d, t, temp: calls.append((d, t, temp)))
    assert len(r.temperatures) == 2
    per_t = 2 + 20  # 0.004 ps equilibration and 0.04 ps production at 2 fs (10 samples, every 2 steps)
    assert calls[-1] == (2 * per_t, 2 * per_t, 600.0)
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls) and {t for _, t, _ in calls} == {2 * per_t}
    assert {temp for _, _, temp in calls} == {300.0, 600.0}


def test_elastic_on_many_files_draws_a_bar_and_keeps_stdout(monkeypatch, tmp_path, capsys):
    """On a terminal, ``dsei elastic A B`` shows the bar (stderr) and the same table and JSON as without it."""
    import io

    from rich.console import Console

    from dsei import _cli_common
    from dsei.cli import main

    plain = tmp_path / "plain.json"
    assert main(["elastic", "LiF", "NaCl", "--model", "sevennet", "--no-retry", "--json", str(plain)]) == 0
    table_plain = capsys.readouterr().out
    buf = io.StringIO()
    monkeypatch.setattr(_cli_common, "err_console", Console(file=buf, force_terminal=True, width=120))
    monkeypatch.setattr(_cli_common, "progress_enabled", lambda json_path=None: json_path != "-")
    barred = tmp_path / "barred.json"
    assert main(["elastic", "LiF", "NaCl", "--model", "sevennet", "--no-retry", "--json", str(barred)]) == 0
    assert capsys.readouterr().out == table_plain
    assert "elastic" in buf.getvalue() and "2/2" in buf.getvalue()
    def numbers(path):  # everything but the wall time
        return [{k: v for k, v in r.items() if k != "time_s"} for r in json.loads(path.read_text())["results"]]

    assert numbers(barred) == numbers(plain)


def test_design_reports_each_phase_once_in_layer_order():
    """``dsei design``'s bar: one call per phase, before its properties, in the order of the layers."""
    from dsei.campaign.design import design

    calls = []
    d = design(["LiF", "Li2S"], "AgNO3", mechanics=False, progress=lambda done, total, f: calls.append((done, total, f)))
    phases = [p["formula"] for lay in d.layers for p in lay["phase_properties"]]
    assert [f for _, _, f in calls] == phases
    assert [done for done, _, _ in calls] == list(range(len(phases))) and {t for _, t, _ in calls} == {len(phases)}
