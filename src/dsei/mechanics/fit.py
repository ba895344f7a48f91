"""Least-squares fit of the elastic tensor in the space of symmetry-allowed constants.

The point-group operations of the crystal (from spglib, turned into Cartesian rotations) define the
subspace of 6×6 Voigt stiffness matrices that are invariant under the group: we build it numerically as
the range of the group-average projector P(C) = 1/|G| Σ_g g·C (acting on the 21 independent components of
a symmetric Voigt matrix), so the constraints hold in whatever orientation the cell has and for every
setting (e.g. -3m1 vs -31m) without hand-written tables. Its dimension is the number of independent
constants (3 for cubic, 5 hexagonal, ..., 21 triclinic).

The fit solves σ_k = C(c) e_k + σ₀ for the coefficients c in that subspace and a constant residual stress
σ₀ (the stress left in the relaxed reference cell), so the fitted tensor is *exactly* symmetric — e.g.
C11 = C22 = C33, C12 = C13 = C23, C44 = C55 = C66 and all other entries zero for a cubic crystal — and the
residual stress never biases it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Voigt index pairs, order xx, yy, zz, yz, xz, xy.
VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
_UPPER = [(i, j) for i in range(6) for j in range(i, 6)]  # 21 independent entries


def voigt_to_tensor(c: np.ndarray) -> np.ndarray:
    """6×6 Voigt stiffness → 3×3×3×3 tensor (C_ijkl = C_IJ, no factors for stiffness)."""
    t = np.zeros((3, 3, 3, 3))
    for a, (i, j) in enumerate(VOIGT_PAIRS):
        for b, (k, q) in enumerate(VOIGT_PAIRS):
            v = c[a, b]
            t[i, j, k, q] = t[j, i, k, q] = t[i, j, q, k] = t[j, i, q, k] = v
    return t


def tensor_to_voigt(t: np.ndarray) -> np.ndarray:
    c = np.zeros((6, 6))
    for a, (i, j) in enumerate(VOIGT_PAIRS):
        for b, (k, q) in enumerate(VOIGT_PAIRS):
            c[a, b] = t[i, j, k, q]
    return c


def bond_matrix(rot: np.ndarray) -> np.ndarray:
    """6×6 Bond matrix M of a rotation: Voigt stress σ' = M σ for σ' = R σ Rᵀ, so that C' = M C Mᵀ
    (W. L. Bond, Bell Syst. Tech. J. 22, 1 (1943))."""
    r = np.asarray(rot, dtype=float)
    m = np.zeros((6, 6))
    for j, (k, q) in enumerate(VOIGT_PAIRS):
        e = np.zeros((3, 3))
        e[k, q] = e[q, k] = 1.0
        s = r @ e @ r.T
        m[:, j] = [s[a, b] for a, b in VOIGT_PAIRS]
    return m


def rotate_voigt(c: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """C' = R·C (C'_ijkl = R_ia R_jb R_kc R_ld C_abcd) for a Cartesian rotation ``rot``, via the Bond matrix."""
    m = bond_matrix(rot)
    return m @ np.asarray(c, dtype=float) @ m.T


def rotate_voigt_tensor(c: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """The same rotation through the full 3×3×3×3 tensor (reference implementation, used in tests)."""
    t = voigt_to_tensor(np.asarray(c, dtype=float))
    r = np.asarray(rot, dtype=float)
    return tensor_to_voigt(np.einsum("ia,jb,kc,ld,abcd->ijkl", r, r, r, r, t, optimize=True))


def _sym_from_vec(v: np.ndarray) -> np.ndarray:
    c = np.zeros((6, 6))
    for x, (i, j) in zip(v, _UPPER, strict=True):
        c[i, j] = c[j, i] = x
    return c


def _vec_from_sym(c: np.ndarray) -> np.ndarray:
    return np.array([c[i, j] for i, j in _UPPER])


def cartesian_rotations(cell: np.ndarray, frac_rotations: np.ndarray) -> np.ndarray:
    """spglib rotations (acting on fractional coordinates) → Cartesian rotation matrices.

    With lattice vectors as rows of ``cell`` (A = cellᵀ), R_cart = A W A⁻¹; re-orthogonalised by polar
    decomposition against round-off.
    """
    a = np.asarray(cell, dtype=float).T
    a_inv = np.linalg.inv(a)
    out = []
    for w in np.asarray(frac_rotations, dtype=float):
        r = a @ w @ a_inv
        u, _, vt = np.linalg.svd(r)
        out.append(u @ vt)
    return np.array(out)


def invariant_basis(rotations_cart: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Basis (k, 6, 6) of the symmetric Voigt stiffness matrices invariant under ``rotations_cart``.

    Only the point group's proper parts matter (the stiffness tensor is centrosymmetric), so the result
    depends on the Laue class only.
    """
    rots = [r * np.sign(np.linalg.det(r)) for r in np.asarray(rotations_cart, dtype=float)]
    if not rots:
        rots = [np.eye(3)]
    bonds = [bond_matrix(r) for r in rots]
    proj = np.zeros((21, 21))
    for col in range(21):
        e = np.zeros(21)
        e[col] = 1.0
        c = _sym_from_vec(e)
        acc = sum(m @ c @ m.T for m in bonds)
        proj[:, col] = _vec_from_sym(acc / len(rots))
    u, s, _ = np.linalg.svd(proj)
    rank = int((s > 0.5).sum())  # a projector's non-zero singular values are ≥ 1
    basis = u[:, :rank]
    # Clean the basis: small entries are round-off of exact zeros.
    basis[np.abs(basis) < tol * np.abs(basis).max()] = 0.0
    q, _ = np.linalg.qr(basis)
    return np.array([_sym_from_vec(q[:, k]) for k in range(rank)])


def symmetrize(c: np.ndarray, rotations_cart: np.ndarray) -> np.ndarray:
    """Group average of a Voigt stiffness matrix (projects it onto the Laue-class form)."""
    rots = [r * np.sign(np.linalg.det(r)) for r in np.asarray(rotations_cart, dtype=float)] or [np.eye(3)]
    c = 0.5 * (np.asarray(c, dtype=float) + np.asarray(c, dtype=float).T)
    return sum(rotate_voigt(c, r) for r in rots) / len(rots)


@dataclass
class TensorFit:
    """Result of :func:`fit_tensor`: C (GPa, Voigt), residual stress and fit quality."""

    C: np.ndarray
    residual_stress: np.ndarray
    rms_residual: float
    n_constants: int
    n_equations: int
    rank_ok: bool


def design_matrix(strains: np.ndarray, basis: np.ndarray, intercept: bool = True) -> np.ndarray:
    """Rows: stress components of every strain; columns: basis coefficients (+ 6 intercepts)."""
    strains = np.atleast_2d(np.asarray(strains, dtype=float))
    blocks = []
    for e in strains:
        cols = [b @ e for b in basis]
        block = np.stack(cols, axis=1) if cols else np.zeros((6, 0))
        if intercept:
            block = np.hstack([block, np.eye(6)])
        blocks.append(block)
    return np.vstack(blocks)


def fit_tensor(strains: np.ndarray, stresses: np.ndarray, basis: np.ndarray, intercept: bool = True) -> TensorFit:
    """Least-squares elastic tensor from engineering-Voigt ``strains`` (n, 6) and ``stresses`` (n, 6).

    Stresses tensile-positive (σ = C e). ``basis`` from :func:`invariant_basis`. With ``intercept`` a
    constant stress offset σ₀ is fitted too (the residual stress of the reference cell).
    """
    strains = np.atleast_2d(np.asarray(strains, dtype=float))
    stresses = np.atleast_2d(np.asarray(stresses, dtype=float))
    a = design_matrix(strains, basis, intercept)
    y = stresses.reshape(-1)
    coef, _, rank, _ = np.linalg.lstsq(a, y, rcond=None)
    k = len(basis)
    c = sum(coef[i] * basis[i] for i in range(k)) if k else np.zeros((6, 6))
    c = 0.5 * (c + c.T)
    resid = y - a @ coef
    sigma0 = coef[k:] if intercept else np.zeros(6)
    return TensorFit(
        C=c,
        residual_stress=np.asarray(sigma0, dtype=float),
        rms_residual=float(np.sqrt(np.mean(resid**2))) if len(resid) else 0.0,
        n_constants=k,
        n_equations=len(y),
        rank_ok=bool(rank == a.shape[1]),
    )
