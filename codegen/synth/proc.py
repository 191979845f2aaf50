"""Run one external tool (yosys, verilator, vitis_hls, ...) in its own process group, with a timeout.

On timeout the whole group (the tool and every child it started, e.g. ``yosys-abc`` or ``make``/``g++``) is
sent SIGTERM, then SIGKILL, and reaped: no stray process survives, and nothing raises. The peak resident
memory of the tool (and of the children it waited for) comes from ``wait4``'s rusage, taken by a tiny Python
wrapper that forks the tool: a child forked straight from this (large) Python process would inherit its peak
RSS through fork + exec, so ``ru_maxrss`` would report ours, not the tool's.

    >>> from codegen.synth.proc import run_command
    >>> r = run_command(["sh", "-c", "echo hi"], log_path="/tmp/_proc_doctest.log", timeout=10)
    >>> r.returncode, r.timed_out, open(r.log_path).read()
    (0, False, 'hi\\n')
    >>> run_command(["sleep", "5"], log_path="/tmp/_proc_doctest.log", timeout=0.2).timed_out
    True

If the calling process dies (SIGKILL included), the tool's group is killed too (``PR_SET_PDEATHSIG`` on the
wrapper): a killed sweep or study leaves no synthesis running. Every child gets ``FPGA_DSE_JOB=<job>`` in its environment (``job`` defaults to the working folder), so a
test can find leftovers by scanning ``/proc/*/environ``.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["CommandResult", "run_command", "JOB_ENV", "processes_of_job", "kill_jobs_under"]

log = logging.getLogger(__name__)

JOB_ENV = "FPGA_DSE_JOB"
_POLL = 0.05
_GRACE = 3.0
# argv: rss_file parent_pid cmd...; forks cmd, waits, writes the child's peak RSS (KiB) and CPU seconds, exits
# with its status. When the process that started it dies (a worker killed with its sweep), the kernel sends it
# SIGTERM (PR_SET_PDEATHSIG) and it takes its whole process group (the tool and the tool's children) down; the
# tool itself gets SIGKILL when the wrapper dies (a wrapper killed by SIGKILL cannot run its handler: loky lists a
# worker's descendants and SIGKILLs each, and a tool forked after the list was taken would live on).
_WRAPPER = (
    "import os, signal, sys\n"
    "signal.signal(signal.SIGTERM, lambda *a: os.killpg(0, signal.SIGKILL))\n"
    "prctl = None\n"
    "try:\n"
    "    import ctypes\n"
    "    prctl = ctypes.CDLL(None, use_errno=True).prctl\n"
    "    prctl(1, signal.SIGTERM)\n"  # 1 = PR_SET_PDEATHSIG (Linux)
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[2]):\n"  # the parent died before prctl took effect
    "    os.killpg(0, signal.SIGKILL)\n"
    "del sys.argv[2]\n"
    "me = os.getpid()\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    if prctl is not None:\n"  # the tool dies with this wrapper, even one SIGKILLed (loky kills trees so)
    "        prctl(1, signal.SIGKILL)\n"
    "    if os.getppid() != me:\n"
    "        os._exit(137)\n"
    "    try:\n"
    "        os.execvp(sys.argv[2], sys.argv[2:])\n"
    "    except OSError as e:\n"
    "        sys.stderr.write(f'cannot run {sys.argv[2]}: {e}\\n'); os._exit(127)\n"
    "_, st, ru = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(f'{ru.ru_maxrss} {ru.ru_utime + ru.ru_stime}')\n"
    "sys.exit(os.waitstatus_to_exitcode(st))\n"
)


@dataclass
class CommandResult:
    """How a command ended. ``returncode`` is None after a timeout."""

    cmd: list[str]
    returncode: Optional[int]
    timed_out: bool
    wall_seconds: float
    max_rss_kb: int
    log_path: str
    cpu_seconds: float = 0.0  # user + system of the tool and the children it waited for

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def tail(self, n: int = 3000) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-n:]
        except OSError:
            return ""


def _kill_group(pgid: int) -> None:
    for sig, wait in ((signal.SIGTERM, _GRACE), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(_POLL)


def run_command(cmd: Sequence[str], log_path, timeout: float, cwd=None, env: dict | None = None,
                job: str | None = None) -> CommandResult:
    """Run ``cmd`` with stdout+stderr into ``log_path``; kill its process group after ``timeout`` seconds."""
    cmd = [str(c) for c in cmd]
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env[JOB_ENV] = str(job if job is not None else Path(cwd or ".").resolve())
    rss_file = log_path.with_name(log_path.name + ".rss")
    rss_file.unlink(missing_ok=True)
    t0 = time.monotonic()
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen([sys.executable, "-S", "-c", _WRAPPER, str(rss_file.resolve()), str(os.getpid())] + cmd,
                                cwd=cwd, env=full_env, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    pgid = proc.pid  # start_new_session: the child leads its own group
    log.debug("started %s (pid %d) in %s", " ".join(cmd[:3]), proc.pid, cwd)
    status, timed_out = None, False
    try:
        deadline = t0 + max(float(timeout), 0.0)
        while True:
            pid, st, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                status = st
                break
            if time.monotonic() >= deadline:
                timed_out = True
                break
            time.sleep(_POLL)
    finally:
        if status is None:  # timeout, or we were interrupted: the whole group goes
            _kill_group(pgid)
            try:
                _, status, _ = os.wait4(proc.pid, 0)
            except ChildProcessError:
                pass
        else:
            _kill_group(pgid)  # children the tool left behind (normally none)
        proc.returncode = os.waitstatus_to_exitcode(status) if status is not None else -9
    wall = time.monotonic() - t0
    rc = None if timed_out else proc.returncode
    try:
        rss_text, cpu_text = rss_file.read_text().split()
        rss, cpu = int(rss_text), float(cpu_text)
        rss_file.unlink()
    except (OSError, ValueError):
        rss, cpu = 0, 0.0
    if timed_out:
        with open(log_path, "ab") as logf:
            logf.write(f"\n*** killed after {timeout:.1f} s (timeout) ***\n".encode())
    return CommandResult(cmd, rc, timed_out, wall, int(rss), str(log_path), cpu)


def processes_of_job(job: str, prefix: bool = False) -> list[int]:
    """Pids of live processes whose environment carries ``FPGA_DSE_JOB=<job>`` (read from /proc); with
    ``prefix``, every job whose value starts with ``job`` (e.g. all syntheses under a sweep's work folder)."""
    needle = f"{JOB_ENV}={job}".encode() + (b"" if prefix else b"\0")
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            data = (d / "environ").read_bytes()
        except OSError:
            continue
        if b"\0" + needle in b"\0" + data:
            try:
                state = (d / "stat").read_text().split(")")[-1].split()[0]
            except OSError:
                continue
            if state != "Z":
                found.append(int(d.name))
    return found


def kill_jobs_under(folder) -> list[int]:
    """SIGKILL every live tool process whose job lies under ``folder`` (what an interrupted sweep leaves)."""
    pids = [p for p in processes_of_job(str(Path(folder).resolve()) + os.sep, prefix=True) if p != os.getpid()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids
