"""Write a :class:`~codegen.ir.Graph` as synthesizable Verilog-2005 (io_parallel), from jinja2 templates.

    >>> from codegen.rtl import write_rtl, latency_cycles, initiation_interval   # doctest: +SKIP
    >>> design = write_rtl(hm, "build/rtl", dsp_policy={"min_width": 10})       # doctest: +SKIP
    >>> design.top, design.latency, design.ii, [p.name for p in design.files][:2]  # doctest: +SKIP
    ('myproject', 5, 1, ['myproject.v', 'myproject_fc1.v'])
    >>> latency_cycles(hm) == design.latency and initiation_interval(hm) == design.ii  # doctest: +SKIP
    True

Folder layout (every name is ``top`` or ``top_<layer.cpp_name>`` plus a fixed suffix, so nothing is written
outside ``output_dir`` and user names never collide)::

    <top>.v                 top level: clk, rst, in_valid/in_ready/in_data, out_valid/out_data
    <top>_<layer>.v         one module per layer (Input and Reshape are wires)
    <top>__delay.v          delay lines that align the inputs of Add/Concatenate
    <top>__lutmul.v         the LUT multiplier (see DspPolicy)
    design.json             top, ports, types, latency, II, per-layer facts

Timing: every layer has a fixed latency (``LayerModule.latency``); a layer's output arrives
``max(input arrivals) + latency`` cycles after the network's input; merge inputs that arrive early are delayed.
The network accepts one input every ``II = max(layer II)`` cycles (``in_ready`` throttles).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from ..fixed import FixedType
from ..ir import Graph, cpp_identifier
from .layers import NO_MODULE_KINDS, BuildContext, LayerModule, RTLWriteError, build_layer
from .netlist import LUTMUL_MARK, DspPolicy

__all__ = ["RTLDesign", "DesignPlan", "plan_design", "write_rtl", "latency_cycles", "initiation_interval",
           "verilog_top_name", "as_graph"]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

_VERILOG_KEYWORDS = set("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default defparam
design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive endspecify endtable
endtask event for force forever fork function generate genvar highz0 highz1 if ifnone incdir include initial inout
input instance integer join large liblist library localparam macromodule medium module nand negedge nmos nor
noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive pull0 pull1 pulldown pullup
pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1
scalared showcancelled signed small specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0
tranif1 tri tri0 tri1 triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
bit byte logic int shortint longint string class interface package program chandle enum struct union typedef
void var import export const static virtual extends new this super null final alias assert assume cover property
sequence clocking bind unique priority return break continue do foreach inside with type""".split())


def as_graph(model) -> Graph:
    """The Graph of an :class:`~codegen.model.HLSModel` (or the Graph itself)."""
    g = getattr(model, "graph", model)
    if not isinstance(g, Graph):
        raise TypeError(f"expected an HLSModel or a Graph, got {type(model).__name__}")
    if g.io_type != "io_parallel":
        raise RTLWriteError(f"io_type {g.io_type!r} is not supported by the Verilog writer (only io_parallel)")
    return g


def verilog_top_name(graph: Graph) -> str:
    """A Verilog/C++-safe top module name made from ``graph.name``."""
    name = cpp_identifier(graph.name)
    return f"m_{name}" if name in _VERILOG_KEYWORDS else name


@dataclass
class DesignPlan:
    """Every layer module built in memory, with the network timing; nothing written yet."""

    graph: Graph
    top: str
    policy: DspPolicy
    modules: dict[str, LayerModule]  # by layer name
    arrival: dict[str, int]  # cycle at which each layer's output is valid (input accepted at 0)
    delays: dict[str, list[int]]  # per merge layer: delay of each input

    @property
    def latency(self) -> int:
        return self.arrival[self.graph.output_layer.name]

    @property
    def ii(self) -> int:
        return max([m.ii for m in self.modules.values()] + [1])

    @property
    def counts(self) -> dict[str, int]:
        out = {"mult_dsp": 0, "mult_lut": 0, "mult_shift": 0}
        for m in self.modules.values():
            for k, v in m.builder.counts.items():
                out[k] += v
        return out


@dataclass
class RTLDesign:
    """A written Verilog design."""

    folder: Path
    top: str
    files: list[Path]
    latency: int
    ii: int
    in_type: FixedType
    out_type: FixedType
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    policy: DspPolicy
    uses_lutmul: bool
    counts: dict[str, int] = field(default_factory=dict)
    layers: list[dict] = field(default_factory=list)

    @property
    def n_in(self) -> int:
        return _prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return _prod(self.out_shape)

    def to_json(self) -> dict:
        return dict(top=self.top, files=[p.name for p in self.files], latency=self.latency, ii=self.ii,
                    in_type=str(self.in_type), out_type=str(self.out_type), in_shape=list(self.in_shape),
                    out_shape=list(self.out_shape), dsp_policy=self.policy.to_dict(), uses_lutmul=self.uses_lutmul,
                    lutmul_mark=LUTMUL_MARK, counts=self.counts, layers=self.layers)


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def plan_design(model, dsp_policy=None) -> DesignPlan:
    """Build every layer's module and the timing of the network (no files)."""
    graph = as_graph(model)
    policy = DspPolicy.parse(dsp_policy)
    top = verilog_top_name(graph)
    ctx = BuildContext(graph, policy, top)
    modules: dict[str, LayerModule] = {}
    arrival: dict[str, int] = {}
    delays: dict[str, list[int]] = {}
    graph.input_layer  # exactly one input (raises otherwise)
    for layer in graph:
        if layer.kind == "Input":
            arrival[layer.name] = 0
            continue
        ins = [arrival[i] for i in layer.inputs]
        if layer.kind in NO_MODULE_KINDS:
            arrival[layer.name] = ins[0]
            continue
        m = build_layer(layer, ctx)
        modules[layer.name] = m
        t = max(ins)
        delays[layer.name] = [t - a for a in ins]
        arrival[layer.name] = t + m.latency
    return DesignPlan(graph, top, policy, modules, arrival, delays)


def latency_cycles(model, dsp_policy=None) -> int:
    """Cycles from an accepted input to its valid output (what Verilator measures)."""
    return plan_design(model, dsp_policy).latency


def initiation_interval(model) -> int:
    """Cycles between accepted inputs: the largest reuse factor of any matrix layer (1 when all are 1)."""
    graph = as_graph(model)
    return max([int(l.config.reuse_factor) for l in graph if l.is_matrix] + [1])


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False)


def _top_context(p: DesignPlan) -> dict:
    g = p.graph
    inp, out = g.input_layer, g.output_layer
    signals, aliases, delays, instances = [], [], [], []
    for layer in g:
        signals.append(dict(name=layer.cpp_name, bits=layer.size * layer.result_type.width))
        if layer.kind == "Input":
            aliases.append(dict(name=layer.cpp_name, valid="accept", data="in_data", comment="input"))
            continue
        if layer.kind in NO_MODULE_KINDS:
            src = g[layer.inputs[0]].cpp_name
            aliases.append(dict(name=layer.cpp_name, valid=f"v_{src}", data=f"d_{src}",
                                comment=f"{layer.kind} {layer.name!r}: data unchanged"))
            continue
        m = p.modules[layer.name]
        ports = []
        for k, (src_name, d) in enumerate(zip(layer.inputs, p.delays[layer.name])):
            src = g[src_name]
            if d == 0:
                ports.append(dict(valid=f"v_{src.cpp_name}", data=f"d_{src.cpp_name}"))
                continue
            dl = f"{layer.cpp_name}_{k}"
            delays.append(dict(name=dl, src=src.cpp_name, bits=src.size * src.result_type.width, depth=d))
            ports.append(dict(valid=f"dv_{dl}", data=f"dd_{dl}"))
        instances.append(dict(module=m.module, name=layer.cpp_name, layer=layer.name, kind=layer.kind,
                              latency=m.latency, ii=m.ii, inputs=ports))
    it, ot = inp.result_type, out.result_type
    return dict(top=p.top, latency=p.latency, ii=p.ii, throttle_bits=max(1, (p.ii - 1).bit_length()),
                n_in=inp.size, n_out=out.size, in_type=str(it), out_type=str(ot), in_width=it.width,
                out_width=ot.width, in_bits=inp.size * it.width, out_bits=out.size * ot.width,
                signals=signals, aliases=aliases, delays=delays, instances=instances,
                delay_module=f"{p.top}__delay", output=out.cpp_name)


def write_rtl(model, output_dir, dsp_policy=None) -> RTLDesign:
    """Write the Verilog of ``model`` (an HLSModel or a Graph) into ``output_dir``; returns the design facts."""
    p = plan_design(model, dsp_policy)
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise RTLWriteError(f"output folder {str(out)!r} exists and is a file")
    out.mkdir(parents=True, exist_ok=True)
    env = _environment()
    files: list[Path] = []

    def emit(name: str, template: str, ctx: dict) -> None:
        path = out / name
        path.write_text(env.get_template(template).render(**ctx))
        files.append(path)

    emit(f"{p.top}.v", "top.v.j2", _top_context(p))
    for m in p.modules.values():
        emit(f"{m.module}.v", m.template, m.context())
    emit(f"{p.top}__delay.v", "delay.v.j2", dict(module=f"{p.top}__delay"))
    emit(f"{p.top}__lutmul.v", "lutmul.v.j2", dict(module=f"{p.top}__lutmul", mark=LUTMUL_MARK))
    g = p.graph
    layers = [dict(name=l.name, kind=l.kind, module=p.modules[l.name].module if l.name in p.modules else None,
                   latency=p.modules[l.name].latency if l.name in p.modules else 0,
                   ii=p.modules[l.name].ii if l.name in p.modules else 1, arrival=p.arrival[l.name],
                   counts=dict(p.modules[l.name].builder.counts) if l.name in p.modules else {},
                   accumulation=p.modules[l.name].control.get("modes") if l.name in p.modules else None)
              for l in g]
    design = RTLDesign(out, p.top, files, p.latency, p.ii, g.input_layer.result_type, g.output_layer.result_type,
                       g.input_layer.shape, g.output_layer.shape, p.policy,
                       uses_lutmul=p.counts["mult_lut"] > 0 and any(
                           n.op == "lutmul" for m in p.modules.values() for n in m.builder.nodes),
                       counts=p.counts, layers=layers)
    (out / "design.json").write_text(json.dumps(design.to_json(), indent=1))
    log.info("wrote Verilog of %r into %s: latency %d, II %d, %s", g.name, out, design.latency, design.ii,
             design.counts)
    return design
