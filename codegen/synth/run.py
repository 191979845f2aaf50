"""``synthesize(hm, backend=...)``: one call from a converted model to a :class:`SynthResult`.

    >>> res = codegen.synthesize(hm, backend="yosys", timeout=1800)             # doctest: +SKIP
    >>> res.status, res.lut, res.ff, res.dsp, res.bram_18k, res.latency_max, res.ii   # doctest: +SKIP
    ('ok', 2211, 260, 0, 0, 3, 1)
    >>> res.extra["verilator_match"], res.extra["carry"]                        # doctest: +SKIP
    (True, 188)
    >>> row = res.to_dict()                                                     # doctest: +SKIP

Backends (:data:`BACKENDS`):

- ``yosys``: :func:`codegen.rtl.write_rtl` -> yosys ``synth_xilinx`` (cell counts) -> with ``verify``, a
  Verilator build run on random inputs and compared bit for bit with the emulator; latency/II come from the
  writer and are checked against Verilator's measurement. A mismatch gives status ``failed`` (the counts are
  kept, ``extra['verilator_match']`` is False); when Verilator itself cannot run (missing, build failure, no
  time left) the status stays ``ok`` and ``extra['verilator_status']`` says why.
- ``vitis`` / ``vivado``: the HLS project (``codegen.hls``) -> ``vitis_hls`` / ``vivado_hls -f build_prj.tcl``
  in the project folder -> :func:`codegen.synth.parse_report`. :class:`SynthesisToolNotFound` names the
  executable when it is not on PATH.

Every tool runs in its own process group under ``timeout`` (seconds, for the whole call); a timeout gives status
``timeout`` and never raises or leaves a process behind.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .proc import run_command
from .result import SynthResult
from .vitis_report import ReportParseError, parse_report

__all__ = ["synthesize", "SynthesisToolNotFound", "BACKENDS", "DEFAULT_VERIFY_SAMPLES"]

log = logging.getLogger(__name__)

DEFAULT_VERIFY_SAMPLES = 200


class SynthesisToolNotFound(RuntimeError):
    """The executable a backend needs is not on PATH; ``executable`` names it."""

    def __init__(self, executable: str, backend: str):
        self.executable, self.backend = executable, backend
        super().__init__(f"backend {backend!r} needs {executable!r}, which is not on PATH; install it or source its "
                         f"settings script (e.g. settings64.sh) first")


def _graph_and_dir(model, workdir, sub: str) -> tuple:
    from ..rtl.writer import as_graph

    graph = as_graph(model)
    if workdir is None:
        base = getattr(model, "output_dir", None)
        if base is None:
            raise ValueError("workdir is required when synthesizing a Graph (an HLSModel uses its output_dir)")
        workdir = Path(base) / sub
    return graph, Path(workdir)


def verification_inputs(graph, n: int, seed: int = 0) -> np.ndarray:
    """Random inputs over the input type's whole raw range, plus its extremes and zero (float64, exact)."""
    t = graph.input_layer.result_type
    rng = np.random.default_rng(seed)
    shape = graph.input_layer.shape
    raw = rng.integers(t.raw_min, t.raw_max, size=(max(n, 3),) + shape, endpoint=True)
    raw[0], raw[1], raw[2] = t.raw_min, t.raw_max, 0
    return np.ldexp(raw.astype(np.float64), -t.frac)


def _verify(graph, design, workdir: Path, n: int, budget: float, seed: int) -> dict:
    """Verilator vs emulator; returns the ``extra`` entries (never raises for tool problems)."""
    from .. import emulator
    from ..rtl.verilate import SimulationError, simulate, verilator_version

    if budget <= 1:
        return dict(verilator_status="skipped: no time left", verilator_match=None)
    out: dict = {"verilator_version": verilator_version()}
    X = verification_inputs(graph, n, seed)
    t0 = time.monotonic()
    try:
        raw, lat, ii = simulate(graph, X, workdir, timeout=budget, design=design)
    except SimulationError as e:
        log.warning("Verilator check of %s not done: %s", design.top, str(e).splitlines()[0])
        out.update(verilator_status=f"error: {str(e).splitlines()[0]}", verilator_match=None)
        return out
    expected = emulator.run(graph, X, keep_all=False)[graph.output_layer.name]
    match = bool(np.array_equal(np.asarray(raw, dtype=object).reshape(len(X), -1),
                                np.asarray(expected, dtype=object).reshape(len(X), -1)))
    out.update(verilator_status="ok", verilator_match=match, verilator_samples=len(X), latency_measured=lat,
               ii_measured=ii if ii is not None else design.ii, verilator_seconds=round(time.monotonic() - t0, 2))
    try:
        stats = json.loads((workdir / "verilator" / "build_stats.json").read_text())
        out.update(verilator_build_seconds=stats["seconds"], verilator_build_cpu_seconds=stats.get("cpu_seconds"),
                   verilator_max_rss_mb=stats["max_rss_mb"])
    except (OSError, ValueError, KeyError):
        pass
    return out


def _yosys(model, timeout: float, workdir, verify: bool, dsp_policy=None, n_verify: int = DEFAULT_VERIFY_SAMPLES,
           seed: int = 0) -> SynthResult:
    from ..rtl.writer import write_rtl
    from .yosys import YosysRun, resources_from_cells, yosys_version

    t0 = time.monotonic()
    exe = shutil.which("yosys")
    if exe is None:
        raise SynthesisToolNotFound("yosys", "yosys")
    graph, work = _graph_and_dir(model, workdir, "yosys")
    version = yosys_version(exe)
    short = version.split()[1] if version and len(version.split()) > 1 else version
    common = dict(tool_version=short, part=graph.part, clock_period=graph.clock_period)
    design = write_rtl(graph, work / "rtl", dsp_policy)
    run = YosysRun(design, work / "yosys", graph.part, exe)
    res = run.run(timeout)
    extra = dict(tool_version_full=version, family=run.family, yosys_max_rss_mb=round(res.max_rss_kb / 1024, 1),
                 yosys_seconds=round(res.wall_seconds, 2), yosys_cpu_seconds=round(res.cpu_seconds, 2), dsp_policy_min_width=design.policy.min_width,
                 dsp_policy_var_min_width=design.policy.to_dict()["var_min_width"],
                 **design.counts)
    paths = dict(log_path=str(run.log_path), report_path=str(run.stat_json))
    if res.timed_out:
        return SynthResult.failed("yosys", f"yosys did not finish within {timeout:.0f} s", status="timeout",
                                  wall_seconds=time.monotonic() - t0, extra=extra, **common, **paths)
    if res.returncode != 0 or not run.stat_json.is_file():
        return SynthResult.failed("yosys", f"yosys exited with code {res.returncode}: {run.error_tail()}",
                                  wall_seconds=time.monotonic() - t0, extra=extra, **common, **paths)
    cells = run.cells()
    r = resources_from_cells(cells)
    extra.update(carry=r["carry"], muxf=r["muxf"], lutram=r["lutram"],
                 **{f"cell_{k}": v for k, v in sorted(cells.items())})
    status, error = "ok", None
    if verify:
        extra.update(_verify(graph, design, work / "sim", n_verify, timeout - (time.monotonic() - t0), seed))
        if extra.get("verilator_match") is False:
            status, error = "failed", "Verilator outputs differ from the emulator (a bug in the Verilog writer)"
        elif extra.get("verilator_status") == "ok" and (extra["latency_measured"] != design.latency
                                                         or extra["ii_measured"] != design.ii):
            status = "failed"
            error = (f"measured latency/II {extra['latency_measured']}/{extra['ii_measured']} differ from the "
                     f"writer's {design.latency}/{design.ii}")
        if error:
            log.error("%s: %s", design.top, error)
    return SynthResult(status=status, tool="yosys", lut=r["lut"], ff=r["ff"], dsp=r["dsp"], bram_18k=r["bram_18k"],
                       uram=r["uram"], latency_min=design.latency, latency_max=design.latency, ii=design.ii,
                       ii_max=design.ii, wall_seconds=time.monotonic() - t0, error=error, extra=extra,
                       **common, **paths)


def _hls_project(prj: Path) -> Path:
    """The HLS tool's project folder (``<top>_prj``, hls4ml layout) inside the written project."""
    found = sorted(p for p in prj.glob("*_prj") if p.is_dir())
    return found[0] if len(found) == 1 else prj


def _hls(executable: str) -> Callable[..., SynthResult]:
    def run(model, timeout: float, workdir, verify: bool, **_ignored) -> SynthResult:
        exe = shutil.which(executable)
        if exe is None:
            raise SynthesisToolNotFound(executable, executable.split("_")[0])
        from ..hls.writer import write_project

        t0 = time.monotonic()
        graph, prj = _graph_and_dir(model, workdir, ".")
        prj = Path(write_project(graph, prj))
        res = run_command([exe, "-f", "build_prj.tcl", "reset=1 csim=0 synth=1"], prj / f"{executable}_run.log",
                          timeout, cwd=prj)
        common = dict(part=graph.part, clock_period=graph.clock_period, log_path=res.log_path)
        if res.timed_out:
            return SynthResult.failed(executable, f"{executable} did not finish within {timeout:.0f} s",
                                      status="timeout", wall_seconds=res.wall_seconds, **common)
        if res.returncode != 0:
            return SynthResult.failed(executable, f"{executable} exited with code {res.returncode}: {res.tail(1500)}",
                                      wall_seconds=res.wall_seconds, **common)
        try:
            out = parse_report(_hls_project(prj))
        except ReportParseError as e:
            return SynthResult.failed(executable, f"no usable report: {e}", wall_seconds=res.wall_seconds, **common)
        out.wall_seconds = time.monotonic() - t0
        out.log_path = out.log_path or res.log_path
        return out

    return run


#: backend name -> runner(model, timeout, workdir, verify, **options)
BACKENDS: dict[str, Callable[..., SynthResult]] = {
    "yosys": _yosys,
    "vitis": _hls("vitis_hls"),
    "vivado": _hls("vivado_hls"),
}


def synthesize(hm, backend: str = "yosys", timeout: float = 1800, workdir=None, verify: bool = True,
               dsp_policy=None, n_verify: int = DEFAULT_VERIFY_SAMPLES, seed: int = 0) -> SynthResult:
    """Synthesize a converted model (HLSModel or Graph) with ``backend``; see the module docstring.

    ``workdir`` defaults to ``hm.output_dir/yosys`` (yosys) or ``hm.output_dir`` (the HLS project).
    ``dsp_policy`` (yosys): ``{"min_width": N}``, ``"dsp"`` or ``"lut"`` (see ``codegen.rtl.DspPolicy``).
    """
    try:
        runner = BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown synthesis backend {backend!r}; expected one of {sorted(BACKENDS)}") from None
    if not timeout or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if backend == "yosys":
        return runner(hm, timeout, workdir, verify, dsp_policy=dsp_policy, n_verify=n_verify, seed=seed)
    return runner(hm, timeout, workdir, verify)
