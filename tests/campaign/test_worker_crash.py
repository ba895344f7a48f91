"""A worker process that dies (segfault in a native library, OOM kill) must not stop a campaign (issue #25)."""

from __future__ import annotations

import textwrap

from dsei.campaign.executors import PoolExecutor, Task

CRASHY = textwrap.dedent(
    '''
    import os

    from dsei.campaign.executors import Outcome


    def run(job):
        """Fault injection: the job of candidate 'crash' kills its worker process outright."""
        if any(t.candidate["candidate_id"] == "crash" for t in job):
            os._exit(1)
        return [Outcome(t.key, t.stage, t.candidate["candidate_id"], "ok", {"n": 1}, None, None, 0.0) for t in job]
    '''
)


def test_a_dying_worker_fails_its_candidate_only(tmp_path, monkeypatch):
    (tmp_path / "crashy_runner.py").write_text(CRASHY)
    monkeypatch.syspath_prepend(str(tmp_path))
    import crashy_runner

    ids = ["a", "b", "crash", "c", "d", "e"]
    jobs = [[Task(f"k-{i}", "validate", "m", {}, {"candidate_id": i}, {})] for i in ids]
    with PoolExecutor(2, runner=crashy_runner.run) as ex:
        outs = [o for batch in ex.map_unordered(jobs) for o in batch]
    status = {o.candidate_id: o.status for o in outs}
    assert sorted(status) == sorted(ids)
    assert status.pop("crash") == "failed" and set(status.values()) == {"ok"}
    died = next(o for o in outs if o.candidate_id == "crash")
    assert died.error_type == "WorkerDied" and "worker process died" in died.error_message
