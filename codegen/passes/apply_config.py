"""Attach what the hls4ml-style config says to every layer (``layer.attrs['settings']``)."""
from __future__ import annotations

import logging

from ..config import resolve_layer, validate_config
from ..ir import Graph

log = logging.getLogger(__name__)


def apply_config(config: dict):
    """A pass that resolves ``config`` for each layer (name > quantizer > type > model)."""
    validate_config(config)

    def _apply(graph: Graph) -> Graph:
        names = set((config.get("LayerName") or {}).keys())
        unknown = names - {l.name for l in graph}
        if unknown:
            log.warning("config names layers that the model does not have: %s", sorted(unknown))
        for layer in graph:
            layer.attrs["settings"] = resolve_layer(config, layer)
        return graph

    return _apply
