"""Keras 2 (tf.keras) and QKeras models -> :class:`~codegen.ir.Graph`.

One handler per Keras class name, registered in :data:`HANDLERS` (see ``keras_layers.py``). Dropout-like
layers are skipped; an activation inside a Dense/Conv layer becomes its own ``Activation`` layer named
``<layer>_<activation>``, as in hls4ml.

    >>> from codegen.frontend import keras_to_graph     # doctest: +SKIP
    >>> graph = keras_to_graph(model)                     # doctest: +SKIP
"""
from __future__ import annotations

import logging

from ..ir import Graph, Layer
from .keras_layers import HANDLERS, SKIPPED, UnsupportedLayerError, supported_layers
from .quantizers import UnsupportedQuantizer

__all__ = ["keras_to_graph", "HANDLERS", "UnsupportedLayerError", "UnsupportedQuantizer", "supported_layers"]

log = logging.getLogger(__name__)


def _inbound_names(layer) -> list[str]:
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return []
    inbound = nodes[0].inbound_layers
    if not isinstance(inbound, (list, tuple)):
        inbound = [inbound]
    return [l.name for l in inbound]


def keras_to_graph(model, name: str = "myproject") -> Graph:
    """Convert a built tf.keras model (Sequential or functional, plain or QKeras) into a Graph."""
    if not hasattr(model, "layers"):
        raise TypeError(f"expected a tf.keras Model, got {type(model).__name__}")
    keras_layers = list(model.layers)
    layers: list[Layer] = []
    alias: dict[str, str] = {}  # skipped layer -> its input
    known = {l.name for l in keras_layers}

    # Sequential models do not list their InputLayer
    if keras_layers and type(keras_layers[0]).__name__ != "InputLayer":
        first_in = _inbound_names(keras_layers[0])
        shape = tuple(model.input_shape[1:]) if hasattr(model, "input_shape") else None
        in_name = first_in[0] if first_in else "input_1"
        if shape is None or any(s is None for s in shape):
            raise ValueError(f"the model's input shape {shape} must be fully defined (build the model with an Input)")
        layers.append(Layer(in_name, "Input", [], shape, source_class="InputLayer"))
        known.add(in_name)

    shapes: dict[str, tuple] = {l.name: l.shape for l in layers}
    for kl in keras_layers:
        cls = type(kl).__name__
        inputs = [alias.get(n, n) for n in _inbound_names(kl)]
        if cls in SKIPPED:
            alias[kl.name] = inputs[0]
            log.debug("skipping %s (%s)", kl.name, cls)
            continue
        handler = HANDLERS.get(cls)
        if handler is None:
            raise UnsupportedLayerError(
                f"layer {kl.name!r} of class {cls} is not supported. Supported layers: {', '.join(supported_layers())}"
            )
        in_shapes = [shapes[i] for i in inputs]
        for new in handler(kl, inputs, in_shapes):
            new.source_class = new.source_class or cls
            layers.append(new)
            shapes[new.name] = new.shape
        if layers and layers[-1].name != kl.name:
            alias[kl.name] = layers[-1].name
    graph = Graph(layers=layers, name=name)
    graph.output_layer  # exactly one output, or a clear error
    return graph
