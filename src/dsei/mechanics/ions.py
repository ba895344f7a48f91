"""Internal (ionic) relaxation of many strained cells at once by Newton steps with a shared Hessian.

The ions of a strained cell relax by u = Φ⁻¹ F to first order, where F are the forces in the clamped
strained cell and Φ is the force-constant matrix (Γ-point Hessian) of the relaxed reference cell — the
same Φ for every strained cell of a structure. We obtain Φ by central finite differences (±``h`` on each
Cartesian coordinate of each atom: 6N cells, all structures in one batched evaluation), take Newton steps
with its pseudo-inverse (acoustic translations projected out) for every strained cell at once, and repeat
with the updated forces until the largest force is below ``fmax`` (typically 1–2 steps: the strains are
≤ 1 %). This is the relaxed-ion tensor of the standard formula C_relaxed = C_clamped − Λᵀ Φ⁻¹ Λ / V
(Wu, Vanderbilt & Hamann, Phys. Rev. B 72, 035105 (2005)), but evaluated with the model's own non-linear
stresses at the relaxed positions.

Modes of negative or near-zero curvature (an internal instability of the model's reference structure)
are kept clamped rather than followed into another structure. ``method="bfgs"`` instead relaxes every
strained cell to |F| < fmax with batched BFGS (:func:`dsei.mechanics.batch_relax.batched_relax`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from dsei.mechanics.batch_relax import batched_relax
from dsei.models.base import Evaluation, Model

#: Finite-difference displacement for the Hessian (Å).
HESSIAN_STEP_A = 0.01
#: Largest Newton displacement of any atom in one step (Å); larger steps are scaled down. A 1 % strain
#: moves ions by a few hundredths of an Å; more means a soft mode.
MAX_NEWTON_STEP_A = 0.1
#: Modes of the reference Hessian softer than this (eV/Å²) are kept clamped (not relaxed).
MIN_CURVATURE_EV_A2 = 0.05


@dataclass
class IonInfo:
    evaluation: Evaluation
    initial_evaluation: Evaluation
    steps: int
    converged: bool


def _symmetry_ops(a: Atoms, symprec: float):
    """(representative atom of each atom, [(R_cart, perm)]) from spglib; identity only if it fails."""
    import spglib

    from dsei.mechanics.fit import cartesian_rotations

    n = len(a)
    ident = [(np.eye(3), np.arange(n))]
    frac = a.get_scaled_positions()
    ds = spglib.get_symmetry_dataset((a.cell[:], frac, a.numbers), symprec=symprec)
    if ds is None:
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


def hessians(
    refs: list[Atoms], model: Model, h: float = HESSIAN_STEP_A, symprec: float = 1e-3, ref_forces: list[np.ndarray] | None = None
) -> list[np.ndarray]:
    """Γ-point force-constant matrices (3N×3N, eV/Å²) of ``refs`` by finite differences, batched.

    Only symmetry-inequivalent atoms are displaced (along x, y, z); the rows of the other atoms follow
    from Φ(π(i), π(j)) = R Φ(i, j) Rᵀ for the space-group operation (R, π) that maps them onto each other.
    Central differences (±h), or forward differences (+h only, half the cells) when the forces of the
    undisplaced cells are given in ``ref_forces``.
    """
    signs = (1.0,) if ref_forces is not None else (1.0, -1.0)
    cells, index, sym = [], [], []
    for k, a in enumerate(refs):
        rep, ops = _symmetry_ops(a, symprec)
        reps = sorted(set(rep.tolist()))
        sym.append((rep, ops, reps))
        for i in reps:
            for x in range(3):
                for sgn in signs:
                    cells.append(_displaced(a, i, x, sgn * h))
                    index.append((k, i, x, sgn))
    evs = model.evaluate(cells) if cells else []
    rows = [dict() for _ in refs]  # k -> {rep atom: (3, 3N) block row}
    for (k, i, x, sgn), ev in zip(index, evs, strict=True):
        n = len(refs[k])
        blk = rows[k].setdefault(i, np.zeros((3, 3 * n)))
        # Φ_{(i,x),(j,y)} = −∂F_{j,y}/∂r_{i,x}
        if ref_forces is not None:
            blk[x, :] = -(ev.forces_eV_per_A.reshape(-1) - np.asarray(ref_forces[k]).reshape(-1)) / h
        else:
            blk[x, :] -= sgn * ev.forces_eV_per_A.reshape(-1) / (2 * h)
    out = []
    for k, a in enumerate(refs):
        n = len(a)
        rep, ops, reps = sym[k]
        phi = np.zeros((3 * n, 3 * n))
        filled = np.zeros(n, dtype=bool)
        for i in reps:
            phi[3 * i : 3 * i + 3, :] = rows[k][i]
            filled[i] = True
        for r, perm in ops:
            for i in reps:
                b = perm[i]
                if filled[b]:
                    continue
                blocks = rows[k][i].reshape(3, n, 3)  # (x, j, y)
                for j in range(n):
                    phi[3 * b : 3 * b + 3, 3 * perm[j] : 3 * perm[j] + 3] = r @ blocks[:, j, :] @ r.T
                filled[b] = True
        if not filled.all():  # an orbit the operations did not reach: this structure without symmetry
            out.append(_full_hessians([a], model, h)[0])
            continue
        out.append(0.5 * (phi + phi.T))
    return out


def _displaced(a: Atoms, i: int, x: int, delta_A: float) -> Atoms:
    """A bare copy of ``a`` (no calculator, no constraints) with atom ``i`` moved by ``delta_A`` along ``x``."""
    c = a.copy()
    c.calc = None
    c.set_constraint()
    p = c.get_positions()
    p[i, x] += delta_A
    c.set_positions(p)
    return c


def _full_hessians(refs: list[Atoms], model: Model, h: float) -> list[np.ndarray]:
    cells, index = [], []
    for k, a in enumerate(refs):
        for i in range(len(a)):
            for x in range(3):
                for sgn in (1.0, -1.0):
                    cells.append(_displaced(a, i, x, sgn * h))
                    index.append((k, i, x, sgn))
    evs = model.evaluate(cells) if cells else []
    out = [np.zeros((3 * len(a), 3 * len(a))) for a in refs]
    for (k, i, x, sgn), ev in zip(index, evs, strict=True):
        out[k][3 * i + x, :] -= sgn * ev.forces_eV_per_A.reshape(-1) / (2 * h)
    return [0.5 * (p + p.T) for p in out]


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


def relax_ions(
    cells: list[Atoms],
    owner: list[int],
    refs: list[Atoms],
    model: Model,
    *,
    fmax: float,
    method: str = "newton",
    max_newton: int = 3,
    bfgs_steps: int = 300,
) -> list[IonInfo]:
    """Relax the ions of every strained cell (positions only, cell fixed).

    ``owner[c]`` is the index in ``refs`` of the structure that cell ``c`` belongs to. ``method``:

    - ``newton`` (default): up to ``max_newton`` Newton steps with the reference cell's Hessian restricted
      to its stable modes (harmonic relaxed-ion response, robust where the model's reference structure
      has an unstable internal mode: such modes stay clamped instead of rolling into another structure);
    - ``bfgs``: batched BFGS per cell until |F| < ``fmax`` (follows the model's full surface, including
      any instability).
    """
    evs = model.evaluate(cells)
    first = list(evs)
    steps = [0] * len(cells)

    def fmax_of(ev):
        return float(np.sqrt((ev.forces_eV_per_A**2).sum(axis=1)).max())

    done = [fmax_of(e) < fmax for e in evs]
    if method == "bfgs":
        rest = [c for c in range(len(cells)) if not done[c]]
        if rest:
            binfo = batched_relax([cells[c] for c in rest], model, fmax=fmax, steps=bfgs_steps, relax_cell=False)
            for c, bi in zip(rest, binfo, strict=True):
                evs[c] = bi.evaluation
                steps[c] = bi.steps
                done[c] = bi.converged
        return [IonInfo(evs[c], first[c], steps[c], done[c]) for c in range(len(cells))]
    if method != "newton":
        raise ValueError(f"ion relaxation method must be newton or bfgs, not {method!r}")
    # Structures that need a Hessian: at least one strained cell with forces above fmax.
    need = sorted({owner[c] for c in range(len(cells)) if not done[c]})
    pinv: dict[int, np.ndarray] = {}
    if need:
        for k, phi in zip(need, hessians([refs[k] for k in need], model), strict=True):
            pinv[k] = pseudo_inverse(phi)[0]
    active = [c for c in range(len(cells)) if not done[c]]
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
            done[c] = fmax_of(ev) < fmax
        active = [c for c in moved if not done[c]]
    return [IonInfo(evs[c], first[c], steps[c], done[c]) for c in range(len(cells))]
