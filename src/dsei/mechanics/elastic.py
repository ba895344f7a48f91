"""Elastic tensors and the ductility verdict: ``dsei.elastic(structure, model=...) -> ElasticResult``.

Pipeline (one model; all structures of a call share every forward pass):

1. symmetrise the input (``ase.spacegroup.symmetrize.refine_symmetry``), reduce it to spglib's primitive
   cell and relax cell + positions with the space group fixed (batched BFGS over all structures,
   ``FrechetCellFilter`` + ``FixSymmetry``, :mod:`dsei.optimize`);
2. rotate the relaxed cell into spglib's standardised orientation, so that C is reported in its textbook
   form (C11 = C22 = C33 ... for cubic), and build the basis of Laue-class-allowed tensors from the point
   group (:mod:`dsei.mechanics.fit`);
3. apply the ULICS strain states of the Laue class at ±0.25 % and ±0.5 % (:mod:`dsei.mechanics.strains`) and
   relax the ions of every strained cell of every structure together: harmonic response from each
   structure's symmetry-reduced finite-difference Hessian and stress derivatives, all structures' displaced
   cells in one batched evaluation, no re-evaluation of the strained cells (:mod:`dsei.mechanics.ions`;
   structures whose strained cells carry no forces by symmetry need no Hessian);
4. fit C by least squares in the symmetry-allowed subspace with the residual stress as intercept;
5. calibrate the shear part (:mod:`dsei.mechanics.calibration`; on by default where it measured better
   under cross-validation, never for an unstable tensor), compute descriptors
   (:mod:`dsei.mechanics.descriptors`), ``p_ductile`` (:mod:`dsei.mechanics.confidence`) and the verdict
   (:mod:`dsei.mechanics.verdict`);
6. for a tensor that is not positive definite, the retries of :data:`RETRIES` (then :data:`LAST_MODEL`) before
   the verdict ``unstable``.

``model="committee"`` runs every member of :data:`dsei.models.COMMITTEE` and reports the mean tensor, the
spread (population standard deviation over members) of every modulus, and ``uncertain`` where members
disagree on the side of Pugh's threshold.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units
from pydantic import AliasChoices, Field
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dsei.errors import InputError
from dsei.mechanics import calibration as cal
from dsei.mechanics import confidence as conf
from dsei.mechanics.descriptors import MODULI_FIELDS, PUGH_THRESHOLD, describe
from dsei.mechanics.fit import cartesian_rotations, design_matrix, fit_tensor, invariant_basis
from dsei.mechanics.ions import CLAMP_LADDER_EV_A2, LINEAR_MAX_STEP_A, linear_response, pseudo_inverse
from dsei.mechanics.ions import relax_ions as _relax_ions
from dsei.mechanics.strains import DEFAULT_MAGNITUDES, deformed_cell, laue_class, strain_set
from dsei.mechanics.verdict import (
    PUGH_MARGIN_ABOVE,
    PUGH_MARGIN_BELOW,
    uncertain_band,
    verdict,
    verdict_from_probability,
)
from dsei.models import COMMITTEE, DEFAULT_ELASTIC_MODEL, Model, load_model
from dsei.models.registry import canonical_name
from dsei.optimize import batched_relax
from dsei.relax import standard_cell
from dsei.results import Result

#: Force threshold (eV/Å) for the reference relaxation (cell + ions) and for the ions of strained cells.
RELAX_FMAX = 0.01
#: Second opinion for a structure whose tensor is not positive definite with the requested model: that
#: structure is computed again with this model, and if its tensor is positive definite the result reports
#: its moduli with the verdict ``uncertain`` (the models disagree on stability, as committee members would)
#: and ``fallback_from`` naming the first model. Measured (docs/benchmarks.md, "Accuracy against DFT"):
#: SevenNet-l3i5 finds 38 of 800 held-out dev compounds unstable although DFT finds all stable; CHGNet is stable
#: for 23 of them and its B/G is on DFT's side of 1.75 for 18 (78 %, as often as the default model's own
#: verdicts). With the shipped calibration the fallback raises Pugh agreement from 77.8 to 80.2 % under 5-fold
#: CV on all 1,000. Where both are unstable the verdict stays ``unstable``. ``fallback=None`` turns it off.
FALLBACK_MODEL = "chgnet"
#: A last opinion, after every retry with the requested model (:data:`RETRIES`): SevenNet-MF-0 at r2SCAN
#: fidelity, trained on other data than both SevenNet-l3i5 and CHGNet. B2 LiAg, unstable with those two at every
#: protocol, is positive definite with it (tested). Its elastic tensors are not calibrated (62 % Pugh agreement
#: on 100 dev compounds, docs/benchmarks.md, "Accuracy against DFT"), so such a result is always ``uncertain``.
LAST_MODEL = "sevennet-mf-r2scan"


@functools.lru_cache(maxsize=1)
def method_signature() -> str:
    """A short tag of the defaults that change the numbers (strain magnitudes, relaxation tolerance, the shipped
    calibration): caches of elastic results (campaign store, design cache) key on it, so results computed by an
    older dsei with other defaults are recomputed, not silently reused."""
    import hashlib

    from dsei.mechanics.calibration import load_calibration

    payload = repr((list(DEFAULT_MAGNITUDES), RELAX_FMAX, "linear-ions", CLAMP_LADDER_EV_A2, sorted(load_calibration().items()), FALLBACK_MODEL,
                    sorted(conf.load_confidence().items()), RETRIES, LAST_MODEL, RETRY_RELAX_FMAX, RETRY_RELAX_STEPS, list(RETRY_MAGNITUDES)))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]
ION_FMAX = 0.005
RELAX_STEPS = 500
#: What is tried, in this order, for a structure whose tensor is not positive definite before it is reported
#: ``unstable`` (each only for the structures still unstable; the first positive-definite tensor is kept):
#: ``tight_relax`` — the same model with a tighter reference relaxation (:data:`RETRY_RELAX_FMAX`,
#: :data:`RETRY_RELAX_STEPS`: a cell stopped on a flat landscape short of the model's minimum, as SiNi was,
#: docs/mechanics.md, "Unstable results"); ``fallback`` — :data:`FALLBACK_MODEL`; ``input_cell`` — the same model
#: at the input lattice, ions relaxed (the DFT cell when the input is a DFT structure, e.g. from MP or the
#: library); ``small_strains`` — the same model with strains :data:`RETRY_MAGNITUDES` (a fit artefact of the
#: strain size, as MnPt's at ±1 %). ``verdict_reason`` and ``retries`` say what was tried and what worked.
RETRIES = ("tight_relax", "fallback", "input_cell", "small_strains")
RETRY_RELAX_FMAX = 1e-4
RETRY_RELAX_STEPS = 2000
RETRY_MAGNITUDES = (-0.0025, -0.001, 0.001, 0.0025)
_RETRY_LABELS = {
    "tight_relax": f"tighter relaxation (fmax {RETRY_RELAX_FMAX:g} eV/Å, ≤ {RETRY_RELAX_STEPS} steps)",
    "fallback": "fallback model",
    "input_cell": "input cell (lattice not relaxed)",
    "small_strains": "smaller strains (±0.1/±0.25 %)",
}
SYMPREC = 1e-3


class ElasticResult(Result):
    """JSON: ``{source, formula, model, C_GPa (6x6), K_vrh_GPa, G_vrh_GPa, E_GPa, poisson, pugh_ratio,
    cauchy_pressure_GPa, universal_anisotropy, born_stable, verdict, spread, ...}``.

    Moduli are null when the tensor is not positive definite (``verdict == "unstable"``). ``spread`` holds
    the committee standard deviation of every modulus (empty for a single model).

    Schema 1.1: ``volume_A3_per_atom`` became ``volume_per_atom_A3`` (quantity first, unit last); the old name is
    still read.
    """

    schema_version: str = "1.1"

    source: str | None = None
    formula: str
    model: str
    C_GPa: list[list[float]]
    K_vrh_GPa: float | None
    G_vrh_GPa: float | None
    E_GPa: float | None
    poisson: float | None
    pugh_ratio: float | None
    cauchy_pressure_GPa: float | None
    universal_anisotropy: float | None
    born_stable: bool
    verdict: str
    spread: dict[str, float | None] = Field(default_factory=dict)
    #: Calibrated probability that DFT's B/G ≥ 1.75 (:mod:`dsei.mechanics.confidence`); null when unstable, for
    #: committees, uncalibrated tensors and models without a shipped confidence model.
    p_ductile: float | None = None
    verdict_reason: str = ""
    pugh_uncertain_band: list[float] = Field(
        default_factory=lambda: [1.75 - PUGH_MARGIN_BELOW, 1.75 + PUGH_MARGIN_ABOVE]
    )
    K_voigt_GPa: float | None = None
    K_reuss_GPa: float | None = None
    G_voigt_GPa: float | None = None
    G_reuss_GPa: float | None = None
    min_eigenvalue_GPa: float | None = None
    vickers_hardness_GPa: float | None = None
    fracture_toughness_MPa_m05: float | None = None
    monroe_newman_ratio: float | None = None
    calibrated: bool = False
    C_uncalibrated_GPa: list[list[float]] | None = None
    spacegroup: str = ""
    laue_class: str = ""
    n_independent_constants: int = 0
    n_strained_cells: int = 0
    fit_rms_GPa: float = 0.0
    relaxed: bool = True
    relax_converged: bool = True
    relax_steps: int = 0
    #: Most re-evaluated ion steps of any strained cell: 0 where the harmonic (linear) response relaxed the ions
    #: without re-evaluating, or where no ion moves by symmetry; ``ions_relaxed`` says whether they were relaxed.
    ion_relax_max_steps: int = 0
    ions_relaxed: bool = True
    volume_per_atom_A3: float = Field(0.0, validation_alias=AliasChoices("volume_per_atom_A3", "volume_A3_per_atom"))
    members: list[dict] = Field(default_factory=list)
    #: the requested model when its tensor was not positive definite and the numbers come from the fallback
    #: model (``model``; see :data:`FALLBACK_MODEL`)
    fallback_from: str | None = None
    #: What was tried after a tensor that was not positive definite (:data:`RETRIES`): one entry per attempt,
    #: ``{"attempt", "model", "born_stable", "min_eigenvalue_GPa"}``; empty when the first tensor was stable.
    retries: list[dict] = Field(default_factory=list)
    time_s: float = 0.0

    def elastic_tensor(self):
        """``C_GPa`` as a pymatgen :class:`~pymatgen.analysis.elasticity.ElasticTensor` (GPa, full 3x3x3x3
        tensor from the Voigt matrix), for pymatgen's own analyses (``k_vrh``, directional moduli, ...)."""
        from pymatgen.analysis.elasticity import ElasticTensor

        return ElasticTensor.from_voigt(np.asarray(self.C_GPa, dtype=float))


@dataclass
class RawTensor:
    """One structure's fitted (uncalibrated) tensor and the bookkeeping of how it was obtained."""

    source: str | None
    formula: str
    model: str
    C_GPa: np.ndarray
    spacegroup: str
    laue_class: str
    n_constants: int
    n_cells: int
    fit_rms_GPa: float
    relaxed: bool
    relax_converged: bool
    relax_steps: int
    ion_steps: int
    ions_relaxed: bool
    volume_per_atom_A3: float
    structure: Structure
    time_s: float = 0.0
    #: The clamped-ion tensor from the same strained cells (their stresses before the ions moved).
    C_clamped_GPa: np.ndarray | None = None
    #: Why the clamped-ion tensor was reported although ions were to be relaxed ("" otherwise).
    ion_note: str = ""


# ------------------------------------------------------------------------------------------ geometry
def _dataset(atoms: Atoms, symprec: float):
    """spglib's symmetry dataset of ``atoms``, or None where spglib finds no space group."""
    import spglib

    try:
        # None only under spglib's old error handling (SPGLIB_OLD_ERROR_HANDLING set by the user)
        return spglib.get_symmetry_dataset((atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), symprec=symprec)
    except spglib.SpglibError:
        return None


def _standardize(atoms: Atoms, symprec: float):
    """Rotate ``atoms`` (in place) into spglib's standard orientation; return the spglib dataset (None when
    spglib finds no space group: the caller treats the cell as P1)."""
    ds = _dataset(atoms, symprec)
    if ds is None:
        return None
    r = np.asarray(ds.std_rotation_matrix, dtype=float)
    u, _, vt = np.linalg.svd(r)
    r = u @ vt
    if np.linalg.det(r) > 0 and not np.allclose(r, np.eye(3)):
        atoms.set_cell(atoms.cell[:] @ r.T, scale_atoms=True)
        ds = _dataset(atoms, symprec)
    return ds


@dataclass
class _Plan:
    atoms: Atoms
    laue: str
    spacegroup: str
    basis: np.ndarray
    strains: list[np.ndarray]
    rotations: np.ndarray


def _plan(atoms: Atoms, symprec: float, magnitudes: Sequence[float]) -> _Plan:
    ds = _standardize(atoms, symprec)
    if ds is None:
        sg_num, sg_sym, rots = 1, "P1", np.array([np.eye(3)])
    else:
        sg_num, sg_sym = int(ds.number), str(ds.international)
        rots = cartesian_rotations(atoms.cell[:], ds.rotations)
    laue = laue_class(sg_num)
    basis = invariant_basis(rots)
    # ULICS states of the Laue class; add states if the design is not full rank (never in practice).
    for extra in range(7):
        strains = strain_set(laue, magnitudes, extra)
        a = design_matrix(np.vstack([np.zeros(6), *strains]), basis)
        if np.linalg.matrix_rank(a) == a.shape[1] and np.linalg.cond(a) < 1e6:
            break
    return _Plan(atoms, laue, f"{sg_sym} ({sg_num})", basis, strains, np.asarray(rots))


def _to_atoms(s: Structure | Atoms) -> Atoms:
    return s.copy() if isinstance(s, Atoms) else AseAtomsAdaptor.get_atoms(s)


def _source(s, fallback: str | None = None) -> str | None:
    if isinstance(s, Structure):
        return (s.properties or {}).get("source") or fallback
    if isinstance(s, Atoms):
        return s.info.get("source", fallback)
    return fallback


# ------------------------------------------------------------------------------------------ tensors
def elastic_tensors(
    structures: Sequence[Structure | Atoms],
    model: str | Model,
    *,
    relax: bool = True,
    relax_cell: bool = True,
    relax_ions: bool = True,
    magnitudes: Sequence[float] = DEFAULT_MAGNITUDES,
    relax_fmax: float = RELAX_FMAX,
    relax_steps: int = RELAX_STEPS,
    ion_fmax: float = ION_FMAX,
    symprec: float = SYMPREC,
    ion_method: str = "linear",
    primitive: bool = True,
    progress=None,
) -> list[RawTensor]:
    """Fitted, uncalibrated elastic tensors (GPa, standard orientation) of many structures, one model.

    Every forward pass is shared by all structures: the reference relaxations run as one batched BFGS,
    then every strained cell of every structure as another. ``ion_method``: ``linear`` (default:
    harmonic relaxed-ion response from the reference cell's symmetry-reduced finite-difference Hessian
    and stress derivatives, no re-evaluation of the strained cells, unstable modes clamped), ``newton``
    (Newton steps with the same Hessian, stresses re-evaluated) or ``bfgs`` (batched BFGS per cell to
    |F| < ion_fmax); see :mod:`dsei.mechanics.ions`. ``primitive``: work on spglib's standardised
    primitive cell (same tensor, fewer atoms: a conventional rock-salt cell of 8 atoms becomes 2).
    ``relax_cell=False`` keeps the input lattice (ions still relaxed; the residual stress is the fit's
    intercept): the tensor at a given, e.g. experimental, volume (benchmarks/elastic_fixed_cell.py).
    """
    if ion_method not in ("linear", "newton", "bfgs"):
        raise ValueError(f"ion_method must be linear, newton or bfgs, not {ion_method!r}")
    m = model if isinstance(model, Model) else load_model(model)
    t0 = time.perf_counter()
    atoms_list = [standard_cell(s, symprec, primitive) for s in structures]
    if relax and atoms_list:
        if progress:
            progress(f"relaxing {len(atoms_list)} reference cell(s)")
        rinfo = batched_relax(atoms_list, m, fmax=relax_fmax, steps=relax_steps, relax_cell=relax_cell, fix_symmetry=True, symprec=symprec)
    else:
        rinfo = [None] * len(atoms_list)
    plans = [_plan(a, symprec, magnitudes) for a in atoms_list]
    cells, owner = _strained_cells(plans)
    if progress:
        progress(f"{len(cells)} strained cells" + (" (ions relaxed)" if relax_ions else ""))
    stresses, clamped, steps, cinfo = _strained_stresses(cells, owner, plans, m, relax_ions, ion_fmax, ion_method)
    elapsed = time.perf_counter() - t0
    out = []
    idx = 0
    for k, p in enumerate(plans):
        n = 1 + len(p.strains)
        block = slice(idx, idx + n)
        out.append(_raw_tensor(p, structures[k], m.name, stresses[block], clamped[block], max(steps[block]), rinfo[k],
                               relax, relax_ions, elapsed / max(1, len(plans)), cinfo[block] if cinfo else None))
        idx += n
    return out


def _strained_cells(plans: list[_Plan]) -> tuple[list[Atoms], list[int]]:
    """The unstrained and every strained cell of every plan, in order, and the plan each belongs to."""
    cells: list[Atoms] = []
    owner: list[int] = []
    for k, p in enumerate(plans):
        for e in [np.zeros(6), *p.strains]:
            c = p.atoms.copy()
            c.set_cell(deformed_cell(p.atoms.cell[:], e), scale_atoms=True)
            cells.append(c)
            owner.append(k)
    return cells, owner


def _strained_stresses(cells, owner, plans, m: Model, relax_ions: bool, ion_fmax: float, ion_method: str):
    """Stresses (GPa, Voigt) of every cell with ions relaxed (as asked) and clamped, and the ion steps of each."""
    if relax_ions:
        cinfo = _relax_ions(cells, owner, [p.atoms for p in plans], m, fmax=ion_fmax, method=ion_method)
        stresses = [ci.evaluation.stress_eV_per_A3 / units.GPa for ci in cinfo]
        clamped = [ci.initial_evaluation.stress_eV_per_A3 / units.GPa for ci in cinfo]
        steps = [ci.steps for ci in cinfo]
    else:
        stresses = clamped = [ev.stress_eV_per_A3 / units.GPa for ev in m.evaluate(cells)]
        steps = [0] * len(cells)
        cinfo = None
    return stresses, clamped, steps, cinfo


def _raw_tensor(p: _Plan, src, model_name: str, stresses, clamped, ion_steps: int, ri, relax: bool, relax_ions: bool,
                time_s: float, cinfo=None) -> RawTensor:
    """The fitted tensor of one plan from its cells' stresses (its softest internal modes kept clamped, or
    clamped-ion throughout, where the fully relaxed-ion one is not physical), with its bookkeeping."""
    strains = np.vstack([np.zeros(6), *p.strains])
    fit = fit_tensor(strains, np.array(stresses), p.basis)
    fit_clamped = fit_tensor(strains, np.array(clamped), p.basis)
    c_final, ions_ok, note = fit.C, relax_ions, ""
    if relax_ions and not _relaxation_is_physical(fit.C, fit_clamped.C):
        # Relaxing ions can only soften a tensor (C_clamped − C_relaxed ⪰ 0) and keeps a stable one
        # stable; when it does not, the model's reference structure is internally unstable (or marginal)
        # under strain along its softest internal modes. Keep those clamped, stiffening the cut-off step by
        # step, and let the stiffer modes relax; clamped-ion throughout only if no cut-off gives a tensor.
        c_final, ions_ok = fit_clamped.C, False
        note = "relaxed-ion tensor unphysical (model's internal instability under strain); clamped-ion reported"
        partial = _partially_clamped(strains, p.basis, cinfo, fit_clamped.C)
        if partial is not None:
            c_final, cut = partial
            ions_ok = True
            note = (f"relaxed-ion tensor unphysical with every internal mode relaxed; modes softer than {cut:g} eV/Å² "
                    "kept clamped")
    relaxed_struct = AseAtomsAdaptor.get_structure(p.atoms)
    return RawTensor(
        source=_source(src),
        formula=relaxed_struct.composition.reduced_formula,
        model=model_name,
        C_GPa=c_final,
        spacegroup=p.spacegroup,
        laue_class=p.laue,
        n_constants=fit.n_constants,
        n_cells=len(p.strains),
        fit_rms_GPa=fit.rms_residual,
        relaxed=relax,
        relax_converged=bool(ri.converged) if ri else True,
        relax_steps=int(ri.steps) if ri else 0,
        ion_steps=int(ion_steps),
        ions_relaxed=ions_ok,
        ion_note=note,
        volume_per_atom_A3=float(p.atoms.get_volume() / len(p.atoms)),
        structure=relaxed_struct,
        time_s=time_s,
        C_clamped_GPa=fit_clamped.C,
    )


#: A largest ionic step below this (Å) means no ion moved: a 0.5 % strain moves ions by ~10⁻² Å where any mode
#: couples to it.
NO_STEP_A = 1e-4


def _partially_clamped(strains: np.ndarray, basis, cinfo, c_clamped: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(Tensor, cut-off in eV/Å²) of the first cut-off of :data:`dsei.mechanics.ions.CLAMP_LADDER_EV_A2` whose
    harmonic relaxed-ion response (internal modes softer than it kept clamped; every cell's ionic step within
    :data:`dsei.mechanics.ions.LINEAR_MAX_STEP_A`) gives a physical tensor, or None: no force constants (nothing
    relaxed), no ion moving with the modes left (the tensor would be the clamped-ion one), or no cut-off working.
    No new evaluation of the model: the clamped cells and Φ are reused."""
    fc = next((ci.force_constants for ci in cinfo or [] if ci.force_constants is not None), None)
    if fc is None:
        return None
    for cut in CLAMP_LADDER_EV_A2:
        pinv = pseudo_inverse(fc.phi, cut)[0]
        resp = [linear_response(ci.initial_evaluation, fc, cut, pinv) for ci in cinfo]
        largest = max(step for _, step in resp)
        if largest > LINEAR_MAX_STEP_A:
            continue
        if largest < NO_STEP_A:
            return None  # no ion moves with only these modes relaxed (nor with fewer): that is the clamped-ion tensor
        c = fit_tensor(strains, np.array([st / units.GPa for st, _ in resp]), basis).C
        if _relaxation_is_physical(c, c_clamped):
            return c, cut
    return None


# ------------------------------------------------------------------------------------------ results
def _relaxation_is_physical(c_relaxed: np.ndarray, c_clamped: np.ndarray) -> bool:
    """Relaxed-ion C must be softer than clamped-ion C (C_clamped − C_relaxed positive semi-definite, within
    fit noise) and positive definite wherever the clamped-ion one is."""
    tol = 1.0 + 0.02 * float(np.abs(c_clamped).max())
    softer = float(np.linalg.eigvalsh(c_clamped - c_relaxed).min()) > -tol
    stable_kept = float(np.linalg.eigvalsh(c_relaxed).min()) > 0 or float(np.linalg.eigvalsh(c_clamped).min()) <= 0
    return softer and stable_kept


def _round_matrix(c: np.ndarray) -> list[list[float]]:
    return [[float(round(x, 4)) + 0.0 for x in row] for row in np.asarray(c)]


def _result_from_tensor(raw: RawTensor, c: np.ndarray, calibrated: bool, model_name: str, features: dict | None = None) -> ElasticResult:
    """``features``: the calibration's features of this tensor with ``ln_a_G`` (calibration.apply_with_features);
    with them, a calibrated tensor of a model with a confidence model gets ``p_ductile`` and its verdict from it."""
    d = describe(c, raw.volume_per_atom_A3).as_dict()
    below, above = uncertain_band(calibrated)
    band = [PUGH_THRESHOLD - below, PUGH_THRESHOLD + above]
    params = conf.parameters(model_name) if calibrated and features is not None else None
    p = None
    if params is not None and d["born_stable"] and d["pugh_ratio"] is not None and d["pugh_ratio"] > 0:
        p = float(round(conf.p_ductile(params, d["pugh_ratio"], features), 4))
        v, why = verdict_from_probability(d["pugh_ratio"], d["born_stable"], p, float(params["p_star"]))
        band = [float(round(x, 4)) for x in conf.pugh_band(params, features, float(params["p_star"]))]
    else:
        v, why = verdict(d["pugh_ratio"], d["born_stable"], below=below, above=above)
    if raw.ion_note:
        why = f"{why}; {raw.ion_note}"
    if not d["born_stable"]:
        for f in MODULI_FIELDS:
            d[f] = None
    return ElasticResult(
        source=raw.source,
        formula=raw.formula,
        model=model_name,
        C_GPa=_round_matrix(c),
        verdict=v,
        verdict_reason=why,
        p_ductile=p,
        calibrated=calibrated,
        pugh_uncertain_band=band,
        C_uncalibrated_GPa=_round_matrix(raw.C_GPa) if calibrated else None,
        spacegroup=raw.spacegroup,
        laue_class=raw.laue_class,
        n_independent_constants=raw.n_constants,
        n_strained_cells=raw.n_cells,
        fit_rms_GPa=raw.fit_rms_GPa,
        relaxed=raw.relaxed,
        relax_converged=raw.relax_converged,
        relax_steps=raw.relax_steps,
        ion_relax_max_steps=raw.ion_steps,
        ions_relaxed=raw.ions_relaxed,
        volume_per_atom_A3=raw.volume_per_atom_A3,
        time_s=raw.time_s,
        **d,
    )


_MEMBER_KEYS = ("model", "K_vrh_GPa", "G_vrh_GPa", "pugh_ratio", "born_stable", "verdict", "p_ductile", "calibrated", "spacegroup")


def _member_summary(r: ElasticResult) -> dict:
    d = r.to_json_dict()
    return {**{k: d[k] for k in _MEMBER_KEYS}, "min_eigenvalue_GPa": d.get("min_eigenvalue_GPa")}


def _committee_result(members: list[ElasticResult], raws: list[RawTensor], name: str) -> ElasticResult:
    cs = [np.array(r.C_GPa) for r in members]
    c_mean = np.mean(cs, axis=0)
    vol = float(np.mean([r.volume_per_atom_A3 for r in raws]))
    d = describe(c_mean, vol).as_dict()
    calibrated = bool(members) and all(r.calibrated for r in members)
    below, above = uncertain_band(calibrated)
    v, why = verdict(
        d["pugh_ratio"], d["born_stable"], [r.pugh_ratio for r in members], [r.born_stable for r in members], below, above
    )
    spread: dict[str, float | None] = {}
    for f in (*MODULI_FIELDS, "cauchy_pressure_GPa"):
        vals = [getattr(r, f) for r in members]
        spread[f] = float(np.std(vals)) if all(x is not None for x in vals) else None
    if not d["born_stable"]:
        for f in MODULI_FIELDS:
            d[f] = None
    first = raws[0]
    return ElasticResult(
        source=first.source,
        formula=first.formula,
        model=name,
        C_GPa=_round_matrix(c_mean),
        verdict=v,
        verdict_reason=why,
        spread=spread,
        calibrated=any(r.calibrated for r in members),
        pugh_uncertain_band=[PUGH_THRESHOLD - below, PUGH_THRESHOLD + above],
        spacegroup=first.spacegroup,
        laue_class=first.laue_class,
        n_independent_constants=first.n_constants,
        n_strained_cells=sum(r.n_cells for r in raws),
        fit_rms_GPa=max(r.fit_rms_GPa for r in raws),
        relaxed=first.relaxed,
        relax_converged=all(r.relax_converged for r in raws),
        relax_steps=max(r.relax_steps for r in raws),
        ion_relax_max_steps=max(r.ion_steps for r in raws),
        ions_relaxed=first.ions_relaxed,
        volume_per_atom_A3=vol,
        members=[{k: m.to_json_dict()[k] for k in _MEMBER_KEYS} for m in members],
        time_s=sum(r.time_s for r in raws),
        **d,
    )


def _with_fallback(first: ElasticResult, second: ElasticResult) -> ElasticResult:
    """``first`` is unstable; ``second`` is the same structure with the fallback model."""
    members = [_member_summary(first), _member_summary(second)]
    eig = _eig(first)
    if second.verdict == "unstable":
        return first.model_copy(update={
            "members": members,
            "verdict_reason": f"{first.verdict_reason} (smallest eigenvalue {eig}); {second.model} agrees (not positive definite either)",
            "time_s": first.time_s + second.time_s,
        })
    why = (
        f"{first.model}'s tensor is not positive definite (smallest eigenvalue {eig}); the moduli are "
        f"{second.model}'s, whose B/G = {second.pugh_ratio:.2f} alone would be {second.verdict}"
    )
    return second.model_copy(update={
        "verdict": "uncertain",
        "verdict_reason": why,
        "fallback_from": first.model,
        "members": members,
        "source": first.source,
        "time_s": first.time_s + second.time_s,
    })


def _results(raws: list[RawTensor], model_name: str, calibrate: bool | None) -> list[ElasticResult]:
    """Results of one model's raw tensors: calibrated where asked (None: the model's default), with
    ``p_ductile`` and its verdict where the model has a confidence model."""
    use_cal = cal.default_on(model_name) if calibrate is None else bool(calibrate)
    out = []
    for raw in raws:
        if use_cal:
            c, applied, feats = cal.apply_with_features(raw.C_GPa, model_name, raw.formula, raw.volume_per_atom_A3)
        else:
            c, applied, feats = raw.C_GPa, False, None
        out.append(_result_from_tensor(raw, c, applied, model_name, feats))
    return out


def _attempt(label: str, r: ElasticResult) -> dict:
    return {"attempt": label, "model": r.model, "born_stable": r.born_stable,
            "min_eigenvalue_GPa": None if r.min_eigenvalue_GPa is None else float(round(r.min_eigenvalue_GPa, 3))}


def _describe_attempt(t: dict, prefix: str = "") -> str:
    if t.get("error"):
        return f"{t['attempt']} ({t['model']}): failed ({t['error']})"
    eig = "n/a" if t["min_eigenvalue_GPa"] is None else f"{t['min_eigenvalue_GPa']:.1f} GPa"
    return f"{t['attempt']} ({t['model']}): {prefix}{eig}"


def _eig(r: ElasticResult) -> str:
    return f"{r.min_eigenvalue_GPa:.1f} GPa" if r.min_eigenvalue_GPa is not None else "n/a"


def _retry_unstable(structures, results: list[ElasticResult], todo: list[int], m: Model, fallback, kw: dict, inputs=None) -> None:
    """Try :data:`RETRIES` (then :data:`LAST_MODEL`) on the structures ``todo`` whose tensor from ``m`` is not
    positive definite, all structures of an attempt in one batched call; replace ``results[k]`` in place.
    The tighter relaxation and the smaller strains start from ``structures``; another model and the input cell
    start from ``inputs`` (the structures as the user gave them, before a caller's own relaxation; default
    ``structures``).

    A positive-definite tensor from the tighter relaxation is the model's own answer at its converged minimum:
    its verdict stands (from p_ductile where the model has one). From any other attempt (another model, a cell
    that is not the model's equilibrium, other strains) the moduli are reported with the verdict ``uncertain``,
    as for the fallback, and the reason gives the verdict that result alone would have."""
    tried: dict[int, list[dict]] = {k: [_attempt("standard", results[k])] for k in todo}
    first = {k: results[k] for k in todo}
    fb_name = None if fallback is None else (fallback.name if isinstance(fallback, Model) else canonical_name(fallback))
    steps = _retry_steps(m, fallback, fb_name, kw.get("relax", True))
    remaining = list(todo)
    fb_result: dict[int, ElasticResult] = {}
    cost = {k: results[k].time_s for k in todo}  # every attempt's time, charged to the structure
    for step, model in steps:
        if not remaining:
            break
        start = structures if inputs is None or step in ("tight_relax", "small_strains") else inputs
        group = [start[k] for k in remaining]
        label = _RETRY_LABELS.get(step, "other model")
        try:
            new = _retry_attempt(step, model, group, m, kw)
        except Exception as exc:  # noqa: BLE001 - a failed retry (e.g. a model not installed) must not lose the answer
            msg = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            for k in remaining:
                tried[k].append({"attempt": label, "model": getattr(model, "name", str(model)), "born_stable": False,
                                 "min_eigenvalue_GPa": None, "error": msg})
            continue
        still = []
        for k, r in zip(remaining, new, strict=True):
            tried[k].append(_attempt(label, r))
            cost[k] += r.time_s
            if r.verdict == "unstable":
                still.append(k)
                if step == "fallback":
                    fb_result[k] = r
                continue
            tries = "; ".join(_describe_attempt(t, "smallest eigenvalue ") for t in tried[k][:-1])
            p_txt = f", p_ductile = {r.p_ductile:.3f}" if r.p_ductile is not None else ""
            worked = f"{label} ({r.model}) gives a positive-definite tensor (smallest eigenvalue {_eig(r)})"
            time_s = cost[k]
            if step == "tight_relax":
                results[k] = r.model_copy(update={
                    "verdict_reason": f"{r.verdict_reason}; not positive definite at first ({tries}); {worked}",
                    "retries": tried[k], "source": first[k].source, "time_s": time_s})
            else:
                members = [_member_summary(first[k]), _member_summary(r)]
                why = (f"not positive definite: {tries}; {worked}, whose B/G = {r.pugh_ratio:.2f}{p_txt} alone would be "
                       f"{r.verdict}; reported uncertain")
                update = {"verdict": "uncertain", "verdict_reason": why, "members": members, "retries": tried[k],
                          "source": first[k].source, "time_s": time_s}
                if r.model != first[k].model:
                    update["fallback_from"] = first[k].model
                results[k] = r.model_copy(update=update)
        remaining = still
    for k in remaining:
        tries = "; ".join(_describe_attempt(t) for t in tried[k][1:])
        members = [_member_summary(first[k])] + ([_member_summary(fb_result[k])] if k in fb_result else [])
        results[k] = first[k].model_copy(update={
            "verdict_reason": f"{first[k].verdict_reason} (smallest eigenvalue {_eig(first[k])}); also not positive definite "
                              f"with: {tries}" + (f"; {fb_name} agrees (not positive definite either)" if fb_name else ""),
            "retries": tried[k], "members": members, "time_s": cost[k]})


def _retry_steps(m: Model, fallback, fb_name: str | None, relax: bool) -> list[tuple[str, object]]:
    """(step, model) of each retry in :data:`RETRIES` order that applies, then :data:`LAST_MODEL` unless already used."""
    steps: list[tuple[str, object]] = []
    for step in RETRIES:
        if step in ("tight_relax", "input_cell") and not relax:
            continue  # no relaxation asked for: the input cell is what was computed
        if step == "fallback":
            if fb_name is not None and fb_name != m.name:
                steps.append((step, fallback))
            continue
        steps.append((step, m))
    if LAST_MODEL not in (m.name, fb_name):
        steps.append(("last_model", LAST_MODEL))
    return steps


def _retry_attempt(step: str, model, group: list, m: Model, kw: dict) -> list[ElasticResult]:
    """The results of one retry ``step`` for the structures ``group``: another model, or model ``m`` with a tighter
    relaxation, the input cell or smaller strains."""
    if step in ("fallback", "last_model"):
        return elastic_many(group, model, fallback=None, retry=False, **kw)
    opts = dict(relax=kw.get("relax", True), relax_ions=kw.get("relax_ions", True), symprec=kw.get("symprec", SYMPREC),
                magnitudes=kw.get("magnitudes", DEFAULT_MAGNITUDES))
    if step == "tight_relax":
        opts.update(relax_fmax=RETRY_RELAX_FMAX, relax_steps=RETRY_RELAX_STEPS)
    elif step == "input_cell":
        opts.update(relax_cell=False)
    elif step == "small_strains":
        opts.update(magnitudes=RETRY_MAGNITUDES)
    return _results(elastic_tensors(group, m, **opts), m.name, kw.get("calibrate"))


def _members(model: str | Model) -> list[str | Model]:
    """The models behind ``model``: ``committee`` (:data:`dsei.models.COMMITTEE`), ``committee:A,B[,...]`` (any
    two or more models, e.g. ``committee:sevennet-l3i5,chgnet,sevennet``), or the one model named."""
    if isinstance(model, str):
        key = model.strip()
        if key.lower() == "committee":
            return list(COMMITTEE)
        if key.lower().startswith("committee:"):
            names = [canonical_name(n) for n in key.split(":", 1)[1].split(",") if n.strip()]
            if len(names) < 2 or len(set(names)) < len(names):
                raise InputError("model", f"{key!r}: a committee needs two or more different models, e.g. committee:sevennet-l3i5,chgnet")
            return names
    return [model]


def elastic_many(
    structures: Sequence[Structure | Atoms],
    model: str | Model = DEFAULT_ELASTIC_MODEL,
    *,
    calibrate: bool | None = None,
    relax: bool = True,
    relax_ions: bool = True,
    magnitudes: Sequence[float] = DEFAULT_MAGNITUDES,
    symprec: float = SYMPREC,
    fallback: str | Model | None = FALLBACK_MODEL,
    retry: bool = True,
    progress=None,
    inputs: Sequence[Structure | Atoms] | None = None,
) -> list[ElasticResult]:
    """Elastic results of many structures, every forward pass shared between them (one list per model).

    ``model``: a model name, a loaded :class:`~dsei.models.Model`, or ``"committee"``. ``calibrate``:
    apply the shipped per-model calibration (None = the model's default, on only where it measured
    better). ``relax``: relax the reference cell first; ``relax_ions``: relax ions in strained cells
    (relaxed-ion tensor; False = clamped-ion). ``fallback``: the model that gives a second opinion on
    structures whose tensor is not positive definite (:data:`FALLBACK_MODEL`; None = off; never for a
    committee, which reports such members itself). ``retry``: before reporting ``unstable``, try
    :data:`RETRIES` in order (the fallback among them), then :data:`LAST_MODEL` (False: only the fallback).
    ``progress``: called with a short description of each phase as it starts (reference relaxation, strained
    cells, retries), for a progress display; it changes nothing computed. ``inputs``: when ``structures`` were
    already relaxed with ``model`` by the caller (``dsei screen``'s relax stage), the structures as given (same
    order): the fallback, the last model and the input-cell retry start from them, as they would without the
    caller's relaxation.
    """
    structures = list(structures)
    if inputs is not None and len(inputs) != len(structures):
        raise ValueError(f"inputs: {len(inputs)} structures for {len(structures)}")
    if not structures:
        return []
    names = _members(model)
    per_member: list[tuple[list[RawTensor], list[ElasticResult]]] = []
    for mem in names:
        m = mem if isinstance(mem, Model) else load_model(mem)
        tell = None if progress is None else (lambda what, name=m.name: progress(f"{name}: {what}"))
        raws = elastic_tensors(structures, m, relax=relax, relax_ions=relax_ions, magnitudes=magnitudes, symprec=symprec, progress=tell)
        per_member.append((raws, _results(raws, m.name, calibrate)))
    if len(names) == 1:
        results = per_member[0][1]
        unstable = [k for k, r in enumerate(results) if r.verdict == "unstable"]
        if unstable and retry:
            m = names[0] if isinstance(names[0], Model) else load_model(names[0])
            kw = dict(calibrate=calibrate, relax=relax, relax_ions=relax_ions, magnitudes=magnitudes, symprec=symprec)
            if progress:
                progress(f"retrying {len(unstable)} structure(s) whose tensor is not positive definite")
            _retry_unstable(structures, results, unstable, m, fallback, kw, None if inputs is None else list(inputs))
        elif unstable and fallback is not None:
            fb_name = fallback.name if isinstance(fallback, Model) else canonical_name(fallback)
            if fb_name != results[0].model:
                kw = dict(calibrate=calibrate, relax=relax, relax_ions=relax_ions, magnitudes=magnitudes, symprec=symprec)
                start = structures if inputs is None else list(inputs)
                second = elastic_many([start[k] for k in unstable], fallback, fallback=None, retry=False, **kw)
                for k, r in zip(unstable, second, strict=True):
                    results[k] = _with_fallback(results[k], r)
        return results
    label = "committee" if str(model).strip().lower() == "committee" else "committee:" + ",".join(map(str, names))
    out = []
    for k in range(len(structures)):
        out.append(_committee_result([pm[1][k] for pm in per_member], [pm[0][k] for pm in per_member], label))
    return out


def elastic(
    structure: Structure | Atoms | str | Path,
    model: str | Model = DEFAULT_ELASTIC_MODEL,
    *,
    max_sites: int | None = None,
    **kwargs,
) -> ElasticResult:
    """Elastic tensor, descriptors and ductility verdict of one structure (file, library ID/formula,
    MP id, pymatgen Structure or ASE Atoms). See :func:`elastic_many` for the options."""
    from dsei.structures.validate import DEFAULT_MAX_SITES, prepare

    if isinstance(structure, Atoms):
        structure = AseAtomsAdaptor.get_structure(structure)
    names = _members(model)
    check = names[0] if len(names) == 1 else None
    struct = prepare(structure, check, DEFAULT_MAX_SITES if max_sites is None else max_sites)
    return elastic_many([struct], model, **kwargs)[0]
