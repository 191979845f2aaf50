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
Reshape, pass element indices through). Constants propagate through pure arithmetic and from layer to layer
(an output element a layer holds constant, e.g. a neuron whose weights are all pruned, is a constant input of
the next: the design is flattened), and a register fed by a constant counts as a constant (yosys replaces
both); the valid chain's flip-flops count in every module. Like yosys ``opt_merge``, nodes computing the same
operation of the same operands count once (e.g. the products of one multiplexed input and one weight ROM that
several outputs of a time-multiplexed layer read), and a weight ROM holding one value for every counter value is
a constant. Every count is an integer; all keys are in
:data:`INVENTORY_KEYS`, which also holds each module's latency and initiation interval in cycles.

Additions follow what yosys ``synth_xilinx`` does with them (checked on the seed dataset's logs and cells):

- ``xilinx_dsp`` runs before ``alumacc`` and, on 7-series parts (:func:`packs_post_adders`), packs
  ``P = C + A*B``: reading ``t0 + t1 + ...`` left to right, an add whose new operand is a DSP product
  (through registers and resizes only, read by nothing else, and not a product by an even constant, whose
  trimmed low bit breaks the pattern) costs no LUTs (``rtl_dsp_add_bits``), and a multiplexer that only
  feeds such a post-adder stays a LUT per bit (``rtl_mux_dsp_bits``, e.g. a time-multiplexed accumulator's
  first-cycle reset);
- each run of adds left between them becomes one ``$macc``: one carry chain (``rtl_add_bits``) plus
  carry-save rows for its further operands (``rtl_csa_bits``), its constant operands folded into one; a variable
  plus a constant (a bias added to a single product) is a carry chain fed by the variable's bits and inverters,
  no LUT (``rtl_const_add_bits``);
- widths count from an operand's lowest bit that can be 1 (a bias aligned to a wider fraction has low zero
  bits; below the second-lowest such bound an adder passes bits through) up to the highest bit some reader
  needs (a wrapping cast reads ``shift + width`` bits of its input; yosys trims the adder bits above).

Multiplexers (and ReLUs) count only the bits their readers take, ``[shift, shift + width)`` under a
truncating, wrapping cast. Time-multiplexed layers' case statements count as 4:1 multiplexer trees over their
distinct operands plus one shared counter decoder per (counter, value) they select on.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph
from .layers import NO_MODULE_KINDS, LayerModule
from .netlist import Node

__all__ = ["INVENTORY_KEYS", "layer_inventory", "mux_luts", "pmux_luts", "rom_luts", "packs_post_adders"]

#: per-layer counts (bits are summed widths; see the module docstring for how additions count)
INVENTORY_KEYS: tuple[str, ...] = (
    "rtl_add_bits",        # additions left to LUTs: one carry chain per run of adds, its width
    "rtl_csa_bits",        # their further operands: carry-save rows (yosys maccmap), width each
    "rtl_const_add_bits",  # additions of a variable and a constant (a bias, a negation): a carry chain whose
                           # propagate inputs are the variable's bits or their inverters, no LUTs
    "rtl_dsp_add_bits",    # additions DSP post-adders take (P = C + A*B): width each, no LUTs
    "rtl_shift_add_bits",  # CSD shift-add constant multiplications (LUT "multipliers" of reuse-1 layers): each
                           # shifted copy beyond the lowest, from its shift up
    "rtl_lutmul_bits",     # LUT multipliers of two variables: operand width products (a weight ROM operand
                           # counts only its bits that are 1 in some case: the others are constant 0)
    "rtl_dsp_mults",       # multiplications mapped to DSP blocks
    "rtl_cast_bits",       # rounding / saturating casts: output bits
    "rtl_select_bits",     # cycle-indexed multiplexers over variables: width x cases
    "rtl_select_luts",     # the same as trees of 4:1 multiplexers in LUT6s over the distinct operands (and 0
                           # when some counter values select none): width x tree size; none for a 2:1 one
                           # read only by LUT multipliers (it merges into their partial products)
    "rtl_pmux_luts",       # the same multiplexers as abc builds them: yosys makes a case statement a $pmux of one
                           # compare per case, and abc rebuilds that (see pmux_luts); for a K-operand multiplexer
                           # over n counter values, up to two or three times the 4:1 tree's LUTs
    "rtl_decode_luts",     # counter decoders those multiplexers share: one compare (a LUT6 per 6 counter
                           # bits) per distinct (counter, value) a live multiplexer selects on
    "rtl_rom_bits",        # case-statement weight ROMs: output bits that vary between cases
    "rtl_rom_luts",        # the same as LUT6s: a bit of a ROM with a c-bit address is a function of c bits
    "rtl_table_bits",      # lookup tables (sigmoid, softmax...): width x depth per read
    "rtl_mux_bits",        # 2:1 multiplexers, comparisons, max and clamp: width (not those below)
    "rtl_cmp_bits",        # max of two variables (max pooling): the comparison's carry chain over the operands
    "rtl_relu_cmp_bits",   # max of a variable and a constant (ReLU, ``x > 0 ? x : 0``): the comparison reads
                           # every bit of the variable, however few bits of the result are read
    "rtl_mux_dsp_bits",    # 2:1 multiplexers read only by a DSP post-adder (an accumulator's first-cycle reset)
    "rtl_ctrl_luts",       # control logic as LUTs: a time-multiplexed layer's cycle counter, run and last flags
                           # (2 x counter width + 1); the top level's input throttle (its width), on the first
                           # layer with the design's II
    "rtl_reg_bits",        # flip-flops: data registers, delay lines and control (not those below)
    "rtl_dsp_reg_bits",    # registers right after a DSP multiplication (synthesis may move them into the DSP
                           # block: yosys does for most xc7 designs of the seed dataset)
    "rtl_latency",         # cycles from the layer's input to its output (0 without a module)
    "rtl_ii",              # cycles between inputs the layer accepts (0 without a module)
)

#: ops a DSP product may pass through on its way to a post-adder (yosys xilinx_dsp packs P = C + A*B)
_TO_POSTADD = frozenset({"reg", "resize"})

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


def _lit_raw(v: str) -> int:
    """The raw two's complement bits of a Verilog literal ``<w>'sh<hex>`` (codegen.rtl.arith.lit)."""
    return int(v.split("'sh")[1], 16)


def _rom_values(n: Node) -> list[int]:
    """The raw bits of a ROM's cases."""
    return [_lit_raw(v) for _, v in n.args["cases"]]


def _add_terms(n: Node) -> list[str]:
    """The operand names of an ``add`` (signed terms) or ``wrapsum`` node, in order."""
    return [t for _, t in n.args["terms"]] if n.op == "add" else list(n.args["terms"])


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


def mux_luts(k: int) -> int:
    """LUT6s of a k:1 multiplexer built as a tree of 4:1 multiplexers (no MUXF7/8: yosys runs -nowidelut).

        >>> [mux_luts(k) for k in (1, 2, 4, 5, 16, 17, 64)]
        [0, 1, 1, 3, 5, 8, 21]
    """
    luts = 0
    while k > 1:
        k = -(-k // 4)
        luts += k
    return luts


def pmux_luts(k: int, n: int) -> float:
    """LUT6 per bit of a k-operand case-statement multiplexer over an n-value counter, as yosys and abc build it:
    about 0.8 per operand beyond the first, up to 1.3 times an n:1 multiplexer tree on the counter bits. Fitted to
    single 2- and 8-bit multiplexers synthesized alone (yosys 0.23, xc7, -nowidelut; bench/pmux_costs.py),
    k = 2..120 operands in sorted runs or in random order over n = 4..128 values: e.g. 5 to 9 LUT6 per bit for 8
    operands in random order over 128 values, where the 4:1 tree of the 8 operands takes 3, and 47 for 60 operands
    in sorted runs over 128 values (the tree: 20). For 3 or 4 operands abc often builds one 4:1 multiplexer per
    bit; fitting that too left the surrogate's held-out LUT error as it was (5.48 -> 5.50%, mean of 5 splits).

        >>> [round(pmux_luts(k, n), 1) for k, n in ((2, 128), (8, 128), (60, 128), (8, 8))]
        [0.8, 5.6, 47.2, 3.9]
    """
    return min(0.8 * (k - 1), 1.3 * mux_luts(n))


def rom_luts(address_bits: int) -> int:
    """LUT6s of one output bit of a ROM read with a ``address_bits``-bit address: none for one bit (the bit is
    the address, its inverse or a constant), one up to six, then 64-entry LUTs under a multiplexer tree.

        >>> [rom_luts(a) for a in (1, 2, 6, 7, 8)]
        [0, 1, 1, 3, 5]
    """
    if address_bits <= 1:
        return 0
    leaves = 1 << max(address_bits - 6, 0)
    return leaves + mux_luts(leaves)


def _lit_trailing_zeros(v: str, width: int) -> int:
    raw = _lit_raw(v)
    return (raw & -raw).bit_length() - 1 if raw else width


def _trailing_zeros(b, names: dict[str, Node]) -> dict[str, int]:
    """Low bits of every node that are always 0 (a bias aligned to a wider fraction, a product by an even
    weight, a shifted term): an addition needs no logic below the second-lowest such bound of its operands."""
    tz: dict[str, int] = {}

    def of(ref: str, width: int = 64) -> int:
        if ref in tz:
            return tz[ref]
        n = names.get(ref)
        if n is None:
            return _lit_trailing_zeros(ref, width) if "'sh" in ref else 0
        if n.op == "reg":  # registers may close loops: their source is known once computed, else 0
            tz[ref] = min(tz.get(n.args.get("src"), 0), n.width)
            return tz[ref]
        return 0

    for n in b.nodes:
        a, op = n.args, n.op
        if op == "const":
            v = _lit_trailing_zeros(a["value"], n.width)
        elif op in ("add", "wrapsum"):
            v = min(of(t) for t in _add_terms(n))
        elif op == "shift_add":
            v = min(of(a["src"]) + k for _, k in a["terms"])
        elif op in ("mul", "lutmul"):
            v = of(a["a"]) + of(a["b"], n.width)
        elif op == "resize":
            v = of(a["src"])
        elif op == "select":
            v = min(of(src, n.width) for _, src in a["cases"])
        elif op in ("mux", "max"):
            v = min(of(a["a"]), of(a["b"]))
        else:
            v = 0
        tz[n.name] = min(v, n.width)
    return tz


def _needed_bits(b, names: dict[str, Node], live: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """The bits ``[lo, hi)`` of every live node that something reads (yosys trims the others): a truncating cast
    reads from its shift up, and only ``shift + width`` bits when it wraps; an addition needs its operands' bits
    up to the highest bit of the sum that is read (carries), a shift moves the bound, a multiplexer passes the
    range to its data inputs, and so does a ReLU (``max`` with a constant: only the sign besides); registers,
    comparisons and multipliers read everything. Returns (hi, lo) per node."""
    specs = {name: spec for spec, name in b.casts.items()}
    hi: dict[str, int] = {}
    lo: dict[str, int] = {}
    whole = 1 << 30

    def want(ref: str, top: int, bottom: int = 0) -> None:
        n = names.get(ref)
        if n is not None and ref in live:
            hi[ref] = max(hi.get(ref, 0), min(max(top, 0), n.width))
            lo[ref] = min(lo.get(ref, whole), max(bottom, 0))

    for r in b.regs:
        if r.name in live and r.args.get("src"):
            want(r.args["src"], whole)
    for n in reversed(b.nodes):
        if n.name not in live:
            continue
        a, op = n.args, n.op
        m, m_lo = hi.get(n.name, n.width), min(lo.get(n.name, 0), hi.get(n.name, n.width))
        if op == "castf":
            spec = specs[a["fn"]]
            shift = max(spec.shift, 0)
            want(a["src"], shift + spec.dst.width if spec.overflow == "wrap" else whole,
                 shift if spec.up is None else 0)
        elif op in ("add", "wrapsum"):
            for t in _add_terms(n):
                want(t, m)
        elif op == "resize":
            want(a["src"], m, m_lo)
        elif op == "shift_add":
            want(a["src"], m - min(k for _, k in a["terms"]))
        elif op == "mux":
            want(a["a"], m, m_lo)
            want(a["b"], m, m_lo)
        elif op == "select":
            for _, src in a["cases"]:
                want(src, m, m_lo)
        elif op == "max" and (a["a"] in names and names[a["a"]].op == "const" or
                              a["b"] in names and names[a["b"]].op == "const"):
            for ref in (a["a"], a["b"]):
                want(ref, m, m_lo)
        else:
            for ref in _refs(n, names):
                want(ref, whole)
    return hi, lo


def packs_post_adders(part: str) -> bool:
    """Whether yosys packs additions into the DSP blocks of ``part``: the DSP48E1 of 7-series parts (xc7*);
    yosys 0.23's ``xilinx_dsp`` analyses no DSP48E2 (UltraScale/UltraScale+), measured on an xcu250 design.

        >>> packs_post_adders("xc7z020clg400-1"), packs_post_adders("xcu250-figd2104-2L-e")
        (True, False)
    """
    return part.strip().lower().startswith("xc7")


def _dsp_fed(nm: str, names: dict[str, Node], uses: dict[str, int]) -> bool:
    """Whether the addition operand ``nm`` is a DSP product that only this addition reads (a post-adder's C)."""
    n = names.get(nm)
    while n is not None and n.op in _TO_POSTADD and uses.get(n.name, 0) == 1:
        if n.op == "resize" and n.args["sw"] > n.width:  # truncated: not the product's full value
            return False
        n = names.get(n.args.get("src"))
    return n is not None and n.op == "mul" and uses.get(n.name, 0) == 1 and _odd_factor(n)


def _odd_factor(n: Node) -> bool:
    """False for a product by an even constant: its low bit is a constant 0, which yosys trims, and a trimmed
    product no longer matches xilinx_dsp's post-adder pattern (measured; products by weight ROMs whose cases
    are all even still pack)."""
    b = n.args["b"]
    return "'sh" not in b or _lit_raw(b) & 1 == 1


def _add_counts(inv: dict[str, int], terms: list[str], w: int, names: dict[str, Node], uses: dict[str, int],
                tz: dict[str, int], post_adders: bool, const: set[str]) -> None:
    """An n-operand addition as its Verilog reads, ``((t0 + t1) + t2) + ...``: an add whose new operand is a DSP
    product (or, first, whose t0 is) goes to that DSP's post-adder; each run of adds left between them becomes
    one LUT adder (yosys alumacc: a carry chain, plus carry-save rows for the run's further operands), and a run
    of one variable and one constant (``const``) a carry chain alone. Operands count from their lowest bit that
    can be 1 (bits below it pass through)."""
    fed = [post_adders and _dsp_fed(t, names, uses) for t in terms]
    runs: list[list[int]] = []  # trailing-zero bounds of the operands of each LUT run
    run: list[int] = []
    for i in range(1, len(terms)):
        if fed[i] or (i == 1 and fed[0]):
            inv["rtl_dsp_add_bits"] += w
            if run:
                runs.append(run)
                run = []
            c = names[terms[0] if fed[1] else terms[1]] if i == 1 else None  # the post-adder's C operand
            if c is not None and c.op == "mux" and uses.get(c.name, 0) == 1:
                inv["rtl_mux_dsp_bits"] += c.width  # no LUT adder to merge this multiplexer into
            continue
        if not run:  # the partial sum so far: (trailing zeros, constant)
            run = [(tz.get(terms[0], 0), terms[0] in const) if i == 1 else (0, False)]
        run.append((tz.get(terms[i], 0), terms[i] in const))
    if run:
        runs.append(run)
    for r in runs:
        consts = [b for b, c in r if c]
        if len(consts) > 1:  # yosys folds a run's constant operands into one before mapping it
            r = [(b, c) for b, c in r if not c] + [(min(consts), True)]
        if len(r) < 2:
            continue
        z = sorted(b for b, _ in r)
        key = "rtl_const_add_bits" if len(r) == 2 and any(c for _, c in r) else "rtl_add_bits"
        inv[key] += max(w - z[1], 0)
        inv["rtl_csa_bits"] += sum(max(w - b, 0) for b in z[2:])


def _control_bits(m: LayerModule) -> int:
    if m.template == "reuse.v.j2":
        return 2 * int(m.control["cw"]) + 3  # cnt, pcnt, run, pvalid, ov
    return int(m.latency)  # the valid pipeline


def _control_luts(m: LayerModule) -> int:
    if m.template == "reuse.v.j2":  # cnt's increment and wrap, run and last: yosys builds 3 LUTs for a 1-bit cnt
        return 2 * int(m.control["cw"]) + 1
    return 0  # the valid pipeline is registers only


@dataclass
class _Netlist:
    """A module's nodes and registers after yosys ``opt_merge``: cells computing the same operation of the same
    operands are one cell (e.g. the products of one input and one weight ROM that several outputs read)."""

    nodes: list[Node]
    regs: list[Node]
    casts: dict
    roms: list[dict]
    outputs: list[dict]


def _merged(m: LayerModule) -> _Netlist:
    """:class:`_Netlist` of ``m``: a node whose op, range and operands (after merging) equal an earlier node's
    is replaced by it in every reader; repeated until nothing merges (registers can close loops)."""
    b = m.builder
    rep: dict[str, str] = {}

    def sub(v):
        if isinstance(v, str):
            return rep.get(v, v)
        if isinstance(v, (list, tuple)):
            return type(v)(sub(x) for x in v)
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        return v

    def key(n: Node):  # an instance name does not make a cell different
        return n.op, n.width, n.lo, n.hi, n.frac, repr(sub({k: v for k, v in n.args.items() if k != "inst"}))

    changed = True
    while changed:
        changed = False
        seen: dict[tuple, str] = {}
        for n in [*b.nodes, *b.regs]:
            if n.name in rep:
                continue
            k = key(n)
            if k in seen:
                rep[n.name] = seen[k]
                changed = True
            else:
                seen[k] = n.name
    if not rep:
        return _Netlist(list(b.nodes), list(b.regs), b.casts, b.roms, list(m.outputs))

    def rebuilt(ns: list[Node]) -> list[Node]:
        return [Node(n.name, n.width, n.lo, n.hi, n.frac, n.op, sub(n.args)) for n in ns if n.name not in rep]

    return _Netlist(rebuilt(b.nodes), rebuilt(b.regs), b.casts, b.roms,
                    [dict(o, src=rep.get(o["src"], o["src"])) for o in m.outputs])


def _node_names(b: _Netlist) -> dict[str, Node]:
    names: dict[str, Node] = {n.name: n for n in b.nodes}
    names.update({r.name: r for r in b.regs})
    return names


def _port_element(n: Node) -> tuple[int, int]:
    """(input index, element index) a ``port`` node reads (ports are named ``in<k>_data``)."""
    a = n.args
    return int(a["port"][2:a["port"].index("_")]), a["lo_bit"] // a["w"]


def _constants(b: _Netlist, const_in: dict[int, set[int]], cw: int) -> set[str]:
    """Names of the nodes of a module that hold one value whatever the inputs: literals, input elements that the
    producing layer holds constant (``const_in``: input index -> element indices; yosys flattens the design, so
    constants cross module boundaries), weight ROMs holding one value for each of the ``2**cw`` values of their
    ``cw``-bit counter, pure arithmetic of constants, and registers loading a constant. A fixed point over nodes
    and registers (a register's readers may come before it in the node list)."""
    names = _node_names(b)
    const: set[str] = set()
    for n in b.nodes:
        if n.op == "port":
            k, idx = _port_element(n)
            if idx in const_in.get(k, ()):
                const.add(n.name)
        elif n.op == "const":
            const.add(n.name)
        elif _is_rom(n, names) and len({v for _, v in n.args["cases"]}) == 1 and len(
                {c for c, _ in n.args["cases"]}) == 1 << cw:
            const.add(n.name)
    changed = True
    while changed:
        changed = False
        for n in [*b.nodes, *b.regs]:
            if n.name in const:
                continue
            refs = _refs(n, names)
            if (n.op in _PURE and refs and all(r in const for r in refs)) or (
                    n.op == "reg" and n.args.get("src") in const):
                const.add(n.name)
                changed = True
    return const


def _counter_functions(b: _Netlist, names: dict[str, Node], const: set[str]) -> set[str]:
    """Names of the nodes of a time-multiplexed module whose value depends on its cycle counter only: weight
    ROMs, multiplexers over constants and such nodes (the input elements a constant producer holds, read one per
    cycle), and LUT arithmetic of them (a constant input element times a weight ROM). abc builds each bit of such
    a value as a function of the counter's few bits: a ROM of the bits its readers take, whatever the arithmetic
    before (DSP products stay DSPs: yosys maps them before abc sees the logic)."""
    cf: set[str] = set()
    changed = True
    while changed:
        changed = False
        for n in b.nodes:
            if n.name in const or n.name in cf:
                continue
            if n.op == "select":
                ok = all(src in const or src in cf for _, src in n.args["cases"] if src in names)
            elif n.op in _PURE and n.op != "mul":
                refs = _refs(n, names)
                ok = bool(refs) and all(r in const or r in cf for r in refs)
            else:
                ok = False
            if ok:
                cf.add(n.name)
                changed = True
    return cf


def _counter_width(m: LayerModule) -> int:
    return int(m.control.get("cw", 1)) if m.control else 1  # the cycle counter's width (time-multiplexed layers)


def _module_inventory(m: LayerModule, b: _Netlist, used: set[int], post_adders: bool,
                      const: set[str]) -> tuple[dict[str, int], dict[int, set[int]]]:
    """Counts of one module (its merged netlist ``b``) given the output elements that are read and its constant
    nodes (:func:`_constants`), and the input elements it reads."""
    names = _node_names(b)
    seeds = [o["src"] for o in b.outputs if o["lo"] // o["w"] in used]
    live: set[str] = set()
    stack = [s for s in seeds if s in names and s not in const]
    while stack:
        nm = stack.pop()
        if nm in live or nm in const:
            continue
        live.add(nm)
        stack.extend(_refs(names[nm], names))
    uses: dict[str, int] = {}
    reader_ops: dict[str, set[str]] = {}
    cfun = _counter_functions(b, names, const) if m.control else set()
    table = {s for s in seeds if s in cfun}  # counter functions read outside them: built as ROMs
    for nm in live:
        for r in _refs(names[nm], names):
            uses[r] = uses.get(r, 0) + 1
            reader_ops.setdefault(r, set()).add(names[nm].op)
            if nm not in cfun and r in cfun:
                table.add(r)
    inv = dict.fromkeys(INVENTORY_KEYS, 0)
    tz = _trailing_zeros(b, names)
    need, need_lo = _needed_bits(b, names, live)
    cw = _counter_width(m)
    n_cases = int(m.control.get("reuse", 1 << cw)) if m.control else 1 << cw  # the counter's values
    reads: dict[int, set[int]] = {}
    decoded: set[tuple[str, int]] = set()
    roms = {r["name"]: r for r in b.roms}
    for nm in live:
        n = names[nm]
        a, w = n.args, n.width
        if n.op in ("add", "wrapsum", "shift_add"):
            w = need.get(nm, w)
        elif n.op in ("mux", "max"):  # a multiplexer bit per bit read
            w = max(need.get(nm, w) - min(need_lo.get(nm, 0), need.get(nm, w)), 1)
        if nm in cfun:  # a function of the cycle counter: free inside such logic, a ROM where other logic reads it
            if nm not in table:
                continue
            if not _is_rom(n, names):  # (a weight ROM is counted as one below)
                inv["rtl_rom_bits"] += need.get(nm, w)
                inv["rtl_rom_luts"] += need.get(nm, w) * rom_luts(cw)
                continue
        if n.op == "port":
            k, idx = _port_element(n)
            reads.setdefault(k, set()).add(idx)
        elif n.op in ("add", "wrapsum"):
            _add_counts(inv, _add_terms(n), w, names, uses, tz, post_adders, const)
        elif n.op == "shift_add":  # sum of shifted copies: each beyond the lowest counts from its shift up
            shifts = sorted(k for _, k in a["terms"])
            inv["rtl_shift_add_bits"] += sum(max(w - k - tz.get(a["src"], 0), 0) for k in shifts[1:])
        elif n.op == "lutmul":
            inv["rtl_lutmul_bits"] += _lutmul_bits(n, names)
        elif n.op == "mul":
            inv["rtl_dsp_mults"] += 1
        elif n.op == "castf":
            inv["rtl_cast_bits"] += w
        elif n.op == "select":
            if _is_rom(n, names):
                live_bits = _rom_live_bits(n)
                inv["rtl_rom_bits"] += live_bits
                inv["rtl_rom_luts"] += live_bits * rom_luts(cw)
            else:
                inv["rtl_select_bits"] += w * len(a["cases"])
                decoded.update((a["sel"], c) for c, _ in a["cases"])
                sources = len({src for _, src in a["cases"]}) + (len(a["cases"]) < n_cases)  # + the default 0
                if sources > 2 or reader_ops.get(nm) != {"lutmul"}:  # a 2:1 mux merges into a LUT multiplier
                    inv["rtl_select_luts"] += w * mux_luts(sources)
                    inv["rtl_pmux_luts"] += round(w * pmux_luts(sources, n_cases))
        elif n.op == "romread":
            inv["rtl_table_bits"] += w * int(roms[a["rom"]]["depth"])
        elif n.op in ("mux", "max", "clamp"):
            inv["rtl_mux_bits"] += w
            if n.op == "max":
                var = [r for r in _refs(n, names) if names[r].op != "const" and r not in const]
                if len(var) == 2:
                    inv["rtl_cmp_bits"] += max(names[a["a"]].width, names[a["b"]].width)
                elif var:
                    inv["rtl_relu_cmp_bits"] += names[var[0]].width
        elif n.op == "reg":
            src = names.get(a.get("src"))
            inv["rtl_dsp_reg_bits" if src is not None and src.op == "mul" else "rtl_reg_bits"] += w
    inv["rtl_mux_bits"] -= inv["rtl_mux_dsp_bits"]
    inv["rtl_decode_luts"] = len(decoded) * -(-cw // 6)
    inv["rtl_ctrl_luts"] = _control_luts(m)
    inv["rtl_reg_bits"] += _control_bits(m)  # the valid chain runs through every module, live data or not
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

    # forward: the constant nodes of every module, and the output elements they make constant downstream
    nets: dict[str, _Netlist] = {}
    consts: dict[str, set[str]] = {}
    const_out: dict[str, set[int]] = {}
    for layer in g:
        m = plan.modules.get(layer.name)
        if m is None:
            continue
        nets[layer.name] = net = _merged(m)
        const_in = {k: const_out.get(producer(src), set()) for k, src in enumerate(layer.inputs)}
        consts[layer.name] = _constants(net, const_in, _counter_width(m))
        const_out[layer.name] = {o["lo"] // o["w"] for o in net.outputs if o["src"] in consts[layer.name]}
    # backward: liveness from the network's outputs
    for layer in reversed(list(g)):
        m = plan.modules.get(layer.name)
        if m is None:
            continue
        inv, reads = _module_inventory(m, nets[layer.name], used.get(layer.name, set()), packs_post_adders(g.part),
                                       consts[layer.name])
        for k, idx in reads.items():
            src = producer(layer.inputs[k])
            used.setdefault(src, set()).update(idx)
            delay = plan.delays[layer.name][k]
            if delay:  # the top level's delay line for this input (only the elements read survive)
                inv["rtl_reg_bits"] += delay * len(idx) * g[layer.inputs[k]].result_type.width
        out[layer.name] = inv
    if plan.ii > 1:  # the top level's input throttle (a down counter), counted on the first layer with that II
        first = next(name for name, m in plan.modules.items() if m.ii == plan.ii)
        out[first]["rtl_ctrl_luts"] += max(1, (plan.ii - 1).bit_length())
    return out
