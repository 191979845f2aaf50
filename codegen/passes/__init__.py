"""Compiler passes: each is a function ``Graph -> Graph``; the pipeline is a plain, readable list.

    >>> from codegen.passes import default_passes, run_passes       # doctest: +SKIP
    >>> [name for name, _ in default_passes(config)]                  # doctest: +SKIP
    ['apply_config', 'fuse_batchnorm', 'infer_precision', 'count_zero_weights', 'validate_reuse_factor', 'choose_strategy']
    >>> graph = run_passes(graph, default_passes(config))             # doctest: +SKIP
"""
from __future__ import annotations

import logging
from typing import Callable

from ..ir import Graph
from .apply_config import apply_config
from .batchnorm import fuse_batchnorm
from .precision import infer_precision
from .pruning import count_zero_weights
from .reuse import choose_strategy, validate_reuse_factor

__all__ = ["Pass", "default_passes", "run_passes", "apply_config", "fuse_batchnorm", "infer_precision",
           "count_zero_weights", "validate_reuse_factor", "choose_strategy"]

log = logging.getLogger(__name__)

Pass = Callable[[Graph], Graph]


def default_passes(config: dict) -> list[tuple[str, Pass]]:
    """The conversion pipeline for ``config`` (an hls4ml-style dict)."""
    return [
        ("apply_config", apply_config(config)),
        ("fuse_batchnorm", fuse_batchnorm),
        ("infer_precision", infer_precision),
        ("count_zero_weights", count_zero_weights),
        ("validate_reuse_factor", validate_reuse_factor),
        ("choose_strategy", choose_strategy),
    ]


def run_passes(graph: Graph, passes: list[tuple[str, Pass]]) -> Graph:
    for name, fn in passes:
        log.debug("pass %s", name)
        graph = fn(graph)
    return graph
