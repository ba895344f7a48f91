"""Pipeline stages: small objects with one ``run(candidate, upstream) -> dict`` method.

Each stage declares its name, the stages whose results it needs (``requires``), a cost rank (cheap first)
and its settings (hashed into the result key, so changing a threshold that changes the computation
recomputes that stage only). ``accept(result)`` is the filter a candidate must pass for later stages.

Stages are rebuilt in worker processes from ``(name, settings)`` (see :func:`build_stage`), so everything a
stage needs travels as plain data and models load once per worker (``load_model`` caches per process).

Science modules plug in by adding a stage class here and its name to :data:`STAGES`. A stage whose module
is not installed/available reports itself unavailable and is skipped with a reason, never faked.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pymatgen.core import Structure


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
    #: module that must import for the stage to be available (None = always available)
    module: ClassVar[str | None] = None

    model: str = "sevennet"
    options: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> dict[str, Any]:
        """Everything that changes this stage's numbers (hashed into the result key)."""
        return {"stage": self.name, "model": self.model, **self.options}

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if cls.module is None:
            return True, ""
        try:
            importlib.import_module(cls.module)
        except ImportError as exc:
            return False, f"module {cls.module} is not available ({exc})"
        return True, ""

    @abc.abstractmethod
    def run(self, candidate: Candidate, upstream: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The stage's JSON-able result for one candidate; raise on failure (the pipeline records it)."""

    def accept(self, result: dict[str, Any]) -> bool:
        """Whether a candidate with this result goes on to later stages."""
        return True

    def structure_for(self, candidate: Candidate, upstream: dict[str, dict[str, Any]]) -> Structure:
        """The relaxed structure when the relax stage ran, else the input one."""
        relaxed = upstream.get("relax", {}).get("structure")
        return Structure.from_dict(relaxed) if relaxed else candidate.pmg()


@dataclass
class ValidateStage(Stage):
    """Reading already happened; here the model-specific checks (element coverage, site cap, overlaps)."""

    name: ClassVar[str] = "validate"
    cost: ClassVar[int] = 0

    def run(self, candidate, upstream):
        from dsei.relax import spacegroup
        from dsei.structures.validate import DEFAULT_MAX_SITES, validate_structure

        s = candidate.pmg()
        validate_structure(s, source=candidate.source, model=self.model, max_sites=self.options.get("max_sites", DEFAULT_MAX_SITES))
        sg = spacegroup(s)
        return {"formula": s.composition.reduced_formula, "nsites": len(s), "spacegroup": f"{sg[0]} ({sg[1]})"}


@dataclass
class RelaxStage(Stage):
    """Symmetry-preserving relaxation (:func:`dsei.relax.relax`). Not converged → the candidate stops."""

    name: ClassVar[str] = "relax"
    requires: ClassVar[tuple[str, ...]] = ("validate",)
    cost: ClassVar[int] = 10

    def run(self, candidate, upstream):
        from dsei.relax import relax

        r = relax(
            candidate.pmg(),
            self.model,
            fmax=self.options.get("fmax", 0.01),
            steps=self.options.get("steps", 300),
            source=candidate.source,
        )
        out = r.result.to_json_dict()
        out["structure"] = r.structure.as_dict()
        return out

    def accept(self, result):
        return bool(result.get("converged"))


@dataclass
class ElasticStage(Stage):
    """Elastic tensor, moduli and the ductility verdict (:func:`dsei.mechanics.elastic_many`).

    Starts from the relaxed structure and does not relax it again when the relax stage converged at the
    mechanics tolerance with the symmetry fixed. ``accept``: not ``unstable`` (an unstable
    tensor has no moduli to rank); brittle phases stay in the table but ``max_pugh_for_neb``-style
    filters belong to the NEB stage.
    """

    name: ClassVar[str] = "elastic"
    requires: ClassVar[tuple[str, ...]] = ("relax",)
    cost: ClassVar[int] = 20
    module: ClassVar[str | None] = "dsei.mechanics"

    def run(self, candidate, upstream):
        from dsei.mechanics import elastic_many
        from dsei.mechanics.elastic import RELAX_FMAX

        options = dict(self.options)
        relax = upstream.get("relax", {})
        # the relax stage already converged at the mechanics tolerance: do not relax a second time
        if relax.get("converged") and relax.get("fmax_eV_per_A", 1.0) <= RELAX_FMAX and relax.get("fix_symmetry", False):
            options.setdefault("relax", False)
        res = elastic_many([self.structure_for(candidate, upstream)], self.model, **options)[0]
        out = res.to_json_dict()
        out["source"] = candidate.source
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
    module: ClassVar[str | None] = "dsei.chemistry"

    def run(self, candidate, upstream):
        from dsei.chemistry import stability

        res = stability(self.structure_for(candidate, upstream), anode=self.options.get("anode", "Li"), model=self.model)
        return res.to_json_dict()


@dataclass
class BVSEStage(Stage):
    """BVSE percolation barrier of the mobile ion (option ``ion``, default Li): seconds per structure,
    for ranking before NEB (:func:`dsei.transport.bvse`). Model-independent, but it runs on the
    model-relaxed structure, so its key includes the model."""

    name: ClassVar[str] = "bvse"
    requires: ClassVar[tuple[str, ...]] = ("relax",)
    cost: ClassVar[int] = 8
    module: ClassVar[str | None] = "dsei.transport"

    def run(self, candidate, upstream):
        from dsei.transport import bvse

        res = bvse(self.structure_for(candidate, upstream), ion=self.options.get("ion", "Li"), source=candidate.source)
        return res.to_json_dict()


STAGES: dict[str, type[Stage]] = {
    cls.name: cls for cls in (ValidateStage, RelaxStage, StabilityStage, BVSEStage, ElasticStage)
}


def register_stage(cls: type[Stage]) -> type[Stage]:
    """Class decorator for science modules: ``@register_stage`` adds a stage to the pipeline's menu."""
    STAGES[cls.name] = cls
    return cls


def build_stage(name: str, model: str, options: dict[str, Any]) -> Stage:
    try:
        cls = STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r} (known: {', '.join(STAGES)})") from None
    return cls(model=model, options=dict(options))
