"""The study file (``dse run study.yml``): validated before any work; errors name the key path and its line.

    >>> from dse.study.spec import parse_study_text
    >>> spec = parse_study_text('''
    ... name: t
    ... data: {source: "sklearn:digits"}
    ... model: {input_shape: [64], hidden: [8], outputs: 10}
    ... search: {trials: 4, objectives: [accuracy:max, lut:min]}
    ... hardware: {surrogate: none}
    ... ''', check_data=False, check_surrogate=False)
    >>> spec.search.trials, spec.objectives
    (4, [('accuracy', 'maximize'), ('lut', 'minimize')])

Every section and key is listed in :data:`SCHEMA` (see ``studies/digits_mlp.yml`` for a commented example).
Relative ``data.source`` and ``model.keras`` paths are looked up in the current folder, then beside the study
file; ``storage`` and ``output`` are relative to the current folder.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..yamlfile import SpecError, YamlDocument, load_yaml, load_yaml_text

__all__ = ["StudySpec", "SearchSpec", "SpaceParam", "load_study_spec", "parse_study", "parse_study_text",
           "OBJECTIVES", "CONSTRAINT_KEYS", "SAMPLERS", "BACKENDS", "SpecError"]

#: objective name -> what it reads (``accuracy`` from the emulator; the others from the surrogate)
OBJECTIVES = {"accuracy": "accuracy", "lut": "lut", "ff": "ff", "dsp": "dsp", "bram_18k": "bram_18k",
              "latency": "latency_cycles", "ii": "ii"}
#: resources/latency are maxima; ``accuracy`` is a minimum
CONSTRAINT_KEYS = ("lut", "ff", "dsp", "bram_18k", "latency", "ii", "accuracy")
SAMPLERS = ("nsga2", "tpe", "random")
BACKENDS = ("yosys", "vitis", "vivado")
SCALES = ("standard", "minmax", "none")
SPACE_KEYS = ("weight_bits", "activation_bits", "sparsity", "reuse_factor", "strategy")

SCHEMA: dict[str, dict[str, type | tuple]] = {
    "data": {"source": str, "label": str, "features": list, "test_fraction": (int, float), "scale": str,
             "seed": int, "max_samples": int},
    "model": {"input_shape": list, "conv": list, "pool": int, "hidden": list, "activation": str, "outputs": int,
              "keras": str, "input_bits": int, "input_integer_bits": (int, str)},
    "training": {"epochs": int, "batch_size": int, "learning_rate": (int, float), "seed": int,
                 "prune_start": (int, float), "prune_end": (int, float)},
    "search": {"trials": int, "sampler": str, "seed": int, "population": int, "workers": int, "space": dict,
               "objectives": list, "constraints": dict, "weight_integer_bits": int,
               "activation_integer_bits": (int, str)},
    "hardware": {"part": str, "clock_period": (int, float), "backend": str, "surrogate": str},
    "synthesis": {"pareto_candidates": int, "timeout": (int, float), "workers": int, "refit": bool, "verify": bool,
                  "refit_dataset": str},
}
_TOP = {"name", "data", "model", "training", "search", "hardware", "synthesis", "storage", "output"}


@dataclass
class SpaceParam:
    """One searched quantity. ``kind``: int (low..high), float (low..high, step), choice (choices)."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: list | None = None
    per_layer: bool = True

    @property
    def fixed(self) -> Any:
        """The value when the range holds a single value, else None."""
        if self.kind == "choice" and len(self.choices) == 1:
            return self.choices[0]
        if self.kind != "choice" and self.low == self.high:
            return self.low
        return None


@dataclass
class SearchSpec:
    trials: int = 40
    sampler: str = "tpe"
    seed: int = 0
    population: int | None = None
    workers: int = 1
    space: dict[str, SpaceParam] = field(default_factory=dict)
    weight_integer_bits: int = 0
    activation_integer_bits: int | str = "auto"


@dataclass
class StudySpec:
    """A validated study file. ``doc`` keeps the lines, ``text`` the file as written (stored with the study)."""

    name: str
    data: dict
    model: dict
    training: dict
    search: SearchSpec
    objectives: list[tuple[str, str]]
    constraints: dict[str, float]
    hardware: dict
    synthesis: dict
    storage: str
    output: str
    source: str = "<string>"
    text: str = ""
    base_dir: str = "."
    doc: YamlDocument | None = field(default=None, repr=False)

    @property
    def objective_names(self) -> list[str]:
        return [n for n, _ in self.objectives]

    @property
    def directions(self) -> list[str]:
        return [d for _, d in self.objectives]

    def search_hash(self) -> str:
        """Hash of what defines the search (model, data, training, space, objectives): changes warn on resume."""
        import json

        key = {k: getattr(self, k) for k in ("data", "model", "training", "objectives", "constraints")}
        key["space"] = {k: vars(v) for k, v in self.search.space.items()}
        key["hardware"] = {k: self.hardware[k] for k in ("part", "clock_period", "surrogate")}
        return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def resolve_path(self, value: str) -> Path:
        p = Path(value).expanduser()
        if p.is_absolute() or p.exists():
            return p
        q = Path(self.base_dir) / p
        return q if q.exists() else p


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_types(doc: YamlDocument, section: str, d: dict) -> None:
    schema = SCHEMA[section]
    for k, v in d.items():
        if k not in schema:
            raise doc.error([section, k], f"unknown key {k!r}; expected one of {', '.join(sorted(schema))}")
        want = schema[k]
        ok = isinstance(v, want) and not (isinstance(v, bool) and want in (int, (int, float)))
        if want is bool:
            ok = isinstance(v, bool)
        if not ok:
            names = " or ".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
            raise doc.error([section, k], f"must be {names}, got {v!r}")


def _positive(doc, path, v, integer=True, allow_zero=False):
    bad = (not isinstance(v, int) if integer else not _num(v)) or isinstance(v, bool)
    if bad or v < 0 or (v == 0 and not allow_zero):
        raise doc.error(path, f"must be a {'non-negative' if allow_zero else 'positive'} "
                              f"{'integer' if integer else 'number'}, got {v!r}")


def _space_param(doc: YamlDocument, key: str, v) -> SpaceParam:
    path = ["search", "space", key]
    per_layer = True
    if isinstance(v, dict) and "per_layer" in v:
        per_layer = v["per_layer"]
        if not isinstance(per_layer, bool):
            raise doc.error(path + ["per_layer"], f"must be true or false, got {per_layer!r}")
        v = {k: x for k, x in v.items() if k != "per_layer"}
    if isinstance(v, dict) and set(v) == {"choices"}:
        v = v["choices"]
    if key in ("reuse_factor", "strategy"):
        v = [v] if not isinstance(v, list) else v
        if not v:
            raise doc.error(path, "must be a non-empty list")
        for i, c in enumerate(v):
            if key == "reuse_factor" and (not isinstance(c, int) or isinstance(c, bool) or c < 1):
                raise doc.error(path + [i], f"reuse factors are integers >= 1, got {c!r}")
            if key == "strategy" and str(c).lower() not in ("latency", "resource"):
                raise doc.error(path + [i], f"strategy must be latency or resource, got {c!r}")
        if key == "strategy":
            v = [str(c).lower() for c in v]
        return SpaceParam(key, "choice", choices=list(dict.fromkeys(v)), per_layer=per_layer)
    integer = key != "sparsity"
    lo_hi = (0.0, 0.99) if key == "sparsity" else (2, 32)
    if _num(v) or isinstance(v, list):
        vals = v if isinstance(v, list) else [v]
        if not vals:
            raise doc.error(path, "must not be empty")
        for i, c in enumerate(vals):
            if not _num(c) or (integer and not isinstance(c, int)) or not lo_hi[0] <= c <= lo_hi[1]:
                raise doc.error(path + ([i] if isinstance(v, list) else []),
                                f"must be {'an integer' if integer else 'a number'} in {lo_hi[0]}..{lo_hi[1]}, "
                                f"got {c!r}")
        return SpaceParam(key, "choice", choices=list(dict.fromkeys(vals)), per_layer=per_layer)
    if not isinstance(v, dict):
        raise doc.error(path, f"must be {{low: .., high: ..}}, a list of values or a single value, got {v!r}")
    extra = set(v) - {"low", "high", "step"}
    if extra:
        k = sorted(extra)[0]
        raise doc.error(path + [k], f"unknown key {k!r}; a range has low, high, step and per_layer")
    for k in ("low", "high"):
        if k not in v:
            raise doc.error(path, f"a range needs {k!r}")
        c = v[k]
        if not _num(c) or (integer and not isinstance(c, int)) or not lo_hi[0] <= c <= lo_hi[1]:
            raise doc.error(path + [k], f"must be {'an integer' if integer else 'a number'} in "
                                        f"{lo_hi[0]}..{lo_hi[1]}, got {c!r}")
    if v["low"] > v["high"]:
        raise doc.error(path + ["low"], f"low ({v['low']}) is above high ({v['high']}): an impossible range")
    step = v.get("step", 1 if integer else None)
    if step is not None and (not _num(step) or step <= 0 or (integer and not isinstance(step, int))):
        raise doc.error(path + ["step"], f"must be a positive {'integer' if integer else 'number'}, got {step!r}")
    return SpaceParam(key, "int" if integer else "float", v["low"], v["high"], step, per_layer=per_layer)


def _objectives(doc: YamlDocument, raw) -> list[tuple[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise doc.error(["search", "objectives"], "must be a non-empty list like [accuracy:max, lut:min]")
    out, seen = [], set()
    for i, o in enumerate(raw):
        name, _, direction = str(o).partition(":")
        name = {"bram": "bram_18k"}.get(name.strip(), name.strip())
        direction = direction.strip() or ("max" if name == "accuracy" else "min")
        if name not in OBJECTIVES:
            raise doc.error(["search", "objectives", i], f"unknown objective {name!r}; expected one of "
                                                         f"{', '.join(OBJECTIVES)}")
        if direction not in ("max", "min"):
            raise doc.error(["search", "objectives", i], f"direction must be max or min, got {direction!r}")
        if name in seen:
            raise doc.error(["search", "objectives", i], f"objective {name!r} is listed twice")
        seen.add(name)
        out.append((name, "maximize" if direction == "max" else "minimize"))
    return out


def _section(doc: YamlDocument, d: dict, name: str) -> dict:
    v = d.get(name, {})
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise doc.error([name], f"must be a mapping, got {v!r}")
    _check_types(doc, name, v)
    return dict(v)


def parse_study(doc: YamlDocument, check_data: bool = True, check_surrogate: bool = True,
                check_backend: bool = False) -> StudySpec:
    """Validate a parsed study file. ``check_data`` loads the data (unreadable data fails here);
    ``check_surrogate`` asks :func:`estimators.available_targets`; ``check_backend`` looks for the tool.
    Without ``check_data`` the model's layer plan may be left unknown (enough for reports)."""
    d = doc.data
    if not isinstance(d, dict):
        raise doc.error([], "a study file is a mapping of keys")
    for k in d:
        if k not in _TOP:
            raise doc.error([k], f"unknown key {k!r}; expected one of {', '.join(sorted(_TOP))}")
    for k in ("name", "data", "model"):
        if k not in d:
            raise doc.error([], f"missing required key {k!r}")
    if not isinstance(d["name"], str) or not d["name"].strip():
        raise doc.error(["name"], f"must be a non-empty string, got {d['name']!r}")
    data, model, training = (_section(doc, d, s) for s in ("data", "model", "training"))
    search_raw, hardware, synthesis = (_section(doc, d, s) for s in ("search", "hardware", "synthesis"))

    # data
    if "source" not in data:
        raise doc.error(["data"], "missing required key 'source' (sklearn:<loader> or a .npz/.csv/.parquet path)")
    tf_ = data.get("test_fraction", 0.2)
    if not 0 < tf_ < 1:
        raise doc.error(["data", "test_fraction"], f"must be between 0 and 1 (exclusive), got {tf_!r}")
    if data.get("scale", "standard") not in SCALES:
        raise doc.error(["data", "scale"], f"unknown scale {data['scale']!r}; expected one of {', '.join(SCALES)}")
    if "max_samples" in data:
        _positive(doc, ["data", "max_samples"], data["max_samples"])
    data = {"label": "target", "test_fraction": float(tf_), "scale": "standard", "seed": 0, **data}

    # model
    from .model import check_model_section

    model = check_model_section(doc, model, load_keras=check_data)

    # training
    for k in ("epochs", "batch_size"):
        if k in training:
            _positive(doc, ["training", k], training[k])
    if "learning_rate" in training:
        _positive(doc, ["training", "learning_rate"], training["learning_rate"], integer=False)
    ps, pe = training.get("prune_start", 0.2), training.get("prune_end", 0.7)
    if not 0 <= ps < pe <= 1:
        raise doc.error(["training", "prune_start" if "prune_start" in training else "prune_end"],
                        f"need 0 <= prune_start < prune_end <= 1 (fractions of training), got {ps}, {pe}")
    training = {"epochs": 15, "batch_size": 128, "learning_rate": 3e-3, "seed": 0, "prune_start": float(ps),
                "prune_end": float(pe), **training}

    # search
    search = SearchSpec()
    search.trials = search_raw.get("trials", 40)
    _positive(doc, ["search", "trials"], search.trials)
    search.sampler = search_raw.get("sampler", "tpe")
    if search.sampler not in SAMPLERS:
        raise doc.error(["search", "sampler"], f"unknown sampler {search.sampler!r}; expected one of "
                                               f"{', '.join(SAMPLERS)}")
    search.seed = search_raw.get("seed", 0)
    for k in ("population", "workers"):
        if k in search_raw:
            _positive(doc, ["search", k], search_raw[k])
    search.population, search.workers = search_raw.get("population"), search_raw.get("workers", 1)
    space_raw = search_raw.get("space", {}) or {}
    for k in space_raw:
        if k not in SPACE_KEYS:
            raise doc.error(["search", "space", k], f"unknown key {k!r}; expected one of {', '.join(SPACE_KEYS)}")
    defaults = {"weight_bits": {"low": 4, "high": 8}, "activation_bits": {"low": 4, "high": 8}, "sparsity": 0.0,
                "reuse_factor": [1], "strategy": ["latency"]}
    search.space = {k: _space_param(doc, k, space_raw.get(k, defaults[k])) for k in SPACE_KEYS}
    search.weight_integer_bits = search_raw.get("weight_integer_bits", 0)
    search.activation_integer_bits = search_raw.get("activation_integer_bits", "auto")
    if search.activation_integer_bits != "auto" and not isinstance(search.activation_integer_bits, int):
        raise doc.error(["search", "activation_integer_bits"], "must be an integer or 'auto'")
    objectives = _objectives(doc, search_raw.get("objectives", ["accuracy:max", "lut:min"]))
    constraints = search_raw.get("constraints", {}) or {}
    for k, v in constraints.items():
        if k not in CONSTRAINT_KEYS:
            raise doc.error(["search", "constraints", k], f"unknown constraint {k!r}; expected one of "
                                                          f"{', '.join(CONSTRAINT_KEYS)}")
        if not _num(v) or v <= 0 or (k == "accuracy" and v > 1):
            raise doc.error(["search", "constraints", k], f"must be a positive number{' <= 1' * (k == 'accuracy')}"
                                                          f", got {v!r}")

    # hardware
    hardware = {"part": "xc7z020clg400-1", "clock_period": 10.0, "backend": "yosys", "surrogate": "yosys-xc7",
                **hardware}
    _positive(doc, ["hardware", "clock_period"], hardware["clock_period"], integer=False)
    if hardware["backend"] not in BACKENDS:
        raise doc.error(["hardware", "backend"], f"unknown backend {hardware['backend']!r}; expected one of "
                                                 f"{', '.join(BACKENDS)}")
    if check_surrogate:
        import estimators

        if not hasattr(estimators, "available_targets") or not hasattr(estimators, "estimate"):
            raise doc.error(["hardware", "surrogate"], "this installation's estimators package has no "
                                                       "estimate()/available_targets(): no surrogate can be used")
        from estimators.api import UnknownTarget, target_dir

        try:
            target_dir(hardware["surrogate"])
        except UnknownTarget:
            avail = estimators.available_targets()
            raise doc.error(["hardware", "surrogate"], f"unknown surrogate {hardware['surrogate']!r}; available: "
                                                       f"{', '.join(avail) or '(none installed)'}, or a folder "
                                                       "holding a surrogate's metadata.json") from None
    synthesis = {"pareto_candidates": 5, "timeout": 1800, "workers": 1, "refit": False, "verify": True, **synthesis}
    _positive(doc, ["synthesis", "pareto_candidates"], synthesis["pareto_candidates"], allow_zero=True)
    _positive(doc, ["synthesis", "timeout"], synthesis["timeout"], integer=False)
    _positive(doc, ["synthesis", "workers"], synthesis["workers"])
    if check_surrogate and synthesis["refit"]:
        from .refit import RefitError, check_refit

        try:
            check_refit(SimpleNamespace(hardware=hardware, synthesis=synthesis,
                                        base_dir=str(Path(doc.source).parent) if doc.source != "<string>" else "."))
        except RefitError as e:
            raise doc.error(["synthesis", "refit_dataset" if "refit_dataset" in synthesis else "refit"],
                            str(e)) from None
    if check_backend and synthesis["pareto_candidates"] > 0:
        from ..sweep.runner import ToolUnavailable, tool_version

        try:
            tool_version(hardware["backend"])
        except ToolUnavailable as e:
            raise doc.error(["hardware", "backend"], str(e)) from None

    output = d.get("output", f"runs/{d['name']}")
    if not isinstance(output, str) or not output:
        raise doc.error(["output"], f"must be a folder path, got {output!r}")
    storage = d.get("storage") or f"sqlite:///{Path(output) / 'study.db'}"
    from .storage import check_storage_url

    problem = check_storage_url(storage)
    if problem:
        raise doc.error(["storage"], problem)
    base = str(Path(doc.source).parent) if doc.source != "<string>" else "."
    spec = StudySpec(name=d["name"].strip(), data=data, model=model, training=training, search=search,
                     objectives=objectives, constraints={k: float(v) for k, v in constraints.items()},
                     hardware=hardware, synthesis=synthesis, storage=storage, output=output, source=doc.source,
                     base_dir=base, doc=doc)
    if check_data:
        from .data import check_data as _check_data

        _check_data(spec)
    return spec


def parse_study_text(text: str, source: str = "<string>", **kw) -> StudySpec:
    spec = parse_study(load_yaml_text(text, source), **kw)
    spec.text = text
    return spec


def load_study_spec(path, **kw) -> StudySpec:
    """Read and validate a study file. Raises :class:`SpecError` naming the key path and line."""
    doc = load_yaml(path)
    spec = parse_study(doc, **kw)
    spec.text = Path(path).read_text()
    return spec
