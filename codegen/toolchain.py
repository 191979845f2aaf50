"""Finding the C++ toolchain pieces: the ``ap_types`` headers and ``g++``.

The ap_types headers (Xilinx, Apache-2.0) are never copied into this repository. They are taken from,
in order: ``$XILINX_HLS/include`` (a Vitis HLS install), ``$AP_TYPES_DIR``, or the ``ap_types`` folder that
ships inside the installed ``hls4ml`` package.

    >>> from codegen.toolchain import find_ap_types
    >>> (find_ap_types() / "ap_fixed.h").exists()   # doctest: +SKIP
    True
"""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["ToolchainError", "find_ap_types", "find_gxx", "compile_shared"]

log = logging.getLogger(__name__)


class ToolchainError(RuntimeError):
    """A compiler or header that the C++ build needs is missing, or the build failed."""


def find_ap_types() -> Path:
    """Folder holding ``ap_fixed.h``; raises :class:`ToolchainError` naming the places searched."""
    tried = []
    xilinx = os.environ.get("XILINX_HLS")
    if xilinx:
        tried.append(Path(xilinx) / "include")
    if os.environ.get("AP_TYPES_DIR"):
        tried.append(Path(os.environ["AP_TYPES_DIR"]))
    spec = importlib.util.find_spec("hls4ml")
    if spec is not None and spec.origin:
        tried.append(Path(spec.origin).parent / "templates" / "vivado" / "ap_types")
    for p in tried:
        if (p / "ap_fixed.h").is_file():
            return p
    raise ToolchainError(
        "ap_types headers (ap_fixed.h) not found; searched: "
        + (", ".join(str(p) for p in tried) or "nothing")
        + ". Set AP_TYPES_DIR, set XILINX_HLS, or `pip install hls4ml==1.3.0`."
    )


def find_gxx() -> str:
    gxx = os.environ.get("CXX") or shutil.which("g++")
    if not gxx:
        raise ToolchainError("g++ not found on PATH; install it (apt-get install g++) or set CXX")
    return gxx


def compile_shared(sources: list[Path], output: Path, include_dirs: list[Path], opt: str = "-O2",
                   shared: bool = True, timeout: float = 900) -> Path:
    """Compile C++ ``sources`` into ``output`` (a shared library unless ``shared=False``).

    Raises :class:`ToolchainError` with the compiler's messages when the build fails.
    """
    cmd = [find_gxx(), "-std=c++14", opt, "-w"]
    if shared:
        cmd += ["-fPIC", "-shared"]
    for inc in include_dirs:
        cmd += ["-I", str(inc)]
    cmd += [str(s) for s in sources] + ["-o", str(output)]
    log.debug("compiling: %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise ToolchainError(f"g++ timed out after {timeout}s building {output}") from e
    if proc.returncode != 0:
        raise ToolchainError(f"g++ failed building {output}:\n{proc.stderr[-4000:]}")
    return output
