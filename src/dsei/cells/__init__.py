"""Cycling data that validates an SEI design: readers, Li|Li symmetric and full-cell analysis, plots.

Python API::

    from dsei.cells import cycle
    r = cycle("LiLi_15mA.mpr", cell="symmetric", area_cm2=0.785)
    r.lifetime_h, r.failure.kind, r.overpotential_mV["median"]
    f = cycle("NCM811.csv", cell="full", mass_mg=12.0)
    f.retention_pct, f.rate_table

Everything streams: the record is read in column batches (pyarrow for text, galvani for ``.mpr``,
openpyxl read-only for ``.xlsx``) and reduced on the fly to half-cycles (see
:mod:`dsei.cells.halfcycles`), so memory stays bounded for records of millions of rows.
"""

from __future__ import annotations

# Lazy: ``dsei --help`` imports dsei.cells.cli, which must not pull numpy/pydantic in.
_LAZY = {
    "cycle": "dsei.cells.api",
    "half_cycles": "dsei.cells.api",
    "CELLS": "dsei.cells.api",
    "read_record": "dsei.cells.readers",
    "open_source": "dsei.cells.readers",
    "FORMATS": "dsei.cells.readers",
    "HalfCycles": "dsei.cells.halfcycles",
    "HalfCycleAccumulator": "dsei.cells.halfcycles",
    "FailureCriteria": "dsei.cells.symmetric",
    "FailureInfo": "dsei.cells.symmetric",
    "SymmetricResult": "dsei.cells.symmetric",
    "analyse_symmetric": "dsei.cells.symmetric",
    "critical_current_density": "dsei.cells.symmetric",
    "FullCellResult": "dsei.cells.full",
    "analyse_full": "dsei.cells.full",
    "plot_result": "dsei.cells.plots",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dsei.cells' has no attribute {name!r}")
