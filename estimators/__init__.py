"""Surrogate models of FPGA resources and latency for hls4ml-style designs.

    >>> from estimators import Surrogate, dense_design
    >>> sur = Surrogate.load("data/surrogates/vitis-u250")                  # doctest: +SKIP
    >>> sur.predict([dense_design([16, 64, 32, 32, 5], bits=8, reuse=1024)])  # doctest: +SKIP

``estimate`` / ``estimate_many`` / ``available_targets`` (estimators.api) are the model-level entry points.
"""
from .api import Estimate, UnknownTarget, available_targets, estimate, estimate_many, load_target
from .features import design_features, layer_features
from .metrics import coverage90, mape, r2, smape
from .storage import SurrogateLoadError
from .surrogate import TARGETS, Surrogate
from .wa_hls4ml import dense_design, load_wa_hls4ml

__all__ = [
    "Surrogate",
    "SurrogateLoadError",
    "TARGETS",
    "design_features",
    "layer_features",
    "load_wa_hls4ml",
    "dense_design",
    "r2",
    "smape",
    "mape",
    "coverage90",
    "Estimate",
    "UnknownTarget",
    "estimate",
    "estimate_many",
    "available_targets",
    "load_target",
]
