"""codegen: Keras/QKeras -> IR -> bit-exact emulator, Vitis/Vivado HLS project, Verilog, synthesis.

    >>> import codegen
    >>> cfg = codegen.config_from_keras(model, granularity="name",
    ...                                 default_precision="ap_fixed<16,6>", default_reuse_factor=1)  # doctest: +SKIP
    >>> hm = codegen.convert(model, config=cfg, output_dir="prj", part="xcu250-figd2104-2L-e", clock_period=5)  # doctest: +SKIP
    >>> y = hm.predict(X)                                                                            # doctest: +SKIP
"""
from __future__ import annotations

import copy

from .config import ConfigError, config_from_graph, config_from_keras
from .describe import DescriptionError, graph_from_description
from .facts import DERIVED_FACT_KEYS, FACT_KEYS, design_facts, layer_facts
from .fixed import FixedType, PrecisionError
from .frontend import UnsupportedLayerError, UnsupportedQuantizer, keras_to_graph
from .ir import Graph, Layer, LayerConfig
from .model import HLSModel, OutputDirError
from .passes import default_passes, run_passes
from .reuse import ReuseFactorError, snap_reuse_factor, valid_reuse_factors as _valid_reuse_factors
from .synth import SynthesisToolNotFound, SynthResult, parse_report, synthesize

__all__ = [
    "FixedType", "PrecisionError", "ConfigError", "UnsupportedLayerError", "UnsupportedQuantizer",
    "ReuseFactorError", "OutputDirError", "Graph", "Layer", "LayerConfig", "HLSModel",
    "config_from_keras", "config_from_graph", "convert", "valid_reuse_factors", "snap_reuse_factor",
    "DescriptionError", "graph_from_description", "layer_facts", "design_facts", "FACT_KEYS", "DERIVED_FACT_KEYS",
    "keras_to_graph",
    "synthesize", "parse_report", "SynthResult", "SynthesisToolNotFound",
]

__version__ = "0.1.0"


def convert(model, config: dict | None = None, output_dir="prj", part: str = "xcu250-figd2104-2L-e",
            clock_period: float = 5.0, io_type: str = "io_parallel", project_name: str = "myproject",
            backend: str = "Vitis") -> HLSModel:
    """Convert a tf.keras/QKeras model, a :class:`Graph` or a design description into an :class:`HLSModel`.

    ``config`` is an hls4ml-style dict (see :mod:`codegen.config`); ``None`` means ``ap_fixed<16,6>`` and
    reuse factor 1 everywhere.
    """
    from .model import check_output_dir

    check_output_dir(output_dir)
    if io_type != "io_parallel":
        raise ConfigError(f"io_type {io_type!r} is not supported yet; only io_parallel")
    if isinstance(model, Graph):
        graph = copy.deepcopy(model)
    elif isinstance(model, dict):  # a weightless description (see codegen.describe)
        graph = graph_from_description(model, name=project_name)
        config = config if config is not None else model.get("config")
        part = model.get("part", part)
        clock_period = model.get("clock_period", clock_period)
    else:
        graph = keras_to_graph(model, name=project_name)
    graph.name = project_name
    graph.part, graph.clock_period, graph.io_type, graph.backend = part, float(clock_period), io_type, backend
    graph.reindex()
    if config is None:
        config = config_from_graph(graph, granularity="model")
    graph = run_passes(graph, default_passes(config))
    return HLSModel(graph, config, output_dir=output_dir)


def valid_reuse_factors(layer_or_n_in, n_out: int | None = None) -> list[int]:
    """Valid Resource-strategy reuse factors for a matrix layer (a :class:`Layer`) or for ``n_in, n_out``."""
    if isinstance(layer_or_n_in, Layer):
        if not layer_or_n_in.is_matrix:
            raise ValueError(f"layer {layer_or_n_in.name!r} ({layer_or_n_in.kind}) has no reuse factor")
        return _valid_reuse_factors(*layer_or_n_in.matrix_shape())
    return _valid_reuse_factors(int(layer_or_n_in), int(n_out))
