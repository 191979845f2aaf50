"""Dense / Conv1D / Conv2D as Verilog: fully parallel (reuse 1) or time-multiplexed (reuse R > 1).

Both views start from the same list of *items*: every nonzero multiplication ``(output, input, weight)`` of
one inference, in the order docs/numerics.md prescribes (output position, then input index, then output
channel), padded conv taps and zero weights removed (they make no hardware and change nothing).

- **parallel** (R = 1): one constant multiplication per item (CSD shift-add in LUTs, a DSP ``*``, or a shift,
  by :class:`~codegen.rtl.netlist.DspPolicy`); per output an adder tree (or a saturating chain), then the result
  cast. Latency 1, or 2 when DSP products get their own register stage. II 1.
- **reuse** (R > 1): ``M = ceil(items / R)`` multipliers; in cycle ``c`` multiplier ``m`` does item
  ``c*M + m`` (input chosen by a case statement on the counter, weight from a case-statement ROM). Products are
  registered, cast to the accumulator type and added to per-output accumulators in item order. Latency R + 2,
  II R.

Accumulation modes per output (all bit-exact with the emulator):
``tree`` when no partial sum can leave the accumulator type (order cannot matter), ``wrap`` for an AP_WRAP
accumulator (modular sums), else ``chain`` (one saturating add per product, in input order).

    >>> from codegen.rtl.matrix import matrix_items                      # doctest: +SKIP
    >>> items, acc0 = matrix_items(graph["fc1"], ctx)                   # doctest: +SKIP
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from ..emulator.kernels import conv_patches, weight_raw
from ..fixed import FixedType, quantize_raw
from ..ir import Layer
from .arith import CastSpec, container, csd, swidth
from .layers import BuildContext, Inputs, LayerModule, err, in_ports, new_module, registered_outputs
from .netlist import ModuleBuilder, Node

__all__ = ["matrix_items", "accumulation_modes", "build_matrix", "any_dsp"]

Item = tuple[int, int, int]  # (output index, input index, raw weight)


def _as_int_array(a) -> np.ndarray:
    a = np.asarray(a)
    return a if a.dtype != object else np.array([int(v) for v in a.ravel()], dtype=object).reshape(a.shape)


def matrix_items(layer: Layer, ctx: BuildContext) -> tuple[list[Item], list[int]]:
    """The nonzero multiplications of one inference, in accumulation order, and each output's initial value."""
    at = layer.precision["accum"]
    kernel = _as_int_array(weight_raw(layer, "kernel", "weight"))
    n_k, n_out = int(math.prod(kernel.shape[:-1])), int(kernel.shape[-1])
    w = kernel.reshape(n_k, n_out)
    in_shape = ctx.in_shape(layer)
    if layer.kind == "Dense":
        in_size = int(math.prod(in_shape))
        if in_shape[-1] != n_k:
            raise err(layer, f"input shape {in_shape} does not fit a {n_k}x{n_out} kernel")
        n_pos = in_size // n_k
        patches = np.arange(in_size).reshape(n_pos, n_k)
    else:
        a = layer.attrs
        nd = len(kernel.shape) - 2
        ks = tuple(int(v) for v in kernel.shape[:nd])
        st = a.get("strides", (1,) * nd)
        st = (int(st),) * nd if isinstance(st, (int, np.integer)) else tuple(int(s) for s in st)
        if a.get("padding", "valid") not in ("valid", "same"):
            raise err(layer, f"unsupported padding {a.get('padding')!r}")
        idx = np.arange(int(math.prod(in_shape))).reshape((1,) + tuple(in_shape)) + 1
        patches = conv_patches(idx, ks, st, a.get("padding", "valid")) - 1  # -1: padding
        patches = patches.reshape(-1, n_k)
        n_pos = patches.shape[0]
    if n_pos * n_out != layer.size:
        raise err(layer, f"{n_pos} positions x {n_out} outputs do not match the output shape {layer.shape}")
    rows, cols = np.nonzero(w != 0)  # C order: input (tap) index, then output channel
    items: list[Item] = []
    for pos in range(n_pos):
        src = patches[pos]
        for r, j in zip(rows.tolist(), cols.tolist()):
            if src[r] >= 0:
                items.append((pos * n_out + j, int(src[r]), int(w[r, j])))
    if "bias" in layer.weights:
        bt = layer.precision["bias"]
        b0 = [int(v) for v in np.asarray(quantize_raw(weight_raw(layer, "bias", "bias"), bt.frac, at)).ravel()]
    else:
        b0 = [0] * n_out
    return items, [b0[o % n_out] for o in range(n_pos * n_out)]


def _ok_range(t: FixedType) -> tuple[int, int]:
    lo = -t.raw_max if (t.saturation == "AP_SAT_SYM" and t.signed) else t.raw_min
    return lo, t.raw_max


def _product_cast(xt: FixedType, wt: FixedType, at: FixedType, w: int) -> CastSpec:
    lo, hi = sorted((xt.raw_min * w, xt.raw_max * w))
    return CastSpec(swidth(lo, hi), lo, hi, xt.frac + wt.frac - at.frac, at)


def accumulation_modes(layer: Layer, xt: FixedType, items: list[Item], acc0: list[int]) -> list[str]:
    """``tree`` | ``wrap`` | ``chain`` per output (see the module docstring)."""
    wt, at = layer.precision["weight"], layer.precision["accum"]
    ranges: dict[int, tuple[int, int]] = {}
    lo = [int(v) for v in acc0]
    hi = list(lo)
    for o, _, w in items:
        if w not in ranges:
            ranges[w] = _product_cast(xt, wt, at, w).out_range
        plo, phi = ranges[w]
        lo[o] += min(plo, 0)
        hi[o] += max(phi, 0)
    ok_lo, ok_hi = _ok_range(at)
    fallback = "wrap" if at.saturation == "AP_WRAP" else "chain"
    return ["tree" if ok_lo <= l and h <= ok_hi else fallback for l, h in zip(lo, hi)]


def any_dsp(layer: Layer, xt: FixedType, ctx: BuildContext, items: list[Item] | None = None) -> bool:
    """Whether a parallel layer maps some constant multiplication to a DSP (it then has a product stage)."""
    wt = layer.precision["weight"]
    if not ctx.policy.use_dsp(xt.width, wt.width):
        return False
    ws = {w for _, _, w in items} if items is not None else \
        {int(v) for v in np.asarray(weight_raw(layer, "kernel", "weight")).ravel()}
    return any(len(csd(w)) > 1 for w in ws)


def _accumulate(b: ModuleBuilder, mode: str, base: Node | None, terms: list[Node], at: FixedType) -> Node:
    """``base`` (None: 0) plus ``terms`` in order, as the accumulator type ``at`` prescribes."""
    if base is None:
        if not terms:
            return b.const(0, at.frac)
        base, terms = terms[0], terms[1:]  # cast<accum>(0 + t) == t: products are already accumulator values
    if not terms:
        return base
    if mode == "tree":
        return b.add([(1, base)] + [(1, t) for t in terms])
    if mode == "wrap":
        return b.wrapsum([base] + terms, at)
    acc = base
    for t in terms:
        acc = b.cast(b.add([(1, acc), (1, t)]), at.frac, at)
    return acc


def _parallel(layer: Layer, ctx: BuildContext, items: list[Item], acc0: list[int]) -> LayerModule:
    b = new_module(ctx, layer)
    xt, wt, at, rt = ctx.in_type(layer), layer.precision["weight"], layer.precision["accum"], layer.result_type
    fp = xt.frac + wt.frac
    staged = any_dsp(layer, xt, ctx, items)
    modes = accumulation_modes(layer, xt, items, acc0)
    xs = Inputs(b, 0, xt)
    pcs: dict[tuple[int, int], Node] = {}
    per_out: dict[int, list[Node]] = defaultdict(list)
    for o, i, w in items:
        key = (i, w)
        if key not in pcs:
            p = b.cmul(xs[i], w, (xt.width, wt.width), frac=fp)
            if staged:
                p = b.register(p)
            pcs[key] = b.cast(p, fp, at)
        per_out[o].append(pcs[key])
    ys = []
    for o in range(layer.size):
        base = b.const(acc0[o], at.frac) if acc0[o] else None
        acc = _accumulate(b, modes[o], base, per_out.get(o, []), at)
        ys.append(b.cast(acc, at.frac, rt))
    outs = registered_outputs(b, ys, rt)
    lm = LayerModule(layer, ctx.module_name(layer), b, in_ports(ctx, layer), outs, 2 if staged else 1)
    lm.control = dict(modes=_count(modes))
    return lm


def _reuse(layer: Layer, ctx: BuildContext, items: list[Item], acc0: list[int], R: int) -> LayerModule:
    b = new_module(ctx, layer)
    xt, wt, at, rt = ctx.in_type(layer), layer.precision["weight"], layer.precision["accum"], layer.result_type
    fp = xt.frac + wt.frac
    modes = accumulation_modes(layer, xt, items, acc0)
    T = len(items)
    M = -(-T // R)
    cw = max(1, (R - 1).bit_length())
    xs = Inputs(b, 0, xt)
    xreg: dict[int, Node] = {}
    for _, i, _ in items:
        if i not in xreg:
            xreg[i] = b.register(xs[i], en="in0_valid", prefix="xr")
    xsel: dict[tuple, Node] = {}
    wsel: dict[tuple, Node] = {}
    pc: list[Node] = []
    for m in range(M):
        sched = [(c, items[c * M + m]) for c in range(R) if c * M + m < T]
        xkey = tuple((c, it[1]) for c, it in sched)
        wkey = tuple((c, it[2]) for c, it in sched)
        if xkey not in xsel:
            xsel[xkey] = b.select("cnt", {c: xreg[i] for c, i in xkey}, R, xt.frac)
        if wkey not in wsel:
            wsel[wkey] = b.select_const("cnt", dict(wkey), wt.frac)
        prod = b.register(b.vmul(xsel[xkey], wsel[wkey], (xt.width, wt.width)), prefix="pr")
        pc.append(b.cast(prod, fp, at))
    slots: dict[int, dict[int, list[Node]]] = defaultdict(lambda: defaultdict(list))  # out -> cycle -> products
    for k, (o, _, _) in enumerate(items):
        slots[o][k // M].append(pc[k % M])
    ys = []
    first = f"pcnt == {cw}'d0"
    for o in range(layer.size):
        per_cycle = slots.get(o, {})
        n_slots = max((len(v) for v in per_cycle.values()), default=0)
        terms = [b.select("pcnt", {c: v[s] for c, v in per_cycle.items() if len(v) > s}, R, at.frac)
                 for s in range(n_slots)]
        acc = b.reg(container(at), at.raw_min, at.raw_max, at.frac, prefix="acc")
        base = b.mux(first, b.const(acc0[o], at.frac), acc)
        nxt = _accumulate(b, modes[o], base, terms, at)
        if modes[o] == "tree":  # proven to stay inside the accumulator type (accumulation_modes)
            nxt = b.resize(nxt, container(at), assume=(max(nxt.lo, at.raw_min), min(nxt.hi, at.raw_max)))
        b.drive(acc, nxt, en="pvalid")
        ys.append(b.cast(nxt, at.frac, rt))
    outs = [dict(lo=k * rt.width, w=rt.width, src=b.register(y, en="last").name) for k, y in enumerate(ys)]
    return LayerModule(layer, ctx.module_name(layer), b, in_ports(ctx, layer), outs, R + 2, ii=R,
                       template="reuse.v.j2", control=dict(reuse=R, cw=cw, n_mult=M, modes=_count(modes)))


def _count(modes: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in modes:
        out[m] = out.get(m, 0) + 1
    return out


def build_matrix(layer: Layer, ctx: BuildContext) -> LayerModule:
    """The module of a Dense/Conv layer: parallel at reuse 1, time-multiplexed above."""
    items, acc0 = matrix_items(layer, ctx)
    R = int(layer.config.reuse_factor)
    if R < 1:
        raise err(layer, f"reuse factor must be >= 1, got {R}")
    return _parallel(layer, ctx, items, acc0) if R == 1 else _reuse(layer, ctx, items, acc0, R)
