"""Lookup tables of the LUT-based activations, computed once in Python and shared by every engine.

The HLS writer prints these exact values into the project, so the C++ and the emulator index the very same
tables (see docs/numerics.md).

    >>> from codegen.fixed import FixedType
    >>> t = sigmoid_table(8, FixedType.parse("ap_ufixed<8,0,AP_RND,AP_SAT>"))
    >>> t.tolist()
    [0, 1, 5, 31, 128, 225, 251, 255]
"""
from __future__ import annotations

import numpy as np

from ..fixed import FixedType

__all__ = ["SIGMOID_RANGE", "TANH_RANGE", "EXP_RANGE", "sigmoid_table", "tanh_table", "exp_table", "inv_table",
           "check_table_size", "softmax_sum_span"]

SIGMOID_RANGE = 16  # table covers [-8, 8)
TANH_RANGE = 8  # table covers [-4, 4)
EXP_RANGE = 8  # exp(-d) for d in [0, 8)


def check_table_size(n: int, layer: str = "?") -> int:
    if not isinstance(n, int) or n < 2 or n & (n - 1):
        raise ValueError(f"layer {layer!r}: TableSize must be a power of two >= 2, got {n!r}")
    return n


def sigmoid_table(n: int, t: FixedType) -> np.ndarray:
    """Raw integers of ``t``: ``sigmoid(-8 + 16 i / n)`` for i in 0..n-1."""
    x = -SIGMOID_RANGE / 2 + SIGMOID_RANGE * np.arange(n) / n
    return t.quantize_float(1.0 / (1.0 + np.exp(-x)))


def tanh_table(n: int, t: FixedType) -> np.ndarray:
    """Raw integers of ``t``: ``tanh(-4 + 8 i / n)``."""
    x = -TANH_RANGE / 2 + TANH_RANGE * np.arange(n) / n
    return t.quantize_float(np.tanh(x))


def exp_table(n: int, t: FixedType) -> np.ndarray:
    """Raw integers of ``t``: ``exp(-8 i / n)``."""
    return t.quantize_float(np.exp(-EXP_RANGE * np.arange(n) / n))


def softmax_sum_span(n_classes: int) -> int:
    """``S``: the smallest power of two >= the number of classes (the inverse table covers sums in [1, 1+S))."""
    s = 1
    while s < n_classes:
        s *= 2
    return s


def inv_table(n: int, t: FixedType, n_classes: int) -> np.ndarray:
    """Raw integers of ``t``: ``1 / (1 + j S / n)`` with ``S = softmax_sum_span(n_classes)``."""
    s = softmax_sum_span(n_classes)
    return t.quantize_float(1.0 / (1.0 + np.arange(n) * s / n))
