"""Flatten campaign results into one row per candidate, one column per headline quantity (units in names).

Column extraction is declarative (:data:`COLUMNS`): stage name + key in that stage's JSON result. A stage
that did not run for a candidate leaves its columns empty; a failure is named in ``failed_stage`` /
``failure``. Ranking: ductile and conducting first (verdict, then Pugh ratio descending, then barrier); failures
are flagged in their row, and candidates with no verdict come last.
"""

from __future__ import annotations

from typing import Any

#: (column, stage, key in that stage's result)
COLUMNS: list[tuple[str, str, str]] = [
    ("spacegroup", "validate", "spacegroup"),
    ("nsites", "validate", "nsites"),
    ("energy_per_atom_eV", "relax", "energy_per_atom_eV"),
    ("relax_converged", "relax", "converged"),
    ("volume_change_pct", "relax", "volume_change_pct"),
    ("K_vrh_GPa", "elastic", "K_vrh_GPa"),
    ("G_vrh_GPa", "elastic", "G_vrh_GPa"),
    ("E_GPa", "elastic", "E_GPa"),
    ("poisson", "elastic", "poisson"),
    ("pugh_ratio", "elastic", "pugh_ratio"),
    ("cauchy_pressure_GPa", "elastic", "cauchy_pressure_GPa"),
    ("born_stable", "elastic", "born_stable"),
    ("verdict", "elastic", "verdict"),
    # calibrated probability that DFT puts B/G >= 1.75 (empty for models without a confidence fit: docs/mechanics.md)
    ("p_ductile", "elastic", "p_ductile"),
    ("bvse_barrier_eV", "bvse", "barrier_eV"),
    ("neb_barrier_eV", "neb", "barrier_eV"),
    ("reduction_potential_V", "stability", "reduction_potential_V"),
    ("stable_at_0V", "stability", "stable_at_0V"),
    # which model produced each stage's numbers (stages may run on different models, docs/campaign.md)
    ("relax_model", "relax", "model"),
    ("elastic_model", "elastic", "model"),
    ("stability_model", "stability", "model"),
    ("neb_model", "neb", "model"),
]

VERDICT_ORDER = {"ductile": 0, "uncertain": 1, "brittle": 2, "unstable": 3, None: 4}


def rows_from_collected(collected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in collected:
        c = item["candidate"]
        row: dict[str, Any] = {"candidate_id": c.candidate_id, "formula": c.formula, "source": c.source, "fingerprint": c.fingerprint}
        for col, stage, key in COLUMNS:
            res = item["results"].get(stage)
            row[col] = res.get(key) if isinstance(res, dict) else None
        row["barrier_eV"] = headline_barrier(row)
        fails = item["failures"]
        row["failed_stage"] = next(iter(fails), None)
        row["failure"] = fails[row["failed_stage"]] if fails else None
        rows.append(row)
    return rank(rows)


def headline_barrier(row: dict[str, Any]) -> float | None:
    """The Li barrier a row is judged by (eV): NEB when computed, else the BVSE pre-screen."""
    return row.get("neb_barrier_eV") if row.get("neb_barrier_eV") is not None else row.get("bvse_barrier_eV")


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(r):
        pugh = r.get("pugh_ratio")
        barrier = r.get("barrier_eV")
        # a failure in a later, optional stage (e.g. BVSE cannot assign oxidation states) does not demote
        # a phase that has a verdict; candidates without a verdict sink below all that have one
        return (
            VERDICT_ORDER.get(r.get("verdict"), 4),
            r.get("failed_stage") == "read",  # files that could not be read come last
            -(pugh if pugh is not None else -1.0),
            barrier if barrier is not None else float("inf"),
            r["candidate_id"],
        )

    ranked = sorted(rows, key=key)
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
    return ranked


def write_tables(rows: list[dict[str, Any]], out_dir) -> dict[str, str]:
    """``results.csv`` and ``results.parquet`` in ``out_dir``; returns their paths."""
    from pathlib import Path

    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cols = ["rank", "candidate_id", "formula"] + [c for c in (rows[0].keys() if rows else []) if c not in ("rank", "candidate_id", "formula")]
    df = pd.DataFrame(rows, columns=cols or None)
    csv, pq = out / "results.csv", out / "results.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(pq, index=False)
    return {"csv": str(csv), "parquet": str(pq)}
