"""``dsei discover`` — propose, rank and verify new SEI phases for an anode and a chemical space."""

from pathlib import Path
from typing import Annotated

import typer

from dsei._cli_common import JsonOpt, console, err_console, out_console

app = typer.Typer()


@app.command("discover")
def discover_cmd(
    anode: Annotated[str, typer.Option(help="Anode metal: Li, Na or K.")] = "Li",
    cations: Annotated[str, typer.Option(help="Comma-separated metals of the additive space.")] = "Ag,Cu,Zn,Sn,Bi,In",
    anions: Annotated[str, typer.Option(help="Comma-separated anions.")] = "F,Cl,Br,I,O,S,Se,N",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (store, CSV, parquet, Pareto table/plot, report).")] = Path("dsei-discover"),
    max_candidates: Annotated[int, typer.Option(help="Enumerate at most this many unique candidates (best substitution probability first).")] = 10_000,
    relax_fraction: Annotated[float, typer.Option(help="Share of candidates (best acquisition first) relaxed per round (at least --top).")] = 0.01,
    top: Annotated[int, typer.Option(help="Candidates per round sent to the MLIP elastic verdict (by acquisition).")] = 10,
    rounds: Annotated[int, typer.Option(help="Rounds; the surrogate is refitted on the MLIP results between rounds.")] = 1,
    kappa: Annotated[float, typer.Option(help="Acquisition: ln(B/G) + kappa·σ (0 = greedy).")] = 1.0,
    stages: Annotated[str, typer.Option(help="Comma-separated: surrogate,relax,bvse,elastic[,neb].")] = "surrogate,relax,bvse,elastic",
    workers: Annotated[int, typer.Option(help="Local worker processes for the MLIP stages.")] = 1,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    surrogate: Annotated[Path | None, typer.Option(help="Surrogate JSON (default: the shipped one).")] = None,
    exclude: Annotated[str, typer.Option(help="Comma-separated formulas removed from the prototypes and the hull references.")] = "",
    max_e_hull: Annotated[float, typer.Option(help="eV/atom above the hull beyond which a candidate is not verified or ranked.")] = 0.1,
    memory_gb: Annotated[float | None, typer.Option(help="Memory the enumeration may use (default: half the machine's).")] = None,
    no_retrain: Annotated[bool, typer.Option("--no-retrain", help="Keep the surrogate fixed between rounds.")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", metavar="STAGE.KEY=VALUE", help="A stage option, e.g. relax.fmax=0.02 (repeatable).")] = None,
    json_out: JsonOpt = None,
) -> None:
    """Enumerate charge-balanced candidates by ionic substitution, rank them with the learned surrogate, verify the best with the MLIP."""
    from dsei.campaign.screen import parse_overrides
    from dsei.discovery.funnel import discover
    from dsei.errors import InputError
    from dsei.results import write_json

    if workers < 1:
        raise InputError("--workers", "must be ≥ 1")
    if dask is not None:  # before the enumeration (a minute), not after it
        from dsei.extras import require

        require("distributed", "dask", "dask", "running on a Dask scheduler")
    con = out_console(json_out)
    res = discover(
        anode=anode.strip(), cations=[c for c in cations.split(",") if c.strip()], anions=[a for a in anions.split(",") if a.strip()],
        out_dir=out, max_candidates=max_candidates, relax_fraction=relax_fraction, top=top, rounds=rounds, kappa=kappa,
        stages=[s.strip() for s in stages.split(",") if s.strip()], workers=workers, dask=dask, surrogate=surrogate,
        exclude_formulas=[f.strip() for f in exclude.split(",") if f.strip()], max_e_hull=max_e_hull, retrain=not no_retrain,
        memory_gb=memory_gb, options=parse_overrides(set_ or []), log=lambda m: con.print(m, highlight=False),
    )
    _print(con, res)
    if json_out:
        write_json(res.to_json_dict(), json_out)
    if res.failures:
        err_console.print(f"[yellow]{len(res.failures)} failure(s)[/]; see {res.files.get('csv')}")
    if json_out != "-":
        console.print(f"results: {res.files.get('csv')}, {res.files.get('pareto_csv')}, {res.files.get('pareto_plot')}, {res.files.get('report')}")


def _print(con, res) -> None:
    from rich.table import Table

    e = res.enumeration
    con.print(f"enumeration: {e['candidates']} candidates from {e['substitutions']} substitutions into {e['prototypes']} prototypes; dropped: "
              + (", ".join(f"{k}: {v}" for k, v in e["dropped"].items()) or "none"), highlight=False)
    t = Table(title="dsei discover — top candidates (source of each value in brackets)")
    for col in ("rank", "formula", "B/G", "P(ductile)", "E_hull (eV/at)", "barrier (eV)", "reduced below (V)", "prototype"):
        t.add_column(col)

    def f(v, fmt="{:.2f}"):
        return "" if v is None else fmt.format(v)

    shown = [r for r in res.rows if r.get("rank")][:15]
    for r in shown:
        t.add_row(str(r["rank"]), r["formula"], f"{f(r['pugh_ratio'])} [{r['pugh_ratio_source']}]", f(r.get("pred_p_ductile")),
                  f(r.get("e_above_hull_eV_per_atom"), "{:.3f}"), f"{f(r.get('barrier_eV'))} [{r.get('barrier_source')}]" if r.get("barrier_eV") is not None else "",
                  "stable" if r.get("anode_stable") else f(r.get("reduction_potential_V")), r["prototype"])
    con.print(t)
    for rd in res.rounds:
        con.print(f"round {rd['round']}: " + ", ".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}" for k, v in rd.items() if k != "round"), highlight=False)
