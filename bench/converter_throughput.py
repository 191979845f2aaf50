"""Benchmark: emulator and csim throughput vs hls4ml's predict, and convert+write time vs hls4ml.

Jet-tagger MLP 16-64-32-32-5 (ReLU), ap_fixed<16,6> everywhere, 100,000 samples. Every figure is the median
of several repeats measured in this same run; ratios are ours / hls4ml's on the same machine.

    python bench/converter_throughput.py [--samples 100000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def jet_tagger(tf):
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    return tf.keras.Sequential([L.Input((16,)), L.Dense(64, activation="relu", name="fc1"),
                                L.Dense(32, activation="relu", name="fc2"), L.Dense(32, activation="relu", name="fc3"),
                                L.Dense(5, name="fc4")])


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--accum", choices=["auto", "default"], default="auto",
                    help="accumulators: 'auto' (exact, inferred: hls4ml 1.3's default) or 'default' "
                         "(ap_fixed<16,6>: every product truncated, hls4ml's classic default)")
    args = ap.parse_args()

    import tensorflow as tf
    import hls4ml

    import codegen

    model = jet_tagger(tf)
    X = np.random.default_rng(0).normal(size=(args.samples, 16))
    work = tempfile.mkdtemp(prefix="bench_conv_")
    prec = "ap_fixed<16,6>"
    results = {}

    def ours_convert():
        cfg = codegen.config_from_keras(model, granularity="name", default_precision=prec)
        for e in cfg["LayerName"].values():
            if "accum" in e["Precision"] and args.accum == "default":
                e["Precision"]["accum"] = prec  # hls4ml's classic default: accumulate in the default type
        hm = codegen.convert(model, config=cfg, output_dir=os.path.join(work, "ours"))
        hm.write()
        return hm

    def hls4ml_convert():
        hc = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision=prec, backend="Vitis")
        ours = {l.name: l for l in hm_ref.graph}  # same types on both sides, so outputs can be compared
        for name, e in hc["LayerName"].items():
            for k in e.get("Precision", {}):
                if name in ours and k in ours[name].precision:
                    e["Precision"][k] = str(ours[name].precision[k])
                elif e["Precision"][k] == "auto":
                    e["Precision"][k] = prec
        h = hls4ml.converters.convert_from_keras_model(model, hls_config=hc, output_dir=os.path.join(work, "h4"),
                                                       backend="Vitis", io_type="io_parallel")
        h.write()
        return h

    results["ours_convert_write_s"], hm = timed(ours_convert, args.repeats)
    hm_ref = hm
    results["hls4ml_convert_write_s"], h = timed(hls4ml_convert, args.repeats)

    t = time.perf_counter()
    h.compile()
    results["hls4ml_compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    hm.compile()
    results["ours_compile_s"] = time.perf_counter() - t

    results["emulator_s"], y = timed(lambda: hm.predict(X), args.repeats)
    results["csim_s"], y_csim = timed(lambda: hm.predict(X, engine="csim"), args.repeats)
    Xf = np.ascontiguousarray(X)
    results["hls4ml_predict_s"], yh = timed(lambda: h.predict(Xf), 1)
    n = args.samples
    results["emulator_samples_per_s"] = n / results["emulator_s"]
    results["csim_samples_per_s"] = n / results["csim_s"]
    results["hls4ml_samples_per_s"] = n / results["hls4ml_predict_s"]
    results["emulator_vs_hls4ml"] = results["hls4ml_predict_s"] / results["emulator_s"]
    results["csim_vs_hls4ml"] = results["hls4ml_predict_s"] / results["csim_s"]
    results["convert_write_vs_hls4ml"] = results["hls4ml_convert_write_s"] / results["ours_convert_write_s"]
    results["bit_exact_emulator_vs_csim"] = bool((y == y_csim).all())
    results["bit_exact_emulator_vs_hls4ml"] = bool((y == np.asarray(yh).reshape(y.shape)).all())
    results["samples"] = n
    results["accum"] = args.accum
    for k, v in results.items():
        print(f"{k:32s} {v:.4g}" if isinstance(v, float) else f"{k:32s} {v}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
