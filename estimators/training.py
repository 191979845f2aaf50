"""Train the shipped ``vitis-u250`` surrogate from the wa-hls4ml Vitis HLS 2023.2 results.

One command (about 4-6 minutes on one core of a busy 2-core machine)::

    python bench/train_vitis_u250.py            # or:
    python -c "from estimators.training import train_from_wa_hls4ml; train_from_wa_hls4ml()"

Procedure: hold out ``holdout`` of the architectures (GroupShuffleSplit on model_string, fixed seed),
fit a :class:`~estimators.surrogate.Surrogate` (grouped CV picks model kind, depth and rounds per target
and calibrates the intervals) on the rest, score it on the held-out architectures, then (``refit_all``)
retrain the final models on all rows with the same choices. The metadata keeps the held-out scores,
the split (seed and architectures) and says whether the shipped models were refit.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from . import metrics
from .features import SPARSITY_FEATURES
from .surrogate import Surrogate
from .wa_hls4ml import WA_PART, load_wa_hls4ml

__all__ = ["train_from_wa_hls4ml", "train_surrogate", "holdout_split", "score", "REPO", "DATA_DIR", "OUT_DIR", "INFO", "EXCLUDE"]

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "data" / "datasets" / "wa-hls4ml"
OUT_DIR = REPO / "data" / "surrogates" / "vitis-u250"
HOLDOUT = 0.15
SEED = 20251121
#: not used for vitis-u250: integer / fractional bits are an assumption for wa-hls4ml (not recorded), and
#: nothing is pruned there, so pruning-dependent features carry no information (and hls4ml's Resource
#: strategy keeps zero weights in its ROM anyway: ``block_factor`` / ``mult_units`` count its multipliers);
#: neither are the open-source flow's Verilog counts (``rtl_*``, ``*_rtl_est``): wa-hls4ml rows have none, while a
#: model estimated by the user would, so its features would differ from the training rows'
EXCLUDE: tuple[str, ...] = ("*integer_bits*", "*frac_bits*", *SPARSITY_FEATURES, "*rtl*")
INFO: dict[str, Any] = {
    "name": "vitis-u250",
    "backend": "vitis",
    "tool": "Vitis HLS",
    "tool_version": "2023.2",
    "part": WA_PART,
    "clock_period_ns": 5.0,
    "strategy": "resource",
    "io_type": "io_parallel",
    "targets_from": "C-synthesis estimates (csynth), not post-implementation",
    "dataset": "wa-hls4ml (data/datasets/wa-hls4ml; arXiv 2511.05615; CC-BY-NC-4.0, attribute the wa-hls4ml "
    "authors); wa_2layer.csv + wa_3layer.csv, conv2d rows not used",
    "assumptions": [
        "hidden Dense layers carry ReLU, the last is linear (not recorded in the data)",
        "prec = total bits of weights, biases, inputs, results and accumulator; integer bits unknown, "
        "assumed ceil(prec/2) and excluded from the features",
        "facts laid out like codegen.design_facts: Input, Dense (linear), Activation (relu) after hidden Dense",
        "no pruning: pruning-dependent features excluded, pruned designs not flagged (Resource strategy keeps "
        "zero weights in ROM)",
        "requested rf snapped per layer with hls4ml's Resource-strategy rule (codegen.reuse)",
    ],
}


def holdout_split(groups: pd.Series, fraction: float = HOLDOUT, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, held-out) with whole architectures held out."""
    gss = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    tr, te = next(gss.split(np.zeros(len(groups)), groups=np.asarray(groups)))
    return tr, te


def score(y: pd.DataFrame, pred: pd.DataFrame, targets) -> dict[str, dict[str, float]]:
    """Per-target R2 / sMAPE / MAPE / coverage90 of ``pred`` (a Surrogate.predict frame) against ``y``."""
    return {
        tg: metrics.summarize(y[tg].to_numpy(float), pred[tg], pred[f"{tg}_low"], pred[f"{tg}_high"])
        for tg in targets
    }


def train_surrogate(
    designs: list[dict],
    y: pd.DataFrame,
    groups: pd.Series,
    out_dir: str | Path | None,
    info: Mapping[str, Any],
    *,
    holdout: float = HOLDOUT,
    seed: int = SEED,
    refit_all: bool = True,
    params: Mapping[str, Any] | None = None,
) -> tuple[Surrogate, dict[str, Any]]:
    """Hold out architectures, fit, score on them, optionally refit on everything, and save to ``out_dir``."""
    tr, te = holdout_split(groups, holdout, seed)
    log.info("%d rows, %d architectures; holding out %d rows (%d architectures)", len(designs),
             groups.nunique(), len(te), groups.iloc[te].nunique())
    sur = Surrogate(**dict(params or {})).fit([designs[i] for i in tr], y.iloc[tr], groups.iloc[tr], info=info)
    pred = sur.predict([designs[i] for i in te])
    yte = y.iloc[te].reset_index(drop=True)
    depth = np.array([sum(f["kind"] in ("Dense", "Conv1D", "Conv2D") for f in designs[i]["layers"]) for i in te])
    report: dict[str, Any] = {
        "fraction": holdout,
        "seed": seed,
        "split": "sklearn GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed) on architectures",
        "n_designs": int(len(te)),
        "n_architectures": int(groups.iloc[te].nunique()),
        "architectures": sorted(str(a) for a in groups.iloc[te].unique().tolist()),
        "metrics": score(yte, pred, sur.targets),
        "metrics_3layer": score(yte[depth == 3].reset_index(drop=True), pred[depth == 3].reset_index(drop=True),
                                sur.targets) if (depth == 3).any() else {},
        "extrapolating_fraction": float(pred["extrapolating"].mean()),
        "training_set_sha256": sur.training_["sha256"],
        "n_train_designs": int(len(tr)),
    }
    for tg, m in report["metrics"].items():
        log.info("held-out %-15s R2 %.4f  sMAPE %.2f%%  coverage90 %.3f", tg, m["r2"], m["smape"], m["coverage90"])
    if refit_all:
        sur.refit(designs, y, groups, info=info)
    extra = {
        "holdout": report,
        "refit_on_all_data": bool(refit_all),
        "note": (
            "held-out scores measured before the final refit on all rows (the shipped models have seen the "
            "held-out architectures)" if refit_all else "shipped models trained without the held-out architectures"
        ),
    }
    if out_dir is not None:
        sur.save(str(out_dir), extra=extra)
        log.info("saved %s", out_dir)
    sur.metadata_ = {"extra": extra}
    return sur, extra


def train_from_wa_hls4ml(
    data_dir: str | Path = DATA_DIR,
    out_dir: str | Path | None = OUT_DIR,
    *,
    holdout: float = HOLDOUT,
    seed: int = SEED,
    refit_all: bool = True,
    params: Mapping[str, Any] | None = None,
) -> tuple[Surrogate, dict[str, Any]]:
    """Train the shipped ``vitis-u250`` surrogate (see the module docstring)."""
    designs, y, groups = load_wa_hls4ml(data_dir)
    kw = {"exclude_features": EXCLUDE, **dict(params or {})}
    return train_surrogate(designs, y, groups, out_dir, INFO, holdout=holdout, seed=seed, refit_all=refit_all,
                           params=kw)
