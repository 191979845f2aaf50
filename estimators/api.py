"""The pre-synthesis prediction API.

    >>> import estimators
    >>> est = estimators.estimate(model, config=cfg, target="yosys-xc7")        # doctest: +SKIP
    >>> est.lut, est.ff, est.dsp, est.bram_18k, est.latency_cycles, est.ii         # doctest: +SKIP
    >>> est.interval("lut")          # (low, high) at 90%                            # doctest: +SKIP
    >>> est.per_layer                # DataFrame: each layer's share                 # doctest: +SKIP
    >>> many = estimators.estimate_many(designs, target="vitis-u250")               # doctest: +SKIP
    >>> estimators.available_targets()                                               # doctest: +SKIP

``model`` may be a tf.keras/QKeras model (with an hls4ml-style ``config``), an :class:`codegen.HLSModel`, a
converted :class:`codegen.Graph`, or a weightless description ``{"layers": [...], "config": {...}, "part": ...,
"clock_period": ...}`` (see :mod:`codegen.describe`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from .surrogate import TARGETS, Surrogate

__all__ = ["Estimate", "estimate", "estimate_many", "available_targets", "load_target", "SURROGATE_DIR",
           "UnknownTarget", "target_dir"]

SURROGATE_DIR = Path(os.environ.get("FPGA_DSE_SURROGATES", Path(__file__).resolve().parents[1] / "data" / "surrogates"))
_ALIASES = {"latency": "latency_cycles", "bram": "bram_18k"}


class UnknownTarget(ValueError):
    """A surrogate target that is not shipped (the message lists the available ones)."""


def available_targets() -> list[str]:
    """Names of the shipped surrogates (folders of ``data/surrogates`` holding a ``metadata.json``)."""
    if not SURROGATE_DIR.is_dir():
        return []
    return sorted(p.name for p in SURROGATE_DIR.iterdir() if (p / "metadata.json").is_file())


@lru_cache(maxsize=16)
def _load(path: str, mtime: float) -> Surrogate:
    return Surrogate.load(path)


def target_dir(target: str | os.PathLike) -> Path:
    """The folder of a target name (``data/surrogates/<name>``) or of a surrogate folder path."""
    p = Path(target)
    if not (p / "metadata.json").is_file():
        p = SURROGATE_DIR / str(target)
    if not (p / "metadata.json").is_file():
        raise UnknownTarget(f"no surrogate for target {str(target)!r}; available: {available_targets()}")
    return p


def load_target(target: str | os.PathLike) -> Surrogate:
    """The surrogate of a target name (or a folder path); cached until its metadata changes."""
    p = target_dir(target)
    return _load(str(p), (p / "metadata.json").stat().st_mtime)


@dataclass
class Estimate:
    """Predicted resources and latency of one design, with 90% intervals and per-layer shares."""

    target: str
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    extrapolating: bool = False
    reason: str = ""
    per_layer: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __getattr__(self, name: str) -> float:
        values = self.__dict__.get("values", {})
        name = _ALIASES.get(name, name)
        if name in values:
            return values[name]
        raise AttributeError(name)

    def interval(self, name: str, level: float = 0.9) -> tuple[float, float]:
        """(low, high) of ``name`` at the surrogate's calibrated level (90%)."""
        if abs(level - 0.9) > 1e-9:
            raise ValueError("intervals are calibrated at 90% only")
        return self.intervals[_ALIASES.get(name, name)]

    def to_dict(self) -> dict[str, Any]:
        d = {"target": self.target, "extrapolating": self.extrapolating, "reason": self.reason, **self.values}
        for k, (lo, hi) in self.intervals.items():
            d[f"{k}_low"], d[f"{k}_high"] = lo, hi
        return d


def _graph(model, config):
    import codegen

    if isinstance(model, codegen.HLSModel):
        return model.graph
    if isinstance(model, codegen.Graph) and all("settings" in l.attrs for l in model):
        return model  # already converted
    return codegen.convert(model, config=config, output_dir=_UNUSED).graph


_UNUSED = "/nonexistent/fpga-dse-estimate"  # conversions made only to estimate never write anything


def _design(model, config) -> dict:
    import codegen

    return codegen.design_facts(_graph(model, config))


def _layer_designs(design: dict) -> list[tuple[str, dict]]:
    """Each matrix layer (with the layers that follow it up to the next one) as its own design."""
    layers = design["layers"]
    out, current = [], None
    for f in layers[1:]:
        if f["kind"] in ("Dense", "Conv1D", "Conv2D") or current is None:
            inp = dict(layers[0], n_in=f["n_in"], n_out=f["n_in"], input_bits=f["input_bits"],
                       input_integer_bits=f["input_integer_bits"], result_bits=f["input_bits"],
                       result_integer_bits=f["input_integer_bits"])
            current = [inp, f]
            out.append((f["name"], current))
        else:
            current.append(f)
    return [(name, {**design, "layers": ls}) for name, ls in out]


def _row_to_estimate(target: str, row: pd.Series, targets) -> Estimate:
    values = {t: float(row[t]) for t in targets}
    intervals = {t: (float(row[f"{t}_low"]), float(row[f"{t}_high"])) for t in targets}
    return Estimate(target, values, intervals, bool(row.get("extrapolating", False)), str(row.get("reason", "") or ""))


def estimate(model, config: dict | None = None, target: str = "yosys-xc7", per_layer: bool = True) -> Estimate:
    """Predict BRAM, DSP, FF, LUT, latency and II of one design (see the module docstring)."""
    sur = load_target(target)
    design = _design(model, config)
    pieces = _layer_designs(design) if per_layer else []
    df = sur.predict([design] + [d for _, d in pieces])
    est = _row_to_estimate(str(target), df.iloc[0], sur.targets)
    if pieces:
        shares = df.iloc[1:][list(sur.targets)].reset_index(drop=True)
        shares.insert(0, "layer", [name for name, _ in pieces])
        est.per_layer = shares
    return est


def estimate_many(designs: Iterable, target: str = "yosys-xc7", config: dict | None = None) -> pd.DataFrame:
    """Predict thousands of designs at once. Each item: a model, an ``(model, config)`` pair, a description
    dict, or an already built fact dict (``{"layers": [facts...], ...}`` as stored in datasets)."""
    sur = load_target(target)
    facts = []
    for item in designs:
        if isinstance(item, tuple):
            facts.append(_design(*item))
        elif isinstance(item, dict) and item.get("layers") and isinstance(item["layers"][0], dict) \
                and "kind" in item["layers"][0]:
            facts.append(item)
        else:
            facts.append(_design(item, config))
    return sur.predict(facts)
