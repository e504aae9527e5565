"""One trial: its parameters, its config, and an ordinary run folder in the sweep folder.

The run folder is `trial-NNNN`, the trial's number, so `nnctl eval`, `nnctl plot` and `nnctl train
--resume` work on it; a retry continues the folder of the trial it retries. The trial reports the metric
after every epoch to the study, whose pruner may stop it: the run then ends as runs do (best weights
restored, report written) with status `pruned`. A trial's score is the metric of its run's best
checkpoint, as its report states it (what `nnctl eval RUN --split val` prints for val_acc).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from nnctl.errors import ConfigError, InputError, Interrupted, WorkError
from nnctl.options.spec import show
from nnctl.sweep.study import sampler_for
from nnctl.training.callbacks import Callback, StopRun
from nnctl.training.resume import resume
from nnctl.training.runner import train
from nnctl.training.signals import StopRequested


@dataclass
class Outcome:
    """How a trial ended. `state` is what the study is told (complete, pruned, fail) or `abandoned` (another
    process already ended it); `status` is the run's own ending (completed, stopped early, pruned, diverged,
    failed, invalid, interrupted, abandoned); `value` the metric at the run's best checkpoint."""

    number: int
    state: str
    status: str
    value: float | None = None
    epochs: int = 0
    epochs_planned: int | None = None
    seconds: float = 0.0
    run: str | None = None
    message: str = ""
    signal: int | None = None


class ReportToStudy(Callback):
    """Feeds the metric of every epoch to the trial; stops the run when the pruner says so, or when another
    process has already ended this trial (its heartbeats were missed)."""

    def __init__(self, handle, trial, metric: str, pruner: str):
        self.handle, self.trial, self.metric, self.pruner = handle, trial, metric, pruner

    def on_fit_start(self, trainer) -> None:
        for row in trainer.history:          # a resumed run: the epochs it already has
            self.report(row)

    def on_epoch_end(self, trainer, row: dict) -> None:
        value = self.report(row)
        if not self.handle.running(self.trial.number):
            raise StopRun("abandoned", "another process ended this trial (its heartbeats were missed) and "
                                       "queued it again")
        if self.pruner != "none" and not trainer.finished() and self.trial.should_prune():
            raise StopRun("pruned", f"pruned by the {self.pruner} pruner after epoch {row['epoch']}: "
                                    f"{self.metric} {value:.4f}")

    def report(self, row: dict) -> float | None:
        value = row.get(self.metric)
        if value is not None and math.isfinite(value):
            self.trial.report(float(value), step=int(row["epoch"]))
        return value


class HonourStop(Callback):
    """A stop signal that arrived while the run was being built (before the run's own handlers were in
    place) stops it at its first step, with its position saved."""

    def __init__(self, stop):
        self.stop = stop

    def on_fit_start(self, trainer) -> None:
        if self.stop.requested is not None:
            raise StopRequested(self.stop.requested)


def run_trial(plan, handle, trial, ticket: dict, stop, notify, threads=None) -> Outcome:
    """Draw (or read back) the trial's parameters and train its run; never raises for the run's own
    failures, which become the Outcome."""
    spec = plan.spec
    handle.study.sampler = sampler_for(spec, trial.number)
    values = {param.path: param.suggest(trial) for param in spec.params}
    run = ticket.get("run") or f"trial-{trial.number:04d}"
    trial.set_user_attr("run", run)
    run_dir = plan.sweep_dir / run
    outcome = Outcome(trial.number, "fail", "failed", run=run)
    started = time.perf_counter()
    try:
        config = spec.config_for(values, name=f"{spec.name}-{run}")
        outcome.epochs_planned = config.train["epochs"]
        callbacks = [HonourStop(stop), ReportToStudy(handle, trial, plan.metric, spec.pruner["type"])]
        if (run_dir / "config.yaml").is_file():
            report = resume(run_dir, progress=False, callbacks=callbacks, notify=notify).report
        else:
            shutil.rmtree(run_dir, ignore_errors=True)      # a retry whose first try left no config behind
            report = train(config, progress=False, callbacks=callbacks, run_dir=run_dir, threads=threads).report
        settle(outcome, report, plan.metric)
    except Interrupted as exc:
        interrupted(outcome, exc.exit_code - 128, saved_report(run_dir))
    except KeyboardInterrupt:
        interrupted(outcome, 2, None)
    except ConfigError as exc:
        outcome.status, outcome.message = "invalid", f"invalid config: {exc.path}: {exc.message}" \
            if exc.path else f"invalid config: {exc.message}"
    except InputError as exc:
        outcome.status, outcome.message = "invalid", str(exc)
    except WorkError as exc:
        outcome.message = str(exc)
        report = saved_report(run_dir)
        if report is not None and report.get("status") == "diverged":
            settle(outcome, report, plan.metric)
    outcome.seconds = time.perf_counter() - started
    return outcome


def interrupted(outcome: Outcome, signum: int, report: dict | None) -> None:
    """A trial stopped by a signal: where its run stands (its report says), and that it is queued again."""
    outcome.status, outcome.signal = "interrupted", signum
    if report is None:
        outcome.message = "interrupted before its first step"
        return
    outcome.epochs = report.get("epochs_run", 0)
    steps = report.get("steps_into_next_epoch") or 0
    where = f"epoch {outcome.epochs + 1}, step {steps}" if steps else f"the end of epoch {outcome.epochs}"
    outcome.message = f"interrupted at {where}, its position saved in {outcome.run}"


def settle(outcome: Outcome, report: dict, metric: str) -> None:
    """Fill the outcome from a run's report: its status, epochs, and the metric at its best checkpoint."""
    status = report["status"]
    split, kind = metric.split("_", 1)
    value = (report.get(split) or {}).get(kind)
    outcome.status, outcome.epochs = status, report["epochs_run"]
    outcome.epochs_planned = report["epochs_planned"]
    outcome.value = None if value is None else float(value)
    outcome.message = report.get("message") or outcome.message
    if status == "pruned":
        outcome.state = "pruned"
    elif status == "abandoned":
        outcome.state = "abandoned"
    elif outcome.value is not None and math.isfinite(outcome.value):
        outcome.state = "complete"          # completed, stopped early, or diverged after a best epoch
    else:
        outcome.state = "fail"


def saved_report(run_dir: Path) -> dict | None:
    try:
        report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def describe(outcome: Outcome, metric: str, values: dict[str, object]) -> str:
    """One line for the terminal: 'trial 3: completed after 8 epochs, val_acc 0.8712 (37.1 s); lr=...'."""
    if outcome.status == "interrupted":
        return f"trial {outcome.number}: {outcome.message}; queued again, the next nnctl sweep continues it"
    params = ", ".join(f"{path}={value:.4g}" if isinstance(value, float) else f"{path}={show(value)}"
                       for path, value in values.items())
    if outcome.state == "fail":
        text = f"trial {outcome.number}: {outcome.status}: {outcome.message}"
    else:
        of = f" of {outcome.epochs_planned}" if outcome.status == "pruned" else ""
        score = f", {metric} {outcome.value:.4f}" if outcome.value is not None else ""
        text = (f"trial {outcome.number}: {outcome.status} after {outcome.epochs}{of} epoch"
                f"{'' if outcome.epochs == 1 and not of else 's'}{score} ({outcome.seconds:.1f} s)")
    return f"{text}; {params}" if params else text
