"""The HLS project writer and the g++ csim build, checked bit for bit against the emulator.

Graphs are built by hand (Layer objects, numpy weights, LayerConfig with FixedTypes) so that every layer kind,
strategy and awkward precision is covered without the Keras frontend. Each graph is written, compiled with g++
(codegen.csim) and its outputs and every layer's trace must equal codegen.emulator exactly.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from codegen import emulator
from codegen.csim import CSimLibrary, build, run_testbench
from codegen.fixed import FixedType
from codegen.hls import ProjectWriteError, write_project
from codegen.ir import Graph, Layer, LayerConfig
from codegen.toolchain import ToolchainError, find_ap_types, find_gxx

F = FixedType.parse

try:
    find_gxx(), find_ap_types()
except ToolchainError as e:  # pragma: no cover - environment without g++
    pytest.skip(f"g++ toolchain unavailable: {e}", allow_module_level=True)


# ---------------------------------------------------------------------------------------------- graph helpers
def cfg(**prec) -> LayerConfig:
    extra = {k: prec.pop(k) for k in ("reuse_factor", "strategy", "table_size") if k in prec}
    return LayerConfig(precision={k: F(v) for k, v in prec.items()}, **extra)


def inp(name, shape, t="ap_fixed<12,5>"):
    return Layer(name, "Input", [], shape, config=cfg(result=t))


def dense(name, src, kernel, bias, wt="ap_fixed<8,2>", bt="ap_fixed<8,3>", at="ap_fixed<18,7>",
          rt="ap_fixed<14,6>", out_shape=None, **kw):
    w = F(wt).round_trip(kernel)
    b = F(bt).round_trip(bias)
    shape = out_shape or (w.shape[1],)
    return Layer(name, "Dense", [src], shape, attrs=dict(n_in=w.shape[0], n_out=w.shape[1]),
                 weights=dict(kernel=w, bias=b), config=cfg(weight=wt, bias=bt, accum=at, result=rt, **kw))


def act(name, src, shape, fn, rt="ap_fixed<14,6>", **prec):
    return Layer(name, "Activation", [src], shape, attrs=dict(activation=fn), config=cfg(result=rt, **prec))


def conv(name, src, kind, kernel, bias, out_shape, strides, padding, wt="ap_fixed<8,2>", bt="ap_fixed<8,3>",
         at="ap_fixed<20,8>", rt="ap_fixed<14,6>", **kw):
    nd = 1 if kind == "Conv1D" else 2
    w = F(wt).round_trip(kernel)
    return Layer(name, kind, [src], out_shape,
                 attrs=dict(kernel_size=w.shape[:nd], strides=strides, padding=padding, filters=w.shape[-1],
                            in_channels=w.shape[nd]),
                 weights=dict(kernel=w, bias=F(bt).round_trip(bias)),
                 config=cfg(weight=wt, bias=bt, accum=at, result=rt, **kw))


def sample_inputs(shape, n=400, seed=0) -> np.ndarray:
    """Wide normal values, values on a coarse grid (ties for rounding modes) and a few extremes."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 3, (n // 2,) + tuple(shape))
    b = np.round(rng.uniform(-12, 12, (n - n // 2,) + tuple(shape)) * 8) / 8
    x = np.concatenate([a, b])
    x.reshape(len(x), -1)[:4] = [[40.0], [-40.0], [0.0], [1e-9]]
    return x


def check_bit_exact(graph: Graph, prj_dir: Path, X=None) -> CSimLibrary:
    """Write, build, and compare predict + trace with the emulator (exact equality)."""
    prj = write_project(graph, prj_dir)
    lib = CSimLibrary(prj)
    X = sample_inputs(graph.input_layer.shape) if X is None else X
    y = lib.predict(X)
    y_emu = emulator.predict(graph, X)
    assert y.shape == y_emu.shape == (len(X),) + graph.output_layer.shape
    tr, tr_emu = lib.trace(X), emulator.trace(graph, X)
    assert list(tr) == [l.name for l in graph]
    for name in tr_emu:
        got, want = tr[name], tr_emu[name].reshape(tr[name].shape)
        bad = np.argwhere(got != want)
        assert not len(bad), (f"layer {name!r} ({graph[name].kind}): {len(bad)} values differ, first at "
                              f"{bad[0].tolist()}: csim {got[tuple(bad[0])]} emulator {want[tuple(bad[0])]}")
    np.testing.assert_array_equal(y, y_emu)
    return lib


# ---------------------------------------------------------------------------------------------- graphs
def mlp(seed=1) -> Graph:
    rng = np.random.default_rng(seed)
    k1 = rng.normal(0, 0.8, (12, 6))
    k1[rng.random(k1.shape) < 0.3] = 0  # pruned weights
    return Graph([
        inp("x", (12,), "ap_fixed<10,4>"),
        # saturating, rounding accumulator: the order of the additions matters
        dense("fc1", "x", k1, rng.normal(0, 1, 6), at="ap_fixed<12,4,AP_RND,AP_SAT>", rt="ap_fixed<10,4>"),
        act("relu1", "fc1", (6,), "relu", rt="ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"),
        dense("fc2", "relu1", rng.normal(0, 1, (6, 5)), rng.normal(0, 1, 5), wt="ap_fixed<6,1>",
              at="ap_fixed<16,6>", rt="ap_fixed<16,6>", strategy="latency", reuse_factor=2),
        act("out", "fc2", (5,), "softmax", rt="ap_ufixed<12,1,AP_RND,AP_SAT>",
            exp_table="ap_ufixed<12,1,AP_RND,AP_SAT>", inv_table="ap_ufixed<12,4,AP_RND,AP_SAT>", table_size=256),
    ], name="mlp")


def test_dense_strategies(tmp_path):
    """Latency and Resource Dense layers with several reuse factors (one build), saturating accumulators."""
    rng = np.random.default_rng(7)

    def kernel(n_in, n_out):
        k = rng.normal(0, 0.8, (n_in, n_out))
        k[rng.random(k.shape) < 0.25] = 0  # pruned weights
        return k

    sat = "ap_fixed<12,4,AP_RND,AP_SAT>"  # a saturating accumulator: the order of the additions matters
    layers = [inp("x", (12,), "ap_fixed<10,4>")]
    prev = "x"
    for name, n_out, strategy, rf, at in [("lat1", 12, "latency", 1, sat), ("lat4", 12, "latency", 4, sat),
                                         ("res1", 12, "resource", 1, sat), ("res3", 12, "resource", 3, sat),
                                         ("res7", 6, "resource", 7, "ap_fixed<16,6,AP_TRN,AP_SAT_SYM>"),
                                         ("res30", 5, "resource", 30, sat)]:
        n_in = layers[-1].size
        layers.append(dense(name, prev, kernel(n_in, n_out), rng.normal(0, 1, n_out), at=at, rt="ap_fixed<10,4>",
                            strategy=strategy, reuse_factor=rf))
        layers.append(act(f"{name}_relu", name, (n_out,), "relu", rt="ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"))
        prev = f"{name}_relu"
    g = Graph(layers, name="strategies")
    check_bit_exact(g, tmp_path / "prj")
    params = (tmp_path / "prj" / "firmware" / "parameters.h").read_text()
    n_zeros = int((g["res7"].weights["kernel"] == 0).sum())
    assert re.search(rf"struct res7_config : nnet::dense_config \{{[^}}]*n_zeros = {n_zeros};[^}}]*"
                     r"multiplier_limit = \d+;\s*static const unsigned block_factor = 11;", params)  # ceil(72 / 7)
    assert "static const unsigned strategy = nnet::resource;" in params
    top = (tmp_path / "prj" / "firmware" / "strategies.cpp").read_text()
    assert "#pragma HLS DATAFLOW" in top  # a Resource layer: dataflow at the top, as hls4ml's pipeline_style auto


def test_latency_only_graph_is_pipelined(tmp_path):
    prj = write_project(mlp(), tmp_path / "prj")
    assert "#pragma HLS PIPELINE\n" in (prj / "firmware" / "mlp.cpp").read_text()


def test_activations_and_merges(tmp_path):
    shape = (16,)
    g = Graph([
        inp("x", shape, "ap_fixed<14,5>"),
        act("sig", "x", shape, "sigmoid", rt="ap_ufixed<10,0,AP_RND,AP_SAT>",
            table="ap_ufixed<12,0,AP_RND,AP_SAT>", table_size=1024),
        act("th", "x", shape, "tanh", rt="ap_fixed<8,1,AP_RND,AP_SAT>", table="ap_fixed<8,1,AP_RND,AP_SAT>",
            table_size=8),  # a tiny table: index type ap_ufixed<3,3>
        act("lin", "x", shape, "linear", rt="ap_fixed<6,3,AP_RND_CONV,AP_SAT_SYM>"),
        act("rl", "x", shape, "relu", rt="ap_ufixed<7,2,AP_RND,AP_SAT>"),
        Layer("sum", "Add", ["sig", "th", "lin", "rl"], shape, config=cfg(result="ap_fixed<12,4>")),
        Layer("cat", "Concatenate", ["sum", "x"], (32,), attrs=dict(axis=-1), config=cfg(result="ap_fixed<10,5>")),
        act("sm", "cat", (32,), "softmax", rt="ap_ufixed<16,0,AP_RND,AP_SAT>",
            exp_table="ap_ufixed<16,1,AP_RND,AP_SAT>", inv_table="ap_ufixed<16,2,AP_RND,AP_SAT>", table_size=1024),
    ], name="acts")
    check_bit_exact(g, tmp_path / "prj")


def test_softmax_rows_and_integer_input(tmp_path):
    """Softmax over the last axis of a 2-D tensor; an ap_int input; an exp table that does not reach 1."""
    g = Graph([
        inp("x", (3, 5), "ap_int<6>"),
        act("sm", "x", (3, 5), "softmax", rt="ap_fixed<10,2>", exp_table="ap_ufixed<8,0,AP_RND,AP_SAT>",
            inv_table="ap_ufixed<10,3>", table_size=64),
    ], name="rows")
    check_bit_exact(g, tmp_path / "prj")


def test_conv2d_cnn(tmp_path):
    rng = np.random.default_rng(3)
    g = Graph([
        inp("x", (7, 7, 2), "ap_fixed<10,3>"),
        # 'same' with stride 2 and a 3x2 kernel: pads (1, 1) in height, (0, 1) in width
        conv("c1", "x", "Conv2D", rng.normal(0, 0.7, (3, 2, 2, 4)), rng.normal(0, 1, 4), (4, 4, 4), (2, 2), "same",
             strategy="latency", reuse_factor=2),
        Layer("bn", "BatchNormalization", ["c1"], (4, 4, 4),
              weights=dict(scale=F("ap_fixed<6,3>").round_trip(rng.normal(1, 0.5, 4)),
                           bias=F("ap_fixed<8,4>").round_trip(rng.normal(0, 1, 4))),
              config=cfg(scale="ap_fixed<6,3>", bias="ap_fixed<8,4>", result="ap_fixed<12,5,AP_RND,AP_SAT>")),
        act("r", "bn", (4, 4, 4), "relu", rt="ap_ufixed<10,4>"),
        Layer("mp", "Pooling2D", ["r"], (3, 3, 4), attrs=dict(op="max", pool_size=(2, 2), strides=(1, 1)),
              config=cfg(result="ap_ufixed<10,4>")),
        conv("c2", "mp", "Conv2D", rng.normal(0, 0.7, (2, 2, 4, 3)), rng.normal(0, 1, 3), (2, 2, 3), (1, 1), "valid",
             at="ap_fixed<14,6,AP_TRN,AP_SAT>", strategy="resource", reuse_factor=4),
        Layer("gap", "GlobalPooling2D", ["c2"], (3,), attrs=dict(op="avg"), config=cfg(result="ap_fixed<12,5>")),
        dense("fc", "gap", rng.normal(0, 1, (3, 2)), rng.normal(0, 1, 2), rt="ap_fixed<16,8>"),
    ], name="cnn2d")
    check_bit_exact(g, tmp_path / "prj", sample_inputs((7, 7, 2), n=200))


def test_conv1d_pooling_reshape_concat(tmp_path):
    rng = np.random.default_rng(4)
    g = Graph([
        inp("x", (10, 3), "ap_fixed<10,4>"),
        conv("c1", "x", "Conv1D", rng.normal(0, 0.7, (3, 3, 4)), rng.normal(0, 1, 4), (5, 4), (2,), "same"),
        Layer("ap", "Pooling1D", ["c1"], (3, 4), attrs=dict(op="avg", pool_size=(3,), strides=(1,)),
              config=cfg(result="ap_fixed<12,5,AP_RND,AP_SAT>")),  # 1/3 as ap_ufixed<24,0,AP_RND>
        act("r", "ap", (3, 4), "relu", rt="ap_fixed<10,5>"),
        Layer("cat", "Concatenate", ["ap", "r"], (6, 4), attrs=dict(axis=0), config=cfg(result="ap_fixed<11,5>")),
        dense("d", "cat", rng.normal(0, 1, (4, 3)), rng.normal(0, 1, 3), out_shape=(6, 3)),  # Dense per position
        conv("c2", "d", "Conv1D", rng.normal(0, 0.7, (2, 3, 2)), rng.normal(0, 1, 2), (5, 2), (1,), "valid",
             strategy="resource", reuse_factor=3),
        Layer("mx", "Pooling1D", ["c2"], (2, 2), attrs=dict(op="max", pool_size=(2,), strides=(2,)),
              config=cfg(result="ap_fixed<14,6>")),
        Layer("flat", "Reshape", ["mx"], (4,), config=cfg(result="ap_fixed<14,6>")),
        Layer("gmp_in", "Reshape", ["flat"], (2, 2), config=cfg(result="ap_fixed<14,6>")),
        Layer("gmp", "GlobalPooling1D", ["gmp_in"], (2,), attrs=dict(op="max"), config=cfg(result="ap_fixed<8,4>")),
    ], name="cnn1d")
    check_bit_exact(g, tmp_path / "prj")


def test_awkward_names_and_wide_types(tmp_path):
    """Names that are not C++ identifiers, keywords, names colliding after sanitizing; wide accumulators."""
    rng = np.random.default_rng(5)
    g = Graph([
        inp("1st layer!", (6,), "ap_int<6>"),
        dense("int", "1st layer!", rng.normal(0, 1, (6, 4)), rng.normal(0, 1, 4), at="ap_fixed<70,30>",
              rt="ap_fixed<40,20>"),
        dense("a b", "int", rng.normal(0, 1, (4, 4)), rng.normal(0, 1, 4), rt="ap_fixed<8,10>"),  # lsb 4
        dense("a_b", "a b", rng.normal(0, 1, (4, 3)), rng.normal(0, 1, 3), wt="ap_int<3>"),
        dense("a-b", "a_b", rng.normal(0, 1, (3, 3)), rng.normal(0, 1, 3), rt="ap_fixed<20,10,AP_RND_INF,AP_SAT>"),
        act("../../evil", "a-b", (3,), "relu", rt="ap_ufixed<12,6>"),
        act("line\nbreak\\", "../../evil", (3,), "linear", rt="ap_ufixed<12,6>"),  # a name unsafe in // comments
    ], name="a_b_out")  # collides with the buffer of layer 'a_b' -> renamed
    assert len({l.cpp_name for l in g}) == len(g)
    check_bit_exact(g, tmp_path / "out" / "prj")
    meta = json.loads((tmp_path / "out" / "prj" / "project.json").read_text())
    assert meta["top"] != "a_b_out" and re.fullmatch(r"[A-Za-z_]\w*", meta["top"])
    assert (tmp_path / "out" / "prj" / "firmware" / f"{meta['top']}.cpp").is_file()
    # nothing outside output_dir
    outside = [p for p in tmp_path.rglob("*") if not str(p).startswith(str(tmp_path / "out"))]
    assert outside == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["prj"]
    weights = sorted(p.name for p in (tmp_path / "out" / "prj" / "firmware" / "weights").iterdir())
    assert all(re.fullmatch(r"[A-Za-z_]\w*_(w|b)\.h", w) for w in weights), weights


def test_project_structure(tmp_path):
    g = mlp()
    prj = write_project(g, tmp_path / "prj")
    for rel in ["firmware/mlp.cpp", "firmware/mlp.h", "firmware/defines.h", "firmware/parameters.h",
                "firmware/weights/fc1_w.h", "firmware/weights/out_exptable.h", "firmware/nnet_utils/nnet_dense.h",
                "mlp_test.cpp", "mlp_bridge.cpp", "build_prj.tcl", "project.tcl", "vivado_synth.tcl",
                "project.json"]:
        assert (prj / rel).is_file(), rel
    defines = (prj / "firmware" / "defines.h").read_text()
    assert "typedef ap_fixed<10,4> fc1_result_t;" in defines
    assert "typedef x_result_t input_t;" in defines and "typedef out_result_t result_t;" in defines
    top = (prj / "firmware" / "mlp.cpp").read_text()
    assert "void mlp(input_t input[N_INPUT], result_t output[N_OUTPUT])" in top
    assert "#pragma HLS ARRAY_PARTITION variable=input complete" in top and "#pragma HLS PIPELINE" in top
    tcl = (prj / "build_prj.tcl").read_text()
    for s in ["open_project", "set_top ${project_name}", 'add_files firmware/${project_name}.cpp -cflags "-std=c++14"',
              'open_solution "solution1"', "set_part $part", "create_clock -period $clock_period", "csynth_design",
              "csim_design", "cosim_design", "export_design"]:
        assert s in tcl, s
    ptcl = (prj / "project.tcl").read_text()
    assert 'set project_name "mlp"' in ptcl and f'set part "{g.part}"' in ptcl and "set clock_period 5.0" in ptcl
    meta = json.loads((prj / "project.json").read_text())
    assert meta["config"]["HLSConfig"]["LayerName"]["fc1"]["Precision"]["accum"] == "ap_fixed<12,4,AP_RND,AP_SAT>"
    assert [l["name"] for l in meta["layers"]] == [l.name for l in g]
    assert not list(prj.rglob("ap_fixed.h"))  # ap_types are never copied


def test_weights_are_exact_constants(tmp_path):
    g = mlp()
    prj = write_project(g, tmp_path / "prj")
    text = (prj / "firmware" / "weights" / "fc1_w.h").read_text()
    body = text[text.index("#endif\n") + 7:text.rindex("};")]
    vals = np.array([float(v) for v in body.replace("\n", " ").split(",")])
    np.testing.assert_array_equal(vals, g["fc1"].weights["kernel"].ravel())


def test_too_wide_constants_are_refused(tmp_path):
    g = mlp()
    g["fc1"].config.precision["weight"] = F("ap_fixed<60,4>")
    g["fc1"].weights["kernel"] = np.full((12, 6), 1 / 3)  # needs all 56 fractional bits
    with pytest.raises(ProjectWriteError, match=r"fc1.*ap_fixed<60,4>.*exactly representable"):
        write_project(g, tmp_path / "prj")


def test_output_dir_is_a_file(tmp_path):
    f = tmp_path / "not_a_dir"
    f.write_text("x")
    with pytest.raises(ProjectWriteError, match=re.escape(str(f))):
        write_project(mlp(), f)
    assert f.read_text() == "x"


def test_bad_graphs_are_refused(tmp_path):
    g = mlp()
    del g["fc2"].config.precision["accum"]
    with pytest.raises(ProjectWriteError, match=r"fc2.*'accum'"):
        write_project(g, tmp_path / "a")
    g = mlp()
    g["relu1"].attrs["activation"] = "swish"
    with pytest.raises(ProjectWriteError, match=r"relu1.*swish"):
        write_project(g, tmp_path / "b")
    with pytest.raises(ProjectWriteError, match="tb_outputs needs tb_inputs"):
        write_project(mlp(), tmp_path / "c", tb_outputs=np.zeros((1, 5)))


def test_build_cache_and_reload(tmp_path):
    g = mlp(seed=2)
    prj = write_project(g, tmp_path / "prj")
    so1 = build(prj)
    mtime = so1.stat().st_mtime_ns
    write_project(g, prj)  # unchanged content: files are not rewritten, the build is reused
    assert build(prj) == so1 and so1.stat().st_mtime_ns == mtime
    lib1 = CSimLibrary(prj, so1)
    X = sample_inputs((12,), n=50)
    y1 = lib1.predict(X)
    g["fc2"].weights["kernel"] = -g["fc2"].weights["kernel"]
    write_project(g, prj)
    so2 = build(prj)
    assert so2 != so1 and so2.is_file() and not so1.exists()
    lib2 = CSimLibrary(prj, so2)
    y2 = lib2.predict(X)
    np.testing.assert_array_equal(y2, emulator.predict(g, X))
    assert not np.array_equal(y1, y2)
    np.testing.assert_array_equal(lib1.predict(X), y1)  # the old library still works in this process
    np.testing.assert_array_equal(lib2.predict(X, n_threads=3), y2)
    assert json.loads(so2.with_suffix(".json").read_text())["compile_seconds"] > 0


@pytest.fixture(scope="module")
def mlp_lib(tmp_path_factory) -> CSimLibrary:
    """One build of mlp() shared by the tests that only use it."""
    return CSimLibrary(write_project(mlp(), tmp_path_factory.mktemp("mlp") / "prj"))


def test_predict_input_checks(mlp_lib):
    lib = mlp_lib
    x = sample_inputs((12,), n=4)
    np.testing.assert_array_equal(lib.predict(x[0]), lib.predict(x[:1]))  # a single sample
    with pytest.raises(ValueError, match="input shape"):
        lib.predict(np.zeros((3, 11)))
    with pytest.raises(ValueError, match="nan"):
        lib.predict(np.full((1, 12), np.nan))
    assert set(lib.trace(x, layers=["fc2"])) == {"fc2"}


def test_testbench_passes_and_detects_mismatch(mlp_lib):
    g = mlp()
    X = sample_inputs((12,), n=40)
    y = emulator.predict(g, X)
    prj = write_project(g, mlp_lib.project_dir, tb_inputs=X, tb_outputs=y)
    proc = run_testbench(prj)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED" in proc.stdout
    log = np.loadtxt(prj / "tb_data" / "csim_results.log")
    np.testing.assert_array_equal(log, y)
    y_bad = y.copy()
    y_bad[3, 2] += 2.0 ** -10
    write_project(g, prj, tb_inputs=X, tb_outputs=y_bad)
    proc = run_testbench(prj)  # the testbench executable is reused: only tb_data changed
    assert proc.returncode == 1 and "MISMATCH sample 3 output 2" in proc.stdout
    assert len(list((prj / "csim").glob("mlp_tb_*"))) == 1


def test_stale_weight_files_are_removed(tmp_path):
    prj = write_project(mlp(), tmp_path / "prj")
    (prj / "firmware" / "weights" / "old_w.h").write_text("// stale")
    write_project(mlp(), prj)
    assert not (prj / "firmware" / "weights" / "old_w.h").exists()
    assert os.path.isfile(prj / "firmware" / "weights" / "fc1_w.h")
