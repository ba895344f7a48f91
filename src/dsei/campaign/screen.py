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
    resolve_stages,
    unique_ids,
)
from dsei.campaign.store import ResultStore
from dsei.errors import InputError, Interrupted
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
    notes: list[str] = field(default_factory=list)

    @property
    def n_candidates(self) -> int:
        """Every input, the unreadable ones included."""
        return len(self.rows)

    @property
    def n_failed(self) -> int:
        """Inputs with a failure in reading or in any stage."""
        return sum(1 for r in self.rows if r.get("failure"))


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


TOP_LEVEL_KEYS = ("model", "workers", "stages")


def check_config(cfg: dict[str, Any], path: str | Path | None) -> None:
    """Every key of a screen config (``--config``) checked for type and range, whether or not its stage runs:
    top level ``model`` (string), ``workers`` (≥ 1), ``stages`` (known names); one table per stage with that
    stage's options (:func:`dsei.campaign.stages.check_stage_options`)."""
    from dsei.campaign.stages import STAGES, check_stage_options

    where = str(path) if path is not None else "config"
    for key, value in cfg.items():
        if isinstance(value, dict):
            if key not in STAGES:
                raise InputError(f"{where}: [{key}]", f"unknown stage table (known: {', '.join(STAGES)})")
            check_stage_options(key, value, lambda k, key=key: f"{where}: [{key}] {k}")
        elif key == "model":
            if not isinstance(value, str):
                raise InputError(f"{where}: model", f"must be a model name (a string), not {value!r}")
        elif key == "workers":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{where}: workers", f"must be a whole number ≥ 1, not {value!r}")
        elif key == "stages":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"{where}: stages", f"must be a list of stage names, not {value!r}")
            unknown = [v for v in value if v not in STAGES]
            if unknown:
                raise InputError(f"{where}: stages", f"unknown stage(s) {', '.join(unknown)} (known: {', '.join(STAGES)})")
        else:
            raise InputError(f"{where}: {key}", f"unknown setting (top level: {', '.join(TOP_LEVEL_KEYS)}; or a [stage] table)")


def check_overrides(overrides: dict[str, dict[str, Any]]) -> None:
    """``--set STAGE.KEY=VALUE`` options checked like a config's stage tables (type and range, any stage)."""
    from dsei.campaign.stages import check_stage_options

    for stage, opts in overrides.items():
        check_stage_options(stage, opts, lambda k, stage=stage: f"--set {stage}.{k}")


def check_models(stages, sources: dict[str, str]) -> None:
    """Every model the run will use, resolved before any work (without loading weights): an unknown or
    unavailable one is an :class:`InputError` naming where it came from (``--model``, a config key...)."""
    from dsei.models import check_model

    for st in stages:
        names: list[str] = [st.model]
        if st.name == "elastic":
            from dsei.mechanics.elastic import _members

            try:
                names = [n for n in _members(st.model) if isinstance(n, str)]
            except Exception as exc:  # noqa: BLE001 - a malformed committee spec
                raise InputError(sources.get(st.name, "--model"), str(exc)) from exc
        for name in names:
            info = check_model(name)
            if not info.available:
                raise InputError(sources.get(st.name, "--model"), info.reason)


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["neb.max_bvse_eV=0.8", "relax.fmax=0.02"]`` → ``{"neb": {"max_bvse_eV": 0.8}, ...}`` (values read as TOML:
    numbers, booleans, quoted strings, lists; a bare word is a string)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        stage, dot, name = key.strip().partition(".")
        if not sep or not dot or not stage or not name:
            raise InputError("set", f"expected STAGE.KEY=VALUE, got {item!r}")
        from dsei.campaign.stages import STAGES

        if stage.strip() not in STAGES:
            raise InputError("set", f"unknown stage {stage.strip()!r} in {item!r} (known: {', '.join(STAGES)})")
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


def _failure_row(f: dict[str, str]) -> dict[str, Any]:
    from dsei.report.tables import COLUMNS

    row: dict[str, Any] = {"candidate_id": f["candidate_id"], "formula": "", "source": f.get("source", ""), "fingerprint": ""}
    row.update({col: None for col, _, _ in COLUMNS})
    row.update({"barrier_eV": None, "failed_stage": f["stage"], "failure": f"{f['error_type']}: {f['error']}"})
    return row


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
            cands.append(read_candidate(p))
        except Exception as exc:  # noqa: BLE001 - one unreadable file is that file's failure, never the screen's
            failures.append(read_failure(p.stem, str(p), exc))
    return unique_ids(cands), failures


def read_candidate(path: Path) -> Candidate:
    """Read, check (:func:`dsei.structures.validate_structure` without a model: a usable cell, a bulk crystal)
    and fingerprint one file. Checking comes before fingerprinting: spglib crashes the process on a NaN cell."""
    from dsei.structures.validate import validate_structure

    s = read_structure(path)
    validate_structure(s, source=str(path), max_sites=None)
    return make_candidate(s, candidate_id=path.stem, source=str(path))


def read_failure(candidate_id: str, source: str, exc: BaseException) -> dict[str, str]:
    """A failure row for a candidate that could not be read: the error's type and one line."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, InputError):
        msg = f"{source}: {msg}"
    return {"candidate_id": candidate_id, "stage": "read", "error_type": type(exc).__name__, "error": msg[:500], "source": source}


@dataclass
class ScreenPlan:
    """What a screen will run, settled before any work (:func:`plan_screen`)."""

    stages: list[Any]
    workers: int
    notes: list[str] = field(default_factory=list)


def plan_screen(
    model: str | None = None,
    stages: list[str] | None = None,
    workers: int | None = None,
    config: str | Path | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    notify=None,
) -> ScreenPlan:
    """Every option checked before any work: the device, the config and ``--set`` keys (type and range, every
    stage), the stages with their prerequisites added (``notify(line)`` is told; else the line is kept in
    ``notes``), and every model resolved. Raises :class:`InputError` naming the option."""
    from dsei.models import resolve_device

    resolve_device()  # a device setting no model can use (DSEI_DEVICE) stops the run here, not once per candidate
    notes: list[str] = []
    say = notify or notes.append
    cfg = load_config(config)
    check_config(cfg, config)
    check_overrides(overrides or {})
    model_source = "--model" if model else (f"{config}: model" if cfg.get("model") else None)
    model = model or cfg.get("model")  # None: each stage on its property's default model
    workers = workers or int(cfg.get("workers", 1))
    if workers < 1:
        raise InputError("workers", "must be ≥ 1")
    stage_names = stages or cfg.get("stages")
    if stage_names:
        from dsei.campaign.stages import STAGES

        unknown = [n for n in stage_names if n not in STAGES]
        if unknown:
            raise InputError("stages", f"unknown stage(s) {', '.join(unknown)} (known: {', '.join(STAGES)})")
        stage_names, added = resolve_stages(stage_names)
        for name, by in added:
            say(f"note: stage {by} needs stage {name}; added it (stages: {', '.join(stage_names)})")
    options = {k: dict(v) for k, v in cfg.items() if isinstance(v, dict)}
    for stage, opts in (overrides or {}).items():
        options.setdefault(stage, {}).update(opts)
    pipeline_stages = default_stages(model, options, stage_names)
    sources = {}
    for st in pipeline_stages:
        if model_source:
            sources[st.name] = model_source
        elif "model" in (overrides or {}).get(st.name, {}):
            sources[st.name] = f"--set {st.name}.model"
        elif "model" in cfg.get(st.name, {}):
            sources[st.name] = f"{config}: [{st.name}] model"
        else:
            sources[st.name] = f"--model (the default model of stage {st.name})"
    check_models(pipeline_stages, sources)
    return ScreenPlan(pipeline_stages, workers, notes)


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
    notify=None,
    plan: ScreenPlan | None = None,
) -> ScreenResult:
    """Run (or resume) a campaign; returns the ranked rows. Options given here override the config file.

    Before any work: the config and ``overrides`` are checked key by key (type and range, every stage), the
    stages' prerequisites are added (``notify(line)`` is told, else the line goes to ``ScreenResult.notes``) and
    every model is resolved. Then no single candidate can stop the run: a file that cannot be read, checked or
    fingerprinted, or a stage that raises, is that candidate's failure row. Ctrl-C raises
    :class:`~dsei.errors.Interrupted` saying how many results the store keeps."""
    from dsei.report.html import write_report

    plan = plan or plan_screen(model, stages, workers, config, overrides, notify)
    pipeline_stages, workers, notes = plan.stages, plan.workers, plan.notes
    out = Path(out_dir)
    if inputs:
        cands, read_failures = file_candidates(inputs)
        if not cands and not read_failures:
            raise InputError(", ".join(map(str, inputs)), "no structure files found (.cif, POSCAR/CONTCAR/.vasp, .extxyz, .json)")
    else:
        cands, read_failures = library_candidates(all_polymorphs), []
    models = {s.name: s.model for s in pipeline_stages}
    store = ResultStore(out / "results.sqlite")
    pipe = Pipeline(pipeline_stages, store)
    try:
        try:
            with make_executor(workers, dask) as executor:
                pipe.executor = executor
                run = pipe.run(cands, retry_failed=retry_failed, progress=progress)
        except KeyboardInterrupt:
            kept = store.count(status="ok")
            _write_outputs_best_effort(pipe, cands, read_failures, out)
            raise Interrupted(
                f"{kept} finished stage result(s) are kept in {store.path}; rerun the same command to resume "
                "(finished work is not recomputed)"
            ) from None
        except BaseException:
            # an error outside any one candidate's work (the executor, the store, the machine): what finished is
            # already committed to the store; write the tables from it too, then report the error
            _write_outputs_best_effort(pipe, cands, read_failures, out)
            raise
        collected = pipe.collect(cands)
    finally:
        store.close()
    rows, files = _tables(collected, read_failures, out)
    details = {item["candidate"].candidate_id: {**item["results"], **({"failures": item["failures"]} if item["failures"] else {})} for item in collected}
    for f in read_failures:
        details[f["candidate_id"]] = {"failures": {"read": f"{f['error_type']}: {f['error']}"}}
    meta = {
        "model": ", ".join(f"{n}: {m}" for n, m in models.items()) if len(set(models.values())) > 1 else next(iter(models.values()), None),
        "stages": ", ".join(s.name for s in pipe.stages),
        "candidates": len(cands) + len(read_failures),
        "failures": len(run.failures) + len(read_failures),
    }
    files["report"] = str(write_report(rows, details, out / "report.html", meta))
    run.failures = read_failures + run.failures
    return ScreenResult(out, rows, run, read_failures, files, notes)


def _tables(collected, read_failures, out: Path):
    from dsei.report.tables import rank, rows_from_collected, write_tables

    rows = rank(rows_from_collected(collected) + [_failure_row(f) for f in read_failures])
    return rows, write_tables(rows, out)


def _write_outputs_best_effort(pipe: Pipeline, cands, read_failures, out: Path) -> None:
    """The tables of what finished, when a run stops early (Ctrl-C, an executor error)."""
    try:
        _tables(pipe.collect(cands), read_failures, out)
    except BaseException:  # noqa: BLE001 - the store already holds the results; the tables are a convenience
        pass
