"""Accuracy metrics for surrogate predictions.

    >>> r2([1, 2, 3], [1, 2, 3])
    1.0
    >>> smape([100, 0], [110, 0])   # percent, 0..200 convention, 0/0 counts as 0
    4.761904761904762
    >>> mape([0, 100], [5, 90])     # percent, rows with y == 0 skipped
    10.0
    >>> coverage90([1, 5], [0, 6], [2, 7])
    0.5
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["r2", "smape", "mape", "coverage90", "coverage", "summarize"]


def _arrays(*xs: ArrayLike) -> list[np.ndarray]:
    out = [np.asarray(x, dtype=float).ravel() for x in xs]
    if len({len(x) for x in out}) != 1:
        raise ValueError(f"length mismatch: {[len(x) for x in out]}")
    return out


def r2(y: ArrayLike, p: ArrayLike) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (nan when y is constant)."""
    y, p = _arrays(y, p)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y - p) ** 2)) / ss_tot


def smape(y: ArrayLike, p: ArrayLike) -> float:
    """Symmetric MAPE in percent: ``mean(2|y-p| / (|y|+|p|)) * 100``, a term with y == p == 0 is 0."""
    y, p = _arrays(y, p)
    den = np.abs(y) + np.abs(p)
    term = np.where(den > 0, 2.0 * np.abs(y - p) / np.where(den > 0, den, 1.0), 0.0)
    return float(term.mean() * 100.0)


def mape(y: ArrayLike, p: ArrayLike) -> float:
    """Mean absolute percentage error in percent over rows with ``y != 0`` (nan when there are none)."""
    y, p = _arrays(y, p)
    m = y != 0
    if not m.any():
        return float("nan")
    return float(np.mean(np.abs(y[m] - p[m]) / np.abs(y[m])) * 100.0)


def coverage(y: ArrayLike, low: ArrayLike, high: ArrayLike) -> float:
    """Fraction of ``y`` inside the closed interval ``[low, high]``."""
    y, lo, hi = _arrays(y, low, high)
    return float(np.mean((y >= lo) & (y <= hi)))


def coverage90(y: ArrayLike, low: ArrayLike, high: ArrayLike) -> float:
    """Coverage of the 90% intervals (should be close to 0.90)."""
    return coverage(y, low, high)


def summarize(y: ArrayLike, p: ArrayLike, low: ArrayLike | None = None, high: ArrayLike | None = None) -> dict:
    """All metrics of one target as a dict (coverage90 only when an interval is given)."""
    out = {"r2": r2(y, p), "smape": smape(y, p), "mape": mape(y, p), "n": int(np.size(y))}
    if low is not None and high is not None:
        out["coverage90"] = coverage90(y, low, high)
    return out
