"""hls4ml 1.3.0 as an oracle: on models it handles the same way, our emulator equals its compiled predict.

Weights and inputs are put on grids that the chosen types hold exactly (hls4ml writes weights as decimal
text and BatchNorm scales in float32; exact values make the comparison about the arithmetic only). Every
precision, including the accumulator, is set explicitly on both sides.
"""
from __future__ import annotations

import numpy as np
import pytest

import codegen
from conftest import grid

CASES = {
    # name: (builder, model-level precision, accum, strategy, reuse per layer, sparsity)
    "mlp_latency": ("mlp", "ap_fixed<16,6>", "ap_fixed<32,12>", "Latency", {}, 0.0),
    "mlp_resource_rf": ("mlp", "ap_fixed<12,4>", "ap_fixed<28,10>", "Resource", {"fc1": 4, "fc2": 8, "fc3": 5}, 0.0),
    "mlp_narrow_wrap": ("mlp", "ap_fixed<6,3>", "ap_fixed<10,5>", "Latency", {}, 0.0),
    "mlp_rnd_sat": ("mlp", "ap_fixed<10,4,AP_RND,AP_SAT>", "ap_fixed<24,8>", "Latency", {}, 0.0),
    "mlp_pruned": ("mlp", "ap_fixed<14,5>", "ap_fixed<30,12>", "Latency", {}, 0.7),
    "mlp_bn": ("mlp_bn", "ap_fixed<16,6>", "ap_fixed<32,12>", "Latency", {}, 0.0),
    "mlp_bn_resource": ("mlp_bn", "ap_fixed<12,5>", "ap_fixed<30,12>", "Resource", {"fc1": 2, "fc2": 4}, 0.3),
    "conv1d": ("conv1d", "ap_fixed<16,6>", "ap_fixed<32,12>", "Latency", {}, 0.0),
    "conv2d": ("conv2d", "ap_fixed<12,5>", "ap_fixed<28,12>", "Latency", {}, 0.0),
    "conv2d_pruned": ("conv2d", "ap_fixed<10,4>", "ap_fixed<26,10>", "Latency", {}, 0.5),
}
FAST = {"mlp_resource_rf", "conv2d"}


def _build(tf, kind, rng, wtype, sparsity):
    L = tf.keras.layers
    if kind == "mlp":
        m = tf.keras.Sequential([L.Input((16,)), L.Dense(24, activation="relu", name="fc1"),
                                 L.Dense(12, activation="relu", name="fc2"), L.Dense(5, name="fc3")])
    elif kind == "mlp_bn":
        m = tf.keras.Sequential([L.Input((10,)), L.Dense(16, name="fc1"), L.BatchNormalization(epsilon=0.5, name="bn1"),
                                 L.Activation("relu", name="r1"), L.Dense(8, name="fc2"),
                                 L.Activation("relu", name="r2"), L.BatchNormalization(epsilon=0.5, name="bn2")])
    elif kind == "conv1d":
        m = tf.keras.Sequential([L.Input((10, 3)), L.Conv1D(4, 3, activation="relu", name="c1"),
                                 L.Conv1D(3, 2, name="c2"), L.Flatten(name="f"), L.Dense(4, name="fc")])
    else:
        m = tf.keras.Sequential([L.Input((6, 6, 2)), L.Conv2D(4, 3, activation="relu", name="c1"),
                                 L.Conv2D(3, 2, name="c2"), L.Flatten(name="f"), L.Dense(3, name="fc")])
    t = codegen.FixedType.parse(wtype)
    for layer in m.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        if type(layer).__name__ == "BatchNormalization":
            c = ws[0].shape[0]
            eps = layer.epsilon
            ws = [rng.choice([1.0, 2.0], c), grid(rng.normal(0, 0.5, c), 3), grid(rng.normal(0, 0.5, c), 3),
                  np.full(c, 1.0 - eps)]  # var + eps = 1: scale = gamma, a power of two: fused weights stay exact
        else:
            new = []
            for w in ws:
                v = t.round_trip(rng.normal(0, 0.5, w.shape))
                if sparsity and w.ndim > 1:
                    v[rng.random(w.shape) < sparsity] = 0
                new.append(v)
            ws = new
        layer.set_weights(ws)
    return m


@pytest.mark.parametrize("case", [pytest.param(c, marks=() if c in FAST else pytest.mark.slow) for c in CASES])
def test_emulator_equals_hls4ml(tf, tmp_path, case):
    hls4ml = pytest.importorskip("hls4ml")
    kind, prec, accum, strategy, reuse, sparsity = CASES[case]
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    m = _build(tf, kind, rng, prec, sparsity)

    ours = codegen.config_from_keras(m, granularity="name", default_precision=prec, default_strategy=strategy)
    for name, entry in ours["LayerName"].items():
        if "accum" in entry["Precision"]:
            entry["Precision"]["accum"] = accum
            # an explicit result keeps BatchNormalization a layer of its own in both tools (hls4ml 1.3 does
            # not fold it then; with folding our numbers follow the folded weights, see docs/numerics.md)
            entry["Precision"]["result"] = prec
        if name in reuse:
            entry["ReuseFactor"] = reuse[name]
    hm = codegen.convert(m, config=ours, output_dir=tmp_path / "ours")

    hc = hls4ml.utils.config_from_keras_model(m, granularity="name", default_precision=prec, backend="Vitis")
    hc["Model"]["Strategy"] = strategy
    resolved = {l.name: l for l in hm.graph}
    last_result = None
    for name, entry in hc["LayerName"].items():
        ours_layer = resolved.get(name)
        p = entry.setdefault("Precision", {})
        if ours_layer is None:  # hls4ml's own linear activations: an identity cast
            for k in list(p):
                p[k] = last_result
            continue
        for var, t in ours_layer.precision.items():
            p[var] = str(t)
        if ours_layer.is_matrix:
            entry["ReuseFactor"] = ours_layer.config.reuse_factor
            entry["Strategy"] = strategy
        last_result = str(ours_layer.result_type)
        for k in list(p):
            if p[k] == "auto":
                p[k] = last_result
    h = hls4ml.converters.convert_from_keras_model(m, hls_config=hc, output_dir=str(tmp_path / "hls4ml"),
                                                   backend="Vitis", io_type="io_parallel", project_name="oracle")
    h.compile()
    shape = m.input_shape[1:]
    X = grid(rng.normal(0, 2, (1000,) + tuple(shape)), 6)
    yh = h.predict(np.ascontiguousarray(X.reshape(len(X), -1))).reshape(len(X), -1)
    y = hm.predict(X).reshape(len(X), -1)
    mism = np.argwhere(y != yh)
    assert len(mism) == 0, f"{len(mism)} of {y.size} outputs differ, e.g. ours {y[tuple(mism[0])]} hls4ml {yh[tuple(mism[0])]}"
