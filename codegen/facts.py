"""Per-layer facts of a converted graph: what datasets store and what the estimators learn from.

    >>> facts = layer_facts(hm.graph)          # doctest: +SKIP
    >>> facts[1]["kind"], facts[1]["n_in"], facts[1]["reuse"]   # doctest: +SKIP
    ('Dense', 16, 4)

Every fact dict has the keys of :data:`FACT_KEYS`. For convolutions ``n_in`` is kernel elements x input
channels and ``n_out`` the filters (the matrix one output position multiplies by), ``out_pixels`` the output
positions. Layers without weights have ``n_in`` = input size, ``n_out`` = output size, zero params.

The ``rtl_*`` facts (:data:`codegen.rtl.inventory.INVENTORY_KEYS`) count the live logic of the layer's
Verilog under the default :class:`~codegen.rtl.DspPolicy` (what the yosys flow synthesizes); they are -1
when the Verilog writer cannot build the design (an io type or layer it does not support) or when it has
more than :data:`INVENTORY_MAX_PRODUCTS` nonzero products (counting takes about 15 ms per 1,000 of them).
"""
from __future__ import annotations

import logging
import math

import numpy as np

from .ir import Graph, Layer
from .rtl.inventory import INVENTORY_KEYS

__all__ = ["FACT_KEYS", "DERIVED_FACT_KEYS", "layer_facts", "design_facts", "csd_digit_count"]

FACT_KEYS = (
    "name", "kind", "n_in", "n_out", "out_pixels", "params", "nonzero_params", "weight_bits",
    "weight_integer_bits", "bias_bits", "input_bits", "input_integer_bits", "result_bits", "result_integer_bits",
    "accum_bits", "accum_integer_bits", "reuse", "strategy", "activation", "csd_digits",
) + INVENTORY_KEYS
#: facts computed from the weights and the Verilog writer rather than read off the design: a newer version may
#: count them differently (``dse dataset refresh-facts`` recomputes them; the other facts identify the design)
DERIVED_FACT_KEYS = ("csd_digits",) + INVENTORY_KEYS

log = logging.getLogger(__name__)

#: designs with more nonzero products per inference than this get no rtl_* facts (-1): counting would take
#: seconds, and no such design fits the parts the open-source flow targets
INVENTORY_MAX_PRODUCTS = 100_000


def csd_digit_count(raw: np.ndarray) -> int:
    """Total nonzero canonical-signed digits of integer weights: the shift-add terms of their constant
    multiplications (codegen.rtl.arith.csd), 0 for zeros and 1 for powers of two."""
    x = np.abs(np.asarray(raw).ravel())
    if x.dtype == object or (len(x) and int(x.max()) >= 2 ** 61):
        return sum(_naf_weight(int(v)) for v in x)
    x = x.astype(np.int64)
    # NAF digits: xh = x >> 1, x3 = x + xh, c = xh ^ x3; positive digits at x3 & c, negative at xh & c
    xh = x >> 1
    x3 = x + xh
    c = xh ^ x3
    y = (x3 & c) | (xh & c)  # disjoint bit sets
    n = 0
    while np.any(y):
        n += int((y & 1).sum())
        y = y >> 1
    return n


def _naf_weight(x: int) -> int:
    xh = x >> 1
    x3 = x + xh
    c = xh ^ x3
    return bin(x3 & c).count("1") + bin(xh & c).count("1")


def _one(graph: Graph, layer: Layer) -> dict:
    p = layer.precision
    src = graph[layer.inputs[0]] if layer.inputs else None
    in_t = src.result_type if src is not None else p.get("result")
    rt = p.get("result", in_t)
    if layer.is_matrix:
        n_in, n_out = layer.matrix_shape()
        bias = layer.weights.get("bias")
        params = int(layer.weights["kernel"].size) + (int(bias.size) if bias is not None else 0)
        nonzero = int(layer.attrs.get("nonzero", layer.nonzero_weights())) + (
            int((bias != 0).sum()) if bias is not None else 0)
    else:
        n_in = src.size if src is not None else layer.size
        n_out = layer.size
        params = sum(int(w.size) for w in layer.weights.values())
        nonzero = sum(int((w != 0).sum()) for w in layer.weights.values())
    wt = p.get("weight") or p.get("scale")
    bt = p.get("bias")
    at = p.get("accum")
    return {
        "name": layer.name,
        "kind": layer.kind,
        "n_in": int(n_in),
        "n_out": int(n_out),
        "out_pixels": int(layer.out_positions()) if layer.is_matrix else 1,
        "params": int(params),
        "nonzero_params": int(nonzero),
        "weight_bits": wt.width if wt else 0,
        "weight_integer_bits": wt.integer if wt else 0,
        "bias_bits": bt.width if bt else 0,
        "input_bits": in_t.width if in_t else 0,
        "input_integer_bits": in_t.integer if in_t else 0,
        "result_bits": rt.width if rt else 0,
        "result_integer_bits": rt.integer if rt else 0,
        "accum_bits": at.width if at else 0,
        "accum_integer_bits": at.integer if at else 0,
        "reuse": int(layer.config.reuse_factor),
        "strategy": layer.config.strategy,
        "activation": layer.attrs.get("activation", "linear") if layer.kind == "Activation" else "linear",
        "csd_digits": _csd_digits(layer),
    }


def _csd_digits(layer: Layer) -> int:
    if not layer.is_matrix or "kernel" not in layer.weights or not layer.precision.get("weight"):
        return 0
    from .emulator.kernels import weight_raw

    return csd_digit_count(weight_raw(layer, "kernel", "weight"))


def _inventory(graph: Graph) -> dict[str, dict[str, int]]:
    """The live-logic counts of every layer's Verilog, or {} when the Verilog writer cannot build the design."""
    from .rtl import RTLWriteError, plan_design
    from .rtl.inventory import layer_inventory

    products = sum(int(l.nonzero_weights()) * int(l.out_positions()) for l in graph if l.is_matrix)
    if products > INVENTORY_MAX_PRODUCTS:
        log.debug("no rtl_* facts for %s: %d nonzero products > %d", graph.name, products, INVENTORY_MAX_PRODUCTS)
        return {}
    try:
        return layer_inventory(plan_design(graph))
    except (RTLWriteError, NotImplementedError, ValueError, KeyError) as e:
        log.debug("no rtl_* facts for %s: %s", graph.name, e)
        return {}


def layer_facts(graph: Graph) -> list[dict]:
    """One fact dict per layer (Input included), in graph order."""
    inv = _inventory(graph)
    missing = dict.fromkeys(INVENTORY_KEYS, -1)
    return [{**_one(graph, l), **inv.get(l.name, missing)} for l in graph]


def design_facts(graph: Graph) -> dict:
    """The design-level record: layer facts plus part, clock and io type."""
    return {"layers": layer_facts(graph), "part": graph.part, "clock_period": float(graph.clock_period),
            "io_type": graph.io_type}
