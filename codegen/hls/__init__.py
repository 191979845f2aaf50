"""HLS C++ project writer (Vitis/Vivado HLS, hls4ml-compatible layout) and its nnet_utils kernels.

    >>> from codegen.hls import write_project          # doctest: +SKIP
    >>> prj = write_project(graph, "out/myproject")     # doctest: +SKIP

Then ``codegen.csim.build(prj)`` compiles it with g++ and ``codegen.csim.CSimLibrary`` runs it; on a machine
with Vitis HLS, ``cd out/myproject && vitis_hls -f build_prj.tcl`` synthesizes it.
"""
from .writer import LAYER_VIEWS, ProjectWriteError, write_project

__all__ = ["write_project", "ProjectWriteError", "LAYER_VIEWS"]
