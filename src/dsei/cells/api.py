"""``cycle``: read a cycler file and analyse it (the Python API behind ``dsei cycle``)."""

from __future__ import annotations

from pathlib import Path

from dsei.cells.full import FullCellResult, analyse_full
from dsei.cells.halfcycles import HalfCycleAccumulator, HalfCycles
from dsei.cells.readers import open_source
from dsei.cells.symmetric import FailureCriteria, SymmetricResult, analyse_symmetric
from dsei.errors import InputError

CELLS = ("symmetric", "full")


def _positive(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise InputError(name, f"must be > 0, not {value}")


def half_cycles(
    path: str | Path,
    fmt: str | None = None,
    area_cm2: float | None = None,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
) -> tuple[HalfCycles, str]:
    """Stream ``path`` into its half-cycle summary; returns (summary, detected format)."""
    src, batches = open_source(path, fmt, columns, units)
    scale = 1.0
    if "current" not in src.columns.names:  # the file gives current density (mA cm⁻²)
        if not area_cm2:
            raise InputError(path, "the file gives current density only: give the electrode area (--area)")
        scale = area_cm2
    acc = HalfCycleAccumulator(current_scale=scale)
    rows = 0
    for b in batches:
        rows += len(b)
        acc.add(b)
    if rows == 0:
        raise InputError(path, "no data rows (after the header)")
    return acc.finish(), src.fmt


def cycle(
    path: str | Path,
    cell: str = "symmetric",
    area_cm2: float | None = None,
    current_density_mA_cm2: float | None = None,
    areal_capacity_mAh_cm2: float | None = None,
    mass_mg: float | None = None,
    fmt: str | None = None,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    criteria: FailureCriteria | None = None,
    one_c_mA: float | None = None,
    specific_capacity_1C_mAh_g: float = 200.0,
    plot: str | Path | None = None,
) -> SymmetricResult | FullCellResult:
    """Read a cycler file and analyse it as a Li|Li ``symmetric`` cell or a ``full`` cell.

    ``area_cm2`` normalises currents and capacities per cm²; ``current_density_mA_cm2`` and
    ``areal_capacity_mAh_cm2`` are the nominal protocol (checked against the data; the area is
    inferred from the current density when not given). ``mass_mg`` is the active mass of a full
    cell's cathode (capacities in mAh g⁻¹). ``fmt``, ``columns`` and ``units`` steer the readers (see
    :func:`dsei.cells.readers.open_source`); ``criteria`` sets the failure thresholds; ``plot``
    writes a publication-style PNG (:mod:`dsei.cells.plots`).
    """
    if cell not in CELLS:
        raise InputError("cell", f"must be symmetric or full, not {cell!r}")
    for name, val in (("--area", area_cm2), ("--current-density", current_density_mA_cm2),
                      ("--areal-capacity", areal_capacity_mAh_cm2), ("--mass", mass_mg), ("one_c_mA", one_c_mA)):
        _positive(name, val)
    hc, detected = half_cycles(path, fmt, area_cm2, columns, units)
    if cell == "symmetric":
        result = analyse_symmetric(hc, area_cm2, current_density_mA_cm2, areal_capacity_mAh_cm2, criteria, source=str(path), fmt=detected)
    else:
        result = analyse_full(hc, mass_mg=mass_mg, area_cm2=area_cm2, one_c_mA=one_c_mA,
                              specific_capacity_1C_mAh_g=specific_capacity_1C_mAh_g, source=str(path), fmt=detected)
    if plot is not None:
        from dsei.cells.plots import plot_result

        plot_result(result, hc, plot)
    return result
