"""Parsers for Vivado HLS / Vitis HLS synthesis reports.

:func:`parse_report` takes what a user has at hand and returns a
:class:`~codegen.synth.result.SynthResult`:

- an HLS project folder (``<prj>/<solution>/syn/report/<top>_csynth.xml``;
  with several solutions, ``solution1`` or else the first by name is returned,
  :func:`parse_all_solutions` gives all of them),
- a solution folder (``<solution>/syn/report/...``),
- a folder holding the report files directly, or
- the ``*_csynth.xml`` file itself.

A Vivado utilization report (``vivado_synth.rpt``, as written by hls4ml's
``vsynth`` step) in the project folder, or in the folder that holds it, fills
:attr:`~codegen.synth.result.SynthResult.post_synthesis`::

    >>> from codegen.synth import parse_report
    >>> res = parse_report("tests/fixtures/reports/vivado2020.1")
    >>> res.tool, res.tool_version, res.lut, res.dsp, res.latency_max, res.ii
    ('vivado_hls', '2020.1', 2532, 73, 10, 8)
    >>> res.post_synthesis["lut"]
    1526

Every problem (missing file, corrupt XML, missing element) raises
:class:`ReportParseError` naming the file and the element; no parser returns None.
"""
from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional, Union

from .result import SynthResult

__all__ = [
    "ReportParseError",
    "parse_report",
    "parse_all_solutions",
    "parse_csynth_xml",
    "parse_vivado_utilization",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]

_APP_FILES = {"vivado_hls.app": "vivado_hls", "hls.app": "vitis_hls"}
_LOG_FILES = ("vitis_hls.log", "vivado_hls.log")
_UTIL_REPORT = "vivado_synth.rpt"
#: Vivado HLS was last released as 2020.1; any later report comes from Vitis HLS.
_LAST_VIVADO_HLS = (2020, 1)


class ReportParseError(ValueError):
    """A report that is missing, unreadable, or lacks a required element.

    ``path`` is the file (or folder) concerned and ``element`` the element or
    table row that was wanted (None when the whole file is unusable).
    """

    def __init__(self, path: PathLike, message: str, element: Optional[str] = None) -> None:
        self.path = str(path)
        self.element = element
        where = f" (element {element})" if element else ""
        super().__init__(f"{self.path}: {message}{where}")


# ----------------------------------------------------------------------------- csynth.xml
def _xml_root(path: Path) -> ET.Element:
    if not path.is_file():
        raise ReportParseError(path, "report file not found")
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ReportParseError(path, f"corrupt or truncated XML: {err}", element="<profile>") from err
    except OSError as err:
        raise ReportParseError(path, f"cannot read report: {err}") from err


def _text(root: ET.Element, path: Path, xpath: str, required: bool = True) -> Optional[str]:
    node = root.find(xpath)
    if node is None or node.text is None or not node.text.strip():
        if required:
            raise ReportParseError(path, "missing required element", element=xpath)
        return None
    return node.text.strip()


def _int_or_none(text: Optional[str], path: Path, xpath: str) -> Optional[int]:
    """Cycle counts: ``undef`` (or any non-number the tool writes) -> None."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            logger.debug("%s: %s is %r, stored as None", path, xpath, text)
            return None
        return int(value) if value.is_integer() else None


def _int_required(text: str, path: Path, xpath: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ReportParseError(path, f"expected an integer, got {text!r}", element=xpath) from None


def _float(text: Optional[str], path: Path, xpath: str) -> Optional[float]:
    if text is None:
        return None
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        raise ReportParseError(path, f"expected a number, got {text!r}", element=xpath) from None


def _version_tuple(version: Optional[str]) -> Optional[tuple[int, int]]:
    m = re.match(r"\s*v?(\d{4})\.(\d+)", version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _guess_tool(root: ET.Element, version: Optional[str], hint: Optional[str]) -> str:
    """``vitis_hls`` or ``vivado_hls``.

    The project's ``.app`` file decides when known (``vivado_hls.app`` vs
    ``hls.app``). Otherwise: Vitis HLS writes ``<DSP>`` (Vivado HLS ``<DSP48E>``)
    and a ``<FlowTarget>`` assignment, and every release after 2020.1 is Vitis.
    """
    if hint:
        return hint
    if root.find("AreaEstimates/Resources/DSP") is not None or root.find("UserAssignments/FlowTarget") is not None:
        return "vitis_hls"
    vt = _version_tuple(version)
    if vt is not None and vt > _LAST_VIVADO_HLS:
        return "vitis_hls"
    return "vivado_hls"


def parse_csynth_xml(xml_path: PathLike, *, tool: Optional[str] = None) -> SynthResult:
    """Parse one ``<top>_csynth.xml`` (HLS estimates only, no post-synthesis).

    ``tool`` overrides the tool-name guess (see :func:`_guess_tool`)::

        >>> r = parse_csynth_xml("tests/fixtures/reports/vivado2020.1/myproject_csynth.xml")
        >>> r.part, r.clock_period, r.estimated_clock_period, r.bram_18k
        ('xc7z020-clg400-1', 5.0, 4.049, 0)
    """
    path = Path(xml_path)
    root = _xml_root(path)
    if root.tag != "profile":
        raise ReportParseError(path, f"not a csynth report: root element is <{root.tag}>", element="<profile>")

    version = _text(root, path, "ReportVersion/Version", required=False)
    part = _text(root, path, "UserAssignments/Part")
    clock = _float(_text(root, path, "UserAssignments/TargetClockPeriod"), path,
                   "UserAssignments/TargetClockPeriod")
    est_xp = "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"
    est_clock = _float(_text(root, path, est_xp, required=False), path, est_xp)

    lat_base = "PerformanceEstimates/SummaryOfOverallLatency/"
    lat = {}
    for key, tag in (("latency_min", "Best-caseLatency"), ("latency_max", "Worst-caseLatency"),
                     ("ii", "Interval-min"), ("ii_max", "Interval-max")):
        xp = lat_base + tag
        lat[key] = _int_or_none(_text(root, path, xp), path, xp)

    res_base = "AreaEstimates/Resources/"
    counts: dict[str, Optional[int]] = {}
    for key, tags in (("bram_18k", ("BRAM_18K",)), ("dsp", ("DSP48E", "DSP")), ("ff", ("FF",)),
                      ("lut", ("LUT",))):
        found = [t for t in tags if root.find(res_base + t) is not None]
        if not found:
            raise ReportParseError(path, "missing required element", element=res_base + "|".join(tags))
        xp = res_base + found[0]
        counts[key] = _int_required(_text(root, path, xp), path, xp)
    uram_text = _text(root, path, res_base + "URAM", required=False)
    counts["uram"] = None if uram_text is None else _int_required(uram_text, path, res_base + "URAM")

    extra: dict[str, object] = {}
    top = _text(root, path, "UserAssignments/TopModelName", required=False)
    if top:
        extra["top"] = top

    return SynthResult(
        status="ok",
        tool=_guess_tool(root, version, tool),
        tool_version=version,
        part=part,
        clock_period=clock,
        estimated_clock_period=est_clock,
        report_path=str(path),
        extra=extra,
        **counts,
        **lat,
    )


# ----------------------------------------------------------------------------- vivado_synth.rpt
_UTIL_ROWS: dict[str, tuple[str, ...]] = {
    "lut": ("CLB LUTs", "Slice LUTs"),
    "ff": ("CLB Registers", "Slice Registers"),
    "dsp": ("DSPs",),
    "bram_tile": ("Block RAM Tile",),
    "uram": ("URAM",),
}
_ROW_RE = re.compile(r"^\|\s*(?P<name>[^|]*?)\*?\s*\|\s*(?P<used>[0-9.]+)\s*\|")


def parse_vivado_utilization(rpt_path: PathLike) -> dict[str, Optional[int]]:
    """Parse a Vivado ``report_utilization`` text report into resource counts.

    Returns keys ``lut``, ``ff``, ``dsp``, ``bram_18k`` (= 2 x "Block RAM Tile",
    tiles can be halves) and ``uram`` (0 when the part has no URAM row, as on
    7-series; the row is absent there)::

        >>> parse_vivado_utilization("tests/fixtures/reports/vivado2020.1/vivado_synth.rpt")
        {'lut': 1526, 'ff': 2428, 'dsp': 66, 'bram_18k': 0, 'uram': 0}
    """
    path = Path(rpt_path)
    if not path.is_file():
        raise ReportParseError(path, "utilization report not found")
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as err:
        raise ReportParseError(path, f"cannot read report: {err}") from err

    found: dict[str, float] = {}
    for line in lines:
        m = _ROW_RE.match(line)
        if not m:
            continue
        name = m.group("name").strip()
        for key, names in _UTIL_ROWS.items():
            # first occurrence only: top-level rows precede the indented sub-rows
            if key not in found and name in names:
                found[key] = float(m.group("used"))
    for key in ("lut", "ff", "dsp", "bram_tile"):
        if key not in found:
            raise ReportParseError(path, "missing utilization row", element=" / ".join(_UTIL_ROWS[key]))
    return {
        "lut": int(found["lut"]),
        "ff": int(found["ff"]),
        "dsp": int(found["dsp"]),
        "bram_18k": int(round(2 * found["bram_tile"])),
        "uram": int(found.get("uram", 0)),
    }


def _util_design(path: Path) -> Optional[str]:
    try:
        for line in path.read_text(errors="replace").splitlines()[:30]:
            m = re.match(r"^\|\s*Design\s*:\s*(\S+)", line)
            if m:
                return m.group(1)
    except OSError:
        pass
    return None


# ----------------------------------------------------------------------------- discovery
def _solution_reports(report_dir: Path, top: Optional[str]) -> Path:
    """The top module's csynth.xml inside a ``syn/report`` (or flat report) folder."""
    if top:
        cand = report_dir / f"{top}_csynth.xml"
        if cand.is_file():
            return cand
    xmls = sorted(report_dir.glob("*_csynth.xml"))
    if len(xmls) == 1:
        return xmls[0]
    plain = report_dir / "csynth.xml"  # Vivado/Vitis HLS also write the top report under this name
    if plain.is_file():
        return plain
    if not xmls:
        raise ReportParseError(report_dir, "no *_csynth.xml report found", element=f"{top or '<top>'}_csynth.xml")
    # Several module reports and no way to tell the top: the top contains every
    # sub-module, so it is the one with the most LUTs.
    best = max(xmls, key=lambda p: (parse_csynth_xml(p).lut or 0, p.name))
    logger.warning("%s: several csynth reports and no report for top %r; using %s", report_dir, top, best.name)
    return best


def _project_meta(prj: Path) -> tuple[Optional[str], Optional[str]]:
    """(tool, top) from the project's ``vivado_hls.app`` / ``hls.app``, when present."""
    for name, tool in _APP_FILES.items():
        app = prj / name
        if app.is_file():
            try:
                top = ET.parse(app).getroot().attrib.get("top")
            except (ET.ParseError, OSError) as err:
                logger.debug("%s: unreadable (%s)", app, err)
                top = None
            return tool, top
    return None, None


def _locate(path: Path, top: Optional[str]) -> tuple[Path, dict[str, Path], Optional[str]]:
    """(project folder, {solution name: csynth.xml}, tool from the .app file)."""
    if not path.exists():
        raise ReportParseError(path, "no such file or folder")
    if path.is_file():
        full = path.absolute()
        in_solution = full.parent.name == "report" and full.parent.parent.name == "syn"
        prj = full.parents[3] if in_solution else full.parent
        sol = full.parents[2].name if in_solution else full.parent.name
        return prj, {sol: path}, _project_meta(prj)[0]
    if (path / "syn" / "report").is_dir():  # a solution folder
        tool, app_top = _project_meta(path.parent)
        return path.parent, {path.name: _solution_reports(path / "syn" / "report", top or app_top)}, tool
    tool, app_top = _project_meta(path)
    top = top or app_top
    if list(path.glob("*_csynth.xml")) or (path / "csynth.xml").is_file():  # flat report folder
        return path, {path.name: _solution_reports(path, top)}, tool
    sols = sorted(p for p in path.iterdir() if (p / "syn" / "report").is_dir())
    if not sols:
        raise ReportParseError(path, "no HLS solution found (expected <solution>/syn/report/<top>_csynth.xml)",
                               element=f"{top or '<top>'}_csynth.xml")
    return path, {s.name: _solution_reports(s / "syn" / "report", top) for s in sols}, tool


def _near(prj: Path, names: tuple[str, ...]) -> Optional[Path]:
    """First of ``names`` in the project folder or the folder holding it."""
    for folder in (prj, prj.parent):
        for name in names:
            cand = folder / name
            if cand.is_file():
                return cand
    return None


def _default_solution(names: list[str]) -> str:
    return "solution1" if "solution1" in names else sorted(names)[0]


def parse_all_solutions(path: PathLike, *, top: Optional[str] = None) -> dict[str, SynthResult]:
    """Parse every solution of an HLS project: ``{solution name: SynthResult}``.

    ``top`` is the top function's name; by default it is read from the
    project's ``.app`` file or guessed from the report names. A
    ``vivado_synth.rpt`` next to the project is attached to the default
    solution only (``solution1`` or the first), the one hls4ml exports::

        >>> sorted(parse_all_solutions("tests/fixtures/reports/vivado2020.1"))
        ['vivado2020.1']
    """
    prj, xmls, tool_hint = _locate(Path(path), top)
    default = _default_solution(list(xmls))
    log = _near(prj, _LOG_FILES)
    util = _near(prj, (_UTIL_REPORT,))

    results: dict[str, SynthResult] = {}
    for sol, xml in xmls.items():
        res = parse_csynth_xml(xml, tool=tool_hint)
        res.extra["solution"] = sol
        if log is not None:
            res.log_path = str(log)
        if util is not None and sol == default:
            design = _util_design(util)
            want = res.extra.get("top")
            if design and want and design != want:
                logger.warning("%s is for design %r, not %r; ignored", util, design, want)
            else:
                res.post_synthesis = parse_vivado_utilization(util)
                res.extra["post_synthesis_report"] = str(util)
        results[sol] = res
    return results


def parse_report(path: PathLike, *, top: Optional[str] = None, solution: Optional[str] = None) -> SynthResult:
    """Parse an HLS project folder, solution folder, report folder or csynth.xml.

    Returns the result of ``solution`` when given, else of ``solution1``, else
    of the first solution by name. Raises :class:`ReportParseError` on any
    problem::

        >>> res = parse_report("tests/fixtures/reports/vivado2020.1/myproject_csynth.xml")
        >>> res.status, res.ff, res.latency_min, res.ii_max
        ('ok', 7969, 10, 8)
    """
    results = parse_all_solutions(path, top=top)
    if solution is not None:
        if solution not in results:
            raise ReportParseError(path, f"solution not found; have {sorted(results)}", element=solution)
        return results[solution]
    return results[_default_solution(list(results))]
