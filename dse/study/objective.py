"""One trial: design -> QAT + pruning -> exact accuracy -> codegen -> surrogate -> objectives and constraints.

    >>> objective = StudyObjective(spec)                       # doctest: +SKIP
    >>> study.optimize(objective, n_trials=1)                  # doctest: +SKIP

Per trial: the per-layer design is suggested (:mod:`dse.study.space`); the QKeras model is trained with QAT and
pruned (:mod:`dse.study.train`); it is converted with ``codegen`` (per-layer precisions from the quantizers,
per-layer ReuseFactor and Strategy from the trial: the reuse factor is clamped to the layer's ``n_in*n_out``,
and codegen snaps it to a valid one for Resource layers, with a warning); ``accuracy`` is the *bit-exact*
emulator's test accuracy (it equals QKeras'; a difference is logged as a bug); ``estimators.estimate``
predicts resources and latency. Objectives are returned in the study file's order; each constraint
``name <= budget`` is reported as ``trial.set_constraint(name, (value - budget) / budget)`` (feasible when
<= 0; ``accuracy`` is a floor). The trained weights (``weights.npz``) and the trial's codegen config
(``trial.json``) go to ``<output>/trials/<number>/``.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from .storage import worker_id

__all__ = ["StudyObjective", "hls_config", "trial_dir", "save_trial_artifacts", "load_trial_artifacts",
           "PREDICTED_KEYS", "project_name"]

log = logging.getLogger(__name__)

#: objective/constraint name -> Estimate attribute
PREDICTED_KEYS = {"lut": "lut", "ff": "ff", "dsp": "dsp", "bram_18k": "bram_18k", "latency": "latency_cycles",
                  "ii": "ii"}


def trial_dir(spec, number: int) -> Path:
    return Path(spec.output) / "trials" / str(int(number))


def project_name(spec, number: int) -> str:
    return re.sub(r"\W", "_", f"{spec.name}_t{number}")


def _matrix_shape(layer) -> tuple[int, int]:
    k = layer.get_weights()[0]
    return int(np.prod(k.shape[:-1])), int(k.shape[-1])


def hls_config(spec, data, model, design: dict) -> dict:
    """The hls4ml-style config of a trial: precisions from the quantizers (``granularity="name"``), the input
    layer typed exactly, and each matrix layer's ReuseFactor (clamped to ``n_in*n_out``) and Strategy."""
    import codegen

    cfg = codegen.config_from_keras(model, granularity="name")
    names = cfg["LayerName"]
    inp = model.layers[0].name
    if inp in names:
        names[inp]["Precision"] = {"result": data.input_type}
    for layer_name, d in design.items():
        n_in, n_out = _matrix_shape(model.get_layer(layer_name))
        entry = names[layer_name]
        entry["ReuseFactor"] = int(min(int(d.get("reuse_factor", 1)), n_in * n_out))
        entry["Strategy"] = str(d.get("strategy", "latency")).capitalize()
    return cfg


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_trial_artifacts(folder: Path, weights: dict[str, np.ndarray], record: dict) -> None:
    """``weights.npz`` (``np.savez``, no pickles) and ``trial.json``, each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)

    def write_npz(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **weights)
    _atomic_write(folder / "weights.npz", write_npz)
    _atomic_write(folder / "trial.json", lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1,
                                                                                     default=str)))


def load_trial_artifacts(folder: Path) -> tuple[dict[str, np.ndarray], dict] | None:
    """(weights, record) saved by :func:`save_trial_artifacts`, or None when absent."""
    if not (folder / "weights.npz").is_file() or not (folder / "trial.json").is_file():
        return None
    with np.load(folder / "weights.npz", allow_pickle=False) as f:
        weights = {k: f[k] for k in f.files}
    return weights, json.loads((folder / "trial.json").read_text())


class StudyObjective:
    """Callable objective of a study (see the module docstring). ``data`` defaults to :func:`load_data`."""

    def __init__(self, spec, data=None):
        from .data import load_data

        self.spec = spec
        self.data = data if data is not None else load_data(spec)

    def __call__(self, trial) -> tuple[float, ...]:
        import codegen
        import estimators

        from .space import suggest_design
        from .train import model_weights, train_design

        spec, data = self.spec, self.data
        trial.set_user_attr("worker", worker_id())
        started = time.time()
        design = suggest_design(trial, spec)
        seed = int(spec.training.get("seed", 0)) + int(trial.number)
        model, info = train_design(spec, data, design, seed=seed)
        cfg = hls_config(spec, data, model, design)
        folder = trial_dir(spec, trial.number)
        hm = codegen.convert(model, config=cfg, output_dir=folder / "hls", part=spec.hardware["part"],
                             clock_period=spec.hardware["clock_period"])
        flat_test = data.X_test
        accuracy = float((hm.predict(flat_test).argmax(1) == data.y_test).mean())
        if abs(accuracy - info["accuracy_keras"]) > 1e-12:
            log.warning("trial %d: emulator accuracy %.4f != QKeras accuracy %.4f (the emulator is bit-exact: "
                        "this is a bug)", trial.number, accuracy, info["accuracy_keras"])
        est = estimators.estimate(hm, target=spec.hardware["surrogate"])
        predicted = {k: float(getattr(est, a)) for k, a in PREDICTED_KEYS.items()}
        intervals = {}
        for k, a in PREDICTED_KEYS.items():
            try:
                intervals[k] = [float(x) for x in est.interval(a)]
            except (KeyError, ValueError, AttributeError):
                pass
        resolved = hm.resolved_config()
        effective = {n: {"reuse_factor": resolved["LayerName"][n]["ReuseFactor"],
                         "strategy": resolved["LayerName"][n]["Strategy"]} for n in design}
        values = {"accuracy": accuracy, **predicted}
        constraints = {}
        for name, budget in spec.constraints.items():
            v = values[name]
            constraints[name] = (budget - v) / budget if name == "accuracy" else (v - budget) / budget
            trial.set_constraint(name, constraints[name])
        record = {"number": trial.number, "params": trial.params, "design": design, "effective": effective,
                  "config": cfg, "resolved_config": resolved, "seed": seed, "accuracy": accuracy, "accuracy_keras": info["accuracy_keras"],
                  "predicted": predicted, "intervals": intervals, "sparsity": info["sparsity"],
                  "part": spec.hardware["part"], "clock_period": spec.hardware["clock_period"]}
        save_trial_artifacts(folder, model_weights(model), record)
        attrs = {"accuracy": accuracy, "accuracy_keras": info["accuracy_keras"], "predicted": predicted,
                 "intervals": intervals, "extrapolating": bool(getattr(est, "extrapolating", False)),
                 "reason": str(getattr(est, "reason", "") or ""), "sparsity": info["sparsity"],
                 "effective": effective, "hls_config": cfg, "constraints": constraints,
                 "feasible": all(c <= 0 for c in constraints.values()), "seed": seed,
                 "train_seconds": round(info["train_seconds"], 2),
                 "trial_seconds": round(time.time() - started, 2), "artifacts": str(folder.resolve())}
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        log.info("trial %d: %s%s (%.1f s)", trial.number,
                 ", ".join(f"{n} {values[n]:.4g}" for n in spec.objective_names),
                 "" if attrs["feasible"] else " - over budget", attrs["trial_seconds"])
        return tuple(values[n] for n in spec.objective_names)
