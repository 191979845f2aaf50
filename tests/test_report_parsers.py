"""Tests of SynthResult and the Vitis/Vivado HLS report parsers.

The real fixture (tests/fixtures/reports/vivado2020.1/, see PROVENANCE.md there)
is Vivado HLS 2020.1 output from hls4ml's test suite. Every other report below
is SYNTHETIC: derived at test time from the real one by small text edits, each
labelled where it is made.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from codegen.synth import (
    ReportParseError,
    SynthResult,
    parse_all_solutions,
    parse_csynth_xml,
    parse_report,
    parse_vivado_utilization,
)

FIXTURE = Path(__file__).parent / "fixtures" / "reports" / "vivado2020.1"
XML = FIXTURE / "myproject_csynth.xml"
RPT = FIXTURE / "vivado_synth.rpt"


def _assert_real_hls_values(res: SynthResult) -> None:
    assert res.status == "ok"
    assert res.lut == 2532
    assert res.ff == 7969
    assert res.dsp == 73
    assert res.bram_18k == 0
    assert res.uram == 0
    assert res.latency_min == 10
    assert res.latency_max == 10
    assert res.ii == 8
    assert res.ii_max == 8
    assert res.part == "xc7z020-clg400-1"
    assert res.clock_period == 5.0
    assert res.estimated_clock_period == pytest.approx(4.049)
    assert res.tool_version == "2020.1"
    assert res.error is None


def _make_project(root: Path, xml_text: str | None = None, solution: str = "solution1") -> Path:
    """tmp layout: <root>/prj/<solution>/syn/report/myproject_csynth.xml and <root>/prj/vivado_synth.rpt."""
    prj = root / "prj"
    report = prj / solution / "syn" / "report"
    report.mkdir(parents=True, exist_ok=True)
    target = report / "myproject_csynth.xml"
    if xml_text is None:
        shutil.copy(XML, target)
    else:
        target.write_text(xml_text)
    shutil.copy(RPT, prj / "vivado_synth.rpt")
    return prj


# --------------------------------------------------------------------------- real fixture
def test_real_fixture_xml_file():
    res = parse_report(XML)
    _assert_real_hls_values(res)
    assert res.tool == "vivado_hls"
    assert res.report_path == str(XML)
    assert res.extra["top"] == "myproject"


def test_real_fixture_folder_with_post_synthesis():
    res = parse_report(FIXTURE)
    _assert_real_hls_values(res)
    assert res.tool == "vivado_hls"  # from vivado_hls.app next to the report
    assert res.post_synthesis is not None
    assert res.post_synthesis["lut"] == 1526
    assert res.post_synthesis["ff"] == 2428
    assert res.post_synthesis["dsp"] == 66
    assert res.post_synthesis["bram_18k"] == 0


def test_vivado_utilization_report():
    assert parse_vivado_utilization(RPT) == {"lut": 1526, "ff": 2428, "dsp": 66, "bram_18k": 0, "uram": 0}


def test_parse_csynth_xml_has_no_post_synthesis():
    res = parse_csynth_xml(XML)
    _assert_real_hls_values(res)
    assert res.post_synthesis is None


# --------------------------------------------------------------------------- synthetic variants
def test_vitis_dsp_tag_variant(tmp_path):
    # SYNTHETIC: the real Vivado HLS 2020.1 report with <DSP48E> renamed to <DSP> and the
    # version set to 2023.2, which is how Vitis HLS 2023 names the DSP count. Not real tool output.
    text = XML.read_text().replace("DSP48E>", "DSP>").replace("<Version>2020.1</Version>",
                                                             "<Version>2023.2</Version>")
    assert "<DSP>73</DSP>" in text and "DSP48E" not in text
    path = tmp_path / "myproject_csynth.xml"
    path.write_text(text)
    res = parse_report(path)
    assert res.tool == "vitis_hls"
    assert res.tool_version == "2023.2"
    assert res.dsp == 73
    assert res.lut == 2532 and res.ff == 7969 and res.bram_18k == 0


def test_dsp_tag_alone_means_vitis(tmp_path):
    # SYNTHETIC: <DSP> tag with the version left at 2020.1 (Vitis HLS 2020.1 existed too).
    path = tmp_path / "myproject_csynth.xml"
    path.write_text(XML.read_text().replace("DSP48E>", "DSP>"))
    assert parse_report(path).tool == "vitis_hls"


def test_undef_latency_is_none(tmp_path):
    # SYNTHETIC: latencies and max interval replaced by "undef", as real reports write for
    # loops with variable trip counts.
    text = (XML.read_text()
            .replace("<Best-caseLatency>10<", "<Best-caseLatency>undef<")
            .replace("<Worst-caseLatency>10<", "<Worst-caseLatency>undef<")
            .replace("<Interval-max>8<", "<Interval-max>undef<"))
    path = tmp_path / "myproject_csynth.xml"
    path.write_text(text)
    res = parse_report(path)
    assert res.status == "ok"
    assert res.latency_min is None and res.latency_max is None and res.ii_max is None
    assert res.ii == 8
    json.dumps(res.to_dict())


# --------------------------------------------------------------------------- errors
def test_truncated_xml_raises_naming_file(tmp_path):
    text = XML.read_text()
    path = tmp_path / "myproject_csynth.xml"
    path.write_text(text[: len(text) // 3])  # SYNTHETIC: truncated copy
    with pytest.raises(ReportParseError) as info:
        parse_report(path)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)


def test_missing_element_raises_naming_file_and_element(tmp_path):
    path = tmp_path / "myproject_csynth.xml"
    path.write_text(XML.read_text().replace("<LUT>2532</LUT>", ""))  # SYNTHETIC: LUT estimate removed
    with pytest.raises(ReportParseError) as info:
        parse_report(path)
    msg = str(info.value)
    assert str(path) in msg and "AreaEstimates/Resources/LUT" in msg


def test_missing_part_raises(tmp_path):
    path = tmp_path / "myproject_csynth.xml"
    path.write_text(XML.read_text().replace("<Part>xc7z020-clg400-1</Part>", ""))  # SYNTHETIC
    with pytest.raises(ReportParseError, match="UserAssignments/Part"):
        parse_report(path)


def test_missing_file_and_empty_folder(tmp_path):
    with pytest.raises(ReportParseError, match="nope_csynth.xml"):
        parse_report(tmp_path / "nope_csynth.xml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportParseError, match="empty"):
        parse_report(tmp_path / "empty")


def test_not_a_csynth_report(tmp_path):
    path = tmp_path / "x_csynth.xml"
    path.write_text("<other><a>1</a></other>")
    with pytest.raises(ReportParseError, match="profile"):
        parse_report(path)


def test_utilization_missing_row(tmp_path):
    path = tmp_path / "vivado_synth.rpt"
    # SYNTHETIC: the DSP row removed
    path.write_text("\n".join(ln for ln in RPT.read_text().splitlines() if not ln.startswith("| DSPs")))
    with pytest.raises(ReportParseError) as info:
        parse_vivado_utilization(path)
    assert str(path) in str(info.value) and "DSPs" in str(info.value)


def test_utilization_ultrascale_rows(tmp_path):
    # SYNTHETIC: UltraScale+ row names (CLB LUTs/Registers, URAM) and a half BRAM tile.
    text = (RPT.read_text()
            .replace("| Slice LUTs*     ", "| CLB LUTs*       ")
            .replace("| Slice Registers ", "| CLB Registers   ")
            .replace("| Block RAM Tile |    0 |", "| Block RAM Tile |  1.5 |")
            .replace("|   RAMB18       |", "| URAM           |    2 |     0 |        80 |  2.50 |\n|   RAMB18       |"))
    path = tmp_path / "vivado_synth.rpt"
    path.write_text(text)
    assert parse_vivado_utilization(path) == {"lut": 1526, "ff": 2428, "dsp": 66, "bram_18k": 3, "uram": 2}


# --------------------------------------------------------------------------- project layouts
def test_project_folder_layout(tmp_path):
    prj = _make_project(tmp_path)
    for path in (prj, prj / "solution1", prj / "solution1" / "syn" / "report" / "myproject_csynth.xml"):
        res = parse_report(path)
        _assert_real_hls_values(res)
        assert res.tool == "vivado_hls"
        assert res.post_synthesis == {"lut": 1526, "ff": 2428, "dsp": 66, "bram_18k": 0, "uram": 0}
        assert res.extra["solution"] == "solution1"


def test_project_with_log_and_module_reports(tmp_path):
    prj = _make_project(tmp_path)
    shutil.copy(FIXTURE / "vivado_hls.app", prj / "vivado_hls.app")
    (prj / "vivado_hls.log").write_text("INFO: done\n")
    # SYNTHETIC: a sub-module report beside the top one; the top comes from vivado_hls.app.
    sub = XML.read_text().replace("<TopModelName>myproject</TopModelName>", "<TopModelName>dense</TopModelName>")
    (prj / "solution1" / "syn" / "report" / "dense_csynth.xml").write_text(sub.replace("<LUT>2532<", "<LUT>9<"))
    res = parse_report(prj)
    assert res.lut == 2532 and res.extra["top"] == "myproject"
    assert res.log_path == str(prj / "vivado_hls.log")
    assert parse_report(prj, top="dense").lut == 9


def test_several_solutions(tmp_path):
    # SYNTHETIC second solution: same report with a different LUT estimate.
    prj = _make_project(tmp_path)
    _make_project(tmp_path, XML.read_text().replace("<LUT>2532<", "<LUT>1000<"), solution="solution2")
    results = parse_all_solutions(prj)
    assert sorted(results) == ["solution1", "solution2"]
    assert results["solution1"].lut == 2532 and results["solution2"].lut == 1000
    assert results["solution1"].post_synthesis is not None
    assert results["solution2"].post_synthesis is None  # the rpt belongs to the default solution
    assert parse_report(prj).extra["solution"] == "solution1"
    assert parse_report(prj, solution="solution2").lut == 1000
    with pytest.raises(ReportParseError, match="solution9"):
        parse_report(prj, solution="solution9")


def test_post_synthesis_report_for_other_design_is_ignored(tmp_path):
    prj = _make_project(tmp_path)
    rpt = prj / "vivado_synth.rpt"
    rpt.write_text(rpt.read_text().replace("| Design       : myproject", "| Design       : other"))  # SYNTHETIC
    assert parse_report(prj).post_synthesis is None


# --------------------------------------------------------------------------- SynthResult rows
def test_to_dict_from_dict_round_trip():
    res = parse_report(FIXTURE)
    res.wall_seconds = 12.5
    res.log_path = "/tmp/vivado_hls.log"
    row = res.to_dict()
    assert row["post_lut"] == 1526 and row["post_ff"] == 2428 and row["post_dsp"] == 66
    assert row["extra_top"] == "myproject"
    assert not any(isinstance(v, (dict, list)) for v in row.values())
    back = SynthResult.from_dict(json.loads(json.dumps(row)))
    assert back == res


def test_to_dict_without_post_synthesis_has_none_columns():
    row = parse_csynth_xml(XML).to_dict()
    for key in ("post_lut", "post_ff", "post_dsp", "post_bram_18k", "post_uram"):
        assert key in row and row[key] is None
    assert SynthResult.from_dict(row).post_synthesis is None


def test_failed_result():
    res = SynthResult.failed("vitis_hls", "csynth_design failed", part="xcu250-figd2104-2L-e",
                             wall_seconds=3.0)
    assert res.status == "failed" and res.lut is None and res.latency_max is None
    row = res.to_dict()
    assert json.loads(json.dumps(row))["error"] == "csynth_design failed"
    assert SynthResult.from_dict(row) == res
    timeout = SynthResult.failed("yosys", "timed out after 60 s", status="timeout")
    assert timeout.to_dict()["status"] == "timeout"
    with pytest.raises(ValueError):
        SynthResult.failed("yosys", "x", status="ok")
    with pytest.raises(ValueError):
        SynthResult(status="done", tool="yosys")  # type: ignore[arg-type]


def test_from_dict_accepts_pandas_style_row():
    # Rows read back from parquet: NaN for missing ints, floats for int columns, extra columns.
    row = parse_report(FIXTURE).to_dict()
    row.update(lut=2532.0, latency_min=float("nan"), post_uram=float("nan"), model="jet_mlp", reuse=4)
    res = SynthResult.from_dict(row)
    assert res.lut == 2532 and isinstance(res.lut, int)
    assert res.latency_min is None
    assert res.post_synthesis == {"lut": 1526, "ff": 2428, "dsp": 66, "bram_18k": 0, "uram": None}


def test_to_dict_numpy_and_nonfinite_values_are_json_safe():
    np = pytest.importorskip("numpy")
    res = SynthResult(status="ok", tool="yosys", lut=int(np.int64(5)), wall_seconds=math.inf,
                      extra={"cells_LUT6": np.int64(7), "ratio": np.float32(0.5)})
    row = res.to_dict()
    assert row["wall_seconds"] is None and row["extra_cells_LUT6"] == 7 and row["extra_ratio"] == 0.5
    json.dumps(row, allow_nan=False)
