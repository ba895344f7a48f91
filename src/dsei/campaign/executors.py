"""Executors: where stage tasks run. In-process, a local process pool, or a Dask cluster.

All three take the same picklable job — a short list of :class:`Task` (one stage on a few candidates; see
:attr:`dsei.campaign.stages.Stage.chunk`) run by :func:`execute_tasks` — and yield each job's outcomes *as
it finishes*, so the pipeline writes them to the store at once (never at the end; a SIGKILL loses at most
the jobs in flight). Chunking lets a stage batch several candidates into the same forward passes (the
elastic stage: :func:`dsei.mechanics.elastic_many`) and keeps per-task overhead small on a cluster.
A worker process loads each model once (``load_model`` caches per process) and is kept for the whole
campaign.
"""

from __future__ import annotations

import abc
import os
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any


@dataclass
class Task:
    """One stage on one candidate; plain data only (it crosses process and network boundaries)."""

    key: str
    stage: str
    model: str
    options: dict[str, Any]
    candidate: dict[str, Any]
    upstream: dict[str, dict[str, Any]]


@dataclass
class Outcome:
    key: str
    stage: str
    candidate_id: str
    status: str  # ok | failed
    result: dict[str, Any] | None
    error_type: str | None
    error_message: str | None
    elapsed_s: float


def execute_task(task: Task) -> Outcome:
    """Run one stage on one candidate. Never raises: a failure becomes an ``Outcome`` with the reason."""
    from dsei.campaign.stages import Candidate, build_stage

    t0 = time.perf_counter()
    try:
        cand = Candidate(**task.candidate)
        stage = build_stage(task.stage, task.model, task.options)
        result = stage.run(cand, task.upstream)
        return Outcome(task.key, task.stage, cand.candidate_id, "ok", result, None, None, time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - failure isolation: one structure never stops the rest
        msg = " ".join(str(exc).split()) or type(exc).__name__
        if os.environ.get("DSEI_DEBUG") == "1":
            msg += " | " + " ".join(traceback.format_exc().split())[-2000:]
        cid = str(task.candidate.get("candidate_id", "?")) if isinstance(task.candidate, dict) else "?"
        return Outcome(task.key, task.stage, cid, "failed", None, type(exc).__name__, msg[:2000], time.perf_counter() - t0)


def execute_tasks(tasks: list[Task]) -> list[Outcome]:
    """Run a job (tasks of one stage). The stage may batch them (``Stage.run_many``); a failure of the
    batch falls back to one task at a time, so one bad candidate never takes the others down."""
    from dsei.campaign.stages import Candidate, build_stage

    if len(tasks) == 1:
        return [execute_task(tasks[0])]
    t0 = time.perf_counter()
    try:
        stage = build_stage(tasks[0].stage, tasks[0].model, tasks[0].options)
        cands = [Candidate(**t.candidate) for t in tasks]
        results = stage.run_many(cands, [t.upstream for t in tasks])
        per = (time.perf_counter() - t0) / len(tasks)
        return [Outcome(t.key, t.stage, t.candidate["candidate_id"], "ok", r, None, None, per) for t, r in zip(tasks, results, strict=True)]
    except Exception:  # noqa: BLE001 - isolate the failing candidate by running them one by one
        return [execute_task(t) for t in tasks]


def _died(task: Task) -> Outcome:
    cid = str(task.candidate.get("candidate_id", "?"))
    return Outcome(task.key, task.stage, cid, "failed", None, "WorkerDied",
                   "the worker process died while computing this candidate (a crash in a native library or out of memory)", 0.0)


class Executor(abc.ABC):
    name = "base"

    @abc.abstractmethod
    def map_unordered(self, jobs: Iterable[list[Task]]) -> Iterator[list[Outcome]]:
        """Run the jobs; yield each job's outcomes as soon as it is finished (any order)."""

    def close(self) -> None:  # noqa: B027 - optional hook: executors holding resources override it
        """Release workers/clients (nothing to release for the in-process executor)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class InProcessExecutor(Executor):
    """Runs tasks one after another in this process (small runs, debugging)."""

    name = "in-process"

    def map_unordered(self, jobs):
        for job in jobs:
            yield execute_tasks(job)


def _worker_init(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from dsei._warnings import quiet_process

    quiet_process()  # library noise off in workers; deprecations still follow the default filters
    import torch

    torch.set_num_threads(threads)


class PoolExecutor(Executor):
    """A local process pool (``--workers N``); each worker gets cores // N torch threads."""

    name = "process-pool"

    def __init__(self, workers: int, runner=None):
        self.workers = workers
        #: what a worker runs on one job (a picklable, module-level function; tests inject faults here)
        self.runner = runner or execute_tasks
        self.pool = self._new_pool()

    def _new_pool(self):
        import multiprocessing as mp

        threads = max(1, (os.cpu_count() or 1) // self.workers)
        # spawn, not fork: forking a process that already initialised torch threads can deadlock.
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"), initializer=_worker_init, initargs=(threads,))

    def map_unordered(self, jobs):
        """Jobs stream through the pool. A worker that dies (a crash in a native library, the OOM killer) breaks
        the whole pool and every job in flight with it: the pool is rebuilt, the jobs that were in flight are
        retried one per pool round, and a job in flight at two breakages becomes failed outcomes for its
        candidates (``WorkerDied``), so one crashing structure never stops the campaign."""
        from concurrent.futures.process import BrokenProcessPool

        pending: dict[Any, tuple[list[Task], int]] = {}
        retry: list[tuple[list[Task], int]] = []
        it = iter(jobs)
        exhausted = False

        def lost(job, tries):
            """A job in flight when the pool broke: retried alone once; lost twice, its candidates failed."""
            if tries >= 1:
                return [_died(t) for t in job]
            retry.append((job, tries + 1))
            return None

        while True:
            if retry:  # after a breakage: one job at a time, so the one that kills a worker is found
                if not pending:
                    job, tries = retry.pop(0)
                    pending[self.pool.submit(self.runner, job)] = (job, tries)
            else:  # keep the queue short so results stream and memory stays bounded
                while not exhausted and len(pending) < 2 * self.workers:
                    nxt = next(it, None)
                    if nxt is None:
                        exhausted = True
                    else:
                        pending[self.pool.submit(self.runner, nxt)] = (nxt, 0)
            if not pending:
                break
            done, _ = wait(set(pending), return_when=FIRST_COMPLETED)
            broken = False
            for f in done:
                job, tries = pending.pop(f)
                try:
                    out = f.result()
                except BrokenProcessPool:
                    broken = True
                    out = lost(job, tries)
                if out is not None:
                    yield out
            if broken:
                for f, (job, tries) in list(pending.items()):
                    del pending[f]
                    out = lost(job, tries)
                    if out is not None:
                        yield out
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = self._new_pool()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """Dask distributed: ``address`` is a scheduler (``tcp://host:8786``) or a ``distributed.LocalCluster``."""

    name = "dask"

    def __init__(self, address: Any):
        from dsei.extras import require

        Client = require("distributed", "dask", "dask", "running on a Dask scheduler").Client
        self.client = Client(address)
        self.address = str(address)
        self.client.run(_worker_init, 1)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def map_unordered(self, jobs):
        from distributed import as_completed

        futures = [self.client.submit(execute_tasks, job, pure=False) for job in jobs]
        for fut in as_completed(futures):
            yield fut.result()
            fut.release()

    def close(self):
        self.client.close()


def make_executor(workers: int = 1, dask: Any = None) -> Executor:
    if dask is not None:
        return DaskExecutor(dask)
    if workers and workers > 1:
        return PoolExecutor(workers)
    return InProcessExecutor()
