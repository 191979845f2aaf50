"""One builder per layer kind: a :class:`LayerModule` (datapath netlist + control style + latency/II).

:data:`BUILDERS` is the dispatch table keyed by ``Layer.kind``; matrix layers (Dense, Conv1D, Conv2D) live in
:mod:`codegen.rtl.matrix`. Input and Reshape make no module (they are wires in the top level).

    >>> from codegen.rtl.layers import build_layer, BuildContext       # doctest: +SKIP
    >>> lm = build_layer(graph["relu1"], BuildContext(graph, DspPolicy(), "myproject"))  # doctest: +SKIP
    >>> lm.latency, lm.ii                                               # doctest: +SKIP
    (1, 1)

Every arithmetic step follows docs/numerics.md; the emulator kernels (``codegen.emulator.kernels``) are the
reference each builder mirrors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..emulator import tables
from ..emulator.kernels import AVG_RECIP_TYPE, weight_raw
from ..fixed import FixedType, quantize_raw
from ..ir import Graph, Layer
from .netlist import DspPolicy, ModuleBuilder, Node

__all__ = ["LayerModule", "BuildContext", "RTLWriteError", "BUILDERS", "build_layer", "NO_MODULE_KINDS"]

#: kinds that are plain wires in the top level
NO_MODULE_KINDS = ("Input", "Reshape")


class RTLWriteError(ValueError):
    """The graph cannot be written as Verilog; the message names the layer."""


def err(layer: Layer, msg: str) -> RTLWriteError:
    return RTLWriteError(f"layer {layer.name!r} ({layer.kind}): {msg}")


@dataclass
class BuildContext:
    graph: Graph
    policy: DspPolicy
    top: str

    def in_type(self, layer: Layer, k: int = 0) -> FixedType:
        return self.graph[layer.inputs[k]].result_type

    def in_shape(self, layer: Layer, k: int = 0) -> tuple[int, ...]:
        return self.graph[layer.inputs[k]].shape

    def module_name(self, layer: Layer) -> str:
        return f"{self.top}_{layer.cpp_name}"

    @property
    def lutmul_module(self) -> str:
        return f"{self.top}__lutmul"


@dataclass
class LayerModule:
    """A layer's module, ready for ``templates/<template>``."""

    layer: Layer
    module: str
    builder: ModuleBuilder
    in_ports: list[dict]
    outputs: list[dict]
    latency: int
    ii: int = 1
    template: str = "pipeline.v.j2"
    control: dict = field(default_factory=dict)

    @property
    def out_bits(self) -> int:
        return self.layer.size * self.layer.result_type.width

    def context(self) -> dict:
        b = self.builder
        return dict(module=self.module, comment=f"layer {self.layer.name!r} ({self.layer.kind})",
                    in_ports=self.in_ports, out_bits=self.out_bits, casts=b.cast_functions(), regs=b.regs,
                    roms=b.roms, nodes=b.nodes, outputs=self.outputs, latency=self.latency, **self.control)


# ---------------------------------------------------------------------------------------------- helpers
class Inputs:
    """Lazily declared elements of input port ``k`` (only the elements a layer reads become wires)."""

    def __init__(self, b: ModuleBuilder, k: int, t: FixedType):
        self.b, self.port, self.t, self.cache = b, f"in{k}_data", t, {}

    def __getitem__(self, i: int) -> Node:
        if i not in self.cache:
            self.cache[i] = self.b.port(self.port, int(i), self.t)
        return self.cache[i]


def in_ports(ctx: BuildContext, layer: Layer) -> list[dict]:
    return [dict(valid=f"in{k}_valid", data=f"in{k}_data",
                 bits=int(math.prod(ctx.in_shape(layer, k))) * ctx.in_type(layer, k).width)
            for k in range(len(layer.inputs))]


def registered_outputs(b: ModuleBuilder, ys: list[Node], t: FixedType) -> list[dict]:
    """Register each result node; output element k at bits ``[k*W +: W]``."""
    return [dict(lo=k * t.width, w=t.width, src=b.register(y).name) for k, y in enumerate(ys)]


def new_module(ctx: BuildContext, layer: Layer) -> ModuleBuilder:
    return ModuleBuilder(ctx.policy, ctx.lutmul_module)


def pipeline(ctx: BuildContext, layer: Layer, b: ModuleBuilder, outputs: list[dict], latency: int) -> LayerModule:
    return LayerModule(layer, ctx.module_name(layer), b, in_ports(ctx, layer), outputs, latency)


def pool_windows(shape: tuple[int, ...], pool: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """Flat input indices of each 'valid' pooling window: (*out, c, window) as in the emulator."""
    nd = len(pool)
    idx = np.arange(int(math.prod(shape))).reshape(shape)
    win = sliding_window_view(idx, pool, axis=tuple(range(nd)))
    win = win[tuple(slice(None, None, s) for s in strides)]
    return win.reshape(*win.shape[:1 + nd], -1)


def _tuple(v, n: int) -> tuple[int, ...]:
    return (int(v),) * n if isinstance(v, (int, np.integer)) else tuple(int(x) for x in v)


# ---------------------------------------------------------------------------------------------- kinds
def _activation(layer: Layer, ctx: BuildContext) -> LayerModule:
    act = layer.attrs.get("activation")
    fn = ACTIVATIONS.get(act)
    if fn is None:
        raise err(layer, f"activation {act!r} has no Verilog implementation (have: {sorted(ACTIVATIONS)})")
    return fn(layer, ctx)


def _elementwise(layer: Layer, ctx: BuildContext, relu: bool) -> LayerModule:
    b, xt, rt = new_module(ctx, layer), ctx.in_type(layer), layer.result_type
    xs = Inputs(b, 0, xt)
    zero = b.const(0, xt.frac) if relu else None
    ys = []
    for k in range(layer.size):
        v = b.max2(xs[k], zero) if relu else xs[k]
        ys.append(b.cast(v, xt.frac, rt))
    return pipeline(ctx, layer, b, registered_outputs(b, ys, rt), 1)


def _table_activation(layer: Layer, ctx: BuildContext) -> LayerModule:
    act = layer.attrs["activation"]
    n = tables.check_table_size(layer.config.table_size, layer.name)
    b, xt, rt = new_module(ctx, layer), ctx.in_type(layer), layer.result_type
    tt = layer.precision["table"]
    table = (tables.sigmoid_table if act == "sigmoid" else tables.tanh_table)(n, tt)
    span = tables.SIGMOID_RANGE if act == "sigmoid" else tables.TANH_RANGE
    rom = [int(v) for v in quantize_raw(table, tt.frac, rt)]  # y = cast<result>(T[idx]): a function of idx
    k = int(math.log2(n)) - int(math.log2(span)) - xt.frac
    xs = Inputs(b, 0, xt)
    idx = []
    for e in range(layer.size):
        sh = b.shift(xs[e], k)
        idx.append(b.clamp(b.add([(1, sh), (1, b.const(n // 2, sh.frac))]), 0, n - 1))
    reads = b.rom(rom, rt.frac, idx)
    outs = [dict(lo=e * rt.width, w=rt.width, src=r.name) for e, r in enumerate(reads)]
    return pipeline(ctx, layer, b, outs, 1)


def _softmax(layer: Layer, ctx: BuildContext) -> LayerModule:
    n = tables.check_table_size(layer.config.table_size, layer.name)
    b, xt, rt = new_module(ctx, layer), ctx.in_type(layer), layer.result_type
    et, it = layer.precision["exp_table"], layer.precision["inv_table"]
    if et.frac < 0:
        raise err(layer, f"exp_table precision {et} needs fractional bits >= 0")
    n_classes = layer.shape[-1]
    groups = layer.size // n_classes
    span = tables.softmax_sum_span(n_classes)
    k1 = int(math.log2(n)) - int(math.log2(tables.EXP_RANGE)) - xt.frac
    k2 = int(math.log2(n)) - int(math.log2(span)) - et.frac
    E = [int(v) for v in tables.exp_table(n, et)]
    R = [int(v) for v in tables.inv_table(n, it, n_classes)]
    xs = Inputs(b, 0, xt)
    ys: list[Node] = []
    for g in range(groups):
        xg = [xs[g * n_classes + c] for c in range(n_classes)]
        m = b.max_tree(xg)
        idx = [b.clamp(b.shift(b.add([(1, m), (-1, x)]), k1), 0, n - 1) for x in xg]
        e = b.rom(E, et.frac, idx)  # stage 1
        s = b.add([(1, v) for v in e])
        s1 = b.add([(1, s), (-1, b.const(1 << et.frac, s.frac))])
        r, = b.rom(R, it.frac, [b.clamp(b.shift(s1, k2), 0, n - 1)])  # stage 2
        ed = [b.register(v) for v in e]
        for v in ed:  # stage 3
            p = b.vmul(v, r, (et.width, it.width))
            ys.append(b.cast(p, et.frac + it.frac, rt))
    return pipeline(ctx, layer, b, registered_outputs(b, ys, rt), 3)


ACTIVATIONS: dict[str, Callable[[Layer, BuildContext], LayerModule]] = {
    "linear": lambda layer, ctx: _elementwise(layer, ctx, relu=False),
    "relu": lambda layer, ctx: _elementwise(layer, ctx, relu=True),
    "sigmoid": _table_activation,
    "tanh": _table_activation,
    "softmax": _softmax,
}


def _batchnorm(layer: Layer, ctx: BuildContext) -> LayerModule:
    b, xt, rt = new_module(ctx, layer), ctx.in_type(layer), layer.result_type
    st, bt = layer.precision["scale"], layer.precision["bias"]
    s = np.asarray(weight_raw(layer, "scale", "scale")).ravel()
    bias = np.asarray(weight_raw(layer, "bias", "bias")).ravel()
    c = s.size
    f = max(xt.frac + st.frac, bt.frac)
    xs = Inputs(b, 0, xt)
    ys = []
    for k in range(layer.size):
        terms = []
        p = b.cmul(xs[k], int(s[k % c]), (xt.width, st.width), frac=xt.frac + st.frac)
        if p is not None:
            terms.append((1, b.align(p, f)))
        if int(bias[k % c]):
            terms.append((1, b.const(int(bias[k % c]) << (f - bt.frac), f)))
        total = b.add(terms) if terms else b.const(0, f)
        ys.append(b.cast(total, f, rt))
    return pipeline(ctx, layer, b, registered_outputs(b, ys, rt), 1)


def _pool_reduce(b: ModuleBuilder, xs: list[Node], op: str, xt: FixedType, rt: FixedType,
                 policy_widths: int) -> Node:
    if op == "max":
        return b.cast(b.max_tree(xs), xt.frac, rt)
    total = b.add([(1, x) for x in xs])
    c = int(AVG_RECIP_TYPE.quantize_float(np.array([1.0 / len(xs)]))[0])
    p = b.cmul(total, c, (policy_widths, AVG_RECIP_TYPE.width), frac=xt.frac + AVG_RECIP_TYPE.frac)
    return b.cast(p, xt.frac + AVG_RECIP_TYPE.frac, rt)


def _pooling(layer: Layer, ctx: BuildContext) -> LayerModule:
    a = layer.attrs
    nd = 1 if layer.kind.endswith("1D") else 2
    if a.get("padding", "valid") != "valid":
        raise err(layer, f"padding {a.get('padding')!r} is not supported (only 'valid')")
    win = pool_windows(ctx.in_shape(layer), _tuple(a["pool_size"], nd), _tuple(a["strides"], nd))
    return _pool_common(layer, ctx, win.reshape(-1, win.shape[-1]))


def _global_pooling(layer: Layer, ctx: BuildContext) -> LayerModule:
    shape = ctx.in_shape(layer)
    c = shape[-1]
    win = np.arange(int(math.prod(shape))).reshape(-1, c).T  # (c, positions)
    return _pool_common(layer, ctx, win)


def _pool_common(layer: Layer, ctx: BuildContext, windows: np.ndarray) -> LayerModule:
    b, xt, rt = new_module(ctx, layer), ctx.in_type(layer), layer.result_type
    if windows.shape[0] != layer.size:
        raise err(layer, f"{windows.shape[0]} pooling windows for {layer.size} outputs")
    xs = Inputs(b, 0, xt)
    ys = [_pool_reduce(b, [xs[int(i)] for i in w], layer.attrs["op"], xt, rt, xt.width) for w in windows]
    return pipeline(ctx, layer, b, registered_outputs(b, ys, rt), 1)


def _add(layer: Layer, ctx: BuildContext) -> LayerModule:
    b, rt = new_module(ctx, layer), layer.result_type
    types = [ctx.in_type(layer, k) for k in range(len(layer.inputs))]
    f = max(t.frac for t in types)
    ins = [Inputs(b, k, t) for k, t in enumerate(types)]
    ys = [b.cast(b.add([(1, b.align(x[e], f)) for x in ins]), f, rt) for e in range(layer.size)]
    return pipeline(ctx, layer, b, registered_outputs(b, ys, rt), 1)


def _concatenate(layer: Layer, ctx: BuildContext) -> LayerModule:
    b, rt = new_module(ctx, layer), layer.result_type
    axis = layer.attrs.get("axis", -1)
    shapes = [ctx.in_shape(layer, k) for k in range(len(layer.inputs))]
    src = np.concatenate([np.stack(np.broadcast_arrays(np.full(s, k), np.arange(int(math.prod(s))).reshape(s)), -1)
                          for k, s in enumerate(shapes)], axis=axis - 1 if axis < 0 else axis)
    src = src.reshape(-1, 2)
    if len(src) != layer.size:
        raise err(layer, f"concatenation of {shapes} gives {len(src)} elements, expected {layer.size}")
    ins = [Inputs(b, k, ctx.in_type(layer, k)) for k in range(len(shapes))]
    ys = [b.cast(ins[int(k)][int(i)], ins[int(k)].t.frac, rt) for k, i in src]
    return pipeline(ctx, layer, b, registered_outputs(b, ys, rt), 1)


def _matrix(layer: Layer, ctx: BuildContext) -> LayerModule:
    from .matrix import build_matrix

    return build_matrix(layer, ctx)


BUILDERS: dict[str, Callable[[Layer, BuildContext], LayerModule]] = {
    "Dense": _matrix,
    "Conv1D": _matrix,
    "Conv2D": _matrix,
    "BatchNormalization": _batchnorm,
    "Activation": _activation,
    "Pooling1D": _pooling,
    "Pooling2D": _pooling,
    "GlobalPooling1D": _global_pooling,
    "GlobalPooling2D": _global_pooling,
    "Add": _add,
    "Concatenate": _concatenate,
}


def build_layer(layer: Layer, ctx: BuildContext) -> LayerModule:
    """The :class:`LayerModule` of ``layer`` (not for Input/Reshape, which are wires)."""
    fn = BUILDERS.get(layer.kind)
    if fn is None:
        raise err(layer, f"no Verilog builder for kind {layer.kind!r} (have: {sorted(BUILDERS)})")
    try:
        return fn(layer, ctx)
    except KeyError as e:
        raise err(layer, f"missing precision or weight {e}") from None
