"""``dsei stability``, ``dsei convert`` and ``dsei design`` (thin layers over dsei.chemistry)."""

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from dsei._cli_common import JsonOpt, ModelOpt, out_console, progress_bar
from dsei.models.registry import DEFAULT_CHEMISTRY_MODEL


class Correction(StrEnum):
    """``--correction``, as :data:`dsei.chemistry.energies.CORRECTIONS`."""

    fitted = "fitted"
    mp2020 = "mp2020"
    none = "none"


class BarrierMethod(StrEnum):
    """``dsei design --barrier``."""

    bvse = "bvse"
    neb = "neb"
    none = "none"


CorrOpt = Annotated[
    Correction,
    typer.Option(
        "--correction",
        help="Energy level: fitted (default; MP2020 where needed + fitted element references), mp2020, none.",
    ),
]
EntriesOpt = Annotated[
    str | None,
    typer.Option(
        "--entries",
        help="JSON file of computed (DFT) entries to use instead of the MLIP, or 'mp' (mp-api, online).",
        metavar="PATH",
    ),
]
AnodeOpt = Annotated[
    str, typer.Option("--anode", help="Metal anode: Li or Na (K, Mg, Ca, Zn also accepted).")
]


def _fmt(v: float | None, spec: str = "+.3f") -> str:
    return "—" if v is None else format(v, spec)


app = typer.Typer()


@app.command("stability")
def stability_cmd(
    phase: Annotated[
        str, typer.Argument(help="Structure file or library formula/ID (e.g. AgF, Ag2S, LiF).")
    ],
    anode: AnodeOpt = "Li",
    model: ModelOpt = DEFAULT_CHEMISTRY_MODEL,
    correction: CorrOpt = Correction.fitted,
    entries: EntriesOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Is PHASE reduced by the metal anode? Reduction potential, reaction and products at 0 V."""
    from dsei.chemistry.stability import stability
    from dsei.errors import InputError
    from dsei.models import check_model
    from dsei.results import write_json

    info = check_model(model) if entries is None else None  # resolved (not loaded) before any work
    if info is not None and not info.available:
        raise InputError("--model", info.reason)
    r = stability(phase, anode=anode, model=model, correction=Correction(correction).value, entries=entries)
    if json_out:
        write_json(r, json_out)
    con = out_console(json_out)
    t = Table(title=f"{r.formula} against {anode} metal ({r.model})")
    t.add_column("quantity")
    t.add_column("value")
    t.add_row("stable at 0 V", "[green]yes[/]" if r.stable_at_0V else "[red]no[/]")
    t.add_row(f"reduction potential (V vs {anode}/{anode}+)", _fmt(r.reduction_potential_V, ".3f"))
    t.add_row("first reduction", r.reaction or "none (shares a tie line with the metal)")
    t.add_row("reaction energy (eV per f.u.)", _fmt(r.reaction_energy_eV_per_fu))
    t.add_row("products at 0 V", " + ".join(r.products_at_0V))
    if r.reaction_at_0V and r.reaction_at_0V != r.reaction:
        t.add_row("overall at 0 V", f"{r.reaction_at_0V}  ({_fmt(r.reaction_energy_at_0V_eV_per_fu)} eV)")
    t.add_row(
        "E above hull (meV/atom)",
        _fmt(None if r.e_above_hull_eV_per_atom is None else 1000 * r.e_above_hull_eV_per_atom, ".0f"),
    )
    t.add_row("energies", r.correction)
    con.print(t)
    for n in r.notes:
        con.print(f"[yellow]note:[/] {n}")

@app.command("convert")
def convert_cmd(
    native: Annotated[
        str, typer.Option("--native", help="Native SEI phase (Li2S, LiF, Li2O, Li3N, LiCl …).")
    ],
    additive: Annotated[
        str | None,
        typer.Option(
            "--additive",
            help="Additive salt or ion, e.g. AgNO3, Cu(NO3)2, Zn(OTf)2, Ag+; comma-separated for several; omit to rank the default set.",
        ),
    ] = None,
    anode: AnodeOpt = "Li",
    model: ModelOpt = DEFAULT_CHEMISTRY_MODEL,
    correction: CorrOpt = Correction.fitted,
    entries: EntriesOpt = None,
    mechanics: Annotated[
        bool,
        typer.Option(
            "--mechanics/--no-mechanics",
            help="Also each product's Pugh ratio and ductility verdict (default elastic model, cached).",
        ),
    ] = False,
    json_out: JsonOpt = None,
) -> None:
    """Driving force for converting a native phase with an additive cation (negative = favourable)."""
    from dsei.chemistry.conversion import DEFAULT_ADDITIVES, rank_additives
    from dsei.results import write_json

    # one additive or several: the same ranked conversion (most favourable first), products' mechanics on request
    adds = DEFAULT_ADDITIVES if additive is None else [a.strip() for a in _split_salts(additive) if a.strip()]
    annotate = None
    # --mechanics: a bar of the additives whose products' elastic moduli are done (minutes each on a cold cache)
    with progress_bar("mechanics", len(adds), json_out, enabled=mechanics) as advance:
        if mechanics:  # the products' mechanics come from the design layer above chemistry (docs/architecture.md)
            from dsei.campaign.design import with_product_mechanics

            def annotate(result):
                advance(0, description=result.additive)
                out = with_product_mechanics(result)
                advance()
                return out

        results = rank_additives(
            native, adds, anode=anode, model=model, correction=Correction(correction).value, entries=entries, annotate=annotate
        )
    if json_out:
        write_json(results[0] if len(results) == 1 else results, json_out, command="convert")
    con = out_console(json_out)
    t = Table(
        title=f"conversion of {results[0].native} by additive cations ({results[0].model}); negative = favourable"
    )
    for col in (
        "additive",
        "reaction",
        "ΔG (eV/f.u.)",
        f"ΔG (eV/{anode})",
        "favourable",
        "exp. ΔG (eV/f.u.)",
        "all-solid (eV/f.u.; exp.)",
        *(("product B/G", "product verdict") if mechanics else ()),
    ):
        t.add_column(col)
    for r in results:
        fav = "—" if r.favorable is None else ("[green]yes[/]" if r.favorable else "[red]no[/]")
        t.add_row(
            r.additive,
            r.reaction or (r.notes[0] if r.notes else "—"),
            _fmt(r.driving_force_eV_per_fu),
            _fmt(r.driving_force_eV_per_Li),
            fav,
            _fmt(r.experimental_driving_force_eV_per_fu),
            _fmt(r.solid_state_energy_eV_per_fu)
            + ("" if r.experimental_solid_state_energy_eV_per_fu is None else f" ({_fmt(r.experimental_solid_state_energy_eV_per_fu)})"),
            *((_fmt(r.product_pugh_ratio, ".2f"), r.product_verdict or "—") if mechanics else ()),
        )
    con.print(t)

@app.command("design")
def design_cmd(
    native: Annotated[
        str, typer.Option("--native", help="Native phases, comma-separated (e.g. LiF,Li2S).")
    ],
    additive: Annotated[str, typer.Option("--additive", help="Additive salt or ion (e.g. AgNO3).")],
    anode: AnodeOpt = "Li",
    model: ModelOpt = DEFAULT_CHEMISTRY_MODEL,
    correction: CorrOpt = Correction.fitted,
    entries: EntriesOpt = None,
    mechanics: Annotated[
        bool,
        typer.Option("--mechanics/--no-mechanics", help="Compute each layer's elastic moduli (cached)."),
    ] = True,
    barrier: Annotated[
        BarrierMethod,
        typer.Option(
            "--barrier",
            help="Each phase's migration barrier: bvse (seconds), neb (minutes per phase, the transport default model) or none.",
        ),
    ] = BarrierMethod.bvse,
    json_out: JsonOpt = None,
) -> None:
    """The layered interphase from the anode outward, with each layer's Pugh ratio and barrier."""
    from dsei.campaign.design import design
    from dsei.errors import InputError
    from dsei.results import write_json

    barrier = BarrierMethod(barrier).value
    if barrier not in ("bvse", "neb", "none"):
        raise InputError("--barrier", f"unknown method {barrier!r} (choose bvse, neb or none)")
    seen = {"total": None}

    def progress(done, total, formula):
        seen["total"] = total
        advance(0, description=formula, total=total, completed=done)

    with progress_bar("design", None, json_out) as advance:  # a bar of the phases whose properties are done
        r = design(
            native,
            additive,
            anode=anode,
            model=model,
            correction=Correction(correction).value,
            entries=entries,
            mechanics=mechanics,
            barrier_method=None if barrier == "none" else barrier,
            progress=progress,
        )
        if seen["total"] is not None:
            advance(0, description="done", completed=seen["total"])
    if json_out:
        write_json(r, json_out)
    con = out_console(json_out)
    con.print(_design_table(r, anode))
    _print_gradient(con, r.gradient)
    for n in r.notes:
        con.print(f"[yellow]note:[/] {n}")


def _design_table(r, anode: str) -> Table:
    """One row per layer from the anode out: phases, role, reduction potentials, B/G, G, verdicts, barrier."""
    t = Table(
        title=f"gradient SEI on {anode}: native {', '.join(r.native)} + {r.additive} ({r.cation}); layer 1 touches {anode}"
    )
    for col in (
        "pos.",
        "phases",
        "role",
        f"V_red vs {anode}",
        "Pugh B/G",
        "G (GPa)",
        "verdict",
        "barrier (eV)",
    ):
        t.add_column(col)
    for lay in r.layers:
        props = lay["phase_properties"]
        t.add_row(
            str(lay["position"]),
            ", ".join(lay["phases"]),
            lay["role"],
            ", ".join(
                _fmt(p["reduction_potential_V"], ".2f")
                if p["reduction_potential_V"] is not None
                else "stable"
                for p in props
            ),
            ", ".join(_fmt(p.get("pugh_ratio"), ".2f") for p in props),
            ", ".join(_fmt(p.get("G_vrh_GPa"), ".1f") for p in props),
            ", ".join(str(p.get("verdict", "—")) for p in props),
            _fmt(lay["barrier_eV"], ".2f")
            if lay["barrier_eV"] is not None
            else lay.get("barrier_note", "—"),
        )
    return t


def _print_gradient(con, g: dict) -> None:
    """Inner vs outer mean B/G and G (where known) and the outer conversion products that are not ductile."""
    if g.get("soft_outside_strong_inside") is not None:
        con.print(
            f"inner (non-metallic) mean B/G {g['inner_mean_pugh_ratio']:.2f}, G {g['inner_mean_G_GPa']:.1f} GPa; "
            f"outer conversion products mean B/G {g['outer_mean_pugh_ratio']:.2f}, G {g['outer_mean_G_GPa']:.1f} GPa → "
            + (
                "soft outside, strong inside"
                if g["soft_outside_strong_inside"]
                else "NOT soft-outside/strong-inside"
            )
        )
    if g.get("outer_not_ductile"):
        con.print(
            "outer conversion products that are not ductile: "
            + ", ".join(f"{f} ({v})" for f, v in g["outer_not_ductile"].items())
        )

def _split_salts(s: str) -> list[str]:
    """Split on commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in s:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out
