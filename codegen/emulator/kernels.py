"""One vectorized numpy kernel per layer kind, on raw integers (docs/numerics.md is their specification).

A kernel takes the layer and its inputs as ``(raw, FixedType)`` pairs, each raw array with the batch axis
first, and returns the raw output in the layer's result type. :data:`KERNELS` is the dispatch table.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..fixed import FixedType
from ..ir import Layer
from . import tables
from .arith import add, align, bits, cast, exact_sum, matvec_accumulate, shift

__all__ = ["KERNELS", "Tensor", "weight_raw", "conv_patches", "AVG_RECIP_TYPE"]

Tensor = tuple[np.ndarray, FixedType]
AVG_RECIP_TYPE = FixedType(24, 0, signed=False, rounding="AP_RND")


def weight_raw(layer: Layer, key: str, var: str) -> np.ndarray:
    """The layer's weights ``key`` as raw integers of its ``var`` precision (cached on the layer)."""
    cache = layer.attrs.setdefault("_raw_cache", {})
    t = layer.precision[var]
    ck = (key, str(t))
    if ck not in cache:
        cache[ck] = t.quantize_float(np.asarray(layer.weights[key], dtype=np.float64))
    return cache[ck]


def _input(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    (x, _), = ins
    return layer.result_type.quantize_float(x)


def _dense(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    (x, xt), = ins
    p = layer.precision
    w = weight_raw(layer, "kernel", "weight")
    b = weight_raw(layer, "bias", "bias") if "bias" in layer.weights else None
    lead = x.shape[:-1]
    acc = matvec_accumulate(x.reshape(-1, x.shape[-1]), xt, w, p["weight"], b, p.get("bias"), p["accum"])
    y = cast(acc, p["accum"].frac, layer.result_type)
    return y.reshape(*lead, w.shape[1])


def conv_patches(x: np.ndarray, kernel: tuple[int, ...], strides: tuple[int, ...], padding: str) -> np.ndarray:
    """im2col: (batch, *spatial, c) -> (batch, *out_spatial, prod(kernel) * c), patch order (k..., c)."""
    nd = len(kernel)
    spatial = x.shape[1:1 + nd]
    if padding == "same":
        pads = []
        for n, k, s in zip(spatial, kernel, strides):
            out = -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    win = sliding_window_view(x, kernel, axis=tuple(range(1, 1 + nd)))  # (b, *o, c, *k)
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    # move channel axis after kernel axes: (b, *o, *k, c)
    win = np.moveaxis(win, 1 + nd, -1)
    return win.reshape(*win.shape[:1 + nd], -1)


def _conv(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    (x, xt), = ins
    a = layer.attrs
    patches = conv_patches(x, tuple(a["kernel_size"]), tuple(a["strides"]), a["padding"])
    out_shape = patches.shape[:-1]
    p = layer.precision
    w = weight_raw(layer, "kernel", "weight").reshape(-1, a["filters"])
    b = weight_raw(layer, "bias", "bias") if "bias" in layer.weights else None
    acc = matvec_accumulate(patches.reshape(-1, w.shape[0]), xt, w, p["weight"], b, p.get("bias"), p["accum"])
    return cast(acc, p["accum"].frac, layer.result_type).reshape(*out_shape, a["filters"])


def _batchnorm(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    (x, xt), = ins
    p = layer.precision
    s = weight_raw(layer, "scale", "scale")
    b = weight_raw(layer, "bias", "bias")
    xs = x.astype(object) if bits(x) + bits(s) >= 62 else x
    total, f = exact_sum([(xs * s, xt.frac + p["scale"].frac), (np.broadcast_to(b, x.shape), p["bias"].frac)])
    return cast(total, f, layer.result_type)


def _table_index(x: np.ndarray, xt: FixedType, n: int, span: int) -> np.ndarray:
    """``clamp(floor(x * n / span) + n/2, 0, n-1)`` on raw integers (n, span powers of two)."""
    k = int(math.log2(n)) - int(math.log2(span)) - xt.frac
    idx = shift(x, k) + n // 2
    return np.clip(idx, 0, n - 1).astype(np.int64)


def _activation(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    (x, xt), = ins
    act = layer.attrs["activation"]
    rt = layer.result_type
    if act == "linear":
        return cast(x, xt.frac, rt)
    if act == "relu":
        return cast(np.maximum(x, 0) if x.dtype != object else np.where(x > 0, x, 0).astype(object), xt.frac, rt)
    n = tables.check_table_size(layer.config.table_size, layer.name)
    if act in ("sigmoid", "tanh"):
        tt = layer.precision["table"]
        table = (tables.sigmoid_table if act == "sigmoid" else tables.tanh_table)(n, tt)
        span = tables.SIGMOID_RANGE if act == "sigmoid" else tables.TANH_RANGE
        return cast(table[_table_index(x, xt, n, span)], tt.frac, rt)
    if act == "softmax":
        return _softmax(layer, x, xt)
    raise ValueError(f"layer {layer.name!r}: activation {act!r} has no emulator kernel")


def _softmax(layer: Layer, x: np.ndarray, xt: FixedType) -> np.ndarray:
    n = layer.config.table_size
    et, it = layer.precision["exp_table"], layer.precision["inv_table"]
    if et.frac < 0:
        raise ValueError(f"layer {layer.name!r}: exp_table precision {et} needs fractional bits >= 0")
    n_classes = x.shape[-1]
    d = x.max(axis=-1, keepdims=True) - x  # >= 0, exact
    idx = np.minimum(shift(d, int(math.log2(n)) - int(math.log2(tables.EXP_RANGE)) - xt.frac), n - 1)
    e = tables.exp_table(n, et)[idx.astype(np.int64)]
    s = e.sum(axis=-1, keepdims=True)  # exact, frac et.frac
    span = tables.softmax_sum_span(n_classes)
    k = int(math.log2(n)) - int(math.log2(span)) - et.frac
    idx2 = np.clip(shift(s - (1 << et.frac), k), 0, n - 1).astype(np.int64)
    r = tables.inv_table(n, it, n_classes)[idx2]
    return cast(e * r, et.frac + it.frac, layer.result_type)


def _windows(x: np.ndarray, pool: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """(b, *spatial, c) -> (b, *out, c, window elements) for 'valid' pooling."""
    nd = len(pool)
    win = sliding_window_view(x, pool, axis=tuple(range(1, 1 + nd)))
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    return win.reshape(*win.shape[:2 + nd], -1)


def _avg(total: np.ndarray, xt: FixedType, count: int, rt: FixedType) -> np.ndarray:
    c = int(AVG_RECIP_TYPE.quantize_float(np.array([1.0 / count]))[0])
    return cast(total * c, xt.frac + AVG_RECIP_TYPE.frac, rt)


def _pooling(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    (x, xt), = ins
    a = layer.attrs
    win = _windows(x, tuple(a["pool_size"]), tuple(a["strides"]))
    if a["op"] == "max":
        return cast(win.max(axis=-1), xt.frac, layer.result_type)
    return _avg(win.sum(axis=-1), xt, win.shape[-1], layer.result_type)


def _global_pooling(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    (x, xt), = ins
    axes = tuple(range(1, x.ndim - 1))
    if layer.attrs["op"] == "max":
        return cast(x.max(axis=axes), xt.frac, layer.result_type)
    count = int(math.prod(x.shape[1:-1]))
    return _avg(x.sum(axis=axes), xt, count, layer.result_type)


def _reshape(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    (x, _), = ins
    return x.reshape(x.shape[0], *layer.shape)


def _add(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    total, f = exact_sum([(x, t.frac) for x, t in ins])
    return cast(total, f, layer.result_type)


def _concatenate(layer: Layer, ins: list[Tensor]) -> np.ndarray:
    axis = layer.attrs.get("axis", -1)
    if axis >= 0:
        axis += 1  # batch axis
    parts = [cast(x, t.frac, layer.result_type) for x, t in ins]
    if any(p.dtype == object for p in parts):
        parts = [p.astype(object) for p in parts]
    return np.concatenate(parts, axis=axis)


KERNELS: dict[str, Callable[[Layer, list[Tensor]], np.ndarray]] = {
    "Input": _input,
    "Dense": _dense,
    "Conv1D": _conv,
    "Conv2D": _conv,
    "BatchNormalization": _batchnorm,
    "Activation": _activation,
    "Pooling1D": _pooling,
    "Pooling2D": _pooling,
    "GlobalPooling1D": _global_pooling,
    "GlobalPooling2D": _global_pooling,
    "Reshape": _reshape,
    "Add": _add,
    "Concatenate": _concatenate,
}
