"""The NEB stage's funnel: which candidates reach NEB, in which order, and what enters its result key.

The stage's *numbers* come from ``dsei.barrier`` (tested in tests/transport with the real model); here the
filters, the ``max_candidates`` selection and chunked jobs are exercised through the real pipeline and store
with cheap pure-Python stages standing in for relax/elastic/bvse (no physics is claimed for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from pymatgen.core import Lattice, Structure

from dsei.campaign import Pipeline, ResultStore, default_stages, make_candidate
from dsei.campaign.stages import STAGES, NEBStage, Stage, build_stage


def test_neb_is_not_in_the_default_funnel_but_can_be_asked_for():
    assert "neb" not in [s.name for s in default_stages("sevennet")]
    assert "neb" in [s.name for s in default_stages("sevennet", names=["validate", "relax", "elastic", "bvse", "neb"])]


def test_neb_admission_filters():
    st = build_stage("neb", "sevennet", {"max_bvse_eV": 0.8})
    ok = {"elastic": {"verdict": "ductile"}, "bvse": {"barrier_eV": 0.5}}
    assert st.admit(ok)[0]
    assert not st.admit({"elastic": {"verdict": "brittle"}, "bvse": {"barrier_eV": 0.2}})[0]
    high = st.admit({"elastic": {"verdict": "uncertain"}, "bvse": {"barrier_eV": 1.2}})
    assert not high[0] and "1.20 eV > 0.8" in high[1]
    assert st.priority(ok) == 0.5 and st.priority({"bvse": {}}) == float("inf")


def test_filter_options_do_not_change_the_result_key():
    a = build_stage("neb", "sevennet", {"max_bvse_eV": 0.5, "max_candidates": 2, "ion": "Li"})
    b = build_stage("neb", "sevennet", {"max_bvse_eV": 1.5, "verdicts": ["ductile"], "ion": "Li"})
    c = build_stage("neb", "sevennet", {"ion": "Na"})
    assert a.settings() == b.settings() != c.settings()


# -- cheap stand-ins registered under their own names ----------------------------------------------------
@dataclass
class _Pugh(Stage):
    name: ClassVar[str] = "t_pugh"
    requires: ClassVar[tuple[str, ...]] = ()
    cost: ClassVar[int] = 1
    chunk: ClassVar[int] = 3
    calls: ClassVar[list[int]] = []

    def run(self, candidate, upstream):  # a job of one candidate
        return self.run_many([candidate], [upstream])[0]

    def run_many(self, candidates, upstreams):
        _Pugh.calls.append(len(candidates))
        # a fake "verdict" keyed on the lattice parameter, and a fake BVSE barrier
        out = []
        for c in candidates:
            a = c.pmg().lattice.a
            out.append({"verdict": "ductile" if a > 3.0 else "brittle", "barrier_eV": round(a / 10, 3)})
        return out


@dataclass
class _Final(NEBStage):
    name: ClassVar[str] = "t_final"
    requires: ClassVar[tuple[str, ...]] = ("t_pugh",)
    module: ClassVar[str | None] = None

    def admit(self, upstream):
        u = upstream["t_pugh"]
        return super().admit({"elastic": u, "bvse": u})

    def priority(self, upstream):
        return upstream["t_pugh"]["barrier_eV"]

    def run(self, candidate, upstream):
        return {"barrier_eV": upstream["t_pugh"]["barrier_eV"]}


@pytest.fixture()
def fake_stages():
    STAGES.update({"t_pugh": _Pugh, "t_final": _Final})
    yield
    STAGES.pop("t_pugh")
    STAGES.pop("t_final")


def test_max_candidates_takes_the_lowest_priority_first_and_jobs_are_chunked(tmp_path, fake_stages):
    cands = [make_candidate(Structure(Lattice.cubic(a), ["Cu"], [[0, 0, 0]]), f"c{a}") for a in (2.5, 3.2, 3.6, 4.4, 5.8, 7.5, 9.9)]
    stages = default_stages("sevennet", {"t_final": {"max_candidates": 2, "max_bvse_eV": 0.7}}, ["t_pugh", "t_final"])
    _Pugh.calls.clear()
    with ResultStore(tmp_path / "r.sqlite") as store:
        run = Pipeline(stages, store).run(cands)
        rows = Pipeline(stages, store).collect(cands)
    assert _Pugh.calls == [3, 3, 1]  # chunks of the stage's size, in order
    done = sorted(r["candidate"].candidate_id for r in rows if "t_final" in r["results"])
    # admitted: ductile (a > 3) with barrier a/10 <= 0.7 -> 3.2, 3.6, 4.4, 5.8; the two lowest barriers run
    assert done == ["c3.2", "c3.6"]
    by = {s.stage: s for s in run.stages}
    assert by["t_final"].computed == 2 and by["t_final"].filtered_out == 5


def test_thresholds_from_the_command_line(run_cli):
    from dsei.campaign.screen import parse_overrides

    o = parse_overrides(["neb.max_bvse_eV=0.8", 'neb.verdicts=["ductile"]', "neb.compensate=schottky", "relax.fmax=0.02"])
    assert o == {"neb": {"max_bvse_eV": 0.8, "verdicts": ["ductile"], "compensate": "schottky"}, "relax": {"fmax": 0.02}}
    for bad in ("nope", "neb.max_bvse_eV", "nosuchstage.x=1"):
        code, out, err = run_cli("screen", "--set", bad)
        assert code == 2 and err.startswith("error: --set") and "Traceback" not in err
