"""Exact hypervolume (minimization) and the hypervolume history of a study.

    >>> hypervolume([[1, 2], [2, 1]], [3, 3])
    3.0
    >>> hypervolume([[0.5, 0.5, 0.5]], [1, 1, 1])
    0.125

Objectives are first turned into minimization (maximized ones negated), then normalized to [0, 1] with
bounds taken over all the points given (or passed in), and measured against the reference point
``1 + margin`` in every dimension: the numbers of one report (or one benchmark) are comparable.
The algorithm slices along the last objective and recurses (exact; fine for fronts of a few hundred points
in up to 5 dimensions).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["hypervolume", "pareto_mask", "normalize", "hypervolume_history", "to_minimization"]


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows (minimization; duplicates keep their first copy)."""
    P = np.asarray(points, dtype=float)
    n = len(P)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(P[i] <= P, axis=1) & np.any(P[i] < P, axis=1)
        keep &= ~dominated
        same = np.all(P == P[i], axis=1)
        same[: i + 1] = False
        keep &= ~same
    return keep


def _hv2(P: np.ndarray, ref: np.ndarray) -> float:
    P = P[np.argsort(P[:, 0])]
    hv, best_y = 0.0, ref[1]
    for x, y in P:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return float(hv)


def _hv(P: np.ndarray, ref: np.ndarray) -> float:
    if len(P) == 0:
        return 0.0
    d = P.shape[1]
    if d == 1:
        return float(ref[0] - P[:, 0].min())
    if d == 2:
        return _hv2(P, ref)
    P = P[np.argsort(P[:, -1])]
    hv = 0.0
    for i in range(len(P)):
        z_next = P[i + 1, -1] if i + 1 < len(P) else ref[-1]
        depth = z_next - P[i, -1]
        if depth <= 0:
            continue
        sub = P[: i + 1, :-1]
        sub = sub[pareto_mask(sub)]
        hv += depth * _hv(sub, ref[:-1])
    return float(hv)


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """Hypervolume dominated by ``points`` (minimization) up to ``reference``; points beyond it are ignored."""
    P = np.asarray(points, dtype=float).reshape(-1, len(reference))
    ref = np.asarray(reference, dtype=float)
    P = P[np.all(P < ref, axis=1)]
    if len(P) == 0:
        return 0.0
    return _hv(P[pareto_mask(P)], ref)


def to_minimization(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Negate the maximized columns."""
    V = np.asarray(values, dtype=float).copy()
    for j, d in enumerate(directions):
        if d == "maximize":
            V[:, j] = -V[:, j]
    return V


def normalize(V: np.ndarray, lower=None, upper=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each column to [0, 1] with ``lower``/``upper`` (default: the columns' min/max)."""
    lo = np.min(V, axis=0) if lower is None else np.asarray(lower, dtype=float)
    hi = np.max(V, axis=0) if upper is None else np.asarray(upper, dtype=float)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return (V - lo) / span, lo, hi


def hypervolume_history(values: Sequence[Sequence[float]], directions: Sequence[str], feasible=None,
                        margin: float = 0.1, lower=None, upper=None) -> list[float]:
    """Normalized hypervolume of the feasible points among the first 1, 2, ... points (trial order)."""
    V = to_minimization(np.asarray(values, dtype=float).reshape(len(values), len(directions)), directions)
    if len(V) == 0:
        return []
    feas = np.ones(len(V), dtype=bool) if feasible is None else np.asarray(feasible, dtype=bool)
    ref_rows = V[feas] if feas.any() else V
    N, _, _ = normalize(V, ref_rows.min(0) if lower is None else lower, ref_rows.max(0) if upper is None else upper)
    ref = np.full(V.shape[1], 1.0 + margin)
    out, front = [], np.empty((0, V.shape[1]))
    last = 0.0
    for i in range(len(V)):
        if feas[i] and not np.any(np.all(front <= N[i], axis=1)):
            front = np.vstack([front, N[i]])
            front = front[pareto_mask(front)]
            last = hypervolume(front, ref)
        out.append(last)
    return out
