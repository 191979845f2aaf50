"""A tiny netlist of signed, range-tracked nodes that the templates turn into Verilog.

Layer builders (``codegen.rtl.layers``, ``codegen.rtl.matrix``) describe a module's datapath with a
:class:`ModuleBuilder`; ``templates/module.v.j2`` renders every node with one macro per ``op``. Python never
writes Verilog syntax beyond literals: it only decides *what* is computed, with which widths.

    >>> from codegen.fixed import FixedType
    >>> b = ModuleBuilder(DspPolicy())
    >>> x = b.port("in_data", 0, FixedType.parse("ap_fixed<8,3>"))
    >>> p = b.cmul(x, 7, (8, 8))                 # 8-bit operands: LUTs (CSD shift-add), no DSP
    >>> (p.op, p.lo, p.hi, p.width)
    ('shift_add', -896, 889, 11)
    >>> y = b.cast(p, 5 + 4, FixedType.parse("ap_fixed<8,3,AP_RND,AP_SAT>"))
    >>> (y.op, y.lo, y.hi)                       # 7x/16 cannot overflow: no saturation logic is generated
    ('castf', -56, 56)

Ops: ``port const add shift_add mul lutmul shr castf resize max mux wrapsum clamp select`` plus registers
(``reg``) and ROMs; see ``module.v.j2`` for their Verilog.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..fixed import FixedType
from .arith import CastSpec, container, csd, lit, sbits, swidth

__all__ = ["Node", "ModuleBuilder", "DspPolicy", "LUTMUL_MARK"]

#: instance-name marker of multipliers that must stay in LUTs; the yosys script retypes their ``$mul`` cells
#: to ``$__soft_mul`` before DSP mapping. Layer names cannot contain ``__`` (see ``ir.cpp_identifier``).
LUTMUL_MARK = "dse__lutmul"


@dataclass(frozen=True)
class DspPolicy:
    """Which multiplications become DSP blocks, by operand widths (like Vivado: narrow products go to LUTs).

    A multiplication by a constant weight (reuse 1, BatchNorm, average pooling) uses a DSP when both operand
    types are at least ``min_width`` bits wide; a multiplication of two variables (time-multiplexed layers,
    softmax) when both are at least ``var_min_width`` bits (default: ``min_width``). ``None``: never.
    Multiplications by 0 make nothing and by +-2**k are shifts, whatever the policy.

        >>> DspPolicy.parse({"min_width": 10}).use_dsp(8, 12), DspPolicy.parse("dsp").use_dsp(2, 2)
        (False, True)
        >>> DspPolicy.parse({"min_width": 10, "var_min_width": 6}).use_dsp(8, 8, constant=False)
        True
    """

    min_width: Optional[int] = 10
    var_min_width: Optional[int] = -1  # -1: same as min_width

    @classmethod
    def parse(cls, obj) -> "DspPolicy":
        if obj is None:
            return cls()
        if isinstance(obj, DspPolicy):
            return obj
        if isinstance(obj, str):
            named = {"dsp": 0, "all": 0, "lut": None, "none": None, "auto": 10}
            if obj.lower() not in named:
                raise ValueError(f"dsp_policy {obj!r}: expected one of {sorted(named)} or {{'min_width': N}}")
            return cls(named[obj.lower()])
        if isinstance(obj, dict):
            unknown = set(obj) - {"min_width", "var_min_width"}
            if unknown:
                raise ValueError(f"dsp_policy: unknown keys {sorted(unknown)}; expected 'min_width', 'var_min_width'")
            mw = obj.get("min_width", 10)
            vw = obj.get("var_min_width", -1)
            for k, v in (("min_width", mw), ("var_min_width", vw)):
                if v is not None and (not isinstance(v, int) or v < (-1 if k == "var_min_width" else 0)):
                    raise ValueError(f"dsp_policy {k} must be a non-negative int or None, got {v!r}")
            return cls(mw, vw)
        raise TypeError(f"dsp_policy must be None, a str, a dict or a DspPolicy, got {type(obj).__name__}")

    def use_dsp(self, wa: int, wb: int, constant: bool = True) -> bool:
        mw = self.min_width if constant or self.var_min_width == -1 else self.var_min_width
        return mw is not None and min(wa, wb) >= mw

    def to_dict(self) -> dict:
        return {"min_width": self.min_width,
                "var_min_width": self.min_width if self.var_min_width == -1 else self.var_min_width}


@dataclass
class Node:
    """A signed ``width``-bit value in ``[lo, hi]`` (raw integer with ``frac`` fractional bits)."""

    name: str
    width: int
    lo: int
    hi: int
    frac: int
    op: str
    args: dict = field(default_factory=dict)

    def __getattr__(self, item):  # lets templates read args as attributes (n.src, n.terms, ...)
        args = self.__dict__.get("args", {})
        if item in args:
            return args[item]
        raise AttributeError(item)


class ModuleBuilder:
    """Collects nodes, registers, ROMs and cast functions of one module."""

    def __init__(self, policy: DspPolicy, lutmul_module: str = "lutmul"):
        self.policy = policy
        self.lutmul_module = lutmul_module
        self.nodes: list[Node] = []
        self.regs: list[Node] = []
        self.roms: list[dict] = []
        self.casts: dict[CastSpec, str] = {}
        self.counts = {"mult_dsp": 0, "mult_lut": 0, "mult_shift": 0}
        self._n = 0

    # ------------------------------------------------------------------ plumbing
    def _name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def _add(self, prefix: str, lo: int, hi: int, frac: int, op: str, width: int | None = None, **args) -> Node:
        n = Node(self._name(prefix), width or max(swidth(lo, hi), 1), lo, hi, frac, op, args)
        self.nodes.append(n)
        return n

    def cast_functions(self) -> list[dict]:
        return [spec.template_args(name) for spec, name in self.casts.items()]

    # ------------------------------------------------------------------ sources
    def port(self, port: str, index: int, t: FixedType, prefix: str = "x") -> Node:
        """Element ``index`` of a flat port holding raw values of type ``t``."""
        return self._add(prefix, t.raw_min, t.raw_max, t.frac, "port", width=container(t), port=port,
                         lo_bit=index * t.width, w=t.width, signed=t.signed)

    def const(self, value: int, frac: int, prefix: str = "k") -> Node:
        return self._add(prefix, value, value, frac, "const", value=lit(value, sbits(value)))

    # ------------------------------------------------------------------ arithmetic
    def cast(self, src: Node, src_frac: int | None, dst: FixedType, prefix: str = "c") -> Node:
        """``cast<dst>(src)``; an identity cast is a plain resize."""
        f = src.frac if src_frac is None else src_frac
        spec = CastSpec(src.width, src.lo, src.hi, f - dst.frac, dst)
        lo, hi = spec.out_range
        if spec.overflow == "none" and spec.shift <= 0:  # an exact left shift: no function needed
            a = self.shift(src, -spec.shift) if spec.shift else src
            return self.resize(a, container(dst), dst.frac, prefix)
        name = self.casts.setdefault(spec, f"cast{len(self.casts)}")
        return self._add(prefix, lo, hi, dst.frac, "castf", width=container(dst), fn=name, src=src.name)

    def resize(self, src: Node, width: int, frac: int | None = None, prefix: str = "r",
               assume: tuple[int, int] | None = None) -> Node:
        """The same value in another (large enough) width.

        ``assume`` narrows the range where the caller has proven more than range analysis can (the value is
        then truncated to ``width`` bits without a check).
        """
        lo, hi = assume if assume is not None else (src.lo, src.hi)
        if swidth(lo, hi) > width:
            raise ValueError(f"resize of {src.name} [{lo}, {hi}] to {width} bits loses bits")
        return self._add(prefix, lo, hi, src.frac if frac is None else frac, "resize", width=width,
                         src=src.name, sw=src.width)

    def add(self, terms: list[tuple[int, Node]], prefix: str = "s") -> Node:
        """Exact ``sum(sign * node)`` (all terms must share one ``frac``)."""
        if len({t.frac for _, t in terms}) > 1:
            raise ValueError("add: terms must be aligned to one frac first")
        lo = sum(t.lo if s > 0 else -t.hi for s, t in terms)
        hi = sum(t.hi if s > 0 else -t.lo for s, t in terms)
        return self._add(prefix, lo, hi, terms[0][1].frac, "add", terms=[(s, t.name) for s, t in terms])

    def align(self, src: Node, frac: int, prefix: str = "a") -> Node:
        """Exact left shift to ``frac >= src.frac`` fractional bits."""
        k = frac - src.frac
        if k < 0:
            raise ValueError("align only shifts left")
        if k == 0:
            return src
        return self._add(prefix, src.lo << k, src.hi << k, frac, "shift_add", src=src.name, terms=[(1, k)])

    def shift(self, src: Node, k: int, prefix: str = "h") -> Node:
        """``floor(src * 2**k)`` on raw integers (frac unchanged: used for table indices)."""
        if k >= 0:
            return self._add(prefix, src.lo << k, src.hi << k, src.frac, "shift_add", src=src.name, terms=[(1, k)])
        k = -k
        if k >= src.width:
            return self._add(prefix, min(src.lo >> k, 0), max(src.hi >> k, 0), src.frac, "shr", width=1,
                             src=src.name, k=src.width - 1, sw=src.width)
        return self._add(prefix, src.lo >> k, src.hi >> k, src.frac, "shr", width=src.width - k, src=src.name,
                         k=k, sw=src.width)

    def cmul(self, x: Node, c: int, widths: tuple[int, int], frac: int | None = None,
             prefix: str = "p") -> Node | None:
        """``x * c`` for a constant ``c`` (raw): nothing for 0, a shift for +-2**k, else DSP or CSD by policy.

        ``widths`` are the operand type widths the policy looks at; ``frac`` is the product's frac.
        """
        c = int(c)
        if c == 0:
            return None
        f = x.frac if frac is None else frac
        lo, hi = sorted((x.lo * c, x.hi * c))
        digits = csd(c)
        if len(digits) == 1:
            self.counts["mult_shift"] += 1
            return self._add(prefix, lo, hi, f, "shift_add", src=x.name, terms=[(s, k) for k, s in digits])
        if self.policy.use_dsp(*widths):
            self.counts["mult_dsp"] += 1
            return self._add(prefix, lo, hi, f, "mul", a=x.name, b=lit(c, sbits(c)))
        self.counts["mult_lut"] += 1
        return self._add(prefix, lo, hi, f, "shift_add", src=x.name, terms=[(s, k) for k, s in digits])

    def vmul(self, a: Node, b: Node, widths: tuple[int, int], prefix: str = "m") -> Node:
        """``a * b`` of two variables: a DSP ``$mul`` or a LUT multiplier instance, by policy."""
        cands = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
        lo, hi = min(cands), max(cands)
        if self.policy.use_dsp(*widths, constant=False):
            self.counts["mult_dsp"] += 1
            return self._add(prefix, lo, hi, a.frac + b.frac, "mul", a=a.name, b=b.name)
        self.counts["mult_lut"] += 1
        n = self._add(prefix, lo, hi, a.frac + b.frac, "lutmul", a=a.name, b=b.name, wa=a.width, wb=b.width,
                      module=self.lutmul_module)
        n.args["inst"] = f"{LUTMUL_MARK}_{n.name}"
        return n

    def max2(self, a: Node, b: Node, prefix: str = "mx") -> Node:
        return self._add(prefix, max(a.lo, b.lo), max(a.hi, b.hi), a.frac, "max", a=a.name, b=b.name)

    def max_tree(self, items: list[Node]) -> Node:
        items = list(items)
        while len(items) > 1:
            nxt = [self.max2(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
            if len(items) % 2:
                nxt.append(items[-1])
            items = nxt
        return items[0]

    def mux(self, cond: str, a: Node, b: Node, prefix: str = "u") -> Node:
        """``cond ? a : b`` (``cond`` is a one-bit expression of control signals)."""
        return self._add(prefix, min(a.lo, b.lo), max(a.hi, b.hi), a.frac, "mux", cond=cond, a=a.name, b=b.name)

    def wrapsum(self, terms: list[Node], t: FixedType, prefix: str = "w") -> Node:
        """``sum(terms)`` modulo ``2**t.width``, read as type ``t`` (an AP_WRAP accumulator)."""
        return self._add(prefix, t.raw_min, t.raw_max, t.frac, "wrapsum", width=container(t),
                         terms=[n.name for n in terms], wr=t.width, signed=t.signed)

    def clamp(self, src: Node, lo: int, hi: int, prefix: str = "q") -> Node:
        """``min(max(src, lo), hi)`` (checks that cannot trigger are left out)."""
        need_lo, need_hi = src.lo < lo, src.hi > hi
        nlo, nhi = min(max(src.lo, lo), hi), max(min(src.hi, hi), lo)
        w = swidth(min([nlo] + [lo] * need_lo + [hi] * need_hi), max([nhi] + [lo] * need_lo + [hi] * need_hi))
        cw = max(src.width, sbits(lo), sbits(hi))
        return self._add(prefix, nlo, nhi, src.frac, "clamp", width=w, src=src.name, sw=src.width,
                         lo_lit=lit(lo, cw) if need_lo else None, hi_lit=lit(hi, cw) if need_hi else None,
                         lo_o=lit(lo, w) if need_lo else None, hi_o=lit(hi, w) if need_hi else None)

    def select(self, sel: str, cases: dict[int, Node], n_cases: int, frac: int, prefix: str = "v") -> Node:
        """``case (sel)``: ``cases[c]`` when ``sel == c`` (``c < n_cases``), else 0 (a time-multiplexed operand)."""
        if not cases:
            return self.const(0, frac)
        names = {n.name for n in cases.values()}
        if len(names) == 1 and len(cases) == n_cases:  # the same operand in every cycle: no multiplexer
            return next(iter(cases.values()))
        lo = min(min(n.lo for n in cases.values()), 0)
        hi = max(max(n.hi for n in cases.values()), 0)
        return self._add(prefix, lo, hi, frac, "select", sel=sel,
                         cases=sorted((c, n.name) for c, n in cases.items()))

    def select_const(self, sel: str, cases: dict[int, int], frac: int, prefix: str = "k") -> Node:
        """``case (sel)`` over constants (a weight ROM as a case statement), 0 elsewhere."""
        vals = list(cases.values()) + [0]
        w = swidth(min(vals), max(vals))
        return self._add(prefix, min(vals), max(vals), frac, "select", width=w, sel=sel,
                         cases=sorted((c, lit(v, w)) for c, v in cases.items()))

    # ------------------------------------------------------------------ storage
    def reg(self, width: int, lo: int, hi: int, frac: int, prefix: str = "r") -> Node:
        """A register; give it its input with :meth:`drive`."""
        n = Node(self._name(prefix), width, lo, hi, frac, "reg", {"src": None, "en": None})
        self.regs.append(n)
        return n

    def drive(self, r: Node, src: Node, en: str | None = None) -> None:
        if src.width > r.width and swidth(src.lo, src.hi) > r.width:
            raise ValueError(f"register {r.name} ({r.width} bits) cannot hold {src.name} [{src.lo}, {src.hi}]")
        r.args.update(src=src.name, en=en, sw=src.width)

    def register(self, src: Node, en: str | None = None, prefix: str = "r") -> Node:
        r = self.reg(src.width, src.lo, src.hi, src.frac, prefix)
        self.drive(r, src, en)
        return r

    def rom(self, values: list[int], frac: int, addrs: list[Node], prefix: str = "rom") -> list[Node]:
        """A ROM of signed ``values`` with one registered (synchronous) read per address node."""
        lo, hi = min(values), max(values)
        w = swidth(lo, hi)
        aw = max((len(values) - 1).bit_length(), 1)
        name = self._name(prefix)
        outs = []
        for a in addrs:
            r = Node(self._name("t"), w, lo, hi, frac, "romread", {"rom": name, "addr": a.name, "aw": aw})
            outs.append(r)
        self.roms.append(dict(name=name, width=w, depth=len(values), aw=aw,
                              values=[lit(v, w) for v in values], reads=outs))
        return outs
