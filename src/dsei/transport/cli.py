"""``dsei barrier FILE --ion Li [--mechanism vacancy|interstitial|auto] [--method bvse|neb|md] [--model NAME]
[--json OUT] [--plot OUT.png]``."""

from enum import StrEnum
from typing import Annotated

import typer

from dsei._cli_common import JsonOpt, err_console, out_console, progress_bar
from dsei.models.registry import DEFAULT_BARRIER_MODEL

app = typer.Typer()


class Mechanism(StrEnum):
    """``--mechanism``, as :data:`dsei.transport.barrier.MECHANISMS`."""

    auto = "auto"
    vacancy = "vacancy"
    interstitial = "interstitial"


class Method(StrEnum):
    """``--method``, as :data:`dsei.transport.barrier.METHODS`."""

    neb = "neb"
    bvse = "bvse"
    md = "md"


class Compensate(StrEnum):
    """``--compensate``: how a vacancy cell is made."""

    none = "none"
    schottky = "schottky"


@app.command("barrier")
def barrier_cmd(
    file: Annotated[str, typer.Argument(metavar="FILE", help="Structure file (CIF, POSCAR, extxyz, JSON), MP id or library formula.")],
    ion: Annotated[str, typer.Option("--ion", help="Mobile ion (Li, Na, K, Ag...).")] = "Li",
    mechanism: Annotated[
        Mechanism, typer.Option("--mechanism", help="vacancy, interstitial or auto (vacancy if the host contains the ion).")
    ] = Mechanism.auto,
    method: Annotated[Method, typer.Option("--method", help="neb (default), bvse (seconds, ranking) or md (slow).")] = Method.neb,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model name (see `dsei models`); default: the transport default.")
    ] = DEFAULT_BARRIER_MODEL,
    json_out: JsonOpt = None,
    plot: Annotated[str | None, typer.Option("--plot", metavar="OUT.png", help="Energy profile of every hop.")] = None,
    min_image: Annotated[float, typer.Option("--min-image", help="Periodic images of the moving ion at least this far apart (Å).")] = 9.0,
    images: Annotated[int, typer.Option("--images", help="NEB images between the end points.")] = 5,
    fmax: Annotated[float, typer.Option("--fmax", help="NEB force convergence (eV/Å).")] = 0.05,
    compensate: Annotated[
        Compensate, typer.Option("--compensate", help="Vacancy cells: none (neutral Li removed) or schottky (charge-neutral defect).")
    ] = Compensate.none,
    max_hops: Annotated[int, typer.Option("--max-hops", help="Compute at most this many distinct hops (shortest first).")] = 12,
    cutoff: Annotated[float | None, typer.Option("--cutoff", help="Longest hop considered (Å; default: automatic).")] = None,
) -> None:
    """Migration barrier of an ion: sites, symmetry-distinct hops, climbing-image NEB, 1D/2D/3D percolation."""
    from rich.table import Table

    from dsei.errors import InputError
    from dsei.models import check_model
    from dsei.results import write_json
    from dsei.structures.validate import prepare
    from dsei.transport.barrier import METHODS, barrier, plot_profiles

    mechanism, method, compensate = Mechanism(mechanism).value, Method(method).value, Compensate(compensate).value
    if method not in METHODS:  # the enum and METHODS must agree (tests/test_cli_imports.py)
        raise InputError("--method", f"unknown method {method!r} (choose {', '.join(METHODS)})")
    if method != "bvse":
        info = check_model(model)
        if info is not None and not info.available:
            raise InputError("--model", info.reason)
    con = out_console(json_out)
    struct = prepare(file, model if method != "bvse" else None)

    def hop_progress(rank, total, hop):
        err_console.print(f"hop {rank + 1}/{total}: {hop.label} {hop.distance_A:.2f} Å", highlight=False)

    with progress_bar("md", None, json_out, enabled=method == "md") as advance:  # MD: a bar of the MD steps

        def md_progress(done, total, temperature_K):
            advance(0, description=f"{temperature_K:g} K", total=total, completed=done)

        r = barrier(
            struct, ion=ion, mechanism=mechanism, method=method, model=model, min_image_A=min_image, n_images=images,
            fmax=fmax, compensate=compensate, max_hops=max_hops, cutoff_A=cutoff, source=file,
            progress=md_progress if method == "md" else hop_progress,
        )
    if json_out:
        write_json(r, json_out, command="barrier")
    if plot:
        plot_profiles(r, plot)
    head = f"{r.barrier_eV:.3f} eV ({r.dimension})" if r.barrier_eV is not None else "none (no percolating network)"
    con.print(f"{r.formula}: {r.ion} {r.mechanism} ({r.mechanism_reason}), method {r.method}"
              + (f", model {r.model}" if r.model else "") + f" — barrier {head}", highlight=False)
    if r.hops:
        t = Table(title=f"hops (supercell {r.supercell_atoms} atoms, images ≥ {r.min_image_A} Å apart)")
        for col in ("hop", "label", "d (Å)", "×", "barrier (eV)", "saddle (eV)", "converged", "time (s)", "status"):
            t.add_column(col)
        for h in r.hops:
            t.add_row(
                str(h.index), h.label, f"{h.distance_A:.2f}", str(h.multiplicity),
                "—" if h.barrier_eV is None else f"{h.barrier_eV:.3f}",
                "—" if h.saddle_eV is None else f"{h.saddle_eV:.3f}",
                "—" if h.converged is None else ("yes" if h.converged else "[yellow]no[/]"),
                "—" if h.elapsed_s is None else f"{h.elapsed_s:.0f}",
                h.status if h.status == "ok" else f"[red]{h.status}[/]: {h.error or ''}",
            )
        con.print(t)
    perc = ", ".join(f"{d} {'—' if v is None else f'{v:.3f}'}" for d, v in r.percolation_eV.items())
    con.print(f"percolation (eV): {perc}", highlight=False)
    for note in r.notes:
        con.print(f"note: {note}", highlight=False)

