"""Verilog for the same Graph as the HLS writer, and its Verilator check.

    >>> import codegen.rtl as rtl                                              # doctest: +SKIP
    >>> design = rtl.write_rtl(hm, "build/rtl")                                # doctest: +SKIP
    >>> rtl.latency_cycles(hm), rtl.initiation_interval(hm)                    # doctest: +SKIP
    (4, 1)
    >>> raw, latency, ii = rtl.simulate(hm, X, "build/sim")                    # doctest: +SKIP
    >>> (raw == codegen.emulator.run(hm.graph, X)[hm.graph.output_layer.name]).all()  # doctest: +SKIP
    True

Matrix layers are fully parallel at reuse factor 1 and time-multiplexed (``ceil(nonzero/R)`` multipliers,
II = R) above; :class:`DspPolicy` chooses DSP blocks or LUTs per multiplication. Numerics: docs/numerics.md.
"""
from .layers import RTLWriteError
from .netlist import LUTMUL_MARK, DspPolicy
from .verilate import SimulationError, build_simulator, simulate
from .writer import RTLDesign, initiation_interval, latency_cycles, plan_design, write_rtl

__all__ = ["write_rtl", "RTLDesign", "RTLWriteError", "DspPolicy", "LUTMUL_MARK", "latency_cycles",
           "initiation_interval", "plan_design", "simulate", "SimulationError", "build_simulator"]

