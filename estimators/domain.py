"""Training domain of a surrogate and the extrapolation check.

    >>> from estimators.wa_hls4ml import dense_design
    >>> from estimators.features import fact_table
    >>> dom = TrainingDomain.from_table(fact_table([dense_design([16, 64, 8], 8, 64)]))
    >>> flags, reasons = dom.check(fact_table([dense_design([16, 2000, 8], 8, 64)]))
    >>> bool(flags[0]), reasons[0].split(";")[0]
    (True, 'layer dense_0: n_out=2000 outside [8, 64]')

What is recorded: layer kinds and activations seen; the strategies of matrix layers; ranges over matrix
layers (Dense / Conv) of n_in, n_out, out_pixels, reuse, weight/bias/accumulator bits, multipliers per layer
(``block_factor``, and ``multipliers`` for nonzero weights: sweeps cap it) and ``reuse / (n_in * n_out)``; ranges over all layers of input and result bits; depth
(number of matrix layers); the lowest nonzero-weight fraction (checked only when the surrogate's features
depend on pruning); clock periods, parts and io types. When every training layer carried the ``rtl_*``
facts (the yosys flow's counted Verilog logic), a design without them is flagged, and the range of
``rtl_lut_est`` per matrix layer is checked too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .features import ACTIVATIONS, KINDS, FactTable, _layer_columns

__all__ = ["TrainingDomain", "MATRIX_RANGED", "ALL_RANGED"]

#: per-layer quantities whose range over matrix layers is recorded and checked
MATRIX_RANGED: tuple[str, ...] = (
    "n_in", "n_out", "out_pixels", "reuse", "weight_bits", "bias_bits", "accum_bits", "block_factor",
    "multipliers", "reuse_fraction",
)
#: per-layer quantities whose range over all layers is recorded and checked
ALL_RANGED: tuple[str, ...] = ("input_bits", "result_bits")
#: per-layer quantities ranged over matrix layers only when the training data had the rtl_* facts
RTL_RANGED: tuple[str, ...] = ("rtl_lut_est",)
_MAX_REASONS = 4


def _values(t: FactTable, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Values to range-check per layer row (``c``: its layer columns); NaN where a quantity is not checked."""
    mat = t.is_matrix
    v = {k: np.where(mat, c[k], np.nan) for k in MATRIX_RANGED + RTL_RANGED}
    v.update({k: c[k] for k in ALL_RANGED})
    return v


def _nz_frac(t: FactTable) -> np.ndarray:
    p = t.num["params"]
    return np.where(p > 0, t.num["nonzero_params"] / np.where(p > 0, p, 1.0), 1.0)


@dataclass
class TrainingDomain:
    """What a surrogate has seen: layer kinds, activations, strategies, value ranges, depth, part, clock."""

    kinds: list[str]
    activations: list[str]
    strategies: list[str]
    ranges: dict[str, tuple[float, float]]
    depth: tuple[int, int]
    min_nz_frac: float
    clock_periods: list[float]
    parts: list[str] = field(default_factory=list)
    io_types: list[str] = field(default_factory=list)
    check_sparsity: bool = True
    rtl_facts: bool = False

    @classmethod
    def from_table(cls, t: FactTable) -> "TrainingDomain":
        mat = t.is_matrix
        depth = t.n_matrix
        c = _layer_columns(t)
        rtl = bool(c["rtl_known"].all())
        ranges = {}
        for k, v in _values(t, c).items():
            if np.isfinite(v).any() and (rtl or k not in RTL_RANGED):
                ranges[k] = (float(np.nanmin(v)), float(np.nanmax(v)))
        return cls(
            kinds=sorted({KINDS[i] for i in np.unique(t.kind)}),
            activations=sorted({ACTIVATIONS[i] for i in np.unique(t.activation)}),
            strategies=sorted({"resource" if r > 0 else "latency" for r in np.unique(t.resource[mat])}),
            ranges=ranges,
            depth=(int(depth.min()), int(depth.max())),
            min_nz_frac=float(_nz_frac(t)[mat].min()) if mat.any() else 1.0,
            clock_periods=sorted({float(c) for c in np.unique(t.clock_period)}),
            parts=sorted(set(t.parts) - {""}),
            io_types=sorted(set(t.io_types)),
            rtl_facts=rtl,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kinds": self.kinds, "activations": self.activations, "strategies": self.strategies,
            "ranges": {k: list(v) for k, v in self.ranges.items()}, "depth": list(self.depth),
            "min_nz_frac": self.min_nz_frac, "check_sparsity": self.check_sparsity,
            "clock_periods": self.clock_periods, "parts": self.parts, "io_types": self.io_types,
            "rtl_facts": self.rtl_facts,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainingDomain":
        return cls(
            kinds=list(d["kinds"]), activations=list(d["activations"]), strategies=list(d["strategies"]),
            ranges={k: (float(v[0]), float(v[1])) for k, v in d["ranges"].items()},
            depth=(int(d["depth"][0]), int(d["depth"][1])), min_nz_frac=float(d["min_nz_frac"]),
            clock_periods=[float(c) for c in d["clock_periods"]],
            parts=list(d.get("parts", [])), io_types=list(d.get("io_types", [])),
            check_sparsity=bool(d.get("check_sparsity", True)), rtl_facts=bool(d.get("rtl_facts", False)),
        )

    def check(self, t: FactTable) -> tuple[np.ndarray, list[str]]:
        """Per design: ``extrapolating`` flag and a ``reason`` string ('' when inside the domain).

        A design whose part is empty is not checked against the part.
        """
        mat = t.is_matrix
        checks: list[tuple[np.ndarray, Callable[[int], str]]] = []
        kinds_ok = np.isin(t.kind, [KINDS.index(k) for k in self.kinds])
        checks.append((~kinds_ok, lambda i: f"kind {KINDS[t.kind[i]]} not in training data"))
        acts_ok = np.isin(t.activation, [ACTIVATIONS.index(a) for a in self.activations])
        checks.append((~acts_ok, lambda i: f"activation {ACTIVATIONS[t.activation[i]]} not in training data"))
        strat = np.where(t.resource > 0, "resource", "latency")
        checks.append((mat & ~np.isin(strat, self.strategies), lambda i: f"strategy {strat[i]} not in training data"))
        c = _layer_columns(t)
        values = _values(t, c)
        for k, (lo, hi) in self.ranges.items():
            v = values[k]
            checks.append(((v < lo) | (v > hi), lambda i, k=k, lo=lo, hi=hi, v=v: f"{k}={v[i]:g} outside [{lo:g}, {hi:g}]"))
        if self.rtl_facts:
            known = c["rtl_known"] > 0
            checks.append((~known, lambda i: "no rtl_* facts (the Verilog writer could not build the design, or "
                                             "they predate it: dse dataset refresh-facts)"))
        if self.check_sparsity:
            nz = _nz_frac(t)
            checks.append((mat & (nz < self.min_nz_frac - 1e-9),
                           lambda i: f"nonzero fraction {nz[i]:.2f} below {self.min_nz_frac:.2f}"))
        bad_layer = np.zeros(len(t.design), dtype=bool)
        for m, _ in checks:
            bad_layer |= m
        bad_design = np.zeros(t.n_designs, dtype=bool)
        bad_design[t.design[bad_layer]] = True
        depth = t.n_matrix
        depth_bad = (depth < self.depth[0]) | (depth > self.depth[1])
        clock_bad = ~np.isin(np.round(t.clock_period, 6), np.round(self.clock_periods, 6))
        part_bad = np.array([bool(self.parts) and bool(p) and p not in self.parts for p in t.parts], dtype=bool)
        io_bad = np.array([bool(self.io_types) and io not in self.io_types for io in t.io_types], dtype=bool)
        flags = bad_design | depth_bad | clock_bad | part_bad | io_bad
        reasons = [""] * t.n_designs
        if not flags.any():
            return flags, reasons
        per: dict[int, list[str]] = {}
        for d in np.flatnonzero(depth_bad):
            per.setdefault(int(d), []).append(
                f"depth {int(depth[d])} matrix layers outside [{self.depth[0]}, {self.depth[1]}]")
        for d in np.flatnonzero(clock_bad):
            per.setdefault(int(d), []).append(f"clock period {t.clock_period[d]:g} ns not in {self.clock_periods}")
        for d in np.flatnonzero(part_bad):
            per.setdefault(int(d), []).append(f"part {t.parts[d]} not in {self.parts}")
        for d in np.flatnonzero(io_bad):
            per.setdefault(int(d), []).append(f"io_type {t.io_types[d]} not in {self.io_types}")
        layer_msgs: dict[int, list[tuple[int, str]]] = {}
        for m, msg in checks:
            for i in np.flatnonzero(m):
                layer_msgs.setdefault(int(t.design[i]), []).append((int(i), f"layer {t.names[i]}: {msg(int(i))}"))
        for d, msgs in layer_msgs.items():
            per.setdefault(d, []).extend(s for _, s in sorted(msgs, key=lambda x: x[0]))
        for d, lst in per.items():
            reasons[d] = "; ".join(lst[:_MAX_REASONS]) + ("; ..." if len(lst) > _MAX_REASONS else "")
        return flags, reasons
