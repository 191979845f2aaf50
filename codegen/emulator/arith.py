"""Exact integer arithmetic on raw fixed-point arrays (int64 while it is safe, Python ints beyond).

A raw array ``q`` with ``f`` fractional bits means ``q * 2**-f``. These helpers keep every intermediate exact,
choosing float64 BLAS, int64 or object arithmetic from bounds on the operands.
"""
from __future__ import annotations

import numpy as np

from ..fixed import SAFE_BITS, FixedType, as_exact, quantize_raw, _overflow

__all__ = ["bits", "shift", "align", "add", "exact_sum", "matvec_accumulate", "cast"]

FLOAT_EXACT_BITS = 52


def bits(q: np.ndarray) -> int:
    """Bits of the largest magnitude in ``q``."""
    q = np.asarray(q)
    if q.size == 0:
        return 0
    if q.dtype == object:
        return max(abs(int(v)).bit_length() for v in q.ravel())
    return max(abs(int(q.min())).bit_length(), abs(int(q.max())).bit_length())


def shift(q: np.ndarray, k: int) -> np.ndarray:
    """``floor(q * 2**k)``: a left shift for ``k >= 0``, an arithmetic (floor) right shift otherwise."""
    if k >= 0:
        return as_exact(q, k) << k
    return as_exact(q) >> (-k)


def align(q: np.ndarray, f: int, f_to: int) -> np.ndarray:
    """Re-express raw ``q`` with ``f`` fractional bits as raw with ``f_to >= f`` bits (exact)."""
    assert f_to >= f
    return shift(q, f_to - f)


def exact_sum(terms: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """Exact sum of raw arrays with their fractional bits; returns (raw, frac)."""
    f = max(fr for _, fr in terms)
    total = None
    for q, fr in terms:
        a = align(q, fr, f)
        if total is not None and (a.dtype == object or total.dtype == object or max(bits(a), bits(total)) >= SAFE_BITS):
            a, total = a.astype(object), total.astype(object)
        total = a if total is None else total + a
    return total, f


def cast(q: np.ndarray, f: int, t: FixedType) -> np.ndarray:
    """``cast<t>`` of raw ``q`` with ``f`` fractional bits."""
    return quantize_raw(q, f, t)


def _matmul_exact(x: np.ndarray, w: np.ndarray, bound_bits: int, wrap_bits: int | None) -> np.ndarray:
    """Exact ``x @ w`` of integer arrays; ``bound_bits`` bounds every partial sum.

    With ``wrap_bits`` (<= 64) the caller only needs the result modulo ``2**wrap_bits``, so int64's modular
    arithmetic is good enough even past 63 bits.
    """
    if bound_bits <= FLOAT_EXACT_BITS:
        return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    if bound_bits <= SAFE_BITS or (wrap_bits is not None and wrap_bits <= 64 and x.dtype != object
                                    and w.dtype != object):
        return x.astype(np.int64) @ w.astype(np.int64)
    return x.astype(object) @ w.astype(object)


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact elementwise ``a + b`` of raw arrays with the same fractional bits."""
    if a.dtype == object or b.dtype == object or max(bits(a), bits(b)) + 1 > SAFE_BITS:
        return np.asarray(a).astype(object) + np.asarray(b).astype(object)
    return a + b


def matvec_accumulate(x: np.ndarray, xt: FixedType, w: np.ndarray, wt: FixedType, b: np.ndarray | None,
                      bt: FixedType | None, at: FixedType) -> np.ndarray:
    """The Dense accumulation of docs/numerics.md; returns raw accumulators in type ``at``.

    ``x``: raw (batch, n_in) in ``xt``; ``w``: raw (n_in, n_out) in ``wt``; ``b``: raw (n_out,) in ``bt``.
    ``acc_j = cast<at>(b_j)``, then for each input i in order ``acc_j = cast<at>(acc_j + cast<at>(x_i w_ij))``.

    Fast path: when every product is exact in ``at`` and either ``at`` wraps (modular sums do not depend on
    order) or no partial sum can overflow, the whole thing is one exact matrix product.
    """
    n_in, n_out = w.shape
    fp = xt.frac + wt.frac
    fa = at.frac
    acc0 = np.zeros(n_out, dtype=np.int64) if b is None else cast(b, bt.frac, at)
    xb, wb = bits(x), bits(w)
    s = fa - fp
    if s >= 0:
        wrap = at.saturation == "AP_WRAP"  # modular sums: neither order nor per-product wrapping matters
        sum_bits = xb + wb + max(n_in, 1).bit_length()  # bounds |sum of any subset of raw products|
        fits = at.signed and xb + wb + s <= at.width - 1 and max(sum_bits + s, bits(acc0)) + 1 <= at.width - 1
        if wrap or fits:
            prod = shift(_matmul_exact(x, w, sum_bits, at.width if wrap else None), s)
            return _overflow(add(prod, acc0), at)
    wrap = at.saturation == "AP_WRAP"
    if s < 0 and at.rounding in ("AP_TRN", "AP_RND") and xb + wb <= FLOAT_EXACT_BITS:
        # products lose fractional bits: round each one (exactly, in float64), then sum; valid when the
        # accumulator wraps (modular) or no partial sum can reach its limits
        prod_bits = max(xb + wb + s, 0) + 1  # |rounded product| <= 2**prod_bits
        total_bits = max(prod_bits + max(n_in, 1).bit_length(), bits(acc0)) + 1
        if (wrap or (at.signed and total_bits <= at.width - 1)) and total_bits <= FLOAT_EXACT_BITS:
            return _overflow(add(_rounded_products_sum(x, w, s, at.rounding), acc0), at)
    # general path: one input at a time, every product and partial sum cast to the accumulator type
    acc = np.broadcast_to(acc0, (x.shape[0], n_out)).copy()
    wide = xb + wb >= SAFE_BITS
    xs = x.astype(object) if wide else x
    ws = w.astype(object) if wide else w
    for i in range(n_in):
        row = ws[i]
        if not np.any(row != 0):
            continue
        p = cast(xs[:, i:i + 1] * row, fp, at)
        acc = _overflow(add(acc, p), at)
    return acc


def _rounded_products_sum(x: np.ndarray, w: np.ndarray, s: int, rounding: str, block: int = 1 << 22) -> np.ndarray:
    """``sum_i round(x_i * w_ij * 2**s)`` with AP_TRN (floor) or AP_RND (half up) rounding, exact in float64."""
    xf, wf = x.astype(np.float64), w.astype(np.float64)
    half = 0.5 if rounding == "AP_RND" else 0.0
    scale = 2.0 ** s
    n, n_in = xf.shape
    n_out = wf.shape[1]
    out = np.zeros((n, n_out))
    rows = max(1, block // max(n_in * n_out, 1))
    nz = np.flatnonzero(np.any(wf != 0, axis=1))  # inputs whose weights are all zero add nothing
    xf, wf = xf[:, nz], wf[nz]
    for r in range(0, n, rows):
        prod = xf[r:r + rows, :, None] * (wf[None] * scale)
        if half:
            prod += half
        out[r:r + rows] = np.floor(prod, out=prod).sum(axis=1)
    return out.astype(np.int64)
