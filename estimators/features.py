"""Features of a design (a list of per-layer *fact* dicts) for the surrogate models.

A design is ``{"layers": [fact, ...], "part": str, "clock_period": float, "io_type": "io_parallel"}``
and a fact is a flat dict describing one layer after the converter's passes (see :data:`FACT_KEYS`)::

    >>> fact = dict(name="fc1", kind="Dense", n_in=16, n_out=64, out_pixels=1, params=1088,
    ...             nonzero_params=1088, weight_bits=8, weight_integer_bits=3, bias_bits=8,
    ...             input_bits=8, input_integer_bits=3, result_bits=8, result_integer_bits=3,
    ...             accum_bits=8, accum_integer_bits=3, reuse=64, strategy="resource",
    ...             activation="relu")
    >>> layer_features(fact)["multipliers"]
    16.0
    >>> design_features({"layers": [fact], "part": "xcu250", "clock_period": 5.0,
    ...                  "io_type": "io_parallel"})["sum_multipliers"]
    16.0

Definitions (per layer; ``weights`` = ``n_in*n_out`` for Dense/Conv, ``n_out`` for
BatchNormalization, 0 for layers without multiplications):

- ``nz_frac = nonzero_params / params`` (1 when ``params == 0``); ``nz_weights = weights * nz_frac``.
- ``multipliers = ceil(nz_weights / reuse)``: multipliers needed when zero weights are skipped (the
  compiler drops products by constant zeros under the Latency strategy); ``block_factor =
  ceil(weights / reuse)``: what hls4ml's Resource strategy instantiates (zeros stay in its weight ROM);
  ``mult_units`` = ``block_factor`` for Resource, ``multipliers`` for Latency layers.
- ``nonzero_mults = nz_weights * out_pixels``: nonzero products per inference.
- ``product_bits = input_bits + weight_bits``; ``bops = nonzero_mults * input_bits * weight_bits``;
  ``mult_area = mult_units * input_bits * weight_bits``.
- ``dsp_mult_est = mult_units`` where ``product_bits > 12`` else 0 (Vitis maps small products to
  LUTs: in the wa-hls4ml data 6-bit x 6-bit products almost never use a DSP, 8 x 8 always do).
- ``weight_storage_bits = nonzero_params * weight_bits``; ``rom_bits = weights * weight_bits``;
  ``bram18_rom_est``: 18-Kbit blocks for a ROM ``block_factor*weight_bits`` wide and ``reuse``
  deep (hls4ml reshapes the weights that way), best BRAM18 aspect ratio.
- ``cycles_est = reuse * out_pixels`` for matrix layers, 1 otherwise (hls4ml Resource strategy:
  one matrix-vector product takes ``reuse`` cycles plus a few of pipeline depth).

- Open-source RTL flow (codegen.rtl; ``items`` = nonzero products, ``M = ceil(items / reuse)``, ``wide`` =
  both operands >= 10 bits, the DSP policy's default): ``csd_terms`` (shift-add terms of reuse-1 constant
  multiplications: the ``csd_digits`` fact when present, counted on the real weights, else the mean over
  uniform weights of that width), ``lut_mult_area``, ``dsp_units``, ``mux_in_bits`` (R:1 input multiplexers),
  ``acc_mux_bits`` / ``acc_slots`` (accumulator-side multiplexers), and the rough priors ``lut_rtl_est`` /
  ``ff_rtl_est`` (unit costs, corrected by the models: ``Surrogate(offsets="rtl")``).
- The counted live logic of the layer's Verilog, when the facts carry it (:data:`RTL_FACTS`, recorded by
  codegen; ``rtl_known`` says whether they are there): the ``rtl_*`` facts themselves, ``rtl_lut_est`` (their
  sum weighted by :data:`RTL_LUT_COST`), and then the priors ``lut_rtl_est = rtl_lut_est``,
  ``ff_rtl_est = rtl_reg_bits``, ``latency_rtl_est = rtl_latency`` (summed over a design: its latency when
  the layers form a chain) and ``ii_rtl_est = rtl_ii`` (a design's: the largest); without them the priors
  stay the estimates above (``cycles_est`` for both cycle counts). ``lut_share_<fact>`` is the fraction of
  the LUT prior each costed fact contributes (of the layer's prior in layer rows, of the design's in design
  rows), so that a tree can correct a prior made mostly of multiplexers differently from one made of adders
  (held-out LUT sMAPE 5.03 -> 4.87%, mean of 5 architecture splits).

Facts in :data:`OPTIONAL_FACTS` may be absent (datasets made before they existed; ``dse dataset
refresh-facts`` adds them). Layer rows also carry context relative to the matrix layers (``matrix_pos``, ``n_matrix_layers``,
``is_first_matrix``, ``is_last_matrix``), so Input / Activation facts do not shift it. Features named in
:data:`SPARSITY_FEATURES` depend on pruning.

Design features aggregate layer features (sums/maxima of extensive quantities, mean/min/max of
bit widths), add rule4ml-style per-kind counts and means, and log1p of the main sums.
Everything is computed with vectorized numpy so thousands of designs featurize in milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "FACT_KEYS",
    "KINDS",
    "ACTIVATIONS",
    "FactTable",
    "fact_table",
    "layer_feature_matrix",
    "design_feature_matrix",
    "layer_features",
    "design_features",
    "architecture_key",
    "SPARSITY_FEATURES",
    "MATRIX_KINDS",
    "OPTIONAL_FACTS",
    "RTL_FACTS",
    "RTL_LUT_COST",
]

#: keys every per-layer fact dict carries (the converter / sweep interface)
FACT_KEYS: tuple[str, ...] = (
    "name", "kind", "n_in", "n_out", "out_pixels", "params", "nonzero_params",
    "weight_bits", "weight_integer_bits", "bias_bits", "input_bits", "input_integer_bits",
    "result_bits", "result_integer_bits", "accum_bits", "accum_integer_bits",
    "reuse", "strategy", "activation",
)
_NUMERIC_KEYS: tuple[str, ...] = tuple(k for k in FACT_KEYS if k not in ("name", "kind", "strategy", "activation"))
#: the live-logic counts of a layer's Verilog (codegen.rtl.inventory.INVENTORY_KEYS; codegen records them)
RTL_FACTS: tuple[str, ...] = (
    "rtl_add_bits", "rtl_csa_bits", "rtl_const_add_bits", "rtl_dsp_add_bits", "rtl_shift_add_bits",
    "rtl_lutmul_bits", "rtl_dsp_mults", "rtl_cast_bits", "rtl_select_bits", "rtl_select_luts", "rtl_pmux_luts",
    "rtl_decode_luts", "rtl_rom_bits", "rtl_rom_luts", "rtl_table_bits", "rtl_mux_bits", "rtl_cmp_bits",
    "rtl_relu_cmp_bits", "rtl_mux_dsp_bits", "rtl_ctrl_luts", "rtl_reg_bits", "rtl_dsp_reg_bits", "rtl_latency",
    "rtl_ii",
)
#: facts used when present (datasets made before they existed lack them): key -> value meaning "unknown"
OPTIONAL_FACTS: dict[str, float] = {"csd_digits": -1.0, **dict.fromkeys(RTL_FACTS, -1.0)}
#: LUT6 per counted bit (or counted LUT6) of each RTL fact (rtl_lut_est): robust non-negative least squares of
#: design LUTs on the design totals of the yosys-xc7 seed dataset (2,821 designs, yosys 0.23;
#: bench/rtl_unit_costs.py), rounded; table bits assume one LUT6 per 64 ROM bits. DSP post-adders and
#: variable + constant carry chains take no LUTs (yosys builds neither from LUTs; the fit gives them 0.03-0.04).
#: Time-multiplexed layers' case statements cost what abc builds from them (rtl_pmux_luts, 0.62 per estimated
#: LUT6): the fit leaves their 4:1-tree count (rtl_select_luts, a tree feature) at 0. With rtl_pmux_luts the prior
#: alone went from 12.0 to 10.2% sMAPE, and the held-out LUT sMAPE of the trees from 5.62 to 5.48% (mean of 5
#: architecture splits). Max-pooling comparisons (rtl_cmp_bits) fit 1.16 per bit besides their multiplexer bits;
#: a standalone max-pooling module of 135 12-bit max(a, b) made 135 CARRY4, 1,080 LUT6, 180 LUT5 and 1,620 LUT3
#: (1.78 LUT6 per bit in all). A ReLU's comparison x > 0 reads every bit of x (rtl_relu_cmp_bits): the fit on 3,397
#: designs gives it 0.17 per bit and refits the other costs within 0.02-0.2 of these; adding it alone took the
#: held-out LUT sMAPE from 5.19 to 5.16% (mean of 5 splits; refitting the rest too: 5.24%). It is a statistical
#: feature, not a cost yosys follows design by design: in a 17-element 12-bit ReLU of a dataset design the
#: multiplexer became the flip-flops' synchronous reset and the comparison 3 LUTs per element, but four ReLUs to
#: 8 bits synthesized alone took 40 LUTs from an 8-bit input and 24 from a 16-bit one. The surrogate corrects
#: this prior multiplicatively (offsets="rtl"). Control logic (rtl_ctrl_luts) is counted in LUT6 already (cost 1):
#: a time-multiplexed layer's counter and flags and the top level's throttle, within 2 LUTs of yosys when nothing
#: else survives (tests/test_rtl_inventory.py). It took the held-out LUT sMAPE from 5.14 to 5.07% (mean of 5
#: splits, 3,954 designs), most of it one 90%-pruned design of 7 LUTs, all control, that the prior counted as 0;
#: counting values of the cycle counter alone as ROMs (codegen.rtl.inventory) took it to 5.03%.
RTL_LUT_COST: dict[str, float] = {
    "rtl_add_bits": 0.91, "rtl_csa_bits": 1.07, "rtl_const_add_bits": 0.0, "rtl_dsp_add_bits": 0.0,
    "rtl_shift_add_bits": 1.18, "rtl_lutmul_bits": 1.48, "rtl_select_luts": 0.0, "rtl_pmux_luts": 0.62,
    "rtl_decode_luts": 0.59, "rtl_rom_luts": 0.56, "rtl_mux_bits": 0.46, "rtl_cmp_bits": 1.16,
    "rtl_relu_cmp_bits": 0.17, "rtl_ctrl_luts": 1.0,
    "rtl_mux_dsp_bits": 0.9, "rtl_table_bits": 1.0 / 64.0,
}

#: layer kinds with a fixed feature slot; anything else counts as "Other"
KINDS: tuple[str, ...] = (
    "Input", "Dense", "Conv1D", "Conv2D", "BatchNormalization", "Activation", "Pooling1D", "Pooling2D",
    "GlobalPooling1D", "GlobalPooling2D", "Reshape", "Add", "Concatenate", "Other",
)
MATRIX_KINDS = frozenset({"Dense", "Conv1D", "Conv2D"})
ACTIVATIONS: tuple[str, ...] = ("linear", "relu", "softmax", "sigmoid", "tanh", "other")
#: fnmatch patterns of the features that depend on the number of nonzero weights (pruning); a surrogate
#: trained on unpruned designs only should exclude them (see estimators.training.EXCLUDE)
SPARSITY_FEATURES: tuple[str, ...] = (
    "*nonzero*", "*nz_*", "nz_frac", "*multipliers*", "*bops*", "*weight_storage_bits*",
)

_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
_ACT_INDEX = {a: i for i, a in enumerate(ACTIVATIONS)}
_MATRIX_INDEX = [_KIND_INDEX[k] for k in sorted(MATRIX_KINDS)]
# BRAM18 ROM aspect ratios (width, depth)
_BRAM18_MODES = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512))


@dataclass(frozen=True)
class FactTable:
    """Columnar view of the facts of many designs (one row per layer)."""

    num: dict[str, np.ndarray]  #: numeric fact fields, float64
    kind: np.ndarray  #: index into KINDS
    activation: np.ndarray  #: index into ACTIVATIONS
    resource: np.ndarray  #: 1.0 when strategy == "resource"
    design: np.ndarray  #: design index of each layer row
    position: np.ndarray  #: 0-based layer position inside its design
    n_designs: int
    clock_period: np.ndarray  #: per design
    io_parallel: np.ndarray  #: per design (1.0 for io_parallel)
    names: list[str]  #: layer names (row order)
    parts: list[str]  #: per design
    io_types: list[str]  #: per design
    is_matrix: np.ndarray  #: bool per layer row: Dense / Conv1D / Conv2D
    n_matrix: np.ndarray  #: per design: number of matrix layers (the network depth)

    @property
    def n_layers(self) -> np.ndarray:
        """Number of layer facts of each design (Input and Activation facts included)."""
        return np.bincount(self.design, minlength=self.n_designs).astype(float)



def _layers_of(design: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    try:
        layers = design["layers"]
    except (KeyError, TypeError, IndexError):
        layers = None
    if not layers:
        raise ValueError("a design must be a dict with a non-empty 'layers' list of fact dicts")
    return layers


_get_numeric = itemgetter(*_NUMERIC_KEYS)
_get_optional = itemgetter(*OPTIONAL_FACTS)
_OPTIONAL_DEFAULTS = tuple(OPTIONAL_FACTS.items())


def _optional(f: Mapping[str, Any]) -> tuple:
    try:
        return _get_optional(f)  # facts recorded by this version have them all
    except KeyError:
        return tuple(f.get(k, v) for k, v in _OPTIONAL_DEFAULTS)


def fact_table(designs: Iterable[Mapping[str, Any]]) -> FactTable:
    """Gather the facts of ``designs`` into numpy columns (raises ValueError on a missing key)."""
    rows: list[tuple] = []
    opt: list[tuple] = []
    kind: list[int] = []
    act: list[int] = []
    res: list[float] = []
    dsg: list[int] = []
    pos: list[int] = []
    clock: list[float] = []
    iop: list[float] = []
    names: list[str] = []
    parts: list[str] = []
    io_types: list[str] = []
    other_k, other_a = _KIND_INDEX["Other"], _ACT_INDEX["other"]
    kind_get, act_get = _KIND_INDEX.get, _ACT_INDEX.get
    d = -1
    for d, design in enumerate(designs):
        layers = _layers_of(design)
        clock.append(float(design.get("clock_period", 5.0)))
        io_types.append(str(design.get("io_type", "io_parallel")))
        iop.append(1.0 if io_types[-1] == "io_parallel" else 0.0)
        parts.append(str(design.get("part", "")))
        for p, f in enumerate(layers):
            try:
                rows.append(_get_numeric(f))
                opt.append(_optional(f))
                kind.append(kind_get(f["kind"], other_k))
                a = f.get("activation", "linear")
                ai = act_get(a) if isinstance(a, str) else None
                act.append(ai if ai is not None else act_get(str(a).lower(), other_a))
                res.append(1.0 if str(f["strategy"]).lower() == "resource" else 0.0)
            except KeyError as e:
                raise ValueError(f"design {d}, layer {p} ({f.get('name', '?')!r}): fact lacks key {e}") from None
            names.append(str(f.get("name", p)))
            dsg.append(d)
            pos.append(p)
    if d < 0:
        raise ValueError("no designs given")
    try:
        mat = np.asarray(rows, dtype=float).reshape(len(rows), len(_NUMERIC_KEYS))
    except (TypeError, ValueError) as e:
        raise ValueError(f"fact fields {list(_NUMERIC_KEYS)} must be numbers ({e})") from None
    try:
        omat = np.asarray(opt, dtype=float).reshape(len(opt), len(OPTIONAL_FACTS))
    except (TypeError, ValueError) as e:
        raise ValueError(f"fact fields {list(OPTIONAL_FACTS)} must be numbers ({e})") from None
    kind_arr = np.asarray(kind, dtype=np.int64)
    design_arr = np.asarray(dsg, dtype=np.int64)
    is_matrix = np.isin(kind_arr, _MATRIX_INDEX)
    return FactTable(
        num={**{k: mat[:, i] for i, k in enumerate(_NUMERIC_KEYS)},
             **{k: omat[:, i] for i, k in enumerate(OPTIONAL_FACTS)}},
        kind=kind_arr,
        activation=np.asarray(act, dtype=np.int64),
        resource=np.asarray(res, dtype=float),
        design=design_arr,
        position=np.asarray(pos, dtype=np.int64),
        n_designs=d + 1,
        clock_period=np.asarray(clock, dtype=float),
        io_parallel=np.asarray(iop, dtype=float),
        names=names,
        parts=parts,
        io_types=io_types,
        is_matrix=is_matrix,
        n_matrix=np.bincount(design_arr[is_matrix], minlength=d + 1).astype(float),
    )


def _bram18(width: np.ndarray, depth: np.ndarray) -> np.ndarray:
    est = np.full(width.shape, np.inf)
    for w, dd in _BRAM18_MODES:
        est = np.minimum(est, np.ceil(width / w) * np.ceil(depth / dd))
    return np.where(width > 0, est, 0.0)


def _expected_csd_digits(max_bits: int = 32) -> np.ndarray:
    """``table[b]``: mean number of nonzero canonical-signed digits of a nonzero ``b``-bit signed integer drawn
    uniformly (the shift-add terms of a constant multiplication; see codegen.rtl.arith.csd)."""
    out = np.zeros(max_bits + 1)
    for b in range(1, max_bits + 1):
        if b > 16:  # exact up to 16 bits; beyond, each bit adds 1/3 of a digit (the CSD density)
            out[b] = out[16] + (b - 16) / 3.0
            continue
        x = np.arange(-(2 ** (b - 1)), 2 ** (b - 1), dtype=np.int64)
        x = x[x != 0]
        if not len(x):
            continue
        n = np.zeros(len(x))
        while np.any(x):
            odd = (x & 1).astype(bool)
            d = np.where(odd, 2 - (x & 3), 0)
            n += odd
            x = (x - d) >> 1
        out[b] = n.mean()
    return out


_CSD_DIGITS = _expected_csd_digits()
#: codegen.rtl.DspPolicy's default: a multiplication uses a DSP when both operands are >= this many bits
_DSP_MIN_WIDTH = 10

#: extensive layer quantities (summed and maxed over a design)
EXTENSIVE: tuple[str, ...] = (
    "n_in", "n_out", "params", "nonzero_params", "weights", "nz_weights", "nonzero_mults",
    "block_factor", "multipliers", "mult_units", "dsp_mult_est", "bops", "mult_area", "weight_storage_bits",
    "rom_bits",
    "rom_width", "bram18_rom_est", "reuse", "cycles_est", "in_reg_bits", "out_reg_bits", "accum_reg_bits",
    "csd_terms", "shift_add_bits", "lut_mult_area", "dsp_units", "mux_in_bits", "acc_bits", "acc_mux_bits",
    "lut_rtl_est", "ff_rtl_est", "latency_rtl_est", *RTL_FACTS, "rtl_lut_est",
)
#: intensive layer quantities (mean, min and max over a design's matrix layers)
INTENSIVE: tuple[str, ...] = (
    "weight_bits", "bias_bits", "input_bits", "result_bits", "accum_bits", "product_bits",
    "min_operand_bits", "max_operand_bits", "weight_integer_bits", "input_integer_bits",
    "result_integer_bits", "accum_integer_bits", "weight_frac_bits", "input_frac_bits", "nz_frac",
    "reuse_over_n_in", "reuse_fraction", "acc_slots",
)


def _layer_columns(t: FactTable) -> dict[str, np.ndarray]:
    """Per-layer fact-only features (no design context), as float arrays."""
    n = t.num
    n_in, n_out = n["n_in"], n["n_out"]
    out_pixels = np.maximum(n["out_pixels"], 1.0)
    is_matrix = t.is_matrix.astype(float)
    is_bn = (t.kind == _KIND_INDEX["BatchNormalization"]).astype(float)
    weights = np.where(is_matrix > 0, n_in * n_out, np.where(is_bn > 0, n_out, 0.0))
    params = n["params"]
    nz_frac = np.where(params > 0, n["nonzero_params"] / np.where(params > 0, params, 1.0), 1.0)
    nz_weights = weights * nz_frac
    reuse = np.maximum(n["reuse"], 1.0)
    has_w = weights > 0
    block_factor = np.where(has_w, np.ceil(weights / reuse), 0.0)
    multipliers = np.where(has_w, np.ceil(np.round(nz_weights, 6) / reuse), 0.0)
    mult_units = np.where(t.resource > 0, block_factor, multipliers)
    wb, ib = n["weight_bits"], n["input_bits"]
    product_bits = wb + ib
    nonzero_mults = nz_weights * out_pixels
    rom_width = block_factor * wb
    c: dict[str, np.ndarray] = {}
    for i, k in enumerate(KINDS):
        c[f"kind_{k}"] = (t.kind == i).astype(float)
    for i, a in enumerate(ACTIVATIONS):
        c[f"act_{a}"] = (t.activation == i).astype(float)
    c.update(
        is_matrix=is_matrix,
        strategy_resource=t.resource,
        n_in=n_in, n_out=n_out, out_pixels=out_pixels,
        params=params, nonzero_params=n["nonzero_params"], nz_frac=nz_frac,
        weights=weights, nz_weights=nz_weights, nonzero_mults=nonzero_mults,
        reuse=reuse,
        reuse_over_n_in=reuse / np.maximum(n_in, 1.0),
        reuse_ge_n_in=(reuse >= n_in).astype(float),
        reuse_fraction=np.where(has_w, reuse / np.where(has_w, weights, 1.0), 0.0),
        block_factor=block_factor, multipliers=multipliers, mult_units=mult_units,
        weight_bits=wb, bias_bits=n["bias_bits"], input_bits=ib, result_bits=n["result_bits"],
        accum_bits=n["accum_bits"], product_bits=product_bits,
        min_operand_bits=np.minimum(wb, ib), max_operand_bits=np.maximum(wb, ib),
        weight_integer_bits=n["weight_integer_bits"], input_integer_bits=n["input_integer_bits"],
        result_integer_bits=n["result_integer_bits"], accum_integer_bits=n["accum_integer_bits"],
        weight_frac_bits=wb - n["weight_integer_bits"], input_frac_bits=ib - n["input_integer_bits"],
        dsp_mult_est=np.where(product_bits > 12, mult_units, 0.0),
        bops=nonzero_mults * wb * ib,
        mult_area=mult_units * wb * ib,
        weight_storage_bits=n["nonzero_params"] * wb,
        rom_bits=weights * wb,
        rom_width=rom_width,
        bram18_rom_est=_bram18(rom_width, np.where(has_w, reuse, 0.0)),
        cycles_est=np.where(is_matrix > 0, reuse * out_pixels, 1.0),
        in_reg_bits=n_in * ib * out_pixels,
        out_reg_bits=n_out * n["result_bits"] * out_pixels,
        accum_reg_bits=block_factor * n["accum_bits"],
    )
    # the open-source RTL flow's structure (codegen.rtl.matrix): reuse 1 makes one constant multiplication per
    # nonzero product (CSD shift-add in LUTs, or a DSP when both operands are wide), reuse R > 1 makes
    # ceil(items / R) variable multipliers fed by R:1 input multiplexers and weight ROMs
    parallel = (is_matrix > 0) & (reuse <= 1)
    multiplexed = (is_matrix > 0) & (reuse > 1)
    wide = np.minimum(wb, ib) >= _DSP_MIN_WIDTH
    items = np.where(is_matrix > 0, nonzero_mults, 0.0)
    # CSD digits per nonzero weight: counted on the real weights when the facts have them, else the mean of
    # uniformly drawn weights of that width
    expected = _CSD_DIGITS[np.clip(wb, 0, len(_CSD_DIGITS) - 1).astype(int)]
    known = (n["csd_digits"] >= 0) & (nz_weights > 0)
    csd = np.where(known, n["csd_digits"] / np.where(known, np.maximum(nz_weights, 1.0), 1.0), expected)
    m_units = np.ceil(np.round(items, 6) / reuse)
    # reuse R > 1: multiplier m does item c*M + m in cycle c, items ordered (position, input, output channel);
    # each output adds up to ceil(M / n_out) products a cycle (its "slots"), each slot a cycle-indexed
    # multiplexer over the products it receives: about one accumulator-wide multiplexer input per item
    acc_slots = np.where(multiplexed, np.maximum(1.0, np.ceil(m_units / np.maximum(n_out, 1.0))), 0.0)
    ab, rb = n["accum_bits"], n["result_bits"]
    outs = np.where(is_matrix > 0, n_out * out_pixels, 0.0)
    regs = np.where(t.kind != _KIND_INDEX["Input"], n_out * out_pixels, 0.0)  # every layer registers its outputs
    c.update(
        csd_terms=np.where(parallel & ~wide, items * csd, 0.0),
        shift_add_bits=np.where(parallel & ~wide, items * np.maximum(csd - 1, 0.0) * (ib + wb), 0.0),
        lut_mult_area=np.where(multiplexed & ~wide, m_units * wb * ib, 0.0),
        dsp_units=np.where(wide & parallel, items, np.where(wide & multiplexed, m_units, 0.0)),
        mux_in_bits=np.where(multiplexed, m_units * reuse * ib, 0.0),
        acc_bits=outs * ab,
        acc_slots=acc_slots,
        acc_mux_bits=np.where(multiplexed, items * ab, 0.0),
        # rough LUT6 / FF counts of that structure (unit costs, not fitted): priors that a surrogate's trees
        # correct multiplicatively (Surrogate(offsets={"lut": "lut_rtl_est", "ff": "ff_rtl_est"}))
        lut_rtl_est=regs * rb + np.where(
            parallel, items * np.where(wide, 1.0, csd) * ab,
            np.where(multiplexed,
                     m_units * (np.where(wide, 0.0, wb * ib) + ib * (reuse - 1.0) / 3.0 + wb * np.maximum(1.0, reuse / 64.0))
                     + items * ab / 3.0 + outs * acc_slots * ab, 0.0)),
        ff_rtl_est=regs * rb + np.where(
            parallel, 0.0,
            # registered inputs, product registers (inside the DSP block when wide), accumulators, counters
            np.where(multiplexed, n_in * ib + np.where(wide, 0.0, m_units * product_bits) + outs * ab
                     + 2.0 * np.ceil(np.log2(reuse)), 0.0)),
    )
    # the counted live logic of the generated Verilog (rtl_* facts), when the facts have it: the priors then
    # come from it (LUT: unit costs RTL_LUT_COST; FF: the register bits)
    known = np.all([n[k] >= 0 for k in RTL_FACTS], axis=0)
    c["rtl_known"] = known.astype(float)
    for k in RTL_FACTS:
        c[k] = np.where(known, n[k], 0.0)
    rtl_lut = sum(cost * c[k] for k, cost in RTL_LUT_COST.items())
    c["rtl_lut_est"] = rtl_lut
    c["lut_rtl_est"] = np.where(known, rtl_lut, c["lut_rtl_est"])
    c["ff_rtl_est"] = np.where(known, c["rtl_reg_bits"], c["ff_rtl_est"])
    c["latency_rtl_est"] = np.where(known, c["rtl_latency"], c["cycles_est"])  # summed: a chain's latency
    c["ii_rtl_est"] = np.where(known, c["rtl_ii"], c["cycles_est"])  # the design's: the largest
    for k in ("n_in", "n_out", "weights", "reuse", "block_factor", "multipliers", "bops", "rom_bits", "cycles_est",
              "csd_terms", "shift_add_bits", "lut_mult_area", "mux_in_bits", *RTL_FACTS, "rtl_lut_est"):
        c[f"log_{k}"] = np.log1p(c[k])
    return c


def layer_feature_matrix(t: FactTable) -> tuple[np.ndarray, list[str]]:
    """Per-layer feature matrix (layer rows, for the per-layer-summed models) with design context."""
    c = _layer_columns(t)
    # context relative to the matrix layers, so that Input / Activation / Reshape facts do not shift it:
    # matrix_pos = index of this matrix layer, or of the matrix layer a non-matrix layer follows (-1 before any)
    mat = t.is_matrix
    cum = np.cumsum(mat)
    first_row = np.searchsorted(t.design, np.arange(t.n_designs))
    before = np.concatenate([[0], cum])[first_row]  # matrix layers of earlier designs
    matrix_pos = (cum - before[t.design] - 1).astype(float)
    n_matrix = t.n_matrix[t.design]
    c.update(
        matrix_pos=matrix_pos,
        n_matrix_layers=n_matrix,
        is_first_matrix=(matrix_pos == 0).astype(float),
        is_last_matrix=(matrix_pos == n_matrix - 1).astype(float),
        clock_period=t.clock_period[t.design],
        io_parallel=t.io_parallel[t.design],
    )
    c.update(_lut_shares(c, c["rtl_lut_est"]))
    names = list(c)
    return np.column_stack([c[k] for k in names]), names


def _lut_shares(c: Mapping[str, np.ndarray], prior: np.ndarray) -> dict[str, np.ndarray]:
    """``lut_share_<fact>``: each costed RTL fact's part of the LUT prior ``prior`` (0 where the prior is < 1)."""
    denom = np.maximum(prior, 1.0)
    return {f"lut_share_{k}": cost * c[k] / denom for k, cost in RTL_LUT_COST.items() if cost > 0}


def _group_sum(t: FactTable, x: np.ndarray) -> np.ndarray:
    return np.bincount(t.design, weights=x, minlength=t.n_designs)


def _group_max(t: FactTable, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    out = np.full(t.n_designs, -np.inf)
    np.maximum.at(out, t.design if mask is None else t.design[mask], x if mask is None else x[mask])
    return np.where(np.isfinite(out), out, 0.0)


def _group_min(t: FactTable, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.full(t.n_designs, np.inf)
    np.minimum.at(out, t.design[mask], x[mask])
    return np.where(np.isfinite(out), out, 0.0)


def design_feature_matrix(t: FactTable) -> tuple[np.ndarray, list[str]]:
    """Design-level (global) feature matrix, one row per design."""
    c = _layer_columns(t)
    g: dict[str, np.ndarray] = {}
    n_layers = t.n_layers
    g["n_layers"] = n_layers
    g["clock_period"] = t.clock_period
    g["io_parallel"] = t.io_parallel
    mat = c["is_matrix"] > 0
    n_mat = np.bincount(t.design[mat], minlength=t.n_designs).astype(float)
    g["n_matrix_layers"] = n_mat
    g["strategy_resource_frac"] = _group_sum(t, t.resource * c["is_matrix"]) / np.maximum(n_mat, 1.0)
    first = t.position == 0
    last = t.position == (n_layers[t.design] - 1)
    g["net_in"] = np.bincount(t.design[first], weights=c["n_in"][first], minlength=t.n_designs)
    g["net_out"] = np.bincount(t.design[last], weights=c["n_out"][last], minlength=t.n_designs)
    # rule4ml-style: per kind count, sum and mean of n_in, n_out, params, reuse
    for k in KINDS:
        m = c[f"kind_{k}"]
        cnt = _group_sum(t, m)
        g[f"count_{k}"] = cnt
        for q in ("n_in", "n_out", "params", "reuse"):
            s = _group_sum(t, m * c[q])
            g[f"sum_{q}_{k}"] = s
            g[f"mean_{q}_{k}"] = np.where(cnt > 0, s / np.maximum(cnt, 1.0), 0.0)
    for a in ACTIVATIONS:
        g[f"count_act_{a}"] = _group_sum(t, c[f"act_{a}"])
    for q in EXTENSIVE:
        g[f"sum_{q}"] = _group_sum(t, c[q])
        g[f"max_{q}"] = _group_max(t, c[q])
    for q in INTENSIVE:
        s = np.bincount(t.design[mat], weights=c[q][mat], minlength=t.n_designs)
        g[f"mean_{q}"] = np.where(n_mat > 0, s / np.maximum(n_mat, 1.0), 0.0)
        g[f"min_{q}"] = _group_min(t, c[q], mat)
        g[f"max_{q}"] = _group_max(t, c[q], mat)
    sum_params = g["sum_params"]
    g["nz_frac"] = np.where(sum_params > 0, g["sum_nonzero_params"] / np.maximum(sum_params, 1.0), 1.0)
    g["max_cycles_est"] = _group_max(t, c["cycles_est"])
    g["cycles_est"] = g["sum_cycles_est"]
    g["lut_rtl_est"] = g["sum_lut_rtl_est"]  # design totals under the per-layer names (offset priors)
    g["ff_rtl_est"] = g["sum_ff_rtl_est"]
    g["rtl_known"] = _group_sum(t, c["rtl_known"]) / np.maximum(n_layers, 1.0)
    g["latency_rtl_est"] = g["sum_latency_rtl_est"]
    g["ii_rtl_est"] = _group_max(t, c["ii_rtl_est"])
    for q in ("weights", "nonzero_mults", "block_factor", "multipliers", "mult_units", "dsp_mult_est", "bops",
              "mult_area",
              "weight_storage_bits", "rom_bits", "bram18_rom_est", "reuse", "cycles_est", "in_reg_bits",
              "out_reg_bits", "csd_terms", "shift_add_bits", "lut_mult_area", "dsp_units", "mux_in_bits", "acc_bits",
              "acc_mux_bits", *RTL_FACTS, "rtl_lut_est"):
        g[f"log_sum_{q}"] = np.log1p(g[f"sum_{q}"])
    g.update(_lut_shares({k: g[f"sum_{k}"] for k in RTL_FACTS}, g["sum_rtl_lut_est"]))
    names = list(g)
    return np.column_stack([g[k] for k in names]), names


def layer_features(fact: Mapping[str, Any]) -> dict[str, float]:
    """Fact-only features of one layer (deterministic; no design context)."""
    t = fact_table([{"layers": [fact]}])
    return {k: float(v[0]) for k, v in _layer_columns(t).items()}


def design_features(design: Mapping[str, Any]) -> dict[str, float]:
    """Global (design-level) features of one design (deterministic)."""
    x, names = design_feature_matrix(fact_table([design]))
    return {k: float(v) for k, v in zip(names, x[0])}


def architecture_key(design: Mapping[str, Any]) -> str:
    """A string naming the architecture (layer kinds and sizes, no precision or reuse), for grouping."""
    return "|".join(
        f"{f['kind']}:{int(f['n_in'])}x{int(f['n_out'])}x{int(f.get('out_pixels', 1))}" for f in _layers_of(design)
    )
