"""Read the wa-hls4ml CSV files (real Vitis HLS 2023.2 results) into designs, targets and groups.

Usage::

    from estimators.wa_hls4ml import load_wa_hls4ml
    designs, targets, groups = load_wa_hls4ml("data/datasets/wa-hls4ml")
    # designs: list of design dicts (per-layer facts), targets: DataFrame with columns
    # lut, ff, dsp, bram_18k, latency_cycles, ii; groups: model_string per row (the architecture)

Assumptions (the CSVs do not record them; see data/datasets/wa-hls4ml/PROVENANCE.md):

- ``model_string`` "24-104-88-64" is Dense 24->104, 104->88, 88->64. Hidden layers are followed by a
  ReLU and the last layer is linear (the data does not say which activations the networks had). The
  facts are laid out as the converter lays them out (:func:`codegen.facts.design_facts`): an Input fact,
  Dense facts, and a separate Activation fact after each hidden Dense, so that designs converted from
  models look like the training rows.
- ``prec`` is the total width of the model-level ``ap_fixed`` type, used for weights, biases, inputs,
  results and the accumulator (hls4ml's default when only the model precision is set). Integer bits are
  not recorded: we assume ``ap_fixed<prec, ceil(prec/2)>``. The shipped vitis-u250 surrogate excludes
  integer-bit features for that reason.
- ``rf`` is the requested ReuseFactor; hls4ml's Resource strategy snaps it per layer
  (:func:`codegen.reuse.snap_reuse_factor`), and the fact stores the snapped value.
- No pruning (``nonzero_params == params``), Resource strategy, io_parallel, 5 ns, Alveo U250.
- wa_conv2d.csv is skipped: its ``model_string`` does not spell out the conv layers (kernel sizes,
  strides, pooling), so its 38 rows cannot be turned into per-layer facts.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from codegen.reuse import snap_reuse_factor

__all__ = ["TARGET_COLUMNS", "WA_PART", "DEFAULT_FILES", "dense_design", "load_wa_hls4ml", "read_wa_csv"]

log = logging.getLogger(__name__)

#: our target name -> wa-hls4ml column
TARGET_COLUMNS: dict[str, str] = {
    "lut": "LUT_hls",
    "ff": "FF_hls",
    "dsp": "DSP_hls",
    "bram_18k": "BRAM_18K_hls",
    "latency_cycles": "WorstLatency_hls",
    "ii": "IntervalMax_hls",
}
WA_PART = "xcu250-figd2104-2L-e"
DEFAULT_FILES: tuple[str, ...] = ("wa_2layer.csv", "wa_3layer.csv")
_REQUIRED = ("model_string", "prec", "rf", "hls_synth_success", *TARGET_COLUMNS.values())


def _plain_fact(name: str, kind: str, size: int, bits: int, ib: int, activation: str) -> dict[str, Any]:
    """An Input or Activation fact as :func:`codegen.facts.design_facts` writes it (no weights, reuse 1)."""
    return dict(
        name=name, kind=kind, n_in=size, n_out=size, out_pixels=1, params=0, nonzero_params=0,
        weight_bits=0, weight_integer_bits=0, bias_bits=0,
        input_bits=bits, input_integer_bits=ib, result_bits=bits, result_integer_bits=ib,
        accum_bits=0, accum_integer_bits=0, reuse=1, strategy="latency", activation=activation,
    )


def dense_design(
    widths: Sequence[int],
    bits: int,
    reuse: int,
    *,
    integer_bits: int | None = None,
    part: str = WA_PART,
    clock_period: float = 5.0,
    strategy: str = "resource",
    hidden_activation: str = "relu",
) -> dict[str, Any]:
    """Facts of a plain MLP ``widths[0] -> widths[1] -> ...`` at one precision and requested reuse factor.

    The fact list has the shape :func:`codegen.facts.design_facts` gives for the same network: an Input
    fact, then each Dense (activation "linear") followed by an Activation fact for ``hidden_activation``
    except after the last Dense. Reuse factors are snapped per layer like hls4ml's Resource strategy.

        >>> [f["kind"] for f in dense_design([16, 64, 5], 8, 1024)["layers"]]
        ['Input', 'Dense', 'Activation', 'Dense']
    """
    if len(widths) < 2:
        raise ValueError(f"need at least two widths, got {widths!r}")
    ib = int(integer_bits) if integer_bits is not None else max(1, math.ceil(bits / 2))
    layers = [_plain_fact("input", "Input", int(widths[0]), bits, ib, "linear")]
    n = len(widths) - 1
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        a, b = int(a), int(b)
        params = a * b + b
        layers.append(
            dict(
                name=f"dense_{i}", kind="Dense", n_in=a, n_out=b, out_pixels=1,
                params=params, nonzero_params=params,
                weight_bits=bits, weight_integer_bits=ib, bias_bits=bits,
                input_bits=bits, input_integer_bits=ib, result_bits=bits, result_integer_bits=ib,
                accum_bits=bits, accum_integer_bits=ib,
                reuse=snap_reuse_factor(a, b, int(reuse)) if strategy == "resource" else int(reuse),
                strategy=strategy,
                activation="linear",
            )
        )
        if i < n - 1 and hidden_activation != "linear":
            layers.append(_plain_fact(f"dense_{i}_{hidden_activation}", "Activation", b, bits, ib, hidden_activation))
    return {"layers": layers, "part": part, "clock_period": float(clock_period), "io_type": "io_parallel"}


def read_wa_csv(path: str | Path) -> pd.DataFrame:
    """One wa-hls4ml CSV, successful syntheses only (raises ValueError naming the file on a bad layout)."""
    path = Path(path)
    df = pd.read_csv(path)
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not a wa-hls4ml CSV, missing columns {missing}")
    ok = df["hls_synth_success"].astype(str).str.strip().str.upper() == "TRUE"
    if (~ok).any():
        log.info("%s: dropping %d rows with hls_synth_success != TRUE", path.name, int((~ok).sum()))
    df = df[ok].reset_index(drop=True)
    df["source_file"] = path.name
    return df


def load_wa_hls4ml(
    directory: str | Path, files: Sequence[str] = DEFAULT_FILES
) -> tuple[list[dict[str, Any]], pd.DataFrame, pd.Series]:
    """Designs, targets (columns of :data:`TARGET_COLUMNS`) and groups (model_string) from wa-hls4ml CSVs."""
    directory = Path(directory)
    frames = []
    for name in files:
        if "conv2d" in name:
            log.warning("%s skipped: conv2d model strings do not describe the layers", name)
            continue
        frames.append(read_wa_csv(directory / name))
    if not frames:
        raise ValueError(f"no usable wa-hls4ml files among {list(files)}")
    df = pd.concat(frames, ignore_index=True)
    designs = []
    cache: dict[tuple[str, int, int], dict[str, Any]] = {}
    for ms, prec, rf in zip(df["model_string"], df["prec"], df["rf"]):
        key = (str(ms), int(prec), int(rf))
        if key not in cache:
            cache[key] = dense_design([int(w) for w in key[0].split("-")], key[1], key[2])
        designs.append(cache[key])
    targets = pd.DataFrame({t: df[c].astype(float).to_numpy() for t, c in TARGET_COLUMNS.items()})
    groups = df["model_string"].astype(str).reset_index(drop=True).rename("architecture")
    return designs, targets, groups
