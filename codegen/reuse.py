"""Reuse-factor rules of hls4ml for matrix-vector layers.

A Dense layer with ``n_in`` inputs and ``n_out`` outputs (a Conv layer uses
``n_in = kernel elements x input channels`` and ``n_out = filters``) performs
``n_in * n_out`` multiplications per output pixel. With reuse factor ``R`` each
multiplier is shared by ``R`` products, so the layer needs ``ceil(n_in*n_out/R)``
multipliers and can accept a new input every ``R`` cycles.

hls4ml's Resource strategy only accepts some values of ``R``; invalid ones are
snapped to the nearest valid value (ties go to the smaller one)::

    >>> valid_reuse_factors(16, 64)[:5]
    [1, 2, 4, 8, 16]
    >>> valid_reuse_factors(32, 5)
    [1, 2, 4, 8, 16, 32, 160]
    >>> snap_reuse_factor(32, 5, 100)
    160
"""
from __future__ import annotations

import math
from functools import lru_cache

__all__ = ["is_valid_reuse_factor", "valid_reuse_factors", "snap_reuse_factor", "ReuseFactorError"]


class ReuseFactorError(ValueError):
    """A reuse factor that no rule can make valid (0, negative, or larger than the layer)."""


def is_valid_reuse_factor(n_in: int, n_out: int, rf: int) -> bool:
    """hls4ml's validity rule for the Resource strategy."""
    if rf < 1 or rf > n_in * n_out:
        return False
    n = n_in * n_out
    if n % rf != 0:
        return False
    if not (rf % n_in == 0 or rf < n_in):
        return False
    if not (math.ceil(n / min(n_in, rf)) % n_out == 0 or rf >= n_in):
        return False
    return True


@lru_cache(maxsize=4096)
def _valid(n_in: int, n_out: int) -> tuple[int, ...]:
    return tuple(rf for rf in range(1, n_in * n_out + 1) if is_valid_reuse_factor(n_in, n_out, rf))


def valid_reuse_factors(n_in: int, n_out: int) -> list[int]:
    """All reuse factors hls4ml's Resource strategy accepts for an ``n_in x n_out`` product."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"matrix size must be positive, got {n_in}x{n_out}")
    return list(_valid(n_in, n_out))


def check_reuse_factor(n_in: int, n_out: int, rf: int, layer: str = "?") -> None:
    """Raise :class:`ReuseFactorError` when ``rf`` can never be used for this layer."""
    if not isinstance(rf, (int,)) or isinstance(rf, bool):
        raise ReuseFactorError(f"layer {layer!r}: ReuseFactor must be an integer, got {rf!r}")
    if rf < 1:
        raise ReuseFactorError(f"layer {layer!r}: ReuseFactor must be >= 1, got {rf}")
    if rf > n_in * n_out:
        raise ReuseFactorError(
            f"layer {layer!r}: ReuseFactor {rf} is larger than the layer's {n_in}x{n_out}={n_in * n_out} "
            "multiplications"
        )


def snap_reuse_factor(n_in: int, n_out: int, rf: int) -> int:
    """The valid reuse factor closest to ``rf`` (ties to the smaller), as hls4ml's Resource strategy does."""
    valid = _valid(n_in, n_out)
    return min(valid, key=lambda v: (abs(v - rf), v))
