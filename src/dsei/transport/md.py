"""Optional MLIP molecular dynamics: tracer diffusivity D(T), Arrhenius Ea, and Nernst–Einstein conductivity.

Off by default (it costs minutes to hours on a CPU, see ``docs/transport_md.md``). One NVT run per
temperature on a supercell of the host that already contains the mobile ion (for a Li-free host such as
Ag2S, give a lithiated or defective cell; ``vacancies=n`` removes ``n`` ions from the supercell):

1. **Thermostat: Bussi stochastic velocity rescaling** (G. Bussi, D. Donadio, M. Parrinello, J. Chem. Phys.
   126, 014101 (2007); ``ase.md.bussi.Bussi``). It samples the canonical ensemble like Langevin, but acts
   only on the total kinetic energy, so single-particle dynamics — and hence D — are barely perturbed
   (Langevin friction damps every atom's velocity and lowers D as the friction grows), and, unlike a single
   Nosé–Hoover thermostat, it stays ergodic in the stiff, small cells used here. Total momentum stays zero.
2. **MSD with every time origin** of the drift-corrected ion positions (framework centre-of-mass drift
   subtracted, as pymatgen's ``DiffusionAnalyzer`` does), fitted ``MSD = 6 D t + c`` between
   ``fit_window`` fractions of the production time, weights ∝ 1/t (the variance of a multi-origin MSD
   grows with the lag). The intercept absorbs the vibrational plateau. We compute the MSD here rather
   than with ``DiffusionAnalyzer`` because its ``smoothed="max"`` mode hard-codes a 1 ps start of the fit
   window and raises on the sub-ps to few-ps runs this optional, cheap mode is meant for; the estimator is
   otherwise the same (tested against it on a synthetic random walk).
3. **Statistical error of D: block averaging** — the production run is cut into ``n_blocks`` contiguous
   blocks, D is estimated in each with the same multi-origin fit, and σ_D = std(D_blocks)/√n_blocks. With
   few blocks that estimate is itself noisy, so σ_D is never allowed below the hop-counting error
   D/√N_eff, where N_eff = N_ion·6Dt/a² is the number of effective ion hops of length a (the nearest
   ion–ion distance) seen in the run; the statistical variance of MD diffusivities is governed by N_eff
   (X. He, Y. Zhu, A. Epstein, Y. Mo, npj Comput. Mater. 4, 18 (2018)).
4. **Flags.** A temperature with fewer than ``min_hops`` effective hops is ``no_diffusion`` (D unreliable);
   one whose framework atoms' MSD exceeds ``framework_msd_A2`` is ``framework_mobile`` (melted or
   amorphised; a different mechanism from the solid); an MD that raised or blew up is ``failed``. All three
   are left out of the Arrhenius fit, with the reason.
5. **Arrhenius**: weighted least squares of ln D against 1/T (weights 1/σ_lnD², σ_lnD = σ_D/D); covariance
   from the weights, inflated by the reduced χ² when it exceeds 1 (Birge ratio). pymatgen's
   ``fit_arrhenius`` is unweighted and gives no intercept error, so no error on an extrapolation; this fit
   gives Ea ± σ and the full covariance used to extrapolate ln D to 298.15 K and 243.15 K.
6. **Conductivity**: Nernst–Einstein σ = n z² e² D / (k_B T) with n the ion number density of the
   simulation cell and Haven ratio 1 assumed (tracer D taken as the charge diffusivity); its 1σ interval is
   exp(±σ_lnD) around the central value (log-normal).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from pymatgen.core import Structure
from scipy import constants

from dsei.errors import CalculationError, InputError
from dsei.models import DEFAULT_BARRIER_MODEL, Model, load_model
from dsei.results import Result
from dsei.transport.bvse import _ion_label
from dsei.transport.supercell import supercell_matrix

#: Boltzmann constant (J/K) and elementary charge (C): exact SI values since 2019 (CODATA 2018), from scipy.
KB_J = constants.k
E_CHARGE_C = constants.e
#: Boltzmann constant in eV/K, k/e (8.617333262…e-5; exact, where CODATA tables print it to 10 digits).
KB_EV = constants.k / constants.e
#: The paper's two test temperatures: 25 °C and −30 °C.
EXTRAPOLATE_K = (298.15, 243.15)
#: Effective hops below which D is flagged unreliable (``no_diffusion``).
MIN_HOPS = 10.0
#: Framework MSD (Å², at the longest fitted lag) above which the host is flagged melted/amorphised.
#: Thermal vibration of a solid's framework gives ~0.05–0.3 Å²; 1 Å² (1 Å RMS) is far past Lindemann's
#: melting criterion (RMS ≈ 0.1–0.15 of the nearest-neighbour distance).
FRAMEWORK_MSD_A2 = 1.0
#: Ion–ion distance (Å) used as hop length when the cell has a single ion or very distant ions.
MAX_HOP_A = 4.0
#: Å²/fs → cm²/s (= 0.1 exactly in floating point, in this order of operations).
A2_PER_FS_TO_CM2_PER_S = constants.angstrom**2 / constants.centi**2 / constants.femto
#: Å³ → cm³ (= 1e-24 exactly in floating point, in this order of operations).
CM3_PER_A3 = constants.angstrom**3 / constants.centi**3
#: fs per ps. Rounded: the float quotient pico/femto is 999.9999999999999, and step counts are rounded from it.
FS_PER_PS = round(constants.pico / constants.femto)


class ArrheniusFit(BaseModel):
    """ln D = ln D0 − Ea/(k_B T), with the covariance of (ln D0, slope) for extrapolation."""

    activation_energy_eV: float
    activation_energy_err_eV: float | None
    prefactor_D0_cm2_per_s: float
    ln_D0_err: float | None
    temperatures_K: list[float]
    n_points: int
    weighted: bool
    chi2_reduced: float | None
    #: 2×2 covariance of (ln D0, slope in K) — slope = −Ea/k_B.
    covariance: list[list[float]] | None

    def predict(self, temperature_K: float) -> tuple[float, float | None]:
        """Extrapolated D (cm²/s) at ``temperature_K`` and the 1σ error of ln D (None when unknown)."""
        slope = -self.activation_energy_eV / KB_EV
        d = math.exp(math.log(self.prefactor_D0_cm2_per_s) + slope / temperature_K)
        if self.covariance is None:
            return d, None
        g = np.array([1.0, 1.0 / temperature_K])
        var = float(g @ np.array(self.covariance) @ g)
        return d, math.sqrt(max(var, 0.0))


def arrhenius_fit(
    temperatures_K: Sequence[float],
    diffusivities_cm2_per_s: Sequence[float],
    errors_cm2_per_s: Sequence[float] | None = None,
) -> ArrheniusFit:
    """Weighted least-squares Arrhenius fit of ln D against 1/T (see the module docstring).

    With errors, weights are 1/σ_lnD² and the covariance is (XᵀWX)⁻¹, scaled by χ²_red when that exceeds 1
    (needs ≥ 3 points); without errors, an unweighted fit whose covariance comes from the residuals (needs
    ≥ 3 points, else no error).
    """
    t = np.asarray(temperatures_K, dtype=float)
    d = np.asarray(diffusivities_cm2_per_s, dtype=float)
    if t.shape != d.shape or t.ndim != 1:
        raise InputError("temperatures_K", "temperatures and diffusivities must be 1-D and the same length")
    if len(t) < 2 or len(set(t.tolist())) < 2:
        raise InputError("temperatures_K", "an Arrhenius fit needs at least two distinct temperatures")
    if np.any(t <= 0) or np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise InputError("diffusivities", "temperatures and diffusivities must be finite and positive")
    x = np.column_stack([np.ones_like(t), 1.0 / t])
    y = np.log(d)
    n = len(t)
    dof = n - 2
    weighted = errors_cm2_per_s is not None
    chi2_red = None
    if weighted:
        s = np.asarray(errors_cm2_per_s, dtype=float) / d
        if s.shape != t.shape or np.any(~np.isfinite(s)) or np.any(s <= 0):
            raise InputError("errors", "diffusivity errors must be finite, positive and one per temperature")
        w = 1.0 / s**2
        cov = np.linalg.inv(x.T @ (w[:, None] * x))
        beta = cov @ (x.T @ (w * y))
        if dof > 0:
            chi2_red = float(np.sum(w * (y - x @ beta) ** 2) / dof)
            cov = cov * max(1.0, chi2_red)
    else:
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        if dof > 0:
            s2 = float(np.sum((y - x @ beta) ** 2) / dof)
            cov = s2 * np.linalg.inv(x.T @ x)
        else:
            cov = None
    ea = -float(beta[1]) * KB_EV
    return ArrheniusFit(
        activation_energy_eV=ea,
        activation_energy_err_eV=None if cov is None else math.sqrt(cov[1, 1]) * KB_EV,
        prefactor_D0_cm2_per_s=math.exp(float(beta[0])),
        ln_D0_err=None if cov is None else math.sqrt(cov[0, 0]),
        temperatures_K=t.tolist(),
        n_points=n,
        weighted=weighted,
        chi2_reduced=chi2_red,
        covariance=None if cov is None else np.asarray(cov).tolist(),
    )


def multi_origin_msd(disp_A: np.ndarray, max_lags: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """MSD averaged over every time origin and all particles.

    ``disp_A``: unwrapped positions (or displacements), shape (n_frames, n_particles, 3). Returns
    ``(lags, msd_xyz)``: lag indices (frames) and the per-Cartesian-component MSD (n_lags, 3) in Å².
    At most ``max_lags`` lags, evenly spaced, are evaluated.
    """
    n_frames = disp_A.shape[0]
    lags = np.unique(np.linspace(1, n_frames - 1, min(max_lags, n_frames - 1)).round().astype(int))
    out = np.empty((len(lags), 3))
    for i, k in enumerate(lags):
        diff = disp_A[k:] - disp_A[:-k]
        out[i] = np.mean(diff**2, axis=(0, 1))
    return lags, out


def _fit_slope(t_fs: np.ndarray, y: np.ndarray) -> float:
    """Slope of ``y = m t + c``, weights ∝ 1/t (as pymatgen's ``get_diffusivity_from_msd``)."""
    if len(t_fs) < 2:
        return float("nan")
    w = 1.0 / np.sqrt(t_fs)
    a = np.column_stack([t_fs, np.ones_like(t_fs)])
    (m, _c), *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
    return float(m)


def diffusivity_from_positions(
    positions_A: np.ndarray, sample_fs: float, fit_window: tuple[float, float] = (0.1, 0.5)
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Tracer D (cm²/s) of the particles in ``positions_A`` (n_frames, n_particles, 3), drift already removed.

    Returns ``(D, D_xyz, t_fs, msd_A2)``: D from the slope of the total MSD over the fit window (fractions of
    the run), the Cartesian components D_i = slope_i/2 (cm²/s), and the MSD curve that was computed.
    """
    lags, msd_xyz = multi_origin_msd(positions_A)
    t = lags * sample_fs
    total = (positions_A.shape[0] - 1) * sample_fs
    sel = (t >= fit_window[0] * total - 1e-9) & (t <= fit_window[1] * total + 1e-9)
    msd = msd_xyz.sum(axis=1)
    slope = _fit_slope(t[sel], msd[sel])
    comps = np.array([_fit_slope(t[sel], msd_xyz[sel, j]) for j in range(3)])
    d = slope / 6.0 * A2_PER_FS_TO_CM2_PER_S
    return d, comps / 2.0 * A2_PER_FS_TO_CM2_PER_S, t, msd


class MDTemperature(BaseModel):
    """One NVT run. ``status``: ok | no_diffusion | framework_mobile | failed."""

    temperature_K: float
    mean_temperature_K: float | None = None
    status: str
    used_in_fit: bool = False
    reason: str | None = None
    diffusivity_cm2_per_s: float | None = None
    diffusivity_err_cm2_per_s: float | None = None
    diffusivity_block_err_cm2_per_s: float | None = None
    diffusivity_xyz_cm2_per_s: list[float] | None = None
    conductivity_S_per_cm: float | None = None
    effective_hops: float | None = None
    ion_msd_A2: float | None = None
    framework_msd_A2: float | None = None
    msd_t_fs: list[float] = []
    msd_A2: list[float] = []
    production_ps: float = 0.0
    elapsed_s: float = 0.0


class Extrapolated(BaseModel):
    temperature_K: float
    diffusivity_cm2_per_s: float
    ln_diffusivity_err: float | None
    conductivity_S_per_cm: float
    conductivity_low_S_per_cm: float | None
    conductivity_high_S_per_cm: float | None


class MDResult(Result):
    """JSON: ``{source, formula, ion, method: "md", model, supercell, temperatures: [...], activation_energy_eV,
    activation_energy_err_eV, extrapolated: [{temperature_K, conductivity_S_per_cm, ...}], ...}``."""

    source: str | None = None
    formula: str
    ion: str
    method: str = "md"
    model: str
    supercell: list[list[int]]
    n_atoms: int
    n_ions: int
    vacancies: int
    cell_formula: str
    ion_density_per_cm3: float
    thermostat: str = "bussi"
    thermostat_time_fs: float
    timestep_fs: float
    equilibration_ps: float
    time_ps: float
    sample_fs: float
    fit_window: tuple[float, float]
    n_blocks: int
    seed: int
    haven_ratio: float = 1.0
    error_method: str = "block average over time (n_blocks), floored at the hop-counting error D/sqrt(N_eff)"
    temperatures: list[MDTemperature]
    arrhenius: ArrheniusFit | None = None
    activation_energy_eV: float | None = None
    activation_energy_err_eV: float | None = None
    prefactor_D0_cm2_per_s: float | None = None
    extrapolated: list[Extrapolated] = []
    warnings: list[str] = []
    cost_s_per_ps_per_atom: float | None = None
    elapsed_s: float


def _hop_length(structure: Structure, ion: str) -> float:
    """Nearest ion–ion distance (periodic images included), capped at :data:`MAX_HOP_A`."""
    idx = [i for i, s in enumerate(structure) if s.specie.symbol == ion]
    if len(idx) < 2:
        return MAX_HOP_A
    sub = Structure(structure.lattice, [ion] * len(idx), structure.frac_coords[idx])
    dm = sub.distance_matrix + np.eye(len(idx)) * 1e9
    return float(min(dm.min(), MAX_HOP_A))


def build_cell(
    structure: Structure,
    ion: str,
    min_image_A: float,
    supercell: Sequence[int] | Sequence[Sequence[int]] | None,
    vacancies: int,
    seed: int,
    source: str,
) -> tuple[Structure, list[list[int]]]:
    """The MD cell: the supercell (explicit, else the fewest-atom one whose periodic images are ≥ ``min_image_A``
    apart, :func:`dsei.transport.supercell.supercell_matrix`) minus ``vacancies`` ions chosen with ``seed``."""
    if supercell is not None:
        mat = np.array(supercell, dtype=int)
        mat = np.diag(mat) if mat.shape == (3,) else mat
        if mat.shape != (3, 3) or round(abs(np.linalg.det(mat))) < 1:
            raise InputError("supercell", f"not a supercell: {supercell!r} (3 integers or a 3×3 integer matrix)")
    else:
        mat = np.array(supercell_matrix(structure, min_image_A), dtype=int)
    cell = structure.copy()
    cell.make_supercell(mat.tolist())
    if vacancies:
        idx = [i for i, s in enumerate(cell) if s.specie.symbol == ion]
        if vacancies < 0 or vacancies >= len(idx):
            raise InputError(source, f"cannot remove {vacancies} of the {len(idx)} {ion} in the supercell")
        rng = np.random.default_rng(seed)
        cell.remove_sites(sorted(rng.choice(idx, size=vacancies, replace=False).tolist()))
    return cell, mat.tolist()


def _thermalize_momenta():
    """ASE's Maxwell–Boltzmann momenta draw: ``thermalize_momenta`` (ase >= 3.29, where the older name
    ``MaxwellBoltzmannDistribution`` is deprecated and calls it), else that older name (ase 3.25–3.28): the same
    normal draw from ``rng``, so a seed gives the same velocities under both."""
    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # ase < 3.29
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    return thermalize_momenta


def _run_one(
    cell: Structure,
    model: Model,
    temperature_K: float,
    timestep_fs: float,
    thermostat_time_fs: float,
    n_equil: int,
    n_prod: int,
    sample_every: int,
    rng: np.random.Generator,
    on_steps=None,
) -> tuple[np.ndarray, list[float]]:
    """NVT (Bussi) MD; returns unwrapped positions every ``sample_every`` steps of production, and T samples."""
    from ase import units
    from ase.md.bussi import Bussi
    from ase.md.velocitydistribution import Stationary
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(cell)
    atoms.calc = model.calculator()
    _thermalize_momenta()(atoms, temperature_K=temperature_K, rng=rng)
    Stationary(atoms)
    if n_equil:
        # tight coupling while equilibrating: half the initial kinetic energy flows into the potential energy
        # within ~100 fs, and a short run would otherwise spend its production far below the target T
        tight = min(thermostat_time_fs, 10 * timestep_fs)
        Bussi(atoms, timestep_fs * units.fs, temperature_K, tight * units.fs, rng=rng).run(n_equil)
    if on_steps:
        on_steps(n_equil)
    dyn = Bussi(atoms, timestep_fs * units.fs, temperature_K, thermostat_time_fs * units.fs, rng=rng)
    # ASE integrators never wrap positions: atoms.positions stays unwrapped, as the MSD needs.
    frames = [atoms.positions.copy()]
    temps = []
    for _ in range(n_prod // sample_every):
        dyn.run(sample_every)
        pos = atoms.positions
        temp = atoms.get_temperature()
        if not np.all(np.isfinite(pos)) or not math.isfinite(temp) or temp > 5 * temperature_K + 500:
            raise CalculationError(f"MD at {temperature_K:g} K blew up (T = {temp:.0f} K): lower timestep_fs")
        frames.append(pos.copy())
        temps.append(temp)
        if on_steps:
            on_steps(n_equil + len(temps) * sample_every)
    return np.array(frames), temps


def _nernst_einstein_S_per_cm(density_per_cm3: float, charge: int, d_cm2_per_s: float, temperature_K: float) -> float:
    """Nernst–Einstein σ = n z² e² D / (k_B T) (S/cm), Haven ratio 1."""
    return density_per_cm3 * charge**2 * E_CHARGE_C**2 * d_cm2_per_s / (KB_J * temperature_K)


def _analyse(
    frames: np.ndarray,
    cell: Structure,
    ion: str,
    sample_fs: float,
    fit_window: tuple[float, float],
    n_blocks: int,
    hop_A: float,
    min_hops: float,
    framework_msd_A2: float,
    charge: int,
    density_per_cm3: float,
    temperature_K: float,
) -> dict:
    """D, its error, flags and conductivity from the sampled positions of one run."""
    is_ion = np.array([s.specie.symbol == ion for s in cell])
    ref = ~is_ion if (~is_ion).any() else is_ion
    drift = (frames[:, ref] - frames[0, ref]).mean(axis=1, keepdims=True)
    dc = frames - drift
    ions = dc[:, is_ion]
    d, d_xyz, t, msd = diffusivity_from_positions(ions, sample_fs, fit_window)
    prod_fs = (frames.shape[0] - 1) * sample_fs
    t_hi = fit_window[1] * prod_fs
    k_hi = int(np.argmin(np.abs(t - t_hi)))
    fw_msd = None
    if (~is_ion).any():
        lags, fw_xyz = multi_origin_msd(dc[:, ~is_ion])
        fw_msd = float(fw_xyz.sum(axis=1)[int(np.argmin(np.abs(lags * sample_fs - t_hi)))])
    d_pos = max(d, 0.0) if math.isfinite(d) else 0.0
    n_ions = int(is_ion.sum())
    hops = n_ions * 6.0 * (d_pos / A2_PER_FS_TO_CM2_PER_S) * prod_fs / hop_A**2
    block_err = None
    block_len = (frames.shape[0] - 1) // n_blocks if n_blocks >= 2 else 0
    if block_len >= 10:
        ds = [diffusivity_from_positions(ions[b * block_len : (b + 1) * block_len + 1], sample_fs, fit_window)[0] for b in range(n_blocks)]
        block_err = float(np.std(ds, ddof=1) / math.sqrt(n_blocks))
    counting = d_pos / math.sqrt(hops) if hops > 0 else float("inf")
    err = max(block_err or 0.0, counting)
    status, reason = "ok", None
    if fw_msd is not None and fw_msd > framework_msd_A2:
        status = "framework_mobile"
        reason = (
            f"framework MSD {fw_msd:.2f} Å² > {framework_msd_A2} Å² at {t_hi / FS_PER_PS:.2f} ps: the host melted or "
            "amorphised; D is not the solid's"
        )
    elif hops < min_hops:
        status = "no_diffusion"
        reason = f"only {hops:.1f} effective hops (< {min_hops:g}; ion MSD {msd[k_hi]:.2f} Å²): D unreliable, run longer or hotter"
    keep = np.unique(np.linspace(0, len(t) - 1, min(50, len(t))).round().astype(int))
    sigma = _nernst_einstein_S_per_cm(density_per_cm3, charge, d_pos, temperature_K)
    return {
        "status": status,
        "reason": reason,
        "diffusivity_cm2_per_s": d_pos,
        "diffusivity_err_cm2_per_s": err if math.isfinite(err) else None,
        "diffusivity_block_err_cm2_per_s": block_err,
        "diffusivity_xyz_cm2_per_s": [max(float(x), 0.0) for x in d_xyz],
        "conductivity_S_per_cm": sigma,
        "effective_hops": hops,
        "ion_msd_A2": float(msd[k_hi]),
        "framework_msd_A2": fw_msd,
        "msd_t_fs": t[keep].tolist(),
        "msd_A2": msd[keep].tolist(),
        "production_ps": prod_fs / FS_PER_PS,
    }


def md_diffusion(
    structure: Structure,
    ion: str = "Li",
    model: str | Model = DEFAULT_BARRIER_MODEL,
    temperatures_K: Sequence[float] = (800.0, 1000.0, 1200.0),
    time_ps: float = 10.0,
    timestep_fs: float = 2.0,
    equilibration_ps: float = 1.0,
    min_image_A: float = 8.0,
    supercell: Sequence[int] | Sequence[Sequence[int]] | None = None,
    vacancies: int = 0,
    seed: int = 0,
    sample_fs: float = 10.0,
    thermostat_time_fs: float = 100.0,
    fit_window: tuple[float, float] = (0.1, 0.5),
    n_blocks: int = 4,
    min_hops: float = MIN_HOPS,
    framework_msd_A2: float = FRAMEWORK_MSD_A2,
    extrapolate_K: Sequence[float] = EXTRAPOLATE_K,
    source: str | None = None,
    progress=None,
) -> MDResult:
    """NVT MLIP MD of ``structure`` at each temperature → D(T), Arrhenius Ea ± σ and σ(25 °C), σ(−30 °C).

    ``structure`` must contain ``ion`` (Li-free hosts: give a lithiated cell). The supercell is ``supercell``
    (3 integers or a 3×3 matrix) if given, else the fewest-atom one whose periodic images are ≥ ``min_image_A``
    apart;
    ``vacancies`` ions are then removed at random (``seed``) to create carriers. Each temperature runs
    ``equilibration_ps`` then ``time_ps`` of production at ``timestep_fs``, positions sampled every
    ``sample_fs``. A temperature whose MD fails is reported ``failed`` and the others still run.
    ``progress``: called as ``progress(steps_done, steps_total, temperature_K)`` as the MD goes (all temperatures).
    """
    element, label = _ion_label(ion)
    charge = int(label[len(element) : -1] or 1)
    source = source or (structure.properties or {}).get("source") or structure.composition.reduced_formula
    temps = _checked_md_inputs(structure, element, source, temperatures_K, time_ps, timestep_fs, sample_fs, min_image_A,
                               equilibration_ps, fit_window)
    plan = _Schedule.plan(time_ps, timestep_fs, sample_fs, equilibration_ps)
    cell, mat = build_cell(structure, element, min_image_A, supercell, vacancies, seed, source)
    m = _covering_model(model, structure, source)
    n_ions = sum(1 for s in cell if s.specie.symbol == element)
    density = n_ions / (cell.volume * CM3_PER_A3)
    analyse = partial(_analyse, cell=cell, ion=element, sample_fs=plan.sample_fs, fit_window=fit_window, n_blocks=n_blocks,
                      hop_A=_hop_length(cell, element), min_hops=min_hops, framework_msd_A2=framework_msd_A2, charge=charge,
                      density_per_cm3=density)
    t_start = time.perf_counter()
    rows, md_seconds = _run_temperatures(cell, m, temps, plan, thermostat_time_fs, seed, analyse, progress)
    fit, warnings = _arrhenius_of_rows(rows)
    extrap = _extrapolate(fit, extrapolate_K, density, charge, warnings)
    simulated_ps = sum(r.production_ps for r in rows if r.status != "failed") + equilibration_ps * sum(1 for r in rows if r.status != "failed")
    return MDResult(
        source=source, formula=structure.composition.reduced_formula, ion=element, model=m.name, supercell=mat,
        n_atoms=len(cell), n_ions=n_ions, vacancies=vacancies, cell_formula=cell.composition.formula.replace(" ", ""),
        ion_density_per_cm3=density, thermostat_time_fs=thermostat_time_fs, timestep_fs=timestep_fs,
        equilibration_ps=equilibration_ps, time_ps=plan.n_prod * timestep_fs / FS_PER_PS, sample_fs=plan.sample_fs,
        fit_window=tuple(fit_window), n_blocks=n_blocks, seed=seed, temperatures=rows, arrhenius=fit,
        activation_energy_eV=None if fit is None else fit.activation_energy_eV,
        activation_energy_err_eV=None if fit is None else fit.activation_energy_err_eV,
        prefactor_D0_cm2_per_s=None if fit is None else fit.prefactor_D0_cm2_per_s,
        extrapolated=extrap, warnings=warnings,
        cost_s_per_ps_per_atom=md_seconds / (simulated_ps * len(cell)) if simulated_ps > 0 else None,
        elapsed_s=time.perf_counter() - t_start,
    )


def _checked_md_inputs(structure: Structure, element: str, source: str, temperatures_K: Sequence[float], time_ps: float,
                       timestep_fs: float, sample_fs: float, min_image_A: float, equilibration_ps: float,
                       fit_window: tuple[float, float]) -> list[float]:
    """InputError for a host without the ion or an impossible option; the temperatures as floats."""
    formula = structure.composition.reduced_formula
    if element not in {el.symbol for el in structure.composition.elements}:
        raise InputError(
            source,
            f"no {element} in {formula}: MD follows the {element} ions already in the cell; give a lithiated or "
            f"{element}-containing (e.g. defective) cell, or use BVSE/NEB for interstitial {element} in this host",
        )
    temps = [float(t) for t in temperatures_K]
    if not temps or any(not math.isfinite(t) or t <= 0 for t in temps):
        raise InputError("temperatures_K", f"need positive temperatures, got {list(temperatures_K)!r}")
    for name, val in (("time_ps", time_ps), ("timestep_fs", timestep_fs), ("sample_fs", sample_fs), ("min_image_A", min_image_A)):
        if not (math.isfinite(val) and val > 0):
            raise InputError(name, f"must be positive, got {val!r}")
    if equilibration_ps < 0:
        raise InputError("equilibration_ps", f"must be ≥ 0, got {equilibration_ps!r}")
    if not (0 <= fit_window[0] < fit_window[1] <= 1):
        raise InputError("fit_window", f"need 0 ≤ start < end ≤ 1 (fractions of the run), got {fit_window!r}")
    return temps


@dataclass(frozen=True)
class _Schedule:
    """MD steps of one temperature: equilibration, production, and the sampling stride."""

    timestep_fs: float
    sample_every: int
    n_prod: int
    n_equil: int

    @classmethod
    def plan(cls, time_ps: float, timestep_fs: float, sample_fs: float, equilibration_ps: float) -> _Schedule:
        """Whole multiples of the stride; InputError when production gives fewer than 8 samples."""
        sample_every = max(1, round(sample_fs / timestep_fs))
        n_prod = max(sample_every, round(time_ps * FS_PER_PS / timestep_fs))
        n_prod -= n_prod % sample_every
        if n_prod // sample_every < 8:
            raise InputError("time_ps", f"{time_ps} ps gives {n_prod // sample_every} samples; need ≥ 8 (lengthen time_ps or lower sample_fs)")
        return cls(timestep_fs, sample_every, n_prod, round(equilibration_ps * FS_PER_PS / timestep_fs))

    @property
    def sample_fs(self) -> float:
        """Time between samples (fs), a whole number of steps."""
        return self.sample_every * self.timestep_fs

    @property
    def steps(self) -> int:
        """MD steps per temperature (for ``progress``)."""
        return self.n_equil + (self.n_prod // self.sample_every) * self.sample_every


def _covering_model(model: str | Model, structure: Structure, source: str) -> Model:
    """The loaded model; InputError when it does not cover every element of ``structure``."""
    m = model if isinstance(model, Model) else load_model(model)
    missing = m.missing_elements({el.symbol for el in structure.composition.elements})
    if missing:
        raise InputError(source, f"elements not covered by {m.name}: {', '.join(sorted(missing))}")
    return m


def _run_temperatures(cell: Structure, m: Model, temps: list[float], plan: _Schedule, thermostat_time_fs: float, seed: int,
                      analyse, progress) -> tuple[list[MDTemperature], float]:
    """One NVT run per temperature (random stream ``[seed, i]``), analysed; a run that raises is a ``failed`` row
    and the others still run. Returns the rows and the seconds spent in runs that finished."""
    md_seconds = 0.0
    rows: list[MDTemperature] = []
    per_t = plan.steps
    for i, temp in enumerate(temps):
        t0 = time.perf_counter()
        rng = np.random.default_rng([seed, i])
        tick = None if progress is None else (lambda n, i=i, temp=temp: progress(i * per_t + n, len(temps) * per_t, temp))
        try:
            frames, tsamples = _run_one(cell, m, temp, plan.timestep_fs, thermostat_time_fs, plan.n_equil, plan.n_prod,
                                        plan.sample_every, rng, tick)
        except Exception as exc:  # noqa: BLE001 - one failed temperature must not lose the others
            rows.append(
                MDTemperature(temperature_K=temp, status="failed", reason=" ".join(str(exc).split()) or type(exc).__name__, elapsed_s=time.perf_counter() - t0)
            )
            if progress is not None:
                progress((i + 1) * per_t, len(temps) * per_t, temp)
            continue
        md_seconds += time.perf_counter() - t0
        res = analyse(frames, temperature_K=temp)
        rows.append(MDTemperature(temperature_K=temp, mean_temperature_K=float(np.mean(tsamples)), elapsed_s=time.perf_counter() - t0, **res))
    return rows, md_seconds


def _arrhenius_of_rows(rows: list[MDTemperature]) -> tuple[ArrheniusFit | None, list[str]]:
    """The Arrhenius fit through the usable temperatures (marked ``used_in_fit``), or none, with its warnings."""
    warnings: list[str] = []
    ok = [r for r in rows if r.status == "ok" and r.diffusivity_cm2_per_s and r.diffusivity_err_cm2_per_s]
    if len({r.temperature_K for r in ok}) < 2:
        warnings.append(f"{len(ok)} temperature(s) with usable diffusion (need ≥ 2): no Arrhenius fit; run longer, hotter, or with vacancies")
        return None, warnings
    fit = arrhenius_fit(
        [r.temperature_K for r in ok], [r.diffusivity_cm2_per_s for r in ok], [r.diffusivity_err_cm2_per_s for r in ok]
    )
    for r in ok:
        r.used_in_fit = True
    if fit.activation_energy_eV <= 0:
        warnings.append(f"fitted Ea = {fit.activation_energy_eV:.3f} eV ≤ 0: D does not rise with T here; the fit is not physical")
    if len(ok) == 2:
        warnings.append("Arrhenius fit through 2 temperatures: its error comes only from the per-temperature errors (no χ² check)")
    return fit, warnings


def _extrapolate(fit: ArrheniusFit | None, extrapolate_K: Sequence[float], density_per_cm3: float, charge: int,
                 warnings: list[str]) -> list[Extrapolated]:
    """D and σ (with its 1σ interval) at ``extrapolate_K`` from the fit; the caveat is appended to ``warnings``."""
    extrap: list[Extrapolated] = []
    if fit is None:
        return extrap
    warnings.append(
        f"conductivity at {', '.join(f'{t:g} K' for t in extrapolate_K)} is an Arrhenius extrapolation from "
        f"{min(fit.temperatures_K):g}–{max(fit.temperatures_K):g} K assuming one mechanism, a fixed cell and Haven ratio 1"
    )
    for tk in extrapolate_K:
        dk, s_ln = fit.predict(tk)
        sig = _nernst_einstein_S_per_cm(density_per_cm3, charge, dk, tk)
        extrap.append(
            Extrapolated(
                temperature_K=tk,
                diffusivity_cm2_per_s=dk,
                ln_diffusivity_err=s_ln,
                conductivity_S_per_cm=sig,
                conductivity_low_S_per_cm=None if s_ln is None else sig * math.exp(-s_ln),
                conductivity_high_S_per_cm=None if s_ln is None else sig * math.exp(s_ln),
            )
        )
    return extrap


def md_diffusion_file(spec: str | Path | Structure, ion: str = "Li", **kwargs) -> MDResult:
    """Read and validate ``spec`` (file, MP id or library ID/formula), then :func:`md_diffusion`."""
    from dsei.structures.validate import prepare

    struct = prepare(spec, kwargs.get("model", DEFAULT_BARRIER_MODEL))
    kwargs.setdefault("source", (struct.properties or {}).get("source"))
    return md_diffusion(struct, ion, **kwargs)
