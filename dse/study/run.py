"""``dse run study.yml``: search (resumable, several processes or machines), synthesize candidates, report.

    >>> from dse.study import load_study_spec, run_study
    >>> summary = run_study(load_study_spec("studies/digits_mlp.yml"))          # doctest: +SKIP
    >>> summary["complete"], summary["report"]["html"]                          # doctest: +SKIP

``search.trials`` is the study's total budget of COMPLETE trials: a rerun runs only the missing ones (a
finished study reruns nothing but the candidates not yet synthesized and the report). With ``workers > 1``
each worker is a separate process (spawned, one TF thread) running trials on the shared storage; before
starting a trial a worker checks, under a lock, that COMPLETE + RUNNING trials are below the budget.

Several machines: point ``storage`` at a database every machine reaches (``postgresql://user:pw@host/db``)
and run ``dse run study.yml --search-only`` on the extra machines (same file, same storage; their trials
count against the same budget), and ``dse run study.yml`` on the one that synthesizes and reports. Put
``output`` on a shared folder so the candidates' trained weights are found; otherwise they are retrained
from the trial's parameters and seed.

Ctrl-C stops after marking the running trials FAIL (Optuna does that); SIGKILL leaves them RUNNING until
the next start fails them (:func:`dse.study.storage.recover_stale_trials`). FAIL trials never count.
"""
from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
import zlib
from pathlib import Path

__all__ = ["run_study", "search", "StudyError"]

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 3
WAIT_SECONDS = 2.0  # polling period while the last trials of the budget run in other processes


class StudyError(RuntimeError):
    """The search cannot go on (e.g. every trial fails); the message says why."""


_STOP = threading.Event()  # set by SIGINT/SIGTERM: no new trial starts in this process


def _on_signal(signum, frame):
    _STOP.set()
    raise KeyboardInterrupt  # the running trial is marked FAIL (even if TF turns this into another error)


@contextlib.contextmanager
def _interruptible():
    """SIGINT (and SIGTERM) stop this process's search even when TensorFlow swallows the KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _STOP.clear()
    old = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
    if _STOP.is_set():
        raise KeyboardInterrupt


class _Lock:
    """The budget lock, held from "count" until the trial is RUNNING (released by the objective)."""

    def __init__(self, output):
        Path(output).mkdir(parents=True, exist_ok=True)
        self._path = Path(output) / ".budget.lock"
        self._fh = None

    def acquire(self):
        import fcntl

        self._fh = open(self._path, "a+")
        fcntl.flock(self._fh, fcntl.LOCK_EX)

    def release(self):
        import fcntl

        if self._fh is not None:
            fh, self._fh = self._fh, None
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()


def _seed_offset(study, worker: int) -> int:
    """Different sampler seeds per worker, per host and per resume (a rerun must not redraw old points)."""
    n = len(study.get_trials(deepcopy=False))
    return worker + 1009 * n + zlib.crc32(socket.gethostname().encode()) % 10007


def search(spec, worker: int = 0, on_trial=None, objective=None, storage=None) -> int:
    """Run trials in this process until the study has ``search.trials`` COMPLETE trials (when the rest of
    the budget is RUNNING elsewhere, wait for it: if those trials die, their part of the budget is run here).
    Returns the number of trials this process completed. Raises :class:`StudyError` after
    :data:`MAX_CONSECUTIVE_FAILURES` failed trials in a row."""
    from optuna.trial import TrialState

    from .objective import StudyObjective
    from .storage import (GRACE_PERIOD, make_sampler, open_storage, open_study, recover_stale_trials, trials_done,
                          trials_running)

    storage = storage if storage is not None else open_storage(spec.storage)
    study = open_study(spec, storage)
    study.sampler = make_sampler(spec, _seed_offset(study, worker))
    objective = objective or StudyObjective(spec)
    done_here, failures, last_error, waited = 0, 0, None, False
    lock = _Lock(spec.output)
    while not _STOP.is_set():
        lock.acquire()
        try:
            done, running = trials_done(study), trials_running(study)
        except BaseException:
            lock.release()
            raise
        if done >= spec.search.trials:
            break
        if done + running >= spec.search.trials:
            # the rest of the budget is running elsewhere: wait; dead trials are failed (pid or heartbeat)
            if not waited:
                log.info("waiting for %d trial(s) running in other processes (dead ones are failed after %d s "
                         "without a heartbeat, then run here)", running, GRACE_PERIOD)
                waited = True
            lock.release()
            time.sleep(WAIT_SECONDS)
            recover_stale_trials(study)
            continue
        holder: dict = {}

        def wrapped(trial):
            holder["number"], holder["id"] = trial.number, trial._trial_id
            lock.release()
            try:
                return objective(trial)
            except Exception as e:
                holder["error"] = f"{type(e).__name__}: {e}"
                raise

        try:
            study.optimize(wrapped, n_trials=1, catch=(Exception,), gc_after_trial=False)
        finally:
            lock.release()
        if "id" not in holder:
            continue
        state = study._storage.get_trial(holder["id"]).state
        if state == TrialState.COMPLETE:
            done_here, failures = done_here + 1, 0
        else:
            failures += 1
            last_error = holder.get("error", state.name)
            if failures >= MAX_CONSECUTIVE_FAILURES:
                raise StudyError(f"{failures} trials in a row failed; the last one: {last_error}")
        if on_trial is not None:
            on_trial(study)
    lock.release()
    return done_here


def _worker_main(text: str, source: str, worker: int, level: int) -> None:
    """Entry point of a spawned worker process."""
    logging.basicConfig(level=level, format=f"%(asctime)s %(levelname)s w{worker} %(name)s: %(message)s")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from .spec import parse_study_text
    from .train import set_tf_threads

    set_tf_threads(1)
    spec = parse_study_text(text, source, check_surrogate=False)
    try:
        with _interruptible():
            search(spec, worker=worker)
    except StudyError as e:
        logging.getLogger(__name__).error("%s", e)
        raise SystemExit(3)
    except KeyboardInterrupt:
        raise SystemExit(130)


def _absolute_storage(url: str) -> str:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(url[len("sqlite:///"):]).resolve())
    if url.startswith("journal:"):
        return "journal:" + str(Path(url.split(":", 1)[1]).resolve())
    return url


def _stop(procs, wait: float = 20.0) -> None:
    """SIGINT each live worker (Optuna then marks its running trial FAIL), wait, then SIGKILL stragglers
    (their trials are failed at the next start: dead pid)."""
    for p in procs:
        if p.is_alive() and p.pid:
            try:
                os.kill(p.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    deadline = time.time() + wait
    for p in procs:
        p.join(timeout=max(0.1, deadline - time.time()))
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(timeout=5)


def _run_workers(spec, n: int, progress: bool) -> None:
    from tqdm import tqdm

    from .storage import open_storage, open_study, trials_done

    ctx = mp.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    procs = [ctx.Process(target=_worker_main, args=(spec.text, spec.source, w, level), name=f"dse-worker-{w}")
             for w in range(n)]
    for p in procs:
        p.start()
    study = open_study(spec, open_storage(spec.storage))
    bar = tqdm(total=spec.search.trials, initial=trials_done(study), desc=f"study {spec.name}", unit="trial",
               disable=not progress)
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
            n_done = trials_done(study)
            if n_done != bar.n:
                bar.n = n_done
                bar.refresh()
    except KeyboardInterrupt:
        log.warning("interrupted: stopping the workers (their running trials are marked FAIL)")
        _stop(procs)
        raise
    except BaseException:
        _stop(procs)
        raise
    finally:
        bar.close()
    codes = [p.exitcode for p in procs]
    if any(c not in (0, None) for c in codes):
        raise StudyError(f"search worker(s) failed (exit codes {codes}); see their log above")


def run_study(spec, workers: int | None = None, search_only: bool = False, synthesize: bool = True,
              progress: bool = True) -> dict:
    """Run or resume the study; synthesize the candidates; write the report. Returns a summary dict."""
    from .candidates import feasible_front, select_candidates, synthesize_candidates
    from .report import write_report
    from .space import space_size
    from .storage import open_storage, open_study, recover_stale_trials, trials_done

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # tqdm and one line per trial say enough
    out = Path(spec.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.yml").write_text(spec.text)
    (out / "study.json").write_text(json.dumps({"name": spec.name, "storage": _absolute_storage(spec.storage),
                                                "source": str(spec.source)}, indent=1))
    storage = open_storage(spec.storage)
    study = open_study(spec, storage)
    stale = recover_stale_trials(study)
    before = trials_done(study)
    n = int(workers or spec.search.workers or 1)
    if spec.storage == "memory" and n > 1:
        log.warning("storage 'memory' cannot be shared between processes: using one worker")
        n = 1
    log.info("study %s: %d/%d trials done%s; space of %.3g designs; %d worker(s); storage %s", spec.name, before,
             spec.search.trials, f", {len(stale)} stale trial(s) failed" if stale else "", space_size(spec), n,
             spec.storage)
    if before < spec.search.trials:
        if n == 1:
            from tqdm import tqdm

            from .train import set_tf_threads

            set_tf_threads(1)
            bar = tqdm(total=spec.search.trials, initial=before, desc=f"study {spec.name}", unit="trial",
                       disable=not progress)
            try:
                with _interruptible():
                    search(spec, 0, on_trial=lambda s: (setattr(bar, "n", trials_done(s)), bar.refresh()),
                           storage=storage)  # the same object ('memory' storage lives in it)
            finally:
                bar.close()
        else:
            _run_workers(spec, n, progress)
    study = open_study(spec, storage)
    summary = {"study": spec.name, "storage": spec.storage, "complete": trials_done(study),
               "new_trials": trials_done(study) - before, "output": str(out)}
    if search_only:
        return summary
    front = feasible_front(study)
    picks = select_candidates(front, spec, int(spec.synthesis["pareto_candidates"]))
    summary["front"] = [t.number for t in front]
    summary["candidates"] = [t.number for t in picks]
    if synthesize and picks:
        records = synthesize_candidates(spec, study, picks, progress=progress)
        summary["synthesis"] = {k: v.get("status") for k, v in records.items()}
        study = open_study(spec, storage)
    if synthesize and spec.synthesis.get("refit"):
        from .refit import refit_surrogate

        summary["refit"] = {k: v for k, v in refit_surrogate(spec).items() if k in ("path", "n_base", "n_added")}
    summary["report"] = write_report(study, spec, candidates=picks)
    return summary
