"""The sweep file: what to synthesize. Validated before any synthesis; errors name the key and its line.

    name: dense-layers
    output: data/datasets/yosys-xc7.parquet
    backend: yosys                 # yosys | vitis | vivado
    part: xc7z020clg400-1
    clock_period: 10               # ns
    timeout: 600                   # seconds per synthesis
    sample: {mode: grid}           # grid (every combination) | random (count, seed)
    architectures:                 # explicit layer lists and/or generators
      - layers: [{type: Dense, n_in: 16, n_out: 8}]
      - generate: {kind: dense, count: 20, seed: 0, depth: [1, 3], inputs: [8, 64], widths: [4, 64],
                   outputs: [2, 10]}
      - generate: {kind: conv2d, count: 4, seed: 0, input_shape: [8, 8, 1], filters: [2, 8], kernel: [1, 3]}
    precision:
      weight_bits: [4, 8]          # a list, or {low: 2, high: 16, step: 2}
      activation_bits: [8]
      weight_integer_bits: 2       # optional (default: 1 below 4 bits, else 2)
      activation_integer_bits: 4   # optional (default: about half the bits)
      style: uniform               # uniform: every layer's result is ap_fixed<activation_bits, ...>;
                                   # qkeras: what `dse run` builds from QKeras models: exact (auto) Dense/Conv
                                   # results, ReLU outputs ufixed<activation_bits, 1..3>, a quantized input
                                   # layer of input_bits (default [12]) with input_integer_bits (default 4)
    reuse_factors: [1, 4, 16]      # or "all": every valid value of the largest layer
    strategies: [latency, resource]
    sparsity: [0.0, 0.5]
    max_multipliers: 256           # optional: skip points whose sum over layers of
                                   # ceil(nonzero weights / reuse) is larger (keeps each synthesis short)
    verify: true                   # also simulate each design with Verilator against the emulator
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..yamlfile import SpecError, YamlDocument, load_yaml

__all__ = ["SweepSpec", "load_sweep", "parse_sweep", "BACKENDS"]

BACKENDS = ("yosys", "vitis", "vivado")
_TOP = {"name", "output", "backend", "part", "clock_period", "timeout", "sample", "architectures", "precision",
        "reuse_factors", "strategies", "sparsity", "seed", "workers", "verify", "max_multipliers"}
_GEN_KEYS = {"kind", "count", "seed", "depth", "inputs", "widths", "outputs", "input_shape", "filters", "kernel",
             "conv_layers", "pool", "activation", "dense_widths", "name"}
_PREC_KEYS = {"weight_bits", "activation_bits", "weight_integer_bits", "activation_integer_bits", "style",
              "input_bits", "input_integer_bits"}
STYLES = ("uniform", "qkeras")


@dataclass
class SweepSpec:
    name: str
    output: str
    architectures: list[dict]
    weight_bits: list[int]
    activation_bits: list[int]
    weight_integer_bits: int | None = None
    activation_integer_bits: int | None = None
    style: str = "uniform"
    input_bits: list[int] = field(default_factory=lambda: [12])
    input_integer_bits: int = 4
    reuse_factors: list[int] | str = field(default_factory=lambda: [1])
    strategies: list[str] = field(default_factory=lambda: ["latency"])
    sparsity: list[float] = field(default_factory=lambda: [0.0])
    backend: str = "yosys"
    part: str = "xc7z020clg400-1"
    clock_period: float = 10.0
    timeout: float = 600.0
    sample_mode: str = "grid"
    sample_count: int | None = None
    seed: int = 0
    workers: int | None = None
    verify: bool = True
    max_multipliers: int | None = None
    source: str = "<string>"


def _int_list(doc: YamlDocument, path, value, lo: int, hi: int) -> list[int]:
    if isinstance(value, dict):
        extra = set(value) - {"low", "high", "step"}
        if extra or "low" not in value or "high" not in value:
            raise doc.error(path, "a range needs exactly low, high and optionally step")
        value = list(range(int(value["low"]), int(value["high"]) + 1, int(value.get("step", 1))))
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise doc.error(path, f"must be a non-empty list of integers or a range, got {value!r}")
    for i, v in enumerate(value):
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise doc.error(list(path) + [i], f"must be an integer in {lo}..{hi}, got {v!r}")
    return value


def _validate_arch(doc: YamlDocument, i: int, arch) -> dict:
    path = ["architectures", i]
    if not isinstance(arch, dict) or len({"layers", "generate"} & set(arch)) != 1:
        raise doc.error(path, "each architecture is either {layers: [...]} or {generate: {...}}")
    extra = set(arch) - {"layers", "generate", "name"}
    if extra:
        raise doc.error(path + [sorted(extra)[0]], f"unknown key {sorted(extra)[0]!r}")
    if "layers" in arch:
        from codegen.describe import DescriptionError, graph_from_description

        if not isinstance(arch["layers"], list) or not arch["layers"]:
            raise doc.error(path + ["layers"], "must be a non-empty list of layer dicts")
        try:
            graph_from_description({"layers": arch["layers"]})
        except (DescriptionError, KeyError, TypeError, ValueError) as e:
            raise doc.error(path + ["layers"], str(e)) from None
        return arch
    gen = arch["generate"]
    if not isinstance(gen, dict):
        raise doc.error(path + ["generate"], "must be a mapping")
    for k in gen:
        if k not in _GEN_KEYS:
            raise doc.error(path + ["generate", k], f"unknown key {k!r}; expected one of {sorted(_GEN_KEYS)}")
    if gen.get("kind") not in ("dense", "conv1d", "conv2d"):
        raise doc.error(path + ["generate", "kind"], f"kind must be dense, conv1d or conv2d, got {gen.get('kind')!r}")
    if not isinstance(gen.get("count", 1), int) or gen.get("count", 1) < 1:
        raise doc.error(path + ["generate", "count"], "count must be a positive integer")
    for k in ("depth", "inputs", "widths", "outputs", "filters", "kernel", "conv_layers", "dense_widths"):
        if k in gen:
            v = gen[k]
            if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and x >= 1 for x in v)
                    and v[0] <= v[1]):
                raise doc.error(path + ["generate", k], f"must be [low, high] with 1 <= low <= high, got {v!r}")
    return arch


def parse_sweep(doc: YamlDocument) -> SweepSpec:
    d = doc.data
    if not isinstance(d, dict):
        raise doc.error([], "a sweep file is a mapping of keys")
    for k in d:
        if k not in _TOP:
            raise doc.error([k], f"unknown key {k!r}; expected one of {sorted(_TOP)}")
    for k in ("name", "output", "architectures", "precision"):
        if k not in d:
            raise doc.error([], f"missing required key {k!r}")
    backend = d.get("backend", "yosys")
    if backend not in BACKENDS:
        raise doc.error(["backend"], f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if not isinstance(d["architectures"], list) or not d["architectures"]:
        raise doc.error(["architectures"], "must be a non-empty list")
    archs = [_validate_arch(doc, i, a) for i, a in enumerate(d["architectures"])]
    prec = d["precision"]
    if not isinstance(prec, dict):
        raise doc.error(["precision"], "must be a mapping")
    for k in prec:
        if k not in _PREC_KEYS:
            raise doc.error(["precision", k], f"unknown key {k!r}; expected one of {sorted(_PREC_KEYS)}")
    wb = _int_list(doc, ["precision", "weight_bits"], prec.get("weight_bits", [8]), 1, 32)
    ab = _int_list(doc, ["precision", "activation_bits"], prec.get("activation_bits", [16]), 1, 32)
    wi = prec.get("weight_integer_bits")
    ai = prec.get("activation_integer_bits")
    for key, v in (("weight_integer_bits", wi), ("activation_integer_bits", ai)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not -8 <= v <= 32):
            raise doc.error(["precision", key], f"must be an integer in -8..32, got {v!r}")
    style = prec.get("style", "uniform")
    if style not in STYLES:
        raise doc.error(["precision", "style"], f"unknown style {style!r}; expected one of {', '.join(STYLES)}")
    ib = _int_list(doc, ["precision", "input_bits"], prec.get("input_bits", [12]), 2, 32)
    ii = prec.get("input_integer_bits", 4)
    if not isinstance(ii, int) or isinstance(ii, bool) or not 0 <= ii < min(ib):
        raise doc.error(["precision", "input_integer_bits"], f"must be an integer in 0..{min(ib) - 1}, got {ii!r}")
    if style == "uniform" and ("input_bits" in prec or "input_integer_bits" in prec):
        raise doc.error(["precision", "input_bits" if "input_bits" in prec else "input_integer_bits"],
                        "input_bits / input_integer_bits need style: qkeras (uniform types every layer alike)")
    rfs = d.get("reuse_factors", [1])
    if rfs != "all":
        rfs = _int_list(doc, ["reuse_factors"], rfs, 1, 1 << 20)
    strategies = d.get("strategies", ["latency"])
    if isinstance(strategies, str):
        strategies = [strategies]
    for i, s in enumerate(strategies):
        if str(s).lower() not in ("latency", "resource"):
            raise doc.error(["strategies", i], f"strategy must be latency or resource, got {s!r}")
    sparsity = d.get("sparsity", [0.0])
    sparsity = sparsity if isinstance(sparsity, list) else [sparsity]
    for i, s in enumerate(sparsity):
        if not isinstance(s, (int, float)) or isinstance(s, bool) or not 0 <= s < 1:
            raise doc.error(["sparsity", i], f"sparsity must be a number in [0, 1), got {s!r}")
    sample = d.get("sample", {"mode": "grid"})
    if not isinstance(sample, dict) or sample.get("mode", "grid") not in ("grid", "random") or \
            set(sample) - {"mode", "count", "seed"}:
        raise doc.error(["sample"], "sample is {mode: grid} or {mode: random, count: N, seed: S}")
    if sample.get("mode") == "random" and (not isinstance(sample.get("count"), int) or sample["count"] < 1):
        raise doc.error(["sample", "count"], "random sampling needs a positive integer count")
    for key in ("clock_period", "timeout"):
        v = d.get(key, 1)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise doc.error([key], f"must be a positive number, got {v!r}")
    max_mult = d.get("max_multipliers")
    if max_mult is not None and (not isinstance(max_mult, int) or isinstance(max_mult, bool) or max_mult < 1):
        raise doc.error(["max_multipliers"], f"must be a positive integer, got {max_mult!r}")
    workers = d.get("workers")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise doc.error(["workers"], f"must be a positive integer, got {workers!r}")
    return SweepSpec(
        name=str(d["name"]), output=str(d["output"]), architectures=archs, weight_bits=wb, activation_bits=ab,
        weight_integer_bits=wi, activation_integer_bits=ai, style=style, input_bits=ib, input_integer_bits=ii,
        reuse_factors=rfs,
        strategies=[str(s).lower() for s in strategies], sparsity=[float(s) for s in sparsity], backend=backend,
        part=str(d.get("part", "xc7z020clg400-1")), clock_period=float(d.get("clock_period", 10.0)),
        timeout=float(d.get("timeout", 600)), sample_mode=sample.get("mode", "grid"),
        sample_count=sample.get("count"), seed=int(sample.get("seed", d.get("seed", 0))), workers=workers,
        verify=bool(d.get("verify", True)), max_multipliers=max_mult, source=doc.source)


def load_sweep(path) -> SweepSpec:
    """Read and validate a sweep file. Raises :class:`SpecError` naming the key path and line."""
    return parse_sweep(load_yaml(path))
