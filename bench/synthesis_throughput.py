"""Benchmark: yosys synthesis (+ Verilator check) wall time, peak memory and designs per hour.

Designs: a 16x8 Dense layer, the jet-tagger MLP 16-64-32-32-5 (ReLU, softmax) at reuse 1 and at reuse 16,
all ap_fixed<8,3> (8-bit operands: LUT multipliers under the default DSP policy), part xcu250. Each design is
first synthesized alone (``codegen.synthesize(backend="yosys", verify=True)``), then the same list runs on
``--workers`` parallel workers to measure throughput on this machine.

    python bench/synthesis_throughput.py [--workers 2] [--timeout 3600] [--designs dense16x8,jet_r1,jet_r16]
                                         [--no-verify] [--skip-serial] [--json out.json]

The machine is shared: wall times move with other users' load; CPU seconds (user + system of the tool and its
children) are the steadier figure.

Peak memory is the tool's own peak RSS (yosys; Verilator's build incl. g++), from wait4 rusage
(codegen.synth.proc).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PRECISION = "ap_fixed<8,3>"


def _dense16x8(tf):
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    return tf.keras.Sequential([L.Input((16,)), L.Dense(8, name="fc")])


def _jet_tagger(tf):
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    return tf.keras.Sequential([L.Input((16,)), L.Dense(64, activation="relu", name="fc1"),
                                L.Dense(32, activation="relu", name="fc2"), L.Dense(32, activation="relu", name="fc3"),
                                L.Dense(5, name="fc4"), L.Activation("softmax", name="softmax")])


#: name -> (model, reuse factor, DSP policy); jet_r16_dsp puts the time-multiplexed 8x8 products in DSPs
DESIGNS = {
    "dense16x8": (_dense16x8, 1, None),
    "jet_r1": (_jet_tagger, 1, None),
    "jet_r16": (_jet_tagger, 16, None),
    "jet_r16_dsp": (_jet_tagger, 16, {"min_width": 10, "var_min_width": 8}),
}
DEFAULT_DESIGNS = "dense16x8,jet_r1,jet_r16"


def _convert(tf, name: str, out_dir: str):
    import codegen

    build, reuse, _ = DESIGNS[name]
    model = build(tf)
    cfg = {"Model": {"Precision": PRECISION, "ReuseFactor": reuse, "Strategy": "Resource" if reuse > 1 else "Latency"}}
    if any(layer.name == "softmax" for layer in model.layers):
        cfg["LayerName"] = {"softmax": {"Precision": {"result": "ap_ufixed<8,0>"}}}
    return codegen.convert(model, config=cfg, output_dir=out_dir, part="xcu250-figd2104-2L-e", clock_period=5)


def _run(tf, name: str, root: str, tag: str, timeout: float, verify: bool) -> dict:
    from codegen.synth import synthesize

    hm = _convert(tf, name, os.path.join(root, f"{name}_{tag}"))
    t = time.perf_counter()
    res = synthesize(hm, backend="yosys", timeout=timeout, verify=verify, dsp_policy=DESIGNS[name][2])
    wall = time.perf_counter() - t
    e = res.extra
    return dict(design=name, status=res.status, lut=res.lut, ff=res.ff, dsp=res.dsp, bram_18k=res.bram_18k,
                carry=e.get("carry"), latency=res.latency_max, ii=res.ii, wall_s=round(wall, 1),
                yosys_s=e.get("yosys_seconds"), yosys_cpu_s=e.get("yosys_cpu_seconds"), yosys_mb=e.get("yosys_max_rss_mb"),
                verilator_s=e.get("verilator_seconds"), verilator_cpu_s=e.get("verilator_build_cpu_seconds"), verilator_mb=e.get("verilator_max_rss_mb"),
                match=e.get("verilator_match"), mult_lut=e.get("mult_lut"), mult_dsp=e.get("mult_dsp"))


def _table(rows: list[dict]) -> str:
    cols = ["design", "status", "lut", "ff", "dsp", "bram_18k", "carry", "latency", "ii", "wall_s", "yosys_s",
            "yosys_cpu_s", "yosys_mb", "verilator_s", "verilator_cpu_s", "verilator_mb", "match"]
    w = {c: max(len(c), *(len(str(r.get(c))) for r in rows)) for c in cols}
    lines = ["  ".join(c.rjust(w[c]) for c in cols)]
    lines += ["  ".join(str(r.get(c)).rjust(w[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--designs", default=DEFAULT_DESIGNS, help=f"comma-separated, from {', '.join(DESIGNS)}")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--skip-serial", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import tensorflow as tf

    names = [n for n in args.designs.split(",") if n]
    root = tempfile.mkdtemp(prefix="bench_synth_")
    verify = not args.no_verify
    out: dict = {"machine_cpus": os.cpu_count(), "workers": args.workers, "verify": verify}

    if not args.skip_serial:
        serial = [_run(tf, n, root, "serial", args.timeout, verify) for n in names]
        print(f"\none at a time ({os.cpu_count()} CPUs):")
        print(_table(serial))
        out["serial"] = serial

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        par = list(pool.map(lambda n: _run(tf, n, root, "parallel", args.timeout, verify), names))
    wall = time.perf_counter() - t
    ok = sum(r["status"] == "ok" for r in par)
    print(f"\n{args.workers} workers in parallel: {len(par)} designs in {wall:.0f} s")
    print(_table(par))
    per_hour = 3600 * ok / wall if wall else float("nan")
    print(f"\nthroughput: {per_hour:.1f} designs/hour with {args.workers} workers for this mix "
          f"({', '.join(names)}); {ok}/{len(par)} ok")
    if not args.skip_serial:
        for r in out["serial"]:
            print(f"  {r['design']}: {3600 / r['wall_s']:.1f}/hour alone, "
                  f"~{args.workers * 3600 / r['wall_s']:.1f}/hour if {args.workers} ran in parallel without contention")
    out.update(parallel=par, parallel_wall_s=round(wall, 1), designs_per_hour=round(per_hour, 2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
