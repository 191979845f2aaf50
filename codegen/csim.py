"""C simulation of a written HLS project: g++ builds firmware + bridge into a shared library loaded with ctypes.

    >>> from codegen.hls import write_project                       # doctest: +SKIP
    >>> from codegen.csim import CSimLibrary, build                 # doctest: +SKIP
    >>> prj = write_project(graph, "out/myproject")                  # doctest: +SKIP
    >>> lib = CSimLibrary(prj)              # builds (or reuses the cached build) and loads it
    >>> y = lib.predict(X)                  # float64 (n, *output_shape), one ctypes call for the whole batch
    >>> per_layer = lib.trace(X)            # {layer name: float64 (n, *layer shape)}

:func:`build` hashes the sources (firmware, nnet_utils, bridge), the compiler and the flags; the library is
``<project>/csim/lib<top>_<hash>.so`` with a ``.json`` beside it, so an unchanged project is never recompiled
and a rebuilt one gets a new file name (re-loading it in the same process works). Values cross the boundary
as doubles: inputs become ``input_t`` through ap_fixed's double constructor (== ``FixedType.quantize_float``),
outputs are exact for result types up to 53 bits.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import math
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .toolchain import ToolchainError, compile_shared, find_ap_types, find_gxx

__all__ = ["build", "CSimLibrary", "build_testbench", "run_testbench", "DEFAULT_OPT"]

log = logging.getLogger(__name__)

#: optimization level of the csim build (see the measurements in the module's tests / report)
DEFAULT_OPT = "-O1"
ABI_VERSION = 1
_DOUBLE_P = ctypes.POINTER(ctypes.c_double)


def _meta(project_dir: Path) -> dict:
    p = Path(project_dir) / "project.json"
    if not p.is_file():
        raise ToolchainError(f"{project_dir} is not an HLS project written by codegen.hls (no project.json)")
    return json.loads(p.read_text())


def _compiler_id(gxx: str) -> str:
    try:
        return subprocess.run([gxx, "--version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
    except (OSError, subprocess.SubprocessError):
        return gxx


def _source_hash(project: Path, top: str, extra: list[str], extra_files: list[Path] | None = None) -> str:
    h = hashlib.sha256()
    files = sorted((project / "firmware").rglob("*.h")) + sorted((project / "firmware").glob("*.cpp"))
    files += extra_files if extra_files is not None else [project / f"{top}_bridge.cpp"]
    for f in files:
        h.update(str(f.relative_to(project)).encode() + b"\0" + f.read_bytes() + b"\0")
    for e in extra:
        h.update(e.encode() + b"\0")
    return h.hexdigest()


def build(project_dir, *, opt: str = DEFAULT_OPT, force: bool = False) -> Path:
    """Compile the project's firmware and bridge into a shared library; return its path.

    Reuses ``csim/lib<top>_<hash>.so`` when the sources, compiler and flags are unchanged (unless ``force``).
    Raises :class:`codegen.toolchain.ToolchainError` with g++'s messages when the build fails.
    """
    project = Path(project_dir).resolve()
    top = _meta(project)["top"]
    gxx, ap_types = find_gxx(), find_ap_types()
    digest = _source_hash(project, top, [opt, _compiler_id(gxx), str(ap_types), f"abi{ABI_VERSION}"])[:16]
    out_dir = project / "csim"
    so = out_dir / f"lib{top}_{digest}.so"
    if so.is_file() and not force:
        log.debug("csim: reusing %s", so)
        return so
    out_dir.mkdir(exist_ok=True)
    tmp = out_dir / f".{so.name}.{os.getpid()}.tmp"
    t0 = time.perf_counter()
    try:
        # the bridge #includes firmware/<top>.cpp: a single translation unit
        compile_shared([project / f"{top}_bridge.cpp"], tmp,
                       include_dirs=[ap_types], opt=opt)
        os.replace(tmp, so)
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    (out_dir / f"{so.stem}.json").write_text(json.dumps(
        {"hash": digest, "top": top, "opt": opt, "compiler": _compiler_id(gxx), "ap_types": str(ap_types),
         "compile_seconds": round(seconds, 3)}, indent=2) + "\n")
    for old in out_dir.glob(f"lib{top}_*.so"):  # older builds of this project (a loaded one stays mapped)
        if old != so:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
    log.info("csim: built %s in %.1f s", so.name, seconds)
    return so


def build_testbench(project_dir, *, opt: str = DEFAULT_OPT) -> Path:
    """Compile the project's testbench (``<top>_test.cpp`` + firmware) into ``csim/<top>_tb_<hash>`` with g++.

    Cached like :func:`build` (the testbench data in ``tb_data/`` are read at run time, not compiled in).
    """
    project = Path(project_dir).resolve()
    top = _meta(project)["top"]
    gxx, ap_types = find_gxx(), find_ap_types()
    digest = _source_hash(project, top, [opt, _compiler_id(gxx), str(ap_types), "tb"],
                          extra_files=[project / f"{top}_test.cpp"])[:16]
    exe = project / "csim" / f"{top}_tb_{digest}"
    if exe.is_file():
        return exe
    exe.parent.mkdir(exist_ok=True)
    tmp = exe.parent / f".{exe.name}.{os.getpid()}.tmp"
    try:
        compile_shared([project / "firmware" / f"{top}.cpp", project / f"{top}_test.cpp"], tmp,
                       include_dirs=[ap_types], opt=opt, shared=False)
        os.replace(tmp, exe)
    finally:
        tmp.unlink(missing_ok=True)
    for old in exe.parent.glob(f"{top}_tb_*"):
        if old != exe:
            old.unlink(missing_ok=True)
    return exe


def run_testbench(project_dir, *, timeout: float = 600) -> subprocess.CompletedProcess:
    """Build and run the testbench in the project folder (as Vitis' csim_design would); return the process."""
    exe = build_testbench(project_dir)
    return subprocess.run([str(exe)], cwd=str(Path(project_dir)), capture_output=True, text=True, timeout=timeout)


class CSimLibrary:
    """A loaded csim library of one project.

    ``CSimLibrary(project_dir)`` builds it when needed (see :func:`build`); pass ``so_path`` to load a given
    build. Thread-safe: the ctypes calls release the GIL and the C++ keeps no shared mutable state.
    """

    def __init__(self, project_dir, so_path=None, *, opt: str = DEFAULT_OPT):
        self.project_dir = Path(project_dir).resolve()
        self.meta = _meta(self.project_dir)
        self.so_path = Path(so_path) if so_path is not None else build(self.project_dir, opt=opt)
        lib = ctypes.CDLL(str(self.so_path))
        lib.csim_predict.argtypes = [_DOUBLE_P, _DOUBLE_P, ctypes.c_long]
        lib.csim_predict.restype = None
        lib.csim_trace.argtypes = [_DOUBLE_P, _DOUBLE_P, ctypes.c_long, ctypes.POINTER(_DOUBLE_P)]
        lib.csim_trace.restype = None
        for f in ("csim_n_input", "csim_n_output"):
            getattr(lib, f).restype = ctypes.c_long
        lib.csim_layer_size.restype = ctypes.c_long
        lib.csim_layer_size.argtypes = [ctypes.c_int]
        self._lib = lib
        self.input_shape = tuple(self.meta["input"]["shape"])
        self.output_shape = tuple(self.meta["output"]["shape"])
        self.layers = self.meta["layers"]
        sizes = [lib.csim_layer_size(k) for k in range(lib.csim_n_layers())]
        if (lib.csim_abi_version() != ABI_VERSION or lib.csim_n_input() != math.prod(self.input_shape)
                or lib.csim_n_output() != math.prod(self.output_shape)
                or sizes != [math.prod(l["shape"]) for l in self.layers]):
            raise ToolchainError(f"{self.so_path} does not match {self.project_dir / 'project.json'}; rebuild it")

    @property
    def layer_names(self) -> list[str]:
        return [l["name"] for l in self.layers]

    def _inputs(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        n_in = math.prod(self.input_shape)
        if X.shape == self.input_shape:
            X = X[None]
        if X.ndim < 2 or math.prod(X.shape[1:]) != n_in:
            raise ValueError(f"input of shape {X.shape} does not match the model's input shape "
                             f"(batch, {', '.join(map(str, self.input_shape))})")
        if not np.all(np.isfinite(X)):
            raise ValueError("inputs contain nan or inf")
        return np.ascontiguousarray(X.reshape(X.shape[0], n_in))

    def predict(self, X, *, n_threads: int = 1) -> np.ndarray:
        """Outputs (float64, shape (n, *output_shape)) for inputs ``X`` (n, *input_shape).

        One ctypes call for the whole batch (the bridge loops over samples in C++); with ``n_threads > 1``
        the batch is split into that many calls running concurrently.
        """
        x = self._inputs(X)
        n = x.shape[0]
        y = np.empty((n, math.prod(self.output_shape)), dtype=np.float64)
        if n_threads <= 1 or n < 2 * n_threads:
            self._lib.csim_predict(x.ctypes.data_as(_DOUBLE_P), y.ctypes.data_as(_DOUBLE_P), n)
        else:
            bounds = np.linspace(0, n, n_threads + 1).astype(int)

            def part(k: int) -> None:
                a, b = bounds[k], bounds[k + 1]
                self._lib.csim_predict(x[a:b].ctypes.data_as(_DOUBLE_P), y[a:b].ctypes.data_as(_DOUBLE_P), b - a)

            with ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(part, range(n_threads)))
        return y.reshape(n, *self.output_shape)

    def trace(self, X, layers=None) -> dict[str, np.ndarray]:
        """Every layer's output (or those named in ``layers``): {name: float64 (n, *layer shape)}."""
        x = self._inputs(X)
        n = x.shape[0]
        want = set(self.layer_names if layers is None else layers)
        unknown = want - set(self.layer_names)
        if unknown:
            raise KeyError(f"no layers named {sorted(unknown)}; layers: {self.layer_names}")
        bufs = {l["name"]: np.empty((n, math.prod(l["shape"])), dtype=np.float64)
                for l in self.layers if l["name"] in want}
        ptrs = (_DOUBLE_P * len(self.layers))(*[
            bufs[l["name"]].ctypes.data_as(_DOUBLE_P) if l["name"] in bufs else _DOUBLE_P() for l in self.layers])
        y = np.empty((n, math.prod(self.output_shape)), dtype=np.float64)
        self._lib.csim_trace(x.ctypes.data_as(_DOUBLE_P), y.ctypes.data_as(_DOUBLE_P), n, ptrs)
        return {l["name"]: bufs[l["name"]].reshape(n, *l["shape"]) for l in self.layers if l["name"] in bufs}

    def __repr__(self) -> str:
        return f"CSimLibrary({str(self.project_dir)!r}, so={self.so_path.name})"
