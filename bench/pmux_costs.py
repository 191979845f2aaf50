"""Measure what yosys + abc build from a case-statement multiplexer, against codegen.rtl.inventory.pmux_luts.

    .venv/bin/python bench/pmux_costs.py            # a small grid (about 5 minutes on 2 cores)
    .venv/bin/python bench/pmux_costs.py --full     # n = 4..128 counter values, k = 2..32 operands (about 30 min)

Time-multiplexed layers (codegen.rtl.matrix) pick each multiplier's operand with ``case (cnt)`` over the
counter's n values. yosys turns such a statement into a ``$pmux`` (one compare per case) and abc rebuilds it, at
a cost the 4:1 multiplexer tree of the k distinct operands (``mux_luts(k)``) underestimates two to three times
when n is large. Each point synthesizes one multiplexer of k operands, registered, at 2 and at 8 bits
(``synth_xilinx -family xc7 -nowidelut``, like codegen.synth.yosys), the operands in sorted runs (input
multiplexers: consecutive cycles read consecutive inputs) or in random order (accumulator multiplexers), and
prints LUT6 per bit (the 8-bit count less the 2-bit one, over 6) next to ``pmux_luts(k, n)`` and
``mux_luts(k)``, with the median ratio measured / pmux_luts.
"""
from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codegen.rtl.inventory import mux_luts, pmux_luts  # noqa: E402


def sources(k: int, n: int, order: str, seed: int) -> list[int]:
    """The operand each of the n counter values selects."""
    if order == "runs":
        return [min(c * k // n, k - 1) for c in range(n)]
    rnd = random.Random(seed)
    return [rnd.randrange(k) for _ in range(n)]


def verilog(src: list[int], k: int, width: int) -> str:
    cw = max((len(src) - 1).bit_length(), 1)
    cases = "\n".join(f"      {c}: v = x[{s * width} +: {width}];" for c, s in enumerate(src))
    return (f"module top(input clk, input [{cw - 1}:0] cnt, input [{k * width - 1}:0] x, output reg [{width - 1}:0] y);\n"
            f"  reg [{width - 1}:0] v;\n  always @* begin\n    case (cnt)\n{cases}\n"
            f"      default: v = {width}'d0;\n    endcase\n  end\n  always @(posedge clk) y <= v;\nendmodule\n")


def luts(v: str, work: Path) -> int:
    (work / "t.v").write_text(v)
    (work / "t.ys").write_text("read_verilog t.v\nsynth_xilinx -flatten -noiopad -nowidelut -family xc7 -top top\n"
                               "tee -o stat.txt stat\n")
    subprocess.run(["yosys", "-q", "-s", "t.ys"], cwd=work, check=True, capture_output=True)
    return sum(int(m) for m in re.findall(r"^\s+LUT\d\s+(\d+)", (work / "stat.txt").read_text(), re.M))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the whole grid (n = 4..128, k = 2..32)")
    a = ap.parse_args(argv)
    if not shutil.which("yosys"):
        print("yosys is not on PATH")
        return 1
    ns = (4, 8, 16, 32, 64, 128) if a.full else (16, 64, 128)
    ks = (2, 3, 4, 6, 8, 12, 16, 32) if a.full else (3, 8, 16)
    ratios = []
    print(f"{'order':7s} {'n':>4s} {'k':>3s} {'used':>4s} {'LUT/bit':>8s} {'pmux_luts':>9s} {'4:1 tree':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        for order in ("runs", "random"):
            for n in ns:
                for k in (k for k in ks if k <= n):
                    src = sources(k, n, order, seed=1000 * k + n)
                    used = len(set(src))  # every counter value is a case: no default operand
                    per_bit = (luts(verilog(src, k, 8), Path(tmp)) - luts(verilog(src, k, 2), Path(tmp))) / 6
                    est = pmux_luts(used, n)
                    ratios.append(per_bit / est)
                    print(f"{order:7s} {n:4d} {k:3d} {used:4d} {per_bit:8.2f} {est:9.2f} {mux_luts(used):8d}",
                          flush=True)
    print(f"measured / pmux_luts: median {statistics.median(ratios):.2f} over {len(ratios)} multiplexers "
          f"(the surrogate's unit cost absorbs the scale; the shape is what matters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
