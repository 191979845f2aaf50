"""Refit the LUT6 unit costs of the rtl_* facts (estimators.features.RTL_LUT_COST) on a yosys dataset.

    .venv/bin/python bench/rtl_unit_costs.py                       # data/datasets/yosys-xc7.parquet
    .venv/bin/python bench/rtl_unit_costs.py --data my_sweep.parquet

The rtl_* facts count the live logic of each layer's Verilog (codegen.rtl.inventory). A design's LUT prior is
``sum(cost[k] * fact[k])`` over its layers; this script fits the costs by robust non-negative least squares on
relative errors (designs with >= 30 LUTs; iteratively reweighted towards an L1 fit), and prints them next to
the shipped constants with the sMAPE of each prior alone (no trees) and of ``rtl_reg_bits`` as an FF prior.
Rows without rtl_* facts are skipped (``dse dataset refresh-facts`` adds them).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from estimators.features import RTL_FACTS, RTL_LUT_COST  # noqa: E402
from estimators.metrics import smape  # noqa: E402

MIN_LUT = 30


def design_totals(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for s in df["layers"]:
        layers = json.loads(s)
        if not all(f.get(k, -1) >= 0 for f in layers for k in RTL_FACTS):
            rows.append(None)
            continue
        rows.append({k: float(sum(f[k] for f in layers)) for k in RTL_FACTS})
    keep = [r is not None for r in rows]
    return pd.DataFrame([r for r in rows if r is not None], index=df.index[keep])


def robust_nnls(a: np.ndarray, y: np.ndarray, iterations: int = 8) -> np.ndarray:
    w = 1.0 / np.maximum(y, MIN_LUT)
    coef, _ = nnls(a * w[:, None], y * w)
    for _ in range(iterations):
        r = np.abs(a @ coef - y) * w
        ww = w / np.sqrt(np.maximum(r, 0.02))
        coef, _ = nnls(a * ww[:, None], y * ww)
    return coef


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("data/datasets/yosys-xc7.parquet"))
    a = ap.parse_args(argv)
    df = pd.read_parquet(a.data)
    df = df[df["status"] == "ok"]
    tot = design_totals(df)
    df = df.loc[tot.index]
    print(f"{a.data}: {len(df)} designs with rtl_* facts")
    lut = df["lut"].to_numpy(float)
    big = lut >= MIN_LUT
    cols = list(RTL_LUT_COST)
    coef = robust_nnls(tot.loc[big, cols].to_numpy(), lut[big])
    print(f"\n{'fact':22s} {'fitted':>8s} {'shipped':>8s}")
    for k, c in zip(cols, coef):
        print(f"{k:22s} {c:8.3f} {RTL_LUT_COST[k]:8.3f}")
    fitted = tot[cols].to_numpy() @ coef
    shipped = tot[cols].to_numpy() @ np.array([RTL_LUT_COST[k] for k in cols])
    print(f"\nLUT prior alone, designs >= {MIN_LUT} LUTs: sMAPE fitted {smape(lut[big], fitted[big]):.1f}%, "
          f"shipped {smape(lut[big], shipped[big]):.1f}%")
    print(f"  (table bits are not fitted when no design has lookup tables: {int(tot['rtl_table_bits'].sum())} bits)")
    ff = df["ff"].to_numpy(float)
    print(f"FF prior rtl_reg_bits alone: sMAPE {smape(ff, tot['rtl_reg_bits'].to_numpy()):.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
