"""Bit-exactness on generated models: hm.predict (emulator) == the g++ build of the written HLS C++.

Random architectures over the supported layers (MLPs, Conv1D/Conv2D with pooling, Add/Concatenate,
BatchNormalization, sigmoid/tanh/softmax, QKeras-quantized ones), random per-layer precisions of 2..18 bits
with random rounding/saturation modes, random reuse factors and strategies, pruned weights; 1,000 random
inputs each. A few models run in the default suite; all 32 with ``-m slow``.
"""
from __future__ import annotations

import numpy as np
import pytest

import codegen
from conftest import random_fixed_type
from codegen.fixed import ROUNDING_MODES, SATURATION_MODES

N_MODELS = 32
FAST = {0, 5, 13}


def _rand_type(rng, lo=2, hi=18, signed=None, modes=True) -> str:
    return random_fixed_type(rng, lo, hi, signed, modes)


def _build(tf, seed: int):
    rng = np.random.default_rng(seed)
    L = tf.keras.layers
    kind = ["mlp", "mlp", "conv1d", "conv2d", "merge", "qkeras"][seed % 6]
    acts = ["relu", "linear", "sigmoid", "tanh"]
    if kind == "mlp":
        x = inp = L.Input((int(rng.integers(3, 20)),))
        for d in range(int(rng.integers(1, 4))):
            x = L.Dense(int(rng.integers(2, 24)), activation=str(rng.choice(acts)), name=f"fc{d}")(x)
            if rng.random() < 0.3:
                x = L.BatchNormalization(name=f"bn{d}")(x)
        if rng.random() < 0.5:
            x = L.Dense(int(rng.integers(2, 8)), activation="softmax", name="head")(x)
    elif kind == "conv1d":
        x = inp = L.Input((int(rng.integers(8, 16)), int(rng.integers(1, 4))))
        x = L.Conv1D(int(rng.integers(2, 6)), int(rng.integers(1, 4)), padding=str(rng.choice(["valid", "same"])),
                     strides=int(rng.integers(1, 3)), activation="relu", name="c1")(x)
        x = (L.MaxPooling1D(2, name="p1") if rng.random() < 0.5 else L.AveragePooling1D(2, name="p1"))(x)
        x = L.Flatten(name="flat")(x)
        x = L.Dense(int(rng.integers(2, 6)), activation=str(rng.choice(acts)), name="fc")(x)
    elif kind == "conv2d":
        h, w = int(rng.integers(5, 9)), int(rng.integers(5, 9))
        x = inp = L.Input((h, w, int(rng.integers(1, 3))))
        k1, pad = int(rng.integers(1, 4)), str(rng.choice(["valid", "same"]))
        x = L.Conv2D(int(rng.integers(2, 5)), k1, padding=pad, activation="relu", name="c1")(x)
        side = (min(h, w) - (k1 - 1 if pad == "valid" else 0)) // 2  # after the 2x2 max pooling
        if rng.random() < 0.5:
            x = L.BatchNormalization(name="bn")(x)
        x = L.MaxPooling2D(2, name="p1")(x)
        x = L.Conv2D(int(rng.integers(2, 4)), min(2, side), name="c2")(x)
        x = (L.GlobalAveragePooling2D(name="gp") if rng.random() < 0.5 else L.Flatten(name="flat"))(x)
        x = L.Dense(int(rng.integers(2, 6)), name="fc")(x)
    elif kind == "merge":
        inp = L.Input((int(rng.integers(4, 12)),))
        a = L.Dense(6, activation="relu", name="a")(inp)
        b = L.Dense(6, activation=str(rng.choice(acts)), name="b")(inp)
        x = L.Add(name="add")([a, b])
        c = L.Dense(3, name="c")(inp)
        x = L.Concatenate(name="cat")([x, c])
        x = L.Dense(int(rng.integers(2, 6)), activation="softmax", name="out")(x)
    else:
        from qkeras import QActivation, QDense, quantized_bits, quantized_relu

        x = inp = L.Input((int(rng.integers(4, 16)),))
        x = QActivation(quantized_bits(int(rng.integers(4, 10)), 2, alpha=1), name="qin")(x)
        for d in range(int(rng.integers(1, 3))):
            bits = int(rng.integers(2, 9))
            x = QDense(int(rng.integers(2, 16)), kernel_quantizer=quantized_bits(bits, 0, alpha=1),
                       bias_quantizer=quantized_bits(bits, 0, alpha=1), name=f"q{d}")(x)
            x = QActivation(quantized_relu(int(rng.integers(2, 9)), int(rng.integers(0, 4))), name=f"qr{d}")(x)
    model = tf.keras.Model(inp, x)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws and type(layer).__name__ == "BatchNormalization":
            c = ws[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 2, c), rng.normal(0, 0.5, c), rng.normal(0, 0.5, c),
                               rng.uniform(0.5, 2, c)])
        elif ws:
            k = rng.normal(0, 0.7, ws[0].shape)
            k[rng.random(k.shape) < rng.choice([0.0, 0.3, 0.8])] = 0  # pruning
            layer.set_weights([k] + [rng.normal(0, 0.5, w.shape) for w in ws[1:]])
    return model, rng, kind


def _random_config(model, rng):
    cfg = codegen.config_from_keras(model, granularity="name", default_precision=_rand_type(rng, 8, 18, True, False))
    graph = codegen.keras_to_graph(model)
    for layer in graph:
        e = cfg["LayerName"][layer.name]
        p = e["Precision"]
        for var in list(p):
            if var in ("table", "exp_table", "inv_table"):
                continue
            if var == "accum":
                p[var] = "auto" if rng.random() < 0.5 else _rand_type(rng, 8, 40)
            elif not layer.attrs.get("quantized") or var == "result":
                if rng.random() < 0.8:
                    p[var] = _rand_type(rng)
        if layer.kind == "Input":
            p["result"] = _rand_type(rng, 6, 18, True)
        if layer.is_matrix:
            n_in, n_out = layer.matrix_shape()
            e["Strategy"] = str(rng.choice(["Latency", "Resource"]))
            e["ReuseFactor"] = int(rng.integers(1, min(n_in * n_out, 64) + 1))
        if "TableSize" in e:
            e["TableSize"] = int(rng.choice([64, 256, 1024]))
    return cfg


@pytest.mark.parametrize("seed", [pytest.param(s, marks=() if s in FAST else pytest.mark.slow) for s in range(N_MODELS)])
def test_emulator_equals_csim(tf, tmp_path, seed):
    model, rng, kind = _build(tf, seed)
    for _ in range(20):  # configs whose casts ap_types cannot compile are refused by codegen: draw again
        cfg = _random_config(model, rng)
        try:
            hm = codegen.convert(model, config=cfg, output_dir=tmp_path / "prj")
            break
        except codegen.ConfigError as e:
            assert "ap_types" in str(e), e
    X = rng.normal(0, 2, (1000,) + tuple(model.input_shape[1:]))
    y = hm.predict(X)
    hm.compile()
    y2 = hm.predict(X, engine="csim")
    bad = np.argwhere(y.reshape(len(X), -1) != y2.reshape(len(X), -1))
    if len(bad):
        tr, tr2 = hm.trace(X[:50]), hm.trace(X[:50], engine="csim")
        first = next((n for n in tr if not np.array_equal(tr[n].reshape(50, -1), tr2[n].reshape(50, -1))), None)
        pytest.fail(f"{kind} model: {len(bad)} outputs differ; first differing layer: {first} "
                    f"({hm.graph[first].kind if first else '?'}, {hm.graph[first].config if first else ''})")
