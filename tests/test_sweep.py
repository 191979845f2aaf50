"""Sweeps: validation before any work, a real small sweep with yosys, resume, SIGKILL safety, Dask."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dse.dataset import Dataset
from dse.sweep import load_sweep, run_sweep
from dse.yamlfile import SpecError

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "studies" / "sweep_tiny.yml"


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "sweep.yml"
    p.write_text(text)
    return p


BASE = """name: t
output: {out}
backend: yosys
architectures:
  - layers: [{{type: Dense, n_in: 4, n_out: 2}}]
precision:
  weight_bits: [4]
"""


@pytest.mark.parametrize("extra, key, line", [
    ("colour: blue\n", "colour", 8),
    ("precision:\n  weight_bits: [4, -2]\n", "precision.weight_bits[1]", None),
    ("backend: quartus\n", "backend", None),
    ("precision:\n  weight_bits: [4]\n  style: keras\n", "precision.style", 8),
    ("precision:\n  weight_bits: [4]\n  input_bits: [8]\n", "precision.input_bits", 8),
])
def test_bad_sweep_file_fails_before_synthesis(tmp_path, extra, key, line):
    out = tmp_path / "ds.parquet"
    text = BASE.format(out=out)
    if extra.startswith("precision"):
        text = text.replace("precision:\n  weight_bits: [4]\n", extra)
    elif extra.startswith("backend"):
        text = text.replace("backend: yosys\n", extra)
    else:
        text += extra
    p = _write(tmp_path, text)
    with pytest.raises(SpecError) as e:
        run_sweep(load_sweep(p), workers=1, progress=False)
    msg = str(e.value)
    assert key in msg and "line" in msg, msg
    if line:
        assert f"line {line}" in msg
    assert not out.exists()


def test_cli_reports_spec_error_with_line(tmp_path):
    p = _write(tmp_path, BASE.format(out=tmp_path / "x.parquet").replace("backend: yosys", "backend: foo"))
    r = subprocess.run([sys.executable, "-m", "dse.cli", "sweep", str(p)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert "backend (line 3)" in r.stderr and "foo" in r.stderr


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "tiny.parquet"
    stats = run_sweep(load_sweep(TINY), workers=2, output=str(out), progress=False)
    return out, stats


def test_small_sweep_end_to_end(tiny_dataset):
    out, stats = tiny_dataset
    df = Dataset(out).read()
    assert stats["synthesized"] == len(df) == 8
    assert (df["status"] == "ok").all(), df[["name", "status", "error"]]
    assert df["design_hash"].is_unique
    assert (df["lut"] > 0).all() and (df["tool"] == "yosys").all()
    assert df["tool_version"].str.match(r"\d+\.\d+").all()  # e.g. 0.23
    facts = json.loads(df["layers"].iloc[0])
    assert facts[1]["kind"] == "Dense" and facts[1]["n_in"] in (4, 6)
    for col in ("config", "description", "timestamp", "host", "part", "clock_period", "latency_max", "ii"):
        assert col in df


def test_rerun_synthesizes_nothing(tiny_dataset):
    out, _ = tiny_dataset
    stats = run_sweep(load_sweep(TINY), workers=2, output=str(out), progress=False)
    assert stats["synthesized"] == 0 and stats["cached"] == 8


def test_sigkill_mid_sweep_then_resume(tmp_path):
    out = tmp_path / "killed.parquet"
    cmd = [sys.executable, "-m", "dse.cli", "sweep", str(TINY), "--workers", "1", "--output", str(out),
           "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not (out.exists() and len(Dataset(out).read()) >= 2):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = Dataset(out).read()
    assert 2 <= len(before) < 8 and before["design_hash"].is_unique
    chunk = run_sweep(load_sweep(TINY), workers=1, output=str(out), progress=False, limit=1)  # one resumable chunk
    assert chunk == {"points": 8, "cached": len(before), "synthesized": 1, "failed": 0, "left": 8 - len(before) - 1}
    stats = run_sweep(load_sweep(TINY), workers=2, output=str(out), progress=False)
    after = Dataset(out).read()
    assert len(after) == 8 and after["design_hash"].is_unique
    assert stats["synthesized"] == 8 - len(before) - 1 and stats["left"] == 0
    assert set(before["design_hash"]) <= set(after["design_hash"])


def test_sigterm_stops_workers_and_their_syntheses(tmp_path):
    """`kill <dse sweep>` ends it like Ctrl-C: exit 130, no worker and no yosys left running."""
    from codegen.synth.proc import JOB_ENV

    spec = tmp_path / "slow.yml"
    spec.write_text(TINY.read_text().replace("n_in: 4, n_out: 3", "n_in: 48, n_out: 48")
                    .replace("n_in: 6, n_out: 2", "n_in: 40, n_out: 40").replace("[3, 5]", "[12, 14]"))
    work = tmp_path / "work"
    proc = subprocess.Popen([sys.executable, "-m", "dse.cli", "sweep", str(spec), "--workers", "2", "--output",
                             str(tmp_path / "d.parquet"), "--workdir", str(work), "--no-progress"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def running() -> list[str]:
        found = []
        for env in Path("/proc").glob("[0-9]*/environ"):
            try:
                if f"{JOB_ENV}={work}".encode() in env.read_bytes():
                    found.append(env.parent.name)
            except OSError:
                pass
        return found

    deadline = time.time() + 120
    while not running() and time.time() < deadline:
        time.sleep(0.2)
    assert running(), "no synthesis started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    deadline = time.time() + 15
    while running() and time.time() < deadline:
        time.sleep(0.2)
    assert running() == []


def test_dask_local_cluster_gives_same_rows(tiny_dataset, tmp_path):
    out, _ = tiny_dataset
    dout = tmp_path / "dask.parquet"
    run_sweep(load_sweep(TINY), dask_address="local", output=str(dout), progress=False)
    a = Dataset(out).read().set_index("design_hash").sort_index()
    b = Dataset(dout).read().set_index("design_hash").sort_index()
    assert list(a.index) == list(b.index)
    cols = ["lut", "ff", "dsp", "bram_18k", "latency_max", "ii", "status"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_refresh_facts_adds_new_facts_and_keeps_what_it_cannot_rebuild(tmp_path):
    """`dse dataset refresh-facts`: rows made before a fact existed get it, computed on the rebuilt design."""
    import numpy as np

    import codegen
    from codegen.facts import csd_digit_count
    from codegen.rtl.arith import csd
    from dse.dataset import refresh_facts

    # the fact itself: NAF digit counts equal the RTL writer's CSD decomposition
    w = np.random.default_rng(3).integers(-2 ** 15, 2 ** 15, 2000)
    assert csd_digit_count(w) == sum(len(csd(int(v))) for v in w)
    desc = {"layers": [{"type": "Dense", "n_in": 12, "n_out": 7, "sparsity": 0.5}], "seed": 4}
    cfg = {"Model": {"Precision": "ap_fixed<8,3>", "ReuseFactor": 1}}
    hm = codegen.convert(desc, config=cfg, output_dir=tmp_path / "p", part="xc7z020clg400-1", clock_period=10)
    facts = codegen.layer_facts(hm.graph)
    assert facts[1]["csd_digits"] > 0
    old = [{k: v for k, v in f.items() if k != "csd_digits"} for f in facts]
    changed = json.loads(json.dumps(old))
    changed[1]["n_in"] = 13  # not what this description builds any more
    stale = json.loads(json.dumps(facts))
    stale[1]["rtl_reg_bits"] += 5  # counted differently by an older version: recomputed
    base = {"config": json.dumps(hm.resolved_config()), "part": "xc7z020clg400-1", "clock_period": 10.0}
    rows = [dict(base, design_hash="a", description=json.dumps(desc), layers=json.dumps(old)),
            dict(base, design_hash="b", description=json.dumps({"study": "s", "trial": 1}), layers=json.dumps(old)),
            dict(base, design_hash="c", description=json.dumps(desc), layers=json.dumps(changed)),
            dict(base, design_hash="d", description=json.dumps(desc), layers=json.dumps(facts)),
            dict(base, design_hash="e", description=json.dumps(desc), layers=json.dumps(stale))]
    ds = Dataset(tmp_path / "d.parquet")
    ds.append(rows)
    counts = {}
    ds.rewrite(lambda df: (lambda r: counts.update(r[1]) or r[0])(refresh_facts(df)))
    assert counts == {"updated": 2, "current": 1, "not_rebuildable": 1, "changed": 1}
    df = ds.read().set_index("design_hash")
    assert json.loads(df.loc["a", "layers"]) == facts and json.loads(df.loc["e", "layers"]) == facts
    assert json.loads(df.loc["b", "layers"]) == old and json.loads(df.loc["c", "layers"]) == changed


def test_qkeras_style_points_are_typed_like_studies_and_synthesize_bit_exact(tmp_path):
    """precision style qkeras: exact Dense results, ufixed ReLU outputs, a quantized input layer first;
    the Verilog of such a design matches the emulator (Verilator)."""
    import codegen
    from dse.sweep.points import design_points

    text = BASE.format(out=tmp_path / "d.parquet").replace(
        "  - layers: [{type: Dense, n_in: 4, n_out: 2}]", "  - layers: [{type: Dense, n_in: 5, n_out: 3, activation: relu}, "
        "{type: Dense, n_in: 3, n_out: 2}]").replace(
        "  weight_bits: [4]", "  weight_bits: [4]\n  activation_bits: [3]\n  style: qkeras\n  input_bits: [8]")
    spec = load_sweep(_write(tmp_path, text + "reuse_factors: [2]\nverify: true\n"))
    (point,) = design_points(spec)
    assert point["name"].endswith("_w4a3_i8_lrf2_s0")
    hm = codegen.convert(point["description"], config=point["config"], output_dir=tmp_path / "p")
    facts = {f["name"]: f for f in codegen.layer_facts(hm.graph)}
    assert list(facts)[:2] == ["input", "input_q"] and facts["input_q"]["result_bits"] == 8
    dense = facts["dense_0"]
    assert dense["result_bits"] == dense["accum_bits"] > 8  # auto: exact
    assert str(hm.graph["dense_0_relu"].result_type) == "ap_ufixed<3,1>"
    stats = run_sweep(spec, workers=1, progress=False, workdir=str(tmp_path / "w"))
    row = Dataset(tmp_path / "d.parquet").read().iloc[0]
    assert stats["synthesized"] == 1 and row["status"] == "ok", row["error"]
