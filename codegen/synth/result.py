"""The one result type every synthesis backend returns.

A :class:`SynthResult` is what ``synthesize(project)`` gives back, whatever the
tool (Vitis/Vivado HLS, yosys, ...). Its :meth:`~SynthResult.to_dict` form is a
flat, JSON-safe row: the row a dataset stores. :meth:`~SynthResult.from_dict`
reads such a row back (also one that went through pandas/parquet, where missing
integers come back as ``NaN``)::

    >>> from codegen.synth import SynthResult
    >>> res = SynthResult(status="ok", tool="vivado_hls", tool_version="2020.1",
    ...                   part="xc7z020-clg400-1", clock_period=5.0,
    ...                   lut=2532, ff=7969, dsp=73, bram_18k=0, uram=0,
    ...                   latency_min=10, latency_max=10, ii=8, ii_max=8)
    >>> row = res.to_dict()
    >>> row["lut"], row["post_lut"]
    (2532, None)
    >>> SynthResult.from_dict(row) == res
    True
    >>> bad = SynthResult.failed("vitis_hls", "csynth exited with code 1")
    >>> bad.status, bad.lut
    ('failed', None)

For the HLS tools the top-level ``lut``/``ff``/``dsp``/``bram_18k``/``uram`` are
the csynth *estimates*; counts from a Vivado synthesis run (``vivado_synth.rpt``)
live in :attr:`SynthResult.post_synthesis` and are flattened as ``post_lut``,
``post_ff``, ... in the row.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Optional

__all__ = ["SynthResult", "Status", "STATUSES", "RESOURCE_KEYS"]

Status = Literal["ok", "failed", "timeout"]
#: The allowed values of :attr:`SynthResult.status`.
STATUSES: tuple[str, ...] = ("ok", "failed", "timeout")
#: Resource keys, in the order used by :attr:`SynthResult.post_synthesis` and reports.
RESOURCE_KEYS: tuple[str, ...] = ("lut", "ff", "dsp", "bram_18k", "uram")

_INT_FIELDS = ("lut", "ff", "dsp", "bram_18k", "uram", "latency_min", "latency_max", "ii", "ii_max")
_FLOAT_FIELDS = ("clock_period", "estimated_clock_period", "wall_seconds")
_STR_FIELDS = ("tool_version", "part", "report_path", "log_path", "error")
_POST_PREFIX = "post_"
_EXTRA_PREFIX = "extra_"


@dataclass
class SynthResult:
    """Outcome of one synthesis run (or of parsing its reports).

    Attributes:
        status: ``"ok"``, ``"failed"`` or ``"timeout"``.
        tool: backend name, e.g. ``"vivado_hls"``, ``"vitis_hls"``, ``"yosys"``.
        tool_version: the tool's version string (``"2020.1"``), or None.
        part: FPGA part the run targeted (``"xc7z020-clg400-1"``), or None.
        clock_period: target clock period in ns, or None.
        estimated_clock_period: the tool's estimated/achieved period in ns, or None.
        lut, ff, dsp, bram_18k, uram: resource counts (HLS estimates for the
            Vitis/Vivado HLS tools; netlist counts for yosys). None when not ok.
        latency_min, latency_max: latency in clock cycles (None if unknown,
            e.g. ``undef`` in the report).
        ii, ii_max: initiation interval min/max in clock cycles.
        wall_seconds: wall-clock time of the run, when the caller measured it.
        report_path: the raw report that was parsed.
        log_path: the tool's log file, when found.
        error: what went wrong (status ``failed``/``timeout``), else None.
        post_synthesis: counts after Vivado synthesis (keys of
            :data:`RESOURCE_KEYS`), or None when no such report exists.
        extra: backend-specific JSON scalars (e.g. yosys cell counts).
    """

    status: Status
    tool: str
    tool_version: Optional[str] = None
    part: Optional[str] = None
    clock_period: Optional[float] = None
    estimated_clock_period: Optional[float] = None
    lut: Optional[int] = None
    ff: Optional[int] = None
    dsp: Optional[int] = None
    bram_18k: Optional[int] = None
    uram: Optional[int] = None
    latency_min: Optional[int] = None
    latency_max: Optional[int] = None
    ii: Optional[int] = None
    ii_max: Optional[int] = None
    wall_seconds: Optional[float] = None
    report_path: Optional[str] = None
    log_path: Optional[str] = None
    error: Optional[str] = None
    post_synthesis: Optional[dict[str, Optional[int]]] = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"SynthResult.status must be one of {STATUSES}, got {self.status!r}")
        if not self.tool:
            raise ValueError("SynthResult.tool must be a non-empty string")
        if self.post_synthesis is not None:
            unknown = set(self.post_synthesis) - set(RESOURCE_KEYS)
            if unknown:
                raise ValueError(f"SynthResult.post_synthesis has unknown keys {sorted(unknown)}; "
                                 f"allowed: {RESOURCE_KEYS}")

    # ------------------------------------------------------------------ factories
    @classmethod
    def failed(cls, tool: str, error: str, status: Status = "failed", **kw: Any) -> "SynthResult":
        """A result for a run that failed or timed out; resource/latency fields stay None.

        ``kw`` sets any other field (``tool_version``, ``part``, ``clock_period``,
        ``wall_seconds``, ``log_path``, ``report_path``, ``extra``, ...)::

            >>> SynthResult.failed("yosys", "killed after 3600 s", status="timeout",
            ...                    wall_seconds=3600.0).status
            'timeout'
        """
        if status == "ok":
            raise ValueError("SynthResult.failed() needs status 'failed' or 'timeout', not 'ok'")
        return cls(status=status, tool=tool, error=str(error), **kw)

    # ------------------------------------------------------------------ helpers
    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.status == "ok"

    @property
    def resources(self) -> dict[str, Optional[int]]:
        """The top-level resource counts as a dict keyed by :data:`RESOURCE_KEYS`."""
        return {k: getattr(self, k) for k in RESOURCE_KEYS}

    # ------------------------------------------------------------------ rows
    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-serializable row.

        ``post_synthesis`` becomes ``post_lut``, ``post_ff``, ``post_dsp``,
        ``post_bram_18k``, ``post_uram`` (None when absent) and every ``extra``
        item becomes ``extra_<key>``. numpy scalars are turned into Python
        numbers and non-finite floats into None.
        """
        row: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in ("post_synthesis", "extra"):
                continue
            row[f.name] = _json_scalar(getattr(self, f.name))
        post = self.post_synthesis or {}
        for k in RESOURCE_KEYS:
            row[_POST_PREFIX + k] = _json_scalar(post.get(k))
        for k, v in self.extra.items():
            row[_EXTRA_PREFIX + str(k)] = _json_scalar(v)
        return row

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SynthResult":
        """Inverse of :meth:`to_dict`.

        Keys that are neither fields nor ``post_*``/``extra_*`` are ignored, so a
        whole dataset row (with config columns) can be passed. ``NaN`` becomes
        None and integral floats become ints (pandas turns nullable int columns
        into floats). ``post_synthesis`` is None when every ``post_*`` is None.
        """
        names = {f.name for f in dataclasses.fields(cls)} - {"post_synthesis", "extra"}
        kw: dict[str, Any] = {}
        for name in names:
            if name in d:
                kw[name] = _coerce(name, d[name])
        if "status" not in kw or "tool" not in kw:
            raise ValueError("SynthResult.from_dict needs at least 'status' and 'tool' keys")
        post = {k: _to_int(_nan_to_none(d.get(_POST_PREFIX + k))) for k in RESOURCE_KEYS}
        kw["post_synthesis"] = post if any(v is not None for v in post.values()) else None
        kw["extra"] = {k[len(_EXTRA_PREFIX):]: _nan_to_none(_json_scalar(v))
                       for k, v in d.items() if isinstance(k, str) and k.startswith(_EXTRA_PREFIX)}
        return cls(**kw)


def _json_scalar(v: Any) -> Any:
    """Python scalar for JSON: unwraps numpy scalars, maps NaN/inf to None."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if hasattr(v, "item") and not isinstance(v, (int, float)):  # numpy scalar
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (int, float, str, bool)):
        return v
    return str(v)


def _nan_to_none(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (int, float, str)):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _to_int(v: Any) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"expected an integer count, got {v!r}")
        return int(v)
    return int(v)


def _coerce(name: str, v: Any) -> Any:
    v = _nan_to_none(v)
    if v is None:
        return None
    if name in _INT_FIELDS:
        return _to_int(v)
    if name in _FLOAT_FIELDS:
        return float(v)
    if name in _STR_FIELDS:
        return str(v)
    return v
