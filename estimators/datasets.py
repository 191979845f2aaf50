"""Training and evaluation data for surrogates, from either supported format.

- our synthesis datasets (``dse sweep`` parquet files: one row per design, per-layer facts in ``layers``);
- the wa-hls4ml CSV files of ../shared/data (a folder of them, or one file).

    >>> designs, y, groups = load_any("data/datasets/yosys-xc7.parquet")      # doctest: +SKIP
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from .surrogate import TARGETS
from .wa_hls4ml import load_wa_hls4ml

__all__ = ["load_synthesis_dataset", "load_any", "DatasetFormatError"]

log = logging.getLogger(__name__)


class DatasetFormatError(ValueError):
    """A data file in neither supported format (the message names the file and what is missing)."""


def load_synthesis_dataset(path) -> tuple[list[dict], pd.DataFrame, pd.Series]:
    """(designs, targets, groups) of the successful rows of a ``dse sweep`` dataset."""
    p = Path(path)
    try:
        df = pd.read_parquet(p)
    except Exception as e:
        raise DatasetFormatError(f"cannot read {p} as parquet: {e}") from e
    need = {"layers", "status", "lut", "ff", "dsp", "bram_18k", "latency_max", "ii", "part", "clock_period"}
    missing = need - set(df.columns)
    if missing:
        raise DatasetFormatError(f"{p}: not a synthesis dataset, missing columns {sorted(missing)}")
    ok = df[df["status"] == "ok"].reset_index(drop=True)
    designs = [{"layers": json.loads(r.layers), "part": r.part, "clock_period": float(r.clock_period),
                "io_type": "io_parallel"} for r in ok.itertuples()]
    y = pd.DataFrame({"lut": ok["lut"], "ff": ok["ff"], "dsp": ok["dsp"], "bram_18k": ok["bram_18k"],
                      "latency_cycles": ok["latency_max"], "ii": ok["ii"]}).astype(float)
    groups = ok["architecture"].astype(str) if "architecture" in ok else pd.Series(range(len(ok))).astype(str)
    log.info("%s: %d successful designs of %d rows, %d architectures", p, len(ok), len(df), groups.nunique())
    return designs, y[list(TARGETS)], groups


def load_any(path) -> tuple[list[dict], pd.DataFrame, pd.Series]:
    """Our parquet datasets, or wa-hls4ml CSVs (a file or a folder of them)."""
    p = Path(path)
    if not p.exists():
        raise DatasetFormatError(f"no such data file or folder: {p}")
    if p.is_dir():
        return load_wa_hls4ml(p)
    if p.suffix == ".csv":
        return load_wa_hls4ml(p.parent, files=[p.name])
    if p.suffix == ".parquet":
        return load_synthesis_dataset(p)
    raise DatasetFormatError(f"{p}: expected a .parquet synthesis dataset or wa-hls4ml .csv file(s)")
