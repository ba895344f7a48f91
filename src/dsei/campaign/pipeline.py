"""The campaign pipeline: candidates → stages (cheap to expensive) → result store → table and report.

For each stage in cost order, the candidates whose required upstream stages succeeded *and* passed the
upstream filters get a task, unless the store already holds that (fingerprint, stage, model, settings)
result. Results are written to the store as they finish. A failing candidate is recorded with its error
and the campaign goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymatgen.core import Structure

from dsei.campaign.executors import Executor, InProcessExecutor, Outcome, Task
from dsei.campaign.stages import STAGES, Candidate, Stage, build_stage
from dsei.campaign.store import ResultStore, result_key
from dsei.structures.fingerprint import fingerprint


def make_candidate(struct: Structure, candidate_id: str | None = None, source: str | None = None) -> Candidate:
    source = source or (struct.properties or {}).get("source") or struct.composition.reduced_formula
    fp = fingerprint(struct)
    return Candidate(
        candidate_id=candidate_id or Path(str(source)).stem.replace("library:", ""),
        fingerprint=fp,
        formula=struct.composition.reduced_formula,
        source=str(source),
        structure=struct.as_dict(),
    )


def unique_ids(cands: list[Candidate]) -> list[Candidate]:
    """Make candidate ids unique (two files called POSCAR in different folders, say)."""
    seen: dict[str, int] = {}
    for c in cands:
        n = seen.get(c.candidate_id, 0)
        seen[c.candidate_id] = n + 1
        if n:
            c.candidate_id = f"{c.candidate_id}~{n}"
    return cands


@dataclass
class StageSummary:
    stage: str
    computed: int = 0
    reused: int = 0
    failed: int = 0
    filtered_out: int = 0
    elapsed_s: float = 0.0


@dataclass
class CampaignRun:
    """What a run did, stage by stage, plus the failures with reasons."""

    stages: list[StageSummary] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0


class Pipeline:
    """Stages in cost order over a store. ``progress`` gets (stage, done, total) callbacks."""

    def __init__(self, stages: Sequence[Stage], store: ResultStore, executor: Executor | None = None):
        names = {s.name for s in stages}
        for s in stages:
            missing = [r for r in s.requires if r not in names]
            if missing:
                raise ValueError(f"stage {s.name} needs stage(s) {', '.join(missing)}")
        self.stages = _order(stages)
        self.store = store
        self.executor = executor or InProcessExecutor()

    def chunk_size(self, stage: Stage, total: int) -> int:
        """Candidates per job: the stage's batch size, but small enough to keep every worker busy."""
        workers = max(1, getattr(self.executor, "workers", 1))
        return max(1, min(int(stage.options.get("chunk", stage.chunk)), -(-total // workers)))

    def key(self, cand: Candidate, stage: Stage) -> str:
        return result_key(cand.fingerprint, stage.name, stage.model, stage.settings())

    def upstream_of(self, cand: Candidate, stage: Stage) -> dict[str, dict[str, Any]] | None:
        """Results of the required stages, or None when one is missing, failed or filtered the candidate out."""
        by_name = {s.name: s for s in self.stages}
        up: dict[str, dict[str, Any]] = {}
        for req in self._closure(stage, by_name):
            rec = self.store.get(self.key(cand, by_name[req]))
            if rec is None or rec.status != "ok" or rec.result is None or not by_name[req].accept(rec.result):
                return None
            up[req] = rec.result
        return up

    def _closure(self, stage: Stage, by_name: dict[str, Stage]) -> list[str]:
        out: list[str] = []
        todo = list(stage.requires)
        while todo:
            r = todo.pop()
            if r not in out:
                out.append(r)
                todo.extend(by_name[r].requires)
        return out

    def run(
        self,
        candidates: Sequence[Candidate],
        retry_failed: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> CampaignRun:
        t0 = time.perf_counter()
        run = CampaignRun()
        for c in candidates:
            self.store.add_candidate(c.candidate_id, c.fingerprint, c.formula, c.source, c.structure)
        for stage in self.stages:
            summary = StageSummary(stage.name)
            run.stages.append(summary)
            ts = time.perf_counter()
            admitted: list[tuple[Candidate, dict[str, dict[str, Any]]]] = []
            for c in candidates:
                try:
                    up = self.upstream_of(c, stage)
                    ok = up is not None and stage.admit(up)[0]
                except Exception as exc:  # noqa: BLE001 - a candidate whose upstream data breaks the filter fails alone
                    self._save(_failed(self.key(c, stage), stage.name, c.candidate_id, exc), stage, c.fingerprint)
                    summary.failed += 1
                    continue
                if not ok:
                    summary.filtered_out += 1
                    continue
                admitted.append((c, up))
            limit = stage.options.get("max_candidates")
            if limit is not None and len(admitted) > int(limit):
                admitted.sort(key=lambda cu: stage.priority(cu[1]))
                summary.filtered_out += len(admitted) - int(limit)
                admitted = admitted[: int(limit)]
            tasks: list[Task] = []
            for c, up in admitted:
                key = self.key(c, stage)
                if self.store.has(key, retry_failed=retry_failed):
                    summary.reused += 1
                    continue
                tasks.append(Task(key, stage.name, stage.model, stage.options, c.__dict__.copy(), up))
            total = len(tasks)
            if progress:
                progress(stage.name, 0, total)
            fp_of = {c.candidate_id: c.fingerprint for c in candidates}
            jobs = _chunks(tasks, self.chunk_size(stage, total))
            done = 0
            for outs in self.executor.map_unordered(jobs):
                for out in outs:
                    self._save(out, stage, fp_of[out.candidate_id])
                    if out.status == "ok":
                        summary.computed += 1
                    else:
                        summary.failed += 1
                done += len(outs)
                if progress:
                    progress(stage.name, done, total)
            summary.elapsed_s = time.perf_counter() - ts
        for rec in self.store.records():
            if rec.status == "failed" and rec.stage in {s.name for s in self.stages}:
                run.failures.append({"candidate_id": rec.candidate_id, "stage": rec.stage, "error_type": rec.error_type or "", "error": rec.error_message or ""})
        run.elapsed_s = time.perf_counter() - t0
        return run

    def _save(self, out: Outcome, stage: Stage, fp: str) -> None:
        args = (out.key, out.candidate_id, fp, stage.name, stage.model, stage.settings())
        try:
            self.store.put(*args, out.status, out.result, out.error_type, out.error_message, out.elapsed_s)
        except (TypeError, ValueError) as exc:  # a result that cannot be stored (not JSON) is that candidate's failure
            self.store.put(*args, "failed", None, type(exc).__name__, f"result could not be stored: {exc}"[:2000], out.elapsed_s)

    # -- collecting ---------------------------------------------------------------------------------
    def collect(self, candidates: Sequence[Candidate]) -> list[dict[str, Any]]:
        """One dict per candidate: its stage results (or failures) keyed by stage name."""
        rows = []
        for c in candidates:
            row: dict[str, Any] = {"candidate": c, "results": {}, "failures": {}}
            for stage in self.stages:
                rec = self.store.get(self.key(c, stage))
                if rec is None:
                    continue
                if rec.status == "ok":
                    row["results"][stage.name] = rec.result
                else:
                    row["failures"][stage.name] = f"{rec.error_type}: {rec.error_message}"
            rows.append(row)
        return rows


def _failed(key: str, stage: str, candidate_id: str, exc: BaseException) -> Outcome:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return Outcome(key, stage, candidate_id, "failed", None, type(exc).__name__, msg[:2000], 0.0)


def _chunks(tasks: list[Task], size: int) -> list[list[Task]]:
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def _order(stages: Sequence[Stage]) -> list[Stage]:
    """Dependencies first; among stages that are ready, the cheapest first."""
    todo, done, out = list(stages), set(), []
    while todo:
        ready = [s for s in todo if all(r in done for r in s.requires)]
        if not ready:
            raise ValueError("stage dependencies form a cycle: " + ", ".join(s.name for s in todo))
        nxt = min(ready, key=lambda s: s.cost)
        out.append(nxt)
        done.add(nxt.name)
        todo.remove(nxt)
    return out


def resolve_stages(names: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """``names`` plus every stage they need (transitively), as make/snakemake resolve prerequisites; returns
    the full list (asked-for order, each prerequisite inserted before its first dependant) and the
    ``(added, needed_by)`` pairs, so the caller can say what it added. Unknown names raise ``KeyError``."""
    out: list[str] = []
    added: list[tuple[str, str]] = []
    asked = set(names)

    def visit(name: str, by: str | None) -> None:
        if name in out:
            return
        for req in STAGES[name].requires:
            visit(req, name)
        out.append(name)
        if name not in asked and by is not None:
            added.append((name, by))

    for n in names:
        visit(n, None)
    return out, added


def stage_models(names: Sequence[str], model: str | None = None, options: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
    """The model of each stage: ``model`` for all when given (``--model``), else the stage's own ``model``
    option (a config's ``[elastic] model = ...``), else the default of the property the stage computes
    (:attr:`Stage.default_model`: stability SevenNet-MF-0 r2SCAN, elastic sevennet-l3i5-elastic, NEB SevenNet-MF-0
    r2SCAN). The relax stage, unless told otherwise, relaxes with the elastic stage's model when the route has
    one — the elastic stage then reuses that structure instead of relaxing every candidate a second time — and
    else (or when the elastic model is a committee) with the relaxation default (SevenNet-0). Stages that only read the relaxed structure (validate, BVSE)
    take the relax stage's model."""
    options = options or {}

    def chosen(name: str) -> str | None:
        cls = STAGES.get(name)
        return model or options.get(name, {}).get("model") or (cls.default_model if cls is not None else None)

    elastic = chosen("elastic") if "elastic" in names else None
    if elastic is not None and _is_committee(elastic):
        elastic = None  # a committee of models cannot relax one structure: relax on the relaxation default
    relax = model or options.get("relax", {}).get("model") or elastic or chosen("relax")
    return {n: relax if n == "relax" else chosen(n) or relax for n in names}


def _is_committee(model: str) -> bool:
    """``model`` names several models (``committee``, ``committee:A,B``), as :func:`dsei.mechanics.elastic._members`
    reads it; a malformed committee spec counts as one (``check_models`` reports it)."""
    from dsei.mechanics.elastic import _members

    try:
        return len(_members(model)) > 1
    except Exception:  # noqa: BLE001 - reported with its option by dsei.campaign.screen.check_models
        return True


def default_stages(model: str | None, options: dict[str, dict[str, Any]] | None = None, names: Sequence[str] | None = None) -> list[Stage]:
    """The screen's funnel with every stage whose module is present, in cost order; ``model`` None = each
    stage on its property's default model (:func:`stage_models`)."""
    options = options or {}
    chosen = list(names) if names else [n for n, cls in STAGES.items() if cls.default]
    models = stage_models(chosen, model, options)
    return [build_stage(n, models[n], {k: v for k, v in options.get(n, {}).items() if k != "model"}) for n in chosen]
