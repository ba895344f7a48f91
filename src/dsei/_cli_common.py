"""What every ``dsei`` command shares: the consoles, the common option types and the progress bar.

A leaf module: it imports only typer, rich and the standard library, so that building the command line
(``dsei --help``) loads no science. Each ``dsei/<package>/cli.py`` imports from here, never from ``dsei.cli``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[str | None, typer.Option("--json", help="Write results as JSON to PATH ('-' for stdout).", metavar="PATH")]
ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (see `dsei models`).")]


def out_console(json_path: str | None) -> Console:
    """Where human-readable output goes: stderr when JSON goes to stdout, so stdout stays parseable."""
    return err_console if json_path == "-" else console


def progress_enabled(json_path: str | None = None) -> bool:
    """Progress bars only for a person watching: stderr is a terminal and stdout is not the JSON."""
    return json_path != "-" and sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(label: str, total: int | None, json_path: str | None = None, enabled: bool = True) -> Iterator:
    """A rich progress bar on stderr, as ``advance(n=1, description=None, total=None, completed=None)``; a no-op
    when off (stderr not a terminal, or ``--json -``). ``total=None``: a pulsing bar (work of unknown length)."""
    if not (enabled and progress_enabled(json_path)):
        yield lambda n=1, description=None, total=None, completed=None: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
        console=err_console, transient=False,
    ) as prog:
        task = prog.add_task("", total=total)

        def advance(n: int = 1, description: str | None = None, total: int | None = None, completed: int | None = None) -> None:
            kw: dict = {} if description is None else {"description": description}
            if total is not None:
                kw["total"] = total
            if completed is not None:
                kw["completed"] = completed
            else:
                kw["advance"] = n
            prog.update(task, **kw)

        yield advance
