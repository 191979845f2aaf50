"""The study report: ``report.html`` (self-contained), ``trials.csv``, ``pareto.csv`` and ``report.json``.

    >>> paths = write_report(study, spec)                     # doctest: +SKIP
    >>> sorted(paths)                                          # doctest: +SKIP
    ['html', 'json', 'pareto', 'trials']

``report.html`` is rendered from ``dse/templates/report.html.j2`` with inline SVG charts (Pareto front plots
for each pair of objectives, hypervolume history), the predicted vs synthesized table with relative errors,
and each candidate's per-layer config ready to paste into hls4ml, with its HLS project path. It needs no
network access. ``dse report <output folder | storage URL>`` regenerates all four files.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from optuna.trial import TrialState

from .candidates import MEASURED_KEYS, feasible_front, select_candidates, stored_synthesis, synthesis_records
from .hypervolume import hypervolume_history
from .refit import refit_summary
from .svg import line_svg, scatter_svg

__all__ = ["write_report", "trial_rows", "report_data"]

log = logging.getLogger(__name__)

_LABELS = {"accuracy": "accuracy", "lut": "LUT", "ff": "FF", "dsp": "DSP", "bram_18k": "BRAM_18K",
           "latency": "latency (cycles)", "ii": "II (cycles)"}


def _num(v):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def trial_rows(study, spec) -> list[dict]:
    """One flat dict per trial (every state): parameters, objectives, predictions, constraints, synthesis."""
    names = spec.objective_names
    synth = stored_synthesis(study)
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        dur = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        row = {"number": t.number, "state": t.state.name,
               "datetime_start": t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else None,
               "duration_s": round(dur, 2) if dur is not None else None}
        for i, n in enumerate(names):
            row[n] = t.values[i] if t.values else None
        row["accuracy_keras"] = a.get("accuracy_keras")
        for k, v in (a.get("predicted") or {}).items():
            row[f"predicted_{k}"] = v
        for k, v in t.constraints.items():
            row[f"constraint_{k}"] = v
        row["feasible"] = bool(t.state == TrialState.COMPLETE and all(v <= 0 for v in t.constraints.values()))
        row["extrapolating"] = a.get("extrapolating")
        syn = synth.get(t.number) or {}
        row["synthesis_status"] = syn.get("status")
        for k in MEASURED_KEYS:
            row[f"measured_{k}"] = (syn.get("measured") or {}).get(k)
        for k, v in t.params.items():
            row[f"param_{k}"] = v
        row["worker"] = a.get("worker")
        rows.append(row)
    return rows


def _err(pred, meas):
    p, m = _num(pred), _num(meas)
    if p is None or m is None:
        return None
    return (p - m) / m if m else (0.0 if p == 0 else None)


def _trial_json(spec, number: int) -> dict:
    p = Path(spec.output) / "trials" / str(number) / "trial.json"
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def report_data(study, spec, candidates: list | None = None) -> dict:
    """Everything the report shows, JSON-able (this is ``report.json``)."""
    names, dirs = spec.objective_names, spec.directions
    complete = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)
    front = feasible_front(study)
    if candidates is None:
        candidates = select_candidates(front, spec, int(spec.synthesis.get("pareto_candidates", 0)))
    records = synthesis_records(spec.output)
    stored = stored_synthesis(study)
    cand_numbers = {t.number for t in candidates} | {int(k) for k in records} | set(stored)
    feasible = [all(v <= 0 for v in t.constraints.values()) for t in complete]
    hv = hypervolume_history([t.values for t in complete], dirs, feasible) if complete else []
    cands = []
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    for n in sorted(cand_numbers):
        t = by_number.get(n)
        if t is None:
            continue
        a = t.user_attrs
        syn = stored.get(n) or records.get(str(n)) or {}
        pred = a.get("predicted") or {}
        meas = syn.get("measured") or {}
        cands.append({
            "number": n, "values": dict(zip(names, t.values or [])), "status": syn.get("status", "not synthesized"),
            "error": syn.get("error"), "predicted": pred, "intervals": a.get("intervals") or {}, "measured": meas,
            "relative_error": {k: _err(pred.get(k), meas.get(k)) for k in MEASURED_KEYS},
            "accuracy": a.get("accuracy"), "hls_project": syn.get("hls_project"),
            "wall_seconds": syn.get("wall_seconds"), "params": t.params, "hls_config": a.get("hls_config"),
            "resolved_config": (records.get(str(n)) or {}).get("resolved_config") or _trial_json(spec, n).get(
                "resolved_config"),
            "on_front": t.number in {f.number for f in front}})
    states = pd.Series([t.state.name for t in study.get_trials(deepcopy=False)]).value_counts().to_dict()
    return {
        "study": spec.name, "storage": spec.storage, "output": str(spec.output),
        "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "objectives": [{"name": n, "direction": d} for n, d in zip(names, dirs)], "constraints": spec.constraints,
        "budget": spec.search.trials, "sampler": spec.search.sampler, "hardware": spec.hardware,
        "counts": {str(k): int(v) for k, v in states.items()}, "complete": len(complete),
        "feasible": int(sum(feasible)), "hypervolume_history": hv,
        "front": [{"number": t.number, **dict(zip(names, t.values)), "params": t.params} for t in front],
        "candidates": cands, "refit": refit_summary(spec.output),
    }


def _pair_plots(study, spec, data: dict) -> list[dict]:
    names = spec.objective_names
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    front_n = {f["number"] for f in data["front"]}
    cand = {c["number"]: c for c in data["candidates"]}
    plots = []
    for i, j in itertools.combinations(range(len(names)), 2):
        xi, yj = (j, i) if names[i] == "accuracy" else (i, j)  # accuracy on the y axis
        groups = {"infeasible": [], "trials": [], "Pareto front": []}
        for t in complete:
            feas = all(v <= 0 for v in t.constraints.values())
            g = "Pareto front" if t.number in front_n else ("trials" if feas else "infeasible")
            groups[g].append(t)
        style = {"infeasible": ("#e88", "cross", 2.5), "trials": ("#aaa", "circle", 2.5),
                 "Pareto front": ("#1f5fbf", "circle", 4)}
        series = []
        for g, ts in groups.items():
            if ts:
                c, m, s = style[g]
                series.append({"x": [t.values[xi] for t in ts], "y": [t.values[yj] for t in ts], "label": g,
                               "color": c, "marker": m, "size": s, "titles": [f"trial {t.number}" for t in ts]})
        cs = [c for c in cand.values() if c["values"]]
        if cs:
            series.append({"x": [c["values"][names[xi]] for c in cs], "y": [c["values"][names[yj]] for c in cs],
                           "label": "candidates", "color": "#f80", "marker": "ring", "size": 4,
                           "titles": [f"candidate {c['number']}" for c in cs]})
        links, mx, my, mt = [], [], [], []
        for c in cs:
            def measured(k):
                return c["values"][k] if k == "accuracy" else _num(c["measured"].get(k))
            a, b = measured(names[xi]), measured(names[yj])
            if c["status"] == "ok" and a is not None and b is not None:
                links.append(((c["values"][names[xi]], c["values"][names[yj]]), (a, b)))
                mx.append(a), my.append(b), mt.append(f"candidate {c['number']} (synthesized)")
        if mx:
            series.append({"x": mx, "y": my, "label": "synthesized", "color": "#2a2", "marker": "square",
                           "size": 3, "titles": mt})
        plots.append({"title": f"{_LABELS[names[yj]]} vs {_LABELS[names[xi]]}",
                      "svg": scatter_svg(series, _LABELS[names[xi]], _LABELS[names[yj]], links)})
    return plots


def write_report(study, spec, candidates: list | None = None, output=None) -> dict[str, str]:
    """Write the four report files into ``output`` (default: the study's output folder); returns their paths."""
    import jinja2

    out = Path(output or spec.output)
    out.mkdir(parents=True, exist_ok=True)
    data = report_data(study, spec, candidates)
    rows = trial_rows(study, spec)
    df = pd.DataFrame(rows)
    paths = {"trials": out / "trials.csv", "pareto": out / "pareto.csv", "json": out / "report.json",
             "html": out / "report.html"}
    df.to_csv(paths["trials"], index=False)
    front_n = {f["number"] for f in data["front"]}
    cand = {c["number"]: c for c in data["candidates"]}
    pf = df[df["number"].isin(front_n)].copy() if len(df) else df
    if len(pf):
        pf["candidate"] = pf["number"].isin(list(cand))
        pf["hls_project"] = [cand.get(n, {}).get("hls_project") for n in pf["number"]]
    pf.to_csv(paths["pareto"], index=False)
    paths["json"].write_text(json.dumps(data, indent=1, default=str))
    hv = data["hypervolume_history"]
    numbers = [t.number for t in sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
                                         key=lambda t: t.number)]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parents[1] / "templates")),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        d=data, labels=_LABELS, measured_keys=list(MEASURED_KEYS), pair_plots=_pair_plots(study, spec, data),
        hv_svg=line_svg(numbers, hv, "trial number", "normalized hypervolume") if hv else "",
        front_rows=[r for r in rows if r["number"] in front_n], names=spec.objective_names,
        json_dumps=lambda o: json.dumps(o, indent=2, default=str), fmt=_fmt_cell)
    paths["html"].write_text(html)
    log.info("report: %s", paths["html"])
    return {k: str(v) for k, v in paths.items()}


def _fmt_cell(v, digits: int = 4):
    if v is None:
        return "–"
    if isinstance(v, float):
        if not np.isfinite(v):
            return "–"
        return f"{v:.{digits}g}" if abs(v) < 1e6 else f"{v:.3e}"
    return str(v)
