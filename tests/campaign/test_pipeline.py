"""Campaign pipeline: failure isolation, resume after SIGKILL, identical results across executors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from pymatgen.core import Lattice, Structure

from dsei.campaign import Pipeline, ResultStore, default_stages, make_candidate


def rocksalt(a, b, lattice):
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(lattice), [a, b], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()
    s.properties = {"source": f"{a}{b}.cif"}
    return s


def small_candidates():
    cands = [
        make_candidate(rocksalt("Li", "F", 4.05), "LiF"),
        make_candidate(rocksalt("Ag", "Cl", 5.6), "AgCl"),
        make_candidate(rocksalt("Na", "F", 4.65), "NaF"),
    ]
    po = Structure(Lattice.cubic(3.35), ["Po"], [[0, 0, 0]])  # SevenNet-0 does not cover Po: must fail validation
    cands.append(make_candidate(po, "Po", source="Po.cif"))
    return cands


def test_failure_isolation_and_resume_in_process(tmp_path):
    cands = small_candidates()
    stages = default_stages("sevennet", {"relax": {"fmax": 0.02, "steps": 100}}, ["validate", "relax"])
    with ResultStore(tmp_path / "r.sqlite") as store:
        run = Pipeline(stages, store).run(cands)
    by = {s.stage: s for s in run.stages}
    assert by["validate"].computed == 3 and by["validate"].failed == 1
    assert by["relax"].computed == 3 and by["relax"].filtered_out == 1  # Po never reaches relax
    assert [f["candidate_id"] for f in run.failures] == ["Po"]
    assert "does not cover element(s) Po" in run.failures[0]["error"]
    # a rerun computes nothing
    with ResultStore(tmp_path / "r.sqlite") as store:
        again = Pipeline(stages, store).run(cands)
    assert all(s.computed == 0 for s in again.stages)
    assert {s.stage: s.reused for s in again.stages} == {"validate": 4, "relax": 3}
    # a changed setting recomputes that stage only
    stages2 = default_stages("sevennet", {"relax": {"fmax": 0.015, "steps": 100}}, ["validate", "relax"])
    with ResultStore(tmp_path / "r.sqlite") as store:
        third = Pipeline(stages2, store).run(cands)
    assert {s.stage: s.computed for s in third.stages} == {"validate": 0, "relax": 3}


SCREEN_SCRIPT = r"""
import sys
from pymatgen.core import Lattice, Structure
from dsei.campaign.screen import screen
folder, out = sys.argv[1], sys.argv[2]
res = screen([folder], out, model="sevennet", stages=["validate", "relax"])
print("ROWS", len(res.rows), [s.computed for s in res.run.stages], [s.reused for s in res.run.stages])
"""


@pytest.mark.slow
def test_sigkill_half_way_then_resume(tmp_path):
    """Kill the screen with SIGKILL after some relaxations landed; rerun: one row per candidate, no recompute."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    specs = [("Li", "F", 4.1), ("Na", "F", 4.7), ("Ag", "Cl", 5.6), ("Li", "Cl", 5.2), ("Na", "Cl", 5.7), ("Ag", "Br", 5.9)]
    for a, b, lat in specs:
        s = rocksalt(a, b, lat * 1.04)  # 4 % too large: relaxation has work to do
        s.to(filename=str(folder / f"{a}{b}.cif"))
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SCREEN_SCRIPT, str(folder), str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = out / "results.sqlite"
    done = 0
    t0 = time.time()
    while time.time() - t0 < 600:
        time.sleep(0.5)
        if db.exists():
            try:
                con = sqlite3.connect(db, timeout=1)
                done = con.execute("SELECT COUNT(*) FROM results WHERE stage='relax'").fetchone()[0]
                con.close()
            except sqlite3.Error:
                continue
            if done >= 2:
                break
        if proc.poll() is not None:
            break
    assert proc.poll() is None, "the campaign finished before it could be killed: " + proc.stderr.read().decode()[-500:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(db)
    finished = con.execute("SELECT COUNT(*) FROM results WHERE stage='relax'").fetchone()[0]
    con.close()
    assert 2 <= finished < len(specs)
    again = subprocess.run([sys.executable, "-c", SCREEN_SCRIPT, str(folder), str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    line = next(x for x in again.stdout.splitlines() if x.startswith("ROWS"))
    n_rows = int(line.split()[1])
    computed, reused = json.loads(line.split(" ", 2)[2].split("] [")[0] + "]"), json.loads("[" + line.split("] [")[1])
    assert n_rows == len(specs)
    assert reused[1] == finished and computed[1] == len(specs) - finished  # relax: nothing recomputed
    import pandas as pd

    df = pd.read_csv(out / "results.csv")
    assert len(df) == len(specs) and df["candidate_id"].is_unique
    assert df["relax_converged"].all()


@pytest.mark.slow
def test_pool_and_dask_give_identical_results(tmp_path):
    from distributed import LocalCluster

    from dsei.campaign.executors import DaskExecutor, PoolExecutor

    cands = small_candidates()[:3]
    stages = default_stages("sevennet", {"relax": {"fmax": 0.02, "steps": 100}}, ["validate", "relax"])
    results = {}
    with ResultStore(tmp_path / "pool.sqlite") as store, PoolExecutor(2) as ex:
        pipe = Pipeline(stages, store, ex)
        pipe.run(cands)
        results["pool"] = pipe.collect(cands)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with ResultStore(tmp_path / "dask.sqlite") as store, DaskExecutor(cluster) as ex:
            pipe = Pipeline(stages, store, ex)
            pipe.run(cands)
            results["dask"] = pipe.collect(cands)
    with ResultStore(tmp_path / "inproc.sqlite") as store:
        pipe = Pipeline(stages, store)
        pipe.run(cands)
        results["in-process"] = pipe.collect(cands)
    for name in ("pool", "dask"):
        for a, b in zip(results[name], results["in-process"], strict=True):
            ra, rb = a["results"]["relax"], b["results"]["relax"]
            assert abs(ra["energy_per_atom_eV"] - rb["energy_per_atom_eV"]) < 1e-6, name
            assert ra["steps"] == rb["steps"] and ra["lattice_abc_A"] == pytest.approx(rb["lattice_abc_A"], abs=1e-6)


def test_stage_order_respects_dependencies_then_cost():
    from dsei.campaign.pipeline import _order

    stages = default_stages("sevennet", names=["elastic", "stability", "relax", "validate"])
    assert [s.name for s in _order(stages)] == ["validate", "relax", "stability", "elastic"]
    with pytest.raises(ValueError, match="needs stage"):
        Pipeline(default_stages("sevennet", names=["elastic"]), store=None)
