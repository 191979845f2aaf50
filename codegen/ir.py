"""The intermediate representation: a :class:`Graph` of :class:`Layer` objects in topological order.

Every writer (HLS C++, Verilog), the emulator and the estimators read this one structure.

    >>> from codegen.ir import Graph, Layer
    >>> g = Graph(layers=[Layer("x", "Input", [], (4,)), Layer("fc", "Dense", ["x"], (2,))])
    >>> [l.name for l in g], g.output_layer.name
    (['x', 'fc'], 'fc')

Layer kinds (``Layer.kind``) and their attributes (``Layer.attrs``):

=====================  =====================================================================================
kind                   attrs / weights
=====================  =====================================================================================
Input                  --
Dense                  n_in, n_out; weights kernel (n_in, n_out), bias (n_out,)
Conv1D                 kernel_size (k,), strides (s,), padding 'valid'|'same', filters, in_channels;
                       weights kernel (k, c_in, filters), bias (filters,)
Conv2D                 kernel_size (kh, kw), strides, padding, filters, in_channels;
                       weights kernel (kh, kw, c_in, filters), bias (filters,)
BatchNormalization     weights scale (c,), bias (c,)  (y = x * scale + bias, per last-axis channel)
Activation             activation: relu | linear | sigmoid | tanh | softmax
Pooling1D / Pooling2D  op: max | avg, pool_size, strides (padding 'valid')
GlobalPooling1D / 2D   op: max | avg
Reshape                target shape (Flatten is a Reshape); data are not touched
Add                    two or more inputs of equal shape
Concatenate            axis (negative = from the end)
=====================  =====================================================================================

Tensors are channels-last and flattened in C order, as hls4ml's io_parallel does.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .fixed import FixedType

__all__ = ["Layer", "Graph", "LayerConfig", "LAYER_KINDS", "MATRIX_KINDS", "cpp_identifier"]

LAYER_KINDS = (
    "Input", "Dense", "Conv1D", "Conv2D", "BatchNormalization", "Activation",
    "Pooling1D", "Pooling2D", "GlobalPooling1D", "GlobalPooling2D", "Reshape", "Add", "Concatenate",
)
#: kinds that multiply by a weight matrix (and so have a reuse factor and a strategy)
MATRIX_KINDS = ("Dense", "Conv1D", "Conv2D")

_CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class", "const",
    "continue", "default", "delete", "do", "double", "else", "enum", "explicit", "export", "extern", "false",
    "float", "for", "friend", "goto", "if", "inline", "int", "long", "namespace", "new", "not", "operator", "or",
    "private", "protected", "public", "register", "return", "short", "signed", "sizeof", "static", "struct",
    "switch", "template", "this", "throw", "true", "try", "typedef", "typename", "union", "unsigned", "using",
    "virtual", "void", "volatile", "while", "xor", "main", "nnet", "std", "input", "output",
}


def cpp_identifier(name: str, taken: set[str] | None = None) -> str:
    """A valid, unique C++ identifier made from a user's layer name (``taken`` is updated)."""
    s = re.sub(r"[^0-9A-Za-z_]", "_", str(name))
    s = re.sub(r"_+", "_", s).strip("_") or "layer"
    if s[0].isdigit():
        s = "l_" + s
    if s in _CPP_KEYWORDS or s.startswith("__"):
        s = "l_" + s
    s = s[:64]
    if taken is not None:
        base, k = s, 1
        while s in taken:
            k += 1
            s = f"{base}_{k}"
        taken.add(s)
    return s


@dataclass
class LayerConfig:
    """The resolved configuration of one layer.

    ``precision`` maps variable names (``result``, ``weight``, ``bias``, ``accum``, ``scale``, ``table``,
    ``exp_table``, ``inv_table``) to :class:`FixedType`. ``strategy`` is ``"latency"`` or ``"resource"``.
    """

    precision: dict[str, FixedType] = field(default_factory=dict)
    reuse_factor: int = 1
    strategy: str = "latency"
    table_size: int = 1024

    def to_hls4ml(self) -> dict:
        """This layer's entry of an hls4ml-style ``LayerName`` config."""
        return {
            "Precision": {k: str(v) for k, v in self.precision.items()},
            "ReuseFactor": self.reuse_factor,
            "Strategy": self.strategy.capitalize(),
        }


@dataclass
class Layer:
    """One node of the graph. ``shape`` is the output shape without the batch axis."""

    name: str
    kind: str
    inputs: list[str]
    shape: tuple[int, ...]
    attrs: dict = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    config: LayerConfig = field(default_factory=LayerConfig)
    source_class: str = ""  # the Keras class it came from, for error messages
    cpp_name: str = ""

    def __post_init__(self):
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"layer {self.name!r}: unknown kind {self.kind!r}")
        self.shape = tuple(int(s) for s in self.shape)

    @property
    def size(self) -> int:
        return int(math.prod(self.shape))

    @property
    def precision(self) -> dict[str, FixedType]:
        return self.config.precision

    @property
    def result_type(self) -> FixedType:
        return self.config.precision["result"]

    @property
    def is_matrix(self) -> bool:
        return self.kind in MATRIX_KINDS

    def matrix_shape(self) -> tuple[int, int]:
        """(n_in, n_out) of the weight matrix one output position multiplies by (im2col view for convs)."""
        k = self.weights["kernel"]
        return int(math.prod(k.shape[:-1])), int(k.shape[-1])

    def out_positions(self) -> int:
        """Output positions that reuse the matrix (1 for Dense, output pixels for convs)."""
        if self.kind == "Dense":
            return 1
        return int(math.prod(self.shape[:-1]))

    def nonzero_weights(self) -> int:
        return int(np.count_nonzero(self.weights["kernel"])) if "kernel" in self.weights else 0


@dataclass
class Graph:
    """Layers in topological order, with the project-wide settings."""

    layers: list[Layer]
    name: str = "myproject"
    part: str = "xcu250-figd2104-2L-e"
    clock_period: float = 5.0
    io_type: str = "io_parallel"
    backend: str = "Vitis"

    def __post_init__(self):
        self._index = {}
        self.reindex()

    def reindex(self) -> None:
        self._index = {l.name: l for l in self.layers}
        if len(self._index) != len(self.layers):
            seen, dup = set(), []
            for l in self.layers:
                if l.name in seen:
                    dup.append(l.name)
                seen.add(l.name)
            raise ValueError(f"duplicate layer names: {dup}")
        taken: set[str] = set()
        for l in self.layers:
            l.cpp_name = cpp_identifier(l.name, taken)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, name: str) -> Layer:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"no layer named {name!r}; layers: {[l.name for l in self.layers]}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._index

    @property
    def input_layer(self) -> Layer:
        ins = [l for l in self.layers if l.kind == "Input"]
        if len(ins) != 1:
            raise ValueError(f"exactly one Input layer is supported, found {len(ins)}")
        return ins[0]

    @property
    def output_layer(self) -> Layer:
        used = {i for l in self.layers for i in l.inputs}
        outs = [l for l in self.layers if l.name not in used]
        if len(outs) != 1:
            raise ValueError(f"exactly one output layer is supported, found {[l.name for l in outs]}")
        return outs[0]

    def consumers(self, name: str) -> list[Layer]:
        return [l for l in self.layers if name in l.inputs]

    def replace(self, old: str, new_layers: list[Layer]) -> None:
        """Put ``new_layers`` where ``old`` was; consumers of ``old`` now read the last new layer."""
        i = next(k for k, l in enumerate(self.layers) if l.name == old)
        last = new_layers[-1].name if new_layers else self[old].inputs[0]
        self.layers[i:i + 1] = new_layers
        for l in self.layers:
            l.inputs = [last if x == old and l not in new_layers else x for x in l.inputs]
        self.reindex()

    def remove(self, name: str) -> None:
        """Drop a single-input layer; its consumers read its input instead."""
        layer = self[name]
        if len(layer.inputs) != 1:
            raise ValueError(f"cannot remove {name!r}: it has {len(layer.inputs)} inputs")
        src = layer.inputs[0]
        self.layers = [l for l in self.layers if l.name != name]
        for l in self.layers:
            l.inputs = [src if x == name else x for x in l.inputs]
        self.reindex()
