"""Fixed-point types with Xilinx ``ap_fixed`` semantics, and one numpy quantizer for all of them.

A :class:`FixedType` is ``ap_fixed<W, I, Q, O>`` (or ``ap_ufixed``, ``ap_int``, ``ap_uint``): ``W`` bits in
all, ``I`` of them integer bits (sign included for signed types), so ``F = W - I`` fractional bits. A value is
stored as a *raw* integer ``q`` and means ``q * 2**-F``.

    >>> t = FixedType.parse("ap_fixed<8,3,AP_RND,AP_SAT>")
    >>> t.width, t.integer, t.frac, t.signed
    (8, 3, 5, True)
    >>> str(t)
    'ap_fixed<8,3,AP_RND,AP_SAT>'
    >>> import numpy as np
    >>> raw = t.quantize_float(np.array([0.7, -10.0, 3.99]))
    >>> t.to_float(raw).tolist()
    [0.6875, -4.0, 3.96875]

Rounding (quantization) modes: ``AP_TRN`` (floor, the default), ``AP_TRN_ZERO``, ``AP_RND`` (half up),
``AP_RND_ZERO``, ``AP_RND_INF``, ``AP_RND_MIN_INF``, ``AP_RND_CONV`` (half to even). Overflow modes:
``AP_WRAP`` (the default), ``AP_SAT``, ``AP_SAT_ZERO``, ``AP_SAT_SYM``. Rounding is applied first, then overflow.

Raw integers live in ``int64`` arrays while every value involved fits in 62 bits, and in ``object``
arrays of Python ints beyond that, so any width is exact.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FixedType",
    "PrecisionError",
    "ROUNDING_MODES",
    "SATURATION_MODES",
    "quantize_raw",
    "quantize_float",
    "as_exact",
]

ROUNDING_MODES = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_INF", "AP_RND_MIN_INF", "AP_RND_CONV")
SATURATION_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")

#: int64 arrays are used while magnitudes stay below 2**SAFE_BITS; object arrays beyond.
SAFE_BITS = 62
MAX_WIDTH = 1024


class PrecisionError(ValueError):
    """A precision string or type that cannot be understood; the message names it."""


_FIXED_RE = re.compile(r"^(ap_)?(u?)fixed<\s*(-?\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?(?:,\s*(\d+)\s*)?>$")
_INT_RE = re.compile(r"^(ap_)?(u?)int<\s*(\d+)\s*>$")


@dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed``-family type. See the module docstring for the semantics."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "AP_TRN"
    saturation: str = "AP_WRAP"
    is_int: bool = False  # printed as ap_int<W>/ap_uint<W>

    def __post_init__(self):
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            raise PrecisionError(f"{self._name()}: width must be an integer in 1..{MAX_WIDTH}, got {self.width!r}")
        if not isinstance(self.integer, int):
            raise PrecisionError(f"{self._name()}: integer bits must be an integer, got {self.integer!r}")
        if self.signed and self.width < 2 and self.saturation == "AP_SAT_SYM":
            raise PrecisionError(f"{self._name()}: AP_SAT_SYM needs at least 2 bits")
        if self.rounding not in ROUNDING_MODES:
            raise PrecisionError(
                f"{self._name()}: unknown rounding mode {self.rounding!r}; expected one of {', '.join(ROUNDING_MODES)}"
            )
        if self.saturation not in SATURATION_MODES:
            raise PrecisionError(
                f"{self._name()}: unknown saturation mode {self.saturation!r}; "
                f"expected one of {', '.join(SATURATION_MODES)}"
            )

    def _name(self) -> str:
        return f"fixed type (width={self.width!r}, integer={self.integer!r})"

    # ------------------------------------------------------------------ parsing / printing
    @classmethod
    def parse(cls, text: "str | FixedType") -> "FixedType":
        """Parse ``ap_fixed<W,I[,Q[,O[,N]]]>``, ``ap_ufixed<...>``, ``ap_int<W>``, ``ap_uint<W>``.

        hls4ml's short forms ``fixed<...>``, ``ufixed<...>``, ``int<W>``, ``uint<W>`` are accepted too.
        """
        if isinstance(text, FixedType):
            return text
        if not isinstance(text, str):
            raise PrecisionError(f"precision must be a string like 'ap_fixed<16,6>', got {text!r}")
        s = text.strip().replace(" ", "")
        m = _FIXED_RE.match(s)
        if m:
            _, u, w, i, q, o, n = m.groups()
            q = q or "AP_TRN"
            o = o or "AP_WRAP"
            # hls4ml prints modes without the prefix: fixed<18,8,RND,SAT,0>
            q = q if q.startswith("AP_") else "AP_" + q
            o = o if o.startswith("AP_") else "AP_" + o
            if q not in ROUNDING_MODES:
                raise PrecisionError(
                    f"precision {text!r}: unknown rounding mode {q!r}; expected one of {', '.join(ROUNDING_MODES)}"
                )
            if o not in SATURATION_MODES:
                raise PrecisionError(
                    f"precision {text!r}: unknown saturation mode {o!r}; expected one of {', '.join(SATURATION_MODES)}"
                )
            if n not in (None, "0"):
                raise PrecisionError(f"precision {text!r}: saturation bits N={n} are not supported (only 0)")
            try:
                return cls(int(w), int(i), signed=(u == ""), rounding=q, saturation=o)
            except PrecisionError as e:
                raise PrecisionError(f"precision {text!r}: {e}") from None
        m = _INT_RE.match(s)
        if m:
            _, u, w = m.groups()
            try:
                return cls(int(w), int(w), signed=(u == ""), is_int=True)
            except PrecisionError as e:
                raise PrecisionError(f"precision {text!r}: {e}") from None
        raise PrecisionError(
            f"cannot parse precision {text!r}; expected ap_fixed<W,I[,Q[,O]]>, ap_ufixed<W,I[,Q[,O]]>, "
            "ap_int<W> or ap_uint<W>"
        )

    def __str__(self) -> str:
        u = "" if self.signed else "u"
        if self.is_int:
            return f"ap_{u}int<{self.width}>"
        args = [str(self.width), str(self.integer)]
        if self.rounding != "AP_TRN" or self.saturation != "AP_WRAP":
            args.append(self.rounding)
        if self.saturation != "AP_WRAP":
            args.append(self.saturation)
        return f"ap_{u}fixed<{','.join(args)}>"

    def cpp(self) -> str:
        """The C++ type name (same as ``str``)."""
        return str(self)

    # ------------------------------------------------------------------ derived facts
    @property
    def frac(self) -> int:
        """Number of fractional bits ``F = W - I`` (may be negative or larger than W)."""
        return self.width - self.integer

    @property
    def raw_min(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def raw_max(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def min(self) -> float:
        return math.ldexp(self.raw_min, -self.frac)

    @property
    def max(self) -> float:
        return math.ldexp(self.raw_max, -self.frac)

    @property
    def lsb(self) -> float:
        return math.ldexp(1.0, -self.frac)

    def replace(self, **kw) -> "FixedType":
        d = dict(width=self.width, integer=self.integer, signed=self.signed, rounding=self.rounding,
                 saturation=self.saturation, is_int=self.is_int)
        d.update(kw)
        if ("width" in kw or "integer" in kw) and "is_int" not in kw:
            d["is_int"] = False
        return FixedType(**d)

    # ------------------------------------------------------------------ quantization
    def quantize_raw(self, raw, src_frac: int) -> np.ndarray:
        """Cast raw integers meaning ``raw * 2**-src_frac`` into this type; returns raw integers of this type."""
        return quantize_raw(raw, src_frac, self)

    def quantize_float(self, x) -> np.ndarray:
        """Cast float64 values into this type (exactly as ap_fixed's constructor from double)."""
        return quantize_float(x, self)

    def to_float(self, raw) -> np.ndarray:
        """Values of raw integers of this type as float64 (exact while the width is <= 53 bits)."""
        raw = np.asarray(raw)
        if raw.dtype == object:
            return np.array([math.ldexp(int(v), -self.frac) for v in raw.ravel()], dtype=np.float64).reshape(raw.shape)
        return np.ldexp(raw.astype(np.float64), -self.frac)

    def round_trip(self, x) -> np.ndarray:
        """``to_float(quantize_float(x))``: the value a double becomes in this type."""
        return self.to_float(self.quantize_float(x))


# ---------------------------------------------------------------------- the one quantizer
def _bits_of(raw: np.ndarray) -> int:
    """Number of bits needed for the largest magnitude in ``raw`` (0 for an empty/zero array)."""
    if raw.size == 0:
        return 0
    if raw.dtype == object:
        return max(int(abs(int(v))).bit_length() for v in raw.ravel())
    lo, hi = int(raw.min()), int(raw.max())
    return max(abs(lo).bit_length(), abs(hi).bit_length())


def as_exact(raw, extra_bits: int = 0) -> np.ndarray:
    """Return ``raw`` as int64 if values (shifted by ``extra_bits``) stay below 2**62, else as Python ints."""
    raw = np.asarray(raw)
    if raw.dtype.kind == "f":
        raise TypeError("raw fixed-point values must be integers, got floats")
    if raw.dtype == object:
        if _bits_of(raw) + extra_bits <= SAFE_BITS:
            return raw.astype(np.int64)
        return raw
    raw = raw.astype(np.int64, copy=False)
    if extra_bits <= 0:  # nothing will be shifted left: int64 values stay int64
        return raw
    if _bits_of(raw) + extra_bits > SAFE_BITS:
        return raw.astype(object)
    return raw


def _round_and_overflow(fl, gt_half, eq_half, nonzero, t: FixedType):
    """Apply ``t``'s rounding to ``floor`` + remainder flags, then its overflow mode."""
    neg = fl < 0
    mode = t.rounding
    if mode == "AP_TRN":
        up = None
    elif mode == "AP_TRN_ZERO":
        up = nonzero & neg
    elif mode == "AP_RND":
        up = gt_half | eq_half
    elif mode == "AP_RND_ZERO":
        up = gt_half | (eq_half & neg)
    elif mode == "AP_RND_MIN_INF":
        up = gt_half
    elif mode == "AP_RND_INF":
        up = gt_half | (eq_half & ~neg)
    else:  # AP_RND_CONV
        odd = (fl & 1) == 1
        up = gt_half | (eq_half & odd)
    q = fl if up is None else fl + up.astype(np.int64)
    return _overflow(q, t)


def _overflow(q, t: FixedType):
    lo, hi = t.raw_min, t.raw_max
    if q.dtype != object and (t.width > SAFE_BITS):
        q = q.astype(object)
    if q.dtype != object and q.size and lo <= int(q.min()) and int(q.max()) <= hi:
        return q  # already in range: nothing to wrap or saturate (two reads are cheaper than the writes)
    if t.saturation == "AP_WRAP":
        mask = (1 << t.width) - 1
        if q.dtype != object:
            if t.signed:
                q = q - lo
                np.bitwise_and(q, mask, out=q)
                q += lo
                return q
            return np.bitwise_and(q, mask)
        if t.signed:
            return ((q - lo) & mask) + lo
        return q & mask
    if t.saturation == "AP_SAT":
        return np.where(q > hi, hi, np.where(q < lo, lo, q)).astype(q.dtype)
    if t.saturation == "AP_SAT_ZERO":
        return np.where((q > hi) | (q < lo), 0, q).astype(q.dtype)
    # AP_SAT_SYM
    lo_sym = -hi if t.signed else 0
    return np.where(q > hi, hi, np.where(q < lo_sym, lo_sym, q)).astype(q.dtype)


def quantize_raw(raw, src_frac: int, t: FixedType) -> np.ndarray:
    """Cast raw integers with ``src_frac`` fractional bits into type ``t`` (rounding, then overflow)."""
    shift = src_frac - t.frac
    if shift <= 0:
        q = as_exact(raw, -shift)
        if shift < 0:
            q = q << (-shift)
        return _overflow(q, t)
    q = as_exact(raw)
    fl = q >> shift
    if t.rounding == "AP_TRN":  # floor: the common case needs no remainder
        return _overflow(fl, t)
    rem = q - (fl << shift)
    half = 1 << (shift - 1)
    return _round_and_overflow(fl, rem > half, rem == half, rem != 0, t)


def quantize_float(x, t: FixedType) -> np.ndarray:
    """Cast float64 values into type ``t`` exactly (the double's exact value is rounded, then overflowed)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"cannot cast non-finite values (nan/inf) to {t}")
    v = np.ldexp(x, t.frac)
    fl_f = np.floor(v)
    r = v - fl_f  # exact
    big = np.abs(fl_f) >= 2.0**SAFE_BITS
    if np.any(big) or t.width > SAFE_BITS:
        fl = np.array([int(f) for f in fl_f.ravel()], dtype=object).reshape(fl_f.shape)
    else:
        fl = fl_f.astype(np.int64)
    return _round_and_overflow(fl, r > 0.5, r == 0.5, r != 0.0, t)
