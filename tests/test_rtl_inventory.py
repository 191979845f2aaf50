"""The live-logic inventory of generated Verilog (codegen.rtl.inventory) and the rtl_* facts built on it."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import codegen
from codegen.ir import Graph, Layer
from codegen.rtl import plan_design
from codegen.rtl.arith import csd
from codegen.rtl.inventory import INVENTORY_KEYS, layer_inventory, pmux_luts

XC7 = "xc7z020clg400-1"  # the seed dataset's part (yosys packs DSP post-adders on 7-series parts only)
CFG = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 1, "Strategy": "Latency"}}


def _mlp(k1: np.ndarray, k2: np.ndarray, b1: np.ndarray | None = None) -> Graph:
    n_in, n_hid = k1.shape
    return Graph([
        Layer("x", "Input", [], (n_in,)),
        Layer("fc1", "Dense", ["x"], (n_hid,), weights={"kernel": k1, "bias": np.zeros(n_hid) if b1 is None else b1}),
        Layer("fc2", "Dense", ["fc1"], (k2.shape[1],), weights={"kernel": k2, "bias": np.zeros(k2.shape[1])}),
    ], name="mlp")


def _inventory(graph: Graph, cfg=CFG, part: str = XC7) -> dict[str, dict[str, int]]:
    hm = codegen.convert(graph, config=cfg, output_dir="/nonexistent/inventory-test", part=part)
    return layer_inventory(plan_design(hm))


def test_counts_follow_the_weights():
    """Reuse 1: one shift-add per extra CSD digit of each (input, weight) product, adders per output, and
    the output registers plus the valid bit."""
    k1 = np.array([[0.25, 0.875], [0.5, -0.75], [0.625, 0.0]])  # raw (frac 5): 8 28 | 16 -24 | 20 0
    k2 = np.array([[0.5], [0.25]])
    inv = _inventory(_mlp(k1, k2))
    assert set(inv["fc1"]) == set(INVENTORY_KEYS)
    multi_digit = sum(len(csd(int(round(w * 32)))) > 1 for w in k1.ravel())
    assert multi_digit == 3  # 28, -24, 20
    assert inv["fc1"]["rtl_shift_add_bits"] > 0 and inv["fc2"]["rtl_shift_add_bits"] == 0  # fc2: powers of two
    assert inv["fc1"]["rtl_add_bits"] > 0 and inv["fc1"]["rtl_lutmul_bits"] == 0
    assert inv["x"] == dict.fromkeys(INVENTORY_KEYS, 0)
    # deterministic
    assert _inventory(_mlp(k1, k2)) == inv


def test_outputs_nobody_reads_and_constant_outputs_make_no_logic():
    k1 = np.array([[0.25, 0.875, 0.375], [0.5, -0.75, 0.125]])
    used = _inventory(_mlp(k1, np.array([[0.5], [0.25], [0.75]])))
    unread = _inventory(_mlp(k1, np.array([[0.5], [0.25], [0.0]])))  # fc1 output 2 feeds only a zero weight
    width = used["fc1"]["rtl_reg_bits"] - unread["fc1"]["rtl_reg_bits"]
    assert width > 0 and unread["fc1"]["rtl_add_bits"] < used["fc1"]["rtl_add_bits"]
    # an output with no nonzero weight is its bias, a constant: no register either
    k1z = k1.copy()
    k1z[:, 2] = 0.0
    const = _inventory(_mlp(k1z, np.array([[0.5], [0.25], [0.75]]), b1=np.array([0.0, 0.0, 0.5])))
    assert used["fc1"]["rtl_reg_bits"] - const["fc1"]["rtl_reg_bits"] == width


def test_constant_outputs_are_constant_inputs_of_the_next_layer():
    """A neuron with all its weights pruned outputs its bias: yosys flattens the design and folds the next layer's
    products of it, so they make no logic there (only the valid chain's flip-flops stay in a dead layer)."""
    k1 = np.array([[0.25, 0.875, 0.0], [0.5, -0.75, 0.0]])  # fc1 output 2: no weights, bias 0.5
    b1 = np.array([0.0, 0.0, 0.5])
    k2 = np.array([[0.5], [0.25], [0.875]])  # 0.875 = 28/32: two CSD digits, a shift-add if its input varied
    inv = _inventory(_mlp(k1, k2, b1=b1))
    assert inv["fc2"]["rtl_shift_add_bits"] == 0
    k2_zero = k2.copy()
    k2_zero[2] = 0.0
    ref = _inventory(_mlp(k1, k2_zero, b1=b1))
    assert inv["fc1"] == ref["fc1"]
    assert inv["fc2"]["rtl_add_bits"] + inv["fc2"]["rtl_csa_bits"] <= ref["fc2"]["rtl_add_bits"] + ref["fc2"][
        "rtl_csa_bits"] + 8  # at most a constant operand more
    # every input of fc2 constant: no logic, the valid bit only
    dead = _inventory(_mlp(np.zeros((2, 3)), k2, b1=b1))
    assert dead["fc1"]["rtl_reg_bits"] == dead["fc2"]["rtl_reg_bits"] == 1
    assert all(v == 0 for layer in dead.values() for k, v in layer.items()
               if k not in ("rtl_reg_bits", "rtl_latency", "rtl_ii"))


def test_a_bias_added_to_one_product_is_a_constant_addition():
    """An output with a single power-of-two weight is ``(x << k) + bias``: a carry chain fed by the variable's bits
    and a constant, which yosys builds without LUTs (rtl_const_add_bits, not rtl_add_bits)."""
    inv = _inventory(_dense(np.array([[0.5, 0.0], [0.0, -0.25]]), np.array([0.5, 0.375])))["fc"]
    assert inv["rtl_const_add_bits"] > 0 and inv["rtl_add_bits"] == inv["rtl_csa_bits"] == 0
    two = _inventory(_dense(np.array([[0.5, 0.0], [0.25, -0.25]]), np.array([0.5, 0.375])))["fc"]
    assert two["rtl_add_bits"] > 0 and two["rtl_csa_bits"] > 0  # x0/2 + x1/4 + 0.5: a carry chain and a CSA row


def test_constant_operands_of_an_addition_fold_into_one():
    """fc2 adds a variable, the product of fc1's constant output and its bias: yosys folds the two constants into
    one, leaving a variable plus a constant (rtl_const_add_bits, no LUTs), not a three-operand adder."""
    g = _mlp(np.array([[0.5, 0.0], [0.0, 0.0]]), np.array([[0.5], [0.75]]), b1=np.array([0.0, 0.25]))
    g["fc2"].weights["bias"] = np.array([0.375])
    fc2 = _inventory(g)["fc2"]
    assert fc2["rtl_const_add_bits"] > 0 and fc2["rtl_add_bits"] == fc2["rtl_csa_bits"] == 0


def test_identical_products_count_once_and_a_constant_rom_is_a_constant():
    """Reuse 2: two outputs with the same weight column multiply the same multiplexed input by the same weight ROM,
    one cell after yosys opt_merge; a ROM holding one value in both cycles is a constant, not a ROM."""
    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 2, "Strategy": "Resource"}}
    one = _inventory(_dense(np.array([[0.375], [0.625]]), np.zeros(1)), cfg)["fc"]
    dup = _inventory(_dense(np.array([[0.375, 0.375], [0.625, 0.625]]), np.zeros(2)), cfg)["fc"]
    assert one["rtl_lutmul_bits"] > 0 and dup["rtl_lutmul_bits"] == one["rtl_lutmul_bits"]
    assert dup["rtl_reg_bits"] > one["rtl_reg_bits"]  # two accumulators and outputs all the same
    varying = _inventory(_dense(np.array([[0.375], [0.625]]), np.zeros(1)), cfg)["fc"]["rtl_rom_bits"]
    constant = _inventory(_dense(np.array([[0.375], [0.375]]), np.zeros(1)), cfg)["fc"]
    assert varying > 0 and constant["rtl_rom_bits"] == constant["rtl_rom_luts"] == 0


def test_time_multiplexed_layers_count_multipliers_and_multiplexers():
    rng = np.random.default_rng(0)
    k1 = rng.uniform(-1, 1, (8, 6))
    k2 = rng.uniform(-1, 1, (6, 2))
    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 4, "Strategy": "Resource"}}
    inv = _inventory(_mlp(k1, k2), cfg)
    fc1 = inv["fc1"]
    assert fc1["rtl_lutmul_bits"] > 0 and fc1["rtl_select_bits"] > 0 and fc1["rtl_rom_bits"] > 0
    assert fc1["rtl_shift_add_bits"] == 0
    # more reuse: fewer multipliers, wider multiplexers
    cfg8 = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 8, "Strategy": "Resource"}}
    fc1_8 = _inventory(_mlp(k1, k2), cfg8)["fc1"]
    assert fc1_8["rtl_lutmul_bits"] < fc1["rtl_lutmul_bits"]


def test_facts_carry_the_inventory_or_minus_one(tmp_path):
    desc = {"layers": [{"type": "Dense", "n_in": 12, "n_out": 7, "activation": "relu", "sparsity": 0.5},
                       {"type": "Dense", "n_in": 7, "n_out": 3}], "seed": 4}
    hm = codegen.convert(desc, config={"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 2,
                                                 "Strategy": "Resource"}}, output_dir=tmp_path / "p")
    facts = codegen.layer_facts(hm.graph)
    assert all(set(INVENTORY_KEYS) <= set(f) for f in facts) and set(INVENTORY_KEYS) <= set(codegen.FACT_KEYS)
    inv = layer_inventory(plan_design(hm))
    assert [{k: f[k] for k in INVENTORY_KEYS} for f in facts] == [inv[f["name"]] for f in facts]
    assert facts[1]["rtl_reg_bits"] > 0
    # a design the Verilog writer cannot build (io_stream) keeps its other facts, rtl_* are -1
    hm.graph.io_type = "io_stream"
    facts = codegen.layer_facts(hm.graph)
    assert facts[1]["n_in"] == 12 and all(f[k] == -1 for f in facts for k in INVENTORY_KEYS)


#: the converter's facts of a 16x8 Dense layer at reuse 4 (no rtl_* counts)
FC1_FACTS = dict(name="fc1", kind="Dense", n_in=16, n_out=8, out_pixels=1, params=136, nonzero_params=136,
                 weight_bits=8, weight_integer_bits=3, bias_bits=8, input_bits=8, input_integer_bits=3, result_bits=8,
                 result_integer_bits=3, accum_bits=20, accum_integer_bits=8, reuse=4, strategy="resource",
                 activation="linear")


def test_features_use_the_inventory_when_present():
    from estimators.features import RTL_FACTS, RTL_LUT_COST, layer_features

    assert RTL_FACTS == INVENTORY_KEYS
    without = layer_features(FC1_FACTS)
    inv = dict.fromkeys(INVENTORY_KEYS, 0) | {"rtl_lutmul_bits": 2048, "rtl_select_luts": 1000, "rtl_reg_bits": 700,
                                              "rtl_dsp_add_bits": 500}
    with_inv = layer_features({**FC1_FACTS, **inv})
    assert without["rtl_known"] == 0.0 and with_inv["rtl_known"] == 1.0
    assert with_inv["ff_rtl_est"] == 700
    assert RTL_LUT_COST["rtl_dsp_add_bits"] == 0.0  # DSP post-adders take no LUTs
    assert with_inv["lut_rtl_est"] == pytest.approx(
        RTL_LUT_COST["rtl_lutmul_bits"] * 2048 + RTL_LUT_COST["rtl_select_luts"] * 1000)
    assert without["lut_rtl_est"] != with_inv["lut_rtl_est"]


def test_lut_shares_split_the_prior_by_fact():
    """``lut_share_<fact>`` is each costed fact's part of the LUT prior, per layer row and per design."""
    from estimators.features import RTL_LUT_COST, design_features, fact_table, layer_feature_matrix

    fc1 = {**FC1_FACTS, **dict.fromkeys(INVENTORY_KEYS, 0), "rtl_lutmul_bits": 2048, "rtl_pmux_luts": 100}
    fc2 = {**FC1_FACTS, "name": "fc2", **dict.fromkeys(INVENTORY_KEYS, 0), "rtl_add_bits": 300}
    design = {"layers": [fc1, fc2]}
    x, names = layer_feature_matrix(fact_table([design]))
    row = dict(zip(names, x[0]))
    mul, mux = RTL_LUT_COST["rtl_lutmul_bits"] * 2048, RTL_LUT_COST["rtl_pmux_luts"] * 100
    assert row["lut_share_rtl_lutmul_bits"] == pytest.approx(mul / (mul + mux))
    assert row["lut_share_rtl_add_bits"] == 0.0
    assert sum(v for k, v in row.items() if k.startswith("lut_share_")) == pytest.approx(1.0)
    g = design_features(design)
    add = RTL_LUT_COST["rtl_add_bits"] * 300
    assert g["lut_share_rtl_add_bits"] == pytest.approx(add / (mul + mux + add))
    assert sum(v for k, v in g.items() if k.startswith("lut_share_")) == pytest.approx(1.0)


def test_a_surrogate_trained_with_rtl_facts_flags_designs_without_them(tmp_path):
    from estimators.domain import TrainingDomain
    from estimators.features import fact_table

    desc = {"layers": [{"type": "Dense", "n_in": 12, "n_out": 7, "activation": "relu"},
                       {"type": "Dense", "n_in": 7, "n_out": 3}], "seed": 1}
    hm = codegen.convert(desc, config={"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 2,
                                                 "Strategy": "Resource"}}, output_dir=tmp_path / "p")
    design = codegen.design_facts(hm.graph)
    dom = TrainingDomain.from_table(fact_table([design]))
    assert dom.rtl_facts and "rtl_lut_est" in dom.ranges
    assert TrainingDomain.from_dict(dom.to_dict()) == dom
    old = {**design, "layers": [{k: v for k, v in f.items() if not k.startswith("rtl_")} for f in design["layers"]]}
    flags, reasons = dom.check(fact_table([design, old]))
    assert flags.tolist() == [False, True] and "no rtl_* facts" in reasons[1]
    # a domain without them (e.g. vitis-u250) neither records nor checks them
    dom_old = TrainingDomain.from_table(fact_table([old]))
    assert not dom_old.rtl_facts and "rtl_lut_est" not in dom_old.ranges
    assert dom_old.check(fact_table([design, old]))[0].tolist() == [False, False]


def test_a_weight_rom_counts_only_its_bits_that_are_ever_one():
    """reuse 2 over a 2x1 Dense: one multiplier whose weight ROM holds raw 16 and 8 (frac 5): bits 3 and 4."""
    g = Graph([Layer("x", "Input", [], (2,)),
               Layer("fc", "Dense", ["x"], (1,), weights={"kernel": np.array([[0.5], [0.25]]), "bias": np.zeros(1)})])
    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 2, "Strategy": "Resource"}}
    assert _inventory(g, cfg)["fc"]["rtl_lutmul_bits"] == 8 * 2


def test_cycle_priors_equal_the_writers_latency_and_ii(tmp_path):
    from codegen.rtl import initiation_interval, latency_cycles
    from estimators.features import design_features

    desc = {"layers": [{"type": "Dense", "n_in": 12, "n_out": 8, "activation": "relu"},
                       {"type": "Dense", "n_in": 8, "n_out": 3}], "seed": 2}
    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 4, "Strategy": "Resource"},
           "LayerName": {"dense_1": {"ReuseFactor": 1}}}
    hm = codegen.convert(desc, config=cfg, output_dir=tmp_path / "p")
    f = design_features(codegen.design_facts(hm.graph))
    assert (f["latency_rtl_est"], f["ii_rtl_est"]) == (latency_cycles(hm), initiation_interval(hm)) == (8, 4)


def test_registers_after_dsp_products_are_counted_apart():
    """16-bit operands: products go to DSP blocks (staged: registered right after the multiplication), and
    those registers, which synthesis may move into the DSP48s, are not in rtl_reg_bits."""
    rng = np.random.default_rng(3)
    k1, k2 = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (3, 2))
    wide = {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"}}
    fc1 = _inventory(_mlp(k1, k2), wide)["fc1"]
    assert fc1["rtl_dsp_mults"] > 0 and fc1["rtl_dsp_reg_bits"] > 0
    narrow = _inventory(_mlp(k1, k2))["fc1"]
    assert narrow["rtl_dsp_mults"] == narrow["rtl_dsp_reg_bits"] == 0


def _dense(kernel: np.ndarray, bias: np.ndarray) -> Graph:
    return Graph([Layer("x", "Input", [], (kernel.shape[0],)),
                  Layer("fc", "Dense", ["x"], (kernel.shape[1],), weights={"kernel": kernel, "bias": bias})])


def _wide(reuse: int, result: str = "ap_fixed<16,6>") -> dict:
    """16-bit operands: every product is a DSP multiplication (DspPolicy's 10-bit threshold)."""
    return {"Model": {"Precision": {"default": "ap_fixed<16,6>", "accum": "auto", "result": result},
                      "ReuseFactor": reuse,
                      "Strategy": "Resource"}}


def test_products_summed_directly_go_to_dsp_post_adders():
    """Reuse 2 over 8x4: each output adds two products per cycle to its accumulator, ``u + p_a + p_b`` with
    ``u`` the first-cycle reset multiplexer. Both adds go to the DSPs' post-adders (yosys xilinx_dsp), and
    the multiplexer, with no LUT adder left to merge into, is counted apart."""
    rng = np.random.default_rng(3)
    inv = _inventory(_dense(rng.uniform(-1, 1, (8, 4)), rng.uniform(-1, 1, 4)), _wide(2))["fc"]
    assert inv["rtl_dsp_mults"] == 16
    assert inv["rtl_add_bits"] == inv["rtl_csa_bits"] == 0
    assert inv["rtl_dsp_add_bits"] > 0 and inv["rtl_mux_dsp_bits"] > 0 and inv["rtl_mux_bits"] == 0
    # yosys packs no post-adders into UltraScale+ DSP48E2 blocks: the same layer's adds stay in LUTs there
    ultra = _inventory(_dense(rng.uniform(-1, 1, (8, 4)), rng.uniform(-1, 1, 4)), _wide(2), "xcu250-figd2104-2L-e")
    assert ultra["fc"]["rtl_dsp_add_bits"] == ultra["fc"]["rtl_mux_dsp_bits"] == 0 and ultra["fc"]["rtl_add_bits"] > 0


def test_a_product_by_an_even_constant_keeps_its_add_in_luts():
    """Reuse 1: the same layer with one odd raw weight per output (post-adder packs the add) or only even
    ones (the product's constant-0 low bit is trimmed and the add stays in LUTs)."""
    frac = 10  # ap_fixed<16,6>
    odd = np.array([[3.0, 5.0], [6.0, 10.0]]) / 2 ** frac   # per output: one odd and one even raw weight
    even = np.array([[6.0, 10.0], [12.0, 20.0]]) / 2 ** frac
    bias = np.full(2, 0.5)
    inv_odd = _inventory(_dense(odd, bias), _wide(1))["fc"]
    inv_even = _inventory(_dense(even, bias), _wide(1))["fc"]
    assert inv_odd["rtl_dsp_mults"] == inv_even["rtl_dsp_mults"] == 4
    assert inv_odd["rtl_dsp_add_bits"] > 0 and inv_even["rtl_dsp_add_bits"] == 0
    assert inv_even["rtl_add_bits"] + inv_even["rtl_csa_bits"] > inv_odd["rtl_add_bits"] + inv_odd["rtl_csa_bits"]


def test_adders_count_only_the_bits_that_can_change_and_are_read():
    """A bias with few fraction bits has low zero bits (no adder below them); a wrapping result reads only
    the low bits of the sum (yosys trims the adder above them), a saturating one reads all of it."""
    k = np.array([[0.375, -0.625], [0.8125, 0.4375], [-0.3125, 0.6875]])
    cfg = {"Model": {"Precision": {"default": "ap_fixed<8,3>", "accum": "ap_fixed<24,12>"}, "ReuseFactor": 1,
                     "Strategy": "Latency"}}
    coarse = _inventory(_dense(k, np.array([1.0, -2.0])), cfg)["fc"]      # raw bias: low 5 bits 0
    fine = _inventory(_dense(k, np.array([1.03125, -1.96875])), cfg)["fc"]  # raw bias odd
    assert coarse["rtl_add_bits"] + coarse["rtl_csa_bits"] < fine["rtl_add_bits"] + fine["rtl_csa_bits"]
    sat = {"Model": {"Precision": {"default": "ap_fixed<8,3>", "accum": "ap_fixed<24,12>",
                                   "result": "ap_fixed<8,3,AP_TRN,AP_SAT>"}, "ReuseFactor": 1, "Strategy": "Latency"}}
    saturating = _inventory(_dense(k, np.array([1.03125, -1.96875])), sat)["fc"]
    assert fine["rtl_add_bits"] + fine["rtl_csa_bits"] < saturating["rtl_add_bits"] + saturating["rtl_csa_bits"]



def test_time_multiplexed_layers_count_their_counter_decoders():
    """Each (counter, value) a live multiplexer selects on is one shared compare; parallel layers have none."""
    rng = np.random.default_rng(5)
    g = _dense(rng.uniform(-1, 1, (12, 3)), np.zeros(3))
    parallel = _inventory(g)["fc"]
    assert parallel["rtl_decode_luts"] == 0
    reuse = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 6, "Strategy": "Resource"}}
    inv = _inventory(g, reuse)["fc"]
    assert 0 < inv["rtl_decode_luts"] <= 2 * 6  # two counters (cnt, pcnt) of 3 bits: one LUT per value


def test_time_multiplexed_inputs_count_their_multiplexers_as_abc_builds_them():
    """One output of 12 inputs: reuse 12 multiplexes all 12 inputs (8 bits) into one multiplier over 12 counter
    values, a 4:1 tree of 4 LUTs per bit, which abc builds from yosys's $pmux at pmux_luts(12, 12) LUTs per bit;
    reuse 1 has no multiplexer."""
    k = np.random.default_rng(3).uniform(0.1, 1.0, (12, 1))
    inv = {rf: _inventory(_dense(k, np.zeros(1)), {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": rf,
                                                             "Strategy": "Resource"}})["fc"] for rf in (1, 12)}
    assert inv[1]["rtl_pmux_luts"] == inv[1]["rtl_select_luts"] == 0
    assert inv[12]["rtl_select_luts"] == 8 * 4
    assert inv[12]["rtl_pmux_luts"] == round(8 * pmux_luts(12, 12)) == round(8 * 1.3 * 4)
    assert pmux_luts(2, 128) < pmux_luts(8, 128) < pmux_luts(60, 128) < pmux_luts(120, 128) == pmux_luts(128, 128)


def test_a_relu_counts_the_bits_its_cast_reads():
    """ReLU then a truncating, wrapping cast to 8 bits reads 8 bits of max(x, 0): 8 multiplexer bits, not 16;
    a saturating cast reads every bit from the shift up."""
    def relu_inventory(result: str) -> dict[str, int]:
        g = Graph([Layer("x", "Input", [], (4,)), Layer("r", "Activation", ["x"], (4,), attrs={"activation": "relu"})])
        cfg = {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"},
               "LayerName": {"r": {"Precision": {"result": result}}}}
        return _inventory(g, cfg)["r"]

    wrap, sat = relu_inventory("ap_fixed<8,3>"), relu_inventory("ap_fixed<8,3,AP_TRN,AP_SAT>")
    assert wrap["rtl_mux_bits"] == 4 * 8  # bits 5..12 of each input
    assert sat["rtl_mux_bits"] == 4 * (16 - 5)
    assert wrap["rtl_relu_cmp_bits"] == sat["rtl_relu_cmp_bits"] == 4 * 16  # x > 0 reads all of x


def test_max_pooling_counts_its_comparisons_and_a_relu_none():
    """max(a, b) of two variables is a comparison (a carry chain over the operands) and a multiplexer; a ReLU
    compares with a constant: ``x > 0`` is the sign and an OR of the other bits, counted apart."""
    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 1, "Strategy": "Latency"}}
    pool = Graph([Layer("x", "Input", [], (4, 2)),
                  Layer("mx", "Pooling1D", ["x"], (2, 2), attrs=dict(op="max", pool_size=(2,), strides=(2,)))])
    inv = _inventory(pool, cfg)["mx"]
    assert inv["rtl_cmp_bits"] == 4 * 8  # 2 outputs x 2 channels, one 8-bit comparison each
    assert inv["rtl_mux_bits"] == 4 * 8
    relu = Graph([Layer("x", "Input", [], (4,)), Layer("r", "Activation", ["x"], (4,), attrs={"activation": "relu"})])
    inv = _inventory(relu, cfg)["r"]
    assert (inv["rtl_cmp_bits"], inv["rtl_relu_cmp_bits"]) == (0, 4 * 8)
    assert _inventory(pool, cfg)["mx"]["rtl_relu_cmp_bits"] == 0


@pytest.mark.skipif(not shutil.which("yosys"), reason="yosys is needed")
@pytest.mark.parametrize("reuse", [2, 16])
def test_control_logic_counts_what_yosys_builds(reuse, tmp_path):
    """fc1's products reach only zero weights of fc2, so yosys keeps none of its datapath, only the control a
    time-multiplexed layer runs live data or not: its cycle counter with the run and last flags, and the top
    level's input throttle. rtl_ctrl_luts (2 x counter width + 1, plus the throttle's width on the layer that
    sets the II) is within 2 LUTs of the design yosys builds (real yosys: 4 and 13 LUTs)."""
    rng = np.random.default_rng(3)
    g = _mlp(rng.uniform(-1, 1, (8, 6)), np.zeros((6, 2)))
    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 1, "Strategy": "Resource"},
           "LayerName": {"fc1": {"ReuseFactor": reuse}}}
    hm = codegen.convert(g, config=cfg, output_dir=tmp_path / "prj", part=XC7)
    inv = layer_inventory(plan_design(hm))
    cw = (reuse - 1).bit_length()
    assert inv["fc1"]["rtl_ctrl_luts"] == (2 * cw + 1) + cw  # counter, flags and the throttle (II = reuse)
    assert inv["fc2"]["rtl_ctrl_luts"] == 0  # a parallel layer: a valid pipeline, no counter
    assert all(v == 0 for k, v in inv["fc1"].items() if k not in ("rtl_ctrl_luts", "rtl_reg_bits", "rtl_latency",
                                                                  "rtl_ii"))  # no live datapath counted
    res = codegen.synthesize(hm, backend="yosys", workdir=tmp_path / "syn", verify=False)
    assert res.status == "ok", res.error
    assert abs(res.lut - sum(v["rtl_ctrl_luts"] for v in inv.values())) <= 2


def _constant_into_reuse(reuse: int) -> tuple[Graph, dict]:
    """fc1 is pruned to its biases (constant outputs); fc2 reads them one per cycle with ``reuse``."""
    rng = np.random.default_rng(0)
    g = _mlp(np.zeros((8, 6)), rng.uniform(-1, 1, (6, 3)), b1=rng.uniform(-1, 1, 6))
    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 1, "Strategy": "Resource"},
           "LayerName": {"fc2": {"ReuseFactor": reuse}}}
    return g, cfg


def test_values_of_the_cycle_counter_alone_count_as_roms():
    """A time-multiplexed layer reading a constant producer multiplies a constant input element (selected by the
    cycle counter) by a weight ROM (selected by the same counter): the product depends on the counter only, and
    abc builds it as a small ROM, not as a multiplexer and a LUT multiplier."""
    g, cfg = _constant_into_reuse(4)
    fc2 = _inventory(g, cfg)["fc2"]
    assert fc2["rtl_lutmul_bits"] == fc2["rtl_select_bits"] == fc2["rtl_pmux_luts"] == fc2["rtl_decode_luts"] == 0
    assert fc2["rtl_rom_bits"] > 0 and fc2["rtl_rom_luts"] > 0  # 2-bit counter: a LUT per product bit
    assert fc2["rtl_add_bits"] > 0  # the accumulators still add one product per cycle
    # a variable input keeps its multiplexers and multipliers
    rng = np.random.default_rng(0)
    var = _inventory(_mlp(rng.uniform(-1, 1, (8, 6)), rng.uniform(-1, 1, (6, 3))), cfg)["fc2"]
    assert var["rtl_lutmul_bits"] > 0 and var["rtl_select_bits"] > 0


@pytest.mark.skipif(not shutil.which("yosys"), reason="yosys is needed")
def test_a_constant_producer_feeding_a_time_multiplexed_layer_costs_what_yosys_builds(tmp_path):
    """Real yosys on the design above at reuse 2: 92 LUTs; the LUT prior (RTL_LUT_COST over the inventory) is
    within 25% of it (counting the multipliers and multiplexers, as before, gave 492)."""
    from estimators.features import RTL_LUT_COST

    g, cfg = _constant_into_reuse(2)
    hm = codegen.convert(g, config=cfg, output_dir=tmp_path / "prj", part=XC7)
    inv = layer_inventory(plan_design(hm))
    prior = sum(RTL_LUT_COST.get(k, 0.0) * v for layer in inv.values() for k, v in layer.items())
    res = codegen.synthesize(hm, backend="yosys", workdir=tmp_path / "syn", verify=False)
    assert res.status == "ok", res.error
    assert abs(prior - res.lut) <= 0.25 * res.lut
