"""Fold a BatchNormalization into the Dense/Conv layer right before it."""
from __future__ import annotations

import logging

from ..ir import Graph

log = logging.getLogger(__name__)


def fuse_batchnorm(graph: Graph) -> Graph:
    """``W' = W * s``, ``b' = b * s + beta`` when the BN is the only consumer of a Dense/Conv layer.

    As in hls4ml, only when the Dense/Conv result precision is ``auto`` (its output is then exact, so folding
    changes no numbers the user asked for); the fused layer takes the BatchNormalization's result precision.
    Layers with QKeras-quantized weights are left alone: folding would change their exact weights.
    """
    for bn in [l for l in graph if l.kind == "BatchNormalization"]:
        (src_name,) = bn.inputs
        src = graph[src_name]
        if not src.is_matrix or len(graph.consumers(src_name)) != 1 or src.attrs.get("quantized"):
            continue
        settings = src.attrs.get("settings")
        if settings is None or settings.precision.get("result") != "auto":
            continue
        settings.precision["result"] = bn.attrs["settings"].precision["result"]
        s, b = bn.weights["scale"], bn.weights["bias"]
        src.weights["kernel"] = src.weights["kernel"] * s
        src.weights["bias"] = src.weights["bias"] * s + b
        src.attrs.pop("_raw_cache", None)
        src.attrs["fused_batchnorm"] = bn.name
        graph.remove(bn.name)
        log.debug("fused %s into %s", bn.name, src.name)
    return graph
