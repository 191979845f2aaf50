"""Write a :class:`~codegen.ir.Graph` as a Vitis/Vivado HLS project (hls4ml-compatible layout, io_parallel).

    >>> from codegen.hls import write_project                      # doctest: +SKIP
    >>> prj = write_project(graph, "build/jet_tagger")              # doctest: +SKIP
    >>> sorted(p.name for p in prj.iterdir())                       # doctest: +SKIP
    ['build_prj.tcl', 'firmware', 'jet_tagger_bridge.cpp', 'jet_tagger_test.cpp', 'project.json', ...]

Layout of the project folder (``<top>`` is ``graph.name`` made a C++ identifier)::

    firmware/<top>.cpp, <top>.h        the top function: void <top>(input_t input[N_INPUT], result_t output[N_OUTPUT])
    firmware/defines.h                 every typedef (one result type per layer, input_t, result_t)
    firmware/parameters.h              one config struct per layer; includes the weights
    firmware/weights/<cpp>_<w|b|s|table|exptable|invtable>.h   exact constants
    firmware/nnet_utils/*.h            our kernels (copied from codegen/hls/nnet_utils)
    <top>_test.cpp                     testbench (tb_data/tb_input_features.dat -> tb_data/csim_results.log)
    <top>_bridge.cpp                   ctypes entry points for codegen.csim (not part of the design)
    tb_data/                           testbench data when ``tb_inputs`` is given
    build_prj.tcl, project.tcl, vivado_synth.tcl
    project.json                       the configuration (hls4ml-style) and the layer list

``vitis_hls -f build_prj.tcl`` runs C simulation and C synthesis; ap_types come from Vitis itself (the g++
build in :mod:`codegen.csim` uses :func:`codegen.toolchain.find_ap_types`). Numerics: docs/numerics.md.

Every file name and C++ identifier is derived from ``layer.cpp_name`` (unique, sanitized by the Graph) plus a
fixed suffix, none of which is a suffix of another, so identifiers of different layers never collide and
nothing is ever written outside ``output_dir``.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Callable

import jinja2
import numpy as np

from ..emulator import tables
from ..fixed import FixedType
from ..ir import Graph, Layer, cpp_identifier

__all__ = ["write_project", "ProjectWriteError", "LAYER_VIEWS", "AVG_RECIP_TYPE"]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
NNET_UTILS = Path(__file__).parent / "nnet_utils"
AVG_RECIP_TYPE = FixedType(24, 0, signed=False, rounding="AP_RND")  # docs/numerics.md, average pooling
DOUBLE_EXACT_BITS = 53

# suffix of each precision variable's typedef name (<cpp>_<suffix>_t)
_TYPE_SUFFIX = {"result": "result", "weight": "weight", "bias": "bias", "accum": "accum", "scale": "scale",
                "table": "table", "exp_table": "exptable", "inv_table": "invtable"}
# names the top function must not take
_RESERVED = {"input_t", "result_t", "N_INPUT", "N_OUTPUT", "ap_fixed", "ap_ufixed", "ap_int", "ap_uint", "assert",
             "defines", "parameters", "csim_predict", "csim_trace", "std", "nnet", "main", "NNET_TRACE", "NNET_HIDDEN"}


class ProjectWriteError(ValueError):
    """The graph cannot be written as an HLS project, or the output folder is unusable."""


# ---------------------------------------------------------------------------------------------- helpers
def _err(layer: Layer, msg: str) -> ProjectWriteError:
    return ProjectWriteError(f"layer {layer.name!r} ({layer.kind}): {msg}")


def _tuple(v, n: int) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    return tuple(int(x) for x in v)


def _prec(layer: Layer, var: str) -> FixedType:
    try:
        return FixedType.parse(layer.config.precision[var])
    except KeyError:
        raise _err(layer, f"no {var!r} precision in its config (have: {sorted(layer.config.precision)})") from None


def format_values(raw: np.ndarray, t: FixedType, what: str, per_line: int = 8) -> str:
    """C initializer body for raw integers of type ``t``: each value printed as an exact double (repr)."""
    raw = np.asarray(raw).ravel()
    if raw.size and max(abs(int(raw.max())), abs(int(raw.min()))) >= 1 << DOUBLE_EXACT_BITS:
        raise ProjectWriteError(
            f"{what}: values of type {t} ({t.width} bits) are not exactly representable as double constants "
            f"(at most {DOUBLE_EXACT_BITS} significant bits); use a narrower precision")
    vals = [repr(math.ldexp(int(q), -t.frac)) for q in raw]
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    return ",\n".join("    " + ln for ln in lines)


def _label(name: str) -> str:
    """A layer name as it may appear in a C++ // comment: quoted, escaped, ASCII (no line breaks, no trailing \\)."""
    return json.dumps(str(name))


class _View(dict):
    """A layer as the templates see it (attribute access for jinja)."""

    __getattr__ = dict.get


class _Builder:
    """Collects typedefs and constant arrays while the per-kind functions describe their layers."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.views: dict[str, _View] = {}
        self.typedefs: list[dict] = []
        self.arrays: list[dict] = []

    def typedef(self, layer: Layer, var: str, t: FixedType | None = None) -> str:
        name = f"{layer.cpp_name}_{_TYPE_SUFFIX[var]}_t"
        t = _prec(layer, var) if t is None else t
        self.typedefs.append({"name": name, "ctype": str(t)})
        return name

    def array(self, layer: Layer, suffix: str, raw: np.ndarray, t: FixedType, type_name: str, what: str) -> str:
        ident = f"{layer.cpp_name}_{suffix}"
        self.arrays.append({
            "ident": ident, "type": type_name, "ctype": str(t), "n": int(np.asarray(raw).size),
            "body": format_values(raw, t, f"layer {layer.name!r} ({layer.kind}) {what}"),
            "file": f"{ident}.h", "guard": f"FPGA_DSE_WEIGHTS_{ident}_H_",
            "comment": f"{what} of layer {_label(layer.name)}",
        })
        return ident

    def weights(self, layer: Layer, key: str, var: str, suffix: str, default_shape=None) -> tuple[str, str]:
        """Quantize ``layer.weights[key]`` to its ``var`` precision and add it as an array."""
        if key in layer.weights:
            t = _prec(layer, var)
            values = np.asarray(layer.weights[key], dtype=np.float64)
            if not np.all(np.isfinite(values)):
                raise _err(layer, f"{key} has non-finite values")
            raw = t.quantize_float(values)
        elif default_shape is not None:  # e.g. Dense(use_bias=False): zeros
            t = layer.config.precision.get(var) or FixedType(1, 1)
            raw = np.zeros(default_shape, dtype=np.int64)
        else:
            raise _err(layer, f"missing weights {key!r}")
        type_name = self.typedef(layer, var, FixedType.parse(t))
        return self.array(layer, suffix, raw, FixedType.parse(t), type_name, key), type_name

    def input_shape(self, layer: Layer, k: int = 0) -> tuple[int, ...]:
        return self.graph[layer.inputs[k]].shape


# ---------------------------------------------------------------------------------------------- per-kind views
def _matrix_params(layer: Layer, n_in: int, n_out: int, n_pos: int) -> dict:
    kernel = np.asarray(layer.weights["kernel"])
    rf = int(layer.config.reuse_factor)
    if rf < 1:
        raise _err(layer, f"reuse factor must be >= 1, got {rf}")
    n = n_in * n_out
    nnz = int(np.count_nonzero(kernel))
    strategy = str(layer.config.strategy).lower()
    if strategy not in ("latency", "resource"):
        raise _err(layer, f"unknown strategy {layer.config.strategy!r} (latency | resource)")
    return dict(n_in=n_in, n_out=n_out, n_pos=n_pos, reuse_factor=rf, n_zeros=n - nnz, n_nonzeros=nnz,
                multiplier_limit=max(1, math.ceil(nnz / rf)), block_factor=math.ceil(n / rf), strategy=strategy)


def _dense(layer: Layer, b: _Builder) -> dict:
    kernel = np.asarray(layer.weights.get("kernel"))
    if kernel.ndim != 2:
        raise _err(layer, f"kernel must be 2-D (n_in, n_out), got shape {kernel.shape}")
    n_in, n_out = kernel.shape
    in_size = int(math.prod(b.input_shape(layer)))
    if in_size % n_in or layer.size != in_size // n_in * n_out:
        raise _err(layer, f"input shape {b.input_shape(layer)} / output shape {layer.shape} do not fit a "
                          f"{n_in}x{n_out} kernel")
    w, wt = b.weights(layer, "kernel", "weight", "w")
    bias, bt = b.weights(layer, "bias", "bias", "b", default_shape=(n_out,))
    return dict(macro="dense", p=_matrix_params(layer, n_in, n_out, in_size // n_in),
                types=dict(weight=wt, bias=bt, accum=b.typedef(layer, "accum")), arrays=dict(w=w, b=bias))


def _same_pads(n: int, k: int, s: int) -> tuple[int, int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def _conv(layer: Layer, b: _Builder) -> dict:
    nd = 1 if layer.kind == "Conv1D" else 2
    a = layer.attrs
    kernel = np.asarray(layer.weights.get("kernel"))
    if kernel.ndim != nd + 2:
        raise _err(layer, f"kernel must have {nd + 2} dimensions, got shape {kernel.shape}")
    ks, st = _tuple(a.get("kernel_size", kernel.shape[:nd]), nd), _tuple(a.get("strides", 1), nd)
    padding = a.get("padding", "valid")
    spatial, c_in = b.input_shape(layer)[:-1], b.input_shape(layer)[-1]
    if len(spatial) != nd or kernel.shape[:nd] != ks or kernel.shape[nd] != c_in:
        raise _err(layer, f"kernel {kernel.shape} does not fit input {b.input_shape(layer)}")
    outs, pads = [], []
    for n, k, s in zip(spatial, ks, st):
        if padding == "same":
            o, p0, p1 = _same_pads(n, k, s)
        elif padding == "valid":
            o, p0, p1 = (n - k) // s + 1, 0, 0
        else:
            raise _err(layer, f"unsupported padding {padding!r}")
        outs.append(o)
        pads.append((p0, p1))
    filters = kernel.shape[-1]
    if tuple(outs) + (filters,) != layer.shape:
        raise _err(layer, f"output shape {layer.shape} != computed {tuple(outs) + (filters,)}")
    if nd == 1:  # a 1-D conv is a 2-D conv of height 1
        spatial, ks, st, outs, pads = (1,) + tuple(spatial), (1,) + ks, (1,) + st, [1] + outs, [(0, 0)] + pads
    n_in = int(math.prod(ks)) * c_in
    w, wt = b.weights(layer, "kernel", "weight", "w")
    bias, bt = b.weights(layer, "bias", "bias", "b", default_shape=(filters,))
    p = _matrix_params(layer, n_in, filters, int(math.prod(outs)))
    p.update(in_height=spatial[0], in_width=spatial[1], n_chan=c_in, filt_height=ks[0], filt_width=ks[1],
             n_filt=filters, stride_height=st[0], stride_width=st[1], pad_top=pads[0][0], pad_bottom=pads[0][1],
             pad_left=pads[1][0], pad_right=pads[1][1], out_height=outs[0], out_width=outs[1])
    return dict(macro="conv", p=p, types=dict(weight=wt, bias=bt, accum=b.typedef(layer, "accum")),
                arrays=dict(w=w, b=bias))


def _batchnorm(layer: Layer, b: _Builder) -> dict:
    c = layer.shape[-1]
    s, st = b.weights(layer, "scale", "scale", "s")
    bias, bt = b.weights(layer, "bias", "bias", "b")
    if np.asarray(layer.weights["scale"]).size != c or np.asarray(layer.weights["bias"]).size != c:
        raise _err(layer, f"scale and bias must have {c} entries (the last axis)")
    rf = int(layer.config.reuse_factor)
    return dict(macro="batchnorm", types=dict(scale=st, bias=bt), arrays=dict(s=s, b=bias),
                p=dict(n_in=layer.size, n_filt=c, reuse_factor=rf, multiplier_limit=math.ceil(layer.size / rf)))


def _activation(layer: Layer, b: _Builder) -> dict:
    act = layer.attrs.get("activation")
    p = dict(n_in=layer.size, table_size=layer.config.table_size, reuse_factor=layer.config.reuse_factor,
             function=act)
    if act in ("relu", "linear"):
        return dict(macro="activation", p=p, types={}, arrays={})
    n = _table_size(layer)
    if act in ("sigmoid", "tanh"):
        tt = _prec(layer, "table")
        raw = (tables.sigmoid_table if act == "sigmoid" else tables.tanh_table)(n, tt)
        tn = b.typedef(layer, "table", tt)
        return dict(macro="activation", p=p, types=dict(table=tn),
                    arrays=dict(table=b.array(layer, "table", raw, tt, tn, f"{act} table")))
    if act == "softmax":
        n_slice = layer.shape[-1]
        et, it = _prec(layer, "exp_table"), _prec(layer, "inv_table")
        en, iname = b.typedef(layer, "exp_table", et), b.typedef(layer, "inv_table", it)
        p.update(n_slice=n_slice, sum_span_log2=int(math.log2(tables.softmax_sum_span(n_slice))))
        return dict(macro="softmax", p=p, types=dict(exp_table=en, inv_table=iname), arrays=dict(
            exptable=b.array(layer, "exptable", tables.exp_table(n, et), et, en, "softmax exp table"),
            invtable=b.array(layer, "invtable", tables.inv_table(n, it, n_slice), it, iname, "softmax inverse table")))
    raise _err(layer, f"unsupported activation {act!r} (relu, linear, sigmoid, tanh, softmax)")


def _table_size(layer: Layer) -> int:
    try:
        return tables.check_table_size(layer.config.table_size, layer.name)
    except ValueError as e:
        raise ProjectWriteError(str(e)) from None


def _reshape(layer: Layer, b: _Builder) -> dict:
    if int(math.prod(b.input_shape(layer))) != layer.size:
        raise _err(layer, f"cannot reshape {b.input_shape(layer)} to {layer.shape}")
    return dict(macro="activation", types={}, arrays={},
                p=dict(n_in=layer.size, table_size=0, reuse_factor=1, function="linear"))


def _pool_params(layer: Layer, spatial, c, pool, strides, outs, op: str) -> dict:
    if op not in ("max", "avg"):
        raise _err(layer, f"unsupported pooling op {op!r} (max | avg)")
    n = int(math.prod(pool))
    recip = float(AVG_RECIP_TYPE.to_float(AVG_RECIP_TYPE.quantize_float(np.array([1.0 / n])))[0])
    return dict(in_height=spatial[0], in_width=spatial[1], n_filt=c, pool_height=pool[0], pool_width=pool[1],
                stride_height=strides[0], stride_width=strides[1], out_height=outs[0], out_width=outs[1],
                op=op, recip=repr(recip))


def _pooling(layer: Layer, b: _Builder) -> dict:
    nd = 1 if layer.kind == "Pooling1D" else 2
    a = layer.attrs
    if a.get("padding", "valid") != "valid":
        raise _err(layer, "only 'valid' padding is supported for pooling")
    pool = _tuple(a["pool_size"], nd)
    strides = _tuple(a.get("strides") or pool, nd)
    spatial, c = b.input_shape(layer)[:-1], b.input_shape(layer)[-1]
    outs = tuple((n - k) // s + 1 for n, k, s in zip(spatial, pool, strides))
    if outs + (c,) != layer.shape:
        raise _err(layer, f"output shape {layer.shape} != computed {outs + (c,)}")
    if nd == 1:
        spatial, pool, strides, outs = (1,) + tuple(spatial), (1,) + pool, (1,) + strides, (1,) + outs
    return dict(macro="pooling", types={}, arrays={},
                p=_pool_params(layer, spatial, c, pool, strides, outs, a.get("op", "max")))


def _global_pooling(layer: Layer, b: _Builder) -> dict:
    spatial, c = b.input_shape(layer)[:-1], b.input_shape(layer)[-1]
    if layer.size != c:
        raise _err(layer, f"output shape {layer.shape} should have {c} elements")
    if len(spatial) == 1:
        spatial = (1,) + tuple(spatial)
    return dict(macro="pooling", types={}, arrays={},
                p=_pool_params(layer, spatial, c, spatial, (1, 1), (1, 1), layer.attrs.get("op", "max")))


def _add(layer: Layer, b: _Builder) -> dict:
    if len(layer.inputs) < 2:
        raise _err(layer, "Add needs at least two inputs")
    for k in range(len(layer.inputs)):
        if int(math.prod(b.input_shape(layer, k))) != layer.size:
            raise _err(layer, f"input {layer.inputs[k]!r} has shape {b.input_shape(layer, k)}, expected {layer.shape}")
    return dict(macro="add", types={}, arrays={}, p=dict(n_elem=layer.size))


def _concatenate(layer: Layer, b: _Builder) -> dict:
    rank = len(layer.shape)
    axis = int(layer.attrs.get("axis", -1))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise _err(layer, f"axis {layer.attrs.get('axis')} out of range for rank {rank}")
    shapes = [b.input_shape(layer, k) for k in range(len(layer.inputs))]
    if any(len(s) != rank for s in shapes) or sum(s[axis] for s in shapes) != layer.shape[axis]:
        raise _err(layer, f"inputs {shapes} do not concatenate to {layer.shape} along axis {axis}")
    n_inner = [int(math.prod(s[axis:])) for s in shapes]
    offsets = [int(sum(n_inner[:k])) for k in range(len(n_inner))]
    return dict(macro="concatenate", types={}, arrays={},
                p=dict(n_outer=int(math.prod(layer.shape[:axis])), n_inner_out=int(math.prod(layer.shape[axis:])),
                       n_inner=n_inner, offsets=offsets))


#: the dispatch table: layer kind -> function describing the layer for the templates (macro name in layers.j2,
#: config parameters ``p``, typedef names ``types``, constant arrays ``arrays``)
LAYER_VIEWS: dict[str, Callable[[Layer, _Builder], dict]] = {
    "Dense": _dense,
    "Conv1D": _conv,
    "Conv2D": _conv,
    "BatchNormalization": _batchnorm,
    "Activation": _activation,
    "Pooling1D": _pooling,
    "Pooling2D": _pooling,
    "GlobalPooling1D": _global_pooling,
    "GlobalPooling2D": _global_pooling,
    "Reshape": _reshape,
    "Add": _add,
    "Concatenate": _concatenate,
}


# ---------------------------------------------------------------------------------------------- the project
def _result_type(graph: Graph, layer: Layer) -> FixedType:
    t = layer.config.precision.get("result")
    if t is None and layer.kind == "Reshape" and layer.inputs:
        return _result_type(graph, graph[layer.inputs[0]])  # Reshape keeps its input's type
    if t is None:
        raise _err(layer, "no 'result' precision in its config")
    return FixedType.parse(t)


def _describe(graph: Graph) -> tuple[dict, list[dict]]:
    """Template context of the whole graph, and the layer list for project.json."""
    try:
        inp, out = graph.input_layer, graph.output_layer
    except ValueError as e:
        raise ProjectWriteError(f"graph {graph.name!r}: {e}") from None
    if inp is out:
        raise ProjectWriteError(f"graph {graph.name!r} has no layer besides its input")
    b = _Builder(graph)
    views: list[_View] = []
    for index, layer in enumerate(graph):
        rt = _result_type(graph, layer)
        v = _View(name=layer.name, label=_label(layer.name), cpp=layer.cpp_name, kind=layer.kind, index=index,
                  size=layer.size, result_t=b.typedef(layer, "result", rt), result_type=rt,
                  config=f"{layer.cpp_name}_config", is_output=layer is out, macro=None)
        v["out"] = "input" if layer is inp else "output" if layer is out else f"{layer.cpp_name}_out"
        if layer.kind != "Input":
            missing = [i for i in layer.inputs if i not in b.views]
            if missing or not layer.inputs:
                raise _err(layer, f"inputs {missing or layer.inputs} are not produced by an earlier layer")
            v["ins"] = [dict(buf=b.views[i].out, type=b.views[i].result_t, size=b.views[i].size) for i in layer.inputs]
            try:
                builder = LAYER_VIEWS[layer.kind]
            except KeyError:
                raise _err(layer, "the HLS writer has no template for this kind") from None
            v.update(builder(layer, b))
        b.views[layer.name] = v
        views.append(v)
    idents = {t["name"] for t in b.typedefs} | {a["ident"] for a in b.arrays}
    idents |= {v.out for v in views} | {v.config for v in views}
    top = cpp_identifier(graph.name, set(idents) | _RESERVED)
    if top != graph.name:
        log.info("project name %r is written as the C++ identifier %r", graph.name, top)
    pipeline = "DATAFLOW" if any(v.p and v.p.get("strategy") == "resource" for v in views) else "PIPELINE"
    ctx = dict(top=top, guard=f"FPGA_DSE_TOP_{top}_H_", layers=[v for v in views if v.macro], layers_all=views,
               input_layer=b.views[inp.name],
               n_input=inp.size, n_output=out.size, typedefs=b.typedefs, arrays=b.arrays,
               weight_files=[a["file"] for a in b.arrays], input_t=b.views[inp.name].result_t,
               result_t=b.views[out.name].result_t, pipeline_pragma=pipeline, part=graph.part,
               clock_period=graph.clock_period, clock_uncertainty="12.5%", backend=graph.backend)
    layer_list = [dict(name=l.name, cpp_name=l.cpp_name, kind=l.kind, inputs=list(l.inputs), shape=list(l.shape),
                       result_type=str(v.result_type), trace_index=v.index) for l, v in zip(graph, views)]
    return ctx, layer_list


def _hls4ml_config(graph: Graph, top: str, pipeline: str) -> dict:
    names = {}
    for l in graph:
        c = l.config.to_hls4ml()
        if l.kind == "Activation" and l.attrs.get("activation") in ("sigmoid", "tanh", "softmax"):
            c["TableSize"] = l.config.table_size
        names[l.name] = c
    return {"ProjectName": top, "Part": graph.part, "ClockPeriod": graph.clock_period, "IOType": graph.io_type,
            "Backend": graph.backend,
            "HLSConfig": {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency",
                                    "PipelineStyle": pipeline.lower()},
                          "LayerName": names}}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


class _Files:
    """Writes files under one root only, leaving unchanged files untouched (their mtime is kept)."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.written: list[Path] = []

    def path(self, rel: str) -> Path:
        p = (self.root / rel).resolve()
        if p != self.root and self.root not in p.parents:
            raise ProjectWriteError(f"refusing to write {rel!r}: outside the project folder {self.root}")
        return p

    def write(self, rel: str, text: str) -> Path:
        p = self.path(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        if not (p.is_file() and p.read_text() == text):
            p.write_text(text)
        self.written.append(p)
        return p


def _samples(a, shape: tuple[int, ...], what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    size = int(math.prod(shape))
    if a.ndim == 0 or a.size % size or (a.ndim > 1 and int(math.prod(a.shape[1:])) != size):
        raise ProjectWriteError(f"{what} of shape {a.shape} does not match (n, {', '.join(map(str, shape))})")
    if not np.all(np.isfinite(a)):
        raise ProjectWriteError(f"{what} contains nan or inf")
    return a.reshape(-1, size)


def _dat(rows: np.ndarray) -> str:
    return "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in rows)


def write_project(graph: Graph, output_dir, *, tb_inputs=None, tb_outputs=None) -> Path:
    """Write ``graph`` as an HLS project into ``output_dir`` (created if needed) and return its path.

    ``tb_inputs`` (n, *input shape) and ``tb_outputs`` (n, *output shape, the bit-exact expected values,
    e.g. from :func:`codegen.emulator.predict`) become ``tb_data/tb_input_features.dat`` and
    ``tb_data/tb_output_predictions.dat`` for the testbench. Files already holding the right content are
    not rewritten, so a later :func:`codegen.csim.build` reuses its cached library.

    Raises :class:`ProjectWriteError` when ``output_dir`` is an existing file or the graph cannot be written.
    """
    root = Path(output_dir)
    if root.exists() and not root.is_dir():
        raise ProjectWriteError(f"output_dir {str(root)!r} exists and is not a directory")
    if tb_outputs is not None and tb_inputs is None:
        raise ProjectWriteError("tb_outputs needs tb_inputs")
    ctx, layer_list = _describe(graph)
    top = ctx["top"]
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ProjectWriteError(f"cannot create output_dir {str(root)!r}: {e}") from e
    files = _Files(root)
    env = _environment()

    def render(template: str, rel: str, **extra) -> None:
        files.write(rel, env.get_template(template).render(**ctx, **extra))

    render("top.cpp.j2", f"firmware/{top}.cpp")
    render("top.h.j2", f"firmware/{top}.h")
    render("defines.h.j2", "firmware/defines.h")
    render("parameters.h.j2", "firmware/parameters.h")
    for a in ctx["arrays"]:
        render("weights.h.j2", f"firmware/weights/{a['file']}", a=a)
    files.path("firmware/weights").mkdir(parents=True, exist_ok=True)  # build_prj.tcl adds it to the testbench
    keep = {a["file"] for a in ctx["arrays"]}
    for stale in files.path("firmware/weights").glob("*.h"):
        if stale.name not in keep:
            stale.unlink()
    for h in sorted(NNET_UTILS.glob("*.h")):
        files.write(f"firmware/nnet_utils/{h.name}", h.read_text())
    render("test.cpp.j2", f"{top}_test.cpp")
    render("bridge.cpp.j2", f"{top}_bridge.cpp")
    render("project.tcl.j2", "project.tcl")
    render("build_prj.tcl.j2", "build_prj.tcl")
    render("vivado_synth.tcl.j2", "vivado_synth.tcl")

    if tb_inputs is not None:
        x = _samples(tb_inputs, graph.input_layer.shape, "tb_inputs")
        files.write("tb_data/tb_input_features.dat", _dat(x))
        if tb_outputs is not None:
            y = _samples(tb_outputs, graph.output_layer.shape, "tb_outputs")
            if len(y) != len(x):
                raise ProjectWriteError(f"tb_inputs has {len(x)} samples but tb_outputs has {len(y)}")
            files.write("tb_data/tb_output_predictions.dat", _dat(y))

    inp, out = graph.input_layer, graph.output_layer
    meta = {
        "format": "fpga-dse-hls-project", "version": 1, "name": graph.name, "top": top,
        "part": graph.part, "clock_period": graph.clock_period, "io_type": graph.io_type,
        "backend": graph.backend, "pipeline_style": ctx["pipeline_pragma"].lower(),
        "input": {"layer": inp.name, "shape": list(inp.shape), "type": str(_result_type(graph, inp))},
        "output": {"layer": out.name, "shape": list(out.shape), "type": str(_result_type(graph, out))},
        "layers": layer_list,
        "sources": {"firmware": f"firmware/{top}.cpp", "testbench": f"{top}_test.cpp",
                    "bridge": f"{top}_bridge.cpp"},
        "config": _hls4ml_config(graph, top, ctx["pipeline_pragma"]),
    }
    files.write("project.json", json.dumps(meta, indent=2) + "\n")
    log.info("wrote HLS project %s (%d files) to %s", top, len(files.written), files.root)
    return files.root

