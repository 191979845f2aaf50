"""The bit-exact emulator: the one source of numeric truth (docs/numerics.md).

    >>> import numpy as np
    >>> from codegen.emulator import predict            # doctest: +SKIP
    >>> y = predict(graph, X)                            # doctest: +SKIP

``run`` returns raw integers per layer; ``predict`` returns the output layer's values as float64; ``trace``
returns every layer's values. Batches are processed in chunks to bound memory.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph
from .kernels import KERNELS, Tensor

__all__ = ["run", "predict", "trace", "to_float", "KERNELS"]

CHUNK = 16384


def _check_input(graph: Graph, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    shape = graph.input_layer.shape
    if X.shape[1:] != shape:
        if X.ndim >= 1 and int(np.prod(X.shape[1:])) == int(np.prod(shape)) and X.ndim > 1:
            X = X.reshape(X.shape[0], *shape)
        elif X.shape == shape:
            X = X[None]
        else:
            raise ValueError(f"input of shape {X.shape} does not match the model's input shape (batch, {shape})")
    return X


def _run_chunk(graph: Graph, X: np.ndarray, keep: bool) -> dict[str, np.ndarray]:
    values: dict[str, Tensor] = {}
    out: dict[str, np.ndarray] = {}
    remaining = {l.name: len(graph.consumers(l.name)) for l in graph}
    last = graph.layers[-1].name
    for layer in graph:
        if layer.kind == "Input":
            ins = [(X, None)]
        else:
            ins = [values[i] for i in layer.inputs]
        raw = KERNELS[layer.kind](layer, ins)
        values[layer.name] = (raw, layer.result_type)
        if keep or layer.name == last:
            out[layer.name] = raw
        if not keep:
            for i in layer.inputs:
                remaining[i] -= 1
                if remaining[i] == 0:
                    values.pop(i, None)
    return out


def run(graph: Graph, X, keep_all: bool = True) -> dict[str, np.ndarray]:
    """Raw integer outputs of every layer (or only the output layer when ``keep_all=False``)."""
    X = _check_input(graph, X)
    parts = [_run_chunk(graph, X[i:i + CHUNK], keep_all) for i in range(0, max(len(X), 1), CHUNK)]
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def to_float(graph: Graph, name: str, raw: np.ndarray) -> np.ndarray:
    return graph[name].result_type.to_float(raw)


def predict(graph: Graph, X) -> np.ndarray:
    """The output layer's values, float64, shape (batch, *output shape)."""
    out = graph.output_layer
    raw = run(graph, X, keep_all=False)[out.name]
    return out.result_type.to_float(raw)


def trace(graph: Graph, X) -> dict[str, np.ndarray]:
    """Every layer's output values (float64) by layer name."""
    return {k: graph[k].result_type.to_float(v) for k, v in run(graph, X).items()}
