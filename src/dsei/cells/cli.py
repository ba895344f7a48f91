"""``dsei cycle``: analyse a cycler file (Li|Li symmetric or full cell), JSON and PNG out."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dsei._cli_common import JsonOpt, out_console


def _parse_pairs(text: str | None, option: str) -> dict[str, str] | None:
    """``time=Elapsed (s),voltage=E/V`` → dict; used by --columns and --units."""
    from dsei.errors import InputError

    if not text:
        return None
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise InputError(option, f"expected ROLE=VALUE pairs separated by commas, got {part!r}")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


app = typer.Typer()


class Cell(StrEnum):
    """``--cell``, as :data:`dsei.cells.api.CELLS`."""

    symmetric = "symmetric"
    full = "full"


class Format(StrEnum):
    """``--format``, as :data:`dsei.cells.readers.FORMATS`."""

    biologic_mpr = "biologic-mpr"
    biologic_mpt = "biologic-mpt"
    neware = "neware"
    land = "land"
    arbin = "arbin"
    generic = "generic"


@app.command("cycle")
def cycle_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Cycler file: BioLogic .mpr/.mpt, Neware/LAND/Arbin CSV or XLSX, or a generic CSV/Parquet.")],
    cell: Annotated[Cell, typer.Option("--cell", help="symmetric (Li|SE|Li) or full.", metavar="symmetric|full")] = Cell.symmetric,
    area: Annotated[float | None, typer.Option("--area", help="Electrode area, cm2.", metavar="CM2")] = None,
    current_density: Annotated[float | None, typer.Option("--current-density", help="Nominal current density, mA cm-2 (area inferred from it when --area is not given).", metavar="MA_CM2")] = None,
    areal_capacity: Annotated[float | None, typer.Option("--areal-capacity", help="Nominal areal capacity per half-cycle, mAh cm-2.", metavar="MAH_CM2")] = None,
    mass: Annotated[float | None, typer.Option("--mass", help="Active mass of a full cell's cathode, mg (capacities in mAh g-1).", metavar="MG")] = None,
    json_out: JsonOpt = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a publication-style PNG.", metavar="OUT.png")] = None,
    fmt: Annotated[Format | None, typer.Option("--format", help="Force the reader: biologic-mpr, biologic-mpt, neware, land, arbin, generic.")] = None,
    columns: Annotated[str | None, typer.Option("--columns", help="Generic CSV columns: 'time=t/s,voltage=E/V,current=I/mA' (roles: time, voltage, current, current_density, cycle, step).")] = None,
    units: Annotated[str | None, typer.Option("--units", help="Units of generic columns when their names carry none: 'time=min,current=A'.")] = None,
    soft_short_fraction: Annotated[float, typer.Option(help="Soft short: plateau below this fraction of the preceding baseline.")] = 0.3,
    hard_short_mv: Annotated[float, typer.Option("--hard-short-mv", help="Hard short: plateau below this, mV.")] = 1.0,
    divergence_mv: Annotated[float | None, typer.Option("--divergence-mv", help="Divergence: plateau above this, mV (default: 5 x the initial polarization).")] = None,
    one_c_ma: Annotated[float | None, typer.Option("--one-c-ma", help="Full cells: the 1C current, mA (default: mass x 200 mAh g-1, or the first discharge capacity over 1 h).")] = None,
) -> None:
    """Analyse cycling data: Li|Li polarization, lifetime and failure (soft/hard short, divergence), or full-cell capacity, CE, retention and rate capability."""
    from rich.table import Table

    from dsei.cells import cycle
    from dsei.cells.symmetric import FailureCriteria
    from dsei.errors import InputError
    from dsei.results import write_json

    cell, fmt = Cell(cell).value, None if fmt is None else Format(fmt).value
    if not 0 < soft_short_fraction < 1:
        raise InputError("--soft-short-fraction", "must be between 0 and 1")
    if hard_short_mv < 0 or (divergence_mv is not None and divergence_mv <= 0):
        raise InputError("--hard-short-mv/--divergence-mv", "must be positive")
    if plot is not None and plot.suffix.lower() != ".png":
        raise InputError(plot, "plots are written as PNG: give a .png path")
    crit = FailureCriteria(soft_short_fraction=soft_short_fraction, hard_short_mV=hard_short_mv, divergence_mV=divergence_mv)
    r = cycle(file, cell=cell, area_cm2=area, current_density_mA_cm2=current_density, areal_capacity_mAh_cm2=areal_capacity,
              mass_mg=mass, fmt=fmt, columns=_parse_pairs(columns, "--columns"), units=_parse_pairs(units, "--units"),
              criteria=crit, one_c_mA=one_c_ma, plot=plot)
    if json_out:
        write_json(r, json_out)
    con = out_console(json_out)
    table = Table(title=f"{file.name}: {r.cell} cell ({r.format}, {r.n_rows} rows)")
    table.add_column("quantity")
    table.add_column("value")

    def f(x, fmt_=".4g"):
        return "–" if x is None else format(x, fmt_)

    if r.cell == "symmetric":
        fail = r.failure
        table.add_row("duration (h)", f(r.duration_h, ".1f"))
        table.add_row("cycles", str(r.cycles))
        table.add_row("lifetime (h)", f(r.lifetime_h, ".1f"))
        verdict = f"[red]{fail.kind}[/] at {fail.time_h:.1f} h (cycle {fail.cycle})" if fail.detected else "[green]none[/]"
        table.add_row("failure", verdict)
        op = r.overpotential_mV
        table.add_row("overpotential plateau (mV) first / median / last", f"{f(op.get('first'))} / {f(op.get('median'))} / {f(op.get('last'))}")
        pk = r.peak_overpotential_mV
        table.add_row("overpotential peak (mV) first / median / last", f"{f(pk.get('first'))} / {f(pk.get('median'))} / {f(pk.get('last'))}")
        table.add_row("current density (mA cm-2)", f(r.current_density_mA_cm2))
        table.add_row("cumulative capacity (mAh cm-2)", f(r.cumulative_capacity_mAh_cm2))
        if r.critical_current_density:
            ccd = r.critical_current_density
            table.add_row("critical current density (mA cm-2)", ("≥ " if ccd["lower_bound"] else "") + f(ccd["ccd_mA_cm2"]))
    else:
        cap = r.capacity
        u = cap.get("unit")
        table.add_row("cycles", str(r.cycles))
        table.add_row(f"discharge capacity ({u}) first / last", f"{f(cap.get('first_discharge'))} / {f(cap.get('last_discharge'))}")
        ce = r.coulombic_efficiency
        table.add_row("Coulombic efficiency (%) first / average / last", f"{f(ce.get('first_pct'))} / {f(ce.get('average_pct'))} / {f(ce.get('last_pct'))}")
        table.add_row("capacity retention (%)", f(r.retention_pct))
        table.add_row("voltage hysteresis (V) median", f(r.voltage_hysteresis_V.get("median")))
        for row in r.rate_table:
            table.add_row(f"  {f(row['c_rate'])} C ({row['n_cycles']} cycles)", f"{f(row['discharge_capacity'])} {u}")
    con.print(table)
    for w in r.warnings:
        con.print(f"[yellow]warning:[/] {w}")
    if plot is not None:
        con.print(f"wrote {plot}")

