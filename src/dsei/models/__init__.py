"""MLIP registry and batched evaluation. See :mod:`dsei.models.registry` for the model names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dsei.models.registry import (  # the registry is light (stdlib only): the model packages load on first use
    COMMITTEE,
    DEFAULT_BARRIER_MODEL,
    DEFAULT_CHEMISTRY_MODEL,
    DEFAULT_ELASTIC_MODEL,
    DEFAULT_MODEL,
    ModelInfo,
    check_model,
    list_models,
    load_model,
    resolve_device,
)

if TYPE_CHECKING:
    from dsei.models.base import Evaluation, Model


def __getattr__(name: str):
    """``Model`` and ``Evaluation`` (which import ASE and pymatgen) on first use (PEP 562)."""
    if name in ("Model", "Evaluation"):
        from dsei.models import base

        return getattr(base, name)
    raise AttributeError(f"module 'dsei.models' has no attribute {name!r}")


def get_calculator(name: str = DEFAULT_MODEL, device: str = "auto"):
    """An ASE calculator for the model called ``name`` (loaded once per process)."""
    return load_model(name, device).calculator()


def evaluate(structures, model: str | Model = DEFAULT_MODEL, device: str = "auto") -> list[Evaluation]:
    """Batched energies (eV), forces (eV/Å) and stresses (eV/Å³, ASE Voigt) of many structures."""
    from dsei.models.base import Model

    m = model if isinstance(model, Model) else load_model(model, device)
    return m.evaluate(list(structures))


__all__ = [
    "COMMITTEE",
    "DEFAULT_BARRIER_MODEL",
    "DEFAULT_CHEMISTRY_MODEL",
    "DEFAULT_ELASTIC_MODEL",
    "DEFAULT_MODEL",
    "Evaluation",
    "Model",
    "ModelInfo",
    "check_model",
    "evaluate",
    "get_calculator",
    "list_models",
    "load_model",
    "resolve_device",
]
