"""Result base class and JSON output shared by every command.

Results are pydantic models that serialise to JSON with a ``schema_version``. Field names are part of
the public interface (scripts depend on them): units are in the names (``_eV``, ``_GPa``, ``_A``...).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = "1.0"


class Result(BaseModel):
    """Base of every result: carries ``schema_version`` and allows extra fields."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    schema_version: str = SCHEMA_VERSION

    def to_json_dict(self) -> dict[str, Any]:
        return _finite(self.model_dump(mode="json"))


def _finite(obj: Any) -> Any:
    """JSON has no NaN/Infinity: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def results_payload(results: Result | Sequence[Result], command: str | None = None) -> dict[str, Any]:
    """One result → its own dict; several → ``{schema_version, command, results: [...]}``."""
    if isinstance(results, Result):
        return results.to_json_dict()
    payload: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    if command:
        payload["command"] = command
    payload["results"] = [r.to_json_dict() for r in results]
    return payload


def write_json(results: Result | Sequence[Result] | dict, path: str | Path, command: str | None = None) -> None:
    """Write results as JSON to ``path`` (``-`` is stdout)."""
    payload = results if isinstance(results, dict) else results_payload(results, command)
    payload = _finite(payload)
    text = json.dumps(payload, indent=2)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        p = Path(path)
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text + "\n")
