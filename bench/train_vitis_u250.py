"""Train the shipped vitis-u250 surrogate (data/surrogates/vitis-u250) from data/datasets/wa-hls4ml.

    .venv/bin/python bench/train_vitis_u250.py            # ~4-6 minutes on one core

Holds out 15% of the architectures (fixed seed), reports held-out accuracy, refits on all rows, saves
xgboost JSON + metadata.json. See estimators/training.py.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from estimators.training import DATA_DIR, HOLDOUT, OUT_DIR, SEED, train_from_wa_hls4ml  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="directory with wa_2layer.csv, wa_3layer.csv")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="surrogate directory to write")
    ap.add_argument("--holdout", type=float, default=HOLDOUT, help="fraction of architectures held out")
    ap.add_argument("--seed", type=int, default=SEED, help="seed of the grouped hold-out split")
    ap.add_argument("--no-refit", action="store_true", help="ship the model trained without the held-out rows")
    ap.add_argument("--n-jobs", type=int, default=1, help="xgboost threads")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    t0 = time.perf_counter()
    train_from_wa_hls4ml(a.data, a.out, holdout=a.holdout, seed=a.seed, refit_all=not a.no_refit,
                         params={"n_jobs": a.n_jobs})
    logging.getLogger("train_vitis_u250").info("done in %.0f s", time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
