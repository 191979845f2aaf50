"""The converted model: bit-exact prediction, project writing and the g++ build.

    >>> hm = codegen.convert(model, config=cfg, output_dir="prj")       # doctest: +SKIP
    >>> y = hm.predict(X)                                                # emulator (default)
    >>> hm.write(); hm.compile()                                         # doctest: +SKIP
    >>> assert (hm.predict(X, engine="csim") == y).all()                 # doctest: +SKIP
"""
from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np

from . import emulator
from .ir import Graph

__all__ = ["HLSModel", "OutputDirError", "ENGINES"]

log = logging.getLogger(__name__)

ENGINES = ("emulator", "csim")


class OutputDirError(ValueError):
    """The chosen output folder cannot be used (it is a file, or not writable)."""


def check_output_dir(output_dir) -> Path:
    p = Path(output_dir)
    if p.exists() and not p.is_dir():
        raise OutputDirError(f"output_dir {str(p)!r} exists and is a file, not a folder")
    return p


class HLSModel:
    """A :class:`~codegen.ir.Graph` after conversion, with its config and project settings."""

    def __init__(self, graph: Graph, config: dict, output_dir="prj"):
        self.graph = graph
        self.config = copy.deepcopy(config)
        self.output_dir = check_output_dir(output_dir)
        self._lib = None
        self._written = False

    # ------------------------------------------------------------------ facts
    @property
    def part(self) -> str:
        return self.graph.part

    @property
    def clock_period(self) -> float:
        return self.graph.clock_period

    @property
    def layers(self):
        return self.graph.layers

    def resolved_config(self) -> dict:
        """The config actually used, per layer (precisions resolved, reuse factors snapped), hls4ml style."""
        return {
            "Model": {"Precision": {"default": str(self.graph.input_layer.result_type)},
                      "IOType": self.graph.io_type},
            "LayerName": {l.name: l.config.to_hls4ml() for l in self.graph},
        }

    def __repr__(self) -> str:
        return f"HLSModel({self.graph.name!r}, {len(self.graph)} layers, output_dir={str(self.output_dir)!r})"

    # ------------------------------------------------------------------ numerics
    def predict(self, X, engine: str = "emulator") -> np.ndarray:
        """Outputs for a batch ``X`` (float64), bit-exact. ``engine``: ``emulator`` or ``csim`` (g++ build)."""
        if engine == "emulator":
            return emulator.predict(self.graph, X)
        if engine == "csim":
            return self._csim().predict(np.asarray(X, dtype=np.float64))
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")

    def trace(self, X, engine: str = "emulator") -> dict[str, np.ndarray]:
        """Every layer's output values by layer name, for debugging precisions."""
        if engine == "emulator":
            return emulator.trace(self.graph, X)
        if engine == "csim":
            return self._csim().trace(np.asarray(X, dtype=np.float64))
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")

    # ------------------------------------------------------------------ project
    def write(self, tb_inputs=None) -> Path:
        """Write the Vitis/Vivado HLS project into ``output_dir``."""
        from .hls.writer import write_project

        tb_outputs = self.predict(tb_inputs) if tb_inputs is not None else None
        path = write_project(self.graph, self.output_dir, tb_inputs=tb_inputs, tb_outputs=tb_outputs)
        self._written = True
        self._lib = None
        return path

    def compile(self) -> Path:
        """Build the written C++ with g++ (writes the project first if needed); returns the shared library."""
        from .csim import CSimLibrary, build

        if not self._written:
            self.write()
        so = build(self.output_dir)
        self._lib = CSimLibrary(self.output_dir, so)
        return so

    def _csim(self):
        if self._lib is None:
            raise RuntimeError("no C++ build loaded: call hm.compile() first")
        return self._lib
