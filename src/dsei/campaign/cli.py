"""``dsei screen`` — the main job."""


from pathlib import Path
from typing import Annotated

import typer

from dsei._cli_common import JsonOpt, console, err_console, out_console

app = typer.Typer()


@app.command("screen")
def screen_cmd(
    inputs: Annotated[list[str] | None, typer.Argument(help="Structure files or folders (default: the built-in library).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (store, CSV, parquet, report).")] = Path("dsei-results"),
    model: Annotated[str | None, typer.Option("--model", "-m", help="One model for every stage (default: each stage on its property's default model, see `dsei models`; or the config's).")] = None,
    stages: Annotated[str | None, typer.Option(help="Comma-separated stages to run (default: all available).")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (each loads the model once).")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML file with model, stages, workers and per-stage options.")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Recompute stages that failed before.")] = False,
    all_polymorphs: Annotated[bool, typer.Option("--all-polymorphs", help="Library: every polymorph, not only ground states.")] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="STAGE.KEY=VALUE", help="A stage option or threshold, e.g. neb.max_bvse_eV=0.8 (repeatable; overrides --config)."),
    ] = None,
    json_out: JsonOpt = None,
) -> None:
    """Screen candidates through validate → relax → mechanics → ... into a ranked table and report."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from dsei.campaign.screen import parse_overrides, plan_screen, screen
    from dsei.errors import InputError
    from dsei.results import SCHEMA_VERSION, write_json

    if workers is not None and workers < 1:
        raise InputError("--workers", "must be ≥ 1")
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    overrides = parse_overrides(set_ or [])
    # every option and model checked (and prerequisites added, with a note) before any work or output
    plan = plan_screen(model, stage_list, workers, config, overrides, notify=lambda line: err_console.print(line, markup=False, highlight=False))
    con = out_console(json_out)
    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=con, transient=False,
    ) as prog:

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = prog.add_task(stage, total=max(total, 1))
                if total == 0:
                    prog.update(tasks[stage], completed=1, description=f"{stage} (cached)")
                    return
            prog.update(tasks[stage], completed=done)

        res = screen(
            inputs or None, out, model=model, stages=stage_list, workers=workers, dask=dask, config=config,
            retry_failed=retry_failed, all_polymorphs=all_polymorphs, progress=progress, overrides=overrides,
            plan=plan,
        )
    _print_table(con, res)
    if json_out:
        write_json(
            {
                "schema_version": SCHEMA_VERSION,
                "out_dir": str(res.out_dir),
                "files": res.files,
                "stages": [s.__dict__ for s in res.run.stages],
                "failures": res.run.failures,
                "results": res.rows,
            },
            json_out,
        )
    if res.run.failures:
        err_console.print(f"[yellow]{len(res.run.failures)} failure(s)[/]; see the table above and {res.files.get('csv')}")
    if json_out != "-":
        console.print(f"results: {res.files.get('csv')}, {res.files.get('parquet')}, {res.files.get('report')}")
    if res.n_candidates and res.n_failed == res.n_candidates:
        err_console.print(f"error: all {res.n_candidates} candidate(s) failed; nothing to rank (reasons in {res.files.get('csv')})",
                          markup=False, highlight=False)
        raise typer.Exit(1)


def _print_table(con, res) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"dsei screen — {len(res.rows)} candidates (ranked)")
    for col in ("rank", "candidate", "formula", "B/G", "verdict", "p_ductile", "K (GPa)", "G (GPa)", "barrier (eV)", "vs Li (V)", "note"):
        t.add_column(col)

    def f(v, fmt="{:.2f}"):
        return "" if v is None else fmt.format(v)

    for r in res.rows:
        barrier = r.get("barrier_eV")
        verdict = r.get("verdict") or ""
        color = {"ductile": "green", "brittle": "red", "uncertain": "yellow", "unstable": "magenta"}.get(verdict)
        t.add_row(
            str(r["rank"]), escape(r["candidate_id"]), r["formula"] or "", f(r.get("pugh_ratio")), f"[{color}]{verdict}[/]" if color else verdict,
            f(r.get("p_ductile")), f(r.get("K_vrh_GPa"), "{:.1f}"), f(r.get("G_vrh_GPa"), "{:.1f}"), f(barrier), f(r.get("reduction_potential_V")),
            (f"[red]{r['failed_stage']} failed[/]" if r.get("failure") else ""),
        )
    con.print(t)
    for s in res.run.stages:
        line = f"{s.stage}: {s.computed} computed, {s.reused} reused, {s.failed} failed, {s.filtered_out} filtered out ({s.elapsed_s:.1f} s)"
        con.print(line, highlight=False)
    from rich.markup import escape

    for fl in res.run.failures:
        con.print(f"[red]{escape(fl['candidate_id'])}[/] ({fl['stage']}): {escape(fl['error'])}", highlight=False, soft_wrap=True)
