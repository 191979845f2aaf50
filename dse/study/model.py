"""The study's QKeras model: a layer plan (from the ``model`` section or a Keras file), built per trial.

    >>> from dse.study.model import generated_plan
    >>> [op["op"] + ":" + op.get("name", "") for op in generated_plan({"input_shape": [64], "hidden": [8],
    ...                                                                   "outputs": 10})]
    ['dense:fc1', 'relu:fc1_relu', 'dense:out']

A plan is a JSON-able list of ops (``dense``, ``conv``, ``relu``, ``maxpool``, ``avgpool``, ``flatten``,
``batchnorm``). :func:`build_model` turns it into a Keras model for one trial's per-layer ``design``
(``{layer: {weight_bits, activation_bits, sparsity, reuse_factor, strategy}}``): QDense/QConv with
``quantized_bits(wb, wi, alpha=1)`` kernel and bias quantizers, ``QActivation(quantized_relu(ab, ai))`` after
each hidden layer, and ``QActivation(quantized_bits(input_bits, input_integer_bits, alpha=1))`` on the input so
that the HLS model is exact on the (pre-quantized) data. Matrix layers with a sparsity are wrapped with
tfmot's ``prune_low_magnitude`` when ``prune`` is given.
"""
from __future__ import annotations

from typing import Any, Callable

from ..yamlfile import YamlDocument

__all__ = ["check_model_section", "generated_plan", "keras_plan", "layer_plan", "matrix_layers",
           "relu_layers", "build_model", "activation_integer_bits"]

_GEN_KEYS = ("input_shape", "conv", "pool", "hidden", "activation", "outputs")
_SKIPPED = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "InputLayer"}


def _posint(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def check_model_section(doc: YamlDocument, m: dict, load_keras: bool = True) -> dict:
    """Validate the ``model`` section (and compute its plan; a Keras file is read when ``load_keras``).
    Returns the normalized section."""
    m = dict(m)
    if "keras" in m:
        clash = [k for k in _GEN_KEYS if k in m and k != "activation"]
        if clash:
            raise doc.error(["model", clash[0]], "give either a generated architecture or model.keras, not both")
    else:
        if "input_shape" not in m:
            raise doc.error(["model"], "missing 'input_shape' (or 'keras: path/to/model.h5')")
        shp = m["input_shape"]
        if not shp or len(shp) > 3 or not all(_posint(s) for s in shp):
            raise doc.error(["model", "input_shape"], f"must be 1 to 3 positive integers, got {shp!r}")
        for k in ("hidden", "conv"):
            if not isinstance(m.get(k, []), list):
                raise doc.error(["model", k], "must be a list")
        for i, h in enumerate(m.get("hidden", [])):
            if not _posint(h):
                raise doc.error(["model", "hidden", i], f"must be a positive integer, got {h!r}")
        conv = m.get("conv", [])
        if conv and len(shp) not in (2, 3):
            raise doc.error(["model", "conv"], f"conv layers need an input_shape of [length, channels] or "
                                               f"[height, width, channels], got {shp!r}")
        for i, c in enumerate(conv):
            if not isinstance(c, dict) or "filters" not in c or "kernel" not in c:
                raise doc.error(["model", "conv", i], "each conv layer is {filters: N, kernel: K}")
            for k, v in c.items():
                if k not in ("filters", "kernel", "stride", "padding"):
                    raise doc.error(["model", "conv", i, k], f"unknown key {k!r}; expected filters, kernel, "
                                                              "stride, padding")
                if k in ("filters", "kernel", "stride") and not _posint(v):
                    raise doc.error(["model", "conv", i, k], f"must be a positive integer, got {v!r}")
            if c.get("padding", "valid") not in ("valid", "same"):
                raise doc.error(["model", "conv", i, "padding"], "must be valid or same")
        if "pool" in m and not _posint(m["pool"]):
            raise doc.error(["model", "pool"], f"must be a positive integer, got {m['pool']!r}")
        if "outputs" in m and (not _posint(m["outputs"]) or m["outputs"] < 2):
            raise doc.error(["model", "outputs"], f"must be an integer >= 2 (classes), got {m['outputs']!r}")
    if m.get("activation", "relu") != "relu":
        raise doc.error(["model", "activation"], f"only relu is supported (it is exact in hardware), got "
                                                 f"{m['activation']!r}")
    ib = m.get("input_bits", 12)
    if not isinstance(ib, int) or not 2 <= ib <= 32:
        raise doc.error(["model", "input_bits"], f"must be an integer in 2..32, got {ib!r}")
    ii = m.get("input_integer_bits", "auto")
    if ii != "auto" and (not isinstance(ii, int) or isinstance(ii, bool) or not 0 <= ii < ib):
        raise doc.error(["model", "input_integer_bits"], f"must be 'auto' or an integer in 0..{ib - 1}, got {ii!r}")
    m["input_bits"], m["input_integer_bits"] = ib, ii
    if "keras" in m:
        if not load_keras:
            m["plan"] = None
            return m
        try:
            m["plan"], m["input_shape"], m["outputs"] = keras_plan(m["keras"], doc)
        except (OSError, ValueError, ImportError) as e:
            raise doc.error(["model", "keras"], f"cannot use the Keras file: {e}") from None
    else:
        try:
            m["plan"] = generated_plan(m) if "outputs" in m else None  # completed once the classes are known
        except ValueError as e:
            raise doc.error(["model"], str(e)) from None
    return m


def generated_plan(m: dict) -> list[dict]:
    """The op list of a generated architecture (convs with pooling, flatten, hidden dense layers, output)."""
    shp = list(m["input_shape"])
    ops: list[dict] = []
    spatial, dims = shp[:-1], len(shp) - 1
    for i, c in enumerate(m.get("conv", []), 1):
        k, s, pad = c["kernel"], c.get("stride", 1), c.get("padding", "valid")
        if pad == "valid" and any(k > x for x in spatial):
            raise ValueError(f"conv{i}: kernel {k} is larger than its input {spatial}")
        ops.append({"op": "conv", "name": f"conv{i}", "filters": c["filters"], "kernel": k, "stride": s,
                    "padding": pad, "dims": dims})
        spatial = [(x - k) // s + 1 if pad == "valid" else -(-x // s) for x in spatial]
        ops.append({"op": "relu", "name": f"conv{i}_relu", "of": f"conv{i}"})
        p = m.get("pool")
        if p and all(x >= p for x in spatial):
            ops.append({"op": "maxpool", "name": f"pool{i}", "size": p, "dims": dims})
            spatial = [x // p for x in spatial]
    if len(shp) > 1:
        ops.append({"op": "flatten", "name": "flatten"})
    for i, h in enumerate(m.get("hidden", []), 1):
        ops.append({"op": "dense", "name": f"fc{i}", "units": h})
        ops.append({"op": "relu", "name": f"fc{i}_relu", "of": f"fc{i}"})
    ops.append({"op": "dense", "name": "out", "units": int(m["outputs"])})
    return ops


def keras_plan(path: str, doc: YamlDocument | None = None) -> tuple[list[dict], list[int], int]:
    """(plan, input_shape, outputs) of a Keras file's architecture (its weights are not used: retrained)."""
    from pathlib import Path

    p = Path(path)
    if doc is not None and not p.exists() and doc.source != "<string>":
        p = Path(doc.source).parent / path
    if not p.exists():
        raise OSError(f"no such file: {path}")
    _tf_quiet()
    import tensorflow as tf
    from qkeras.utils import _add_supported_quantized_objects

    co: dict = {}
    _add_supported_quantized_objects(co)
    model = tf.keras.models.load_model(str(p), compile=False, custom_objects=co)
    ops: list[dict] = []
    last_matrix = None
    layers = [l for l in model.layers if type(l).__name__ not in _SKIPPED]
    for idx, l in enumerate(layers):
        cls = type(l).__name__.lstrip("Q")
        cfg = l.get_config()
        act = cfg.get("activation", "linear")
        if cls == "Dense":
            ops.append({"op": "dense", "name": l.name, "units": int(cfg["units"])})
        elif cls in ("Conv1D", "Conv2D"):
            k, s = cfg["kernel_size"], cfg["strides"]
            if len(set(k)) != 1 or len(set(s)) != 1:
                raise ValueError(f"layer {l.name!r}: only square kernels and strides are supported")
            ops.append({"op": "conv", "name": l.name, "filters": int(cfg["filters"]), "kernel": int(k[0]),
                        "stride": int(s[0]), "padding": cfg["padding"], "dims": int(cls[4])})
        elif cls in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
            ps = cfg["pool_size"]
            ops.append({"op": "maxpool" if cls.startswith("Max") else "avgpool", "name": l.name,
                        "size": int(ps[0]), "dims": int(cls[-2])})
        elif cls == "Flatten":
            ops.append({"op": "flatten", "name": l.name})
        elif cls == "BatchNormalization":
            ops.append({"op": "batchnorm", "name": l.name})
        elif cls in ("Activation", "ReLU"):
            act = "relu" if cls == "ReLU" else cfg.get("activation")
            if hasattr(act, "__name__"):
                act = act.__name__
            act = str(act)
            if "relu" in act and last_matrix:
                ops.append({"op": "relu", "name": l.name, "of": last_matrix})
            elif act == "softmax" and idx == len(layers) - 1:
                pass  # trained on logits; argmax is unchanged
            elif act != "linear":
                raise ValueError(f"layer {l.name!r}: activation {act!r} is not supported (relu only)")
            continue
        else:
            raise ValueError(f"layer {l.name!r} ({type(l).__name__}) is not supported by the study builder")
        if cls in ("Dense", "Conv1D", "Conv2D"):
            last_matrix = l.name
            act = act if isinstance(act, str) else getattr(act, "__name__", str(act))
            if act == "relu":
                ops.append({"op": "relu", "name": f"{l.name}_relu", "of": l.name})
            elif act == "softmax" and idx == len(layers) - 1:
                pass
            elif act != "linear":
                raise ValueError(f"layer {l.name!r}: activation {act!r} is not supported (relu only)")
    if not ops or ops[-1]["op"] != "dense":
        raise ValueError("the model must end with a Dense layer (its logits are the outputs)")
    return ops, [int(s) for s in model.input_shape[1:]], int(ops[-1]["units"])


def layer_plan(model_section: dict) -> list[dict]:
    plan = model_section.get("plan")
    if plan is None:
        plan = generated_plan(model_section)
        model_section["plan"] = plan
    return plan


def matrix_layers(plan: list[dict]) -> list[str]:
    """Names of the layers with weights (searched: weight bits, sparsity, reuse factor, strategy)."""
    return [op["name"] for op in plan if op["op"] in ("dense", "conv")]


def relu_layers(plan: list[dict]) -> list[str]:
    """Names of the matrix layers followed by a quantized ReLU (searched: activation bits)."""
    return [op["of"] for op in plan if op["op"] == "relu"]


def activation_integer_bits(bits: int, setting: int | str = "auto") -> int:
    """Integer bits of a ``quantized_relu``: ``auto`` gives 1..3 (range [0, 8)), never more than ``bits``."""
    if setting == "auto":
        return min(3, max(1, bits // 2))
    return min(int(setting), bits)


def _tf_quiet() -> None:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build_model(plan: list[dict], input_shape: list[int], design: dict[str, dict], input_bits: int,
                input_integer_bits: int, weight_integer_bits: int = 0, activation_integer: int | str = "auto",
                prune: Callable[[Any, float], Any] | None = None):
    """A QKeras model for one trial. ``prune(layer, sparsity)`` wraps matrix layers that have a sparsity."""
    _tf_quiet()
    import tensorflow as tf
    from qkeras import QActivation, QConv1D, QConv2D, QDense, quantized_bits, quantized_relu

    L = tf.keras.layers
    x = inp = L.Input(tuple(input_shape), name="input")
    x = QActivation(quantized_bits(input_bits, input_integer_bits, alpha=1), name="input_q")(x)
    for op in plan:
        kind = op["op"]
        if kind in ("dense", "conv"):
            d = design[op["name"]]
            wb = int(d["weight_bits"])
            wi = min(weight_integer_bits, wb - 1)
            q = dict(kernel_quantizer=quantized_bits(wb, wi, alpha=1), bias_quantizer=quantized_bits(wb, wi, alpha=1))
            if kind == "dense":
                layer = QDense(op["units"], name=op["name"], **q)
            else:
                cls = QConv2D if op["dims"] == 2 else QConv1D
                layer = cls(op["filters"], op["kernel"], strides=op["stride"], padding=op["padding"],
                            name=op["name"], **q)
            if prune is not None and float(d.get("sparsity", 0.0)) > 0:
                layer = prune(layer, float(d["sparsity"]))
            x = layer(x)
        elif kind == "relu":
            ab = int(design[op["of"]]["activation_bits"])
            x = QActivation(quantized_relu(ab, activation_integer_bits(ab, activation_integer)), name=op["name"])(x)
        elif kind in ("maxpool", "avgpool"):
            name = ("MaxPooling" if kind == "maxpool" else "AveragePooling") + f"{op['dims']}D"
            x = getattr(L, name)(op["size"], name=op.get("name"))(x)
        elif kind == "flatten":
            x = L.Flatten(name=op.get("name"))(x)
        elif kind == "batchnorm":
            x = L.BatchNormalization(name=op["name"])(x)
        else:  # pragma: no cover - plans are built here
            raise ValueError(f"unknown op {kind!r}")
    return tf.keras.Model(inp, x, name="study_model")
