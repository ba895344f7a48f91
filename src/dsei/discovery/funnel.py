"""``dsei discover``: enumerate → surrogate (all) → relax + E_hull + anode stability + BVSE (surrogate's top
fraction) → MLIP elastic verdict (top N by acquisition) → NEB (finalists, optional); the surrogate is refitted on
what was computed after each round (active learning).

Everything runs on the campaign machinery (:mod:`dsei.campaign`): one SQLite store in ``out/results.sqlite``
keyed by structure fingerprint, stage, model and settings, so a killed run resumes where it stopped and a second
run computes nothing twice; the MLIP stages go through :class:`~dsei.campaign.pipeline.Pipeline` with its
executors (in-process, local workers or Dask); one failing candidate never stops the rest.

The surrogate's predictions are stored as stage ``surrogate`` (model = the surrogate file's hash), so rescoring
after a refit is a new key, and resuming reuses them. The energy above the hull and the stability against the
anode come from the *relax* stage's energies (default SevenNet-0, MP2020 + fitted elemental references:
:class:`dsei.chemistry.EnergySet`) together with the library's and the chemistry set's shipped energies of the
same model, in each candidate's chemical system with every other relaxed candidate of that system — no second
relaxation (``dsei stability`` would relax again with the r2SCAN model).

Acquisition (which candidates get MLIP time): upper confidence bound on ln(B/G),
``ucb = ln(B/G)_pred + kappa · σ`` (default kappa 1; Srinivas et al., ICML 2010) — the surrogate's best guess
plus the benefit of the doubt where it is unsure. Objective (ranking of the results): B/G, from the MLIP
where computed (``pugh_ratio_source = mlip``) and from the surrogate otherwise (``surrogate``), among candidates
within ``max_e_hull`` of the hull where the hull is known.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dsei.campaign.stages import Candidate
from dsei.campaign.store import ResultStore, result_key
from dsei.errors import InputError

DISCOVER_STAGES = ("surrogate", "relax", "bvse", "elastic", "neb")
DEFAULT_STAGES = ("surrogate", "relax", "bvse", "elastic")
#: E_hull above which a relaxed candidate is not sent to the elastic stage and not ranked (eV/atom); 0.1 eV/atom
#: is the usual metastability window of synthesised phases (W. Sun et al., Sci. Adv. 2, e1600225 (2016))
MAX_E_HULL = 0.1


@dataclass
class DiscoverResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    enumeration: dict[str, Any]
    rounds: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def to_json_dict(self) -> dict[str, Any]:
        from dsei.results import SCHEMA_VERSION

        return {"schema_version": SCHEMA_VERSION, "out_dir": str(self.out_dir), "enumeration": self.enumeration,
                "rounds": self.rounds, "failures": self.failures, "files": self.files, "elapsed_s": self.elapsed_s,
                "results": self.rows}


def _surrogate_id(sur) -> str:
    blob = json.dumps({k: v for k, v in sur.params.items() if k not in ("heads", "cv")}, sort_keys=True, default=str)
    trees = sum(len(m["trees"]) for ms in sur.params["heads"].values() for m in ms)
    first = sur.params["heads"]["ln_pugh"][0]["trees"][0]["value"][:4]
    return "surrogate-" + hashlib.sha256(f"{blob}{trees}{first}".encode()).hexdigest()[:12]


def score_candidates(store: ResultStore, cands: list[Candidate], structs, sur, kappa: float, batch: int = 256) -> dict[str, dict]:
    """Surrogate predictions for every candidate, from the store where present, else computed and stored."""
    from dsei.discovery.features import featurize

    model = _surrogate_id(sur)
    settings = {"stage": "surrogate", "model": model}
    out: dict[str, dict] = {}
    todo: list[int] = []
    for i, c in enumerate(cands):
        rec = store.get(result_key(c.fingerprint, "surrogate", model, settings))
        if rec is not None and rec.status == "ok":
            out[c.candidate_id] = rec.result
        else:
            todo.append(i)
    for start in range(0, len(todo), batch):
        idx = todo[start : start + batch]
        t0 = time.perf_counter()
        feats, ok = [], []
        for i in idx:
            try:
                feats.append(featurize(structs[i]))
                ok.append(i)
            except Exception as exc:  # noqa: BLE001 - one odd cell never stops the ranking
                c = cands[i]
                store.put(result_key(c.fingerprint, "surrogate", model, settings), c.candidate_id, c.fingerprint, "surrogate",
                          model, settings, "failed", None, type(exc).__name__, str(exc), 0.0)
        if not ok:
            continue
        pred = sur.predict_features(np.vstack(feats))
        dt = (time.perf_counter() - t0) / len(ok)
        with store.conn:  # one transaction per batch: the batch is durable at once
            for j, i in enumerate(ok):
                c = cands[i]
                r = pred.row(j)
                r["ucb_ln_pugh"] = float(pred.ln_pugh[j] + kappa * pred.sigma_ln_pugh[j])
                r["surrogate"] = model
                out[c.candidate_id] = r
                store.put(result_key(c.fingerprint, "surrogate", model, settings), c.candidate_id, c.fingerprint, "surrogate",
                          model, settings, "ok", r, None, None, dt)
    return out


def _ucb(pred: dict, kappa: float) -> float:
    return math.log(pred["pred_pugh_ratio"]) + kappa * pred["pred_sigma_ln_pugh"]


def hull_and_anode(relaxed: dict[str, tuple[str, float, Any]], anode: str, model: str, exclude_formulas=()) -> dict[str, dict]:
    """E above the hull and the reaction with the anode for relaxed candidates.

    ``relaxed``: candidate_id → (reduced formula, relaxed energy per atom as predicted by ``model``, structure).
    Each candidate's chemical system (its elements plus the anode) gets one phase diagram of the shipped
    energies of that model (library + extra set, minus ``exclude_formulas``) and every relaxed candidate inside
    it. ``reduction_potential_V`` is the highest potential vs the anode at which it reacts with the anode (None
    when it does not: ``anode_stable``), from :func:`dsei.chemistry.stability._steps` — the same reaction
    analysis as ``dsei stability``."""
    from pymatgen.analysis.phase_diagram import PhaseDiagram
    from pymatgen.core import Composition
    from pymatgen.entries.computed_entries import ComputedEntry

    from dsei.chemistry.energies import EnergySet
    from dsei.chemistry.stability import TOL, _steps

    es = EnergySet(model=model, correction="fitted")
    excl = {Composition(f).reduced_formula for f in exclude_formulas}
    corrected: dict[str, tuple[str, float]] = {}
    for cid, (red, e_raw, struct) in relaxed.items():
        corrected[cid] = (red, es.corrected_energy_per_atom(red, e_raw, struct))
    by_sys: dict[frozenset, list[str]] = {}
    for cid, (red, _) in corrected.items():
        by_sys.setdefault(frozenset({e.symbol for e in Composition(red).elements} | {anode}), []).append(cid)
    out: dict[str, dict] = {}
    e_metal = es.element_reference(anode)
    for elements, cids in by_sys.items():
        try:
            entries = [e for e in es.entries(set(elements)) if e.composition.reduced_formula not in excl]
        except Exception as exc:  # noqa: BLE001 - an element without a reference energy: say so per candidate
            for cid in cids:
                out[cid] = {"error": f"no phase diagram for {'-'.join(sorted(elements))}: {exc}"}
            continue
        for cid2, (red2, e2) in corrected.items():
            if {e.symbol for e in Composition(red2).elements} <= elements:
                entries.append(ComputedEntry(Composition(red2), e2 * Composition(red2).num_atoms, entry_id=f"candidate:{cid2}"))
        pd = PhaseDiagram(entries)
        for cid in cids:
            red, e_pa = corrected[cid]
            e_fu = e_pa * Composition(red).num_atoms
            e_hull = float(pd.get_e_above_hull(ComputedEntry(Composition(red), e_fu), allow_negative=True))
            steps = [st for st in _steps(pd, red, e_fu, anode, e_metal) if st["x"] > TOL]
            best = max(steps, key=lambda st: st["V"]) if steps else None
            v = best["V"] if best else None
            stable = bool(v is None or v <= 0.0)
            out[cid] = {"e_above_hull_eV_per_atom": e_hull, "reduction_potential_V": None if stable else v,
                        "anode_stable": stable, "chemical_system": "-".join(sorted(elements)),
                        "products_with_anode": sorted(best["products"]) if best and not stable else []}
    return out


def _pareto(rows: list[dict], keys: list[tuple[str, int]]) -> list[dict]:
    """Non-dominated rows (``keys``: (column, +1 maximise / −1 minimise)); rows missing a value are left out."""
    pts = [r for r in rows if all(r.get(k) is not None for k, _ in keys)]
    front = []
    for r in pts:
        v = [s * r[k] for k, s in keys]
        dominated = False
        for q in pts:
            w = [s * q[k] for k, s in keys]
            if all(b >= a for a, b in zip(v, w, strict=True)) and any(b > a for a, b in zip(v, w, strict=True)):
                dominated = True
                break
        if not dominated:
            front.append(r)
    return front


def discover(
    anode: str = "Li",
    cations=("Ag", "Cu", "Zn", "Sn", "Bi", "In"),
    anions=("F", "Cl", "Br", "I", "O", "S", "Se", "N"),
    out_dir: str | Path = "dsei-discover",
    max_candidates: int = 10_000,
    relax_fraction: float = 0.01,
    top: int = 10,
    rounds: int = 1,
    kappa: float = 1.0,
    stages=DEFAULT_STAGES,
    workers: int = 1,
    dask: Any = None,
    surrogate: str | Path | None = None,
    exclude_formulas=(),
    max_e_hull: float = MAX_E_HULL,
    retrain: bool = True,
    memory_gb: float | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    progress=None,
    log=None,
) -> DiscoverResult:
    """Run (or resume) a discovery campaign; see the module doc. ``stages``: a subset of
    :data:`DISCOVER_STAGES` (``surrogate`` always runs); ``relax_fraction``: share of the candidates (best
    acquisition first, at least ``top``) that is relaxed per round; ``top``: how many of those go to the MLIP
    elastic stage per round; ``options``: per-stage options (``{"relax": {"fmax": 0.02}}``)."""
    from dsei.campaign.executors import make_executor
    from dsei.campaign.pipeline import Pipeline
    from dsei.discovery.surrogate import load_surrogate

    t_start = time.perf_counter()
    say = log or (lambda msg: None)
    stages = _checked_stages(stages, relax_fraction, top, rounds)
    options = options or {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cands, rec_of, struct_of, enumeration = _enumerate(anode, cations, anions, max_candidates, exclude_formulas, memory_gb, say)
    sur = load_surrogate(surrogate)
    store = ResultStore(out / "results.sqlite")
    rounds_info: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    pstages = _pipeline_stages(stages, options, anode, top)
    by_name = {s.name: s for s in pstages}
    signature = hashlib.sha256(json.dumps([anode, sorted(cations), sorted(anions), max_candidates, relax_fraction, top, kappa,
                                           sorted(exclude_formulas), max_e_hull, _surrogate_id(sur), sorted(stages)]).encode()).hexdigest()[:16]
    relax_model = by_name["relax"].model if "relax" in by_name else None
    try:
        with make_executor(workers, dask) as executor:
            pipe = Pipeline(pstages, store, executor) if pstages else None
            run = _Round(out, store, executor, pipe, by_name, cands, signature, anode, relax_model, exclude_formulas,
                         max_e_hull, kappa, top, relax_fraction, progress)
            preds: dict[str, dict] = {}
            for rnd in range(1, rounds + 1):
                info: dict[str, Any] = {"round": rnd, "surrogate": _surrogate_id(sur)}
                preds = _score_round(store, cands, struct_of, sur, kappa, rnd, info, say)
                rounds_info.append(info)
                if pipe is None:
                    break
                run.mlip_stages(rnd, preds, info)
                if rnd < rounds and retrain and "elastic" in by_name:
                    sur = _retrain(store, pipe, cands, struct_of, sur, by_name["elastic"], out, rnd, info, say)
            collected = {c.candidate_id: _collect(store, pipe, c) for c in cands} if pipe else {}
            hull = _hull_for(store, pipe, [c for c in cands if collected.get(c.candidate_id, {}).get("relax")], anode, relax_model, exclude_formulas) if pipe else {}
        failures = _failures(store)
    finally:
        store.close()
    rows = build_rows(cands, rec_of, preds, collected, hull, max_e_hull)
    files = write_outputs(rows, out, {
        "command": "dsei discover", "anode": anode, "cations": ",".join(cations), "anions": ",".join(anions),
        "candidates": len(cands), "stages": ", ".join(stages), "relax model": relax_model or "-",
        "surrogate": rounds_info[-1]["surrogate"] if rounds_info else "-", "excluded formulas": ", ".join(exclude_formulas) or "none",
    }, collected)
    return DiscoverResult(out, rows, enumeration, rounds_info, failures, files, time.perf_counter() - t_start)


def _checked_stages(stages, relax_fraction: float, top: int, rounds: int) -> tuple[str, ...]:
    """The stages to run (``surrogate`` first, always), after checking them and the round sizes."""
    stages = tuple(dict.fromkeys(("surrogate", *stages)))
    unknown = [s for s in stages if s not in DISCOVER_STAGES]
    if unknown:
        raise InputError("stages", f"unknown stage(s) {', '.join(unknown)} (known: {', '.join(DISCOVER_STAGES)})")
    if ("elastic" in stages or "bvse" in stages) and "relax" not in stages:
        raise InputError("stages", "bvse and elastic need relax")
    if "neb" in stages and not {"elastic", "bvse"} <= set(stages):
        raise InputError("stages", "neb needs elastic and bvse")
    if not 0 < relax_fraction <= 1:
        raise InputError("relax_fraction", "must be in (0, 1]")
    if top < 0 or rounds < 1:
        raise InputError("top" if top < 0 else "rounds", "must be ≥ 0" if top < 0 else "must be ≥ 1")
    return stages


def _enumerate(anode, cations, anions, max_candidates, exclude_formulas, memory_gb, say):
    """The candidates of the chemical space (``Candidate``\\ s), their enumeration records and structures by id, and
    the enumeration summary."""
    from dsei.discovery.enumerate import enumerate_candidates

    t0 = time.perf_counter()
    enum = enumerate_candidates(anode, cations, anions, max_candidates=max_candidates, exclude_formulas=exclude_formulas, memory_gb=memory_gb)
    cands = [Candidate(candidate_id=r["fingerprint"], fingerprint=r["fingerprint"], formula=r["formula"],
                       source=f"substituted:{r['prototype']}", structure=s.as_dict())
             for s, r in zip(enum.structures, enum.records, strict=True)]
    rec_of = {c.candidate_id: r for c, r in zip(cands, enum.records, strict=True)}
    struct_of = {c.candidate_id: s for c, s in zip(cands, enum.structures, strict=True)}
    enumeration = {**enum.summary(), "elapsed_s": time.perf_counter() - t0}
    say(f"enumerated {len(cands)} candidates from {enum.substitutions} substitutions into {enum.prototypes} prototypes "
        f"({enumeration['elapsed_s']:.0f} s); dropped: " + (", ".join(f"{k} {v}" for k, v in enum.dropped.items()) or "none"))
    return cands, rec_of, struct_of, enumeration


def _pipeline_stages(stages: tuple[str, ...], options: dict, anode: str, top: int) -> list:
    """The campaign stages of the MLIP part (validate before relax; the ion of BVSE and NEB is the anode's).

    Unlike ``dsei screen``, the relax stage stays on the relaxation default (SevenNet-0) unless ``options`` name
    another: here it relaxes every picked candidate and its energies make the hull, while the elastic stage runs on
    a few of them only, so relaxing all of them on the elastic model to save the elastic stage's own relaxation
    would cost more than it saves (and the hull's corrections are fitted for the relaxation default)."""
    from dsei.campaign.pipeline import default_stages
    from dsei.models import DEFAULT_MODEL

    names = [s for s in ("validate", "relax", "bvse", "elastic", "neb") if s == "validate" and "relax" in stages or s in stages]
    if not names:
        return []
    return default_stages(None, {**options, "relax": {"model": DEFAULT_MODEL, **options.get("relax", {})},
                                 "bvse": {"ion": anode, **options.get("bvse", {})},
                                 "neb": {"ion": anode, "max_candidates": top, **options.get("neb", {})}}, names)


def _score_round(store, cands, struct_of, sur, kappa: float, rnd: int, info: dict, say) -> dict[str, dict]:
    """The surrogate's predictions for every candidate in round ``rnd`` (count and time into ``info``)."""
    t0 = time.perf_counter()
    preds = score_candidates(store, cands, [struct_of[c.candidate_id] for c in cands], sur, kappa)
    info["surrogate_scored"] = len(preds)
    info["surrogate_s"] = time.perf_counter() - t0
    say(f"round {rnd}: surrogate scored {len(preds)} candidates in {info['surrogate_s']:.1f} s")
    return preds


@dataclass
class _Round:
    """What the MLIP part of every round shares: the store, the executor, the stages and the round sizes."""

    out: Path
    store: Any
    executor: Any
    pipe: Any
    by_name: dict[str, Any]
    cands: list[Candidate]
    signature: str
    anode: str
    relax_model: str | None
    exclude_formulas: Any
    max_e_hull: float
    kappa: float
    top: int
    relax_fraction: float
    progress: Any

    def mlip_stages(self, rnd: int, preds: dict[str, dict], info: dict) -> None:
        """Relax (+ BVSE) the round's best candidates by acquisition, then the elastic (and NEB) stages on the best
        of those within ``max_e_hull`` of the hull; counts and times into ``info``."""
        from dsei.campaign.pipeline import Pipeline

        by_name = self.by_name
        ranked = sorted((c for c in self.cands if c.candidate_id in preds), key=lambda c: -_ucb(preds[c.candidate_id], self.kappa))
        # the round's picks are written down before any work, so a run killed mid-round and started again
        # relaxes/verifies exactly the same candidates (not the next best on top of them)
        plan = _read_plan(self.out, rnd, self.signature) or {"signature": self.signature}
        earlier = [_read_plan(self.out, r, self.signature) for r in range(1, rnd)]
        n_relax = max(self.top, math.ceil(self.relax_fraction * len(self.cands)))
        chosen = _planned(self.out, rnd, plan, "relax", earlier, (c.candidate_id for c in ranked), n_relax)
        relax_set = [c for c in ranked if c.candidate_id in chosen]
        info["relax_requested"] = len(plan["relax"])
        t0 = time.perf_counter()
        sub = [by_name[n] for n in ("validate", "relax", "bvse") if n in by_name]
        Pipeline(sub, self.store, self.executor).run(relax_set, progress=self.progress)
        info["relax_s"] = time.perf_counter() - t0
        if "elastic" not in by_name:
            return
        hull = _hull_for(self.store, self.pipe, relax_set, self.anode, self.relax_model, self.exclude_formulas)
        eligible = (c.candidate_id for c in relax_set if _relaxed_ok(self.store, self.pipe, c)
                    and hull.get(c.candidate_id, {}).get("e_above_hull_eV_per_atom", math.inf) <= self.max_e_hull)
        el_ids = _planned(self.out, rnd, plan, "elastic", earlier, eligible, self.top)
        el_set = [c for c in ranked if c.candidate_id in el_ids]
        info["elastic_requested"] = len(plan["elastic"])
        t0 = time.perf_counter()
        Pipeline([by_name[n] for n in ("validate", "relax", "elastic")], self.store, self.executor).run(el_set, progress=self.progress)
        info["elastic_s"] = time.perf_counter() - t0
        if "neb" in by_name:
            t0 = time.perf_counter()
            Pipeline([by_name[n] for n in ("validate", "relax", "bvse", "elastic", "neb")], self.store, self.executor).run(el_set, progress=self.progress)
            info["neb_s"] = time.perf_counter() - t0


def _retrain(store, pipe, cands, struct_of, sur, elastic_stage, out: Path, rnd: int, info: dict, say):
    """The surrogate refitted with the store's MLIP elastic results for round ``rnd + 1`` (count and time into
    ``info``)."""
    t0 = time.perf_counter()
    sur, n_added, n_skipped = refit_with_store(store, pipe, cands, struct_of, sur, elastic_stage,
                                               out / f"surrogate_round{rnd + 1}.json")
    info["retrained_on_mlip_results"] = n_added
    info["retrain_skipped_uncalibrated"] = n_skipped
    info["retrain_s"] = time.perf_counter() - t0
    left_out = f"{n_skipped} uncalibrated elastic results left out (they would teach it the model's soft shear)"
    if n_added:
        say(f"round {rnd}: refitted the surrogate with {n_added} MLIP elastic results ({info['retrain_s']:.0f} s)"
            + (f"; {left_out}" if n_skipped else ""))
    else:
        say(f"round {rnd}: surrogate kept: no calibrated MLIP elastic result to refit on" + (f"; {left_out}" if n_skipped else ""))
    return sur


def _failures(store) -> list[dict[str, str]]:
    """Every failed (candidate, stage) of the store."""
    return [{"candidate_id": rec.candidate_id, "stage": rec.stage, "error_type": rec.error_type or "", "error": rec.error_message or ""}
            for rec in store.records() if rec.status == "failed"]


def _read_plan(out: Path, rnd: int, signature: str) -> dict:
    """The picks of round ``rnd`` written by an earlier (killed) run with the same parameters, else {}."""
    p = out / f"round{rnd}_plan.json"
    try:
        plan = json.loads(p.read_text()) if p.exists() else {}
    except ValueError:
        return {}
    return plan if plan.get("signature") == signature else {}


def _planned(out: Path, rnd: int, plan: dict, key: str, earlier: list[dict], ordered, limit: int) -> set[str]:
    """Ids of stage ``key`` for round ``rnd``: this round's picks — the first ``limit`` of the best-first ids
    ``ordered`` (an iterator, consumed only here) that no earlier round took, written to the plan before any work,
    or read back from it on a resumed run — together with every earlier round's."""
    prev = {i for p in earlier for i in p.get(key, [])}
    if key not in plan:
        plan[key] = list(itertools.islice((i for i in ordered if i not in prev), limit))
        _write_plan(out, rnd, plan)
    return set(plan[key]) | prev


def _write_plan(out: Path, rnd: int, plan: dict) -> None:
    p = out / f"round{rnd}_plan.json"
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan))
    tmp.replace(p)  # atomic: a kill leaves the old plan or the new one, never half a file


def _relaxed_ok(store, pipe, c: Candidate) -> bool:
    st = next(s for s in pipe.stages if s.name == "relax")
    rec = store.get(pipe.key(c, st))
    return rec is not None and rec.status == "ok" and st.accept(rec.result or {})


def _collect(store, pipe, c: Candidate) -> dict[str, Any]:
    res: dict[str, Any] = {}
    for st in pipe.stages:
        rec = store.get(pipe.key(c, st))
        if rec is not None and rec.status == "ok":
            res[st.name] = rec.result
        elif rec is not None:
            res.setdefault("failures", {})[st.name] = f"{rec.error_type}: {rec.error_message}"
    return res


def _hull_for(store, pipe, cands: list[Candidate], anode: str, model: str | None, exclude_formulas) -> dict[str, dict]:
    from pymatgen.core import Structure

    if model is None:
        return {}
    relaxed = {}
    for c in cands:
        if _relaxed_ok(store, pipe, c):
            r = store.get(pipe.key(c, next(s for s in pipe.stages if s.name == "relax"))).result
            relaxed[c.candidate_id] = (c.formula, float(r["energy_per_atom_eV"]), Structure.from_dict(r["structure"]))
    if not relaxed:
        return {}
    return hull_and_anode(relaxed, anode, model, exclude_formulas)


def campaign_label(result: dict[str, Any] | None) -> tuple[float, float] | None:
    """(ln K, ln G) that an elastic result adds to the surrogate's training rows, or None: unstable, no moduli, or
    **not calibrated**. Measured by simulation on the 1,949 training rows (benchmarks/discovery_active_learning.py,
    docs/discovery.md §2): with half of the tensor rows' DFT labels replaced by the default model's calibrated K, G the
    grouped CV keeps 80.1 % / 0.686 (Pugh side / Spearman; all-DFT 80.5 % / 0.696, those rows dropped 79.4 % / 0.662),
    but uncalibrated K, G pull it down to 75.5 % / 0.648: the raw shear is too soft, and the trees learn it."""
    if not result or not result.get("calibrated"):
        return None
    k, g = result.get("K_vrh_GPa"), result.get("G_vrh_GPa")
    if not (k and g and k > 0 and g > 0):
        return None
    return math.log(k), math.log(g)


def refit_with_store(store, pipe, cands, struct_of, sur, elastic_stage, path: Path):
    """The surrogate refitted on its shipped training rows plus every calibrated MLIP elastic result in the store
    (K, G of the calibrated MLIP tensor of the relaxed structure; :func:`campaign_label`); returns (new surrogate,
    rows added, uncalibrated results left out)."""
    from pymatgen.core import Structure

    from dsei.discovery.features import featurize
    from dsei.discovery.train import TrainingSet, fit_surrogate, load_training_features, save_surrogate

    base = load_training_features()
    xs, lk, lg, ids, forms = [], [], [], [], []
    skipped = 0
    for c in cands:
        rec = store.get(pipe.key(c, elastic_stage))
        if rec is None or rec.status != "ok" or not rec.result:
            continue
        label = campaign_label(rec.result)
        if label is None:
            if not rec.result.get("calibrated") and (rec.result.get("G_vrh_GPa") or 0) > 0:
                skipped += 1  # moduli there, but uncalibrated
            continue
        relax = store.get(pipe.key(c, next(s for s in pipe.stages if s.name == "relax")))
        s = Structure.from_dict(relax.result["structure"]) if relax and relax.status == "ok" else struct_of[c.candidate_id]
        xs.append(featurize(s))
        lk.append(label[0])
        lg.append(label[1])
        ids.append(c.candidate_id)
        forms.append(c.formula)
    if not xs:
        return sur, 0, skipped
    extra = TrainingSet(np.array(xs), np.array(lk), np.array(lg), ids, forms, ["campaign"] * len(ids))
    ts = TrainingSet.concat(base, extra)
    new = fit_surrogate(ts, members=int(sur.params.get("members", 5)), settings=sur.params.get("settings"),
                        learner=sur.params.get("learner", "gbt"),
                        sigma_scale=sur.sigma_scale, sigma_floor=float(sur.params.get("sigma_floor", 0.0)),
                        meta={"refit_from": _surrogate_id(sur), "campaign_rows": len(ids)})
    save_surrogate(new, path)
    return new, len(ids), skipped


def build_rows(cands, rec_of, preds, collected, hull, max_e_hull) -> list[dict[str, Any]]:
    """One row per candidate; every Pareto quantity carries its ``*_source``: surrogate, mlip or bvse."""
    rows = []
    for c in cands:
        r = rec_of[c.candidate_id]
        p = preds.get(c.candidate_id, {})
        res = collected.get(c.candidate_id, {})
        el = res.get("elastic") or {}
        h = hull.get(c.candidate_id, {})
        row: dict[str, Any] = {
            "candidate_id": c.candidate_id, "formula": c.formula, "prototype": r["prototype"],
            "substitution": " ".join(r["substitution"]), "substitution_probability": r["substitution_probability"],
            **{k: p.get(k) for k in ("pred_K_GPa", "pred_G_GPa", "pred_pugh_ratio", "pred_sigma_ln_pugh", "pred_p_ductile", "ucb_ln_pugh")},
        }
        if el:  # the MLIP verdict replaces the prediction, including "unstable" (no moduli: not ranked)
            row.update(pugh_ratio=el["pugh_ratio"], pugh_ratio_source="mlip", K_vrh_GPa=el.get("K_vrh_GPa"), G_vrh_GPa=el.get("G_vrh_GPa"),
                       verdict=el.get("verdict"))
        else:
            row.update(pugh_ratio=p.get("pred_pugh_ratio"), pugh_ratio_source="surrogate" if p else None,
                       K_vrh_GPa=p.get("pred_K_GPa"), G_vrh_GPa=p.get("pred_G_GPa"), verdict=None)
        row["moduli_source"] = row["pugh_ratio_source"]
        row["e_above_hull_eV_per_atom"] = h.get("e_above_hull_eV_per_atom")
        row["reduction_potential_V"] = h.get("reduction_potential_V")
        row["anode_stable"] = h.get("anode_stable")
        row["hull_source"] = "mlip" if h.get("e_above_hull_eV_per_atom") is not None else None
        row["products_with_anode"] = " + ".join(h.get("products_with_anode", [])) or None
        neb, bv = res.get("neb") or {}, res.get("bvse") or {}
        if neb.get("barrier_eV") is not None:
            row["barrier_eV"], row["barrier_source"] = neb["barrier_eV"], "mlip"
        elif bv.get("barrier_eV") is not None:
            row["barrier_eV"], row["barrier_source"] = bv["barrier_eV"], "bvse"
        else:
            row["barrier_eV"], row["barrier_source"] = None, None
        row["relaxed"] = bool(res.get("relax"))
        fails = res.get("failures") or {}
        row["failed_stage"] = next(iter(fails), None)
        row["failure"] = fails.get(row["failed_stage"]) if fails else None
        row["fingerprint"] = c.fingerprint
        row["source"] = c.source
        rows.append(row)
    # default objective: B/G (MLIP where computed, else surrogate), among candidates not known to be > max_e_hull
    ok = [r for r in rows if r["pugh_ratio"] is not None and (r["e_above_hull_eV_per_atom"] is None or r["e_above_hull_eV_per_atom"] <= max_e_hull)]
    ok.sort(key=lambda r: (-r["pugh_ratio"], r["candidate_id"]))
    for i, r in enumerate(ok, start=1):
        r["rank"] = i
    rest = [r for r in rows if r not in ok]
    for r in rest:
        r["rank"] = None
    return ok + rest


PARETO_KEYS = [("pugh_ratio", 1), ("barrier_eV", -1), ("e_above_hull_eV_per_atom", -1), ("reduction_potential_V_or_0", -1)]


def write_outputs(rows, out: Path, meta: dict, collected: dict) -> dict[str, str]:
    import pandas as pd

    from dsei.report.html import write_report

    cols = ["rank"] + [k for k in rows[0] if k != "rank"] if rows else ["rank"]
    df = pd.DataFrame(rows, columns=cols)
    files = {"csv": str(out / "results.csv"), "parquet": str(out / "results.parquet")}
    df.to_csv(files["csv"], index=False)
    df.to_parquet(files["parquet"], index=False)
    verified = [r for r in rows if r["relaxed"]]
    for r in verified:
        r["reduction_potential_V_or_0"] = r["reduction_potential_V"] if r["reduction_potential_V"] is not None else 0.0
    front = _pareto(verified, PARETO_KEYS)
    for r in verified:
        r.pop("reduction_potential_V_or_0", None)
    pcols = ["rank", "candidate_id", "formula", "pugh_ratio", "pugh_ratio_source", "barrier_eV", "barrier_source",
             "e_above_hull_eV_per_atom", "hull_source", "reduction_potential_V", "anode_stable", "verdict"]
    pdf = pd.DataFrame([{k: r.get(k) for k in pcols} for r in front], columns=pcols)
    files["pareto_csv"] = str(out / "pareto.csv")
    pdf.to_csv(files["pareto_csv"], index=False)
    files["pareto_plot"] = str(write_pareto_plot(verified, {r["candidate_id"] for r in front}, out / "pareto.html"))
    # the HTML report lists what was computed plus the surrogate's top 200 (all rows are in results.csv)
    shown = verified + [r for r in rows if not r["relaxed"]][: max(0, 200 - len(verified))]
    details = {r["candidate_id"]: {k: v for k, v in collected.get(r["candidate_id"], {}).items()} for r in shown}
    files["report"] = str(write_report(shown, details, out / "report.html", {**meta, "pareto front": len(front)}, title="dsei discover"))
    return files


def write_pareto_plot(rows, front_ids: set[str], path: Path) -> Path:
    """B/G vs Li barrier, colour = E_hull, symbol = on the Pareto front; self-contained HTML (plotly inlined)."""
    import plotly.graph_objects as go

    pts = [r for r in rows if r.get("pugh_ratio") is not None]
    fig = go.Figure()
    for on_front in (False, True):
        sel = [r for r in pts if (r["candidate_id"] in front_ids) == on_front]
        if not sel:
            continue
        fig.add_trace(go.Scatter(
            x=[r["pugh_ratio"] for r in sel], y=[r["barrier_eV"] if r["barrier_eV"] is not None else -0.1 for r in sel],
            mode="markers+text" if on_front else "markers", text=[r["formula"] for r in sel], textposition="top center",
            name="Pareto front" if on_front else "relaxed candidates",
            marker={"size": 12 if on_front else 8, "symbol": "star" if on_front else "circle",
                    "color": [r["e_above_hull_eV_per_atom"] if r["e_above_hull_eV_per_atom"] is not None else 0.0 for r in sel],
                    "colorscale": "Viridis", "cmin": 0.0, "cmax": 0.2, "showscale": on_front, "colorbar": {"title": "E_hull (eV/atom)"}},
            customdata=[[r["pugh_ratio_source"], r.get("barrier_source") or "not computed", r.get("reduction_potential_V")] for r in sel],
            hovertemplate="<b>%{text}</b><br>B/G %{x:.2f} (%{customdata[0]})<br>barrier %{y:.2f} eV (%{customdata[1]})"
                          "<br>reduced below %{customdata[2]} V<extra></extra>",
        ))
    fig.add_vline(x=1.75, line_dash="dash", annotation_text="B/G = 1.75")
    fig.update_layout(title="dsei discover: ductility vs Li barrier (colour: E above hull)", xaxis_title="B/G", xaxis_type="log",
                      yaxis_title="Li barrier (eV; −0.1 = not computed)", template="plotly_white")
    fig.write_html(path, include_plotlyjs=True)
    return path
