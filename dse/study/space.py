"""The search space: per-layer bits, sparsity, reuse factor and strategy as Optuna parameters.

    >>> from dse.study.space import param_name
    >>> param_name("weight_bits", "fc1"), param_name("strategy", None)
    ('weight_bits:fc1', 'strategy')

A per-layer quantity of layer ``fc1`` is the parameter ``<quantity>:fc1``; a shared one (``per_layer: false``)
is ``<quantity>``; a quantity whose range holds one value is no parameter at all. :func:`suggest_design`
asks a trial for them; :func:`design_from_params` reads them back (from a FrozenTrial's ``params``), so a
trial's model can be rebuilt from the study file and the parameters alone.
"""
from __future__ import annotations

from typing import Any, Callable

from .model import layer_plan, matrix_layers, relu_layers

__all__ = ["param_name", "suggest_design", "design_from_params", "layers_of", "space_size"]

#: which layers each quantity applies to
_APPLIES = {"weight_bits": "matrix", "activation_bits": "relu", "sparsity": "matrix", "reuse_factor": "matrix",
            "strategy": "matrix"}


def param_name(quantity: str, layer: str | None) -> str:
    return quantity if layer is None else f"{quantity}:{layer}"


def layers_of(spec, quantity: str) -> list[str]:
    plan = layer_plan(spec.model)
    return matrix_layers(plan) if _APPLIES[quantity] == "matrix" else relu_layers(plan)


def _value(spec, quantity: str, layer: str, get: Callable[[str, Any], Any]) -> Any:
    p = spec.search.space[quantity]
    if p.fixed is not None:
        return p.fixed
    return get(param_name(quantity, layer if p.per_layer else None), p)


def _build(spec, get) -> dict[str, dict]:
    design: dict[str, dict] = {name: {} for name in matrix_layers(layer_plan(spec.model))}
    for q in spec.search.space:
        for layer in layers_of(spec, q):
            design[layer][q] = _value(spec, q, layer, get)
    return design


def suggest_design(trial, spec) -> dict[str, dict]:
    """Ask ``trial`` for every searched quantity; returns ``{layer: {quantity: value}}``."""
    def get(name, p):
        if p.kind == "int":
            return trial.suggest_int(name, int(p.low), int(p.high), step=int(p.step or 1))
        if p.kind == "float":
            return round(trial.suggest_float(name, float(p.low), float(p.high), step=p.step), 6)
        return trial.suggest_categorical(name, list(p.choices))
    return _build(spec, get)


def design_from_params(spec, params: dict) -> dict[str, dict]:
    """The per-layer design of a trial's parameters (KeyError when a parameter is missing)."""
    return _build(spec, lambda name, p: round(params[name], 6) if p.kind == "float" else params[name])


def space_size(spec) -> float:
    """Number of distinct designs (inf with a continuous sparsity range)."""
    import math

    n = 1.0
    for q, p in spec.search.space.items():
        if p.fixed is not None:
            continue
        if p.kind == "choice":
            k = len(p.choices)
        elif p.kind == "int":
            k = (int(p.high) - int(p.low)) // int(p.step or 1) + 1
        else:
            k = math.inf if not p.step else int(round((p.high - p.low) / p.step)) + 1
        n *= k ** (len(layers_of(spec, q)) if p.per_layer else 1)
    return n
