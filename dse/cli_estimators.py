"""``dse estimate``, ``dse fit-surrogate`` and ``dse evaluate-surrogate``: the surrogate lifecycle from the shell.

    dse estimate model.h5 --config cfg.yml --target vitis-u250       # table; --json for machines
    dse estimate design.yml --target yosys-xc7                        # a weightless description
    dse fit-surrogate data/datasets/yosys-xc7.parquet --out data/surrogates/yosys-xc7
    dse evaluate-surrogate data/surrogates/yosys-xc7 --data other.parquet --json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .cli import command

TARGET_NAMES = ("lut", "ff", "dsp", "bram_18k", "latency_cycles", "ii")


def _json_safe(obj):
    """NaN/inf (e.g. R2 of a constant target) become null: the output stays valid JSON."""
    import math

    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _load_config(path: str | None) -> dict | None:
    if path is None:
        return None
    from .yamlfile import load_yaml

    return load_yaml(path).data


def _load_model(path: str):
    p = Path(path)
    if p.suffix in (".yml", ".yaml", ".json"):
        data = json.loads(p.read_text()) if p.suffix == ".json" else _load_config(str(p))
        if not isinstance(data, dict) or "layers" not in data:
            raise SystemExit(f"dse estimate: {p} is not a design description (needs a 'layers' list)")
        return data
    if p.suffix in (".h5", ".keras"):
        import tensorflow as tf
        from qkeras.utils import _add_supported_quantized_objects

        objs: dict = {}
        _add_supported_quantized_objects(objs)
        return tf.keras.models.load_model(p, custom_objects=objs, compile=False)
    raise SystemExit(f"dse estimate: {p}: expected a Keras .h5/.keras file or a .yml/.json design description")


def _estimate_args(p):
    p.add_argument("model", help="Keras .h5/.keras model, or a .yml/.json weightless design description")
    p.add_argument("--config", help="hls4ml-style config (YAML or JSON)")
    p.add_argument("--target", default="yosys-xc7", help="surrogate target (see `dse estimate --list`)")
    p.add_argument("--json", action="store_true")


@command("estimate", _estimate_args)
def _estimate(args) -> int:
    import estimators

    est = estimators.estimate(_load_model(args.model), config=_load_config(args.config), target=args.target)
    if args.json:
        d = est.to_dict()
        d["per_layer"] = est.per_layer.to_dict(orient="records")
        print(json.dumps(d, indent=2, default=float))
        return 0
    print(f"target {args.target}" + (f"   EXTRAPOLATING: {est.reason}" if est.extrapolating else ""))
    print(f"{'':16s}{'estimate':>12s}{'90% low':>12s}{'90% high':>12s}")
    for t in TARGET_NAMES:
        lo, hi = est.interval(t)
        print(f"{t:16s}{getattr(est, t):12.0f}{lo:12.0f}{hi:12.0f}")
    if not est.per_layer.empty:
        print("\nper layer:")
        print(est.per_layer.to_string(index=False))
    return 0


def _fit_args(p):
    p.add_argument("data", help="synthesis dataset (.parquet from `dse sweep`) or wa-hls4ml CSV file/folder")
    p.add_argument("--out", required=True, help="output folder (xgboost JSON models + metadata.json)")
    p.add_argument("--name", default=None, help="target name recorded in the metadata (default: folder name)")
    p.add_argument("--holdout", type=float, default=0.15, help="fraction of architectures held out for scoring")
    p.add_argument("--no-refit", action="store_true", help="ship the models trained without the held-out part")
    p.add_argument("--offsets", choices=("auto", "default", "rtl", "none"), default="auto",
                   help="analytic priors the models correct: 'rtl' (structural LUT/FF/cycle counts of the "
                        "open-source Verilog flow), 'default' (cycle counts only), 'none'; 'auto': 'rtl' for "
                        "yosys datasets, else 'default'")
    p.add_argument("--learning-rate", type=float, default=0.2, help="xgboost learning rate (default 0.2)")
    p.add_argument("--rounds", default="100,200,400",
                   help="comma-separated boosting-round grid searched by grouped CV (default 100,200,400)")
    p.add_argument("--depths", default="4,7",
                   help="comma-separated tree-depth grid searched by grouped CV (default 4,7)")
    p.add_argument("--huber-delta", type=float, default=0.0,
                   help="pseudo-Huber loss on log targets with this delta, e.g. 0.1 (default 0: squared error)")
    p.add_argument("--kinds", default=None,
                   help="comma-separated candidate model kinds grouped CV chooses among, per target "
                        "(default global,per_layer,ridge: estimators.surrogate.MODEL_KINDS)")


def _positive_ints(option: str, text: str, example: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in str(text).split(","))
        if not values or min(values) < 1:
            raise ValueError
    except ValueError:
        raise SystemExit(f"dse fit-surrogate: {option} {text!r}: expected comma-separated positive integers, "
                         f"e.g. {example}") from None
    return values


@command("fit-surrogate", _fit_args)
def _fit(args) -> int:
    import pandas as pd

    from estimators.datasets import load_any
    from estimators.surrogate import MODEL_KINDS
    from estimators.training import train_surrogate

    designs, y, groups = load_any(args.data)
    parts = sorted({d["part"] for d in designs})
    info = {"name": args.name or Path(args.out).name, "dataset": str(args.data), "parts": parts,
            "clock_periods": sorted({float(d["clock_period"]) for d in designs})}
    if str(args.data).endswith(".parquet"):
        df = pd.read_parquet(args.data)
        ok = df[df["status"] == "ok"]
        info.update({"backend": str(ok["tool"].iloc[0]) if len(ok) else "?",
                     "tool_version": str(ok["tool_version"].iloc[0]) if len(ok) else "?",
                     "part": parts[0] if len(parts) == 1 else parts})
    offsets = args.offsets
    if offsets == "auto":
        offsets = "rtl" if info.get("backend") == "yosys" else "default"
    rounds = _positive_ints("--rounds", args.rounds, "200,400,800")
    depths = _positive_ints("--depths", args.depths, "5,7")
    kinds = MODEL_KINDS if args.kinds is None else tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if not kinds or set(kinds) - set(MODEL_KINDS):
        raise SystemExit(f"dse fit-surrogate: --kinds {args.kinds!r}: expected some of {', '.join(MODEL_KINDS)}")
    if args.huber_delta < 0:
        raise SystemExit(f"dse fit-surrogate: --huber-delta {args.huber_delta}: expected a number >= 0")
    if not 0 < args.learning_rate <= 1:
        raise SystemExit(f"dse fit-surrogate: --learning-rate {args.learning_rate}: expected a number in (0, 1]")
    _, extra = train_surrogate(designs, y, groups, args.out, info, holdout=args.holdout,
                               refit_all=not args.no_refit,
                               params={"offsets": offsets, "learning_rate": args.learning_rate, "round_grid": rounds,
                                       "max_depths": depths, "huber_delta": args.huber_delta,
                                       "model_kinds": kinds})
    print(json.dumps(_json_safe(extra["holdout"]["metrics"]), indent=2))
    return 0


def _eval_args(p):
    p.add_argument("surrogate", help="surrogate folder or target name")
    p.add_argument("--data", required=True, help="dataset (.parquet) or wa-hls4ml CSV file/folder")
    p.add_argument("--json", action="store_true")
    p.add_argument("--plots", metavar="DIR", default=None,
                   help="also write DIR/evaluation.html: predicted vs measured per target (self-contained SVG)")


def write_evaluation_plots(out_dir, y, pred, metrics_by_target: dict, title: str) -> Path:
    """``evaluation.html``: one predicted-vs-measured scatter per target (log10(1 + value) axes, y = x line,
    90% intervals as vertical segments) with its R2 / sMAPE / coverage; opens offline."""
    from html import escape

    import numpy as np

    from .study.svg import scatter_svg

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    blocks = []
    n = len(y)
    keep = np.sort(np.random.default_rng(0).choice(n, 2000, replace=False)) if n > 2000 else np.arange(n)
    for t, m in metrics_by_target.items():
        meas = np.log10(1.0 + y[t].to_numpy(float)[keep])
        p = np.log10(1.0 + pred[t].to_numpy(float)[keep])
        lo = np.log10(1.0 + pred[f"{t}_low"].to_numpy(float)[keep])
        hi = np.log10(1.0 + pred[f"{t}_high"].to_numpy(float)[keep])
        top = float(max(meas.max(initial=0.0), hi.max(initial=0.0)))
        series = [{"x": [0.0, top], "y": [0.0, top], "color": "#bbb", "line": True, "size": 0.1, "label": "y = x"},
                  {"x": meas.tolist(), "y": p.tolist(), "color": "#1f77b4", "size": 2.5, "label": "designs"}]
        links = list(zip(zip(meas.tolist(), lo.tolist()), zip(meas.tolist(), hi.tolist())))[:400]
        svg = scatter_svg(series, f"log10(1 + measured {t})", f"log10(1 + predicted {t})", links=links)
        blocks.append(f"<div class='plot'><h3>{escape(t)}: R2 {m['r2'] if m['r2'] is None else round(m['r2'], 4)}, "
                      f"sMAPE {m['smape']:.2f}%, coverage90 {m['coverage90']:.3f}, n {m['n']}</h3>{svg}</div>")
    path = out / "evaluation.html"
    path.write_text("<!doctype html><meta charset='utf-8'><title>" + escape(title) + "</title><style>"
                    "body{font-family:sans-serif;margin:1em}.plot{display:inline-block;margin:6px}"
                    "h3{font-size:13px;margin:2px}</style><h1>" + escape(title) + "</h1>"
                    f"<p>{len(keep)} of {n} designs shown; dashed segments: 90% prediction intervals (400 of them).</p>" + "".join(blocks))
    return path


@command("evaluate-surrogate", _eval_args)
def _evaluate(args) -> int:
    from estimators import metrics
    from estimators.api import load_target
    from estimators.datasets import load_any

    sur = load_target(args.surrogate)
    designs, y, _ = load_any(args.data)
    pred = sur.predict(designs)
    out = {}
    for t in sur.targets:
        m = metrics.summarize(y[t].to_numpy(float), pred[t], pred[f"{t}_low"], pred[f"{t}_high"])
        out[t] = {"r2": m["r2"], "smape": m["smape"], "mape": m["mape"], "coverage90": m["coverage90"],
                  "n": int(len(y))}
    if args.plots:
        path = write_evaluation_plots(args.plots, y, pred, out, f"{args.surrogate} on {args.data}")
        if not args.json:
            print(f"plots: {path}")
    if args.json:
        print(json.dumps(_json_safe(out), indent=2))
        return 0
    print(f"{'target':16s}{'R2':>9s}{'sMAPE%':>9s}{'MAPE%':>9s}{'cov90':>8s}{'n':>7s}")
    for t, m in out.items():
        print(f"{t:16s}{m['r2']:9.4f}{m['smape']:9.2f}{m['mape']:9.2f}{m['coverage90']:8.3f}{m['n']:7d}")
    return 0
