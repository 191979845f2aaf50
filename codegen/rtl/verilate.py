"""Build the generated Verilog with Verilator and run it: raw outputs, measured latency and II.

    >>> from codegen.rtl import simulate                                          # doctest: +SKIP
    >>> raw, latency, ii = simulate(hm, X, "build/sim")                          # doctest: +SKIP
    >>> expected = codegen.emulator.run(hm.graph, X, keep_all=False)[hm.graph.output_layer.name]  # doctest: +SKIP
    >>> bool((raw == expected).all()), latency == rtl.latency_cycles(hm)        # doctest: +SKIP
    (True, True)

The harness (``templates/harness.cpp.j2``) offers inputs back to back, as fast as ``in_ready`` allows, and logs
the cycle of every accepted input and every valid output; latency is output cycle minus accept cycle (the same
for every sample, or :class:`SimulationError`), II the distance between accepted inputs. Builds are cached by
a hash of the sources. Verilator runs with ``-j 2`` at most and inside a timeout (see ``codegen.synth.proc``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import jinja2
import numpy as np

from ..synth.proc import run_command
from .writer import TEMPLATES, RTLDesign, as_graph, write_rtl

__all__ = ["SimulationError", "build_simulator", "simulate", "run_simulator", "verilator_version"]

log = logging.getLogger(__name__)

MAX_JOBS = 2
_STAMP = ".dse_build_hash"


class SimulationError(RuntimeError):
    """Verilator is missing, the build failed, or the simulation misbehaved; the message says which."""


def verilator_version() -> str | None:
    exe = shutil.which("verilator")
    if exe is None:
        return None
    import subprocess

    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip() or None


def _harness(design: RTLDesign) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    it, ot = design.in_type, design.out_type
    in_bits, out_bits = design.n_in * it.width, design.n_out * ot.width
    return env.get_template("harness.cpp.j2").render(
        top=design.top, n_in=design.n_in, n_out=design.n_out, in_width=it.width, out_width=ot.width,
        in_type=str(it), in_bits=in_bits, out_bits=out_bits, in_words=-(-in_bits // 32), out_words=-(-out_bits // 32),
        out_signed=ot.signed, ii=design.ii, latency=design.latency)


def build_simulator(design: RTLDesign, workdir, timeout: float = 900, jobs: int = MAX_JOBS) -> Path:
    """Compile ``design`` and the harness into ``workdir/obj_dir/Vsim`` (reused when the sources are unchanged)."""
    exe_v = shutil.which("verilator")
    if exe_v is None:
        raise SimulationError("verilator not found on PATH (apt-get install verilator)")
    if design.in_type.width > 63 or design.out_type.width > 64:
        raise SimulationError(f"the Verilator harness handles elements of at most 63/64 bits; this design has "
                              f"{design.in_type} inputs and {design.out_type} outputs")
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    harness = work / "harness.cpp"
    harness.write_text(_harness(design))
    sources = sorted(p for p in design.files if p.suffix == ".v")
    h = hashlib.sha256()
    for p in sources + [harness]:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    digest = h.hexdigest()
    obj = work / "obj_dir"
    exe = obj / "Vsim"
    if exe.is_file() and (obj / _STAMP).is_file() and (obj / _STAMP).read_text() == digest:
        return exe  # build_stats.json of the earlier build stays
    if obj.exists():
        shutil.rmtree(obj)
    cmd = [exe_v, "--cc", "--exe", "--build", "-j", str(max(1, min(jobs, MAX_JOBS))), "--default-language",
           "1364-2005", "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNOPTFLAT", "--x-assign", "fast", "--x-initial", "fast",
           "--top-module", design.top, "-CFLAGS", "-O1", "--Mdir", str(obj), "-o", "Vsim",
           *[str(p.resolve()) for p in sources], str(harness.resolve())]
    res = run_command(cmd, work / "build.log", timeout, cwd=work)
    if res.timed_out:
        raise SimulationError(f"verilator build timed out after {timeout:.0f} s (log: {res.log_path})")
    if not res.ok or not exe.is_file():
        raise SimulationError(f"verilator build failed (exit {res.returncode}); log {res.log_path}:\n{res.tail()}")
    (obj / _STAMP).write_text(digest)
    (work / "build_stats.json").write_text(json.dumps({"seconds": round(res.wall_seconds, 2),
                                                       "cpu_seconds": round(res.cpu_seconds, 2),
                                                       "max_rss_mb": round(res.max_rss_kb / 1024, 1)}))
    log.info("verilated %s in %.1f s (peak %.0f MB)", design.top, res.wall_seconds, res.max_rss_kb / 1024)
    return exe


def _raw_inputs(graph, X) -> np.ndarray:
    inp = graph.input_layer
    X = np.asarray(X, dtype=np.float64)
    if X.shape == inp.shape:
        X = X[None]
    X = X.reshape(X.shape[0], *inp.shape)
    return np.asarray(inp.result_type.quantize_float(X)).reshape(X.shape[0], -1)


def run_simulator(exe: Path, design: RTLDesign, raw_in: np.ndarray, workdir,
                  timeout: float = 600) -> tuple[np.ndarray, int, int | None]:
    """Run a built simulator on raw inputs (N, n_in); returns raw outputs (N, n_out), latency, II."""
    work = Path(workdir)
    raw_in = np.asarray(raw_in).reshape(len(raw_in), -1)
    n = len(raw_in)
    lines = [str(n)] + [" ".join(str(int(v)) for v in row) for row in raw_in]
    (work / "inputs.txt").write_text("\n".join(lines) + "\n")
    res = run_command([str(exe), "inputs.txt", "outputs.txt"], work / "sim.log", timeout, cwd=work)
    if not res.ok:
        why = "timed out" if res.timed_out else f"exit {res.returncode}"
        raise SimulationError(f"simulation {why}; log {res.log_path}:\n{res.tail()}")
    accepts, outs, vals = [], [], []
    for line in (work / "outputs.txt").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "A":
            accepts.append(int(parts[1]))
        elif parts and parts[0] == "O":
            outs.append(int(parts[1]))
            vals.append([int(v) for v in parts[2:]])
    if len(accepts) != n or len(outs) != n:
        raise SimulationError(f"{len(accepts)} inputs accepted and {len(outs)} outputs seen for {n} samples")
    lat = {o - a for a, o in zip(accepts, outs)}
    if len(lat) != 1:
        raise SimulationError(f"latency varies between samples: {sorted(lat)}")
    gaps = {b - a for a, b in zip(accepts, accepts[1:])}
    out_gaps = {b - a for a, b in zip(outs, outs[1:])}
    if len(gaps) > 1 or gaps != out_gaps:
        raise SimulationError(f"irregular input/output spacing: inputs {sorted(gaps)}, outputs {sorted(out_gaps)}")
    ii = gaps.pop() if gaps else None
    arr = np.array(vals, dtype=object if design.out_type.width > 62 else np.int64)
    return arr, lat.pop(), ii


def simulate(model, X, workdir, dsp_policy=None, timeout: float = 1200,
             design: RTLDesign | None = None) -> tuple[np.ndarray, int, int | None]:
    """Write (unless ``design`` is given), verilate and run ``model`` on ``X`` (float inputs, batch first).

    Returns ``(raw_outputs, measured_latency, measured_ii)``: raw integers of the output layer's type with
    shape ``(N, *output_shape)``, as ``codegen.emulator.run`` gives them; ``measured_ii`` is None for N = 1.
    """
    import time

    graph = as_graph(model)
    work = Path(workdir)
    t0 = time.monotonic()
    if design is None:
        design = write_rtl(graph, work / "rtl", dsp_policy)
    exe = build_simulator(design, work / "verilator", timeout)
    left = max(timeout - (time.monotonic() - t0), 1.0)
    raw_in = _raw_inputs(graph, X)
    raw, lat, ii = run_simulator(exe, design, raw_in, work / "verilator", timeout=left)
    return raw.reshape(len(raw_in), *design.out_shape), lat, ii
