"""Integer facts the Verilog writer needs: signed widths, literals, CSD digits, and ap_fixed casts as specs.

Every datapath value inside a generated module is a *signed container*: a ``wire signed [w-1:0]`` holding the
raw integer of a fixed-point value (unsigned types get one extra 0 bit). Value ranges ``[lo, hi]`` are tracked
in Python so that every wire is exactly as wide as it must be and impossible overflow checks are not generated.

    >>> sbits(127), sbits(-128), sbits(128), swidth(-3, 5)
    (8, 8, 9, 4)
    >>> lit(-1, 8), lit(5, 4)
    ("8'shff", "4'sh5")
    >>> csd(7)          # 7 = 8 - 1: (shift, sign) digits
    [(0, -1), (3, 1)]
    >>> from codegen.fixed import FixedType
    >>> c = CastSpec(wi=9, lo=-256, hi=255, shift=2, dst=FixedType.parse("ap_fixed<6,3,AP_RND,AP_SAT>"))
    >>> c.out_range, c.needs_hi, c.needs_lo
    ((-32, 31), True, True)
"""
from __future__ import annotations

from dataclasses import dataclass

from ..fixed import FixedType

__all__ = ["sbits", "swidth", "lit", "csd", "container", "type_range", "CastSpec", "ROUND_UP"]


def sbits(v: int) -> int:
    """Bits of the shortest two's complement representation of ``v``."""
    v = int(v)
    return (v.bit_length() if v >= 0 else (~v).bit_length()) + 1


def swidth(lo: int, hi: int) -> int:
    """Signed width holding every integer of ``[lo, hi]``."""
    return max(sbits(lo), sbits(hi))


def lit(value: int, width: int) -> str:
    """A sized signed Verilog literal (two's complement hex), e.g. ``8'shff`` for -1."""
    value, width = int(value), int(width)
    if sbits(value) > width:
        raise ValueError(f"{value} does not fit in {width} signed bits")
    return f"{width}'sh{value & ((1 << width) - 1):x}"


def csd(c: int) -> list[tuple[int, int]]:
    """Canonical signed digits of ``c``: ``c == sum(sign << shift)`` with no two adjacent digits."""
    digits, k, c = [], 0, int(c)
    while c:
        if c & 1:
            d = 2 - (c & 3)  # +1 or -1
            digits.append((k, d))
            c -= d
        c >>= 1
        k += 1
    return digits


def container(t: FixedType) -> int:
    """Width of the signed container of type ``t`` (one more bit for unsigned types)."""
    return t.width + (0 if t.signed else 1)


def type_range(t: FixedType) -> tuple[int, int]:
    return t.raw_min, t.raw_max


#: the rounding increment of each mode, in terms of (half, rest_nonzero, any_nonzero, negative, odd) flags;
#: the template turns these names into Verilog (docs/numerics.md, codegen.fixed._round_and_overflow)
ROUND_UP = {
    "AP_TRN": None,
    "AP_TRN_ZERO": "nz_neg",
    "AP_RND": "half",
    "AP_RND_ZERO": "half_rnz_or_neg",
    "AP_RND_MIN_INF": "half_rnz",
    "AP_RND_INF": "half_rnz_or_pos",
    "AP_RND_CONV": "half_rnz_or_odd",
}


@dataclass(frozen=True)
class CastSpec:
    """``cast<dst>`` of a signed ``wi``-bit raw value in ``[lo, hi]`` with ``shift = src_frac - dst_frac``.

    The Verilog function (``macros.v.j2``) rounds first (when ``shift > 0``), then applies the overflow mode;
    checks that cannot trigger for ``[lo, hi]`` are left out. The result is ``dst``'s signed container.
    """

    wi: int
    lo: int
    hi: int
    shift: int
    dst: FixedType

    # ---------------------------------------------------------------- rounding stage
    @property
    def up(self) -> str | None:
        return ROUND_UP[self.dst.rounding] if self.shift > 0 else None

    @property
    def we(self) -> int:
        """Width of the sign-extended input when rounding (holds ``shift`` fraction bits and a sign)."""
        return max(self.wi, self.shift + 1) if self.shift > 0 else self.wi

    @property
    def wq(self) -> int:
        """Width of the rounded value ``q``."""
        if self.shift <= 0:
            return self.wi - self.shift
        return self.we - self.shift + (1 if self.up else 0)

    @property
    def q_range(self) -> tuple[int, int]:
        s = self.shift
        if s <= 0:
            return self.lo << -s, self.hi << -s
        return self.lo >> s, (self.hi >> s) + (1 if self.up else 0)

    # ---------------------------------------------------------------- overflow stage
    @property
    def sat_lo(self) -> int:
        t = self.dst
        if t.saturation == "AP_SAT_SYM":
            return -t.raw_max if t.signed else 0
        return t.raw_min

    @property
    def needs_hi(self) -> bool:
        return self.q_range[1] > self.dst.raw_max

    @property
    def needs_lo(self) -> bool:
        return self.q_range[0] < self.sat_lo

    @property
    def overflow(self) -> str:
        """``none`` (cannot overflow), ``wrap``, ``sat``, ``sat_zero`` (SAT_SYM is ``sat`` with a symmetric low)."""
        t = self.dst
        if not self.needs_hi and not self.needs_lo and self.q_range[0] >= t.raw_min:
            return "none"
        return {"AP_WRAP": "wrap", "AP_SAT": "sat", "AP_SAT_SYM": "sat", "AP_SAT_ZERO": "sat_zero"}[t.saturation]

    @property
    def wo(self) -> int:
        return container(self.dst)

    @property
    def wx(self) -> int:
        """Width of ``q`` sign-extended to at least the raw width (for the wrap/resize step)."""
        return max(self.wq, self.dst.width)

    @property
    def out_range(self) -> tuple[int, int]:
        t, (qlo, qhi) = self.dst, self.q_range
        ov = self.overflow
        if ov == "none":
            return qlo, qhi
        if ov == "wrap":
            return t.raw_min, t.raw_max
        lo = self.sat_lo if self.needs_lo else qlo
        hi = t.raw_max if self.needs_hi else qhi
        if ov == "sat_zero":
            lo, hi = min(lo, 0), max(hi, 0)
        return max(lo, t.raw_min), min(hi, t.raw_max)

    @property
    def identity(self) -> bool:
        """True when the cast is a plain sign extension / truncation of an in-range value (no function)."""
        return self.shift == 0 and self.overflow == "none"

    def template_args(self, name: str) -> dict:
        """What ``macros.v.j2:cast_function`` needs."""
        t = self.dst
        return dict(
            name=name, wi=self.wi, wo=self.wo, wr=t.width, signed=t.signed, shift=self.shift, we=self.we,
            wq=self.wq, wx=self.wx, up=self.up, overflow=self.overflow, needs_hi=self.needs_hi,
            needs_lo=self.needs_lo,
            hi_q=lit(t.raw_max, self.wq) if self.needs_hi else None,
            lo_q=lit(self.sat_lo, self.wq) if self.needs_lo else None,
            hi_o=lit(t.raw_max, self.wo), lo_o=lit(self.sat_lo, self.wo), zero_o=lit(0, self.wo),
        )
