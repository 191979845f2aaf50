"""What the Verilog of a design is made of, after the dead and constant logic that synthesis removes.

The surrogates of the open-source flow (yosys) learn from these counts: they are the structure of the very
netlist yosys maps, per layer, so a prediction starts from the adders, multiplexers, multipliers and
registers the weights actually produce (CSD terms of each weight, products shared between outputs, weight
ROM bits that vary, inputs the next layer never reads) instead of from layer sizes alone.

    >>> from codegen.rtl import plan_design                                   # doctest: +SKIP
    >>> inv = layer_inventory(plan_design(hm))                                # doctest: +SKIP
    >>> inv["fc1"]["rtl_reg_bits"], inv["fc1"]["rtl_lutmul_bits"]             # doctest: +SKIP
    (412, 1344)

Liveness: starting from the network's outputs, a node counts only if some live node reads it; a layer's
output element is live only if the next module reads its port element (layers without a module, like
Reshape, pass element indices through). Constants propagate through pure arithmetic, and a register fed by
a constant counts as a constant (yosys replaces both). Every count is an integer; all keys are in
:data:`INVENTORY_KEYS`, which also holds each module's latency and initiation interval in cycles.
"""
from __future__ import annotations

from ..ir import Graph
from .layers import NO_MODULE_KINDS, LayerModule
from .netlist import Node

__all__ = ["INVENTORY_KEYS", "layer_inventory"]

#: per-layer counts (bits are summed widths; an n-operand addition of width w counts (n - 1) * w)
INVENTORY_KEYS: tuple[str, ...] = (
    "rtl_add_bits",        # additions of variables (adder trees, accumulators, modular sums)
    "rtl_shift_add_bits",  # CSD shift-add constant multiplications (LUT "multipliers" of reuse-1 layers)
    "rtl_lutmul_bits",     # LUT multipliers of two variables: operand width products (a weight ROM operand
                           # counts only its bits that are 1 in some case: the others are constant 0)
    "rtl_dsp_mults",       # multiplications mapped to DSP blocks
    "rtl_cast_bits",       # rounding / saturating casts: output bits
    "rtl_select_bits",     # cycle-indexed multiplexers over variables: width x cases
    "rtl_rom_bits",        # case-statement weight ROMs: output bits that vary between cases
    "rtl_table_bits",      # lookup tables (sigmoid, softmax...): width x depth per read
    "rtl_mux_bits",        # 2:1 multiplexers, comparisons, max and clamp: width
    "rtl_reg_bits",        # flip-flops: data registers, delay lines and control (not those below)
    "rtl_dsp_reg_bits",    # registers right after a DSP multiplication (synthesis may move them into the DSP
                           # block: yosys does for most xc7 designs of the seed dataset)
    "rtl_latency",         # cycles from the layer's input to its output (0 without a module)
    "rtl_ii",              # cycles between inputs the layer accepts (0 without a module)
)

#: ops that compute a value from their operands only (a constant when every operand is)
_PURE = frozenset({"add", "shift_add", "castf", "resize", "shr", "mul", "lutmul", "max", "clamp", "wrapsum"})


def _refs(n: Node, names: dict[str, Node]) -> list[str]:
    """Names of the nodes ``n`` reads."""
    a = n.args
    out = [a[k] for k in ("src", "a", "b", "addr") if isinstance(a.get(k), str)]
    if n.op == "add":
        out += [nm for _, nm in a["terms"]]
    elif n.op == "wrapsum":
        out += list(a["terms"])
    elif n.op == "select":
        out += [src for _, src in a["cases"]]
    return [r for r in out if r in names]


def _is_rom(n: Node, names: dict[str, Node]) -> bool:
    return n.op == "select" and all(src not in names for _, src in n.args["cases"])


def _rom_values(n: Node) -> list[int]:
    """The raw two's complement bits of a ROM's cases (its literals are ``<w>'sh<hex>``)."""
    return [int(v.split("'sh")[1], 16) for _, v in n.args["cases"]]


def _rom_live_bits(n: Node) -> int:
    vals = _rom_values(n) + [0]  # 0 in the default case
    return sum(1 for bit in range(n.width) if len({(v >> bit) & 1 for v in vals}) > 1)


def _lutmul_bits(n: Node, names: dict[str, Node]) -> int:
    """Operand width product, counting only the bits of a ROM operand that are not 0 in every case."""
    wa, wb = int(n.args["wa"]), int(n.args["wb"])
    b = names.get(n.args["b"])
    if b is not None and _is_rom(b, names):
        vals = _rom_values(b)
        wb = sum(1 for bit in range(b.width) if any((v >> bit) & 1 for v in vals))
    return wa * wb


def _control_bits(m: LayerModule) -> int:
    if m.template == "reuse.v.j2":
        return 2 * int(m.control["cw"]) + 3  # cnt, pcnt, run, pvalid, ov
    return int(m.latency)  # the valid pipeline


def _module_inventory(m: LayerModule, used: set[int]) -> tuple[dict[str, int], dict[int, set[int]]]:
    """Counts of one module given the output elements that are read, and the input elements it reads."""
    b = m.builder
    names: dict[str, Node] = {n.name: n for n in b.nodes}
    names.update({r.name: r for r in b.regs})
    const: set[str] = set()
    for n in b.nodes:  # nodes are in dependency order
        refs = _refs(n, names)
        if n.op == "const" or (n.op in _PURE and refs and all(r in const for r in refs)):
            const.add(n.name)
    for r in b.regs:
        if r.args.get("src") in const:
            const.add(r.name)
    seeds = [o["src"] for o in m.outputs if o["lo"] // o["w"] in used]
    live: set[str] = set()
    stack = [s for s in seeds if s in names and s not in const]
    while stack:
        nm = stack.pop()
        if nm in live or nm in const:
            continue
        live.add(nm)
        stack.extend(_refs(names[nm], names))
    inv = dict.fromkeys(INVENTORY_KEYS, 0)
    reads: dict[int, set[int]] = {}
    roms = {r["name"]: r for r in b.roms}
    for nm in live:
        n = names[nm]
        a, w = n.args, n.width
        if n.op == "port":
            k = int(a["port"][2:a["port"].index("_")])
            reads.setdefault(k, set()).add(a["lo_bit"] // a["w"])
        elif n.op == "add":
            inv["rtl_add_bits"] += (len(a["terms"]) - 1) * w
        elif n.op == "wrapsum":
            inv["rtl_add_bits"] += (len(a["terms"]) - 1) * w
        elif n.op == "shift_add":
            inv["rtl_shift_add_bits"] += (len(a["terms"]) - 1) * w
        elif n.op == "lutmul":
            inv["rtl_lutmul_bits"] += _lutmul_bits(n, names)
        elif n.op == "mul":
            inv["rtl_dsp_mults"] += 1
        elif n.op == "castf":
            inv["rtl_cast_bits"] += w
        elif n.op == "select":
            if _is_rom(n, names):
                inv["rtl_rom_bits"] += _rom_live_bits(n)
            else:
                inv["rtl_select_bits"] += w * len(a["cases"])
        elif n.op == "romread":
            inv["rtl_table_bits"] += w * int(roms[a["rom"]]["depth"])
        elif n.op in ("mux", "max", "clamp"):
            inv["rtl_mux_bits"] += w
        elif n.op == "reg":
            src = names.get(a.get("src"))
            inv["rtl_dsp_reg_bits" if src is not None and src.op == "mul" else "rtl_reg_bits"] += w
    if live:
        inv["rtl_reg_bits"] += _control_bits(m)
    inv["rtl_latency"], inv["rtl_ii"] = int(m.latency), int(m.ii)
    return inv, reads


def layer_inventory(plan) -> dict[str, dict[str, int]]:
    """Live-logic counts (:data:`INVENTORY_KEYS`) of every layer of a :class:`~codegen.rtl.writer.DesignPlan`;
    layers without a module (Input, Reshape) get zeros."""
    g: Graph = plan.graph
    out: dict[str, dict[str, int]] = {layer.name: dict.fromkeys(INVENTORY_KEYS, 0) for layer in g}
    used: dict[str, set[int]] = {g.output_layer.name: set(range(g.output_layer.size))}

    def producer(name: str) -> str:
        layer = g[name]
        while layer.kind in NO_MODULE_KINDS and layer.kind != "Input":
            layer = g[layer.inputs[0]]
        return layer.name

    for layer in reversed(list(g)):
        m = plan.modules.get(layer.name)
        if m is None:
            continue
        inv, reads = _module_inventory(m, used.get(layer.name, set()))
        for k, idx in reads.items():
            src = producer(layer.inputs[k])
            used.setdefault(src, set()).update(idx)
            delay = plan.delays[layer.name][k]
            if delay:  # the top level's delay line for this input (only the elements read survive)
                inv["rtl_reg_bits"] += delay * len(idx) * g[layer.inputs[k]].result_type.width
        out[layer.name] = inv
    return out
