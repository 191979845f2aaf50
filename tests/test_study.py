"""`dse run study.yml`: validation with key paths and lines, an end-to-end tiny study, resume, two workers on
one sqlite study, SIGKILL safety, the report, and the real synthesis of a candidate."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dse.study.spec import load_study_spec, parse_study_text
from dse.yamlfile import SpecError

ROOT = Path(__file__).resolve().parents[1]
SURROGATE = "yosys-xc7"

# --------------------------------------------------------------------------------------------- surrogate
@pytest.fixture
def surrogate():
    """The shipped yosys-xc7 surrogate (data/surrogates/yosys-xc7): the studies predict with it."""
    import estimators

    assert SURROGATE in estimators.available_targets(), "data/surrogates/yosys-xc7 must ship with the project"
    return "real"


# --------------------------------------------------------------------------------------------- files
TINY = """\
name: tiny
data: {{source: "sklearn:digits", test_fraction: 0.3, max_samples: 600}}
model: {{input_shape: [64], hidden: [6], outputs: 10, input_bits: 8}}
training: {{epochs: 1, batch_size: 64}}
search:
  trials: {trials}
  sampler: {sampler}
  seed: 0
  space:
    weight_bits: {{low: 3, high: 8}}
    activation_bits: {{low: 3, high: 8}}
    sparsity: {{low: 0.0, high: 0.5, step: 0.1}}
    reuse_factor: [1, 2, 4, 8]
    strategy: [latency, resource]
  objectives: [accuracy:max, lut:min, latency:min]
  constraints: {{lut: 60000, dsp: 220}}
hardware: {{part: xc7z020clg400-1, clock_period: 10, backend: yosys, surrogate: yosys-xc7}}
synthesis: {{pareto_candidates: {cands}, timeout: 600, workers: 1}}
storage: sqlite:///{out}/study.db
output: {out}
"""


def _study_file(tmp_path, trials=3, sampler="random", cands=0, text=None, name="study.yml") -> Path:
    out = tmp_path / "out"
    p = tmp_path / name
    p.write_text(text if text is not None else TINY.format(trials=trials, sampler=sampler, cands=cands, out=out))
    return p


def _complete(out: Path) -> list:
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out}/study.db")
    return [t for t in study.get_trials() if t.state == TrialState.COMPLETE]


# --------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("old, new, key, line", [
    ("name: tiny\n", "name: tiny\ncolour: blue\n", "colour", 2),
    ("  seed: 0\n", "  seed: 0\n  budget: 3\n", "search.budget", 9),
    ("sampler: random", "sampler: cmaes", "search.sampler", 7),
    ("backend: yosys", "backend: quartus", "hardware.backend", None),
    ("surrogate: yosys-xc7", "surrogate: nope", "hardware.surrogate", None),
    ("weight_bits: {low: 3, high: 8}", "weight_bits: {low: 9, high: 3}", "search.space.weight_bits.low", 10),
    ("sparsity: {low: 0.0, high: 0.5, step: 0.1}", "sparsity: {low: 0.0, high: 1.5}", "search.space.sparsity.high",
     12),
    ("training: {epochs: 1, batch_size: 64}", "training: {epochs: one, batch_size: 64}", "training.epochs", 4),
    ("[accuracy:max, lut:min, latency:min]", "[accuracy:max, luts:min]", "search.objectives[1]", 15),
    ("reuse_factor: [1, 2, 4, 8]", "reuse_factor: [1, 0]", "search.space.reuse_factor[1]", 13),
    ('source: "sklearn:digits"', "source: missing.npz", "data.source", 2),
    ('source: "sklearn:digits"', 'source: "sklearn:mnist"', "data.source", 2),
    ("hidden: [6]", "hidden: [6, -1]", "model.hidden[1]", 3),
    ("constraints: {lut: 60000, dsp: 220}", "constraints: {lut: 60000, luts: 2}", "search.constraints.luts", 16),
    ("storage: sqlite:///", "storage: ftp://", "storage", None),
])
def test_invalid_study_files_name_key_and_line(tmp_path, surrogate, old, new, key, line):
    text = TINY.format(trials=3, sampler="random", cands=0, out=tmp_path / "out")
    assert old in text
    p = _study_file(tmp_path, text=text.replace(old, new, 1))
    with pytest.raises(SpecError) as e:
        load_study_spec(p)
    msg = str(e.value)
    assert key in msg and "line" in msg, msg
    if line:
        assert f"line {line})" in msg, msg
    assert not (tmp_path / "out").exists()


def test_unreadable_and_mismatched_data(tmp_path, surrogate):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    base = TINY.format(trials=3, sampler="random", cands=0, out=tmp_path / "out")
    with pytest.raises(SpecError, match=r"data\.source \(line 2\).*cannot read"):
        load_study_spec(_study_file(tmp_path, text=base.replace('"sklearn:digits"', str(bad))))
    good = tmp_path / "d.npz"
    np.savez(good, X=np.random.default_rng(0).normal(size=(50, 10)), y=np.arange(50) % 3)
    with pytest.raises(SpecError, match=r"model\.input_shape \(line 3\).*10 features"):
        load_study_spec(_study_file(tmp_path, text=base.replace('"sklearn:digits"', str(good))))
    csv = tmp_path / "d.csv"
    pd.DataFrame({"a": [1.0, 2.0], "cls": [0, 1]}).to_csv(csv, index=False)
    with pytest.raises(SpecError, match=r"data\.label \(line 2\).*no column 'target'"):
        load_study_spec(_study_file(tmp_path, text=base.replace('"sklearn:digits"', str(csv))))


def test_shipped_studies_validate(surrogate):
    for name in ("digits_mlp.yml", "digits_cnn.yml"):
        spec = load_study_spec(ROOT / "studies" / name)
        assert spec.search.trials > 0 and spec.model["plan"]
    # the jet tagger's data file is user-supplied: the error says where it was looked for
    with pytest.raises(SpecError, match=r"data\.source \(line \d+\).*jets\.npz"):
        load_study_spec(ROOT / "studies" / "jet_tagger.yml")


def test_generated_cnn_and_keras_file_plans(tmp_path, tf, surrogate):
    text = TINY.format(trials=3, sampler="random", cands=0, out=tmp_path / "out").replace(
        "model: {input_shape: [64], hidden: [6], outputs: 10, input_bits: 8}",
        "model: {input_shape: [8, 8, 1], conv: [{filters: 2, kernel: 3}], pool: 2, hidden: [8], outputs: 10}")
    spec = parse_study_text(text)
    assert [op["op"] for op in spec.model["plan"]] == ["conv", "relu", "maxpool", "flatten", "dense", "relu",
                                                       "dense"]
    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input((64,)), L.Dense(12, activation="relu", name="a"), L.Dropout(0.1),
                             L.Dense(10, activation="softmax", name="b")])
    m.save(tmp_path / "m.h5")
    text2 = TINY.format(trials=3, sampler="random", cands=0, out=tmp_path / "out").replace(
        "model: {input_shape: [64], hidden: [6], outputs: 10, input_bits: 8}", f"model: {{keras: {tmp_path}/m.h5}}")
    spec2 = parse_study_text(text2)
    assert [(op["op"], op.get("name")) for op in spec2.model["plan"]] == [("dense", "a"), ("relu", "a_relu"),
                                                                         ("dense", "b")]


# --------------------------------------------------------------------------------------------- end to end
def test_tiny_study_runs_reports_and_resumes(tmp_path, surrogate):
    from dse.study.run import run_study

    out = tmp_path / "out"
    spec = load_study_spec(_study_file(tmp_path, trials=3))
    summary = run_study(spec, synthesize=False, progress=False)
    assert summary["complete"] == 3 and summary["new_trials"] == 3
    first = {t.number: t.params for t in _complete(out)}
    for f in ("report.html", "trials.csv", "pareto.csv", "report.json"):
        assert (out / f).is_file(), f
    trials = pd.read_csv(out / "trials.csv")
    assert sorted(trials["number"]) == [0, 1, 2] and set(trials["state"]) == {"COMPLETE"}
    assert (trials["accuracy"] == trials["accuracy_keras"]).all()  # the emulator is bit-exact with QKeras
    assert trials["predicted_lut"].notna().all()
    html = (out / "report.html").read_text()
    assert "<svg" in html and "Predicted vs synthesized" in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    rep = json.loads((out / "report.json").read_text())
    assert rep["complete"] == 3 and len(rep["hypervolume_history"]) == 3
    for n in first:
        assert (out / "trials" / str(n) / "weights.npz").is_file()
        assert json.loads((out / "trials" / str(n) / "trial.json").read_text())["config"]["LayerName"]

    # rerun with the same budget: nothing new; with a larger budget: only the missing trials
    assert run_study(load_study_spec(_study_file(tmp_path, trials=3)), synthesize=False,
                     progress=False)["new_trials"] == 0
    summary = run_study(load_study_spec(_study_file(tmp_path, trials=4)), synthesize=False, progress=False)
    assert summary["complete"] == 4 and summary["new_trials"] == 1
    after = {t.number: t.params for t in _complete(out)}
    assert {n: after[n] for n in first} == first  # trials already done are kept as they were
    assert len(after) == 4

    # the same study name and storage with other objectives is refused, before any trial
    changed = _study_file(tmp_path, text=(tmp_path / "study.yml").read_text().replace(
        "[accuracy:max, lut:min, latency:min]", "[accuracy:max, dsp:min]"), name="changed.yml")
    with pytest.raises(SpecError, match=r"search\.objectives \(line 15\)"):
        run_study(load_study_spec(changed), synthesize=False, progress=False)
    assert len(_complete(out)) == 4

    # `dse report` rebuilds the files from the output folder or from the storage URL
    from dse.cli_study import report_from

    (out / "report.html").unlink()
    report_from(str(out))
    assert (out / "report.html").is_file()
    other = tmp_path / "rep"
    paths = report_from(f"sqlite:///{out}/study.db", output=str(other))
    assert Path(paths["html"]).is_file() and len(pd.read_csv(other / "trials.csv")) == 4


def test_two_workers_share_one_sqlite_study(tmp_path, surrogate):
    from dse.study.run import run_study

    out = tmp_path / "out"
    # 6 trials: enough that the second process (spawned, imports TensorFlow) starts before the first one has
    # done them all, even on a loaded machine
    spec = load_study_spec(_study_file(tmp_path, trials=6, sampler="nsga2"))
    summary = run_study(spec, workers=2, synthesize=False, progress=False)
    trials = _complete(out)
    assert summary["complete"] == 6 and len(trials) == 6
    assert len({t.number for t in trials}) == 6
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == 6  # unique designs
    assert len({t.user_attrs["worker"] for t in trials}) == 2                 # both processes ran trials


@pytest.mark.slow
def test_sigkill_leaves_a_consistent_study_that_resumes(tmp_path, surrogate):
    out = tmp_path / "out"
    p = _study_file(tmp_path, trials=3)
    cmd = [sys.executable, "-c", "import sys; from dse.cli import main; sys.exit(main())", "run", str(p),
           "--no-progress", "--no-synthesis"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    import optuna
    from optuna.trial import TrialState

    deadline = time.time() + 120
    running = []
    while time.time() < deadline and not running:
        time.sleep(0.3)
        if (out / "study.db").exists():
            try:
                s = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out}/study.db")
                # killed while training (after the trial recorded its process)
                running = [t for t in s.get_trials() if t.state == TrialState.RUNNING and "worker" in t.user_attrs]
            except Exception:  # noqa: BLE001 - the study may not exist yet
                pass
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert running, "the run never started a trial"
    s = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out}/study.db")
    assert any(t.state == TrialState.RUNNING for t in s.get_trials())
    done_before = len([t for t in s.get_trials() if t.state == TrialState.COMPLETE])

    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    s = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out}/study.db")
    states = [t.state for t in s.get_trials()]
    assert TrialState.RUNNING not in states
    assert states.count(TrialState.COMPLETE) == 3 and TrialState.FAIL in states
    assert done_before < 3


def test_candidate_selection_spreads_along_the_front(surrogate):
    import optuna

    from dse.study.candidates import feasible_front, select_candidates

    spec = parse_study_text(TINY.format(trials=3, sampler="random", cands=3, out="/nonexistent"), check_data=False)
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    for i in range(10):  # a front: accuracy grows with LUTs
        t = study.ask()
        t.set_constraint("lut", -1.0 if i != 9 else 1.0)
        study.tell(t, [0.5 + 0.05 * i, 100.0 * (i + 1), 10.0])
    front = feasible_front(study)
    assert [t.number for t in front] == list(range(9))  # trial 9 is over budget
    picks = select_candidates(front, spec, 3)
    assert [t.number for t in picks] == [0, 4, 8]


def test_hypervolume_matches_optuna():
    from optuna._hypervolume import compute_hypervolume

    from dse.study.hypervolume import hypervolume, hypervolume_history

    rng = np.random.default_rng(0)
    for d in (2, 3, 4):
        P = rng.random((40, d))
        assert hypervolume(P, np.full(d, 1.1)) == pytest.approx(compute_hypervolume(P, np.full(d, 1.1)))
    h = hypervolume_history(rng.random((20, 3)), ["maximize", "minimize", "minimize"])
    assert len(h) == 20 and all(b >= a for a, b in zip(h, h[1:]))


# --------------------------------------------------------------------------------------------- synthesis
IRIS = """\
name: tiny
data: {{source: "sklearn:iris", test_fraction: 0.3}}
model: {{input_shape: [4], hidden: [3], outputs: 3, input_bits: 6}}
training: {{epochs: 2, batch_size: 32}}
search:
  trials: 2
  sampler: random
  space:
    weight_bits: {{low: 3, high: 4}}
    activation_bits: {{low: 3, high: 4}}
    reuse_factor: [1, 2]
  objectives: [accuracy:max, lut:min]
hardware: {{part: xc7z020clg400-1, clock_period: 10, backend: yosys, surrogate: yosys-xc7}}
synthesis: {{pareto_candidates: 1, timeout: 600, workers: 1, refit: true}}
storage: sqlite:///{out}/study.db
output: {out}
"""


def test_candidate_is_synthesized_with_yosys_once(tmp_path, surrogate):
    from dse.study.run import run_study

    out = tmp_path / "out"
    p = _study_file(tmp_path, text=IRIS.format(out=out))
    summary = run_study(load_study_spec(p, check_backend=True), progress=False)
    assert len(summary["candidates"]) == 1
    n = str(summary["candidates"][0])
    rec = json.loads((out / "synthesis.json").read_text())[n]
    assert rec["status"] == "ok", rec.get("error")
    assert rec["measured"]["lut"] is not None and Path(rec["hls_project"]).is_dir()
    import optuna

    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out}/study.db")
    assert study.user_attrs[f"synthesis:{n}"]["status"] == "ok"  # measured beside predicted, in the storage
    assert study.user_attrs[f"synthesis:{n}"]["measured"] == rec["measured"]
    assert [t for t in study.trials if str(t.number) == n][0].user_attrs["predicted"]["lut"] > 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["candidates"][0]["measured"]["lut"] == rec["measured"]["lut"]
    rows = pd.read_parquet(out / "surrogate_rows.parquet")
    assert len(rows) == 1 and rows["lut"][0] == rec["measured"]["lut"] and rows["design_hash"][0]
    # refit: the shipped surrogate retrained on its dataset + the measured candidate, saved in the output
    import estimators

    n_base = summary["refit"]["n_base"]
    assert summary["refit"] == {"path": str(out / "surrogate"), "n_base": n_base, "n_added": 1} and n_base > 500
    meta = json.loads((out / "surrogate" / "metadata.json").read_text())
    assert meta["training_set"]["n_designs"] == n_base + 1
    assert meta["extra"]["refit"]["base_dataset"] == str(ROOT / "data" / "datasets" / "yosys-xc7.parquet")
    refit = json.loads((out / "refit.json").read_text())
    assert refit["before"]["lut"]["measured"] == [rec["measured"]["lut"]]
    sur = estimators.load_target(out / "surrogate")
    assert sur.training_["n_designs"] == n_base + 1
    stamp = (out / "refit.json").stat().st_mtime_ns
    # a rerun synthesizes nothing again
    t = time.time()
    again = run_study(load_study_spec(p), progress=False)
    assert again["new_trials"] == 0 and again["synthesis"] == {n: "ok"}
    assert json.loads((out / "synthesis.json").read_text())[n]["wall_seconds"] == rec["wall_seconds"]
    assert time.time() - t < 60
    assert (out / "refit.json").stat().st_mtime_ns == stamp  # same rows: no second refit
    assert json.loads((out / "report.json").read_text())["refit"]["n_added"] == 1
    assert "Surrogate refitted" in (out / "report.html").read_text()
    # the refitted surrogate is usable by the next study, and a missing refit dataset is named before any work
    load_study_spec(_study_file(tmp_path, text=IRIS.format(out=out).replace("surrogate: yosys-xc7",
                                                                             f"surrogate: {out / 'surrogate'}"),
                                name="next.yml"))
    bad = IRIS.format(out=out).replace("refit: true", "refit: true, refit_dataset: nowhere.parquet")
    with pytest.raises(SpecError, match=r"synthesis\.refit_dataset.*line 14.*nowhere\.parquet.*not found"):
        load_study_spec(_study_file(tmp_path, text=bad, name="bad.yml"))
