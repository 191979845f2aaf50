"""The prediction API: estimate() on Keras/QKeras models, hls4ml-style configs and weightless descriptions."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import estimators

ROOT = Path(__file__).resolve().parents[1]
DESC = {"layers": [{"type": "Dense", "n_in": 80, "n_out": 24, "activation": "relu", "sparsity": 0.0},
                   {"type": "Dense", "n_in": 24, "n_out": 120}],
        "config": {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 1024, "Strategy": "Resource"}},
        "part": "xcu250-figd2104-2L-e", "clock_period": 5}


def test_available_targets():
    assert "vitis-u250" in estimators.available_targets()
    with pytest.raises(estimators.UnknownTarget, match="available"):
        estimators.estimate(DESC, target="no-such-target")


def test_weightless_description():
    est = estimators.estimate(DESC, target="vitis-u250")
    for t in ("lut", "ff", "dsp", "bram_18k", "latency_cycles", "ii"):
        v = getattr(est, t)
        lo, hi = est.interval(t)
        assert v >= 0 and lo <= v <= hi
    assert est.lut > 1000 and est.latency_cycles > 500
    assert list(est.per_layer["layer"]) == ["dense_0", "dense_1"]
    assert not est.extrapolating, est.reason


def test_qkeras_model_and_hls4ml_config(tf):
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((16,)), QDense(64, kernel_quantizer=quantized_bits(8, 0, alpha=1),
                                                    bias_quantizer=quantized_bits(8, 0, alpha=1), name="fc1"),
                             QActivation(quantized_relu(8, 3), name="r1"),
                             QDense(8, kernel_quantizer=quantized_bits(8, 0, alpha=1),
                                    bias_quantizer=quantized_bits(8, 0, alpha=1), name="fc2")])
    # a config as hls4ml's config_from_keras_model prints it (short type names, no AP_ prefixes)
    cfg = {"Model": {"Precision": {"default": "fixed<8,3>"}, "ReuseFactor": 128, "Strategy": "Resource",
                     "BramFactor": 1000000000, "TraceOutput": False},
           "LayerName": {"fc1": {"Precision": {"weight": "fixed<8,1,RND_CONV,SAT,0>", "result": "auto"},
                                 "ReuseFactor": 256, "Trace": False}}}
    est = estimators.estimate(m, config=cfg, target="vitis-u250")
    assert est.lut > 0 and est.ii >= 256
    d = est.to_dict()
    json.dumps(d)
    assert set(d) >= {"lut", "lut_low", "lut_high", "extrapolating"}


def test_out_of_domain_is_flagged():
    conv = {"layers": [{"type": "Conv2D", "in_shape": [8, 8, 1], "filters": 4, "kernel_size": 3},
                       {"type": "Flatten"}, {"type": "Dense", "n_out": 4}],
            "config": {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 36, "Strategy": "Resource"}}}
    est = estimators.estimate(conv, target="vitis-u250")
    assert est.extrapolating and "Conv2D" in est.reason


def test_estimate_many_thousands():
    rng = np.random.default_rng(0)
    designs = []
    for _ in range(300):
        w = [int(x) for x in rng.integers(8, 64, 3)]
        designs.append({"layers": [{"type": "Dense", "n_in": w[0], "n_out": w[1], "activation": "relu"},
                                   {"type": "Dense", "n_out": w[2]}],
                        "config": {"Model": {"Precision": f"ap_fixed<{int(rng.integers(4, 17))},3>",
                                             "ReuseFactor": 1024, "Strategy": "Resource"}}})
    df = estimators.estimate_many(designs, target="vitis-u250")
    assert len(df) == 300 and (df["lut"] > 0).all()


def test_cli_estimate_and_evaluate(tmp_path):
    p = tmp_path / "design.json"
    p.write_text(json.dumps(DESC))
    r = subprocess.run([sys.executable, "-m", "dse.cli", "estimate", str(p), "--target", "vitis-u250", "--json"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["lut"] > 0 and len(out["per_layer"]) == 2
    r = subprocess.run([sys.executable, "-m", "dse.cli", "evaluate-surrogate", "vitis-u250", "--data",
                        str(ROOT / "data/datasets/wa-hls4ml/wa_3layer.csv"), "--json", "--plots", str(tmp_path / "ev")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert set(m) == {"lut", "ff", "dsp", "bram_18k", "latency_cycles", "ii"}
    assert m["lut"]["r2"] > 0.9 and m["lut"]["n"] > 1000
    html = (tmp_path / "ev" / "evaluation.html").read_text()
    assert html.count("<svg") == 6 and "sMAPE" in html


def test_cli_fit_surrogate_takes_its_grid_and_names_bad_values(tmp_path):
    """A small yosys-xc7 subset, a tiny grid: the saved surrogate records the depths, rounds and loss it used."""
    import pandas as pd

    df = pd.read_parquet(ROOT / "data/datasets/yosys-xc7.parquet")
    small = tmp_path / "small.parquet"
    df[df["status"] == "ok"].head(120).to_parquet(small)
    out = tmp_path / "sur"
    r = subprocess.run([sys.executable, "-m", "dse.cli", "fit-surrogate", str(small), "--out", str(out),
                        "--rounds", "5,10", "--depths", "2,3", "--learning-rate", "0.3", "--huber-delta", "0.1",
                        "--kinds", "global,per_layer"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    params = json.loads((out / "metadata.json").read_text())["params"]
    assert params["max_depths"] == [2, 3] and params["round_grid"] == [5, 10] and params["learning_rate"] == 0.3
    assert params["huber_delta"] == 0.1 and params["model_kinds"] == ["global", "per_layer"]
    models = json.loads((out / "metadata.json").read_text())["models"]
    boosted = [m for m in models.values() if m["kind"] != "ridge"]  # the loss applies to the xgboost kinds
    assert boosted and all(m["spec"]["huber_delta"] == 0.1 for m in boosted)
    for bad, named in ((["--depths", "4,0"], "--depths '4,0'"), (["--huber-delta", "-1"], "--huber-delta -1"),
                       (["--kinds", "global,forest"], "--kinds 'global,forest'")):
        r = subprocess.run([sys.executable, "-m", "dse.cli", "fit-surrogate", str(small), "--out", str(out), *bad],
                           capture_output=True, text=True, cwd=ROOT)
        assert r.returncode != 0 and named in r.stderr, r.stderr


def test_a_design_without_lut_logic_gets_zero_luts():
    """All of fc1's weights pruned: fc2 sees constants and the Verilog has no LUT logic left (yosys builds 0 LUTs,
    tests/test_rtl_yosys.py); yosys-xc7 predicts exactly 0 with a (0, 0) interval, and LUTs once a weight is back."""
    from codegen.ir import Graph, Layer

    def mlp(k1):
        return Graph([Layer("x", "Input", [], (2,)),
                      Layer("fc1", "Dense", ["x"], (3,), weights={"kernel": k1, "bias": np.array([0.0, 0.25, 0.5])}),
                      Layer("fc2", "Dense", ["fc1"], (1,), weights={"kernel": np.array([[0.5], [0.25], [0.875]]),
                                                                    "bias": np.zeros(1)})], name="mlp")

    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 1, "Strategy": "Latency"}}
    dead = estimators.estimate(mlp(np.zeros((2, 3))), config=cfg, target="yosys-xc7")
    assert dead.lut == 0 and dead.interval("lut") == (0, 0)
    assert dead.ff > 0  # the valid chain
    live = estimators.estimate(mlp(np.array([[0.75, 0.0, 0.0], [0.0, 0.0, 0.375]])), config=cfg, target="yosys-xc7")
    assert live.lut > 0 and live.interval("lut")[1] > 0
