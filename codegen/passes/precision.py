"""Turn each layer's resolved settings into a :class:`~codegen.ir.LayerConfig`, inferring ``auto`` precisions.

Rules for ``auto`` (chosen so that nothing overflows or loses bits where that is cheap to guarantee):

- Dense/Conv ``accum``: exact for the layer: ``F = max(F_in + F_w, F_b)``,
  ``I = max(I_in + I_w, I_b) + ceil(log2(n + 1))`` with ``n`` the most nonzero weights of any output; signed.
- Dense/Conv ``result``: the accumulator type.
- BatchNormalization ``result``: exact ``x * s + b``.
- ReLU ``result``: the input type made unsigned (one bit less); linear: the input type.
- Add: exact sum; Concatenate: a type holding every input; pooling: the input type.
- weight, bias, scale, Input and table-based activations: the model default ``ap_fixed<16,6>`` (tables: their
  own defaults, see ``codegen.config.TABLE_DEFAULTS``).
"""
from __future__ import annotations

import math

import numpy as np

from ..config import DEFAULT_PRECISION, TABLE_DEFAULTS, ConfigError
from ..fixed import FixedType
from ..ir import Graph, Layer, LayerConfig


def _exact(frac: int, integer: int, signed: bool = True) -> FixedType:
    return FixedType(max(frac + integer, 1), integer, signed)


def _accum(layer: Layer, xt: FixedType, wt: FixedType, bt: FixedType) -> FixedType:
    n = int(np.count_nonzero(np.asarray(layer.weights["kernel"]).reshape(-1, layer.weights["kernel"].shape[-1]),
                             axis=0).max()) if layer.weights["kernel"].size else 0
    frac = max(xt.frac + wt.frac, bt.frac)
    integer = max(xt.integer + wt.integer + (0 if xt.signed or wt.signed else 1), bt.integer) + \
        math.ceil(math.log2(n + 1))
    return _exact(frac, integer)


def _unsigned_of(t: FixedType) -> FixedType:
    if not t.signed:
        return t.replace(rounding="AP_TRN", saturation="AP_WRAP")
    return FixedType(max(t.width - 1, 1), t.integer - 1, False)


def _holds_all(types: list[FixedType], growth: int = 0) -> FixedType:
    frac = max(t.frac for t in types)
    signed = any(t.signed for t in types)
    integer = max(t.integer + (1 if signed and not t.signed else 0) for t in types) + growth
    return _exact(frac, integer, signed)


def _auto_result(layer: Layer, p: dict[str, FixedType], ins: list[FixedType]) -> FixedType:
    k = layer.kind
    if k in ("Dense", "Conv1D", "Conv2D"):
        return p["accum"]
    if k == "BatchNormalization":
        xt, st, bt = ins[0], p["scale"], p["bias"]
        return _exact(max(xt.frac + st.frac, bt.frac), max(xt.integer + st.integer, bt.integer) + 1)
    if k == "Activation":
        act = layer.attrs["activation"]
        if act == "relu":
            return _unsigned_of(ins[0])
        if act == "linear":
            return ins[0]
        return FixedType.parse(DEFAULT_PRECISION)
    if k in ("Pooling1D", "Pooling2D", "GlobalPooling1D", "GlobalPooling2D"):
        return ins[0].replace(rounding="AP_TRN", saturation="AP_WRAP") if ins[0].rounding != "AP_TRN" else ins[0]
    if k == "Add":
        return _holds_all(ins, math.ceil(math.log2(len(ins))))
    if k == "Concatenate":
        return _holds_all(ins)
    return FixedType.parse(DEFAULT_PRECISION)


def _cast_pairs(layer: Layer, p: dict[str, FixedType], ins: list[FixedType]):
    """(source, target, what) for the casts a layer performs that could lose every source bit."""
    if layer.is_matrix:
        xt, wt = ins[0], p["weight"]
        prod = FixedType(xt.width + wt.width, xt.integer + wt.integer)
        return [(prod, p["accum"], "product -> accum"), (p["accum"], p["result"], "accum -> result")]
    if layer.kind == "Activation" and layer.attrs.get("activation") in ("relu", "linear"):
        return [(ins[0], p["result"], "input -> result")]
    if layer.kind == "Activation" and "table" in p:
        return [(p["table"], p["result"], "table -> result")]
    if layer.kind in ("Pooling1D", "Pooling2D", "GlobalPooling1D", "GlobalPooling2D", "Concatenate") \
            and layer.attrs.get("op", "max") == "max":
        return [(t, p["result"], "input -> result") for t in ins]
    return []


def _check_casts(layer: Layer, p: dict[str, FixedType], ins: list[FixedType]) -> None:
    """Xilinx ap_types assert (abort) when a rounding cast drops all the bits of its source; refuse those."""
    for src, dst, what in _cast_pairs(layer, p, ins):
        if dst.rounding != "AP_TRN" and src.frac - dst.frac >= src.width:
            raise ConfigError(
                f"layer {layer.name!r}: the {what} cast {src} -> {dst} rounds away every bit of its source; "
                "Xilinx ap_types cannot do that (it asserts). Use AP_TRN for the target, or give the target more "
                "fractional bits")


def infer_precision(graph: Graph) -> Graph:
    """Build every layer's LayerConfig from ``attrs['settings']``, resolving ``auto`` in topological order."""
    for layer in graph:
        s = layer.attrs.get("settings")
        if s is None:
            raise ConfigError(f"layer {layer.name!r} has no settings: run the apply_config pass first")
        ins = [graph[i].result_type for i in layer.inputs]
        p: dict[str, FixedType] = {}
        if layer.kind == "Reshape":
            p["result"] = ins[0]
        for var in ("weight", "bias", "scale", "table", "exp_table", "inv_table"):
            if var in s.precision:
                v = s.precision[var]
                p[var] = FixedType.parse(TABLE_DEFAULTS.get(var, DEFAULT_PRECISION) if v == "auto" else v)
        if "accum" in s.precision:
            v = s.precision["accum"]
            p["accum"] = _accum(layer, ins[0], p["weight"], p["bias"]) if v == "auto" else FixedType.parse(v)
        if "result" in s.precision:
            v = s.precision["result"]
            if v != "auto":
                p["result"] = FixedType.parse(v)
            elif layer.kind == "Input":
                p["result"] = FixedType.parse(DEFAULT_PRECISION)
            else:
                p["result"] = _auto_result(layer, p, ins)
        _check_casts(layer, p, ins)
        layer.config = LayerConfig(precision=p, reuse_factor=s.reuse_factor, strategy=s.strategy,
                                   table_size=s.table_size)
        layer.attrs.pop("_raw_cache", None)
    return graph
