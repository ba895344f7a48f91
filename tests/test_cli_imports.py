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
