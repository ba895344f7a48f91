"""Internal (ionic) relaxation of many strained cells at once, from the reference cell's force constants.

The ions of a strained cell relax by u = Φ⁻¹ F to first order, where F are the forces in the clamped
strained cell and Φ is the force-constant matrix (Γ-point Hessian) of the relaxed reference cell — the
same Φ for every strained cell of a structure — and its stress changes by (∂σ/∂r)·u. We obtain Φ and ∂σ/∂r
from the same displaced cells by central finite differences (±``h``), displacing only what symmetry does not
give for free (:func:`force_constants`; all structures in one batched evaluation). The default
(``method="linear"``) then needs no further evaluation: σ_relaxed = σ_clamped + (∂σ/∂r)·Φ⁺F is the standard
relaxed-ion tensor C_relaxed = C_clamped − Λᵀ Φ⁻¹ Λ / V (Wu, Vanderbilt & Hamann, Phys. Rev. B 72, 035105
(2005)) applied to the model's own non-linear clamped stresses. ``method="newton"`` instead moves the ions
and re-evaluates (up to 3 steps, until |F| < fmax); measured on 50 dev compounds the two agree within 1 GPa
on every constant for 45 and within 2 GPa for 48, with ``linear`` 30 % cheaper in all (docs/benchmarks.md, "Speed against matcalc").

Modes of negative or near-zero curvature (an internal instability of the model's reference structure)
are kept clamped rather than followed into another structure. ``method="bfgs"`` instead relaxes every
strained cell to |F| < fmax with batched BFGS (:func:`dsei.optimize.batched_relax`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from dsei.models.base import Evaluation, Model
from dsei.optimize import batched_relax

#: Finite-difference displacement for the Hessian (Å).
HESSIAN_STEP_A = 0.01
#: Largest Newton displacement of any atom in one step (Å); larger steps are scaled down. A 1 % strain
#: moves ions by a few hundredths of an Å; more means a soft mode.
MAX_NEWTON_STEP_A = 0.1
#: Largest harmonic displacement (Å) for which ``method="linear"`` trusts the linear response; beyond it the
#: cell is relaxed by re-evaluated Newton steps. Strains of ≤ 0.5 % move ions by ≲ 0.02 Å.
LINEAR_MAX_STEP_A = 0.05
#: Modes of the reference Hessian softer than this (eV/Å²) are kept clamped (not relaxed).
MIN_CURVATURE_EV_A2 = 0.05
#: Stricter curvature cut-offs (eV/Å²), tried in turn when relaxing every mode above
#: :data:`MIN_CURVATURE_EV_A2` gives a tensor that is not physical (``dsei.mechanics.elastic``): the softest
#: internal modes are then kept clamped and the rest still relax (:func:`linear_response`).
CLAMP_LADDER_EV_A2 = (0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass
class IonInfo:
    evaluation: Evaluation
    initial_evaluation: Evaluation
    steps: int
    converged: bool
    #: The reference cell's force constants (shared by all cells of a structure); None where none were needed.
    force_constants: ForceConstants | None = None


def _symmetry_ops(a: Atoms, symprec: float):
    """(representative atom of each atom, [(R_cart, perm)]) from spglib; identity only if it fails."""
    import spglib

    from dsei.mechanics.fit import cartesian_rotations

    n = len(a)
    ident = [(np.eye(3), np.arange(n))]
    frac = a.get_scaled_positions()
    try:
        ds = spglib.get_symmetry_dataset((a.cell[:], frac, a.numbers), symprec=symprec)
    except spglib.SpglibError:
        ds = None
    if ds is None:  # None: spglib's old error handling (SPGLIB_OLD_ERROR_HANDLING set by the user)
        return np.arange(n), ident
    rots = cartesian_rotations(a.cell[:], ds.rotations)
    ops = []
    for w, t, r in zip(ds.rotations, ds.translations, rots, strict=True):
        new = frac @ np.asarray(w, dtype=float).T + t
        d = new[:, None, :] - frac[None, :, :]
        d -= np.round(d)
        dist = np.linalg.norm(d @ a.cell[:], axis=2)
        perm = dist.argmin(axis=1)
        if dist[np.arange(n), perm].max() > 10 * symprec + 1e-6 or len(set(perm.tolist())) != n:
            continue  # not a clean permutation at this tolerance: skip the operation
        ops.append((r, perm))
    if not ops:
        return np.arange(n), ident
    return np.asarray(ds.equivalent_atoms), ops


def ions_clamped_by_symmetry(a: Atoms, symprec: float = 1e-3) -> bool:
    """True if symmetry alone keeps every ion of ``a`` where it is: each atom's site-symmetry group fixes
    no direction (the average of its Cartesian rotations is zero), so no force can act on it.

    Then the clamped-ion and relaxed-ion stresses of this cell are equal, and a strained cell that passes
    has the relaxed-ion stress σ = C·ε with its ions left at the homogeneously strained positions — the
    label scheme of ``scripts/finetune_elastic.py``. Atoms on an inversion centre always pass; fluorite's
    anions (site −43m) pass under hydrostatic strain but not under shear, where they move (internal strain).
    """
    _, ops = _symmetry_ops(a, symprec)
    for i in range(len(a)):
        site = [r for r, perm in ops if perm[i] == i]
        if np.abs(np.mean(site, axis=0)).max() > 1e-6:
            return False
    return True


@dataclass
class ForceConstants:
    """Γ-point response of a relaxed cell to moving its atoms (finite differences).

    ``phi``: force-constant matrix Φ (3N×3N, eV/Å²), Φ_{(i,x),(j,y)} = −∂F_{j,y}/∂r_{i,x};
    ``dstress``: ∂σ/∂r (3N×3×3, eV/Å³ per Å, ASE sign): the stress change per unit displacement of each
    atom along each Cartesian axis — by the Maxwell relation, the internal-strain tensor Λ (Wu, Vanderbilt &
    Hamann 2005) divided by −V. ``n_cells``: displaced cells actually evaluated.
    """

    phi: np.ndarray
    dstress: np.ndarray
    n_cells: int


def _voigt_to_matrix(v: np.ndarray) -> np.ndarray:
    xx, yy, zz, yz, xz, xy = np.asarray(v, dtype=float)
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def _displacement_plan(i: int, ops) -> tuple[list[np.ndarray], list[tuple[int, int, np.ndarray, np.ndarray]]]:
    """Displacements of atom ``i`` to evaluate, and how to get all six (±x, ±y, ±z) from them.

    Returns (unit vectors to evaluate, [(target d index 0..5, source index, R, perm)]): target ``d`` is the
    image of evaluated displacement ``source`` under the site-symmetry operation (R, perm) of atom ``i``
    (perm[i] = i). The same reduction as phonopy's (Togo & Tanaka, Scr. Mater. 108, 1 (2015)): an atom on an
    inversion centre or mirror needs +h only, a cubic site one displacement instead of six. Exact: the
    forces of a derived displacement are the rotated forces of an evaluated one.
    """
    targets = [s * np.eye(3)[x] for s in (1.0, -1.0) for x in range(3)]
    site = [(r, perm) for r, perm in ops if perm[i] == i]
    evaluated: list[np.ndarray] = []
    derive: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    for d, t in enumerate(targets):
        found = None
        for src, v in enumerate(evaluated):
            for r, perm in site:
                if np.allclose(r @ v, t, atol=1e-6):
                    found = (d, src, r, perm)
                    break
            if found:
                break
        if found is None:
            evaluated.append(t)
            derive.append((d, len(evaluated) - 1, np.eye(3), np.arange(len(ops[0][1]))))
        else:
            derive.append(found)
    return evaluated, derive


def force_constants(
    refs: list[Atoms], model: Model, h: float = HESSIAN_STEP_A, symprec: float = 1e-3
) -> list[ForceConstants]:
    """Φ and ∂σ/∂r of every structure in ``refs`` by central finite differences (±``h``), one batched evaluation.

    Only symmetry-inequivalent atoms are displaced, and of the six displacements ±x, ±y, ±z of such an
    atom only those its site symmetry does not generate (:func:`_displacement_plan`); the rows of the other
    atoms follow from Φ(π(i), π(j)) = R Φ(i, j) Rᵀ, ∂σ/∂r_π(i) = R (∂σ/∂r_i) Rᵀ for the space-group
    operation (R, π) that maps them onto each other. Written here rather than taken from phonopy: we need
    the Γ-point block of the primitive cell and the stress response in the same displaced cells, which
    phonopy does not collect, and the whole set of displaced cells of every structure in one batch.
    """
    cells, plans = [], []
    for a in refs:
        rep, ops = _symmetry_ops(a, symprec)
        reps = sorted(set(rep.tolist()))
        per_atom = {}
        start = len(cells)
        for i in reps:
            vecs, derive = _displacement_plan(i, ops)
            per_atom[i] = (len(cells), derive)
            cells.extend(_displaced(a, i, h * v) for v in vecs)
        plans.append((rep, ops, reps, per_atom, len(cells) - start))
    evs = model.evaluate(cells) if cells else []
    out = []
    for k, a in enumerate(refs):
        n = len(a)
        rep, ops, reps, per_atom, n_cells = plans[k]
        phi = np.zeros((3 * n, 3 * n))
        dsig = np.zeros((3 * n, 3, 3))
        filled = np.zeros(n, dtype=bool)
        rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i in reps:
            first, derive = per_atom[i]
            forces = [None] * 6
            stress = [None] * 6
            for d, src, r, perm in derive:
                ev = evs[first + src]
                f = np.asarray(ev.forces_eV_per_A, dtype=float)
                fd = np.empty_like(f)
                fd[perm] = f @ r.T  # F'_{π(j)} = R F_j
                forces[d] = fd
                stress[d] = r @ _voigt_to_matrix(ev.stress_eV_per_A3) @ r.T
            blk = np.zeros((3, 3 * n))
            dblk = np.zeros((3, 3, 3))
            for x in range(3):
                blk[x] = -(forces[x] - forces[x + 3]).reshape(-1) / (2 * h)
                dblk[x] = (stress[x] - stress[x + 3]) / (2 * h)
            rows[i] = (blk, dblk)
            phi[3 * i : 3 * i + 3, :] = blk
            dsig[3 * i : 3 * i + 3] = dblk
            filled[i] = True
        for r, perm in ops:
            for i in reps:
                b = perm[i]
                if filled[b]:
                    continue
                blk, dblk = rows[i]
                blocks = blk.reshape(3, n, 3)  # (x, j, y)
                for j in range(n):
                    phi[3 * b : 3 * b + 3, 3 * perm[j] : 3 * perm[j] + 3] = r @ blocks[:, j, :] @ r.T
                rot = np.array([r @ dblk[x] @ r.T for x in range(3)])  # response to moving b along R e_x
                dsig[3 * b : 3 * b + 3] = np.einsum("yx,xab->yab", r, rot)  # along e_y = Σ_x R_yx R e_x
                filled[b] = True
        if not filled.all():  # an orbit the operations did not reach: this structure without symmetry
            fc = _full_force_constants([a], model, h)[0]
            out.append(ForceConstants(fc.phi, fc.dstress, fc.n_cells + n_cells))
            continue
        out.append(ForceConstants(0.5 * (phi + phi.T), dsig, n_cells))
    return out


def _displaced(a: Atoms, i: int, delta_A: np.ndarray) -> Atoms:
    """A bare copy of ``a`` (no calculator, no constraints) with atom ``i`` moved by the vector ``delta_A`` (Å)."""
    c = a.copy()
    c.calc = None
    c.set_constraint()
    p = c.get_positions()
    p[i] += delta_A
    c.set_positions(p)
    return c


def _full_force_constants(refs: list[Atoms], model: Model, h: float) -> list[ForceConstants]:
    """Every atom displaced ±h along x, y, z (no symmetry): the reference for :func:`force_constants`."""
    cells, index = [], []
    for k, a in enumerate(refs):
        for i in range(len(a)):
            for x in range(3):
                for sgn in (1.0, -1.0):
                    cells.append(_displaced(a, i, sgn * h * np.eye(3)[x]))
                    index.append((k, i, x, sgn))
    evs = model.evaluate(cells) if cells else []
    phis = [np.zeros((3 * len(a), 3 * len(a))) for a in refs]
    dsigs = [np.zeros((3 * len(a), 3, 3)) for a in refs]
    for (k, i, x, sgn), ev in zip(index, evs, strict=True):
        phis[k][3 * i + x, :] -= sgn * ev.forces_eV_per_A.reshape(-1) / (2 * h)
        dsigs[k][3 * i + x] += sgn * _voigt_to_matrix(ev.stress_eV_per_A3) / (2 * h)
    return [ForceConstants(0.5 * (p + p.T), d, 6 * len(a)) for p, d, a in zip(phis, dsigs, refs, strict=True)]


def pseudo_inverse(phi: np.ndarray, min_curvature: float = MIN_CURVATURE_EV_A2) -> tuple[np.ndarray, float]:
    """(Φ⁺ restricted to modes with curvature > ``min_curvature``, lowest non-translational eigenvalue).

    Rigid translations are projected out; modes with negative or near-zero curvature (an internal
    instability of the model's reference structure, or numerical noise) are left clamped, so a Newton
    step never runs away along them.
    """
    n = phi.shape[0] // 3
    t = np.zeros((3 * n, 3))
    for x in range(3):
        t[x::3, x] = 1.0 / np.sqrt(n)
    proj = np.eye(3 * n) - t @ t.T
    w, v = np.linalg.eigh(proj @ phi @ proj)
    order = np.argsort(np.abs(w))
    rest = order[3:] if 3 * n > 3 else np.array([], dtype=int)  # drop the three translations
    lowest = float(w[rest].min()) if len(rest) else float("inf")
    keep = rest[w[rest] > min_curvature]
    if len(keep) == 0:
        return np.zeros_like(phi), lowest
    wk, vk = w[keep], v[:, keep]
    return (vk / wk) @ vk.T, lowest


def _matrix_to_voigt(m: np.ndarray) -> np.ndarray:
    return np.array([m[0, 0], m[1, 1], m[2, 2], m[1, 2], m[0, 2], m[0, 1]])


def relax_ions(
    cells: list[Atoms],
    owner: list[int],
    refs: list[Atoms],
    model: Model,
    *,
    fmax: float,
    method: str = "linear",
    max_newton: int = 3,
    bfgs_steps: int = 300,
) -> list[IonInfo]:
    """Relax the ions of every strained cell (positions only, cell fixed).

    ``owner[c]`` is the index in ``refs`` of the structure that cell ``c`` belongs to. ``method``:

    - ``linear`` (default): harmonic relaxed-ion response without re-evaluating the strained cells. With Φ
      and ∂σ/∂r of the reference cell (:func:`force_constants`), the ions of a strained cell with clamped
      forces F move by u = Φ⁺F and its stress becomes σ + (∂σ/∂r)·u — the textbook relaxed-ion tensor
      C_relaxed = C_clamped − Λᵀ Φ⁻¹ Λ / V (Wu, Vanderbilt & Hamann, PRB 72, 035105 (2005)), with the clamped
      stresses still the model's own non-linear ones. A cell whose u exceeds :data:`LINEAR_MAX_STEP_A`
      (anharmonic: a soft mode) falls back to ``newton``;
    - ``newton``: up to ``max_newton`` Newton steps with the same Φ⁺, stresses and forces re-evaluated after
      each step, until |F| < ``fmax``;
    - ``bfgs``: batched BFGS per cell until |F| < ``fmax`` (follows the model's full surface, including
      any instability).

    ``linear`` and ``newton`` use Φ restricted to its stable modes: where the model's reference structure has
    an unstable internal mode, that mode stays clamped instead of rolling into another structure. A
    structure none of whose strained cells carries a force above ``fmax`` (every atom on a site that strain
    cannot move, e.g. rock salt) costs no Hessian and is clamped-ion = relaxed-ion.
    """
    if method not in ("linear", "newton", "bfgs"):
        raise ValueError(f"ion relaxation method must be linear, newton or bfgs, not {method!r}")
    evs = model.evaluate(cells)
    first = list(evs)
    steps = [0] * len(cells)
    done = [_fmax_of(e) < fmax for e in evs]
    if method == "bfgs":
        _bfgs_ions(cells, model, fmax, bfgs_steps, evs, steps, done)
        return [IonInfo(evs[c], first[c], steps[c], done[c]) for c in range(len(cells))]
    # Structures that need a Hessian: at least one strained cell with forces above fmax.
    need = sorted({owner[c] for c in range(len(cells)) if not done[c]})
    pinv: dict[int, np.ndarray] = {}
    fcs: dict[int, ForceConstants] = {}
    if need:
        for k, fc in zip(need, force_constants([refs[k] for k in need], model), strict=True):
            fcs[k] = fc
            pinv[k] = pseudo_inverse(fc.phi)[0]
    if method == "newton":
        active = [c for c in range(len(cells)) if not done[c]]
    else:
        active = _linear_response(owner, fcs, pinv, evs, done)
    _newton_steps(cells, owner, model, fmax, max_newton, pinv, active, evs, steps, done)
    return [IonInfo(evs[c], first[c], steps[c], done[c], fcs.get(owner[c])) for c in range(len(cells))]


def linear_response(initial: Evaluation, fc: ForceConstants, min_curvature: float,
                    pinv: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(Relaxed-ion stress, eV/Å³ Voigt, largest ionic step, Å) of one strained cell from its clamped-ion
    evaluation, with only the internal modes stiffer than ``min_curvature`` (eV/Å²) relaxed: the harmonic
    response of :func:`relax_ions` (``method="linear"``) with a stricter cut-off. Used when relaxing every
    mode gives an unphysical tensor (``dsei.mechanics.elastic``): the softest modes, where the model's surface
    is closest to an instability, stay clamped and the stiffer ones, which carry most of the internal strain
    of an ordinary crystal, still relax. ``pinv``: ``pseudo_inverse(fc.phi, min_curvature)[0]`` when the caller
    already has it (one per structure and cut-off, not one per cell)."""
    if pinv is None:
        pinv = pseudo_inverse(fc.phi, min_curvature)[0]
    _, stress, step = _harmonic(initial, fc, pinv)
    return stress, step


def _harmonic(ev: Evaluation, fc: ForceConstants, pinv: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(u = Φ⁺F, Å; the stress after moving the ions by u, eV/Å³ Voigt; the largest atomic step |u|, Å)."""
    u = pinv @ np.asarray(ev.forces_eV_per_A, dtype=float).reshape(-1)
    step = float(np.sqrt((u.reshape(-1, 3) ** 2).sum(axis=1)).max()) if u.size else 0.0
    return u, ev.stress_eV_per_A3 + _matrix_to_voigt(np.einsum("n,nab->ab", u, fc.dstress)), step


def _fmax_of(ev: Evaluation) -> float:
    """Largest force on an atom (eV/Å)."""
    return float(np.sqrt((ev.forces_eV_per_A**2).sum(axis=1)).max())


def _bfgs_ions(cells, model: Model, fmax: float, bfgs_steps: int, evs, steps, done) -> None:
    """Batched BFGS (positions only) on the cells not yet done; ``evs``, ``steps``, ``done`` updated in place."""
    rest = [c for c in range(len(cells)) if not done[c]]
    if rest:
        binfo = batched_relax([cells[c] for c in rest], model, fmax=fmax, steps=bfgs_steps, relax_cell=False)
        for c, bi in zip(rest, binfo, strict=True):
            evs[c] = bi.evaluation
            steps[c] = bi.steps
            done[c] = bi.converged


def _linear_response(owner, fcs: dict[int, ForceConstants], pinv: dict[int, np.ndarray], evs, done) -> list[int]:
    """Harmonic relaxed-ion response of every cell of a structure with force constants (``evs`` and ``done``
    updated in place); returns the anharmonic cells (step above :data:`LINEAR_MAX_STEP_A`), which go on to Newton."""
    active = []
    for c in range(len(evs)):
        k = owner[c]
        if k not in fcs:
            continue
        f = evs[c].forces_eV_per_A.reshape(-1)
        u, sigma, step = _harmonic(evs[c], fcs[k], pinv[k])
        if step > LINEAR_MAX_STEP_A:
            active.append(c)
            continue
        residual = (f - fcs[k].phi @ u).reshape(-1, 3)
        evs[c] = Evaluation(float(evs[c].energy_eV - 0.5 * f @ u), residual, sigma)
        done[c] = True
    return active


def _newton_steps(cells, owner, model: Model, fmax: float, max_newton: int, pinv, active: list[int], evs, steps, done) -> None:
    """Up to ``max_newton`` Newton steps (Φ⁺ F, capped at :data:`MAX_NEWTON_STEP_A`) on the ``active`` cells, all
    moved cells re-evaluated together each step; ``cells``, ``evs``, ``steps``, ``done`` updated in place."""
    for _ in range(max_newton):
        if not active:
            break
        moved = []
        for c in active:
            f = evs[c].forces_eV_per_A.reshape(-1)
            du = (pinv[owner[c]] @ f).reshape(-1, 3)
            big = float(np.sqrt((du**2).sum(axis=1)).max())
            if big < 1e-6:
                continue  # only clamped (unstable/soft) modes carry force: nothing to relax
            if big > MAX_NEWTON_STEP_A:
                du *= MAX_NEWTON_STEP_A / big
            cells[c].set_positions(cells[c].get_positions() + du)
            moved.append(c)
        if not moved:
            break
        for c, ev in zip(moved, model.evaluate([cells[c] for c in moved]), strict=True):
            evs[c] = ev
            steps[c] += 1
            done[c] = _fmax_of(ev) < fmax
        active = [c for c in moved if not done[c]]
