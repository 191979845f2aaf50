"""A scikit-learn-style surrogate for FPGA resources and latency of hls4ml-style designs.

Usage::

    from estimators import Surrogate, load_wa_hls4ml
    designs, targets, groups = load_wa_hls4ml("data/datasets/wa-hls4ml")
    sur = Surrogate().fit(designs, targets, groups)
    sur.predict(designs[:3])      # columns lut, lut_low, lut_high, ..., extrapolating, reason
    sur.save("data/surrogates/mine")
    Surrogate.load("data/surrogates/mine")

Per target it trains candidate models on ``log1p`` targets: two xgboost kinds (``global``: one row per
design; ``per_layer``: one row per layer, predictions summed over the layers of a design) and a scikit-learn
``ridge`` (see :mod:`estimators.boosting`), picks hyperparameters and the kind by grouped cross-validation
(``GroupKFold`` over architectures, so validation architectures are unseen), and calibrates a 90%
interval by split-conformal quantiles of the out-of-fold log residuals (Mondrian: per network depth and
per bin of the predicted value). Point predictions are rounded to the resolution of the tool's report
(1 for counts and cycles, 0.5 for BRAM_18K); interval ends are rounded outwards.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import GroupKFold
from tqdm.auto import tqdm

from . import metrics
from .boosting import GLOBAL_KINDS, ModelSpec, fit_model, predict_model, unique_rows
from .domain import TrainingDomain
from .features import (
    SPARSITY_FEATURES,
    FactTable,
    architecture_key,
    design_feature_matrix,
    fact_table,
    layer_feature_matrix,
)

__all__ = ["Surrogate", "TARGETS", "MODEL_KINDS", "DEFAULT_OFFSETS", "RTL_OFFSETS", "OFFSET_PRESETS", "ROUNDING",
           "STRUCTURAL_ZEROS"]

log = logging.getLogger(__name__)

TARGETS: tuple[str, ...] = ("lut", "ff", "dsp", "bram_18k", "latency_cycles", "ii")
#: candidate model kinds: xgboost on design features, xgboost summed over layers, scikit-learn Ridge
MODEL_KINDS: tuple[str, ...] = ("global", "per_layer", "ridge")
#: analytic prior (feature name) each target's model corrects multiplicatively
DEFAULT_OFFSETS: dict[str, str] = {"latency_cycles": "cycles_est", "ii": "cycles_est"}
#: priors for the open-source RTL flow (codegen.rtl + yosys): LUT / FF / cycle counts of the generated Verilog
RTL_OFFSETS: dict[str, str] = {"lut": "lut_rtl_est", "ff": "ff_rtl_est", "latency_cycles": "latency_rtl_est",
                                "ii": "ii_rtl_est"}
#: named offset presets (``dse fit-surrogate --offsets``)
OFFSET_PRESETS: dict[str, dict[str, str]] = {"default": DEFAULT_OFFSETS, "rtl": RTL_OFFSETS, "none": {}}
#: targets predicted exactly 0 for a design whose prior (offset) is 0 and whose layers all have rtl_* facts: no
#: counted LUT logic in the Verilog, no LUT (all 6 such designs of the yosys-xc7 seed dataset have 0 LUTs, and
#: every other design has some); a model of log1p(y) would otherwise add a few LUTs to nothing
STRUCTURAL_ZEROS: tuple[str, ...] = ("lut",)
#: report resolution of each target
ROUNDING: dict[str, float] = {"lut": 1.0, "ff": 1.0, "dsp": 1.0, "bram_18k": 0.5, "latency_cycles": 1.0, "ii": 1.0}


def _round_to(x: np.ndarray, step: float | None, how: str = "nearest") -> np.ndarray:
    if not step:
        return x
    f = {"nearest": np.round, "down": np.floor, "up": np.ceil}[how]
    return f(x / step) * step


def dataset_sha256(designs: Sequence[Mapping[str, Any]], targets: pd.DataFrame) -> str:
    """Content hash of a training set (designs as canonical JSON plus target values)."""
    h = hashlib.sha256()
    h.update(json.dumps(list(designs), sort_keys=True, default=str).encode())
    h.update(json.dumps({c: [float(v) for v in targets[c]] for c in targets.columns}, sort_keys=True).encode())
    return h.hexdigest()


class Surrogate(BaseEstimator):
    """Resource / latency surrogate: xgboost per target, model kind and depth chosen by grouped CV.

    Parameters
    ----------
    targets: target columns to learn (see :data:`TARGETS`).
    model_kinds: candidate kinds: ``"global"`` and ``"per_layer"`` (xgboost), ``"ridge"`` (scikit-learn).
    ridge_alphas: the ``alpha`` grid of the ``ridge`` kind.
    max_depths, round_grid, learning_rate: hyperparameter grid searched by grouped CV.
    huber_delta: loss of the xgboost kinds on log targets: 0 = squared error, > 0 = pseudo-Huber with this delta
    (0.1: about 10%), which lets the few designs synthesis maps unusually pull the trees less.
    n_splits: GroupKFold folds.
    coverage: nominal coverage of the prediction intervals.
    interval_bins: bins of the predicted value with their own conformal quantiles.
    offsets: a preset name (:data:`OFFSET_PRESETS`: ``"default"``, ``"rtl"``, ``"none"``) or a dict target -> feature
    name (or None): the analytic prior each target's model corrects multiplicatively.
    exclude_features: fnmatch patterns of feature names never used (e.g. ``"*integer_bits*"``).
    n_jobs: xgboost threads (1 is fastest on a busy machine: OpenMP threads spin-wait on shared cores).
    random_state: seed of xgboost's subsampling.

    Fitted attributes: ``feature_names_``, ``layer_feature_names_``, ``models_``, ``model_kind_``,
    ``specs_``, ``bases_``, ``offsets_``, ``intervals_``, ``cv_results_``, ``cv_best_``, ``domain_``,
    ``training_``, ``info_``.
    """

    def __init__(
        self,
        targets: Sequence[str] = TARGETS,
        model_kinds: Sequence[str] = MODEL_KINDS,
        ridge_alphas: Sequence[float] = (1.0, 10.0, 100.0),
        max_depths: Sequence[int] = (4, 7),
        round_grid: Sequence[int] = (100, 200, 400),
        learning_rate: float = 0.2,
        huber_delta: float = 0.0,
        n_splits: int = 3,
        coverage: float = 0.9,
        interval_bins: int = 4,
        offsets: str | Mapping[str, str | None] = "default",
        exclude_features: Sequence[str] = (),
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.targets = targets
        self.model_kinds = model_kinds
        self.ridge_alphas = ridge_alphas
        self.max_depths = max_depths
        self.round_grid = round_grid
        self.learning_rate = learning_rate
        self.huber_delta = huber_delta
        self.n_splits = n_splits
        self.coverage = coverage
        self.interval_bins = interval_bins
        self.offsets = offsets
        self.exclude_features = exclude_features
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ features
    def _offset_for(self, target: str) -> str | None:
        if isinstance(self.offsets, str):
            if self.offsets not in OFFSET_PRESETS:
                raise ValueError(f"offsets {self.offsets!r}: expected one of {sorted(OFFSET_PRESETS)} or a dict")
            return OFFSET_PRESETS[self.offsets].get(target)
        offs = dict(self.offsets or {})
        return offs.get(target)

    def _matrices(self, t: FactTable, need_global: bool = True, need_layer: bool = True) -> dict[str, Any]:
        """Full feature matrices plus the column subsets the models use (and offset columns)."""
        out: dict[str, Any] = {}
        if need_global:
            xg, gn = design_feature_matrix(t)
            out["g_full"], out["g_names"] = xg, gn
        if need_layer:
            xl, ln = layer_feature_matrix(t)
            out["l_full"], out["l_names"] = xl, ln
        return out

    @staticmethod
    def _select(names: list[str], patterns: Sequence[str], x: np.ndarray | None) -> list[str]:
        keep = [n for n in names if not any(fnmatch.fnmatch(n, p) for p in patterns)]
        if x is not None:  # drop constant columns (no information in the training data)
            idx = [names.index(n) for n in keep]
            const = np.ptp(x[:, idx], axis=0) == 0
            keep = [n for n, c in zip(keep, const) if not c]
        return keep

    def _cols(self, m: dict[str, Any], kind: str, target: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(model feature matrix, offset column) of one kind, from the full matrices in ``m``."""
        key = "g" if kind in GLOBAL_KINDS else "l"
        names = m[f"{key}_names"]
        cache = self.__dict__.setdefault("_col_cache", {})
        ck = (key, tuple(names))
        if ck not in cache:
            pos = {n: i for i, n in enumerate(names)}
            want = self.feature_names_ if key == "g" else self.layer_feature_names_
            missing = [n for n in want if n not in pos]
            if missing:
                raise ValueError(f"features {missing[:5]} are unknown to this version of estimators.features")
            cache[ck] = (np.array([pos[n] for n in want], dtype=np.int64), pos)
        idx, pos = cache[ck]
        full = m[f"{key}_full"]
        off = self.offsets_.get(target)
        return full[:, idx], (full[:, pos[off]] if off else None)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        designs: Sequence[Mapping[str, Any]],
        targets: pd.DataFrame,
        groups: Sequence[Any] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> "Surrogate":
        """Fit every target. ``groups`` default to :func:`~estimators.features.architecture_key`;
        ``info`` (backend, tool, tool_version, part, dataset, ...) is stored in the metadata."""
        designs, targets, groups_arr, t, m = self._prepare(designs, targets, groups, info)
        self.feature_names_ = self._select(m["g_names"], self.exclude_features, m["g_full"])
        self.layer_feature_names_ = self._select(m["l_names"], self.exclude_features, m["l_full"])
        self._set_sparsity_check()
        self.offsets_ = {tg: self._offset_for(tg) for tg in self.targets}
        for tg, o in self.offsets_.items():
            if o and (o not in m["g_names"] or o not in m["l_names"]):
                raise ValueError(f"offset feature {o!r} of target {tg!r} is not a feature")
        folds = list(GroupKFold(n_splits=self.n_splits).split(np.zeros(len(designs)), groups=groups_arr))
        self.model_kind_, self.specs_ = {}, {}
        self.intervals_, self.cv_results_, self.cv_best_ = {}, {}, {}
        unknown = [k for k in self.model_kinds if k not in MODEL_KINDS]
        if unknown:
            raise ValueError(f"unknown model kinds {unknown}; expected some of {', '.join(MODEL_KINDS)}")
        # (target, kind, hyperparameter): tree depth for xgboost, alpha for ridge
        jobs = [(tg, k, h) for tg in self.targets for k in self.model_kinds
                for h in (self.ridge_alphas if k == "ridge" else self.max_depths)]
        oof_all: dict[tuple, np.ndarray] = {}
        for tg, kind, h in tqdm(jobs, desc="grouped CV", disable=None):
            oof = self._cv_one(t, m, targets[tg].to_numpy(float), tg, kind, h, folds)
            oof_all.update({(tg, kind, h, r): p for r, p in oof.items()})
        for tg in self.targets:
            y = targets[tg].to_numpy(float)
            rows = []
            for (tg2, kind, h, r), p in oof_all.items():
                if tg2 != tg:
                    continue
                pr = _round_to(p, ROUNDING.get(tg))
                ridge = kind == "ridge"
                rows.append({
                    "kind": kind, "max_depth": 0 if ridge else h, "n_rounds": r, "alpha": h if ridge else None,
                    "smape": metrics.smape(y, pr), "r2": metrics.r2(y, pr), "mape": metrics.mape(y, pr),
                    "rmse_log": float(np.sqrt(np.mean((np.log1p(p) - np.log1p(y)) ** 2))),
                })
            best = _pick(rows)
            self.cv_results_[tg] = rows
            spec = self._spec(best["kind"], best["alpha"] if best["kind"] == "ridge" else best["max_depth"],
                              best["n_rounds"])
            oof = oof_all[(tg, best["kind"], best["alpha"] if best["kind"] == "ridge" else best["max_depth"],
                           best["n_rounds"])]
            self.intervals_[tg] = self._calibrate(y, oof, t.n_matrix, tg)
            best = dict(best, coverage90=self.intervals_[tg]["oof_coverage"])
            self.cv_best_[tg] = best
            log.info("%s: %s depth %d, %d rounds, alpha %s, CV sMAPE %.2f%% R2 %.4f", tg, spec.kind,
                     spec.max_depth, spec.n_rounds, best["alpha"], best["smape"], best["r2"])
            self.model_kind_[tg], self.specs_[tg] = spec.kind, spec
        self._fit_final(t, m, targets)
        return self

    def refit(
        self,
        designs: Sequence[Mapping[str, Any]],
        targets: pd.DataFrame,
        groups: Sequence[Any] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> "Surrogate":
        """Retrain the final models on new data (e.g. train + held-out) keeping the model kinds,
        hyperparameters, features and interval calibration chosen by the grouped CV of :meth:`fit`."""
        if not hasattr(self, "specs_"):
            raise RuntimeError("refit() needs a fitted Surrogate (it reuses the CV choices of fit())")
        info = dict(self.info_, **(info or {}))
        designs, targets, _, t, m = self._prepare(designs, targets, groups, info)
        self._fit_final(t, m, targets)
        return self

    def _prepare(self, designs, targets, groups, info):
        designs = list(designs)
        missing = [c for c in self.targets if c not in targets.columns]
        if missing:
            raise ValueError(f"targets lack columns {missing}")
        if len(targets) != len(designs):
            raise ValueError(f"{len(designs)} designs but {len(targets)} target rows")
        targets = targets.reset_index(drop=True)
        for tg in self.targets:
            y = targets[tg].to_numpy(float)
            if not np.all(np.isfinite(y)) or (y < 0).any():
                raise ValueError(f"target {tg!r} has missing, infinite or negative values")
        groups_arr = np.asarray([architecture_key(d) for d in designs] if groups is None else list(groups))
        self.__dict__.pop("_col_cache", None)
        t = fact_table(designs)
        self.domain_ = TrainingDomain.from_table(t)
        if hasattr(self, "feature_names_"):
            self._set_sparsity_check()
        self.info_ = dict(info or {})
        self.training_ = {
            "sha256": dataset_sha256(designs, targets[list(self.targets)]),
            "n_designs": len(designs),
            "n_groups": int(len(np.unique(groups_arr))),
        }
        return designs, targets, groups_arr, t, self._matrices(t)

    def _set_sparsity_check(self) -> None:
        """Flag pruned designs as extrapolating only when some used feature depends on pruning."""
        used = list(self.feature_names_) + list(self.layer_feature_names_)
        self.domain_.check_sparsity = any(fnmatch.fnmatch(n, p) for n in used for p in SPARSITY_FEATURES)

    def _fit_final(self, t: FactTable, m: dict, targets: pd.DataFrame) -> None:
        self.models_, self.bases_ = {}, {}
        for tg in tqdm(self.targets, desc="final models", disable=None):
            spec = self.specs_[tg]
            x, off = self._cols(m, spec.kind, tg)
            booster, base = fit_model(spec, x, np.log1p(targets[tg].to_numpy(float)), off, t.design,
                                      n_threads=self.n_jobs, seed=self.random_state)
            self.models_[tg], self.bases_[tg] = booster, base

    @staticmethod
    def _kind_defaults(kind: str) -> dict[str, float]:
        # per-layer gradients are shares of a design total: small hessians, so a small min_child_weight,
        # and Newton steps on layers with a tiny share overshoot unless leaf values are bounded
        return {"min_child_weight": 0.1, "max_delta_step": 1.0} if kind == "per_layer" else {}

    def _spec(self, kind: str, h: float, n_rounds: int) -> ModelSpec:
        """The model spec of a kind and its hyperparameter (depth for xgboost, alpha for ridge)."""
        if kind == "ridge":
            return ModelSpec("ridge", max_depth=0, n_rounds=1, reg_lambda=float(h))
        return ModelSpec(kind, max_depth=int(h), n_rounds=int(n_rounds), learning_rate=self.learning_rate,
                         huber_delta=float(self.huber_delta), **self._kind_defaults(kind))

    def _cv_one(self, t: FactTable, m: dict, y: np.ndarray, tg: str, kind: str, h: float, folds) -> dict:
        """Out-of-fold predictions at every round count of the grid for one (target, kind, depth or alpha)."""
        rounds = [1] if kind == "ridge" else list(self.round_grid)
        spec = self._spec(kind, h, max(rounds))
        x, off = self._cols(m, kind, tg)
        oof = {r: np.zeros(len(y)) for r in rounds}
        for tr, va in folds:
            if kind in GLOBAL_KINDS:
                b, base = fit_model(spec, x[tr], np.log1p(y[tr]), None if off is None else off[tr], None,
                                    n_threads=self.n_jobs, seed=self.random_state)
                for r in rounds:
                    oof[r][va] = predict_model(spec, b, base, x[va], None if off is None else off[va], None, len(va), r)
                continue
            ltr, dtr = _layer_subset(t, tr)
            lva, dva = _layer_subset(t, va)
            b, base = fit_model(spec, x[ltr], np.log1p(y[tr]), None if off is None else off[ltr], dtr,
                                n_threads=self.n_jobs, seed=self.random_state)
            for r in self.round_grid:
                oof[r][va] = predict_model(spec, b, base, x[lva], None if off is None else off[lva], dva, len(va), r)
        return oof

    def _calibrate(self, y: np.ndarray, p: np.ndarray, depth: np.ndarray, tg: str) -> dict[str, Any]:
        """Split-conformal quantiles of log1p residuals for a two-sided ``coverage`` interval (Mondrian):
        computed separately per network depth (matrix layers; when a depth has >= 400 rows, others use the pooled
        calibration) and, inside each, in ``interval_bins`` bins of the predicted value, so intervals are
        tight where the model is sure and wide where it is not."""
        q: dict[str, Any] = {"all": self._conformal(y, p), "by_depth": {}}
        for k in np.unique(depth):
            m = depth == k
            if m.sum() >= 400:
                q["by_depth"][str(int(k))] = self._conformal(y[m], p[m])
        lo, hi = self._interval(p, depth, q, tg)
        q["oof_coverage"] = metrics.coverage(y, lo, hi)
        q["nominal"] = self.coverage
        return q

    def _conformal(self, y: np.ndarray, p: np.ndarray) -> dict[str, list[float]]:
        lp = np.log1p(p)
        r = np.log1p(y) - lp
        n_bins = max(1, min(int(self.interval_bins), len(r) // 200))
        edges = np.unique(np.quantile(lp, np.linspace(0, 1, n_bins + 1)[1:-1])) if n_bins > 1 else np.array([])
        b = np.searchsorted(edges, lp, side="right")
        a = 1.0 - self.coverage
        q_low, q_high = [], []
        for k in range(len(edges) + 1):
            rk = np.sort(r[b == k])
            if len(rk) == 0:  # an empty bin (ties in the predictions): fall back to all residuals
                rk = np.sort(r)
            n = len(rk)
            k_hi = min(n, math.ceil((n + 1) * (1 - a / 2)))
            k_lo = max(1, math.floor((n + 1) * (a / 2)))
            q_low.append(float(min(rk[k_lo - 1], 0.0)))
            q_high.append(float(max(rk[k_hi - 1], 0.0)))
        return {"edges": [float(e) for e in edges], "q_low": q_low, "q_high": q_high}

    @staticmethod
    def _interval(p: np.ndarray, depth: np.ndarray, q: Mapping[str, Any], tg: str) -> tuple[np.ndarray, np.ndarray]:
        step = ROUNDING.get(tg)
        lp = np.log1p(p)
        q_lo, q_hi = np.zeros(len(p)), np.zeros(len(p))
        cals = [(None, q["all"])] + [(int(k), c) for k, c in q["by_depth"].items()]
        for k, c in cals:
            m = np.ones(len(p), dtype=bool) if k is None else depth == k
            if not m.any():
                continue
            b = np.searchsorted(np.asarray(c["edges"], dtype=float), lp[m], side="right")
            q_lo[m], q_hi[m] = np.asarray(c["q_low"])[b], np.asarray(c["q_high"])[b]
        lo = _round_to(np.expm1(lp + q_lo), step, "down").clip(min=0.0)
        hi = _round_to(np.expm1(lp + q_hi), step, "up")
        return lo, hi

    # ------------------------------------------------------------------ predict
    def predict(self, designs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Point predictions, ``<target>_low``/``<target>_high`` intervals, ``extrapolating`` and ``reason``."""
        if not hasattr(self, "models_"):
            raise RuntimeError("this Surrogate is not fitted; call fit() or Surrogate.load()")
        t = fact_table(designs)
        kinds = set(self.model_kind_.values())
        m = self._matrices(t, bool(kinds & GLOBAL_KINDS), "per_layer" in kinds)
        cols: dict[str, np.ndarray] = {}
        dedup: dict[str, Any] = {}
        for tg in self.targets:
            spec = self.specs_[tg]
            x, off = self._cols(m, spec.kind, tg)
            if spec.kind not in dedup:  # every model of a kind sees the same feature columns
                dedup[spec.kind] = unique_rows(x)
            p = predict_model(spec, self.models_[tg], self.bases_[tg], x, off, t.design, t.n_designs,
                              rows=dedup[spec.kind])
            lo, hi = self._interval(p, t.n_matrix, self.intervals_[tg], tg)
            pr = _round_to(p, ROUNDING.get(tg))
            if tg in STRUCTURAL_ZEROS and off is not None:
                empty = self._without_logic(m, t, spec.kind, off)
                pr, lo, hi = (np.where(empty, 0.0, v) for v in (pr, lo, hi))
            cols[tg], cols[f"{tg}_low"], cols[f"{tg}_high"] = pr, np.minimum(lo, pr), np.maximum(hi, pr)
        flags, reasons = self.domain_.check(t)
        cols["extrapolating"] = flags
        cols["reason"] = np.asarray(reasons, dtype=object)
        return pd.DataFrame(cols)

    @staticmethod
    def _without_logic(m: dict[str, Any], t: FactTable, kind: str, off: np.ndarray) -> np.ndarray:
        """Designs whose prior ``off`` (per layer or per design, by ``kind``) is 0 with rtl_* facts on every layer."""
        key = "g" if kind in GLOBAL_KINDS else "l"
        known = m[f"{key}_full"][:, m[f"{key}_names"].index("rtl_known")]
        if key == "g":
            return (off == 0) & (known == 1)
        prior = np.bincount(t.design, weights=off, minlength=t.n_designs)
        unknown = np.bincount(t.design, weights=(known < 1).astype(float), minlength=t.n_designs)
        return (prior == 0) & (unknown == 0)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str, extra: Mapping[str, Any] | None = None) -> None:
        """Write xgboost JSON models and metadata.json into directory ``path`` (see :mod:`estimators.storage`)."""
        from .storage import save_surrogate

        save_surrogate(self, path, extra=extra)

    @classmethod
    def load(cls, path: str) -> "Surrogate":
        """Load a saved surrogate (never unpickles); raises :class:`~estimators.storage.SurrogateLoadError`."""
        from .storage import load_surrogate

        return load_surrogate(path)


def _pick(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The cheapest candidate (rounds x depth, the cost of a prediction) whose CV sMAPE is within
    1% + 0.01 points of the best; ties on sMAPE (e.g. exact DSP counts) go to the lower log-RMSE first."""
    top = min(r["smape"] for r in rows)
    ok = [r for r in rows if r["smape"] <= top * 1.01 + 0.01]
    best_log = min(r["rmse_log"] for r in ok)
    ok = [r for r in ok if r["rmse_log"] <= best_log * 1.05 + 1e-4]
    return min(ok, key=lambda r: (r["n_rounds"] * r["max_depth"], r["smape"], r["rmse_log"]))


def _layer_subset(t: FactTable, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Layer-row mask of designs ``idx`` and their design index renumbered ``0..len(idx)-1``."""
    inv = np.full(t.n_designs, -1, dtype=np.int64)
    inv[idx] = np.arange(len(idx))
    mask = inv[t.design] >= 0
    return mask, inv[t.design[mask]]
