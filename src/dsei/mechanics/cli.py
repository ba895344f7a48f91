"""``dsei elastic FILE... [--model chgnet|sevennet|committee|committee:A,B,...|...] [--json OUT]``."""


from typing import Annotated

import typer

from dsei._cli_common import JsonOpt, err_console, out_console, progress_bar
from dsei.models.registry import DEFAULT_ELASTIC_MODEL

app = typer.Typer()


@app.command("elastic")
def elastic_cmd(
    files: Annotated[
        list[str], typer.Argument(metavar="FILE...", help="Structure files (CIF, POSCAR, extxyz, JSON), MP ids or library IDs/formulas.")
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model name (see `dsei models`), 'committee' (chgnet + sevennet) or 'committee:A,B,...' (any models).")
    ] = DEFAULT_ELASTIC_MODEL,
    json_out: JsonOpt = None,
    calibrate: Annotated[
        bool | None,
        typer.Option("--calibrate/--no-calibrate", help="Apply the per-model calibration (default: on where it measured better)."),
    ] = None,
    relax: Annotated[bool, typer.Option("--relax/--no-relax", help="Relax cell and positions first (symmetry kept).")] = True,
    clamped: Annotated[bool, typer.Option("--clamped", help="Clamped-ion tensor (ions not relaxed in strained cells).")] = False,
    fallback: Annotated[
        bool,
        typer.Option("--fallback/--no-fallback", help="Where the tensor is not positive definite, a second opinion from chgnet (verdict 'uncertain' if it is stable)."),
    ] = True,
    retry: Annotated[
        bool,
        typer.Option("--retry/--no-retry", help="Where the tensor is not positive definite, try a tighter relaxation, the fallback model, the input cell, smaller strains and another model before reporting 'unstable'."),
    ] = True,
    max_sites: Annotated[int, typer.Option(help="Refuse structures with more sites than this.")] = 200,
) -> None:
    """Elastic tensor, moduli, Pugh's ratio and the ductility verdict (ductile/brittle/uncertain/unstable)."""
    from dsei.errors import CalculationError
    from dsei.mechanics.elastic import FALLBACK_MODEL

    check = _checked_model(model)
    con = out_console(json_out)
    failures: list[str] = []
    # many files: a bar of the inputs read, then of the structures computed (one batch: the phase is described)
    with progress_bar("elastic", len(files), json_out, enabled=len(files) > 1) as advance:
        structs = _read_inputs(files, check, max_sites, advance, failures)
        kw = dict(calibrate=calibrate, relax=relax, relax_ions=not clamped, fallback=FALLBACK_MODEL if fallback else None, retry=retry)
        results = _compute(structs, model, kw, advance, failures) if structs else []
    for f, r in results:
        if r.source is None:
            r.source = f
    if json_out and results:
        from dsei.results import write_json

        res = [r for _, r in results]
        write_json(res[0] if len(res) == 1 else res, json_out, command="elastic")
    if results:
        _print_results(con, results)
    if failures:
        # One line, exit status 2 (the CLI convention), after every other input has been reported.
        raise CalculationError(f"{len(failures)} of {len(files)} inputs failed: {', '.join(map(str, failures))}")


def _checked_model(model: str) -> str | None:
    """The model to check each input against (None for a committee); InputError for a model not installed."""
    from dsei.errors import InputError
    from dsei.mechanics.elastic import _members
    from dsei.models import check_model

    names = _members(model)
    for n in names:
        info = check_model(n) if isinstance(n, str) else None
        if info is not None and not info.available:
            raise InputError("--model", info.reason)
    return names[0] if len(names) == 1 else None


def _read_inputs(files: list[str], check: str | None, max_sites: int, advance, failures: list[str]) -> list[tuple]:
    """(file, structure) of every input that reads and validates; one that does not is reported on stderr and
    added to ``failures`` (a single input raises)."""
    from dsei.errors import DseiError
    from dsei.structures.validate import prepare

    structs = []
    for f in files:
        advance(0, description=f"reading {f}")
        try:
            structs.append((f, prepare(f, check, max_sites)))
        except DseiError as exc:
            if len(files) == 1:
                raise
            failures.append(f)
            err_console.print(f"error: {exc}", markup=False, highlight=False)
        advance()
    return structs


def _compute(structs: list[tuple], model: str, kw: dict, advance, failures: list[str]) -> list[tuple]:
    """(file, ElasticResult) for all structures in one batch; if the batch fails, one at a time, so that a failing
    structure is reported (stderr, ``failures``) and the others still computed."""
    from dsei.errors import DseiError
    from dsei.mechanics.elastic import elastic_many

    advance(0, description="computing", total=len(structs), completed=0)
    try:
        batch = elastic_many([s for _, s in structs], model, progress=lambda what: advance(0, description=what), **kw)
        results = list(zip([f for f, _ in structs], batch, strict=True))
        advance(0, description="done", completed=len(structs))
        return results
    except DseiError:
        raise
    except Exception:  # noqa: BLE001 - isolate the failing structure: redo one at a time
        results = []
        advance(0, description="one at a time", completed=0)
        for f, s in structs:
            try:
                results.append((f, elastic_many([s], model, **kw)[0]))
            except Exception as exc:  # noqa: BLE001 - report and go on with the others
                failures.append(f)
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                err_console.print(f"error: {f}: calculation failed ({type(exc).__name__}: {msg})", markup=False, highlight=False)
            advance()
        return results


def _fmt(v, key=None, nd=1, sp=None) -> str:
    """``v`` with ``nd`` decimals, ``± spread`` where the committee spread of ``key`` is known; — for None."""
    if v is None:
        return "—"
    s = f"{v:.{nd}f}"
    if key and sp and sp.get(key) is not None:
        s += f" ± {sp[key]:.{nd}f}"
    return s


def _print_results(con, results: list[tuple]) -> None:
    """The results table, the reason of every retried result and the verdict rule."""
    from rich.table import Table

    table = Table(title=f"elastic ({results[0][1].model}{', calibrated' if results[0][1].calibrated else ''})")
    for col in ("source", "formula", "space group", "K (GPa)", "G (GPa)", "E (GPa)", "ν", "B/G", "G/G_Li", "p_ductile", "verdict"):
        table.add_column(col)
    colour = {"ductile": "green", "brittle": "red", "uncertain": "yellow", "unstable": "magenta"}
    for f, r in results:
        sp = r.spread or {}
        table.add_row(
            str(f),
            r.formula,
            r.spacegroup,
            _fmt(r.K_vrh_GPa, "K_vrh_GPa", sp=sp),
            _fmt(r.G_vrh_GPa, "G_vrh_GPa", sp=sp),
            _fmt(r.E_GPa, "E_GPa", sp=sp),
            _fmt(r.poisson, "poisson", 3, sp=sp),
            _fmt(r.pugh_ratio, "pugh_ratio", 2, sp=sp),
            _fmt(r.monroe_newman_ratio, "monroe_newman_ratio", 2, sp=sp),
            _fmt(r.p_ductile, nd=2, sp=sp),
            f"[{colour[r.verdict]}]{r.verdict}[/]",
        )
    con.print(table)
    for f, r in results:
        if r.retries:
            con.print(f"{f}: {r.verdict_reason}", markup=False, highlight=False)
    con.print(
        f"K, G: Voigt-Reuss-Hill. Pugh: {_verdict_rule(results)}. "
        "G_Li = 4.25 GPa (Monroe & Newman 2005). C_ij, Cauchy pressure, anisotropy, hardness...: --json."
    )


def _verdict_rule(results: list[tuple]) -> str:
    """How the verdicts were reached: the p_ductile thresholds, or the B/G band of the first result."""
    first = results[0][1]
    p_star = None
    if any(r.p_ductile is not None for _, r in results):
        from dsei.mechanics.confidence import parameters

        p_star = next(parameters(r.model)["p_star"] for _, r in results if r.p_ductile is not None)
    return (
        f"p_ductile = calibrated probability that DFT's B/G ≥ 1.75; ductile if p_ductile ≥ {p_star}, brittle if ≤ {1 - p_star:.2f}, "
        "else uncertain"
        if p_star is not None
        else f"ductile if B/G ≥ 1.75; uncertain for {first.pugh_uncertain_band[0]:.2f} < B/G < {first.pugh_uncertain_band[1]:.2f}"
        " (measured model error)"
    )
