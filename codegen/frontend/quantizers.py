"""QKeras quantizers as exact fixed-point types.

``quantized_bits(bits, integer, alpha=1)`` rounds half to even (``tf.round``) and clips, so it is
``ap_fixed<bits, integer + 1, AP_RND_CONV, AP_SAT>`` (``AP_SAT_SYM`` when ``symmetric``; ``ap_ufixed<bits,
integer>`` when ``keep_negative=False``). ``quantized_relu(bits, integer)`` is ``ap_ufixed<bits, integer,
AP_RND_CONV, AP_SAT>`` after a ReLU.

    >>> from qkeras import quantized_bits, quantized_relu          # doctest: +SKIP
    >>> str(quantizer_type(quantized_bits(6, 0, alpha=1)))          # doctest: +SKIP
    'ap_fixed<6,1,AP_RND_CONV,AP_SAT>'
"""
from __future__ import annotations

from ..fixed import FixedType

__all__ = ["UnsupportedQuantizer", "quantizer_type", "activation_quantizer"]


class UnsupportedQuantizer(ValueError):
    """A QKeras quantizer with no exact fixed-point equivalent."""


def _alpha_ok(q) -> bool:
    alpha = getattr(q, "alpha", None)
    if alpha is None:
        return True
    if isinstance(alpha, str):
        return False
    try:
        return float(alpha) == 1.0
    except (TypeError, ValueError):
        return False


def quantizer_type(q, where: str = "?") -> FixedType:
    """The exact type of a ``quantized_bits`` quantizer (weights, biases or activations)."""
    name = type(q).__name__
    if name != "quantized_bits":
        raise UnsupportedQuantizer(f"{where}: quantizer {name} is not supported here; use quantized_bits")
    if not _alpha_ok(q):
        raise UnsupportedQuantizer(f"{where}: quantized_bits with alpha={q.alpha!r} has a per-channel scale with no "
                                   "fixed-point equivalent; use alpha=1")
    if getattr(q, "use_stochastic_rounding", False):
        raise UnsupportedQuantizer(f"{where}: stochastic rounding has no fixed-point equivalent")
    bits, integer = int(q.bits), int(q.integer)
    if getattr(q, "keep_negative", True):
        sat = "AP_SAT_SYM" if getattr(q, "symmetric", False) else "AP_SAT"
        return FixedType(bits, integer + 1, True, "AP_RND_CONV", sat)
    return FixedType(bits, integer, False, "AP_RND_CONV", "AP_SAT")


def activation_quantizer(q, where: str = "?") -> tuple[str, FixedType]:
    """(activation, result type) for a QKeras activation quantizer."""
    name = type(q).__name__
    if name == "quantized_relu":
        if getattr(q, "negative_slope", 0.0) or getattr(q, "use_sigmoid", 0) or getattr(q, "use_stochastic_rounding", False):
            raise UnsupportedQuantizer(f"{where}: quantized_relu with negative_slope/use_sigmoid/stochastic rounding "
                                       "is not supported")
        if getattr(q, "relu_upper_bound", None) is not None and not getattr(q, "is_quantized_clip", True):
            raise UnsupportedQuantizer(f"{where}: quantized_relu with relu_upper_bound is not supported")
        return "relu", FixedType(int(q.bits), int(q.integer), False, "AP_RND_CONV", "AP_SAT")
    if name == "quantized_bits":
        return "linear", quantizer_type(q, where)
    if name in ("quantized_tanh", "quantized_sigmoid"):
        # not bit-exact with QKeras (it computes tanh/sigmoid in float); a table activation of that width
        bits = int(q.bits)
        act = "tanh" if name == "quantized_tanh" else "sigmoid"
        signed = act == "tanh"
        return act, FixedType(bits, 1 if signed else 0, signed, "AP_RND_CONV", "AP_SAT")
    raise UnsupportedQuantizer(f"{where}: activation quantizer {name} is not supported; supported: quantized_relu, "
                               "quantized_bits, quantized_tanh, quantized_sigmoid")
