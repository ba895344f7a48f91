"""``dsei.barrier``: migration barriers of a mobile ion (Li+, Na+, …) in a host, end to end.

The pipeline (one small module per step, data flowing one way)::

    structure ─ relax (symmetry kept) ─ mechanism (vacancy | interstitial, :mod:`.sites`)
              ─ sites (vacancy: the ion's sites; interstitial: voids, MLIP-relaxed, merged, energy window)
              ─ site network + symmetry-distinct hops (:mod:`.paths`, pymatgen-analysis-diffusion)
              ─ supercell with periodic images of the moving ion ≥ ``min_image_A`` apart (:mod:`.supercell`)
              ─ end points (:mod:`.endpoints`) ─ climbing-image NEB, images batched (:mod:`.neb`)
              ─ percolation of the hop network in 1D/2D/3D (:mod:`.percolation`)

``method="bvse"`` is the seconds-per-structure pre-screen (:mod:`.bvse`); ``method="md"`` runs MLIP
molecular dynamics at several temperatures (:mod:`.md`, off by default: minutes to hours).

Percolation energies. Each hop is an edge of the periodic site graph carrying the energy of its saddle
point relative to the lowest end point of any computed hop (for a hop between equivalent sites this is the
NEB barrier itself; between inequivalent sites it includes the site-energy difference). The lowest energy at
which the edges at or below it percolate in 1D, 2D and 3D is reported in ``percolation_eV``; the headline
``barrier_eV`` is the 3D value when the network percolates in 3D, otherwise the highest dimension that
percolates, named in ``dimension``. A hop that fails is reported with its error and left out of the network;
the others are still returned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from pymatgen.core import Structure

from dsei.errors import CalculationError, DseiError, InputError
from dsei.models import DEFAULT_BARRIER_MODEL, Model, load_model
from dsei.results import Result

METHODS = ("neb", "bvse", "md")
MECHANISMS = ("auto", "vacancy", "interstitial")
#: Periodic images of the moving ion at least this far apart (Å) in the NEB supercell (issue default).
MIN_IMAGE_A = 9.0


class HopResult(BaseModel):
    """One symmetry-distinct hop: ``{start_frac, end_frac, distance_A, barrier_eV, converged, profile_eV, ...}``.

    Fractional coordinates refer to the (relaxed) host cell; ``end_frac`` is the nearest periodic image of
    the end site, so it may lie outside [0, 1). ``barrier_eV`` is the forward NEB barrier (saddle − start);
    ``saddle_eV`` the saddle relative to the lowest end point of all hops (what percolation uses).
    """

    index: int
    label: str = ""
    start_frac: list[float]
    end_frac: list[float]
    distance_A: float
    multiplicity: int = 1
    status: str = "ok"  # ok | failed | not_computed
    barrier_eV: float | None = None
    reverse_barrier_eV: float | None = None
    saddle_eV: float | None = None
    converged: bool | None = None
    profile_eV: list[float] = Field(default_factory=list)
    reaction_coordinate_A: list[float] = Field(default_factory=list)
    steps: int | None = None
    max_force_eV_per_A: float | None = None
    elapsed_s: float | None = None
    error: str | None = None
    endpoints: dict[str, Any] = Field(default_factory=dict)


class BarrierResult(Result):
    """JSON: ``{source, formula, ion, mechanism, method, model, supercell, hops: [{start_frac, end_frac,
    distance_A, barrier_eV, converged, profile_eV}], percolation_eV: {"1D","2D","3D"}, barrier_eV, dimension}``.

    ``supercell`` is the 3×3 integer matrix applied to the relaxed host cell (rows: supercell vectors in
    units of the host's). For ``method="bvse"`` there are no hops and the percolation energies are BVSE's;
    for ``method="md"`` ``barrier_eV`` is the Arrhenius activation energy (``md`` holds the details).
    """

    source: str | None = None
    formula: str
    ion: str
    mechanism: str
    mechanism_reason: str = ""
    method: str
    model: str | None = None
    supercell: list[list[int]] | None = None
    supercell_atoms: int | None = None
    min_image_A: float | None = None
    compensate: str | None = None
    sites: list[dict[str, Any]] = Field(default_factory=list)
    hops: list[HopResult] = Field(default_factory=list)
    percolation_eV: dict[str, float | None] = Field(default_factory=lambda: {"1D": None, "2D": None, "3D": None})
    barrier_eV: float | None = None
    dimension: str | None = None
    failed_hops: int = 0
    unconverged_hops: int = 0
    n_images: int | None = None
    fmax_eV_per_A: float | None = None
    host_relaxed: bool = False
    elapsed_s: float = 0.0
    notes: list[str] = Field(default_factory=list)
    cutoff_A: float | None = None
    network_dimension: int | None = None
    dropped_hops: list[dict[str, Any]] = Field(default_factory=list)
    md: dict[str, Any] | None = None


def _headline(perc: dict[str, float | None]) -> tuple[float | None, str | None]:
    dim = next((d for d in ("3D", "2D", "1D") if perc.get(d) is not None), None)
    return (perc[dim] if dim else None), dim


def _to_supercell_frac(frac: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    # cart = f_host @ L = f_sc @ (M @ L)  =>  f_sc = f_host @ inv(M)
    return np.asarray(frac, float) @ np.linalg.inv(np.asarray(matrix, float))


def barrier(
    structure: Structure | str | Path,
    ion: str = "Li",
    mechanism: str = "auto",
    method: str = "neb",
    model: str | Model = DEFAULT_BARRIER_MODEL,
    *,
    min_image_A: float = MIN_IMAGE_A,
    n_images: int = 5,
    fmax: float = 0.05,
    compensate: str | None = None,
    relax_host: bool = True,
    energy_window_eV: float = 0.5,
    cutoff_A: float | None = None,
    max_hops: int = 12,
    md_options: dict[str, Any] | None = None,
    source: str | None = None,
    progress=None,
) -> BarrierResult:
    """Migration barrier of ``ion`` in ``structure`` (a Structure, a file, an MP id or a library formula).

    ``mechanism``: ``vacancy`` (the host contains the ion), ``interstitial`` (any host; the ion is placed in
    MLIP-relaxed voids) or ``auto`` (vacancy when the host contains the ion, else interstitial; the reason is
    in ``mechanism_reason``). ``method``: ``neb`` (default), ``bvse`` or ``md``. ``compensate="schottky"``
    makes vacancy cells charge-neutral by also removing distant counter-ions (see :mod:`.endpoints`).
    At most ``max_hops`` symmetry-distinct hops (shortest first) are computed; the rest are listed with
    ``status="not_computed"``. ``progress``: NEB called as ``progress(rank, total, hop)`` before each hop; MD
    as ``progress(steps_done, steps_total, temperature_K)`` (see :func:`dsei.transport.md.md_diffusion`).
    """
    from dsei.transport.sites import choose_mechanism, ion_element

    compensate = _checked_options(method, mechanism, compensate)
    element = ion_element(ion)
    struct, source = _read_structure(structure, source)
    t0 = time.perf_counter()
    mech, reason = choose_mechanism(struct, element, mechanism)
    if method == "bvse":
        return _bvse_barrier(struct, element, mech, reason, source)
    m = model if isinstance(model, Model) else load_model(model)
    if method == "md":
        return _md_barrier(struct, element, mech, reason, m, md_options, source, progress, t0)

    host, host_relaxed = _primitive_host(struct, m, relax_host)
    sites = _migration_sites(host, element, mech, m, energy_window_eV, min_image_A, source)
    net = _hop_network(host, element, mech, sites, cutoff_A, source)
    cells = _DefectCells.build(host, net, min_image_A)
    hops, absolute = _neb_hops(net, cells, mech, element, m, compensate, n_images, fmax, max_hops, progress)
    perc = _percolation(net, hops, absolute)
    value, dim = _headline(perc)
    failed = sum(h.status == "failed" for h in hops)
    unconverged = sum(h.status == "ok" and h.converged is False for h in hops)
    return BarrierResult(
        source=source, formula=host.composition.reduced_formula, ion=element, mechanism=mech,
        mechanism_reason=reason, method="neb", model=m.name, supercell=cells.matrix.tolist(), supercell_atoms=len(cells.host),
        min_image_A=min_image_A, compensate=compensate,
        sites=[_site_dict(s) for s in sites], hops=hops, percolation_eV=perc, barrier_eV=value, dimension=dim,
        failed_hops=failed, unconverged_hops=unconverged, n_images=n_images, fmax_eV_per_A=fmax,
        host_relaxed=host_relaxed, elapsed_s=time.perf_counter() - t0,
        notes=_notes(element, sites, hops, failed, unconverged, fmax, max_hops, value),
        cutoff_A=float(net.cutoff_A), network_dimension=int(net.dimension), dropped_hops=list(net.dropped_hops),
    )


def _checked_options(method: str, mechanism: str, compensate: str | None) -> str | None:
    """Reject an unknown method, mechanism or compensation; ``"none"`` compensation becomes ``None``."""
    if method not in METHODS:
        raise InputError("method", f"unknown method {method!r} (choose {', '.join(METHODS)})")
    if mechanism not in MECHANISMS:
        raise InputError("mechanism", f"unknown mechanism {mechanism!r} (choose {', '.join(MECHANISMS)})")
    if compensate not in (None, "none", "schottky"):
        raise InputError("compensate", f"unknown compensation {compensate!r} (choose none or schottky)")
    return None if compensate == "none" else compensate


def _read_structure(structure: Structure | str | Path, source: str | None) -> tuple[Structure, str | None]:
    """The structure (read and validated unless it is a Structure already) and the source the result names."""
    from dsei.structures.validate import prepare

    struct = structure if isinstance(structure, Structure) else prepare(structure)
    source = source or (struct.properties or {}).get("source") or (None if isinstance(structure, Structure) else str(structure))
    return struct, source


def _bvse_barrier(struct: Structure, element: str, mech: str, reason: str, source: str | None) -> BarrierResult:
    """``method="bvse"``: the bond-valence site-energy pre-screen as a :class:`BarrierResult` (no hops)."""
    from dsei.transport.bvse import bvse

    b = bvse(struct, element, source=source)
    return BarrierResult(
        source=source, formula=b.formula, ion=element, mechanism=mech, mechanism_reason=reason, method="bvse",
        percolation_eV=b.percolation_eV, barrier_eV=b.barrier_eV, dimension=b.dimension, elapsed_s=b.elapsed_s,
        notes=["BVSE (bond-valence site energy) pre-screen: a ranking tool, tenths of an eV from NEB/DFT"],
    )


def _md_barrier(struct: Structure, element: str, mech: str, reason: str, m: Model, md_options: dict[str, Any] | None,
                source: str | None, progress, t0: float) -> BarrierResult:
    """``method="md"``: the Arrhenius activation energy of MLIP MD as a :class:`BarrierResult` (``md`` holds the run)."""
    from dsei.transport.md import md_diffusion

    opts = dict(md_options or {})
    if mech == "vacancy":
        # a stoichiometric cell has no carriers: one vacancy (neutral Li removed, seeded choice)
        opts.setdefault("vacancies", 1)
    r = md_diffusion(struct, ion=element, model=m, source=source, progress=progress, **opts)
    return BarrierResult(
        source=source, formula=struct.composition.reduced_formula, ion=element, mechanism=mech,
        mechanism_reason=reason, method="md", model=m.name, barrier_eV=r.activation_energy_eV, dimension=None,
        elapsed_s=time.perf_counter() - t0, md=r.to_json_dict(),
        notes=["barrier_eV = Arrhenius activation energy of the tracer diffusivity from MLIP MD"],
    )


def _primitive_host(struct: Structure, m: Model, relax_host: bool) -> tuple[Structure, bool]:
    """The host relaxed with the model (unless ``relax_host`` is false), reduced to its primitive cell."""
    host = struct
    host_relaxed = False
    if relax_host:
        from dsei.relax import relax

        host = relax(struct, m, fmax=0.01).structure
        host_relaxed = True
    # the primitive cell: sites and hops are enumerated in it and the defect supercell is searched over all
    # of its sublattices (a conventional cell would restrict the search to larger supercells)
    return host.get_primitive_structure(), host_relaxed


def _migration_sites(host: Structure, element: str, mech: str, m: Model, energy_window_eV: float, min_image_A: float,
                     source: str | None) -> list:
    """The ion's own sites (vacancy) or its MLIP-relaxed voids within the energy window (interstitial)."""
    from dsei.transport.sites import interstitial_sites, vacancy_sites

    if mech == "vacancy":
        return vacancy_sites(host, element)
    sites = interstitial_sites(host, element, m, energy_window_eV=energy_window_eV, min_image_A=min_image_A)
    if not sites:
        raise CalculationError(f"{source or host.composition.reduced_formula}: no interstitial sites found for {element}")
    return sites


def _hop_network(host: Structure, element: str, mech: str, sites: list, cutoff_A: float | None, source: str | None):
    """The site network and its symmetry-distinct hops (CalculationError when there is no hop)."""
    from dsei.transport.paths import site_network

    net = site_network(host, element, mech, sites, cutoff_A=cutoff_A)
    if not net.hops:
        raise CalculationError(f"{source or host.composition.reduced_formula}: no {element} hops found between sites (cutoff {cutoff_A} Å)")
    return net


@dataclass
class _DefectCells:
    """The NEB supercell: its matrix on the host cell, the host supercell, and the network structure in it."""

    matrix: np.ndarray
    host: Structure  # host supercell: interstitial end points add the ion to it
    network: Structure  # the ion on every site: vacancy end points remove from it

    @classmethod
    def build(cls, host: Structure, net, min_image_A: float) -> _DefectCells:
        """The fewest-atom supercell whose periodic images of the moving ion are ``min_image_A`` apart."""
        from dsei.transport.supercell import supercell_matrix

        matrix = np.asarray(supercell_matrix(host, min_image_A=min_image_A), int)
        sc_host = host.copy()
        sc_host.make_supercell(matrix)
        sc_net = net.structure.copy()
        sc_net.make_supercell(matrix)
        return cls(matrix, sc_host, sc_net)

    def endpoints(self, hop, mech: str, element: str, compensate: str | None):
        """Start, end and info of ``hop`` (host-cell fractions) in this supercell (:mod:`.endpoints`)."""
        from dsei.transport.endpoints import interstitial_endpoints, vacancy_endpoints

        fs = _to_supercell_frac(hop.start_frac, self.matrix)
        fe = _to_supercell_frac(hop.end_frac, self.matrix)
        if mech == "vacancy":
            return vacancy_endpoints(self.network, fs, fe, element, compensate=compensate)
        return interstitial_endpoints(self.host, fs, fe, element)


def _neb_hops(net, cells: _DefectCells, mech: str, element: str, m: Model, compensate: str | None, n_images: int,
              fmax: float, max_hops: int, progress) -> tuple[list[HopResult], dict[int, tuple[float, float, float]]]:
    """NEB of the ``max_hops`` shortest distinct hops (the rest ``not_computed``): one result per hop, in hop order,
    and the absolute (E_start, E_end, E_saddle) in eV of each hop that gave a barrier."""
    order = sorted(range(len(net.hops)), key=lambda i: net.hops[i].distance_A)
    hop_results: dict[int, HopResult] = {}
    absolute: dict[int, tuple[float, float, float]] = {}
    for rank, i in enumerate(order):
        hop = net.hops[i]
        if rank >= max_hops:
            hop_results[i] = HopResult(**_hop_fields(hop), status="not_computed", error=f"beyond max_hops={max_hops}")
            continue
        if progress:
            progress(rank, min(len(order), max_hops), hop)
        hop_results[i], energies = _neb_hop(hop, cells, mech, element, m, compensate, n_images, fmax)
        if energies is not None:
            absolute[i] = energies
    return [hop_results[i] for i in range(len(net.hops))], absolute


def _hop_fields(hop) -> dict[str, Any]:
    """The geometry of a hop as :class:`HopResult` fields."""
    return dict(index=hop.index, label=hop.label, start_frac=[float(x) for x in hop.start_frac],
                end_frac=[float(x) for x in hop.end_frac], distance_A=float(hop.distance_A), multiplicity=int(hop.multiplicity))


def _neb_hop(hop, cells: _DefectCells, mech: str, element: str, m: Model, compensate: str | None, n_images: int,
             fmax: float) -> tuple[HopResult, tuple[float, float, float] | None]:
    """End points and CI-NEB of one hop; a failure gives a ``failed`` result (and no energies), never an exception."""
    # imported per call, not at module level: tests inject faults by patching dsei.transport.neb.neb
    from dsei.transport.neb import neb

    base = _hop_fields(hop)
    th = time.perf_counter()
    try:
        start, end, info = cells.endpoints(hop, mech, element, compensate)
        r = neb(start, end, m, n_images=n_images, fmax=fmax)
    except DseiError as exc:
        return HopResult(**base, status="failed", error=str(exc), elapsed_s=time.perf_counter() - th), None
    except Exception as exc:  # noqa: BLE001 - one failing hop never stops the others
        msg = " ".join(str(exc).split())[:300] or type(exc).__name__
        return HopResult(**base, status="failed", error=f"{type(exc).__name__}: {msg}", elapsed_s=time.perf_counter() - th), None
    if r.error or r.barrier_eV is None or len(r.endpoint_energies_eV) != 2:
        # neb() reports its own failures (end points or band) as a result with ``error``, not an exception
        return HopResult(**base, status="failed", error=r.error or "NEB gave no barrier", elapsed_s=time.perf_counter() - th), None
    e_start, e_end = (float(x) for x in r.endpoint_energies_eV)
    result = HopResult(
        **base, barrier_eV=float(r.barrier_eV), reverse_barrier_eV=float(r.reverse_barrier_eV),
        converged=bool(r.converged), profile_eV=[float(x) for x in r.profile_eV],
        reaction_coordinate_A=[float(x) for x in r.reaction_coordinate_A], steps=int(r.steps),
        max_force_eV_per_A=float(r.max_force_eV_per_A), elapsed_s=time.perf_counter() - th,
        endpoints={k: v for k, v in (info or {}).items() if isinstance(v, (int, float, str, list, dict, type(None)))},
    )
    return result, (e_start, e_end, e_start + float(r.barrier_eV))


def _percolation(net, hops: list[HopResult], absolute: dict[int, tuple[float, float, float]]) -> dict[str, float | None]:
    """Saddle energies relative to the lowest end point of all computed hops (set on ``hops``), and the 1D/2D/3D
    percolation energies of the network whose edges carry them."""
    from dsei.transport.percolation import percolation_barriers

    if not absolute:
        return {"1D": None, "2D": None, "3D": None}
    e_ref = min(min(a[0], a[1]) for a in absolute.values())
    for i, (_, _, sad) in absolute.items():
        hops[i].saddle_eV = sad - e_ref
    edges = [(a, b, tuple(img), absolute[h][2] - e_ref) for a, b, img, h in net.edges if h in absolute]
    return percolation_barriers(net.n_nodes, edges) if edges else {"1D": None, "2D": None, "3D": None}


def _notes(element: str, sites: list, hops: list[HopResult], failed: int, unconverged: int, fmax: float, max_hops: int,
           value: float | None) -> list[str]:
    """What the reader of a NEB result must know: a rebuilt host, failed, unconverged or skipped hops, no percolation."""
    notes: list[str] = []
    moved = max((getattr(s, "max_host_displacement_A", None) or 0.0) for s in sites)
    if moved > 0.8:
        notes.append(
            f"inserting {element} displaces host atoms by up to {moved:.2f} Å: the interstitial sites describe a locally "
            "rebuilt host (ion exchange or knock-out), and hop barriers may include collective host motion"
        )
    if failed:
        notes.append(f"{failed} hop(s) failed and were left out of the percolation network")
    if unconverged:
        notes.append(f"{unconverged} hop(s) did not converge to fmax {fmax} eV/Å: their barriers are estimates")
    if any(h.status == "not_computed" for h in hops):
        notes.append(f"only the {max_hops} shortest distinct hops were computed (max_hops)")
    if value is None:
        notes.append("the computed hops do not percolate in any dimension")
    return notes


def _site_dict(site) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    d = asdict(site) if is_dataclass(site) else dict(site)
    d.pop("orbit", None)  # all equivalent positions: multiplicity says how many
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def plot_profiles(result: BarrierResult, path: str | Path) -> Path:
    """Energy profile of every computed hop (eV vs reaction coordinate, Å) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for h in result.hops:
        if h.status != "ok" or not h.profile_eV:
            continue
        x = h.reaction_coordinate_A or list(range(len(h.profile_eV)))
        style = "-o" if h.converged else "--o"
        ax.plot(x, h.profile_eV, style, ms=3, label=f"hop {h.index} {h.label} ({h.distance_A:.2f} Å): {h.barrier_eV:.2f} eV")
    ax.set_xlabel("reaction coordinate (Å)")
    ax.set_ylabel("energy relative to start (eV)")
    head = f"{result.barrier_eV:.2f} eV ({result.dimension})" if result.barrier_eV is not None else "no percolation"
    ax.set_title(f"{result.formula}: {result.ion} {result.mechanism}, {result.model} — {head}", fontsize=9)
    if ax.lines:
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise InputError(path, f"cannot write plot ({exc.strerror or exc})") from exc
    finally:
        plt.close(fig)
    return path
