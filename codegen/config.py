"""hls4ml-compatible configuration dictionaries: build them from a Keras model, and resolve them per layer.

The dictionary has hls4ml's shape and can be pasted both ways::

    {"Model":     {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency", "IOType": "io_parallel"},
     "LayerType": {"Dense": {"ReuseFactor": 4}},
     "LayerName": {"fc1": {"Precision": {"weight": "ap_fixed<8,3>", "result": "ap_fixed<12,4>"},
                           "ReuseFactor": 16, "Strategy": "Resource"}}}

``Precision`` is a string (applies to every variable of that level) or a dict per variable (``weight``,
``bias``, ``result``, ``accum``, ``scale``, ``table``, ``exp_table``, ``inv_table``, or ``default``). A value
may be ``"auto"``: the precision pass infers it. Lookup order: ``LayerName`` > ``LayerType`` > ``Model``, as in
hls4ml; precisions that a QKeras quantizer fixes come right after ``LayerName``.

    >>> import codegen
    >>> cfg = codegen.config_from_keras(model, granularity="name")      # doctest: +SKIP
    >>> cfg["LayerName"]["fc1"]["ReuseFactor"] = 4                        # doctest: +SKIP
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

from .fixed import FixedType, PrecisionError
from .ir import Graph, Layer

__all__ = ["ConfigError", "ResolvedSettings", "config_from_keras", "config_from_graph", "resolve_layer",
           "precision_variables", "validate_config", "DEFAULT_PRECISION", "TABLE_DEFAULTS", "STRATEGIES"]

log = logging.getLogger(__name__)

DEFAULT_PRECISION = "ap_fixed<16,6>"
TABLE_DEFAULTS = {
    "table": "ap_fixed<18,2,AP_RND,AP_SAT>",
    "exp_table": "ap_ufixed<18,1,AP_RND,AP_SAT>",
    "inv_table": "ap_ufixed<18,1,AP_RND,AP_SAT>",
}
STRATEGIES = ("latency", "resource")
IO_TYPES = ("io_parallel",)

_MODEL_KEYS = {"Precision", "ReuseFactor", "Strategy", "IOType", "BramFactor", "TraceOutput", "TableSize",
               "MergedRelu"}
_LAYER_KEYS = {"Precision", "ReuseFactor", "Strategy", "TableSize", "Trace", "Implementation", "Skip",
               "ConvImplementation", "ParallelizationFactor"}
_TOP_KEYS = {"Model", "LayerType", "LayerName", "Backend", "OutputDir", "ProjectName", "Part", "ClockPeriod",
             "IOType", "HLSConfig", "KerasModel", "InputData", "OutputPredictions", "Version"}


class ConfigError(ValueError):
    """A configuration entry that cannot be used; the message names the layer and the key."""


def precision_variables(layer: Layer) -> tuple[str, ...]:
    """The precision variables a layer of this kind has (see docs/numerics.md)."""
    k = layer.kind
    if k in ("Dense", "Conv1D", "Conv2D"):
        return ("weight", "bias", "accum", "result")
    if k == "BatchNormalization":
        return ("scale", "bias", "result")
    if k == "Activation":
        act = layer.attrs.get("activation")
        if act in ("sigmoid", "tanh"):
            return ("table", "result")
        if act == "softmax":
            return ("exp_table", "inv_table", "result")
        return ("result",)
    if k == "Reshape":
        return ()
    return ("result",)


@dataclass
class ResolvedSettings:
    """What the config says about one layer, before ``auto`` precisions are inferred."""

    precision: dict[str, str]  # variable -> precision string or "auto"
    reuse_factor: int
    strategy: str
    table_size: int
    reuse_from_layer_name: bool = False  # ReuseFactor set for this very layer (else model/type-wide)


def _strategy(value, where: str) -> str:
    s = str(value).lower()
    if s not in STRATEGIES:
        raise ConfigError(f"{where}: Strategy must be Latency or Resource, got {value!r}")
    return s


def _check_precision(value, where: str) -> str:
    if isinstance(value, FixedType):
        return str(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: precision must be a string like 'ap_fixed<16,6>' or 'auto', got {value!r}")
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return str(FixedType.parse(value))
    except PrecisionError as e:
        raise ConfigError(f"{where}: {e}") from None


def validate_config(config: dict) -> dict:
    """Check the structure and every precision string; returns the config. Raises :class:`ConfigError`."""
    if not isinstance(config, dict):
        raise ConfigError(f"config must be a dict, got {type(config).__name__}")
    for key in config:
        if key not in _TOP_KEYS:
            raise ConfigError(f"config: unknown top-level key {key!r}; expected one of {sorted(_TOP_KEYS)}")
    levels = [("Model", config.get("Model", {}))]
    for group in ("LayerType", "LayerName"):
        entries = config.get(group, {}) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"config[{group!r}] must be a dict of entries")
        levels += [(f"{group}[{name!r}]", entry) for name, entry in entries.items()]
    for where, entry in levels:
        if not isinstance(entry, dict):
            raise ConfigError(f"config {where} must be a dict, got {entry!r}")
        allowed = _MODEL_KEYS if where == "Model" else _LAYER_KEYS
        for key, value in entry.items():
            if key not in allowed:
                raise ConfigError(f"config {where}: unknown key {key!r}; expected one of {sorted(allowed)}")
            if key == "Precision":
                if isinstance(value, dict):
                    for var, p in value.items():
                        _check_precision(p, f"config {where} Precision[{var!r}]")
                else:
                    _check_precision(value, f"config {where} Precision")
            elif key == "ReuseFactor":
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise ConfigError(f"config {where}: ReuseFactor must be an integer >= 1, got {value!r}")
            elif key == "Strategy":
                _strategy(value, f"config {where}")
            elif key == "TableSize":
                if not isinstance(value, int) or value < 2 or value & (value - 1):
                    raise ConfigError(f"config {where}: TableSize must be a power of two >= 2, got {value!r}")
            elif key == "IOType" and value not in IO_TYPES:
                raise ConfigError(f"config {where}: IOType {value!r} is not supported; only io_parallel "
                                  "(io_stream is not implemented yet)")
    return config


def _precision_at(entry: dict, var: str, blanket_ok: bool) -> str | None:
    p = entry.get("Precision")
    if p is None:
        return None
    if isinstance(p, dict):
        if var in p:
            return p[var]
        return p.get("default") if blanket_ok else None
    return p if blanket_ok else None


def resolve_layer(config: dict, layer: Layer) -> ResolvedSettings:
    """What ``config`` says for ``layer`` (name > quantizer > type > model), before ``auto`` inference."""
    model = config.get("Model", {}) or {}
    by_type = config.get("LayerType", {}) or {}
    by_name = (config.get("LayerName", {}) or {}).get(layer.name, {}) or {}
    type_entries = [by_type[t] for t in (layer.source_class, layer.kind) if t and t in by_type]
    quant = layer.attrs.get("quantizer_precision", {})
    where = f"layer {layer.name!r} ({layer.source_class or layer.kind})"

    precision: dict[str, str] = {}
    for var in precision_variables(layer):
        table = var in TABLE_DEFAULTS
        found = _precision_at(by_name, var, blanket_ok=not table)
        if found is None and var in quant:
            found = str(quant[var])
        for entry in type_entries:
            if found is None:
                found = _precision_at(entry, var, blanket_ok=not table)
        if found is None:
            found = _precision_at(model, var, blanket_ok=not table)
        if found is None:
            found = TABLE_DEFAULTS[var] if table else DEFAULT_PRECISION
        precision[var] = _check_precision(found, f"{where} Precision[{var!r}]")

    def pick(key, default):
        for entry in [by_name] + type_entries + [model]:
            if key in entry:
                return entry[key]
        return default

    rf = pick("ReuseFactor", 1)
    by_layer_name = "ReuseFactor" in by_name
    if not isinstance(rf, int) or isinstance(rf, bool):
        raise ConfigError(f"{where}: ReuseFactor must be an integer, got {rf!r}")
    return ResolvedSettings(precision=precision, reuse_factor=rf,
                            strategy=_strategy(pick("Strategy", "Latency"), where),
                            table_size=int(pick("TableSize", 1024)), reuse_from_layer_name=by_layer_name)


def config_from_graph(graph: Graph, granularity: str = "model", default_precision: str = DEFAULT_PRECISION,
                      default_reuse_factor: int = 1, default_strategy: str = "Latency") -> dict:
    """An hls4ml-style config for an already converted graph (see :func:`config_from_keras`)."""
    if granularity not in ("model", "type", "name"):
        raise ConfigError(f"granularity must be 'model', 'type' or 'name', got {granularity!r}")
    default_precision = _check_precision(default_precision, "default_precision")
    _strategy(default_strategy, "default_strategy")
    cfg: dict = {"Model": {"Precision": {"default": default_precision}, "ReuseFactor": int(default_reuse_factor),
                           "Strategy": default_strategy.capitalize(), "IOType": "io_parallel"}}
    for layer in graph:
        cons = graph.consumers(layer.name)
        layer.attrs["_feeds_batchnorm"] = layer.is_matrix and len(cons) == 1 and cons[0].kind == "BatchNormalization"
    if granularity == "type":
        types: dict = {}
        for layer in graph:
            entry = types.setdefault(layer.source_class or layer.kind, {"Precision": {}})
            for var in precision_variables(layer):
                entry["Precision"].setdefault(var, _layer_default(layer, var, default_precision))
        cfg["LayerType"] = types
    elif granularity == "name":
        names: dict = {}
        for layer in graph:
            entry: dict = {"Precision": {v: _layer_default(layer, v, default_precision)
                                         for v in precision_variables(layer)}}
            if layer.is_matrix:
                entry["ReuseFactor"] = int(default_reuse_factor)
                entry["Strategy"] = default_strategy.capitalize()
            if layer.kind == "Activation" and layer.attrs.get("activation") in ("sigmoid", "tanh", "softmax"):
                entry["TableSize"] = 1024
            names[layer.name] = entry
        cfg["LayerName"] = names
    return cfg


def _layer_default(layer: Layer, var: str, default_precision: str) -> str:
    quant = layer.attrs.get("quantizer_precision", {})
    if var in quant:
        return str(quant[var])
    if var in TABLE_DEFAULTS:
        return TABLE_DEFAULTS[var]
    if var == "accum":
        return "auto"
    if var == "result" and layer.kind in ("Dense", "Conv1D", "Conv2D") and layer.attrs.get("quantized"):
        return "auto"  # a QKeras layer's output is exact until its quantized activation
    if var == "result" and layer.attrs.get("_feeds_batchnorm"):
        return "auto"  # lets fuse_batchnorm fold the BatchNormalization in (as hls4ml does)
    return default_precision


def config_from_keras(model, granularity: str = "model", default_precision: str = DEFAULT_PRECISION,
                      default_reuse_factor: int = 1, default_strategy: str = "Latency") -> dict:
    """hls4ml-style config for a Keras/QKeras model.

    ``granularity="name"`` gives one entry per layer (activations of Dense/Conv layers become their own
    entries, named ``<layer>_<activation>`` as hls4ml does); QKeras quantizers fill in their exact types;
    accumulators are ``auto`` (exact, inferred).
    """
    from .frontend import keras_to_graph

    return config_from_graph(keras_to_graph(model), granularity, default_precision, default_reuse_factor,
                             default_strategy)


def deep_copy(config: dict) -> dict:
    return copy.deepcopy(config)
