"""How much of the yosys-xc7 resources a weightless description cannot predict: the same design with other
weights.

Takes designs of the seed dataset (single layers by default), rebuilds each with other weight seeds (same layer
sizes, sparsity, precisions, reuse, strategy), synthesizes them with yosys, and prints the spread of LUT / FF
/ DSP across seeds. The sMAPE of predicting each seed's value by the mean of the others is a floor for any
surrogate that sees only the description (no weights). The facts computed from the real weights (`csd_digits`,
the `rtl_*` counts of the generated Verilog) can do better: the script also scores the shipped surrogate
(`--surrogate`, default yosys-xc7) on every synthesized seed, and how often it orders two seeds of one design
the way synthesis does. That surrogate was trained on these architectures (with the dataset's weight seed), so
its score here is not a held-out one; the ordering shows whether it follows the weights.

    .venv/bin/python bench/weight_noise.py [--designs 6] [--seeds 3] [--kind layer|network] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent


def _synth(desc: dict, cfg: dict, part: str, clock: float, seed: int) -> dict:
    import codegen

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        d = dict(desc, seed=seed)
        hm = codegen.convert(d, config=cfg, output_dir=Path(tmp) / "hls", part=part, clock_period=clock)
        r = codegen.synthesize(hm, backend="yosys", timeout=600, workdir=Path(tmp), verify=False)
        facts = codegen.design_facts(hm.graph)
    csd = sum(f["csd_digits"] for f in facts["layers"])
    return {"seed": seed, "status": r.status, "lut": r.lut, "ff": r.ff, "dsp": r.dsp, "csd_digits": csd,
            "facts": facts}


def _smape(a: float, b: float) -> float:
    return 0.0 if a == b == 0 else 200.0 * abs(a - b) / (abs(a) + abs(b))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO / "data/datasets/yosys-xc7.parquet"))
    ap.add_argument("--designs", type=int, default=6)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--kind", default="layer", choices=("layer", "network"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rng", type=int, default=5)
    ap.add_argument("--surrogate", default="yosys-xc7", help="surrogate target or folder scored on the seeds")
    a = ap.parse_args(argv)
    from joblib import Parallel, delayed

    df = pd.read_parquet(a.data)
    df = df[(df.status == "ok") & (df.design_kind == a.kind)]
    rows = df.iloc[np.random.default_rng(a.rng).choice(len(df), min(a.designs, len(df)), replace=False)]
    jobs = []
    for _, r in rows.iterrows():
        desc = json.loads(r.description)
        for s in range(a.seeds):
            jobs.append((r["name"], desc, json.loads(r.config), r.part, float(r.clock_period), 1000 + s))
    res = Parallel(n_jobs=a.workers)(delayed(_synth)(*j[1:]) for j in jobs)
    by: dict[str, list[dict]] = {}
    for j, out in zip(jobs, res):
        by.setdefault(j[0], []).append(out)
    print(f"{len(by)} {a.kind} designs x {a.seeds} weight seeds, yosys synth_xilinx, {rows.part.iloc[0]}")
    print(f"{'design':32s} {'LUT per seed':>24s} {'FF per seed':>20s} {'DSP':>12s}")
    floors = {k: [] for k in ("lut", "ff", "dsp")}
    for name, outs in by.items():
        ok = [o for o in outs if o["status"] == "ok"]
        print(f"{name:32s} {' '.join(str(o['lut']) for o in ok):>24s} {' '.join(str(o['ff']) for o in ok):>20s} "
              f"{' '.join(str(o['dsp']) for o in ok):>12s}")
        for k in floors:
            for i, o in enumerate(ok):
                others = [p[k] for j, p in enumerate(ok) if j != i]
                if others:
                    floors[k].append(_smape(float(np.mean(others)), float(o[k])))
    for k, v in floors.items():
        print(f"{k}: sMAPE of predicting a seed by the other seeds' mean: median {statistics.median(v):.1f}%, "
              f"mean {statistics.mean(v):.1f}% ({len(v)} syntheses)")
    import estimators

    ok = [o for outs in by.values() for o in outs if o["status"] == "ok"]
    pred = estimators.estimate_many([o["facts"] for o in ok], target=a.surrogate)
    for k in ("lut", "ff", "dsp"):
        errs = [_smape(float(p), float(o[k])) for p, o in zip(pred[k], ok)]
        pairs = agree = 0
        i = 0
        for outs in by.values():
            n = sum(o["status"] == "ok" for o in outs)
            ys, ps = [ok[i + j][k] for j in range(n)], [float(pred[k].iloc[i + j]) for j in range(n)]
            i += n
            for x in range(n):
                for y in range(x + 1, n):
                    if ys[x] != ys[y]:
                        pairs += 1
                        agree += (ys[x] < ys[y]) == (ps[x] < ps[y])
        order = f"orders {agree}/{pairs} seed pairs as synthesis does" if pairs else "no seed pairs differ"
        print(f"{k}: surrogate {a.surrogate}: sMAPE median {statistics.median(errs):.1f}%, mean "
              f"{statistics.mean(errs):.1f}%; {order}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
