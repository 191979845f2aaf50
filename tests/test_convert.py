"""Frontend, config and emulator: conversions of Keras/QKeras models, lookup order, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest

import codegen
from codegen import ConfigError, OutputDirError, PrecisionError, ReuseFactorError, UnsupportedLayerError
from conftest import grid


def _mlp(tf, act="relu"):
    L = tf.keras.layers
    return tf.keras.Sequential([L.Input((16,)), L.Dense(64, activation=act, name="fc1"), L.BatchNormalization(name="bn"),
                                L.Dense(32, activation="relu", name="fc2"), L.Dropout(0.2), L.Dense(5, name="fc3"),
                                L.Activation("softmax", name="sm")])


def test_mlp_close_to_keras_and_trace(tf, rng, tmp_path):
    m = _mlp(tf)
    cfg = codegen.config_from_keras(m, granularity="model", default_precision="ap_fixed<24,10>")
    hm = codegen.convert(m, config=cfg, output_dir=tmp_path / "prj")
    kinds = [l.kind for l in hm.graph]
    assert "BatchNormalization" in kinds  # fc1 -> relu -> bn: not fusable
    assert "Dropout" not in kinds and kinds.count("Activation") == 3
    X = rng.normal(size=(500, 16))
    y = hm.predict(X)
    yk = m.predict(X, verbose=0)
    assert y.shape == (500, 5)
    assert np.abs(y - yk).max() < 0.02
    tr = hm.trace(X[:10])
    assert set(tr) == {l.name for l in hm.graph}
    assert (tr[hm.graph.output_layer.name] == y[:10]).all()


def test_batchnorm_fused_when_directly_after_dense(tf, rng, tmp_path):
    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((8,)), L.Dense(6, name="fc"), L.BatchNormalization(name="bn"),
                             L.Activation("relu", name="r")])
    m.layers[1].set_weights([rng.normal(size=(6,)), rng.normal(size=(6,)), rng.normal(size=(6,)),
                             rng.uniform(0.5, 2, size=6)])
    cfg = codegen.config_from_keras(m, granularity="name", default_precision="ap_fixed<32,12>")
    assert cfg["LayerName"]["fc"]["Precision"]["result"] == "auto"  # what lets the BN fold in, as in hls4ml
    hm = codegen.convert(m, config=cfg, output_dir=tmp_path)
    assert [l.kind for l in hm.graph] == ["Input", "Dense", "Activation"]
    assert str(hm.graph["fc"].result_type) == "ap_fixed<32,12>"  # the BN's result type
    X = rng.normal(size=(200, 8))
    assert np.abs(hm.predict(X) - m.predict(X, verbose=0)).max() < 1e-3


def test_qkeras_model_equals_qkeras_exactly(tf, rng, tmp_path):
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    tf.random.set_seed(1)
    m = tf.keras.Sequential([
        tf.keras.layers.Input((16,)), QActivation(quantized_bits(8, 3, alpha=1), name="qin"),
        QDense(32, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
               name="fc1"),
        QActivation(quantized_relu(6, 2), name="r1"),
        QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
               name="fc2"),
    ])
    cfg = codegen.config_from_keras(m, granularity="name")
    assert cfg["LayerName"]["fc1"]["Precision"]["weight"] == "ap_fixed<6,1,AP_RND_CONV,AP_SAT>"
    assert cfg["LayerName"]["r1"]["Precision"]["result"] == "ap_ufixed<6,2,AP_RND_CONV,AP_SAT>"
    hm = codegen.convert(m, config=cfg, output_dir=tmp_path)
    X = grid(rng.normal(size=(3000, 16)) * 3)
    assert (hm.predict(X) == m.predict(X, verbose=0).astype(np.float64)).all()


def test_conv_pool_model_close_to_keras(tf, rng, tmp_path):
    L = tf.keras.layers
    inp = L.Input((8, 8, 2))
    a = L.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inp)
    b = L.Conv2D(4, 3, padding="same", name="c2")(inp)
    x = L.Add(name="add")([a, b])
    x = L.MaxPooling2D(2, name="mp")(x)
    c = L.AveragePooling2D(2, name="ap")(x)
    x = L.Conv2D(3, (2, 2), strides=(2, 2), name="c3")(x)
    x = L.Concatenate(name="cat")([x, c])
    x = L.Flatten(name="flat")(x)
    out = L.Dense(3, activation="sigmoid", name="out")(x)
    m = tf.keras.Model(inp, out)
    hm = codegen.convert(m, config=codegen.config_from_keras(m, default_precision="ap_fixed<32,12>"),
                         output_dir=tmp_path)
    X = rng.normal(size=(100, 8, 8, 2))
    y = hm.predict(X)
    assert y.shape == (100, 3)
    assert np.abs(y - m.predict(X, verbose=0)).max() < 0.02  # sigmoid table resolution


def test_conv1d_globalpool_tanh(tf, rng, tmp_path):
    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((12, 3)), L.Conv1D(5, 3, strides=2, activation="tanh", name="c"),
                             L.GlobalAveragePooling1D(name="gap"), L.Dense(2, name="d")])
    hm = codegen.convert(m, config=codegen.config_from_keras(m, default_precision="ap_fixed<32,12>"),
                         output_dir=tmp_path)
    X = rng.normal(size=(50, 12, 3))
    assert np.abs(hm.predict(X) - m.predict(X, verbose=0)).max() < 0.05


def test_lookup_order_name_over_type_over_model(tf, tmp_path):
    m = _mlp(tf)
    cfg = {"Model": {"Precision": "ap_fixed<12,4>", "ReuseFactor": 2, "Strategy": "Latency"},
           "LayerType": {"Dense": {"Precision": {"weight": "ap_fixed<10,3>"}, "ReuseFactor": 4}},
           "LayerName": {"fc2": {"Precision": {"weight": "ap_fixed<6,2>"}, "ReuseFactor": 8,
                                 "Strategy": "Resource"}}}
    hm = codegen.convert(m, config=cfg, output_dir=tmp_path)
    g = hm.graph
    assert str(g["fc2"].precision["weight"]) == "ap_fixed<6,2>"
    assert g["fc2"].config.reuse_factor == 8 and g["fc2"].config.strategy == "resource"
    assert str(g["fc1"].precision["weight"]) == "ap_fixed<10,3>"
    assert g["fc1"].config.reuse_factor == 4
    assert str(g["fc1"].precision["bias"]) == "ap_fixed<12,4>"
    assert str(g["fc1"].precision["accum"]) == "ap_fixed<12,4>"


def test_resource_reuse_is_snapped(tf, tmp_path, caplog):
    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((32,)), L.Dense(5, name="fc")])
    cfg = {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 100, "Strategy": "Resource"}}
    hm = codegen.convert(m, config=cfg, output_dir=tmp_path)
    assert hm.graph["fc"].config.reuse_factor == 160
    assert "using 160" in caplog.text
    assert codegen.valid_reuse_factors(hm.graph["fc"]) == [1, 2, 4, 8, 16, 32, 160]


def test_pruned_weights_counted(tf, rng, tmp_path):
    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((10,)), L.Dense(4, name="fc")])
    w = rng.normal(size=(10, 4))
    w[rng.random((10, 4)) < 0.5] = 0
    m.layers[0].set_weights([w, np.zeros(4)])
    hm = codegen.convert(m, output_dir=tmp_path)
    assert hm.graph["fc"].attrs["nonzero"] == np.count_nonzero(w)


# ---------------------------------------------------------------------- errors name the culprit
def test_unsupported_layer_names_layer_and_class(tf, tmp_path):
    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((4, 3)), L.LSTM(2, name="my_lstm")])
    with pytest.raises(UnsupportedLayerError, match=r"'my_lstm'.*LSTM.*Supported layers: .*Dense"):
        codegen.convert(m, output_dir=tmp_path)


def test_unsupported_activation(tf, tmp_path):
    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((4,)), L.Dense(2, activation="elu", name="fc")])
    with pytest.raises(UnsupportedLayerError, match=r"'fc'.*elu"):
        codegen.convert(m, output_dir=tmp_path)


def test_bad_precision_string(tf, tmp_path):
    m = _mlp(tf)
    cfg = {"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"fc1": {"Precision": {"weight": "ap_fixed<4,8,AP_FOO>"}}}}
    with pytest.raises(ConfigError, match=r"fc1.*weight.*ap_fixed<4,8,AP_FOO>.*AP_FOO"):
        codegen.convert(m, config=cfg, output_dir=tmp_path)
    with pytest.raises(PrecisionError, match="AP_FOO"):
        codegen.FixedType.parse("ap_fixed<4,8,AP_FOO>")


@pytest.mark.parametrize("rf, msg", [(0, ">= 1"), (16 * 64 + 1, "larger than the layer")])
def test_bad_reuse_factor(tf, tmp_path, rf, msg):
    m = _mlp(tf)
    cfg = {"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"fc1": {"ReuseFactor": rf}}}
    err = ConfigError if rf == 0 else ReuseFactorError
    with pytest.raises(err, match=msg):
        codegen.convert(m, config=cfg, output_dir=tmp_path)


def test_output_dir_that_is_a_file(tf, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(OutputDirError, match="afile.*is a file"):
        codegen.convert(_mlp(tf), output_dir=f)


def test_unknown_config_key(tf, tmp_path):
    with pytest.raises(ConfigError, match="ReuseFactr"):
        codegen.convert(_mlp(tf), config={"Model": {"ReuseFactr": 2}}, output_dir=tmp_path)


def test_model_wide_reuse_larger_than_a_layer_is_clamped(tf, tmp_path):
    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((8,)), L.Dense(4, name="small"), L.Dense(64, name="big")])
    hm = codegen.convert(m, config={"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 128,
                                              "Strategy": "Resource"}}, output_dir=tmp_path)
    assert hm.graph["small"].config.reuse_factor == 32  # the whole 8x4 layer
    assert hm.graph["big"].config.reuse_factor == 128
