"""Fast tests of the estimators package: features, metrics, Surrogate fit/save/load, shipped vitis-u250."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimators import (
    Surrogate,
    SurrogateLoadError,
    TARGETS,
    coverage90,
    dense_design,
    design_features,
    layer_features,
    load_wa_hls4ml,
    mape,
    r2,
    smape,
)

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "data" / "surrogates" / "vitis-u250"
DATA = REPO / "data" / "datasets" / "wa-hls4ml"


# ---------------------------------------------------------------- features
def test_layer_features_deterministic_and_defined():
    fact = dense_design([16, 64], bits=8, reuse=64)["layers"][1]
    assert fact["kind"] == "Dense"
    a, b = layer_features(fact), layer_features(copy.deepcopy(fact))
    assert a == b
    assert a["weights"] == 16 * 64
    assert a["multipliers"] == 16 and a["block_factor"] == 16
    assert a["product_bits"] == 16 and a["dsp_mult_est"] == 16
    assert a["bops"] == 16 * 64 * 8 * 8
    assert a["weight_storage_bits"] == (16 * 64 + 64) * 8
    assert all(isinstance(v, float) and math.isfinite(v) for v in a.values())


def test_pruned_layer_counts_nonzero_multipliers():
    fact = dict(dense_design([16, 64], bits=4, reuse=64)["layers"][1], nonzero_params=(16 * 64 + 64) // 2)
    f = layer_features(fact)
    assert f["nz_frac"] == pytest.approx(0.5)
    assert f["multipliers"] == 8 and f["block_factor"] == 16
    assert f["mult_units"] == 16  # Resource strategy keeps zeros in its ROM
    assert f["dsp_mult_est"] == 0  # 4x4-bit products go to LUTs
    assert layer_features(dict(fact, strategy="latency"))["mult_units"] == 8


def test_design_features_deterministic_and_aggregated():
    d = dense_design([24, 104, 88, 64], bits=8, reuse=1024)
    a, b = design_features(d), design_features(json.loads(json.dumps(d)))
    assert a == b
    assert [f["kind"] for f in d["layers"]] == ["Input", "Dense", "Activation", "Dense", "Activation", "Dense"]
    reuse = [f["reuse"] for f in d["layers"] if f["kind"] == "Dense"]
    assert a["n_matrix_layers"] == 3 and a["count_Dense"] == 3 and a["count_Activation"] == 2
    assert a["sum_reuse_Dense"] == sum(reuse) and a["max_reuse"] == max(reuse)
    assert a["net_in"] == 24 and a["net_out"] == 64
    assert a["sum_weights"] == 24 * 104 + 104 * 88 + 88 * 64


def test_wa_loader_snaps_reuse(tmp_path):
    designs, y, groups = load_wa_hls4ml(DATA)
    assert len(designs) == len(y) == len(groups) > 15000
    assert list(y.columns) == list(TARGETS)
    d = dense_design([32, 5], bits=8, reuse=100)
    assert d["layers"][1]["reuse"] == 160  # hls4ml's rule: 32x5 -> 1, 2, 4, 8, 16, 32, 160
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="x.csv"):
        load_wa_hls4ml(tmp_path, files=("x.csv",))


# ---------------------------------------------------------------- metrics
def test_metrics_on_hand_made_examples():
    assert r2([1, 2, 3], [1, 2, 3]) == 1.0
    assert r2([1, 2, 3], [2, 2, 2]) == pytest.approx(0.0)
    assert smape([100, 0], [110, 0]) == pytest.approx(100 * (20 / 210) / 2)
    assert smape([0], [5]) == pytest.approx(200.0)
    assert smape([0, 0], [0, 0]) == 0.0
    assert mape([0, 100, 50], [5, 90, 55]) == pytest.approx(10.0)
    assert math.isnan(mape([0, 0], [1, 1]))
    assert coverage90([1, 5, 10, 3], [0, 6, 10, 0], [2, 7, 10, 2]) == pytest.approx(0.5)


# ---------------------------------------------------------------- fit / save / load
@pytest.fixture(scope="module")
def small_fit(tmp_path_factory):
    designs, y, groups = load_wa_hls4ml(DATA)
    rng = np.random.default_rng(0)
    archs = rng.choice(groups.unique(), 60, replace=False)
    idx = np.flatnonzero(groups.isin(archs))
    sub = [designs[i] for i in idx]
    sur = Surrogate(max_depths=(3,), round_grid=(10, 20), n_splits=2, n_jobs=1)
    sur.fit(sub, y.iloc[idx], groups.iloc[idx], info={"backend": "test"})
    path = tmp_path_factory.mktemp("sur") / "small"
    sur.save(str(path))
    return sur, path, sub


def test_fit_save_load_reproduces_predictions(small_fit):
    sur, path, designs = small_fit
    p1 = sur.predict(designs)
    loaded = Surrogate.load(str(path))
    p2 = loaded.predict(designs)
    pd.testing.assert_frame_equal(p1, p2)
    for tg in TARGETS:
        assert {tg, f"{tg}_low", f"{tg}_high"} <= set(p1.columns)
        assert (p1[f"{tg}_low"] <= p1[tg]).all() and (p1[tg] <= p1[f"{tg}_high"]).all()
        assert loaded.model_kind_[tg] in ("global", "per_layer", "ridge")
    meta = json.loads((path / "metadata.json").read_text())
    kinds = {r["kind"] for r in meta["models"]["lut"]["cv_results"]}
    assert kinds == {"global", "per_layer", "ridge"}  # all three kinds competed in the grouped CV
    assert meta["info"]["backend"] == "test"
    assert len(meta["training_set"]["sha256"]) == 64
    assert not list(path.glob("*.pkl")) and not list(path.glob("*.pickle"))


def _copy_dir(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_corrupted_metadata_names_the_file(small_fit, tmp_path):
    _, path, _ = small_fit
    bad = _copy_dir(path, tmp_path / "bad")
    (bad / "metadata.json").write_text('{"format": "fpga-dse-surr')
    with pytest.raises(SurrogateLoadError, match="metadata.json"):
        Surrogate.load(str(bad))
    (bad / "metadata.json").unlink()
    with pytest.raises(SurrogateLoadError, match="metadata.json"):
        Surrogate.load(str(bad))


def test_corrupted_or_missing_model_names_the_file(small_fit, tmp_path):
    _, path, _ = small_fit
    bad = _copy_dir(path, tmp_path / "bad")
    text = (bad / "lut.json").read_text()
    (bad / "lut.json").write_text(text[: len(text) // 2])
    with pytest.raises(SurrogateLoadError, match="lut.json"):
        Surrogate.load(str(bad))
    (bad / "lut.json").unlink()
    with pytest.raises(SurrogateLoadError, match="lut.json"):
        Surrogate.load(str(bad))
    # a model file that is valid for xgboost but not the one recorded: caught by the checksum
    bad2 = _copy_dir(path, tmp_path / "bad2")
    (bad2 / "ff.json").write_bytes((path / "dsp.json").read_bytes())
    with pytest.raises(SurrogateLoadError, match="ff.json"):
        Surrogate.load(str(bad2))


# ---------------------------------------------------------------- shipped surrogate
@pytest.fixture(scope="module")
def shipped():
    return Surrogate.load(str(SHIPPED))


def test_shipped_surrogate_predicts_plausible_values(shipped):
    d = dense_design([16, 64, 32, 32, 5], bits=8, reuse=1024)
    p = shipped.predict([d]).iloc[0]
    for tg in TARGETS:
        assert np.isfinite(p[tg]) and p[tg] >= 0
        assert p[f"{tg}_low"] <= p[tg] <= p[f"{tg}_high"]
    assert 1_000 < p["lut"] < 200_000 and 1_000 < p["ff"] < 200_000
    assert p["bram_18k"] > 0 and 0 < p["dsp"] < 100
    reuse = sum(f["reuse"] for f in d["layers"] if f["kind"] == "Dense")
    assert reuse <= p["latency_cycles"] < 2 * reuse and reuse <= p["ii"] < 2 * reuse
    assert p["extrapolating"]  # 4 layers and a 5-wide output: outside the wa-hls4ml data
    meta = shipped.metadata_
    assert meta["info"]["tool"] == "Vitis HLS" and meta["info"]["tool_version"] == "2023.2"
    assert "holdout" in meta["extra"] and "refit_on_all_data" in meta["extra"]


def test_extrapolation_flags(shipped):
    inside = dense_design([24, 104, 88, 64], bits=8, reuse=2047)
    wide = dense_design([24, 2000, 64], bits=8, reuse=2047)
    conv = copy.deepcopy(inside)
    conv["layers"][1].update(kind="Conv2D", name="conv", n_in=27, n_out=16, out_pixels=900)
    p = shipped.predict([inside, wide, conv])
    assert list(p["extrapolating"]) == [False, True, True]
    assert p["reason"][0] == ""
    assert "2000" in p["reason"][1]
    assert "Conv2D" in p["reason"][2]


def test_converter_facts_match_training_layout(shipped):
    """A design converted by codegen looks like the wa-hls4ml training rows (same fact layout)."""
    codegen = pytest.importorskip("codegen")
    if not hasattr(codegen, "convert") or not hasattr(codegen, "design_facts"):
        pytest.skip("codegen.convert / design_facts not available")
    cfg = {"Model": {"Precision": "ap_fixed<8,4>", "ReuseFactor": 1024, "Strategy": "Resource"}}
    desc = {"layers": [{"type": "Dense", "n_in": 24, "n_out": 104, "activation": "relu"},
                       {"type": "Dense", "n_out": 88, "activation": "relu"}, {"type": "Dense", "n_out": 64}],
            "config": cfg, "part": "xcu250-figd2104-2L-e", "clock_period": 5}
    conv = codegen.design_facts(codegen.convert(desc, config=cfg, output_dir="/nonexistent/estimators-test").graph)
    ours = dense_design([24, 104, 88, 64], bits=8, reuse=1024, integer_bits=4)
    assert [f["kind"] for f in conv["layers"]] == [f["kind"] for f in ours["layers"]]
    p = shipped.predict([conv, ours])
    assert not p["extrapolating"].any(), p["reason"].tolist()
    for tg in TARGETS:  # quantized random weights have zeros; the vitis-u250 features ignore pruning
        assert p[tg][0] == p[tg][1]


def test_ridge_kind_fits_saves_as_json_and_reloads(tmp_path):
    """The scikit-learn kind: a Ridge on log features, saved as JSON coefficients, reloaded identically."""
    designs_all, y, groups = load_wa_hls4ml(DATA)
    archs = np.random.default_rng(1).choice(groups.unique(), 60, replace=False)
    idx = np.flatnonzero(groups.isin(archs))
    designs = [designs_all[i] for i in idx]
    sur = Surrogate(model_kinds=("ridge",), ridge_alphas=(1.0, 10.0), targets=("lut", "ff"), n_splits=2)
    sur.fit(designs, y.iloc[idx][["lut", "ff"]], groups.iloc[idx])
    assert set(sur.model_kind_.values()) == {"ridge"} and sur.specs_["lut"].reg_lambda in (1.0, 10.0)
    sur.save(str(tmp_path / "r"))
    saved = json.loads((tmp_path / "r" / "lut.json").read_text())
    assert saved["format"] == "fpga-dse-ridge" and len(saved["coef"]) == len(sur.feature_names_)
    pd.testing.assert_frame_equal(sur.predict(designs), Surrogate.load(str(tmp_path / "r")).predict(designs))
    p = sur.predict(designs)
    assert smape(y.iloc[idx]["lut"].to_numpy(float), p["lut"].to_numpy()) < 60
    (tmp_path / "r" / "ff.json").write_text('{"format": "something else"}')
    with pytest.raises(SurrogateLoadError, match="ff.json"):
        Surrogate.load(str(tmp_path / "r"))


def test_domain_flags_more_nonzero_multipliers_than_trained_on():
    """Sweeps cap nonzero multipliers per layer: a layer above the cap is flagged even when every size is in range."""
    from estimators.domain import TrainingDomain
    from estimators.features import fact_table

    train = [dense_design([32, 32, 8], bits=8, reuse=r) for r in (8, 16, 32)]  # at most 128 multipliers a layer
    dom = TrainingDomain.from_table(fact_table(train))
    flags, reasons = dom.check(fact_table([dense_design([32, 32, 8], bits=8, reuse=8),
                                           dense_design([32, 32, 8], bits=8, reuse=4)]))
    assert list(flags) == [False, True] and "multipliers=256" in reasons[1]


def test_per_layer_sum_objective_gradients_match_the_loss():
    """The per-layer models' custom objective: its gradient is the derivative of the design-sum loss (squared
    or pseudo-Huber in log1p space) with respect to each layer's margin (central differences)."""
    from estimators.boosting import _sum_objective

    rng = np.random.default_rng(0)
    design = np.array([0, 0, 0, 1, 1, 2])
    y_log = np.log1p(np.array([120.0, 40.0, 900.0]))
    margin = rng.normal(3.0, 1.0, len(design))

    def loss(m: np.ndarray, delta: float) -> float:
        r = np.log1p(np.bincount(design, weights=np.exp(m), minlength=3)) - y_log
        return float(np.sum(r ** 2 / 2 if delta == 0 else delta ** 2 * (np.sqrt(1 + (r / delta) ** 2) - 1)))

    for delta in (0.0, 0.1):
        grad, hess = _sum_objective(design, y_log, 3, delta)(margin, None)
        eps = 1e-6
        num = [(loss(margin + eps * e, delta) - loss(margin - eps * e, delta)) / (2 * eps) for e in np.eye(len(margin))]
        assert np.allclose(grad, num, rtol=1e-4, atol=1e-8)
        assert (hess > 0).all()
    # pseudo-Huber bounds the pull of a far-off design: its gradients stay below delta, squared ones do not
    far = margin + 3.0
    g_sq = _sum_objective(design, y_log, 3, 0.0)(far, None)[0]
    g_hu = _sum_objective(design, y_log, 3, 0.1)(far, None)[0]
    assert np.abs(g_hu).max() <= 0.1 < np.abs(g_sq).max()
