"""Synthesis results and report parsers.

Every synthesis backend returns a :class:`SynthResult`; the Vitis/Vivado HLS
reports of an existing project can be read with :func:`parse_report`::

    >>> from codegen.synth import SynthResult, parse_report, ReportParseError
    >>> res = parse_report("tests/fixtures/reports/vivado2020.1")
    >>> res.status, res.lut, res.ff, res.dsp, res.bram_18k, res.ii
    ('ok', 2532, 7969, 73, 0, 8)
    >>> row = res.to_dict()                  # flat JSON-safe dataset row
    >>> SynthResult.from_dict(row) == res
    True
"""
from .result import RESOURCE_KEYS, STATUSES, SynthResult
from .run import BACKENDS, SynthesisToolNotFound, synthesize
from .vitis_report import (
    ReportParseError,
    parse_all_solutions,
    parse_csynth_xml,
    parse_report,
    parse_vivado_utilization,
)

__all__ = [
    "SynthResult",
    "STATUSES",
    "RESOURCE_KEYS",
    "ReportParseError",
    "parse_report",
    "parse_all_solutions",
    "parse_csynth_xml",
    "parse_vivado_utilization",
    "synthesize",
    "SynthesisToolNotFound",
    "BACKENDS",
]
