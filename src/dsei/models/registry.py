"""MLIP registry: a model name → a loaded :class:`Model` (ASE calculator + batched evaluation).

Names
-----
``chgnet``       CHGNet 0.3.0 (Deng et al., Nat. Mach. Intell. 5, 1031 (2023)); weights in the chgnet wheel.
``chgnet-r2scan``  CHGNet 0.3.0 fine-tuned on MP r2SCAN data (X. Huang et al., npj Comput. Mater. (2025),
                 "Cross-functional transferability in foundation machine learning interatomic potentials";
                 chgnet's ``pretrained/r2scan``), weights in the chgnet wheel; r2SCAN total-energy scale.
``chgnet-elastic``  CHGNet 0.3.0 fine-tuned by dsei on stresses of strained cells of 949 full DFT elastic tensors
                 (de Jong et al., Sci. Data 2, 150009 (2015); ``scripts/finetune_elastic.py``, docs/mechanics.md,
                 "Fine-tuned elastic model"); weights in ``dsei/models/weights/`` (BSD-3-Clause, as CHGNet).
``sevennet``     SevenNet-0 (``7net-0``, 11 Jul 2024; Park et al., J. Chem. Theory Comput. 20, 4857 (2024));
                 weights in the sevenn wheel.
``sevennet-l3i5``  SevenNet-l3i5 (l_max = 3, 5 interaction layers; MPtrj), weights in the sevenn wheel.
``sevennet-l3i5-elastic``  SevenNet-l3i5 fine-tuned by dsei the same way as ``chgnet-elastic`` (298 compounds of
                 ≤ 12 sites with clamped strain pairs, two epochs at lr 10⁻³; ``scripts/finetune_elastic.py --base
                 sevennet-l3i5 --max-sites 12 --only-pairs --lr 1e-3 --epochs 2``); weights in
                 ``dsei/models/weights/`` (MIT, as SevenNet). With its own shear calibration, ahead of SevenNet-l3i5
                 under CV on the dev set: **the elastic default** (:data:`DEFAULT_ELASTIC_MODEL`; docs/mechanics.md).
``sevennet-mf-r2scan``, ``sevennet-mf-pbe``
                 SevenNet-MF-0, the multi-fidelity checkpoint in the sevenn wheel (trained jointly on PBE(+U)
                 MPtrj and r2SCAN MP data; Kim et al., J. Am. Chem. Soc. 147, 1042 (2025)), evaluated at its
                 r2SCAN or PBE fidelity.
``chgnet+d3``,   the same, summed with DFT-D3(BJ) dispersion (Grimme et al., J. Comput. Chem. 32, 1456 (2011))
``sevennet+d3``  from ``torch-dftd`` with PBE parameters (both models were trained on PBE(+U) data).
``mace``         MACE-MP, only when ``mace-torch`` is installed and ``DSEI_MACE_MODEL`` names a local model file.
``mattersim``    MatterSim, only when installed and ``DSEI_MATTERSIM_MODEL`` names a local checkpoint.
``orb``          ORB, only when installed and ``DSEI_ORB_MODEL`` names a local checkpoint.
``pkg.mod:factory`` or ``path/file.py:factory``
                 any ASE calculator: ``factory()`` is called once and must return an ASE Calculator.

Loading never touches the network: every model here either reads weights shipped inside its wheel or a
local file the user names; a model that would download fails with one clear :class:`ModelUnavailableError`.
Each model is loaded once per process (``load_model`` caches on name and device).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dsei.errors import ModelUnavailableError

if TYPE_CHECKING:
    from dsei.models.base import Model

#: Models used when the user names none, and the members of ``committee``.
DEFAULT_MODEL = "sevennet"
COMMITTEE = ("chgnet", "sevennet")
#: Migration barriers (``dsei barrier``, NEB and MD): SevenNet-MF-0 at its r2SCAN fidelity, the setting closest
#: to the published DFT vacancy barriers of LiF, Li2O, Li2S and α-Li3N (mean |error| 0.04 eV against 0.07 eV
#: for SevenNet-0; LiF 0.66 vs 0.54 eV, DFT 0.73) — docs/benchmarks.md, "Barriers vs DFT".
DEFAULT_BARRIER_MODEL = "sevennet-mf-r2scan"
#: Elastic tensors (``dsei elastic``): ``sevennet-l3i5-elastic``, SevenNet-l3i5 fine-tuned by dsei on DFT elastic
#: stresses — with its shipped shear calibration and CHGNet's second opinion on unstable tensors
#: (``dsei.mechanics.elastic.FALLBACK_MODEL``), Pugh agreement 80.3 % ± 0.5 under 5-fold CV × 5 seeds on all
#: 1,000 dev compounds (none in its training set), MAE K 9.1, G 10.8 GPa, 20 unstable, against 79.9 % ± 0.5,
#: 9.2, 11.2 GPa and 22 for its base SevenNet-l3i5 (the previous default) from the same CHGNet tensors; without
#: the fallback 78.6 % ± 0.5 against 77.5 % ± 0.4; the same cost per structure (one architecture). SevenNet-l3i5
#: itself had beaten SevenNet-0 on every measure at ~2.4x its cost, and SevenNet-MF-0 (r2SCAN) was less accurate
#: than SevenNet-0 against the PBE elastic data (docs/benchmarks.md, "Mechanics: accuracy and speed").
DEFAULT_ELASTIC_MODEL = "sevennet-l3i5-elastic"
#: Thermochemistry (``dsei stability``, ``convert``, ``design``): SevenNet-MF-0 at its r2SCAN fidelity, with the
#: fitted elemental references — reduction potentials of 76 binaries vs Li/Li+ from experimental ΔfH°, each
#: predicted by a fit without it: MAE 0.057 V (SevenNet-0 0.074, SevenNet-l3i5 0.074, CHGNet 0.081), and 0.065 V
#: with no correction at all (SevenNet-0 0.139) — docs/benchmarks.md, "Reduction potentials vs Li/Li+".
DEFAULT_CHEMISTRY_MODEL = "sevennet-mf-r2scan"

#: The default model of each property, as ``dsei models`` reports it; ``dsei screen`` runs each stage on its
#: property's default unless ``--model`` names one for all.
DEFAULT_MODELS = {
    "relax": DEFAULT_MODEL,
    "elastic": DEFAULT_ELASTIC_MODEL,
    "barrier": DEFAULT_BARRIER_MODEL,
    "chemistry": DEFAULT_CHEMISTRY_MODEL,
}

#: Versions tested with this release (the numbers dsei reports depend on them).
TESTED_VERSIONS = {
    "chgnet": ">=0.4.2,<0.5 (model 0.3.0)",
    "sevennet": ">=0.13,<0.14 (7net-0)",
    "torch-dftd": ">=0.5.3",
}


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    available: bool
    reason: str = ""
    version: str = ""


def resolve_device(device: str = "auto") -> str:
    """``auto`` → the ``DSEI_DEVICE`` environment variable when set (e.g. ``cpu`` on a GPU node, ``cuda:1``),
    else ``cuda`` when a GPU is visible, else ``cpu``. A CUDA device that torch cannot see is a one-line
    :class:`ModelUnavailableError`, not a traceback from deep inside a model."""
    if device == "auto":
        device = os.environ.get("DSEI_DEVICE", "").strip() or "auto"
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(device)
    except (RuntimeError, ValueError):
        raise ModelUnavailableError(f"{device!r} is not a torch device (DSEI_DEVICE or device=: cpu, cuda, cuda:N, mps)") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailableError(f"device {device!r} asked for (DSEI_DEVICE or device=), but torch sees no CUDA device")
    return device


def _pkg_version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return ""


#: dsei name → CHGNet's own name of the weights (``CHGNet.load(model_name=...)``, a folder of ``pretrained/``).
CHGNET_CHECKPOINTS = {"chgnet": "0.3.0", "chgnet-r2scan": "r2scan"}
#: dsei name → CHGNet weights shipped inside dsei itself (``dsei/models/weights/``).
DSEI_CHGNET_WEIGHTS = {"chgnet-elastic": "chgnet_elastic.pt"}
#: dsei name → SevenNet checkpoints shipped inside dsei itself (``dsei/models/weights/``; sevenn's checkpoint format).
DSEI_SEVENNET_WEIGHTS = {"sevennet-l3i5-elastic": "sevennet_l3i5_elastic.pth"}
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def _chgnet_check(name: str = "chgnet") -> tuple[bool, str, str]:
    ver = _pkg_version("chgnet")
    if not ver:
        return False, "package chgnet is not installed (pip install 'chgnet>=0.4.2,<0.5')", ""
    if name in DSEI_CHGNET_WEIGHTS:
        path = WEIGHTS_DIR / DSEI_CHGNET_WEIGHTS[name]
        return (True, "", ver) if path.is_file() else (False, f"weights {path} missing from the dsei install", ver)
    spec = importlib.util.find_spec("chgnet")
    weights = Path(spec.origin).parent / "pretrained" / CHGNET_CHECKPOINTS[name]  # type: ignore[arg-type]
    if not any(weights.glob("*.pth.tar")):
        return False, f"CHGNet {CHGNET_CHECKPOINTS[name]} weights not found in the wheel ({weights})", ver
    return True, "", ver


#: dsei name → (SevenNet pretrained name, checkpoint file inside the wheel, modal or None).
SEVENNET_CHECKPOINTS = {
    "sevennet": ("7net-0", "SevenNet_0__11Jul2024/checkpoint_sevennet_0.pth", None),
    "sevennet-l3i5": ("7net-l3i5", "SevenNet_l3i5/checkpoint_l3i5.pth", None),
    "sevennet-mf-r2scan": ("7net-mf-0", "SevenNet_MF_0/checkpoint_sevennet_mf_0.pth", "R2SCAN"),
    "sevennet-mf-pbe": ("7net-mf-0", "SevenNet_MF_0/checkpoint_sevennet_mf_0.pth", "PBE"),
}


def _sevennet_check(name: str = "sevennet") -> tuple[bool, str, str]:
    ver = _pkg_version("sevenn")
    if not ver:
        return False, "package sevenn is not installed (pip install 'sevenn>=0.13,<0.14')", ""
    if name in DSEI_SEVENNET_WEIGHTS:
        path = WEIGHTS_DIR / DSEI_SEVENNET_WEIGHTS[name]
        return (True, "", ver) if path.is_file() else (False, f"weights {path} missing from the dsei install", ver)
    spec = importlib.util.find_spec("sevenn")
    ckpt = Path(spec.origin).parent / "pretrained_potentials" / SEVENNET_CHECKPOINTS[name][1]  # type: ignore[arg-type]
    if not ckpt.exists():
        return (
            False,
            f"{SEVENNET_CHECKPOINTS[name][0]} checkpoint not found in the wheel ({ckpt}); dsei never downloads it",
            ver,
        )
    return True, "", ver


def _d3_check() -> tuple[bool, str]:
    from dsei.extras import missing_reason

    why = missing_reason("d3")  # an optional extra: pip install "dsei[d3]"
    return not why, f"DFT-D3 dispersion (+d3) {why}" if why else ""


def _local_file_check(pkg: str, env: str) -> tuple[bool, str, str]:
    ver = _pkg_version(pkg)
    if not ver:
        return False, f"package {pkg} is not installed", ""
    path = os.environ.get(env)
    if not path:
        return (
            False,
            f"{pkg} would download its weights; set {env} to a local model file to use it offline",
            ver,
        )
    if not Path(path).is_file():
        return False, f"{env}={path} is not a file", ver
    return True, "", ver


_BUILTIN = {
    "chgnet": "CHGNet 0.3.0 (weights in the chgnet wheel)",
    "chgnet-r2scan": "CHGNet 0.3.0 fine-tuned on MP r2SCAN (weights in the chgnet wheel)",
    "chgnet-elastic": "CHGNet 0.3.0 fine-tuned by dsei on DFT elastic stresses (weights in dsei)",
    "sevennet-l3i5-elastic": "SevenNet-l3i5 fine-tuned by dsei on DFT elastic stresses (weights in dsei)",
    "sevennet": "SevenNet-0 / 7net-0 (weights in the sevenn wheel)",
    "sevennet-l3i5": "SevenNet-l3i5 (weights in the sevenn wheel; about 3x the cost of SevenNet-0)",
    "sevennet-mf-r2scan": "SevenNet-MF-0 at its r2SCAN fidelity (weights in the sevenn wheel)",
    "sevennet-mf-pbe": "SevenNet-MF-0 at its PBE fidelity (weights in the sevenn wheel)",
    "chgnet+d3": "CHGNet 0.3.0 + DFT-D3(BJ, PBE) dispersion (torch-dftd)",
    "sevennet+d3": "SevenNet-0 + DFT-D3(BJ, PBE) dispersion (torch-dftd)",
    "mace": "MACE-MP from a local file ($DSEI_MACE_MODEL)",
    "mattersim": "MatterSim from a local checkpoint ($DSEI_MATTERSIM_MODEL)",
    "orb": "ORB from a local checkpoint ($DSEI_ORB_MODEL)",
}

ALIASES = {
    "7net-l3i5": "sevennet-l3i5",
    "7net-mf-0": "sevennet-mf-r2scan",
    "7net-0": "sevennet",
    "sevennet-0": "sevennet",
    "chgnet-0.3.0": "chgnet",
    "7net-0+d3": "sevennet+d3",
}


def canonical_name(name: str) -> str:
    key = name.strip().lower()
    return ALIASES.get(key, key) if key in ALIASES or key in _BUILTIN else name.strip()


def check_model(name: str) -> ModelInfo:
    """Whether ``name`` can be loaded here, and why not — without loading it."""
    name = canonical_name(name)
    base = name.removesuffix("+d3")
    if base in CHGNET_CHECKPOINTS or base in DSEI_CHGNET_WEIGHTS:
        ok, why, ver = _chgnet_check(base)
    elif base in SEVENNET_CHECKPOINTS or base in DSEI_SEVENNET_WEIGHTS:
        ok, why, ver = _sevennet_check(base)
    elif name == "mace":
        ok, why, ver = _local_file_check("mace-torch", "DSEI_MACE_MODEL")
    elif name == "mattersim":
        ok, why, ver = _local_file_check("mattersim", "DSEI_MATTERSIM_MODEL")
    elif name == "orb":
        ok, why, ver = _local_file_check("orb-models", "DSEI_ORB_MODEL")
    elif ":" in name:
        return ModelInfo(name, "user ASE calculator factory", True, "", "")
    else:
        known = ", ".join(list(_BUILTIN) + ["module:factory", "file.py:factory"])
        return ModelInfo(name, "", False, f"unknown model {name!r} (known: {known})")
    if ok and name.endswith("+d3"):
        ok, why = _d3_check()
    return ModelInfo(name, _BUILTIN.get(name, ""), ok, why, ver)


def list_models() -> list[ModelInfo]:
    return [check_model(n) for n in _BUILTIN]


def model_elements(name: str) -> frozenset[str] | None:
    """Elements a model covers (None = unknown). CHGNet's is known without loading its weights."""
    name = canonical_name(name)
    if name.removesuffix("+d3") in {**CHGNET_CHECKPOINTS, **DSEI_CHGNET_WEIGHTS}:
        from pymatgen.core.periodic_table import Element

        return frozenset(Element.from_Z(z).symbol for z in range(1, 95))
    return load_model(name).elements


_LOCK = threading.Lock()


def load_model(name: str = DEFAULT_MODEL, device: str = "auto") -> Model:
    """Load (once per process) and return the model called ``name``."""
    return _load_cached(canonical_name(name), resolve_device(device))


@functools.cache
def _load_cached(name: str, device: str) -> Model:
    with _LOCK:
        return _build(name, device)


def _build(name: str, device: str) -> Model:
    from dsei.models import base

    info = check_model(name)
    if not info.available:
        raise ModelUnavailableError(f"model {name!r} is unavailable: {info.reason}")
    if name in CHGNET_CHECKPOINTS:
        return base.CHGNetModel(device=device, model_name=CHGNET_CHECKPOINTS[name], name=name)
    if name in DSEI_CHGNET_WEIGHTS:
        return base.CHGNetModel(device=device, path=WEIGHTS_DIR / DSEI_CHGNET_WEIGHTS[name], name=name)
    if name in SEVENNET_CHECKPOINTS:
        ckpt, _, modal = SEVENNET_CHECKPOINTS[name]
        return base.SevenNetModel(device=device, checkpoint=ckpt, modal=modal, name=name)
    if name in DSEI_SEVENNET_WEIGHTS:
        return base.SevenNetModel(device=device, checkpoint=str(WEIGHTS_DIR / DSEI_SEVENNET_WEIGHTS[name]), name=name)
    if name.endswith("+d3"):
        return base.D3Model(_load_cached(name.removesuffix("+d3"), device), device=device)
    if name == "mace":
        from mace.calculators import mace_mp  # type: ignore[import-not-found]

        calc = mace_mp(model=os.environ["DSEI_MACE_MODEL"], device=device, default_dtype="float64")
        return base.CalculatorModel(name, calc)
    if name == "mattersim":
        from mattersim.forcefield import MatterSimCalculator  # type: ignore[import-not-found]

        return base.CalculatorModel(
            name, MatterSimCalculator(load_path=os.environ["DSEI_MATTERSIM_MODEL"], device=device)
        )
    if name == "orb":
        from orb_models.forcefield import pretrained  # type: ignore[import-not-found]
        from orb_models.forcefield.calculator import ORBCalculator  # type: ignore[import-not-found]

        orbff = pretrained.orb_v3_conservative_inf_omat(
            weights_path=os.environ["DSEI_ORB_MODEL"], device=device
        )
        return base.CalculatorModel(name, ORBCalculator(orbff, device=device))
    return base.CalculatorModel(name, _factory_calculator(name))


def _factory_calculator(spec: str):
    target, _, attr = spec.rpartition(":")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise ModelUnavailableError(f"model {spec!r}: file {target} does not exist")
            mod_spec = importlib.util.spec_from_file_location(f"dsei_user_model_{path.stem}", path)
            module = importlib.util.module_from_spec(mod_spec)  # type: ignore[arg-type]
            mod_spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(target)
        factory = getattr(module, attr)
    except ModelUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - user code: report, do not crash
        raise ModelUnavailableError(
            f"model {spec!r}: cannot import the factory ({type(exc).__name__}: {exc})"
        ) from exc
    calc = factory()
    if not hasattr(calc, "get_potential_energy") and not hasattr(calc, "calculate"):
        raise ModelUnavailableError(f"model {spec!r}: the factory did not return an ASE calculator")
    return calc
