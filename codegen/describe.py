"""Designs described without a Keras model: a list of layer dicts -> :class:`~codegen.ir.Graph`.

Searches, sweeps and estimators talk about designs before any training. A description::

    {"input_shape": [16],                       # optional when the first layer says n_in / in_shape
     "layers": [{"type": "Dense", "n_in": 16, "n_out": 64, "activation": "relu", "sparsity": 0.5},
                {"type": "Dense", "n_out": 5, "activation": "softmax"}],
     "config": {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 4, "Strategy": "Resource"}},
     "part": "xcu250-figd2104-2L-e", "clock_period": 5, "seed": 0}

Layer types: Dense (n_in, n_out), Conv1D/Conv2D (filters, kernel_size, strides, padding, in_shape for the
first layer), MaxPooling1D/2D and AveragePooling1D/2D (pool_size), GlobalAveragePooling1D/2D, Flatten,
BatchNormalization, Activation (activation). ``activation`` on Dense/Conv becomes its own layer named
``<name>_<activation>``. Weights are drawn from a seeded normal distribution and pruned by magnitude to
``sparsity`` (the fraction of zeros), so the same description always gives the same graph.

    >>> g = graph_from_description({"layers": [{"type": "Dense", "n_in": 4, "n_out": 3}]})
    >>> [(l.name, l.kind, l.shape) for l in g]
    [('input', 'Input', (4,)), ('dense_0', 'Dense', (3,))]
"""
from __future__ import annotations

import copy
import math

import numpy as np

from .frontend.keras_layers import ACTIVATIONS
from .ir import Graph, Layer

__all__ = ["DescriptionError", "graph_from_description", "prune_by_magnitude", "LAYER_TYPES"]


class DescriptionError(ValueError):
    """A design description that cannot be built; the message names the layer index and the key."""


def prune_by_magnitude(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Zero the ``sparsity`` fraction of entries with the smallest magnitude (ties broken by position)."""
    if not 0.0 <= sparsity < 1.0:
        raise DescriptionError(f"sparsity must be in [0, 1), got {sparsity!r}")
    w = np.array(w, dtype=np.float64, copy=True)
    k = int(round(sparsity * w.size))
    if k:
        order = np.argsort(np.abs(w).ravel(), kind="stable")
        w.ravel()[order[:k]] = 0.0
    return w


def _tuple(v, nd: int, key: str, where: str) -> tuple[int, ...]:
    t = tuple(int(x) for x in (v if isinstance(v, (list, tuple)) else [v] * nd))
    if len(t) != nd or any(x < 1 for x in t):
        raise DescriptionError(f"{where}: {key} must be {nd} positive integer(s), got {v!r}")
    return t


def _act_layer(spec: dict, main: Layer, where: str) -> list[Layer]:
    act = spec.get("activation", "linear") or "linear"
    if act not in ACTIVATIONS:
        raise DescriptionError(f"{where}: activation {act!r} is not one of {ACTIVATIONS}")
    if act == "linear":
        return [main]
    return [main, Layer(f"{main.name}_{act}", "Activation", [main.name], main.shape, attrs={"activation": act},
                        source_class="Activation")]


def _dense(spec, name, prev, shape, rng, where):
    if len(shape) != 1:
        raise DescriptionError(f"{where}: Dense needs a 1-d input, got shape {shape} (add a Flatten)")
    n_in = int(spec.get("n_in", shape[0]))
    if n_in != shape[0]:
        raise DescriptionError(f"{where}: n_in={n_in} but the previous layer gives {shape[0]}")
    n_out = int(spec["n_out"]) if "n_out" in spec else None
    if not n_out or n_out < 1:
        raise DescriptionError(f"{where}: Dense needs n_out >= 1")
    k = prune_by_magnitude(rng.normal(0, 1 / math.sqrt(n_in), (n_in, n_out)), float(spec.get("sparsity", 0.0)))
    b = rng.normal(0, 0.1, n_out)
    main = Layer(name, "Dense", [prev], (n_out,), attrs={"n_in": n_in, "n_out": n_out},
                 weights={"kernel": k, "bias": b}, source_class="Dense")
    return _act_layer(spec, main, where)


def _conv(spec, name, prev, shape, rng, where):
    nd = 2 if spec["type"].endswith("2D") else 1
    if len(shape) != nd + 1:
        raise DescriptionError(f"{where}: {spec['type']} needs a {nd + 1}-d input, got {shape}")
    filters = int(spec.get("filters", 0))
    if filters < 1:
        raise DescriptionError(f"{where}: {spec['type']} needs filters >= 1")
    ks = _tuple(spec.get("kernel_size", 3), nd, "kernel_size", where)
    st = _tuple(spec.get("strides", 1), nd, "strides", where)
    padding = spec.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise DescriptionError(f"{where}: padding must be 'valid' or 'same', got {padding!r}")
    out = tuple(-(-n // s) if padding == "same" else (n - k) // s + 1 for n, k, s in zip(shape[:-1], ks, st))
    if any(o < 1 for o in out):
        raise DescriptionError(f"{where}: kernel {ks} does not fit the input {shape}")
    fan_in = math.prod(ks) * shape[-1]
    k = prune_by_magnitude(rng.normal(0, 1 / math.sqrt(fan_in), ks + (shape[-1], filters)),
                           float(spec.get("sparsity", 0.0)))
    main = Layer(name, f"Conv{nd}D", [prev], out + (filters,),
                 attrs={"kernel_size": ks, "strides": st, "padding": padding, "filters": filters,
                        "in_channels": shape[-1], "in_shape": tuple(shape)},
                 weights={"kernel": k, "bias": rng.normal(0, 0.1, filters)}, source_class=spec["type"])
    return _act_layer(spec, main, where)


def _pool(spec, name, prev, shape, rng, where):
    t = spec["type"]
    nd = 2 if t.endswith("2D") else 1
    if t.startswith("Global"):
        return [Layer(name, f"GlobalPooling{nd}D", [prev], (shape[-1],),
                      attrs={"op": "max" if "Max" in t else "avg"}, source_class=t)]
    pool = _tuple(spec.get("pool_size", 2), nd, "pool_size", where)
    st = _tuple(spec.get("strides", pool), nd, "strides", where)
    out = tuple((n - p) // s + 1 for n, p, s in zip(shape[:-1], pool, st))
    if len(shape) != nd + 1 or any(o < 1 for o in out):
        raise DescriptionError(f"{where}: pool {pool} does not fit the input {shape}")
    return [Layer(name, f"Pooling{nd}D", [prev], out + (shape[-1],),
                  attrs={"op": "max" if t.startswith("Max") else "avg", "pool_size": pool, "strides": st},
                  source_class=t)]


def _flatten(spec, name, prev, shape, rng, where):
    return [Layer(name, "Reshape", [prev], (math.prod(shape),), source_class="Flatten")]


def _batchnorm(spec, name, prev, shape, rng, where):
    c = shape[-1]
    return [Layer(name, "BatchNormalization", [prev], shape,
                  weights={"scale": rng.uniform(0.5, 1.5, c), "bias": rng.normal(0, 0.1, c)},
                  source_class="BatchNormalization")]


def _activation(spec, name, prev, shape, rng, where):
    act = spec.get("activation")
    if act not in ACTIVATIONS:
        raise DescriptionError(f"{where}: activation {act!r} is not one of {ACTIVATIONS}")
    return [Layer(name, "Activation", [prev], shape, attrs={"activation": act}, source_class="Activation")]


LAYER_TYPES = {
    "Dense": _dense, "Conv1D": _conv, "Conv2D": _conv,
    "MaxPooling1D": _pool, "MaxPooling2D": _pool, "AveragePooling1D": _pool, "AveragePooling2D": _pool,
    "GlobalAveragePooling1D": _pool, "GlobalAveragePooling2D": _pool, "GlobalMaxPooling1D": _pool,
    "GlobalMaxPooling2D": _pool, "Flatten": _flatten, "BatchNormalization": _batchnorm,
    "Activation": _activation,
}


def _input_shape(desc: dict) -> tuple[int, ...]:
    if "input_shape" in desc:
        return tuple(int(s) for s in desc["input_shape"])
    first = desc["layers"][0]
    if "in_shape" in first:
        return tuple(int(s) for s in first["in_shape"])
    if "n_in" in first:
        return (int(first["n_in"]),)
    raise DescriptionError("layer 0: give input_shape for the design, or n_in / in_shape for its first layer")


def graph_from_description(desc: dict, name: str = "myproject") -> Graph:
    """Build a Graph (with seeded random, magnitude-pruned weights) from a weightless description."""
    if not isinstance(desc, dict) or not isinstance(desc.get("layers"), list) or not desc["layers"]:
        raise DescriptionError("a design description needs a non-empty 'layers' list")
    desc = copy.deepcopy(desc)
    rng = np.random.default_rng(int(desc.get("seed", 0)))
    shape = _input_shape(desc)
    layers = [Layer("input", "Input", [], shape, source_class="InputLayer")]
    counts: dict[str, int] = {}
    for i, spec in enumerate(desc["layers"]):
        t = spec.get("type") if isinstance(spec, dict) else None
        if t not in LAYER_TYPES:
            raise DescriptionError(f"layer {i}: type {t!r} is not one of {sorted(LAYER_TYPES)}")
        lname = spec.get("name") or f"{t.lower()}_{counts.get(t.lower(), 0)}"
        counts[t.lower()] = counts.get(t.lower(), 0) + 1
        new = LAYER_TYPES[t](spec, lname, layers[-1].name, layers[-1].shape, rng, f"layer {i} ({t} {lname!r})")
        layers.extend(new)
    graph = Graph(layers=layers, name=name)
    if "part" in desc:
        graph.part = str(desc["part"])
    if "clock_period" in desc:
        graph.clock_period = float(desc["clock_period"])
    return graph
