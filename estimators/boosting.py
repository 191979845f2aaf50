"""The two xgboost model kinds behind a :class:`~estimators.surrogate.Surrogate` target.

- ``global``: one row per design, ``log1p(y) = log1p(offset) + f(x_design)`` (squared error).
- ``per_layer``: one row per layer, ``y_hat = sum_i exp(log(offset_i) + f(x_i))`` over the layers of a
  design, trained with a custom objective on ``(log1p(y_hat) - log1p(y))^2 / 2`` so that only design
  totals are needed (per-layer synthesis numbers are not in the data).
- ``ridge``: one row per design, scikit-learn ``Ridge`` (``alpha = reg_lambda``) on standardized signed-log1p
  features, ``log1p(y) = log1p(offset) + w . z(x) + b``; saved as JSON coefficients (:class:`RidgeModel`).

``offset`` is an optional analytic prior (a feature column, e.g. ``cycles_est`` for latency); without one
the margin starts at a constant ``base``. Both kinds are plain :class:`xgboost.Booster` objects that
predict raw margins, so they save as xgboost JSON and reload without pickles.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((200, 3)); y = 10 * X[:, 0] + 1
    >>> spec = ModelSpec("global", max_depth=3, n_rounds=50)
    >>> booster, base = fit_model(spec, X, np.log1p(y), None, None, n_threads=1)
    >>> p = predict_model(spec, booster, base, X, None, None, 200)
    >>> bool(np.mean(np.abs(p - y) / y) < 0.1)
    True
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import xgboost as xgb

__all__ = ["ModelSpec", "RidgeModel", "fit_model", "predict_model", "unique_rows", "layer_margin_offset",
           "design_margin_offset", "GLOBAL_KINDS"]

_CLIP = 30.0
#: kinds with one row per design (the others sum layer rows)
GLOBAL_KINDS = frozenset({"global", "ridge"})
_RIDGE_FORMAT = "fpga-dse-ridge"


class RidgeModel:
    """A linear model on ``z = (slog(x) - mean) / scale`` with ``slog(x) = sign(x) log1p(|x|)``, fitted with
    scikit-learn's ``Ridge``; it predicts margins like an xgboost booster and saves as plain JSON."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: float) -> None:
        self.mean, self.scale = np.asarray(mean, float), np.asarray(scale, float)
        self.coef, self.intercept = np.asarray(coef, float), float(intercept)

    @staticmethod
    def _slog(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return np.sign(X) * np.log1p(np.abs(X))

    @classmethod
    def fit(cls, X: np.ndarray, target: np.ndarray, alpha: float) -> "RidgeModel":
        from sklearn.linear_model import Ridge

        z = cls._slog(X)
        mean, scale = z.mean(axis=0), z.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        r = Ridge(alpha=alpha).fit((z - mean) / scale, target)
        return cls(mean, scale, r.coef_, float(r.intercept_))

    def inplace_predict(self, X: np.ndarray, iteration_range=None, predict_type: str = "margin") -> np.ndarray:
        return ((self._slog(X) - self.mean) / self.scale) @ self.coef + self.intercept

    def num_features(self) -> int:
        return len(self.coef)

    def set_param(self, params: dict) -> None:  # booster API compatibility (threads): nothing to set
        return None

    def save_model(self, path: str) -> None:
        Path(path).write_text(json.dumps({"format": _RIDGE_FORMAT, "mean": self.mean.tolist(),
                                          "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                                          "intercept": self.intercept}))

    @classmethod
    def load_model(cls, path: str) -> "RidgeModel":
        """Raises ValueError on anything but a saved RidgeModel."""
        d = json.loads(Path(path).read_text())
        if not isinstance(d, dict) or d.get("format") != _RIDGE_FORMAT:
            raise ValueError(f"not a {_RIDGE_FORMAT} file")
        m = cls(d["mean"], d["scale"], d["coef"], d["intercept"])
        if not (m.mean.shape == m.scale.shape == m.coef.shape) or m.coef.ndim != 1:
            raise ValueError("mean, scale and coef must be vectors of one length")
        return m


@dataclass(frozen=True)
class ModelSpec:
    """Kind and hyperparameters of one boosted model."""

    kind: str  #: "global" or "per_layer"
    max_depth: int = 6
    n_rounds: int = 400
    learning_rate: float = 0.1
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 1.0
    reg_lambda: float = 1.0
    max_delta_step: float = 0.0  #: 0 = unbounded; bounds leaf values (stabilizes the per-layer sum objective)
    huber_delta: float = 0.0  #: 0 = squared log error; > 0 = pseudo-Huber with this delta (log units)

    def xgb_params(self, n_threads: int, seed: int) -> dict[str, Any]:
        """Parameters for :func:`xgboost.train`."""
        p = {
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "lambda": self.reg_lambda,
            "max_delta_step": self.max_delta_step,
            "nthread": n_threads,
            "seed": seed,
            "base_score": 0.0,
        }
        if self.kind == "global":
            p["objective"] = "reg:pseudohubererror" if self.huber_delta > 0 else "reg:squarederror"
            if self.huber_delta > 0:
                p["huber_slope"] = self.huber_delta
        return p

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def design_margin_offset(offset: np.ndarray | None, base: float, n: int) -> np.ndarray:
    """Base margin of the global model: ``log1p(offset)`` or a constant."""
    if offset is None:
        return np.full(n, base)
    return np.log1p(np.maximum(offset, 0.0))


def layer_margin_offset(offset: np.ndarray | None, base: float, n: int) -> np.ndarray:
    """Base margin of the per-layer model: ``log(offset_i)`` (offset clipped at 1e-3) or a constant."""
    if offset is None:
        return np.full(n, base)
    return np.log(np.maximum(offset, 1e-3))


def _sum_objective(design: np.ndarray, y_log: np.ndarray, n_designs: int, huber_delta: float = 0.0) -> Callable:
    """Custom objective: the log1p error ``r`` of the per-design sum of exp(margins), squared (``r**2 / 2``) or,
    with ``huber_delta`` > 0, pseudo-Huber (``delta**2 * (sqrt(1 + (r / delta)**2) - 1)``: quadratic near 0,
    linear beyond ``delta``, so the few designs synthesis maps unusually pull the trees less)."""

    def obj(margin: np.ndarray, dtrain: xgb.DMatrix) -> tuple[np.ndarray, np.ndarray]:
        p = np.exp(np.clip(margin, -_CLIP, _CLIP))
        s = np.bincount(design, weights=p, minlength=n_designs)
        r = (np.log1p(s) - y_log)[design]
        share = p / (1.0 + s[design])
        if huber_delta > 0:
            q = 1.0 + (r / huber_delta) ** 2
            d1, d2 = r / np.sqrt(q), q ** -1.5  # the loss's first and second derivatives in r
        else:
            d1, d2 = r, 1.0
        grad = d1 * share
        hess = d2 * share * share + np.maximum(d1 * share * (1.0 - share), 0.0)
        return grad, np.maximum(hess, 1e-6)

    return obj


def fit_model(
    spec: ModelSpec,
    X: np.ndarray,
    y_log: np.ndarray,
    offset: np.ndarray | None,
    design: np.ndarray | None,
    *,
    n_threads: int = 1,
    seed: int = 0,
) -> tuple[xgb.Booster | RidgeModel, float]:
    """Train one model; returns the booster and the constant base margin used when ``offset`` is None.

    For ``global`` X has one row per design and ``y_log = log1p(y)``; for ``per_layer`` X has one row per
    layer, ``design`` maps layer rows to designs ``0..len(y_log)-1`` and ``y_log`` is per design.
    """
    if spec.kind == "ridge":
        base = float(np.mean(y_log)) if offset is None else 0.0
        m = RidgeModel.fit(X, y_log - design_margin_offset(offset, base, len(X)), spec.reg_lambda)
        return m, base
    params = spec.xgb_params(n_threads, seed)
    if spec.kind == "global":
        base = float(np.mean(y_log)) if offset is None else 0.0
        dtrain = xgb.DMatrix(X, label=y_log, base_margin=design_margin_offset(offset, base, len(X)), nthread=n_threads)
        return xgb.train(params, dtrain, spec.n_rounds, verbose_eval=False), base
    if spec.kind != "per_layer":
        raise ValueError(f"unknown model kind {spec.kind!r}")
    assert design is not None
    n_designs = len(y_log)
    n_layers = np.bincount(design, minlength=n_designs).astype(float)
    base = float(np.log(max(np.mean(np.expm1(y_log)), 1e-3) / max(np.mean(n_layers), 1.0))) if offset is None else 0.0
    dtrain = xgb.DMatrix(X, base_margin=layer_margin_offset(offset, base, len(X)), nthread=n_threads)
    booster = xgb.train(params, dtrain, spec.n_rounds, obj=_sum_objective(design, y_log, n_designs, spec.huber_delta),
                        verbose_eval=False)
    return booster, base


def _margin(booster: xgb.Booster | RidgeModel, X: np.ndarray, it: tuple[int, int]) -> np.ndarray:
    # The models are trained with base_score 0, so the raw margin is the trees alone; adding the base
    # margin here is equivalent to inplace_predict(base_margin=...) and avoids its ~7 ms per-call overhead.
    return booster.inplace_predict(X, iteration_range=it, predict_type="margin")


def unique_rows(X: np.ndarray, min_rows: int = 1024) -> tuple[np.ndarray, np.ndarray] | None:
    """``(first, inverse)`` with ``X[first][inverse] == X`` when deduplicating rows is worth it, else None.

    Batches of designs repeat many layer rows (same layer size, bits and reuse in many designs; Input and
    Activation rows), and the trees only need to see each distinct row once.
    """
    if len(X) < min_rows:
        return None
    xc = np.ascontiguousarray(X)
    v = xc.view(np.dtype((np.void, xc.dtype.itemsize * xc.shape[1]))).ravel()
    _, first, inverse = np.unique(v, return_index=True, return_inverse=True)
    if len(first) > 0.8 * len(X):
        return None
    return first, inverse.ravel()


def predict_model(
    spec: ModelSpec,
    booster: xgb.Booster,
    base: float,
    X: np.ndarray,
    offset: np.ndarray | None,
    design: np.ndarray | None,
    n_designs: int,
    n_rounds: int | None = None,
    rows: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Predicted totals (original scale, unrounded) for ``n_designs`` designs.

    ``rows`` (from :func:`unique_rows`) evaluates the trees on distinct rows of ``X`` only.
    """
    it = (0, int(n_rounds)) if n_rounds else (0, 0)
    trees = _margin(booster, X, it) if rows is None else _margin(booster, X[rows[0]], it)[rows[1]]
    if spec.kind in GLOBAL_KINDS:
        m = trees + design_margin_offset(offset, base, len(X))
        return np.expm1(np.clip(m, -_CLIP, _CLIP)).clip(min=0.0)
    assert design is not None
    m = trees + layer_margin_offset(offset, base, len(X))
    return np.bincount(design, weights=np.exp(np.clip(m, -_CLIP, _CLIP)), minlength=n_designs)
