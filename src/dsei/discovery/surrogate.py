"""The discovery surrogate: ln K, ln G and ln(B/G) with an uncertainty, from fast structure descriptors.

Model: for each of three heads — ln K_VRH, ln G_VRH and ln(K/G) directly — a small ensemble of gradient-boosted
regression trees (Friedman, Ann. Stat. 29, 1189 (2001)), histogram-based and leaf-wise (Ke et al., NeurIPS 30 (2017);
scikit-learn's ``HistGradientBoostingRegressor``, only at fit time: :mod:`dsei.discovery.train`), each member fitted on
all training compounds with its own seed (its own feature subsets); surrogates written with the previous learner hold
``GradientBoostingRegressor`` members on bootstrap resamples (``"learner": "gbt"``) and are evaluated the same way.
The point prediction of ln(B/G) is the mean over members of ½[(ln K − ln G) + ln(B/G)_direct] (the blend
cross-validated about as well as the direct head and better than K − G alone: docs/discovery.md); its uncertainty is
σ² = σ₀² + (s · spread)², the members' spread scaled and floored with (σ₀, s) fitted by maximum likelihood on the
held-out residuals of the grouped cross-validation (the raw spread alone is over-confident several times over). P(ductile) = Φ((ln(B/G) − ln 1.75)/σ) with Pugh's threshold
(:data:`dsei.mechanics.descriptors.PUGH_THRESHOLD`).

The trees are stored as plain lists in JSON (the format of :func:`dsei.mechanics.calibration.gbt_value`) and
evaluated here with numpy, vectorised over candidates, so ranking needs neither scikit-learn nor a pickle.
The surrogate ranks candidates; it never issues a verdict (the MLIP elastic stage does).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from dsei.errors import InputError
from dsei.mechanics.descriptors import PUGH_THRESHOLD

SURROGATE_FORMAT = "dsei-discovery-surrogate"
HEADS = ("ln_K", "ln_G", "ln_pugh")
LN_PUGH_THRESHOLD = math.log(PUGH_THRESHOLD)


def trees_predict(params: dict, x: np.ndarray) -> np.ndarray:
    """Vectorised :func:`dsei.mechanics.calibration.gbt_value` over the rows of ``x`` (the same comparison, float32 or
    the ``x_dtype`` of histogram trees, so identical numbers; tested)."""
    xv = np.atleast_2d(np.asarray(x, dtype=np.float64 if params.get("x_dtype") == "float64" else np.float32))
    n = len(xv)
    rows = np.arange(n)
    y = np.full(n, float(params["init"]))
    lr = float(params["learning_rate"])
    for t in params["_np"] if "_np" in params else _as_arrays(params)["_np"]:
        left, right, feat, thr, val = t
        node = np.zeros(n, dtype=np.int64)
        while True:
            internal = left[node] != -1
            if not internal.any():
                break
            go_left = xv[rows, feat[node]] <= thr[node]
            nxt = np.where(go_left, left[node], right[node])
            node = np.where(internal, nxt, node)
        y += lr * val[node]
    return y


def _as_arrays(params: dict) -> dict:
    """Cache the trees of one ensemble member as numpy arrays (thresholds in float64, as stored)."""
    if "_np" not in params:
        params["_np"] = [
            (
                np.asarray(t["left"], dtype=np.int64),
                np.asarray(t["right"], dtype=np.int64),
                np.maximum(np.asarray(t["feature"], dtype=np.int64), 0),
                np.asarray(t["threshold"], dtype=np.float64),
                np.asarray(t["value"], dtype=np.float64),
            )
            for t in params["trees"]
        ]
    return params


def blend_ln_pugh(ln_K, ln_G, ln_pugh_direct):
    """The point estimate of ln(B/G) from the three heads: ½[(ln K − ln G) + ln(B/G)_direct] (module doc), per member
    or per row, whatever the arrays hold."""
    return 0.5 * ((ln_K - ln_G) + ln_pugh_direct)


def sigma_from_spread(spread: np.ndarray, scale: float, floor: float) -> np.ndarray:
    """σ = √(floor² + (scale · spread)²) (module doc)."""
    return np.sqrt(floor**2 + (scale * np.asarray(spread)) ** 2)


@dataclass
class Prediction:
    """Surrogate predictions for a batch (arrays, one entry per structure)."""

    ln_K: np.ndarray
    ln_G: np.ndarray
    ln_pugh: np.ndarray
    sigma_ln_pugh: np.ndarray

    @property
    def K_GPa(self) -> np.ndarray:
        return np.exp(self.ln_K)

    @property
    def G_GPa(self) -> np.ndarray:
        return np.exp(self.ln_G)

    @property
    def pugh_ratio(self) -> np.ndarray:
        return np.exp(self.ln_pugh)

    @property
    def p_ductile(self) -> np.ndarray:
        from scipy.special import ndtr

        return ndtr((self.ln_pugh - LN_PUGH_THRESHOLD) / np.maximum(self.sigma_ln_pugh, 1e-6))

    def row(self, i: int) -> dict[str, float]:
        return {
            "pred_K_GPa": float(self.K_GPa[i]),
            "pred_G_GPa": float(self.G_GPa[i]),
            "pred_pugh_ratio": float(self.pugh_ratio[i]),
            "pred_sigma_ln_pugh": float(self.sigma_ln_pugh[i]),
            "pred_p_ductile": float(self.p_ductile[i]),
        }


class Surrogate:
    """A fitted surrogate (the JSON dict of :func:`dsei.discovery.train.fit_surrogate`)."""

    def __init__(self, params: dict):
        if params.get("format") != SURROGATE_FORMAT:
            raise InputError("surrogate", f"not a dsei discovery surrogate (format {params.get('format')!r})")
        self.params = params
        self.features = list(params["features"])
        for head in HEADS:
            for m in params["heads"][head]:
                _as_arrays(m)

    @property
    def sigma_scale(self) -> float:
        return float(self.params.get("sigma_scale", 1.0))

    def member_predictions(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """(members × rows) predictions of each head."""
        return {h: np.vstack([trees_predict(m, x) for m in self.params["heads"][h]]) for h in HEADS}

    def predict_features(self, x: np.ndarray) -> Prediction:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if x.shape[1] != len(self.features):
            raise ValueError(f"surrogate expects {len(self.features)} features, got {x.shape[1]}")
        mp = self.member_predictions(x)
        blend = blend_ln_pugh(mp["ln_K"], mp["ln_G"], mp["ln_pugh"])
        return Prediction(
            ln_K=mp["ln_K"].mean(axis=0),
            ln_G=mp["ln_G"].mean(axis=0),
            ln_pugh=blend.mean(axis=0),
            sigma_ln_pugh=sigma_from_spread(blend.std(axis=0, ddof=1), self.sigma_scale, float(self.params.get("sigma_floor", 0.0))),
        )

    def predict(self, structures) -> Prediction:
        """Predictions for pymatgen structures (featurised with :func:`dsei.discovery.features.featurize`)."""
        from dsei.discovery.features import FEATURES, featurize_many

        if list(FEATURES) != self.features:
            raise ValueError("surrogate was fitted on another feature set; rebuild it (scripts/train_surrogate.py)")
        return self.predict_features(featurize_many(list(structures)))


def surrogate_path() -> Path:
    return Path(str(resources.files("dsei.discovery") / "data" / "surrogate.json"))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Surrogate:
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "surrogate file not found")
    try:
        return Surrogate(json.loads(p.read_text()))
    except (ValueError, KeyError) as exc:
        raise InputError(p, f"not a readable surrogate ({exc})") from exc


def load_surrogate(path: str | Path | None = None) -> Surrogate:
    """The shipped surrogate (``dsei/discovery/data/surrogate.json``) or one written by
    ``scripts/train_surrogate.py --out``/a discovery round."""
    return _load(str(path or surrogate_path()))
