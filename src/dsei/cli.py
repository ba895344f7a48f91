"""The ``dsei`` command line (typer + rich). Every subcommand is a thin layer over a Python API function.

Conventions for every command:
- ``--json PATH`` (``-`` = stdout) writes machine-readable results with a ``schema_version``;
- bad input exits with status 2 and one line on stderr starting ``error:``;
- no Python traceback unless ``--debug`` (given before the subcommand: ``dsei --debug relax ...``).

Subcommands live next to their science (``dsei/<module>/cli.py``, each a module-level ``app`` of commands)
and are attached in :func:`_register_subcommands`, so this file stays small. Shared options and consoles:
:mod:`dsei._cli_common`.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dsei._cli_common import JsonOpt, ModelOpt, console, err_console, out_console  # noqa: F401 - re-exported
from dsei.errors import DseiError, InputError

app = typer.Typer(
    name="dsei",
    help="Design ductile solid electrolyte interphases with universal ML interatomic potentials.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
library_app = typer.Typer(help="The built-in phase library.", no_args_is_help=True)
app.add_typer(library_app, name="library")

_STATE = {"debug": False}


class Optimizer(StrEnum):
    """``--optimizer`` (case-insensitive), as :data:`dsei.relax.OPTIMIZERS`."""

    FIRE = "FIRE"
    BFGS = "BFGS"
    LBFGS = "LBFGS"


class Role(StrEnum):
    """``--role`` of ``dsei library list``, as :data:`dsei.structures.library.ROLES`."""

    native = "native"
    conversion = "conversion"
    alloy = "alloy"
    metal = "metal"
    salt = "salt"


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    _STATE["debug"] = debug or os.environ.get("DSEI_DEBUG") == "1"
    if version:
        from dsei import __version__

        console.print(f"dsei {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        console.print(ctx.get_help())
        raise typer.Exit(0)


# --------------------------------------------------------------------------------------------- models
@app.command("models")
def models_cmd(json_out: JsonOpt = None) -> None:
    """List the models, whether each is available here, and why not."""
    from dsei.models import list_models
    from dsei.models.registry import DEFAULT_MODEL, DEFAULT_MODELS, resolve_device
    from dsei.results import SCHEMA_VERSION, write_json

    infos = list_models()
    device = resolve_device()
    if json_out:
        write_json(
            {
                "schema_version": SCHEMA_VERSION,
                "default": DEFAULT_MODEL,
                "defaults": DEFAULT_MODELS,
                "device": device,
                "models": [{"name": i.name, "available": i.available, "reason": i.reason, "version": i.version, "description": i.description} for i in infos],
            },
            json_out,
        )
        if json_out == "-":
            return
    table = Table(title="dsei models (all offline)")
    for col in ("name", "available", "package version", "description / why not"):
        table.add_column(col)
    for i in infos:
        mark = "[green]yes[/]" if i.available else "[red]no[/]"
        uses = [prop for prop, name in DEFAULT_MODELS.items() if name == i.name]
        label = i.name + (f" (default: {', '.join(uses)})" if uses else "")
        table.add_row(label, mark, i.version, i.description if i.available else i.reason)
    how = "DSEI_DEVICE" if os.environ.get("DSEI_DEVICE", "").strip() else "auto: CUDA when visible, else CPU"
    table.caption = f"models run on: {device} ({how})"
    console.print(table)


# ---------------------------------------------------------------------------------------------- relax
@app.command("relax")
def relax_cmd(
    file: Annotated[str, typer.Argument(help="Structure file (CIF, POSCAR, extxyz, JSON), MP id or library ID/formula.")],
    model: ModelOpt = "sevennet",
    out: Annotated[Path | None, typer.Option("--out", help="Write the relaxed structure (format from suffix: .cif, .vasp, .json, .extxyz).")] = None,
    json_out: JsonOpt = None,
    fmax: Annotated[float, typer.Option(help="Force convergence threshold, eV/Å.")] = 0.01,
    steps: Annotated[int, typer.Option(help="Maximum optimizer steps.")] = 500,
    optimizer: Annotated[Optimizer, typer.Option(help="BFGS, FIRE or LBFGS.", case_sensitive=False, metavar="BFGS|FIRE|LBFGS")] = Optimizer.BFGS,
    fix_symmetry: Annotated[bool, typer.Option("--fix-symmetry/--no-fix-symmetry", help="Keep the input space group.")] = True,
    max_sites: Annotated[int, typer.Option(help="Refuse structures with more sites than this.")] = 200,
) -> None:
    """Relax cell and positions (symmetry preserved) and report energy, volume change and space group."""
    from dsei.api import relax_file
    from dsei.results import write_json

    optimizer = Optimizer(optimizer).value  # the choice itself is checked by typer (exit 2)
    if fmax <= 0 or steps < 1:
        raise InputError("--fmax/--steps", "fmax must be > 0 and steps ≥ 1")
    import warnings

    from dsei.models import check_model
    from dsei.structures.validate import NotBulkWarning, prepare

    info = check_model(model)  # the model is resolved (not loaded) before any work
    if not info.available:
        raise InputError("--model", info.reason)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NotBulkWarning)
        struct = prepare(file, None, max_sites, bulk="warn")  # checked before the model loads
    for w in caught:
        if issubclass(w.category, NotBulkWarning):
            err_console.print(f"warning: {w.message}; relaxing it anyway (elastic, barrier, stability and screen refuse it)", markup=False, highlight=False, soft_wrap=True)
    relaxed = relax_file(struct, model=model, fmax=fmax, steps=steps, optimizer=optimizer, fix_symmetry=fix_symmetry, max_sites=max_sites, bulk="ignore")
    r = relaxed.result
    if out is not None:
        write_structure(relaxed.structure, out)
    if json_out:
        write_json(r, json_out)
    con = out_console(json_out)
    table = Table(title=f"relaxed {r.formula} with {r.model}")
    table.add_column("quantity")
    table.add_column("value")
    table.add_row("energy (eV/atom)", f"{r.energy_per_atom_eV:.5f}")
    table.add_row("converged", ("[green]yes[/]" if r.converged else "[red]NO[/]") + f" ({r.steps} steps, fmax {r.fmax_eV_per_A} eV/Å)")
    table.add_row("volume change (%)", f"{r.volume_change_pct:+.2f}")
    table.add_row("a, b, c (Å)", ", ".join(f"{x:.4f}" for x in r.lattice_abc_A))
    table.add_row("space group before → after", f"{r.spacegroup_before} → {r.spacegroup_after}")
    con.print(table)
    if not r.converged:
        err_console.print(f"[yellow]warning:[/] relaxation did not converge within {r.steps} steps")


def write_structure(struct, path: Path) -> None:
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".cif":
        struct.to(filename=str(path), fmt="cif")
    elif suffix in (".vasp", ".poscar") or path.name.upper().startswith(("POSCAR", "CONTCAR")):
        struct.to(filename=str(path), fmt="poscar")
    elif suffix == ".json":
        struct.to(filename=str(path), fmt="json")
    elif suffix in (".extxyz", ".xyz"):
        from ase.io import write
        from pymatgen.io.ase import AseAtomsAdaptor

        write(path, AseAtomsAdaptor.get_atoms(struct), format="extxyz")
    else:
        raise InputError(path, "unknown output format (use .cif, .vasp, .json or .extxyz)")


# -------------------------------------------------------------------------------------------- library
@library_app.command("list")
def library_list(
    json_out: JsonOpt = None,
    role: Annotated[Role | None, typer.Option(help="Only this role: native, conversion, alloy, metal, salt.")] = None,
) -> None:
    """List the built-in phases: ID, formula, role, space group, ground state, provenance."""
    from dsei.results import SCHEMA_VERSION, write_json
    from dsei.structures.library import ROLES, get_library

    role = None if role is None else Role(role).value
    lib = get_library()
    if role is not None and role not in ROLES:  # the enum and ROLES must agree (tests/test_cli_imports.py)
        raise InputError("--role", f"must be one of {', '.join(ROLES)}")
    entries = [e for e in lib if role is None or e.role == role]
    if json_out:
        write_json({"schema_version": SCHEMA_VERSION, **lib.meta, "entries": [e.to_dict() for e in entries]}, json_out)
        if json_out == "-":
            return
    table = Table(title=f"dsei phase library ({len(entries)} phases)")
    for col in ("ID", "formula", "role", "space group", "sites", "ground state", "source"):
        table.add_column(col)
    for e in entries:
        src = e.mp_id or e.provenance.split(";")[0][:40]
        table.add_row(e.id, e.formula, e.role, e.spacegroup, str(e.nsites), "★" if e.ground_state else "", src)
    console.print(table)
    console.print("Materials Project structures: CC BY 4.0 (A. Jain et al., APL Materials 1, 011002 (2013)).")


@library_app.command("export")
def library_export(
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="Library ID (or a formula: its ground state).")],
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Directory to write the CIF into.")],
) -> None:
    """Write one library phase as CIF into DIR."""
    from dsei.structures.library import get_library

    lib = get_library()
    entry = lib.find(entry_id)
    if entry is None:
        raise InputError(entry_id, "no such library entry or formula (see `dsei library list`)")
    path = lib.export(entry.id, directory)
    console.print(f"wrote {path}")


# ------------------------------------------------------------------------------------ registration
_SUBCOMMAND_MODULES = (
    "dsei.mechanics.cli",
    "dsei.transport.cli",
    "dsei.chemistry.cli",
    "dsei.campaign.cli",
    "dsei.cells.cli",
    "dsei.microscopy.cli",
    "dsei.discovery.cli",
)


def _register_subcommands() -> None:
    """Attach the commands each package's ``cli.py`` defines at module level on its own ``app``.

    The cli modules import only typer, rich and :mod:`dsei._cli_common` at module level (their science is
    imported inside each command), so building the whole command line loads no model, torch or pymatgen.
    """
    for name in _SUBCOMMAND_MODULES:
        app.registered_commands.extend(importlib.import_module(name).app.registered_commands)


_register_subcommands()


def _as_option(source: str, argv: list[str]) -> str:
    """``"ion"`` → ``"--ion"`` when the command in ``argv`` has that option; any other source unchanged."""
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]*", source):
        return source
    try:
        cmd = typer.main.get_command(app)
    except Exception:  # noqa: BLE001 - a message is never worth a second error
        return source
    for word in argv:  # walk down the (sub)command names
        cmd = getattr(cmd, "commands", {}).get(word, cmd)
    flag = "--" + source.replace("_", "-")
    options = {o for p in getattr(cmd, "params", []) for o in getattr(p, "opts", [])}
    return flag if flag in options else source


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dsei`` console script."""
    try:  # typer >= 0.20 vendors click as typer._click; older typer uses click itself
        from typer._click.exceptions import ClickException  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover
        from click import ClickException

    argv = list(sys.argv[1:] if argv is None else argv)
    _STATE["debug"] = "--debug" in argv or os.environ.get("DSEI_DEBUG") == "1"
    try:
        rv = app(args=argv, prog_name="dsei", standalone_mode=False)
        # with standalone_mode=False, click returns the code of a ``typer.Exit(n)`` instead of raising
        if isinstance(rv, int) and rv:
            return rv
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except ClickException as exc:  # usage errors: one line, status 2
        if type(exc).__name__ == "NoArgsIsHelpError" and getattr(exc, "ctx", None) is not None:
            print(exc.ctx.get_help())
            return 0
        msg = " ".join(exc.format_message().split())
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except DseiError as exc:
        if _STATE["debug"]:
            traceback.print_exc()
        if isinstance(exc, InputError):  # library errors name arguments ("ion"); the user typed options ("--ion")
            exc = InputError(_as_option(exc.source, argv), exc.problem)
        print(f"{getattr(exc, 'prefix', 'error')}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one line unless --debug
        if _STATE["debug"]:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"error: internal error {type(exc).__name__}: {first} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
