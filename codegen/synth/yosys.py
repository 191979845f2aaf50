"""The ``yosys`` backend: Debian's yosys ``synth_xilinx`` on the Verilog of :mod:`codegen.rtl`, cell counts.

    >>> from codegen.synth.yosys import yosys_family, resources_from_cells
    >>> yosys_family("xc7z020clg400-1"), yosys_family("xcu250-figd2104-2L-e"), yosys_family("xcvu095-ffva2104-2-e")
    ('xc7', 'xcup', 'xcu')
    >>> r = resources_from_cells({"LUT6": 10, "LUT2": 3, "RAM64M": 2, "FDRE": 7, "DSP48E1": 1, "RAMB36E1": 1,
    ...                           "RAMB18E1": 1, "CARRY4": 4})
    >>> r["lut"], r["ff"], r["dsp"], r["bram_18k"], r["uram"], r["carry"]
    (21, 7, 1, 3, 0, 4)

Counting rules: LUT = LUT1..LUT6 plus LUTs used as memory (LUTRAM cells by the LUTs they occupy, SRL16E/
SRLC32E one each); FF = FDRE/FDSE/FDCE/FDPE; DSP = DSP48E1/E2; BRAM_18K = RAMB18 + 2 x RAMB36; URAM = URAM288.
CARRY4/CARRY8 and MUXF7/8/9 are reported in ``extra``. One yosys process per design, in its own process group,
killed with all its children (``yosys-abc``) on timeout.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import jinja2

from ..rtl.netlist import LUTMUL_MARK
from ..rtl.writer import TEMPLATES, RTLDesign
from .proc import CommandResult, run_command

__all__ = ["yosys_family", "yosys_version", "resources_from_cells", "parse_stat", "run_yosys", "YosysRun",
           "LUT_WEIGHTS", "FF_CELLS"]

log = logging.getLogger(__name__)

LUT_WEIGHTS = {
    **{f"LUT{k}": 1 for k in range(1, 7)}, "LUT6_2": 1,
    # distributed RAM (LUTRAM): LUTs each primitive occupies
    "RAM16X1S": 1, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM512X1S": 8,
    "RAM16X1D": 2, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM64X8SW": 8,
    # shift registers in LUTs
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}
LUTRAM_CELLS = {k for k in LUT_WEIGHTS if k.startswith(("RAM", "SRL"))}
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1")
DSP_CELLS = ("DSP48E1", "DSP48E2", "DSP48A1", "DSP48")
BRAM_WEIGHTS = {"RAMB18E1": 1, "RAMB18E2": 1, "RAMB18": 1, "FIFO18E1": 1, "RAMB36E1": 2, "RAMB36E2": 2,
                "RAMB36": 2, "FIFO36E1": 2, "FIFO36E2": 2}
URAM_CELLS = ("URAM288", "URAM288_BASE")
CARRY_CELLS = ("CARRY4", "CARRY8")
MUXF_CELLS = ("MUXF7", "MUXF8", "MUXF9")


def yosys_family(part: str) -> str:
    """The ``synth_xilinx -family`` of a Xilinx part: xc7 (7-series, Zynq-7000), xcup (UltraScale+), xcu."""
    p = part.strip().lower()
    if p.startswith("xc7"):
        return "xc7"
    if p.startswith(("xczu", "xcu", "xcau", "xcvu", "xcku", "xcvc", "xcve")):
        device = p.split("-")[0]
        if p.startswith(("xczu", "xcau")) or re.match(r"xcu\d", p) or re.match(r"xc(vu|ku)\d+p", device):
            return "xcup"
        if p.startswith(("xcvu", "xcku")):
            return "xcu"
    raise ValueError(f"part {part!r}: cannot tell its yosys family (supported: xc7*, xczu*, xcu<N>*, "
                     "xcvu*/xcku* (UltraScale, 'p' suffix: UltraScale+), xcau*)")


@functools.lru_cache(maxsize=4)
def _version(exe: str) -> str | None:
    try:
        out = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def yosys_version(exe: str | None = None) -> str | None:
    """``yosys -V`` (e.g. ``'Yosys 0.23 (git sha1 7ce5011c24b)'``), or None when yosys is missing."""
    exe = exe or shutil.which("yosys")
    return _version(exe) if exe else None


def parse_stat(path) -> dict[str, int]:
    """Cell counts by type from a ``stat -json`` file (whole design)."""
    data = json.loads(Path(path).read_text())
    if "design" in data and "num_cells_by_type" in data["design"]:
        return {k: int(v) for k, v in data["design"]["num_cells_by_type"].items()}
    cells: dict[str, int] = {}
    for mod in data.get("modules", {}).values():
        for k, v in mod.get("num_cells_by_type", {}).items():
            cells[k] = cells.get(k, 0) + int(v)
    return cells


def resources_from_cells(cells: dict[str, int]) -> dict[str, int]:
    """LUT/FF/DSP/BRAM_18K/URAM (and carry, muxf, lutram) from yosys cell counts."""
    return dict(
        lut=sum(n * LUT_WEIGHTS[c] for c, n in cells.items() if c in LUT_WEIGHTS),
        ff=sum(cells.get(c, 0) for c in FF_CELLS),
        dsp=sum(cells.get(c, 0) for c in DSP_CELLS),
        bram_18k=sum(n * BRAM_WEIGHTS[c] for c, n in cells.items() if c in BRAM_WEIGHTS),
        uram=sum(cells.get(c, 0) for c in URAM_CELLS),
        carry=sum(cells.get(c, 0) for c in CARRY_CELLS),
        muxf=sum(cells.get(c, 0) for c in MUXF_CELLS),
        lutram=sum(n * LUT_WEIGHTS[c] for c, n in cells.items() if c in LUTRAM_CELLS),
    )


class YosysRun:
    """One synthesis: the script, the process, the parsed counts."""

    def __init__(self, design: RTLDesign, workdir, part: str, exe: str = "yosys"):
        self.design, self.part, self.exe = design, part, exe
        self.family = yosys_family(part)
        self.workdir = Path(workdir)
        self.stat_json = self.workdir / "stat.json"
        self.stat_txt = self.workdir / "stat.txt"
        self.log_path = self.workdir / "yosys.log"
        self.script = self.workdir / "synth.ys"

    def write_script(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                                 keep_trailing_newline=True)
        files = [os.path.relpath(p.resolve(), self.workdir.resolve()) for p in self.design.files if p.suffix == ".v"]
        bad = [f for f in files if any(ch.isspace() or ch in "\"';" for ch in f)]
        if bad:
            raise ValueError(f"Verilog paths unusable in a yosys script: {bad}")
        self.script.write_text(env.get_template("synth.ys.j2").render(
            top=self.design.top, part=self.part, family=self.family, files=files, mark=LUTMUL_MARK,
            stat_json=self.stat_json.name, stat_txt=self.stat_txt.name))
        return self.script

    def run(self, timeout: float) -> CommandResult:
        self.write_script()
        for p in (self.stat_json, self.stat_txt):
            p.unlink(missing_ok=True)
        cmd = [self.exe, "-q", "-l", self.log_path.name, "-s", self.script.name]
        res = run_command(cmd, self.workdir / "yosys.out", timeout, cwd=self.workdir, job=str(self.workdir.resolve()))
        log.info("yosys %s: rc=%s timeout=%s %.1f s, peak %.0f MB", self.design.top, res.returncode, res.timed_out,
                 res.wall_seconds, res.max_rss_kb / 1024)
        return res

    def cells(self) -> dict[str, int]:
        return parse_stat(self.stat_json)

    def error_tail(self, n: int = 2000) -> str:
        for p in (self.workdir / "yosys.out", self.log_path):
            try:
                text = p.read_text(errors="replace")
            except OSError:
                continue
            if "ERROR" in text:
                return text[text.index("ERROR"):][:n]
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""
