"""Run a sweep: skip designs already in the dataset, synthesize the rest in parallel, append rows as they finish.

    >>> from dse.sweep import run_sweep, load_sweep          # doctest: +SKIP
    >>> stats = run_sweep(load_sweep("studies/sweep_dense.yml"), workers=2)   # doctest: +SKIP

Local parallelism is a joblib process pool (each worker single-threaded); ``dask_address`` sends the same
work to a dask.distributed scheduler instead (``"local"`` starts a LocalCluster). Either way the parent process
is the only writer, appending each finished row atomically (see :mod:`dse.dataset`), so a killed sweep loses
at most the designs in flight and a rerun completes the rest.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import platform
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tqdm import tqdm

from ..dataset import Dataset
from .points import DesignPoint, content_hash, design_points
from .spec import SweepSpec

__all__ = ["run_sweep", "synthesize_point", "tool_version", "default_workers", "ToolUnavailable"]

log = logging.getLogger(__name__)

_TOOLS = {"yosys": ["yosys", "-V"], "vitis": ["vitis_hls", "-version"], "vivado": ["vivado_hls", "-version"]}
GIB = 1 << 30
_UNUSED_DIR = "/nonexistent/fpga-dse-unwritten"  # conversions for hashing never write


class ToolUnavailable(RuntimeError):
    """The sweep's backend tool is not installed here."""


def tool_version(backend: str) -> str:
    cmd = _TOOLS[backend]
    if shutil.which(cmd[0]) is None:
        raise ToolUnavailable(f"backend {backend!r} needs {cmd[0]} on PATH, and it is not there")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "unknown"


def default_workers() -> int:
    """One worker per core, fewer when memory is short (about 2 GiB per synthesis)."""
    cores = os.cpu_count() or 1
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        avail = 4 * GIB
    return max(1, min(cores, int(avail // (2 * GIB))))


def _versions() -> dict:
    import numpy

    import codegen

    return {"fpga_dse": codegen.__version__, "python": platform.python_version(), "numpy": numpy.__version__}


def _prepare(point: DesignPoint):
    import codegen

    return codegen.convert(point["description"], config=point["config"], output_dir=_UNUSED_DIR,
                           part=point["part"], clock_period=point["clock_period"])


def _design_kind(hm) -> str:
    n = sum(1 for l in hm.graph if l.is_matrix)
    return "layer" if n == 1 and len(hm.graph) <= 3 else "network"


def synthesize_point(point: DesignPoint, design_hash: str, workdir: str, tool_ver: str) -> dict:
    """Synthesize one point; always returns a row (failed syntheses are rows with their status and error)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import codegen
    from codegen.synth import SynthResult

    started = time.time()
    row = {"design_hash": design_hash, "sweep": point["sweep"], "name": point["name"],
           "architecture": point["architecture"], "description": point["description"],
           "weight_bits": point["weight_bits"], "activation_bits": point["activation_bits"],
           "strategy": point["strategy"], "reuse_factor": point["reuse_factor"], "sparsity": point["sparsity"],
           "host": socket.gethostname(), "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(),
           "versions": _versions()}
    try:
        hm = _prepare(point)
        wd = Path(workdir) / design_hash[:16]
        hm.output_dir = wd / "hls"
        row.update({"config": hm.resolved_config(), "layers": codegen.layer_facts(hm.graph),
                    "n_matrix_layers": sum(1 for l in hm.graph if l.is_matrix), "design_kind": _design_kind(hm)})
        res = codegen.synthesize(hm, backend=point["backend"], timeout=point["timeout"], workdir=wd,
                                 verify=point.get("verify", True))
    except Exception as e:  # a failed design is a row, and the sweep goes on
        log.warning("design %s failed: %s", point["name"], e)
        res = SynthResult.failed(point["backend"], f"{type(e).__name__}: {e}", part=point["part"],
                                 clock_period=point["clock_period"], wall_seconds=time.time() - started)
    d = res.to_dict()
    d["tool_version"] = d.get("tool_version") or tool_ver
    row.update(d)
    return row


def run_sweep(spec: SweepSpec, workers: int | None = None, dask_address: str | None = None,
              output: str | None = None, workdir: str | None = None, progress: bool = True,
              limit: int | None = None) -> dict:
    """Run (or resume) a sweep. Returns counts: points, cached (already in the dataset), synthesized, failed,
    left (not attempted because of ``limit``)."""
    ver = tool_version(spec.backend)  # before any work: a missing tool is an immediate, clear error
    ds = Dataset(output or spec.output)
    workdir = workdir or str(ds.path.with_name(ds.path.stem + ".work"))
    points = design_points(spec)
    done = ds.hashes()
    todo, seen = [], set(done)
    for p in points:
        h = content_hash(_prepare(p), p, ver)
        if h not in seen:
            seen.add(h)
            todo.append((p, h))
    cached = len(points) - len(todo)
    later = 0
    if limit is not None:
        later = max(len(todo) - limit, 0)
        todo = todo[:limit]
    stats = {"points": len(points), "cached": cached, "synthesized": 0, "failed": 0, "left": later}
    log.info("sweep %s: %d points, %d already in %s, %d to synthesize%s", spec.name, len(points), cached,
             ds.path, len(todo), f", {later} left for a later run (--limit)" if later else "")
    if not todo:
        return stats
    bar = tqdm(total=len(todo), desc=f"sweep {spec.name}", unit="design", disable=not progress)

    def record(row: dict):
        ds.append([row])
        stats["synthesized"] += 1
        stats["failed"] += row.get("status") != "ok"
        bar.update(1)
        bar.set_postfix(failed=stats["failed"])

    try:
        if dask_address:
            _run_dask(todo, dask_address, workdir, ver, record)
        else:
            n = workers or spec.workers or default_workers()
            _run_joblib(todo, n, workdir, ver, record)
    except BaseException:
        from codegen.synth.proc import kill_jobs_under

        left = kill_jobs_under(workdir)  # the workers are gone: no synthesis of this sweep outlives it
        if left:
            log.warning("sweep %s: killed %d synthesis processes the workers left", spec.name, len(left))
        raise
    finally:
        bar.close()
    return stats


def _run_joblib(todo, n_jobs: int, workdir: str, ver: str, record) -> None:
    from joblib import Parallel, delayed

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ.setdefault(var, "1")
    if n_jobs == 1:
        for p, h in todo:
            record(synthesize_point(p, h, workdir, ver))
        return
    par = Parallel(n_jobs=n_jobs, return_as="generator_unordered", backend="loky")
    rows = par(delayed(synthesize_point)(p, h, workdir, ver) for p, h in todo)
    try:
        for row in rows:
            record(row)
    finally:
        rows.close()  # on an interrupt: joblib stops the workers now, not when the traceback is freed


def _run_dask(todo, address: str, workdir: str, ver: str, record) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=min(2, os.cpu_count() or 1), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        address = cluster.scheduler_address
    try:
        with Client(address) as client:
            futures = [client.submit(synthesize_point, p, h, workdir, ver, pure=False) for p, h in todo]
            for fut in as_completed(futures):
                record(fut.result())
    finally:
        if cluster is not None:
            cluster.close()
