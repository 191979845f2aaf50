"""Batch synthesis sweeps that build datasets (``dse sweep sweep.yml``)."""
from .points import DesignPoint, content_hash, design_points, generate_architectures
from .runner import ToolUnavailable, default_workers, run_sweep, synthesize_point, tool_version
from .spec import BACKENDS, SweepSpec, load_sweep, parse_sweep

__all__ = ["SweepSpec", "load_sweep", "parse_sweep", "BACKENDS", "DesignPoint", "design_points",
           "generate_architectures", "content_hash", "run_sweep", "synthesize_point", "tool_version",
           "default_workers", "ToolUnavailable"]
