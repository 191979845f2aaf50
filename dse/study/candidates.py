"""After the search: the feasible Pareto front, the candidates picked along it, and their real synthesis.

    >>> front = feasible_front(study)                                  # doctest: +SKIP
    >>> picks = select_candidates(front, spec, k=5)                     # doctest: +SKIP
    >>> results = synthesize_candidates(spec, study, picks)             # doctest: +SKIP

Candidates are spread evenly along the front sorted by its first resource objective (the first objective
that is not ``accuracy``), both ends included. Each one is rebuilt from the study file and its parameters,
loads its trained weights (``<output>/trials/<n>/weights.npz``; retrained with the trial's seed when the
weights are absent, e.g. the trial ran on another machine without a shared folder), is converted with the
trial's saved config, written as an HLS project (``<output>/candidates/<n>/hls``) and synthesized with
``codegen.synthesize`` (the study's backend) in parallel processes (joblib, ``synthesis.workers``).
Results are stored beside the predictions in the study's storage (study user attribute
``synthesis:<trial number>``: Optuna does not let a finished trial's attributes change) and in
``<output>/synthesis.json``; a candidate with a recorded tool result is never synthesized again.
With ``synthesis.refit``, the measured designs are appended, in the sweep dataset's row format, to
``<output>/surrogate_rows.parquet`` (:mod:`dse.study.refit` then retrains the surrogate with them).
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import socket
import time
from pathlib import Path

import numpy as np
from optuna.trial import TrialState

__all__ = ["feasible_front", "select_candidates", "synthesize_candidates", "synthesize_candidate",
           "MEASURED_KEYS", "synthesis_records", "stored_synthesis", "SYNTH_ATTR"]

log = logging.getLogger(__name__)

#: objective name -> SynthResult field
MEASURED_KEYS = {"lut": "lut", "ff": "ff", "dsp": "dsp", "bram_18k": "bram_18k", "latency": "latency_max",
                 "ii": "ii"}
_DONE = ("ok", "failed", "timeout")  # tool outcomes; a Python error before the tool ran is retried
SYNTH_ATTR = "synthesis:"              # study user attribute prefix, + trial number


def stored_synthesis(study) -> dict[int, dict]:
    """Synthesis results recorded in the study's storage, by trial number."""
    return {int(k[len(SYNTH_ATTR):]): v for k, v in study.user_attrs.items()
            if k.startswith(SYNTH_ATTR) and k[len(SYNTH_ATTR):].isdigit()}


def feasible_front(study) -> list:
    """COMPLETE trials on the Pareto front that satisfy every constraint, sorted by number."""
    front = [t for t in study.best_trials if t.state == TrialState.COMPLETE
             and all(v <= 0 for v in t.constraints.values())]
    return sorted(front, key=lambda t: t.number)


def select_candidates(front: list, spec, k: int) -> list:
    """``k`` trials spread evenly along ``front`` sorted by the first resource objective (ties: accuracy)."""
    if k <= 0 or not front:
        return []
    names = spec.objective_names
    key_name = next((n for n in names if n != "accuracy"), names[0])
    i = names.index(key_name)
    sign = -1.0 if spec.directions[i] == "maximize" else 1.0
    acc = names.index("accuracy") if "accuracy" in names else None
    ordered = sorted(front, key=lambda t: (sign * t.values[i], -(t.values[acc] if acc is not None else 0),
                                           t.number))
    if len(ordered) <= k:
        return ordered
    picks = sorted(set(int(round(x)) for x in np.linspace(0, len(ordered) - 1, k)))
    rest = [j for j in range(len(ordered)) if j not in picks]
    while len(picks) < k and rest:  # rounding collisions: fill with the widest gaps' middles
        picks.append(rest.pop(len(rest) // 2))
    return [ordered[j] for j in sorted(picks)]


def synthesis_records(output) -> dict[str, dict]:
    p = Path(output) / "synthesis.json"
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        log.warning("%s is unreadable; synthesized candidates will be taken from the study only", p)
        return {}


def _write_records(output, records: dict) -> None:
    from .objective import _atomic_write

    p = Path(output) / "synthesis.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(p, lambda tmp: Path(tmp).write_text(json.dumps(records, indent=1, sort_keys=True)))


def synthesize_candidate(spec_text: str, source: str, number: int, params: dict, workdir: str) -> dict:
    """Rebuild, convert, write and synthesize one candidate (runs in a worker process). Never raises:
    a failure is a record with ``status`` ``error`` (Python, retried next run) or the tool's status."""
    started = time.time()
    rec: dict = {"number": int(number), "status": "error", "hls_project": str(Path(workdir) / "hls")}
    try:
        from .train import set_tf_threads

        set_tf_threads(1)
        import codegen

        from .data import load_data
        from .objective import hls_config, load_trial_artifacts, project_name, trial_dir
        from .space import design_from_params
        from .spec import parse_study_text
        from .train import build_for, load_weights, train_design

        spec = parse_study_text(spec_text, source, check_surrogate=False)
        data = load_data(spec)
        design = design_from_params(spec, params)
        arts = load_trial_artifacts(trial_dir(spec, number))
        if arts is not None:
            model = build_for(spec, data, design)
            load_weights(model, arts[0])
            cfg = arts[1]["config"]
        else:
            log.warning("trial %d: no saved weights under %s; retraining it with its seed", number,
                        trial_dir(spec, number))
            model, _ = train_design(spec, data, design, seed=int(spec.training.get("seed", 0)) + int(number))
            cfg = hls_config(spec, data, model, design)
        wd = Path(workdir)
        wd.mkdir(parents=True, exist_ok=True)
        hm = codegen.convert(model, config=cfg, output_dir=wd / "hls", part=spec.hardware["part"],
                             clock_period=spec.hardware["clock_period"], project_name=project_name(spec, number))
        rec["accuracy"] = float((hm.predict(data.X_test).argmax(1) == data.y_test).mean())
        hm.write(tb_inputs=data.X_test[:16])
        rec["resolved_config"] = hm.resolved_config()
        rec["layers"] = codegen.layer_facts(hm.graph)
        if not hasattr(codegen, "synthesize"):
            raise RuntimeError("codegen.synthesize is not available in this installation")
        res = codegen.synthesize(hm, backend=spec.hardware["backend"], timeout=spec.synthesis["timeout"],
                                 workdir=wd, verify=bool(spec.synthesis.get("verify", True)))
        row = res.to_dict()
        rec.update(status=row["status"], result=row, error=row.get("error"),
                   measured={k: row.get(f) for k, f in MEASURED_KEYS.items()})
        rec["dataset_row"] = _dataset_row(spec, hm, number, design, row)
    except Exception as e:  # noqa: BLE001 - recorded, the other candidates go on
        log.warning("candidate %d: %s: %s", number, type(e).__name__, e)
        rec["error"] = f"{type(e).__name__}: {e}"
    rec["wall_seconds"] = round(time.time() - started, 2)
    return rec


def _dataset_row(spec, hm, number: int, design: dict, result: dict) -> dict:
    """A row in the sweep dataset's format (see :mod:`dse.dataset` and ``dse.sweep.runner``)."""
    import codegen

    tool_ver = result.get("tool_version") or "unknown"
    try:
        from ..sweep.points import content_hash

        h = content_hash(hm, {"backend": spec.hardware["backend"], "part": spec.hardware["part"],
                              "clock_period": spec.hardware["clock_period"]}, tool_ver)
    except Exception:  # noqa: BLE001 - the sweep module is optional here
        import hashlib

        h = hashlib.sha256(json.dumps([hm.resolved_config(), spec.name, number], sort_keys=True,
                                      default=str).encode()).hexdigest()
    vals = list(design.values())
    row = {"design_hash": h, "sweep": f"study:{spec.name}", "name": f"{spec.name}_t{number}",
           "architecture": spec.name, "description": {"study": spec.name, "trial": int(number)},
           "weight_bits": max(int(v.get("weight_bits", 0)) for v in vals),
           "activation_bits": max([int(v.get("activation_bits", 0)) for v in vals]),
           "strategy": str(vals[0].get("strategy", "latency")),
           "reuse_factor": max(int(v.get("reuse_factor", 1)) for v in vals),
           "sparsity": float(np.mean([float(v.get("sparsity", 0.0)) for v in vals])),
           "host": socket.gethostname(), "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(),
           "versions": {"fpga_dse": codegen.__version__, "python": platform.python_version(),
                        "numpy": np.__version__},
           "config": hm.resolved_config(), "layers": codegen.layer_facts(hm.graph),
           "n_matrix_layers": sum(1 for l in hm.graph if l.is_matrix), "design_kind": "network"}
    row.update(result)
    row["tool_version"] = tool_ver
    return row


def synthesize_candidates(spec, study, candidates: list, progress: bool = True) -> dict[str, dict]:
    """Synthesize the candidates not yet synthesized; record results (study + ``synthesis.json``).
    Returns every record of ``synthesis.json`` (keyed by trial number)."""
    out = Path(spec.output)
    records = synthesis_records(out)
    stored = stored_synthesis(study)
    todo = []
    for t in candidates:
        key = str(t.number)
        attr = stored.get(t.number) or {}
        if attr.get("status") in _DONE:
            records.setdefault(key, attr)
        elif records.get(key, {}).get("status") in _DONE:
            study.set_user_attr(SYNTH_ATTR + key, _attr(records[key]))
        else:
            todo.append(t)
    _write_records(out, records)
    if not todo:
        log.info("all %d candidates were synthesized before", len(candidates))
        return records
    log.info("synthesizing %d candidate(s) with %s (%d worker(s)): trials %s", len(todo), spec.hardware["backend"],
             spec.synthesis["workers"], [t.number for t in todo])
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="synthesis", unit="design", disable=not progress)
    rows = []
    by_number = {t.number: t for t in todo}
    jobs = [(spec.text, spec.source, t.number, dict(t.params), str((out / "candidates" / str(t.number)).resolve()))
            for t in todo]
    try:
        for rec in _run(jobs, int(spec.synthesis["workers"])):
            t = by_number[rec["number"]]
            row = rec.pop("dataset_row", None)
            if row is not None:
                rows.append(row)
            records[str(rec["number"])] = rec
            _write_records(out, records)
            study.set_user_attr(SYNTH_ATTR + str(t.number), _attr(rec))
            bar.update(1)
            log.info("candidate %d: %s%s", rec["number"], rec["status"],
                     f" {rec.get('measured')}" if rec["status"] == "ok" else f" ({rec.get('error')})")
    finally:
        bar.close()
    if spec.synthesis.get("refit") and rows:
        _append_rows(out, rows, spec.hardware["surrogate"])
    return records


def _append_rows(out: Path, rows: list[dict], surrogate: str) -> None:
    """Append measured designs to ``surrogate_rows.parquet`` (sweep dataset format)."""
    from ..dataset import Dataset
    from .refit import ROWS_FILE

    ds = Dataset(out / ROWS_FILE)
    n = ds.append(rows)
    log.info("refit: %d measured design(s) appended to %s (training data for the %s surrogate)", n, ds.path,
             surrogate)


def _attr(rec: dict) -> dict:
    """What goes into the storage (no big per-layer tables)."""
    keep = ("status", "measured", "error", "wall_seconds", "hls_project", "accuracy")
    d = {k: rec.get(k) for k in keep if k in rec}
    res = rec.get("result") or {}
    d.update({k: res.get(k) for k in ("tool", "tool_version", "report_path", "latency_min") if res.get(k)})
    return d


def _run(jobs: list, n_jobs: int):
    if n_jobs <= 1 or len(jobs) == 1:
        for j in jobs:
            yield synthesize_candidate(*j)
        return
    from joblib import Parallel, delayed

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    par = Parallel(n_jobs=min(n_jobs, len(jobs)), backend="loky", return_as="generator_unordered")
    yield from par(delayed(synthesize_candidate)(*j) for j in jobs)
