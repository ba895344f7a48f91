"""``dsei screen``: candidates through the funnel into a store, a ranked table and a report.

Defaults: the built-in library's ground-state phases that can form an SEI (roles native, conversion,
alloy), every stage whose module is available, each stage on the default model of the property it computes
(the models ``dsei elastic``, ``dsei stability`` and ``dsei barrier`` use; ``dsei models`` lists them), results
in ``./dsei-results/``. ``--model`` (or ``model`` in the config) puts every stage on one model. Thresholds and
stage options come from CLI options or a TOML file (``--config``)::

    workers = 2
    stages = ["validate", "relax", "elastic"]
    [relax]
    fmax = 0.01
    steps = 300
    [elastic]
    model = "sevennet-l3i5"   # one stage's model (without --model or a top-level model)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsei.campaign.executors import make_executor
from dsei.campaign.pipeline import (
    CampaignRun,
    Candidate,
    Pipeline,
    default_stages,
    make_candidate,
    unique_ids,
)
from dsei.campaign.store import ResultStore
from dsei.errors import DseiError, InputError
from dsei.structures.io import detect_format, read_structure

SCREEN_ROLES = ("native", "conversion", "alloy")
STRUCTURE_SUFFIXES = (".cif", ".vasp", ".poscar", ".extxyz", ".json")


@dataclass
class ScreenResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    run: CampaignRun
    read_failures: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


def load_config(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "config file not found")
    try:
        return tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(p, f"invalid TOML: {exc}") from exc


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["neb.max_bvse_eV=0.8", "relax.fmax=0.02"]`` → ``{"neb": {"max_bvse_eV": 0.8}, ...}`` (values read as TOML:
    numbers, booleans, quoted strings, lists; a bare word is a string)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        stage, dot, name = key.strip().partition(".")
        if not sep or not dot or not stage or not name:
            raise InputError("--set", f"expected STAGE.KEY=VALUE, got {item!r}")
        from dsei.campaign.stages import STAGES

        if stage.strip() not in STAGES:
            raise InputError("--set", f"unknown stage {stage.strip()!r} in {item!r} (known: {', '.join(STAGES)})")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out.setdefault(stage.strip(), {})[name.strip()] = value
    return out


def library_candidates(all_polymorphs: bool = False) -> list[Candidate]:
    from dsei.structures.library import get_library

    lib = get_library()
    entries = [e for e in lib if e.role in SCREEN_ROLES and (all_polymorphs or e.ground_state)]
    if not entries:  # index without ground-state flags: one polymorph per formula
        seen: dict[str, Any] = {}
        for e in lib:
            if e.role in SCREEN_ROLES:
                seen.setdefault(e.formula, e)
        entries = list(seen.values())
    return [make_candidate(lib.structure(e.id), candidate_id=e.id, source=f"library:{e.id}") for e in entries]


def file_candidates(inputs: list[str]) -> tuple[list[Candidate], list[dict[str, str]]]:
    """Files and folders (their structure files) → candidates; unreadable ones are reported, not fatal."""
    paths: list[Path] = []
    for spec in inputs:
        p = Path(spec)
        if p.is_dir():
            paths.extend(sorted(q for q in p.rglob("*") if q.is_file() and detect_format(q) is not None))
        else:
            paths.append(p)
    cands, failures = [], []
    for p in paths:
        try:
            s = read_structure(p)
            cands.append(make_candidate(s, candidate_id=p.stem, source=str(p)))
        except DseiError as exc:
            failures.append({"candidate_id": p.stem, "stage": "read", "error_type": type(exc).__name__, "error": str(exc)})
    return unique_ids(cands), failures


def screen(
    inputs: list[str] | None = None,
    out_dir: str | Path = "dsei-results",
    model: str | None = None,
    stages: list[str] | None = None,
    workers: int | None = None,
    dask: Any = None,
    config: str | Path | None = None,
    retry_failed: bool = False,
    all_polymorphs: bool = False,
    progress=None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> ScreenResult:
    """Run (or resume) a campaign; returns the ranked rows. Options given here override the config file."""
    from dsei.models import resolve_device
    from dsei.report.html import write_report
    from dsei.report.tables import rows_from_collected, write_tables

    resolve_device()  # a device setting no model can use (DSEI_DEVICE) stops the run here, not once per candidate
    cfg = load_config(config)
    model = model or cfg.get("model")  # None: each stage on its property's default model
    workers = workers or int(cfg.get("workers", 1))
    stage_names = stages or cfg.get("stages")
    options = {k: dict(v) for k, v in cfg.items() if isinstance(v, dict)}
    for stage, opts in (overrides or {}).items():
        options.setdefault(stage, {}).update(opts)
    out = Path(out_dir)
    if inputs:
        cands, read_failures = file_candidates(inputs)
    else:
        cands, read_failures = library_candidates(all_polymorphs), []
    pipeline_stages = default_stages(model, options, stage_names)
    models = {s.name: s.model for s in pipeline_stages}
    store = ResultStore(out / "results.sqlite")
    try:
        with make_executor(workers, dask) as executor:
            pipe = Pipeline(pipeline_stages, store, executor)
            run = pipe.run(cands, retry_failed=retry_failed, progress=progress)
        collected = pipe.collect(cands)
    finally:
        store.close()
    rows = rows_from_collected(collected)
    files = write_tables(rows, out)
    details = {item["candidate"].candidate_id: {**item["results"], **({"failures": item["failures"]} if item["failures"] else {})} for item in collected}
    meta = {
        "model": ", ".join(f"{n}: {m}" for n, m in models.items()) if len(set(models.values())) > 1 else next(iter(models.values()), model),
        "stages": ", ".join(s.name + (f" (skipped: {r.skipped_reason})" if r.skipped_reason else "") for s, r in zip(pipe.stages, run.stages, strict=True)),
        "candidates": len(cands),
        "failures": len(run.failures) + len(read_failures),
    }
    files["report"] = str(write_report(rows, details, out / "report.html", meta))
    run.failures = read_failures + run.failures
    return ScreenResult(out, rows, run, read_failures, files)
