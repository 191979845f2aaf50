"""Quickstart: train a quantized MLP on sklearn's digits, convert it, and prove the HLS C++ bit-exact.

    python studies/quickstart_convert.py --out runs/quickstart

Steps: QKeras QAT training (64-32-16-10, 6-bit weights, 6-bit ReLU) -> codegen.convert -> bit-exact emulator
-> Vitis/Vivado HLS project -> g++ build of that C++ -> the emulator, the g++ build and QKeras itself must
agree on every test sample. Writes summary.json and the HLS project under --out.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

log = logging.getLogger("quickstart")


def build_model(tf, bits: int):
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    q = lambda: quantized_bits(bits, 0, alpha=1)  # noqa: E731
    L = tf.keras.layers
    return tf.keras.Sequential([
        L.Input((64,), name="pixels"),
        QActivation(quantized_bits(8, 4, alpha=1), name="q_in"),
        QDense(32, kernel_quantizer=q(), bias_quantizer=q(), name="fc1"),
        QActivation(quantized_relu(bits, 2), name="relu1"),
        QDense(16, kernel_quantizer=q(), bias_quantizer=q(), name="fc2"),
        QActivation(quantized_relu(bits, 2), name="relu2"),
        QDense(10, kernel_quantizer=q(), bias_quantizer=q(), name="logits"),
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/quickstart")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--bits", type=int, default=6)
    ap.add_argument("--reuse", type=int, default=4)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    import tensorflow as tf
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import codegen

    tf.keras.utils.set_random_seed(0)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0 * 4  # pixel values 0..4 on a 1/4 grid: exact in the 8-bit input type
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)

    model = build_model(tf, args.bits)
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    t = time.time()
    model.fit(Xtr, ytr, epochs=args.epochs, batch_size=64, verbose=0)
    log.info("trained %d epochs of QAT in %.1f s", args.epochs, time.time() - t)

    cfg = codegen.config_from_keras(model, granularity="name", default_reuse_factor=args.reuse,
                                    default_strategy="Resource")
    out = Path(args.out)
    hm = codegen.convert(model, config=cfg, output_dir=out / "hls_project", part="xc7z020clg400-1", clock_period=10)
    y_emu = hm.predict(Xte)
    y_keras = model.predict(Xte, verbose=0).astype(np.float64)
    hm.write(tb_inputs=Xte[:20])
    t = time.time()
    hm.compile()
    log.info("g++ build of the generated HLS C++ in %.1f s", time.time() - t)
    y_csim = hm.predict(Xte, engine="csim")

    summary = {
        "test_samples": int(len(Xte)),
        "accuracy_qkeras": float((y_keras.argmax(1) == yte).mean()),
        "accuracy_emulator": float((y_emu.argmax(1) == yte).mean()),
        "emulator_equals_csim": bool((y_emu == y_csim).all()),
        "emulator_equals_qkeras": bool((y_emu == y_keras).all()),
        "hls_project": str(out / "hls_project"),
        "layers": {l.name: l.config.to_hls4ml() for l in hm.graph},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log.info("accuracy QKeras %.4f, emulator %.4f; emulator == g++ csim: %s; emulator == QKeras: %s",
             summary["accuracy_qkeras"], summary["accuracy_emulator"], summary["emulator_equals_csim"],
             summary["emulator_equals_qkeras"])
    log.info("HLS project (run `vitis_hls -f build_prj.tcl` there): %s", out / "hls_project")
    if not summary["emulator_equals_csim"]:
        raise SystemExit("emulator and g++ build disagree")


if __name__ == "__main__":
    main()
