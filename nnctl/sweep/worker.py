"""The loop of a worker: take a queued trial, run it, tell the study; until no trial is queued or a stop
signal arrives. `nnctl sweep` with one worker runs it in its own process; with `--workers W` the
supervisor starts W processes `python -m nnctl.sweep.worker`, each with its share of the BLAS threads.

Signals: between trials, SIGINT and SIGTERM are recorded (nnctl.training.signals.StopSignals, as during a
run) and end the loop before the next trial; during a trial the run's own handlers save its exact position,
the trial is told `interrupted` and queued again (to continue its run folder), and the loop ends. The worker
then raises Interrupted (exit 130 or 143). A second Ctrl-C stops at once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path

from nnctl.errors import Interrupted, NnctlError
from nnctl.sweep import quiet
from nnctl.sweep.spec import read_sweep
from nnctl.sweep.storage import heartbeat_seconds
from nnctl.sweep.study import Plan, open_study
from nnctl.sweep.tickets import claim, give_back, waiting
from nnctl.sweep.trial import Outcome, describe, run_trial
from nnctl.cpus import choose_threads
from nnctl.training.runner import to_stderr
from nnctl.training.signals import StopSignals


class Heartbeat:
    """Context manager: records the trial's heartbeat now and then every `interval` seconds in a thread."""

    def __init__(self, handle, number: int, interval: float):
        self.handle, self.number, self.interval = handle, number, interval
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.beat, name=f"heartbeat-{number}", daemon=True)

    def beat(self) -> None:
        while True:
            try:
                self.handle.heartbeat(self.number)
            except Exception:         # the database is away for a moment: try again at the next beat
                pass
            if self.done.wait(self.interval):
                return

    def __enter__(self) -> "Heartbeat":
        self.handle.heartbeat(self.number)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work(plan, handle, stop: StopSignals, say, notify) -> int:
    """Run queued trials until none is left; returns how many ran. Raises Interrupted after a stop signal."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.storages import fail_stale_trials


    study, ran, threads = handle.study, 0, choose_threads()      # one count for every trial of this worker
    while stop.requested is None:
        with quiet():
            fail_stale_trials(study)
        if waiting(study) == 0:
            break
        with quiet():
            trial = study.ask()
        with Heartbeat(handle, trial.number, heartbeat_seconds()[0]):
            trial.set_user_attr("worker", worker_name())
            trial.set_user_attr("threads", threads.count)
            ticket = claim(study, trial)
            if ticket is None:
                continue
            if stop.requested is not None:
                outcome = Outcome(trial.number, "fail", "interrupted", run=ticket.get("run"),
                                  message="stopped before it started", signal=stop.requested)
            else:
                outcome = run_trial(plan, handle, trial, ticket, stop, notify, threads)
            record(handle, trial, outcome)
        ran += 1
        say(describe(outcome, plan.metric, trial.params))
        if outcome.status == "interrupted":
            stop.requested = stop.requested or outcome.signal
    if stop.requested is not None:
        raise Interrupted(f"interrupted by {signal.Signals(stop.requested).name}", exit_code=128 + stop.requested)
    return ran


def record(handle, trial, outcome: Outcome) -> None:
    """Store the outcome in the trial's attributes and tell the study; an interrupted trial is queued again."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState


    attrs = {"status": outcome.status, "value": outcome.value, "epochs": outcome.epochs,
             "epochs_planned": outcome.epochs_planned, "seconds": round(outcome.seconds, 3),
             "message": outcome.message[:500]}
    try:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
    except UpdateFinishedTrialError:        # another process ended it meanwhile (missed heartbeats)
        outcome.state = "abandoned"
    if outcome.state == "abandoned":
        return
    with quiet():
        if outcome.state == "complete":
            handle.study.tell(trial, outcome.value, skip_if_finished=True)
        elif outcome.state == "pruned":
            handle.study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
        else:
            frozen = handle.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            if outcome.status == "interrupted":
                give_back(handle.study, frozen)


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> None:
    """`python -m nnctl.sweep.worker SWEEP --storage URL --study NAME --sweep-dir DIR --metric M`: one worker
    process of a supervised sweep (the study must exist)."""
    # optional (the sweep extra): loaded when a sweep runs
    import optuna

    parser = argparse.ArgumentParser(prog="python -m nnctl.sweep.worker")
    parser.add_argument("sweep")
    for option in ("--storage", "--study", "--sweep-dir", "--metric", "--changes"):
        parser.add_argument(option, required=option != "--changes", default="{}")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        spec = read_sweep(args.sweep, json.loads(args.changes))
        plan = Plan(spec, args.metric, Path(args.sweep_dir), args.storage, args.study)
        with StopSignals() as stop:
            work(plan, open_study(plan, create=False), stop, say, to_stderr)
    except Interrupted as exc:              # the supervisor says what happened
        sys.exit(exc.exit_code)
    except NnctlError as exc:
        if args.debug:
            traceback.print_exc()
        print(str(exc), file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
