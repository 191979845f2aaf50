"""Design points of a sweep: architectures x precisions x reuse x strategy x sparsity, each with a content hash.

    >>> from dse.sweep.spec import load_sweep            # doctest: +SKIP
    >>> points = design_points(load_sweep("studies/sweep_dense.yml"))   # doctest: +SKIP
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math

import numpy as np

from codegen.reuse import valid_reuse_factors

from .spec import SweepSpec

__all__ = ["DesignPoint", "design_points", "generate_architectures", "point_config", "content_hash"]


class DesignPoint(dict):
    """A JSON-able dict: ``name``, ``description`` (layers + seed), ``config`` (hls4ml style), ``backend``,
    ``part``, ``clock_period``, ``timeout``, ``verify``, and the sweep coordinates."""


def _log_int(rng, lo: int, hi: int) -> int:
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi + 0.999)) - 1e-9))) if hi > lo else lo


def _dense_arch(gen: dict, rng) -> list[dict]:
    depth = int(rng.integers(gen.get("depth", [1, 3])[0], gen.get("depth", [1, 3])[1] + 1))
    n_in = _log_int(rng, *gen.get("inputs", [8, 64]))
    layers = []
    for d in range(depth):
        last = d == depth - 1
        n_out = _log_int(rng, *(gen.get("outputs", [2, 16]) if last else gen.get("widths", [4, 64])))
        layers.append({"type": "Dense", "n_in": n_in, "n_out": n_out,
                       "activation": "linear" if last else gen.get("activation", "relu")})
        n_in = n_out
    return layers


def _conv_arch(gen: dict, rng, nd: int) -> list[dict]:
    shape = list(gen.get("input_shape", [8, 8, 1] if nd == 2 else [32, 2]))
    n_conv = int(rng.integers(gen.get("conv_layers", [1, 2])[0], gen.get("conv_layers", [1, 2])[1] + 1))
    layers, spatial = [], shape[:-1]
    for c in range(n_conv):
        k = int(rng.integers(gen.get("kernel", [1, 3])[0], gen.get("kernel", [1, 3])[1] + 1))
        k = min([k] + spatial)
        spec = {"type": f"Conv{nd}D", "filters": _log_int(rng, *gen.get("filters", [2, 8])), "kernel_size": k,
                "activation": gen.get("activation", "relu")}
        if c == 0:
            spec["in_shape"] = shape
        layers.append(spec)
        spatial = [s - k + 1 for s in spatial]
        if gen.get("pool", True) and all(s >= 4 for s in spatial):
            layers.append({"type": f"MaxPooling{nd}D", "pool_size": 2})
            spatial = [s // 2 for s in spatial]
    layers.append({"type": "Flatten"})
    layers.append({"type": "Dense", "n_out": _log_int(rng, *gen.get("outputs", [2, 10]))})
    return layers


def generate_architectures(spec: SweepSpec) -> list[tuple[str, list[dict]]]:
    """(name, layer list) for every explicit and generated architecture, deterministic for a given file."""
    out = []
    for i, arch in enumerate(spec.architectures):
        if "layers" in arch:
            out.append((arch.get("name", f"arch{i}"), arch["layers"]))
            continue
        gen = arch["generate"]
        rng = np.random.default_rng(int(gen.get("seed", 0)))
        seen = set()
        for j in range(int(gen.get("count", 1)) * 20):
            if len(seen) >= int(gen.get("count", 1)):
                break
            kind = gen["kind"]
            layers = _dense_arch(gen, rng) if kind == "dense" else _conv_arch(gen, rng, 2 if kind == "conv2d" else 1)
            key = json.dumps(layers, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            out.append((f"{gen.get('name', kind)}{i}_{len(seen) - 1}", layers))
    return out


def _type(bits: int, integer: int | None, default_int: int) -> str:
    i = default_int if integer is None else integer
    return f"ap_fixed<{bits},{min(i, bits) if bits > 1 else 1}>"


def point_config(layers: list[dict], wb: int, ab: int, wi: int | None, ai: int | None, rf: int,
                 strategy: str, style: str = "uniform", input_type: str | None = None) -> dict:
    """The hls4ml-style config of one point (reuse clamped per layer to what the layer allows).

    ``style="qkeras"`` types a design the way ``dse run`` types a QKeras model (codegen.config_from_keras):
    Dense/Conv results and accumulators ``auto`` (exact), ReLU outputs ``ufixed<ab, 1..3>`` (quantized_relu),
    the input (and the ``input_q`` quantizer layer that :func:`design_points` puts first) ``input_type``.
    """
    wtype = _type(wb, wi, 1 if wb < 4 else 2)
    atype = _type(ab, ai, max(1, min(ab - 1, (ab + 1) // 2)))
    from codegen.describe import graph_from_description

    graph = graph_from_description({"layers": layers})
    names: dict[str, dict] = {}
    for layer in graph:
        if layer.is_matrix:
            n_in, n_out = layer.matrix_shape()
            names[layer.name] = {"ReuseFactor": int(min(rf, n_in * n_out))}
            if style == "qkeras":
                names[layer.name]["Precision"] = {"weight": wtype, "bias": wtype, "result": "auto", "accum": "auto"}
        elif style == "qkeras" and layer.kind == "Activation":
            relu = layer.attrs.get("activation") == "relu"
            names[layer.name] = {"Precision": {"result": f"ufixed<{ab},{ai if ai is not None else min(3, max(1, ab // 2))}>"
                                               if relu else input_type}}
        elif style == "qkeras" and layer.kind == "Input":
            names[layer.name] = {"Precision": {"result": input_type}}
    return {"Model": {"Precision": {"default": atype, "weight": wtype, "bias": wtype, "accum": "auto"},
                      "ReuseFactor": int(rf), "Strategy": strategy.capitalize()},
            "LayerName": names}


def _largest_matrix(layers: list[dict]) -> tuple[int, int]:
    from codegen.describe import graph_from_description

    g = graph_from_description({"layers": layers})
    mats = [l.matrix_shape() for l in g if l.is_matrix]
    return max(mats, key=lambda m: m[0] * m[1]) if mats else (1, 1)


def _multipliers(layers: list[dict], sparsity: float, rf: int) -> int:
    """Sum over matrix layers of ceil(nonzero weights of one output position / reuse)."""
    from codegen.describe import graph_from_description

    g = graph_from_description({"layers": layers})
    total = 0
    for l in g:
        if l.is_matrix:
            n_in, n_out = l.matrix_shape()
            total += math.ceil(round(n_in * n_out * (1 - sparsity)) / min(rf, n_in * n_out))
    return total


def design_points(spec: SweepSpec) -> list[DesignPoint]:
    """Every point of the sweep (grid), or a seeded random sample of them."""
    archs = generate_architectures(spec)
    combos = []
    for (name, layers), wb, ab, strategy, sp in itertools.product(archs, spec.weight_bits, spec.activation_bits,
                                                                     spec.strategies, spec.sparsity):
        rfs = valid_reuse_factors(*_largest_matrix(layers)) if spec.reuse_factors == "all" else spec.reuse_factors
        for rf in rfs:
            combos.append((name, layers, wb, ab, strategy, sp, rf))
    if spec.max_multipliers:
        combos = [c for c in combos if _multipliers(c[1], c[5], c[6]) <= spec.max_multipliers]
    if spec.sample_mode == "random" and spec.sample_count and spec.sample_count < len(combos):
        idx = np.random.default_rng(spec.seed).choice(len(combos), spec.sample_count, replace=False)
        combos = [combos[i] for i in sorted(idx)]
    points = []
    for k, (name, layers, wb, ab, strategy, sp, rf) in enumerate(combos):
        ls = copy.deepcopy(layers)
        for l in ls:
            if l["type"] in ("Dense", "Conv1D", "Conv2D"):
                l["sparsity"] = sp
        in_type, tag = None, ""
        if spec.style == "qkeras":
            ib = spec.input_bits[k % len(spec.input_bits)]
            in_type, tag = f"ap_fixed<{ib},{spec.input_integer_bits}>", f"_i{ib}"
            first = dict(ls[0])
            ls = [{"type": "Activation", "activation": "linear", "name": "input_q",
                   **({"in_shape": first.pop("in_shape")} if "in_shape" in first else
                      {"n_in": first["n_in"]} if "n_in" in first else {})}, first] + ls[1:]
        points.append(DesignPoint(
            name=f"{name}_w{wb}a{ab}{tag}_{strategy[0]}rf{rf}_s{int(round(sp * 100))}",
            architecture=name, description={"layers": ls, "seed": spec.seed},
            config=point_config(ls, wb, ab, spec.weight_integer_bits, spec.activation_integer_bits, rf, strategy,
                                spec.style, in_type),
            weight_bits=wb, activation_bits=ab, strategy=strategy, sparsity=sp, reuse_factor=rf,
            backend=spec.backend, part=spec.part, clock_period=spec.clock_period, timeout=spec.timeout,
            verify=spec.verify, sweep=spec.name))
    return points


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(hm, point: dict, tool_version: str) -> str:
    """sha256 of what determines a synthesis result: architecture, weights, resolved config, backend, part,
    clock and tool version."""
    h = hashlib.sha256()
    arch = [{"name": l.name, "kind": l.kind, "inputs": l.inputs, "shape": l.shape,
             "attrs": {k: v for k, v in l.attrs.items()
                       if not k.startswith("_") and k not in ("settings", "requested_reuse_factor")}}
            for l in hm.graph]
    h.update(_canonical(arch).encode())
    for l in hm.graph:
        for k in sorted(l.weights):
            h.update(np.ascontiguousarray(np.asarray(l.weights[k], dtype=np.float64)).tobytes())
    h.update(_canonical(hm.resolved_config()).encode())
    h.update(_canonical([point["backend"], point["part"], float(point["clock_period"]), tool_version]).encode())
    return h.hexdigest()
