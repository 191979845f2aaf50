"""Optuna storage for a study: URLs, heartbeats, stale trials, the sampler, and the trial budget.

    >>> check_storage_url("sqlite:///runs/x.db") is None
    True
    >>> check_storage_url("ftp://host/x")
    "unsupported storage URL 'ftp://host/x': use sqlite:///path.db, postgresql://..., mysql://..., journal:path.log or memory"

Storage URLs: ``sqlite:///relative/path.db`` (``sqlite:////abs/path.db``), any SQLAlchemy URL Optuna accepts
(``postgresql://user:pw@host/db``, ``mysql://...``), ``journal:path/to/file.log`` (Optuna's journal file, for
NFS-shared folders) or ``memory`` (no resume). Several processes, or several machines, join one study by
running ``dse run`` with the same study file and storage.

RDB storages get a heartbeat: a trial whose process died (SIGKILL, lost machine) is marked FAIL after
:data:`GRACE_PERIOD` seconds and its parameters are queued again once. Each trial also records
``worker = host:pid``; at start, trials still RUNNING for a dead process of this host are failed at once
(:func:`recover_stale_trials`), and queued again once (:func:`retry_trial`). FAIL trials never count as done: :func:`trials_done` counts COMPLETE ones.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState

__all__ = ["check_storage_url", "open_storage", "open_study", "make_sampler", "recover_stale_trials",
           "trials_done", "trials_running", "retry_trial", "HEARTBEAT", "GRACE_PERIOD", "worker_id"]

log = logging.getLogger(__name__)

# heartbeats and multivariate TPE are "experimental" in Optuna 5.0; we use them on purpose
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

HEARTBEAT = 10      # seconds between heartbeats of a running trial
GRACE_PERIOD = 40   # seconds without a heartbeat after which a RUNNING trial is stale
_RDB = ("sqlite:", "postgresql", "postgres:", "mysql", "mariadb", "oracle", "mssql")


def check_storage_url(url: str) -> str | None:
    """None when ``url`` is usable, else what is wrong with it."""
    if not isinstance(url, str) or not url:
        return f"must be a storage URL string, got {url!r}"
    if url == "memory" or url.startswith("journal:") or url.startswith(_RDB):
        if url.startswith("sqlite:") and not url.startswith("sqlite:///"):
            return f"sqlite URLs look like sqlite:///relative/path.db or sqlite:////absolute/path.db, got {url!r}"
        return None
    return (f"unsupported storage URL {url!r}: use sqlite:///path.db, postgresql://..., mysql://..., "
            "journal:path.log or memory")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def open_storage(url: str):
    """An Optuna storage object for ``url`` (folders of sqlite/journal files are created)."""
    if url == "memory":
        return optuna.storages.InMemoryStorage()
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = Path(url.split(":", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    engine_kwargs = {}
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 120}}
    return optuna.storages.RDBStorage(
        url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT, grace_period=GRACE_PERIOD,
        heartbeat_stale_trial_callback=retry_trial)


def retry_trial(study: optuna.Study, trial) -> None:
    """Queue a trial that died (FAIL by heartbeat or dead pid) again with the same parameters, once."""
    history = list(trial.system_attrs.get("retry_history", [])) + [trial.number]
    if len(history) > 1:
        return
    system_attrs = {k: v for k, v in trial.system_attrs.items() if not k.startswith("constraints")}
    system_attrs.update(failed_trial=trial.number, retry_history=history)
    study.add_trial(optuna.create_trial(state=TrialState.WAITING, params=trial.params,
                                        distributions=trial.distributions, system_attrs=system_attrs))


def make_sampler(spec, seed_offset: int = 0):
    """The sampler named by ``search.sampler``, seeded with ``search.seed + seed_offset`` (each worker process,
    host and resume gets its own offset, so that they do not draw the same points)."""
    s = spec.search
    seed = None if s.seed is None else int(s.seed) + seed_offset
    if s.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if s.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                          n_startup_trials=max(4, min(10, s.trials // 4)))
    return optuna.samplers.NSGAIISampler(population_size=population_size(spec), seed=seed)


def population_size(spec) -> int:
    """NSGA-II population: ``search.population``, else a quarter of the budget within 4..50 (so that a
    40-trial study still gets a few generations)."""
    return int(spec.search.population or max(4, min(50, spec.search.trials // 4)))


def open_study(spec, storage=None, create: bool = True) -> optuna.Study:
    """Create (or load, to resume or to join) the study named ``spec.name`` in ``spec.storage``."""
    from ..yamlfile import SpecError

    storage = storage if storage is not None else open_storage(spec.storage)
    sampler = make_sampler(spec)
    if create:
        study = optuna.create_study(study_name=spec.name, storage=storage, sampler=sampler,
                                    directions=spec.directions, load_if_exists=True)
    else:
        study = optuna.load_study(study_name=spec.name, storage=storage, sampler=sampler)
    want = [optuna.study.StudyDirection.MAXIMIZE if d == "maximize" else optuna.study.StudyDirection.MINIMIZE
            for d in spec.directions]
    attrs = study.user_attrs
    if list(study.directions) != want or attrs.get("dse_objectives", spec.objective_names) != spec.objective_names:
        msg = (f"study {spec.name!r} in {spec.storage} optimizes {attrs.get('dse_objectives')} "
               f"but the file asks for {spec.objective_names}; give the study a new name or another storage")
        raise spec.doc.error(["search", "objectives"], msg) if spec.doc is not None else SpecError(msg)
    if "dse_objectives" not in attrs:
        study.set_user_attr("dse_objectives", spec.objective_names)
        study.set_user_attr("dse_spec_text", spec.text)
        study.set_user_attr("dse_spec_source", spec.source)
        study.set_user_attr("dse_output", str(Path(spec.output).resolve()))
        study.set_user_attr("dse_search_hash", spec.search_hash())
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.set_metric_names(spec.objective_names)
    elif attrs.get("dse_search_hash") != spec.search_hash():
        log.warning("study %r: the study file's model/data/space changed since the study began; earlier trials "
                    "keep their old settings (use a new study name for a clean search)", spec.name)
    return study


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_stale_trials(study: optuna.Study) -> list[int]:
    """Fail RUNNING trials whose process is gone: dead pids of this host at once, others by heartbeat.
    Returns the numbers of the trials failed here. Their parameters are queued again once (RDB storages)."""
    import datetime as dt

    host = socket.gethostname()
    recent = dt.datetime.now() - dt.timedelta(seconds=5)  # between ask() and the objective's first line
    failed = []
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        w = str(t.user_attrs.get("worker", ""))
        h, _, pid = w.rpartition(":")
        if h == host and pid.isdigit() and not _alive(int(pid)) and (t.datetime_start or recent) < recent:
            if storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                failed.append(t.number)
                log.warning("trial %d was left RUNNING by a dead process (%s): marked FAIL", t.number, w)
                retry_trial(study, storage.get_trial(t._trial_id))
    with contextlib.suppress(Exception):
        if optuna.storages._heartbeat.is_heartbeat_enabled(storage):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(study)
    return failed


def trials_done(study: optuna.Study) -> int:
    """COMPLETE trials: what counts against ``search.trials``."""
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def trials_running(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


