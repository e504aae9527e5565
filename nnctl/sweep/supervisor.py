"""`--workers W`: W worker processes on this machine, each with its share of the cores.

Every worker is `python -m nnctl.sweep.worker`, started with OPENBLAS_NUM_THREADS, OMP_NUM_THREADS,
MKL_NUM_THREADS and NNCTL_THREADS set to cores // W (at least 1) before it loads NumPy. The supervisor
- starts a worker in a free slot while trials are queued (never more workers than queued trials);
- notices a worker killed by a signal (kill -9, the OOM killer): the trial it was running is marked failed
  (status killed) and queued again once, to continue its run folder, and another worker takes the slot;
- on SIGINT or SIGTERM, passes SIGTERM to its workers, which save the position of their trials, queue them
  again and exit; it waits for them, then the sweep ends with exit code 130 (143).
The same clean-up runs when a sweep starts: trials left running by processes of this machine that no
longer exist are marked killed and queued again at once, without waiting for their heartbeats to expire.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from nnctl.sweep.tickets import give_back, waiting
from nnctl.training.signals import StopSignals

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NNCTL_THREADS")
POLL_SECONDS = 0.25


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def worker_threads(workers: int) -> int:
    """BLAS threads of each of `workers` workers: the cores shared out, at least one each."""
    return max(1, usable_cores() // workers)


def worker_env(threads: int) -> dict[str, str]:
    """The environment of a worker: this one, with its thread counts, and nnctl importable."""
    env = dict(os.environ)
    env.update({variable: str(threads) for variable in THREAD_VARIABLES})
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


class Supervisor:
    """Runs the plan's queued trials in `workers` processes; `run()` returns the exit code of the sweep."""

    def __init__(self, plan, handle, workers: int, changes: dict, say, debug: bool = False):
        self.plan, self.handle, self.workers, self.say = plan, handle, workers, say
        self.command = [sys.executable, "-m", "nnctl.sweep.worker", plan.spec.source,
                        "--storage", plan.storage_url, "--study", plan.study_name,
                        "--sweep-dir", str(plan.sweep_dir), "--metric", plan.metric,
                        "--changes", json.dumps(changes)] + (["--debug"] if debug else [])
        self.env = worker_env(worker_threads(workers))
        self.processes: list[subprocess.Popen] = []
        self.failed = 0

    def run(self) -> int:
        with StopSignals() as stop:
            forwarded = False
            while True:
                if stop.requested is not None and not forwarded:
                    for process in self.processes:
                        process.send_signal(signal.SIGTERM)
                    forwarded = True
                self.reap(stopping=stop.requested is not None)
                if stop.requested is None and not self.failed:
                    self.fill()
                if not self.processes:
                    break
                time.sleep(POLL_SECONDS)
        if stop.requested is not None:
            return 128 + stop.requested
        return 1 if self.failed else 0

    def fill(self) -> None:
        """Start workers in free slots, no more than there are queued trials."""
        free = self.workers - len(self.processes)
        if free <= 0:
            return
        for _ in range(min(free, waiting(self.handle.study))):
            self.processes.append(subprocess.Popen(self.command, env=self.env))

    def reap(self, stopping: bool) -> None:
        """Collect workers that ended; a killed one's trial is failed and queued again."""
        for process in list(self.processes):
            code = process.poll()
            if code is None:
                continue
            self.processes.remove(process)
            if code < 0 and not stopping:
                for line in fail_trials_of(self.handle, process.pid, f"killed by {signal.Signals(-code).name}"):
                    self.say(line)
            elif code not in (0, 130, 143) and not (code < 0 and stopping):
                self.failed += 1


def fail_trials_of(handle, pid: int, how: str, host: str | None = None) -> list[str]:
    """Mark the trials a dead worker process was running as failed (status killed) and queue each again once;
    returns a line for each."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    name = f"{host or socket.gethostname()}:{pid}"
    lines = []
    for trial in handle.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker") != name:
            continue
        failed = mark_killed(handle, trial.number, f"its worker (pid {pid}) was {how}")
        if failed is None:
            continue
        run = failed.user_attrs.get("run")
        if give_back(handle.study, failed) is not None:
            lines.append(f"trial {trial.number}: its worker (pid {pid}) was {how}; queued again to continue "
                         f"{run or 'from the start'}")
        else:
            lines.append(f"trial {trial.number}: its worker (pid {pid}) was {how}, and it had been killed before: "
                         f"not retried again")
    return lines


def mark_killed(handle, number: int, message: str):
    """Fail a running trial whose worker is gone; returns its FrozenTrial, or None when another process
    ended it first."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage, trial_id = handle.storage, handle.trial_id(number)
    try:
        storage.set_trial_user_attr(trial_id, "status", "killed")
        storage.set_trial_user_attr(trial_id, "message", message)
        if not storage.set_trial_state_values(trial_id, TrialState.FAIL):
            return None
    except UpdateFinishedTrialError:
        return None
    return storage.get_trial(trial_id)


def fail_dead_local_trials(handle) -> list[str]:
    """Trials left running by processes of this machine that no longer exist: failed and queued again."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    host, lines = socket.gethostname(), []
    pids = set()
    for trial in handle.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker_host, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
        if worker_host == host and pid.isdigit() and not alive(int(pid)):
            pids.add(int(pid))
    for pid in sorted(pids):
        lines += fail_trials_of(handle, pid, "gone when the sweep started again", host)
    return lines


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
