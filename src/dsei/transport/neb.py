"""Climbing-image nudged elastic band (CI-NEB) with an MLIP, with batched image evaluation.

Steps (Henkelman, Uberuaga, Jónsson, J. Chem. Phys. 113, 9901 (2000); IDPP: Smidstrup et al., J. Chem. Phys.
140, 214106 (2014)):

1. The two end points are relaxed first (positions only, fixed cell; ASE BFGS) **together**: one batched
   :meth:`dsei.models.Model.evaluate` call per optimiser step for both (:func:`dsei.optimize.batched_relax`).
2. The band is interpolated with IDPP (ASE ``NEB.interpolate(method="idpp", mic=True)``), which keeps atoms
   apart where a straight line would make them collide.
3. ASE's ``NEB`` (improved tangent, climbing image) computes the projected NEB forces; what dsei changes is
   only where the image energies and forces come from: before ASE reads them, all moving images are
   evaluated in **one** ``model.evaluate`` call and handed to ASE as ``SinglePointCalculator`` results
   (:class:`BatchedNEB`). ASE's spring and climbing-image projections are untouched.

The band optimiser is ODE12r with a FIRE fallback, chosen by measurement (docs/benchmarks.md, "NEB speed and
optimiser"): see :data:`DEFAULT_OPTIMIZER`. Convergence is reported honestly: ``converged`` is true only if the largest
per-atom NEB force on every moving image — the climbing image included — is below ``fmax``.

The forward barrier is the highest image energy minus the start energy, with the end points in the profile:
if the climbing image slides onto an end point (no saddle in between), the barrier is the reaction energy
(or 0 for a downhill path), never negative; ``saddle_at_endpoint`` flags that case.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.mep import NEB
from pydantic import PrivateAttr
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dsei._warnings import quiet
from dsei.errors import CalculationError, DseiError
from dsei.models import DEFAULT_BARRIER_MODEL, Model, load_model
from dsei.results import Result

OPTIMIZERS = ("FIRE", "BFGS", "LBFGS", "MDMin", "ODE12r")
#: Band optimiser: ODE12r (ASE's ``NEBOptimizer``), the one that needed the fewest batched force calls in the
#: measured comparison (Li2O 23-atom vacancy hop, SevenNet-0: ODE12r 6, MDMin 7, BFGS and LBFGS 11, FIRE 21,
#: same barrier; docs/benchmarks.md, "NEB speed and optimiser"). ODE12r can give up when its adaptive step
#: collapses (LiF 53 atoms), so :func:`neb` continues with ``fallback_optimizer`` (FIRE by default). ASE BFGS
#: keeps a dense (3N·images)² Hessian, too costly for large bands.
DEFAULT_OPTIMIZER = "ODE12r"


class NEBResult(Result):
    """JSON: ``{barrier_eV, reverse_barrier_eV, profile_eV, reaction_coordinate_A, converged, steps, ...}``.

    ``profile_eV`` holds the image energies relative to the start image, end points included;
    ``reaction_coordinate_A`` the cumulative (minimum-image) distance along the band. ``barrier_eV`` and
    ``reverse_barrier_eV`` are ``None`` only when the calculation failed (``error`` says why).
    """

    model: str
    barrier_eV: float | None
    reverse_barrier_eV: float | None
    reaction_energy_eV: float | None
    profile_eV: list[float]
    reaction_coordinate_A: list[float]
    converged: bool
    steps: int
    force_calls: int
    max_force_eV_per_A: float | None
    fmax_eV_per_A: float
    n_images: int
    climb: bool
    saddle_index: int | None
    saddle_at_endpoint: bool
    optimizer: str
    optimizers_used: list[str] = []
    interpolation: str
    elapsed_s: float
    endpoint_relax_s: float
    endpoint_energies_eV: list[float]
    endpoint_converged: bool
    endpoint_steps: list[int]
    endpoint_max_force_eV_per_A: list[float]
    n_atoms: int
    error: str | None = None
    _images: list | None = PrivateAttr(default=None)

    @property
    def images(self) -> list[Structure] | None:
        """Final band (end points included) as Structures, when ``neb(..., return_images=True)``."""
        return self._images


class BatchedNEB(NEB):
    """ASE ``NEB`` whose moving images are evaluated together in one batched model call.

    Before ASE's own :meth:`get_forces` reads image energies and forces, the positions of all moving images
    are sent through ``model.evaluate`` (unless unchanged since the last call) and attached to the images as
    ``SinglePointCalculator`` results. End points carry their (fixed) results from the end-point relaxation.
    """

    def __init__(self, images: list[Atoms], model: Model, **kwargs):
        super().__init__(images, allow_shared_calculator=True, **kwargs)
        self.model = model
        self.force_calls = 0
        self._key: np.ndarray | None = None

    def _refresh(self) -> None:
        moving = self.images[1:-1]
        key = np.concatenate([a.positions.ravel() for a in moving])
        if self._key is not None and np.array_equal(key, self._key):
            return
        evs = self.model.evaluate(moving)
        self.force_calls += 1
        for a, ev in zip(moving, evs, strict=True):
            if not (np.isfinite(ev.energy_eV) and np.all(np.isfinite(ev.forces_eV_per_A))):
                raise CalculationError("NEB: the model returned non-finite energies or forces for an image")
            a.calc = SinglePointCalculator(a, energy=float(ev.energy_eV), forces=np.array(ev.forces_eV_per_A, dtype=float))
        self._key = key

    def get_forces(self):
        self._refresh()
        forces = super().get_forces()
        self._last_forces = forces
        return forces

    def get_residual(self):
        """Largest per-atom NEB force over **all** moving images, the climbing image included.

        ASE's residual leaves the climbing image out, so ``NEBOptimizer`` (ODE12r) could stop with an
        unconverged saddle; with this residual every optimiser stops on the criterion that ``converged`` reports.
        """
        if getattr(self, "_last_forces", None) is None:
            self.get_forces()
        return _max_atom_force(self._last_forces)


def _optimizer(name: str, neb: NEB):
    from ase.mep.neb import NEBOptimizer
    from ase.optimize import BFGS, FIRE, LBFGS, MDMin

    key = {o.lower(): o for o in OPTIMIZERS}.get(str(name).lower())
    if key is None:
        raise CalculationError(f"NEB optimizer must be one of {OPTIMIZERS}, not {name!r}")
    if key == "ODE12r":
        return key, NEBOptimizer(neb, method="ode", logfile=None)
    cls = {"FIRE": FIRE, "BFGS": BFGS, "LBFGS": LBFGS, "MDMin": MDMin}[key]
    return key, cls(neb, logfile=None)


def _atoms(x: Structure | Atoms) -> Atoms:
    a = x.copy() if isinstance(x, Atoms) else AseAtomsAdaptor.get_atoms(x)
    a.set_constraint()
    a.calc = None
    a.pbc = True
    return a


def _check_pair(a: Atoms, b: Atoms) -> None:
    if len(a) != len(b) or len(a) == 0:
        raise CalculationError(f"NEB: start and end have different numbers of atoms ({len(a)} vs {len(b)})")
    if a.get_chemical_symbols() != b.get_chemical_symbols():
        raise CalculationError("NEB: start and end must list the same elements in the same order")
    if not np.allclose(a.cell.array, b.cell.array, atol=1e-4):
        raise CalculationError("NEB: start and end must have the same cell")
    if not (np.all(np.isfinite(a.positions)) and np.all(np.isfinite(b.positions))):
        raise CalculationError("NEB: non-finite coordinates")


def _max_atom_force(forces: np.ndarray) -> float:
    f = np.asarray(forces, dtype=float).reshape(-1, 3)
    return float(np.sqrt((f**2).sum(axis=1)).max()) if len(f) else 0.0


def _reaction_coordinate(images: list[Atoms]) -> list[float]:
    from ase.geometry import find_mic

    out = [0.0]
    for a, b in zip(images[:-1], images[1:], strict=True):
        d, _ = find_mic(b.positions - a.positions, a.cell, pbc=True)
        out.append(out[-1] + float(np.linalg.norm(d)))
    return out


def _relax_endpoints(a: Atoms, b: Atoms, model: Model, fmax: float, steps: int, relax: bool):
    from dsei.optimize import batched_relax

    if relax:
        info = batched_relax([a, b], model, fmax=fmax, steps=steps, optimizer="BFGS", relax_cell=False)
        evs = [i.evaluation for i in info]
        return evs, all(i.converged for i in info), [i.steps for i in info], [i.max_force_eV_per_A for i in info]
    evs = model.evaluate([a, b])
    return evs, True, [0, 0], [_max_atom_force(e.forces_eV_per_A) for e in evs]


def _checked_optimizer(optimizer: str, fallback_optimizer: str | None) -> str:
    """The canonical name of ``optimizer`` (CalculationError when it or the fallback is not in :data:`OPTIMIZERS`)."""
    opt_name = {o.lower(): o for o in OPTIMIZERS}.get(str(optimizer).lower())
    if opt_name is None or (fallback_optimizer and str(fallback_optimizer).lower() not in {o.lower() for o in OPTIMIZERS}):
        raise CalculationError(f"NEB optimizers must be among {OPTIMIZERS}, not {optimizer!r} / {fallback_optimizer!r}")
    return opt_name


def _failed(base: dict[str, Any], t0: float, msg: str, **extra) -> NEBResult:
    """A result that carries ``error`` and no barrier (``extra``: what was obtained before the failure)."""
    fields = {
        "barrier_eV": None,
        "reverse_barrier_eV": None,
        "reaction_energy_eV": None,
        "profile_eV": [],
        "reaction_coordinate_A": [],
        "converged": False,
        "steps": 0,
        "force_calls": 0,
        "max_force_eV_per_A": None,
        "saddle_index": None,
        "saddle_at_endpoint": False,
        "endpoint_relax_s": 0.0,
        "endpoint_energies_eV": [],
        "endpoint_converged": False,
        "endpoint_steps": [],
        "endpoint_max_force_eV_per_A": [],
    }
    fields.update(extra)
    return NEBResult(**base, **fields, elapsed_s=time.perf_counter() - t0, error=msg)


def _endpoints_step(a: Atoms, b: Atoms, m: Model, fmax: float, max_steps: int, relax: bool) -> tuple[list, dict[str, Any]]:
    """Step 1: both end points relaxed together (or only evaluated); their evaluations and the ``endpoint_*`` fields
    (CalculationError on non-finite energies or forces)."""
    with quiet():
        ep_evs, ep_conv, ep_steps, ep_fmax = _relax_endpoints(a, b, m, fmax, max_steps, relax)
    for ev in ep_evs:
        if not (np.isfinite(ev.energy_eV) and np.all(np.isfinite(ev.forces_eV_per_A))):
            raise CalculationError("the model returned non-finite energies or forces for an end point")
    fields = {
        "endpoint_energies_eV": [float(e.energy_eV) for e in ep_evs],
        "endpoint_converged": ep_conv,
        "endpoint_steps": ep_steps,
        "endpoint_max_force_eV_per_A": ep_fmax,
    }
    return ep_evs, fields


def _interpolated_band(a: Atoms, b: Atoms, ep_evs: list, n_images: int, interpolation: str) -> list[Atoms]:
    """Step 2: the band, end points carrying their evaluations, moving images interpolated (minimum image)."""
    images = [a] + [a.copy() for _ in range(n_images)] + [b]
    for img, ev in ((a, ep_evs[0]), (b, ep_evs[1])):
        img.calc = SinglePointCalculator(img, energy=float(ev.energy_eV), forces=np.array(ev.forces_eV_per_A, dtype=float))
    with quiet():
        # a plain ASE NEB for the interpolation: IDPP swaps in its own calculators and then restores ours
        NEB(images, allow_shared_calculator=True).interpolate(method=interpolation, mic=True, apply_constraint=False)
    return images


def _optimise_band(band: BatchedNEB, opt_name: str, fallback_optimizer: str | None, fmax: float,
                   max_steps: int) -> tuple[int, list[str], str | None]:
    """Step 3: optimise the band; an optimiser that stops short of ``fmax`` with steps left (ODE12r gives up when
    its adaptive step collapses) hands it to ``fallback_optimizer``. Returns (steps, optimisers used, error)."""
    error = None
    steps = 0
    used = []
    for name in [opt_name] + ([fallback_optimizer] if fallback_optimizer else []):
        if steps >= max_steps or (used and band.get_residual() < fmax):
            break
        name, opt = _optimizer(name, band)
        used.append(name)
        with quiet():
            try:
                opt.run(fmax=fmax, steps=max_steps - steps)
            except DseiError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - model failure mid-band: report, do not crash
                error = f"{type(exc).__name__}: {exc}"
        steps += int(getattr(opt, "nsteps", 0))
        if error is not None:
            break
    return steps, used, error


def _band_energies(band: BatchedNEB, images: list[Atoms], ep_evs: list) -> tuple[list[float], float]:
    """Image energies along the band (end points included) and the largest per-atom NEB force."""
    forces = band.get_forces()
    max_f = _max_atom_force(forces)
    energies = [float(ep_evs[0].energy_eV)] + [float(img.get_potential_energy()) for img in images[1:-1]] + [float(ep_evs[1].energy_eV)]
    return energies, max_f


def _profile_fields(energies: list[float]) -> dict[str, Any]:
    """Profile relative to the start, forward/reverse barriers and reaction energy, where the saddle is."""
    e0 = energies[0]
    profile = [e - e0 for e in energies]
    imax = int(np.argmax(profile))
    emax = profile[imax]
    return {
        "barrier_eV": float(emax),
        "reverse_barrier_eV": float(emax - profile[-1]),
        "reaction_energy_eV": float(profile[-1]),
        "profile_eV": profile,
        "saddle_index": imax,
        "saddle_at_endpoint": imax in (0, len(profile) - 1),
    }


def _structures(images: list[Atoms]) -> list[Structure]:
    """The band as pymatgen Structures (positions, cell and species only)."""
    return [
        AseAtomsAdaptor.get_structure(Atoms(img.get_chemical_symbols(), positions=img.positions, cell=img.cell, pbc=True))
        for img in images
    ]


def neb(
    start: Structure | Atoms,
    end: Structure | Atoms,
    model: str | Model = DEFAULT_BARRIER_MODEL,
    n_images: int = 5,
    fmax: float = 0.05,
    climb: bool = True,
    relax_endpoints: bool = True,
    endpoint_fmax: float = 0.02,
    max_steps: int = 300,
    optimizer: str = DEFAULT_OPTIMIZER,
    fallback_optimizer: str | None = "FIRE",
    interpolation: str = "idpp",
    method: str = "improvedtangent",
    spring_k: float = 0.1,
    endpoint_max_steps: int = 300,
    return_images: bool = False,
) -> NEBResult:
    """Climbing-image NEB from ``start`` to ``end`` (same atoms in the same order, same cell) with ``model``.

    ``n_images`` moving images between the end points; ``fmax`` (eV/Å) on the NEB forces of every moving
    image; ``relax_endpoints``: relax both end points first (positions, fixed cell) to ``endpoint_fmax``;
    ``optimizer``: one of :data:`OPTIMIZERS`; if it stops above ``fmax`` with steps left,
    ``fallback_optimizer`` (``None``: no fallback) continues from there (``optimizers_used``; ``steps`` counts
    both); ``interpolation``: ``"idpp"`` or ``"linear"`` (both with the minimum-image convention). ``climb=True`` switches the climbing image on from the first step.

    Raises :class:`CalculationError` only for unusable input (mismatched end points, unknown optimizer);
    a band that fails to converge returns ``converged=False``, and one whose model evaluation fails mid-run
    (exception, non-finite numbers) returns ``converged=False`` with ``error`` set and ``barrier_eV=None``
    if no energies were obtained. With ``return_images=True`` the final images (pymatgen Structures) are
    available as ``result.images`` (not serialised).
    """
    t0 = time.perf_counter()
    if n_images < 1:
        raise CalculationError(f"NEB: n_images must be >= 1, not {n_images}")
    if interpolation not in ("idpp", "linear"):
        raise CalculationError(f"NEB: interpolation must be 'idpp' or 'linear', not {interpolation!r}")
    m = model if isinstance(model, Model) else load_model(model)
    a, b = _atoms(start), _atoms(end)
    _check_pair(a, b)
    opt_name = _checked_optimizer(optimizer, fallback_optimizer)
    base: dict[str, Any] = {"model": m.name, "fmax_eV_per_A": fmax, "n_images": n_images, "climb": climb, "optimizer": opt_name,
                            "interpolation": interpolation, "n_atoms": len(a)}
    try:  # 1. end points, relaxed together
        ep_evs, ep_fields = _endpoints_step(a, b, m, endpoint_fmax, endpoint_max_steps, relax_endpoints)
    except DseiError as exc:
        return _failed(base, t0, f"end-point evaluation failed: {exc}")
    except Exception as exc:  # noqa: BLE001 - a model failure must give a failed result, not a crash
        return _failed(base, t0, f"end-point evaluation failed: {type(exc).__name__}: {exc}")
    ep_fields["endpoint_relax_s"] = time.perf_counter() - t0
    images = _interpolated_band(a, b, ep_evs, n_images, interpolation)  # 2. band
    band = BatchedNEB(images, m, climb=climb, method=method, k=spring_k)
    steps, used, error = _optimise_band(band, opt_name, fallback_optimizer, fmax, max_steps)  # 3. optimise
    energies: list[float] = []
    max_f: float | None = None
    if error is None:
        try:
            energies, max_f = _band_energies(band, images, ep_evs)
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
    if error is not None or not energies:
        return _failed(base, t0, f"NEB failed: {error}", steps=steps, force_calls=band.force_calls, **ep_fields)
    result = NEBResult(
        **base, optimizers_used=used, **_profile_fields(energies), reaction_coordinate_A=_reaction_coordinate(images),
        converged=bool(max_f is not None and max_f < fmax), steps=steps, force_calls=band.force_calls,
        max_force_eV_per_A=max_f, elapsed_s=time.perf_counter() - t0, **ep_fields,
    )
    if return_images:
        result._images = _structures(images)
    return result
