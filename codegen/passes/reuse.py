"""Reuse factors (hls4ml's rules) and strategy per layer."""
from __future__ import annotations

import logging

from ..ir import Graph
from ..reuse import check_reuse_factor, is_valid_reuse_factor, snap_reuse_factor

log = logging.getLogger(__name__)

#: hls4ml refuses to fully unroll more multiplications than this in the Latency strategy
LATENCY_UNROLL_LIMIT = 4096


def validate_reuse_factor(graph: Graph) -> Graph:
    """Reject impossible reuse factors; snap invalid ones to the nearest valid value for Resource layers."""
    for layer in graph:
        if not layer.is_matrix:
            layer.config.reuse_factor = 1
            continue
        n_in, n_out = layer.matrix_shape()
        rf = layer.config.reuse_factor
        settings = layer.attrs.get("settings")
        if rf > n_in * n_out and settings is not None and not settings.reuse_from_layer_name:
            # a model- or type-wide value larger than this layer: use the whole layer, as hls4ml does
            log.info("layer %r: ReuseFactor %d is larger than its %dx%d multiplications; using %d",
                     layer.name, rf, n_in, n_out, n_in * n_out)
            rf = layer.config.reuse_factor = n_in * n_out
        check_reuse_factor(n_in, n_out, rf, layer.name)
        layer.attrs["requested_reuse_factor"] = rf
        if layer.config.strategy == "resource" and not is_valid_reuse_factor(n_in, n_out, rf):
            new = snap_reuse_factor(n_in, n_out, rf)
            log.warning("layer %r: ReuseFactor %d is not valid for a %dx%d Resource layer; using %d",
                        layer.name, rf, n_in, n_out, new)
            layer.config.reuse_factor = new
    return graph


def choose_strategy(graph: Graph) -> Graph:
    """Only matrix layers have a strategy; warn where Latency would unroll more than hls4ml allows."""
    for layer in graph:
        if not layer.is_matrix:
            layer.config.strategy = "latency"
            continue
        n_in, n_out = layer.matrix_shape()
        if layer.config.strategy == "latency" and n_in * n_out // layer.config.reuse_factor > LATENCY_UNROLL_LIMIT:
            log.warning("layer %r: Latency strategy unrolls %d multiplications (> %d); Vitis HLS may refuse it, "
                        "consider Strategy: Resource", layer.name, n_in * n_out // layer.config.reuse_factor,
                        LATENCY_UNROLL_LIMIT)
    return graph
