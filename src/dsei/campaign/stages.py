"""Pipeline stages: small objects with one ``run(candidate, upstream) -> dict`` method.

The route of ``dsei screen`` is the plain mapping :data:`STAGES` (name → stage class; each class calls one
science function):

- ``validate`` → :func:`dsei.structures.validate_structure` on the input structure (model coverage, site cap);
- ``relax`` → :func:`dsei.relax.relax_many` on the input's standardised cell (symmetrised, primitive);
- ``stability`` → :func:`dsei.chemistry.stability` (the relaxed structure if relaxed with its model, else the input);
- ``bvse`` → :func:`dsei.transport.bvse` on the relaxed structure;
- ``elastic`` → :func:`dsei.mechanics.elastic_many` (the relaxed structure if relaxed with its model, else the input);
- ``neb`` (off by default) → :func:`dsei.transport.barrier.barrier` (as elastic).

**One relaxation per model.** The relax stage runs on the model of the stage that will reuse its structure
(:func:`dsei.campaign.pipeline.stage_models`: the elastic model when the route has an elastic stage), by the
elastic tensor's own reference procedure (:func:`dsei.relax.standard_cell`, then batched BFGS to 0.01 eV/Å with
the space group fixed). The elastic stage on that model therefore starts from the cell it would have relaxed to
itself (its reference relaxation stops at the first check) and gives ``dsei elastic``'s tensor, and BVSE reads
the same cell. A stage on another model starts from the input structure and relaxes it with its own
model, exactly as the single-property command (``dsei elastic``, ``stability``, ``barrier``) would.

Each stage declares its name, the stages whose results it needs (``requires``), a cost rank (cheap first)
and its settings (hashed into the result key, so changing a threshold that changes the computation
recomputes that stage only). ``accept(result)`` is the filter a candidate must pass for later stages.

Stages are rebuilt in worker processes from ``(name, settings)`` (see :func:`build_stage`), so everything a
stage needs travels as plain data and models load once per worker (``load_model`` caches per process).
A plug-in stage is a :class:`Stage` subclass added with :func:`register_stage`.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pymatgen.core import Structure

from dsei.models.registry import (
    DEFAULT_BARRIER_MODEL,
    DEFAULT_CHEMISTRY_MODEL,
    DEFAULT_ELASTIC_MODEL,
    DEFAULT_MODEL,
)


# ------------------------------------------------------------------------------------------ option schema
@dataclass(frozen=True)
class Opt:
    """One stage option: its type (``float``, ``int``, ``bool``, ``str`` or ``list``) and an optional check that
    returns what is wrong with a value of the right type (``"must be > 0"``) or None. Checked for every stage
    table of a config and every ``--set``, whether or not that stage runs (:func:`check_stage_options`)."""

    kind: type
    check: Callable[[Any], str | None] | None = None
    item: type | None = None  # element type of a list


def _gt(x0: float) -> Callable[[Any], str | None]:
    return lambda v: None if v > x0 else f"must be > {x0:g}"


def _ge(x0: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= x0 else f"must be ≥ {x0:g}"


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}, not {v!r}"


def _all_of(*choices: str) -> Callable[[Any], str | None]:
    def check(v):
        bad = [x for x in v if x not in choices]
        return f"unknown value(s) {', '.join(map(repr, bad))} (choose from {', '.join(choices)})" if bad else None

    return check


def _element(v: str) -> str | None:
    from pymatgen.core.periodic_table import Element

    return None if Element.is_valid_symbol(v) else f"{v!r} is not an element symbol"


_TYPE_NAMES = {float: "a number", int: "a whole number", bool: "true or false", str: "a string", list: "a list"}


def check_option_value(spec: Opt, value: Any) -> str | None:
    """What is wrong with ``value`` for ``spec`` (one phrase), or None."""
    ok_type = (
        isinstance(value, bool) if spec.kind is bool
        else isinstance(value, int) and not isinstance(value, bool) if spec.kind is int
        else isinstance(value, int | float) and not isinstance(value, bool) if spec.kind is float
        else isinstance(value, spec.kind)
    )
    if not ok_type:
        return f"must be {_TYPE_NAMES.get(spec.kind, spec.kind.__name__)}, not {value!r}"
    if spec.kind is float and not math.isfinite(float(value)):
        return f"must be a finite number, not {value!r}"
    if spec.kind is list and spec.item is not None:
        bad = [x for x in value if check_option_value(Opt(spec.item), x)]
        if bad:
            return f"every item must be {_TYPE_NAMES.get(spec.item, spec.item.__name__)}, not {bad[0]!r}"
    return spec.check(value) if spec.check else None


#: options every stage takes: ``model`` (that stage's model), ``chunk`` (candidates per job), ``max_candidates``
COMMON_OPTIONS: dict[str, Opt] = {"model": Opt(str), "chunk": Opt(int, _ge(1)), "max_candidates": Opt(int, _ge(1))}


@dataclass
class Candidate:
    """One structure in a campaign. ``structure`` is a pymatgen ``as_dict()`` (picklable, JSON-able)."""

    candidate_id: str
    fingerprint: str
    formula: str
    source: str
    structure: dict[str, Any]

    def pmg(self) -> Structure:
        return Structure.from_dict(self.structure)


@dataclass
class Stage(abc.ABC):
    """Base stage. Subclasses set ``name``, ``requires``, ``cost`` and implement :meth:`run`."""

    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    cost: ClassVar[int] = 0
    #: candidates per job: > 1 for stages whose :meth:`run_many` batches them into shared forward passes
    #: (option ``chunk`` overrides it; it changes how work is grouped, not the numbers, so it is not hashed)
    chunk: ClassVar[int] = 1
    #: part of the default funnel (``dsei screen`` with no ``--stages``)
    default: ClassVar[bool] = True
    #: options that only select candidates (filters) and do not change a result: not hashed into its key
    filter_options: ClassVar[tuple[str, ...]] = ()
    #: the model this stage uses when the campaign names none: the default of the property it computes
    #: (``dsei.models.DEFAULT_MODELS``), so ``dsei screen`` agrees with ``dsei elastic``/``stability``/``barrier``.
    #: None = the relax stage's model (stages that only read the relaxed structure).
    default_model: ClassVar[str | None] = DEFAULT_MODEL
    #: the options this stage reads, with types and ranges (:class:`Opt`); None = not declared (not checked)
    option_schema: ClassVar[dict[str, Opt] | None] = None

    model: str = DEFAULT_MODEL
    options: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        """Everything that changes this stage's numbers (hashed into the result key)."""
        skip = (*self.filter_options, "chunk")
        return {"stage": self.name, "model": self.model, **{k: v for k, v in self.options.items() if k not in skip}}

    def admit(self, upstream: dict[str, dict[str, Any]]) -> tuple[bool, str]:
        """Whether a candidate whose upstream results are ``upstream`` should run this stage (a filter)."""
        return True, ""

    def priority(self, upstream: dict[str, dict[str, Any]]) -> float:
        """Lower runs first; with option ``max_candidates`` only the first N admitted candidates run."""
        return 0.0

    @abc.abstractmethod
    def run(self, candidate: Candidate, upstream: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The stage's JSON-able result for one candidate; raise on failure (the pipeline records it)."""

    def run_many(self, candidates: list[Candidate], upstreams: list[dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Results for several candidates (same order). Default: one :meth:`run` each. If this raises, the
        executor falls back to :meth:`run` per candidate, so a batching stage may simply let errors escape."""
        return [self.run(c, u) for c, u in zip(candidates, upstreams, strict=True)]

    def accept(self, result: dict[str, Any]) -> bool:
        """Whether a candidate with this result goes on to later stages."""
        return True

    def structure_for(self, candidate: Candidate, upstream: dict[str, dict[str, Any]]) -> Structure:
        """The relax stage's structure when it relaxed the candidate with this stage's model, else the input
        one, which this stage's own calculation relaxes with its model exactly as the single-property command
        (``dsei elastic``, ``stability``, ``barrier``) would. Starting from another model's minimum instead
        can end elsewhere on a flat landscape (measured: acanthite Ag2S, whose cell SevenNet-0 swells by 16 %,
        B/G 2.50 from SevenNet-0's cell against 2.74 from the input with SevenNet-l3i5)."""
        relax = upstream.get("relax", {})
        if relax.get("structure") and relax.get("model") == self.model:
            return Structure.from_dict(relax["structure"])
        return candidate.pmg()

    def relaxed_with_own_model(self, upstream: dict[str, dict[str, Any]]) -> bool:
        """The relax stage converged this structure with this stage's model (so no second relaxation)."""
        relax = upstream.get("relax", {})
        return bool(relax.get("converged")) and relax.get("model") == self.model


@dataclass
class ValidateStage(Stage):
    """Reading already happened; here the model-specific checks (element coverage, site cap, overlaps)."""

    name: ClassVar[str] = "validate"
    cost: ClassVar[int] = 0
    default_model: ClassVar[str | None] = None  # checks the coverage of the model that relaxes the candidate
    option_schema: ClassVar[dict[str, Opt] | None] = {"max_sites": Opt(int, _ge(1))}

    def run(self, candidate, upstream):
        from dsei.relax import spacegroup
        from dsei.structures.validate import DEFAULT_MAX_SITES, validate_structure

        s = candidate.pmg()
        validate_structure(s, source=candidate.source, model=self.model, max_sites=self.options.get("max_sites", DEFAULT_MAX_SITES))
        sg = spacegroup(s)
        return {"formula": s.composition.reduced_formula, "nsites": len(s), "spacegroup": f"{sg[0]} ({sg[1]})"}


@dataclass
class RelaxStage(Stage):
    """Symmetry-preserving relaxation of the standardised cell (:func:`dsei.relax.relax_many` with
    ``standardize=True``: symmetrised, primitive, cell and positions by batched BFGS with the space group fixed)
    — the reference relaxation of the elastic tensor, so the elastic stage on the same model starts from a
    converged cell. Not converged → the candidate stops."""

    name: ClassVar[str] = "relax"
    requires: ClassVar[tuple[str, ...]] = ("validate",)
    cost: ClassVar[int] = 10
    # One candidate per job by default, although relaxing several per job (``[relax] chunk = 8``) shares the
    # forward passes and measured faster on the CPU (docs/benchmarks.md, "Executors"): a kill loses a whole
    # unfinished chunk, and batch partners move results by float noise, so executors that batch differently
    # (pool, Dask) would no longer give identical results.
    chunk: ClassVar[int] = 1
    option_schema: ClassVar[dict[str, Opt] | None] = {"fmax": Opt(float, _gt(0)), "steps": Opt(int, _ge(1))}

    def run(self, candidate, upstream):
        return self.run_many([candidate], [upstream])[0]

    def run_many(self, candidates, upstreams):
        """All candidates of the job relaxed together: one batched forward pass per optimizer step."""
        from dsei.relax import relax_many

        rs = relax_many(
            [c.pmg() for c in candidates],
            self.model,
            fmax=self.options.get("fmax", 0.01),
            steps=self.options.get("steps", 300),
            sources=[c.source for c in candidates],
            standardize=True,
        )
        out = []
        for r in rs:
            d = r.result.to_json_dict()
            d["structure"] = r.structure.as_dict()
            out.append(d)
        return out

    def accept(self, result):
        return bool(result.get("converged"))


@dataclass
class ElasticStage(Stage):
    """Elastic tensor, moduli and the ductility verdict (:func:`dsei.mechanics.elastic_many`).

    Starts from the relax stage's structure when that relaxation used this stage's model (the default route:
    :func:`dsei.campaign.pipeline.stage_models`); the reference relaxation of :func:`elastic_tensors` then
    stops at its first check (one batched evaluation) instead of relaxing a second time. The retries on another
    model or on the input cell start from the candidate's input structure, as ``dsei elastic`` would.
    ``accept``: not ``unstable`` (an unstable tensor has no moduli to rank); brittle phases stay in the table but
    ``max_pugh_for_neb``-style filters belong to the NEB stage.
    """

    name: ClassVar[str] = "elastic"
    requires: ClassVar[tuple[str, ...]] = ("relax",)
    cost: ClassVar[int] = 20
    default_model: ClassVar[str | None] = DEFAULT_ELASTIC_MODEL

    chunk: ClassVar[int] = 8
    #: the keyword options of :func:`dsei.mechanics.elastic_many` a config may set
    option_schema: ClassVar[dict[str, Opt] | None] = {
        "calibrate": Opt(bool), "relax": Opt(bool), "relax_ions": Opt(bool), "symprec": Opt(float, _gt(0)),
        "magnitudes": Opt(list, lambda v: None if v and all(0 < x < 0.1 for x in v) else "must be strains in (0, 0.1)", float),
        "fallback": Opt(str),
    }

    def settings(self) -> dict[str, Any]:
        """Options plus the method's own defaults (:func:`dsei.mechanics.elastic.method_signature`), so a store
        written by an older dsei with other defaults is recomputed, not silently reused."""
        from dsei.mechanics.elastic import method_signature

        return {**super().settings(), "method": method_signature()}

    def _options(self) -> dict[str, Any]:
        # only elastic_many's own keywords: ``chunk``/``max_candidates`` steer the pipeline (passing them on made
        # every candidate fail with a TypeError under ``[elastic] chunk = N``)
        return {k: v for k, v in self.options.items() if k not in COMMON_OPTIONS}

    def run(self, candidate, upstream):
        return self.run_many([candidate], [upstream])[0]

    def run_many(self, candidates, upstreams):
        """All candidates of the job through one :func:`elastic_many` call (batched forward passes)."""
        from dsei.mechanics import elastic_many

        structs = [self.structure_for(c, u) for c, u in zip(candidates, upstreams, strict=True)]
        inputs = [c.pmg() for c in candidates]
        out = []
        for c, res in zip(candidates, elastic_many(structs, self.model, inputs=inputs, **self._options()), strict=True):
            d = res.to_json_dict()
            d["source"] = c.source
            out.append(d)
        return out

    def accept(self, result):
        return result.get("verdict") != "unstable"


@dataclass
class StabilityStage(Stage):
    """Stability against the metal anode (:func:`dsei.chemistry.stability`): reduction potential vs M/M+,
    reaction and products at 0 V. Option ``anode`` (default Li)."""

    name: ClassVar[str] = "stability"
    requires: ClassVar[tuple[str, ...]] = ("relax",)
    cost: ClassVar[int] = 5
    default_model: ClassVar[str | None] = DEFAULT_CHEMISTRY_MODEL
    option_schema: ClassVar[dict[str, Opt] | None] = {"anode": Opt(str, _one_of("Li", "Na", "K", "Mg", "Ca", "Zn"))}

    def run(self, candidate, upstream):
        from dsei.chemistry import stability

        struct = self.structure_for(candidate, upstream)
        # the input structure's fingerprint is the candidate's (computed once, when it was read)
        fp = candidate.fingerprint if not self.relaxed_with_own_model(upstream) else None
        res = stability(struct, anode=self.options.get("anode", "Li"), model=self.model, fingerprint=fp)
        return res.to_json_dict()


@dataclass
class BVSEStage(Stage):
    """BVSE percolation barrier of the mobile ion (option ``ion``, default Li): seconds per structure,
    for ranking before NEB (:func:`dsei.transport.bvse`). Model-independent, but it runs on the
    model-relaxed structure, so its key includes the model."""

    name: ClassVar[str] = "bvse"
    requires: ClassVar[tuple[str, ...]] = ("relax",)
    cost: ClassVar[int] = 8
    default_model: ClassVar[str | None] = None
    option_schema: ClassVar[dict[str, Opt] | None] = {"ion": Opt(str, _element)}

    def run(self, candidate, upstream):
        from dsei.transport import bvse

        res = bvse(self.structure_for(candidate, upstream), ion=self.options.get("ion", "Li"), source=candidate.source)
        return res.to_json_dict()


@dataclass
class NEBStage(Stage):
    """Climbing-image NEB barriers and their percolation (:func:`dsei.transport.barrier`) for the finalists.

    Not in the default funnel (minutes per phase on a laptop): ask for it with ``--stages ...,neb`` or the
    config's ``stages``. Filters (options, not part of the result key): ``verdicts`` — elastic verdicts
    admitted (default ductile, uncertain); ``max_bvse_eV`` — BVSE barrier at most this (default 1.0 eV; a
    phase needs a BVSE result to be admitted); ``max_candidates`` — only the N lowest BVSE barriers (default 5).
    Result options: ``ion`` (Li), ``mechanism`` (auto), ``compensate``, ``min_image_A``, ``n_images``,
    ``fmax``, ``max_hops``.
    """

    name: ClassVar[str] = "neb"
    requires: ClassVar[tuple[str, ...]] = ("relax", "elastic", "bvse")
    cost: ClassVar[int] = 50
    default_model: ClassVar[str | None] = DEFAULT_BARRIER_MODEL
    default: ClassVar[bool] = False
    filter_options: ClassVar[tuple[str, ...]] = ("verdicts", "max_bvse_eV", "max_candidates")
    option_schema: ClassVar[dict[str, Opt] | None] = {
        "verdicts": Opt(list, _all_of("ductile", "brittle", "uncertain", "unstable"), str),
        "max_bvse_eV": Opt(float, _ge(0)),
        "ion": Opt(str, _element),
        "mechanism": Opt(str, _one_of("auto", "vacancy", "interstitial")),
        "compensate": Opt(str, _one_of("none", "schottky")),
        "min_image_A": Opt(float, _gt(0)),
        "n_images": Opt(int, _ge(1)),
        "fmax": Opt(float, _gt(0)),
        "max_hops": Opt(int, _ge(1)),
    }

    def __post_init__(self):
        self.options.setdefault("max_candidates", 5)

    def admit(self, upstream):
        verdicts = self.options.get("verdicts", ["ductile", "uncertain"])
        v = upstream.get("elastic", {}).get("verdict")
        if v not in verdicts:
            return False, f"verdict {v} not in {verdicts}"
        b = upstream.get("bvse", {}).get("barrier_eV")
        limit = self.options.get("max_bvse_eV", 1.0)
        if b is not None and limit is not None and b > limit:
            return False, f"BVSE barrier {b:.2f} eV > {limit} eV"
        return True, ""

    def priority(self, upstream):
        b = upstream.get("bvse", {}).get("barrier_eV")
        return float("inf") if b is None else float(b)

    def run(self, candidate, upstream):
        from dsei.transport.barrier import barrier

        keys = ("ion", "mechanism", "compensate", "min_image_A", "n_images", "fmax", "max_hops")
        kw = {k: self.options[k] for k in keys if k in self.options}
        # no second host relaxation when the relax stage converged this structure with the same model
        res = barrier(self.structure_for(candidate, upstream), model=self.model, method="neb",
                      relax_host=not self.relaxed_with_own_model(upstream), source=candidate.source, **kw)
        return res.to_json_dict()


STAGES: dict[str, type[Stage]] = {
    cls.name: cls for cls in (ValidateStage, RelaxStage, StabilityStage, BVSEStage, ElasticStage, NEBStage)
}


def register_stage(cls: type[Stage]) -> type[Stage]:
    """Class decorator for science modules: ``@register_stage`` adds a stage to the pipeline's menu."""
    STAGES[cls.name] = cls
    return cls


def check_stage_options(stage: str, options: dict[str, Any], source: Callable[[str], str]) -> None:
    """Every key of ``options`` is an option ``stage`` knows, of the right type and range; else
    :class:`~dsei.errors.InputError` naming ``source(key)`` (``--set relax.fmax`` or ``cfg.toml: [relax] fmax``)."""
    from dsei.errors import InputError

    cls = STAGES.get(stage)
    if cls is None:
        raise InputError(source(""), f"unknown stage {stage!r} (known: {', '.join(STAGES)})")
    if cls.option_schema is None:  # a plug-in stage that declares no options
        return
    schema = {**COMMON_OPTIONS, **cls.option_schema}
    for key, value in options.items():
        spec = schema.get(key)
        if spec is None:
            raise InputError(source(key), f"unknown option of stage {stage} (known: {', '.join(sorted(schema))})")
        problem = check_option_value(spec, value)
        if problem:
            raise InputError(source(key), problem)


def build_stage(name: str, model: str, options: dict[str, Any]) -> Stage:
    try:
        cls = STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r} (known: {', '.join(STAGES)})") from None
    return cls(model=model, options=dict(options))
