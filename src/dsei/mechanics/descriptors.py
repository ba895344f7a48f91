"""Elastic descriptors from a stiffness tensor — the one place where Pugh's ratio is computed.

All moduli in GPa. Derived quantities come from :class:`pymatgen.analysis.elasticity.ElasticTensor`
(de Jong et al., Sci. Data 2, 150009 (2015)) wherever it provides them.

========================  =====================================================================
quantity                   definition and reference
========================  =====================================================================
K, G (Voigt/Reuss/Hill)    Voigt (1928) and Reuss (1929) bounds; Hill average, R. Hill, Proc. Phys.
                           Soc. A 65, 349 (1952). ``ElasticTensor.k_voigt`` ... ``g_vrh``.
E (Young's modulus)        E = 9KG/(3K+G) with Hill K, G (``ElasticTensor.y_mod``).
Poisson's ratio ν          ν = (3K−2G)/(6K+2G), Hill (``ElasticTensor.homogeneous_poisson``).
Pugh's ratio B/G           K_Hill / G_Hill; ductile if ≥ 1.75. S. F. Pugh, Philos. Mag. 45, 823 (1954).
Cauchy pressure            mean of (C12−C66, C13−C55, C23−C44); for cubic C12−C44.
                           D. G. Pettifor, Mater. Sci. Technol. 8, 345 (1992).
universal anisotropy A^U   5 G_V/G_R + K_V/K_R − 6; S. I. Ranganathan & M. Ostoja-Starzewski,
                           Phys. Rev. Lett. 101, 055504 (2008) (``ElasticTensor.universal_anisotropy``).
Born stability             C (6×6 Voigt) positive definite ⇔ all eigenvalues > 0; F. Mouhat &
                           F.-X. Coudert, Phys. Rev. B 90, 224104 (2014).
Vickers hardness H_V       H_V = 2 (k² G)^0.585 − 3 GPa, k = G/K; X.-Q. Chen, H. Niu, D. Li, Y. Li,
                           Intermetallics 19, 1275 (2011). Clipped at 0 (the fit is for hard solids).
fracture toughness K_IC    K_IC = V₀^(1/6) G (K/G)^(1/2) (V₀ volume per atom in m³, G in MPa →
                           MPa·m^½), the covalent/ionic form of H. Niu, S. Niu, A. R. Oganov,
                           J. Appl. Phys. 125, 065105 (2019) (no metallic enhancement factor).
Monroe–Newman ratio        G / G_Li with G_Li = 4.25 GPa (experimental polycrystalline Li); dendrite
                           suppression needs G ≳ 1.8–2 G_Li. C. Monroe & J. Newman, J. Electrochem. Soc.
                           152, A396 (2005).
========================  =====================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Pugh's threshold: B/G ≥ 1.75 is ductile (Pugh 1954).
PUGH_THRESHOLD = 1.75

#: Shear modulus of Li metal used for the Monroe–Newman ratio (GPa): the experimental polycrystalline
#: value used by Monroe & Newman (2005) and the solid-electrolyte literature since. We do not compute Li's
#: own G with the MLIP: bcc Li's shear response is at the edge of every universal model's accuracy, and
#: the criterion is about real Li.
G_LI_GPA = 4.25


@dataclass
class Descriptors:
    """Descriptors of one stiffness tensor (GPa unless stated)."""

    K_voigt_GPa: float
    K_reuss_GPa: float
    K_vrh_GPa: float
    G_voigt_GPa: float
    G_reuss_GPa: float
    G_vrh_GPa: float
    E_GPa: float
    poisson: float
    pugh_ratio: float
    cauchy_pressure_GPa: float
    universal_anisotropy: float
    min_eigenvalue_GPa: float
    born_stable: bool
    vickers_hardness_GPa: float
    fracture_toughness_MPa_m05: float
    monroe_newman_ratio: float

    def as_dict(self) -> dict:
        return asdict(self)


#: Moduli that become meaningless (and are reported as null) when the tensor is not positive definite.
MODULI_FIELDS = (
    "K_voigt_GPa",
    "K_reuss_GPa",
    "K_vrh_GPa",
    "G_voigt_GPa",
    "G_reuss_GPa",
    "G_vrh_GPa",
    "E_GPa",
    "poisson",
    "pugh_ratio",
    "universal_anisotropy",
    "vickers_hardness_GPa",
    "fracture_toughness_MPa_m05",
    "monroe_newman_ratio",
)


def threshold_weights(ln_pugh, width_ln: float, floor: float) -> np.ndarray:
    """Training weights that peak at the Pugh threshold: w = exp(−|ln(B/G) − ln 1.75| / width) + floor, for
    ``ln_pugh`` = ln(B/G) of the reference (DFT) values. The verdict only asks on which side of 1.75 B/G lies, so
    the threshold-weighted calibration trees (benchmarks/elastic_accuracy.py, ``THRESHOLD_WEIGHT``) and the
    discovery surrogate's weighted fit (measured, not the default) spend their capacity near it."""
    return np.exp(-np.abs(np.asarray(ln_pugh, dtype=float) - np.log(PUGH_THRESHOLD)) / width_ln) + floor


def pugh_ratio(k_gpa: float, g_gpa: float) -> float:
    """Pugh's ratio B/G (Pugh 1954); +inf when G ≤ 0 is not meaningful, so NaN."""
    return float(k_gpa / g_gpa) if g_gpa > 0 else float("nan")


def vickers_hardness(k_gpa: float, g_gpa: float) -> float:
    """Chen et al. (2011): H_V = 2 (k² G)^0.585 − 3, k = G/K (GPa), clipped at 0."""
    if k_gpa <= 0 or g_gpa <= 0:
        return float("nan")
    k = g_gpa / k_gpa
    return float(max(0.0, 2.0 * (k * k * g_gpa) ** 0.585 - 3.0))


def fracture_toughness(k_gpa: float, g_gpa: float, volume_per_atom_A3: float) -> float:
    """Niu et al. (2019), ionic/covalent form: K_IC = V₀^(1/6) G (K/G)^(1/2), MPa·m^½."""
    if k_gpa <= 0 or g_gpa <= 0 or volume_per_atom_A3 <= 0:
        return float("nan")
    v0_m3 = volume_per_atom_A3 * 1e-30
    return float(v0_m3 ** (1.0 / 6.0) * (g_gpa * 1e3) * np.sqrt(k_gpa / g_gpa))


def cauchy_pressure(c: np.ndarray) -> float:
    """Mean of (C12−C66, C13−C55, C23−C44), GPa (Pettifor 1992); equals C12−C44 for cubic crystals."""
    return float(np.mean([c[0, 1] - c[5, 5], c[0, 2] - c[4, 4], c[1, 2] - c[3, 3]]))


def describe(c_gpa: np.ndarray, volume_per_atom_A3: float) -> Descriptors:
    """All descriptors of a Voigt stiffness matrix ``c_gpa`` (GPa) for a crystal with the given volume."""
    from pymatgen.analysis.elasticity import ElasticTensor

    c = 0.5 * (np.asarray(c_gpa, dtype=float) + np.asarray(c_gpa, dtype=float).T)
    eig = np.linalg.eigvalsh(c)
    stable = bool(eig.min() > 0)
    et = ElasticTensor.from_voigt(c)
    with np.errstate(all="ignore"):
        kv, gv = float(et.k_voigt), float(et.g_voigt)
        try:
            kr, gr = float(et.k_reuss), float(et.g_reuss)
        except np.linalg.LinAlgError:
            kr = gr = float("nan")
        kh, gh = 0.5 * (kv + kr), 0.5 * (gv + gr)
        e_mod = float(et.y_mod) / 1e9 if stable else 9 * kh * gh / (3 * kh + gh)  # pymatgen returns Pa
        poisson = float(et.homogeneous_poisson)
        try:
            au = float(et.universal_anisotropy)
        except (ZeroDivisionError, FloatingPointError):
            au = float("nan")
    return Descriptors(
        K_voigt_GPa=kv,
        K_reuss_GPa=kr,
        K_vrh_GPa=kh,
        G_voigt_GPa=gv,
        G_reuss_GPa=gr,
        G_vrh_GPa=gh,
        E_GPa=e_mod,
        poisson=poisson,
        pugh_ratio=pugh_ratio(kh, gh),
        cauchy_pressure_GPa=cauchy_pressure(c),
        universal_anisotropy=au,
        min_eigenvalue_GPa=float(eig.min()),
        born_stable=stable,
        vickers_hardness_GPa=vickers_hardness(kh, gh),
        fracture_toughness_MPa_m05=fracture_toughness(kh, gh, volume_per_atom_A3),
        monroe_newman_ratio=float(gh / G_LI_GPA),
    )
