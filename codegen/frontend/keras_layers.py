"""Handlers turning one Keras/QKeras layer into IR layers; :data:`HANDLERS` is keyed by Keras class name."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..ir import Layer
from .quantizers import UnsupportedQuantizer, activation_quantizer, quantizer_type

__all__ = ["HANDLERS", "SKIPPED", "UnsupportedLayerError", "supported_layers", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "linear", "sigmoid", "tanh", "softmax")
SKIPPED = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout"}


class UnsupportedLayerError(ValueError):
    """A layer (or a layer option) the converter cannot handle; the message names the layer and its class."""


Handler = Callable[[object, list[str], list[tuple]], list[Layer]]
HANDLERS: dict[str, Handler] = {}


def supported_layers() -> list[str]:
    return sorted(set(HANDLERS) | SKIPPED)


def register(*names: str):
    def deco(fn: Handler) -> Handler:
        for n in names:
            HANDLERS[n] = fn
        return fn
    return deco


def _fail(kl, why: str):
    raise UnsupportedLayerError(f"layer {kl.name!r} of class {type(kl).__name__}: {why}")


def _activation_name(kl, act) -> str:
    name = getattr(act, "__name__", None) or type(act).__name__
    if name == "softmax_v2":
        name = "softmax"
    if name not in ACTIVATIONS:
        _fail(kl, f"activation {name!r} is not supported; supported: {', '.join(ACTIVATIONS)}")
    return name


def _split_activation(kl, main: Layer) -> list[Layer]:
    """[main] plus an Activation layer when the Keras layer has a non-linear (or quantized) activation."""
    act = getattr(kl, "activation", None)
    if act is None:
        return [main]
    if hasattr(act, "bits") or type(act).__name__.startswith("quantized_"):
        try:
            name, rtype = activation_quantizer(act, f"layer {kl.name!r} ({type(kl).__name__})")
        except UnsupportedQuantizer as e:
            raise UnsupportedLayerError(str(e)) from None
        a = Layer(f"{kl.name}_{name}", "Activation", [main.name], main.shape, attrs={"activation": name})
        a.attrs["quantizer_precision"] = {"result": rtype}
        return [main, a]
    name = _activation_name(kl, act)
    if name == "linear":
        return [main]
    return [main, Layer(f"{kl.name}_{name}", "Activation", [main.name], main.shape,
                        attrs={"activation": name}, source_class="Activation")]


def _q_weights(kl, kernel: np.ndarray, bias: np.ndarray, attrs: dict) -> tuple[np.ndarray, np.ndarray]:
    """Apply QKeras kernel/bias quantizers to the float weights; record their exact types."""
    qp = {}
    where = f"layer {kl.name!r} ({type(kl).__name__})"
    for var, qattr in (("weight", "kernel_quantizer_internal"), ("bias", "bias_quantizer_internal")):
        q = getattr(kl, qattr, None)
        if q is None:
            continue
        try:
            qp[var] = quantizer_type(q, where + f" {var}")
        except UnsupportedQuantizer as e:
            raise UnsupportedLayerError(str(e)) from None
        values = kernel if var == "weight" else bias
        quantized = np.asarray(q(values.astype(np.float32)), dtype=np.float64)
        if var == "weight":
            kernel = quantized
        else:
            bias = quantized
    if qp:
        attrs["quantizer_precision"] = qp
        attrs["quantized"] = True
    return kernel, bias


def _kernel_bias(kl) -> tuple[np.ndarray, np.ndarray]:
    w = kl.get_weights()
    kernel = np.asarray(w[0], dtype=np.float64)
    bias = np.asarray(w[1], dtype=np.float64) if getattr(kl, "use_bias", True) and len(w) > 1 else \
        np.zeros(kernel.shape[-1])
    return kernel, bias


@register("InputLayer")
def _input(kl, inputs, in_shapes):
    shape = kl.get_config()["batch_input_shape"][1:]
    if any(s is None for s in shape):
        _fail(kl, f"input shape {tuple(shape)} must be fully defined")
    return [Layer(kl.name, "Input", [], tuple(shape))]


@register("Dense", "QDense")
def _dense(kl, inputs, in_shapes):
    (shape,) = in_shapes
    if len(shape) != 1:
        _fail(kl, f"Dense on a {len(shape)}-d input {shape} is not supported (Flatten first)")
    kernel, bias = _kernel_bias(kl)
    attrs = {"n_in": kernel.shape[0], "n_out": kernel.shape[1]}
    kernel, bias = _q_weights(kl, kernel, bias, attrs)
    main = Layer(kl.name, "Dense", inputs, (kernel.shape[1],), attrs=attrs,
                 weights={"kernel": kernel, "bias": bias})
    return _split_activation(kl, main)


def _conv_out(n: int, k: int, s: int, padding: str) -> int:
    return -(-n // s) if padding == "same" else (n - k) // s + 1


@register("Conv1D", "Conv2D", "QConv1D", "QConv2D")
def _conv(kl, inputs, in_shapes):
    (shape,) = in_shapes
    cfg = kl.get_config()
    nd = 2 if "2D" in type(kl).__name__ else 1
    if cfg.get("data_format", "channels_last") != "channels_last":
        _fail(kl, "only data_format='channels_last' is supported")
    if any(d != 1 for d in np.atleast_1d(cfg.get("dilation_rate", 1))):
        _fail(kl, "dilation_rate other than 1 is not supported")
    if cfg.get("groups", 1) != 1:
        _fail(kl, "grouped convolutions are not supported")
    padding = cfg.get("padding", "valid")
    if padding not in ("valid", "same"):
        _fail(kl, f"padding {padding!r} is not supported (valid, same)")
    if len(shape) != nd + 1:
        _fail(kl, f"expected a {nd + 1}-d input (spatial..., channels), got {shape}")
    kernel, bias = _kernel_bias(kl)
    ks, strides = tuple(int(k) for k in cfg["kernel_size"]), tuple(int(s) for s in cfg["strides"])
    out = tuple(_conv_out(n, k, s, padding) for n, k, s in zip(shape[:-1], ks, strides))
    if any(o < 1 for o in out):
        _fail(kl, f"kernel {ks} does not fit the input {shape}")
    attrs = {"kernel_size": ks, "strides": strides, "padding": padding, "filters": kernel.shape[-1],
             "in_channels": shape[-1], "in_shape": tuple(shape)}
    kernel, bias = _q_weights(kl, kernel, bias, attrs)
    main = Layer(kl.name, f"Conv{nd}D", inputs, out + (kernel.shape[-1],), attrs=attrs,
                 weights={"kernel": kernel, "bias": bias})
    return _split_activation(kl, main)


@register("BatchNormalization", "QBatchNormalization")
def _batchnorm(kl, inputs, in_shapes):
    (shape,) = in_shapes
    cfg = kl.get_config()
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if axis not in (-1, len(shape)):
        _fail(kl, f"only normalization over the last axis is supported, got axis={axis}")
    c = shape[-1]
    w = {v.name.split("/")[-1].split(":")[0]: np.asarray(v.numpy(), dtype=np.float64) for v in kl.weights}
    gamma = w.get("gamma", np.ones(c))
    beta = w.get("beta", np.zeros(c))
    for var, qattr in (("gamma", "gamma_quantizer_internal"), ("beta", "beta_quantizer_internal")):
        q = getattr(kl, qattr, None)
        if q is not None:
            val = np.asarray(q(np.asarray(gamma if var == "gamma" else beta, dtype=np.float32)), dtype=np.float64)
            gamma, beta = (val, beta) if var == "gamma" else (gamma, val)
    scale = gamma / np.sqrt(w["moving_variance"] + cfg.get("epsilon", 1e-3))
    bias = beta - w["moving_mean"] * scale
    return [Layer(kl.name, "BatchNormalization", inputs, tuple(shape), weights={"scale": scale, "bias": bias})]


@register("Activation")
def _activation(kl, inputs, in_shapes):
    name = _activation_name(kl, kl.activation)
    return [Layer(kl.name, "Activation", inputs, tuple(in_shapes[0]), attrs={"activation": name})]


@register("QActivation")
def _qactivation(kl, inputs, in_shapes):
    q = kl.quantizer if hasattr(kl, "quantizer") else kl.activation
    try:
        name, rtype = activation_quantizer(q, f"layer {kl.name!r} (QActivation)")
    except UnsupportedQuantizer as e:
        raise UnsupportedLayerError(str(e)) from None
    return [Layer(kl.name, "Activation", inputs, tuple(in_shapes[0]),
                  attrs={"activation": name, "quantizer_precision": {"result": rtype}})]


@register("ReLU")
def _relu(kl, inputs, in_shapes):
    cfg = kl.get_config()
    if cfg.get("max_value") is not None or cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
        _fail(kl, "ReLU with max_value, negative_slope or threshold is not supported")
    return [Layer(kl.name, "Activation", inputs, tuple(in_shapes[0]), attrs={"activation": "relu"})]


@register("Softmax")
def _softmax(kl, inputs, in_shapes):
    axis = kl.get_config().get("axis", -1)
    if axis not in (-1, len(in_shapes[0])):
        _fail(kl, f"softmax over axis {axis} is not supported (last axis only)")
    return [Layer(kl.name, "Activation", inputs, tuple(in_shapes[0]), attrs={"activation": "softmax"})]


@register("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D")
def _pooling(kl, inputs, in_shapes):
    (shape,) = in_shapes
    cfg = kl.get_config()
    cls = type(kl).__name__
    nd = 2 if cls.endswith("2D") else 1
    if cfg.get("padding", "valid") != "valid":
        _fail(kl, "only padding='valid' is supported for pooling")
    if cfg.get("data_format", "channels_last") != "channels_last":
        _fail(kl, "only data_format='channels_last' is supported")
    pool = tuple(np.atleast_1d(cfg["pool_size"]).astype(int).tolist())
    strides = tuple(np.atleast_1d(cfg["strides"] or pool).astype(int).tolist())
    out = tuple((n - p) // s + 1 for n, p, s in zip(shape[:-1], pool, strides))
    op = "max" if cls.startswith("Max") else "avg"
    return [Layer(kl.name, f"Pooling{nd}D", inputs, out + (shape[-1],),
                  attrs={"op": op, "pool_size": pool, "strides": strides})]


@register("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D")
def _global_pooling(kl, inputs, in_shapes):
    cls = type(kl).__name__
    if kl.get_config().get("keepdims", False):
        _fail(kl, "keepdims=True is not supported")
    nd = 2 if cls.endswith("2D") else 1
    op = "max" if "Max" in cls else "avg"
    return [Layer(kl.name, f"GlobalPooling{nd}D", inputs, (in_shapes[0][-1],), attrs={"op": op})]


@register("Flatten")
def _flatten(kl, inputs, in_shapes):
    return [Layer(kl.name, "Reshape", inputs, (int(math.prod(in_shapes[0])),))]


@register("Reshape")
def _reshape(kl, inputs, in_shapes):
    target = list(kl.get_config()["target_shape"])
    total = int(math.prod(in_shapes[0]))
    if -1 in target:
        known = int(math.prod(t for t in target if t != -1))
        target[target.index(-1)] = total // known
    if int(math.prod(target)) != total:
        _fail(kl, f"cannot reshape {in_shapes[0]} into {tuple(target)}")
    return [Layer(kl.name, "Reshape", inputs, tuple(target))]


@register("Add")
def _add(kl, inputs, in_shapes):
    if len({tuple(s) for s in in_shapes}) != 1:
        _fail(kl, f"inputs must have equal shapes, got {in_shapes}")
    return [Layer(kl.name, "Add", inputs, tuple(in_shapes[0]))]


@register("Concatenate")
def _concatenate(kl, inputs, in_shapes):
    axis = kl.get_config().get("axis", -1)
    rank = len(in_shapes[0])
    ax = axis - 1 if axis > 0 else axis  # Keras counts the batch axis
    ax_pos = ax % rank
    shape = list(in_shapes[0])
    shape[ax_pos] = sum(s[ax_pos] for s in in_shapes)
    return [Layer(kl.name, "Concatenate", inputs, tuple(shape), attrs={"axis": ax_pos - rank})]
