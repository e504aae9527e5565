"""Start a run or continue one, and turn every way a run can end into a report and one line.

    train(config, out)        a new run folder under out/<name>/; nothing is written before the config,
                              the data and the network have been checked
    resume(run)               the same folder, from its last checkpoint (see resume.py)

Endings: completed, stopped early (early stopping), a status a callback chose (e.g. pruned), interrupted
by a signal (a checkpoint at the exact step, exit 130 or 143), diverged (the best checkpoint kept and
measured, exit 1), failed (any other error, e.g. a full disk, exit 1). Every ending attempts curves.png,
report.json and report.md, each whole or not at all, and its one line names the first failure; later
failures (a report that cannot be written either) are added to it, never put in its place.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.atomic import WriteFailed, write_text_atomic
from nnctl.build.prepare import config_dir, prepare
from nnctl.config.load import errors_name
from nnctl.console import say
from nnctl.cpus import ThreadChoice, choose_threads, threads_for_run
from nnctl.errors import ConfigError, InputError, Interrupted, NnctlError, WorkError
from nnctl.limits import MAX_CONFIG_BYTES, show_bytes
from nnctl.loggers.choose import require_packages
from nnctl.options.yamlio import dump_yaml, plain
from nnctl.runs.init_from import init_source, initialize_from
from nnctl.runs.liveness import running_marker
from nnctl.runs.run_dir import create_run_dir
from nnctl.training.callbacks import Callback, CallbackList, StopRun
from nnctl.training.finish import finish
from nnctl.training.health import HealthRecorder
from nnctl.training.logged import logger_callbacks
from nnctl.training.loop import fit
from nnctl.training.periodic import PeriodicCheckpoint
from nnctl.training.progress import ProgressBar
from nnctl.training.sanity import InitialLossCheck
from nnctl.training.signals import StopRequested, StopSignals
from nnctl.training.snapshots import save_snapshot
from nnctl.training.step_log import StepLog
from nnctl.training.trainer import Diverged, Trainer


@dataclass
class TrainResult:
    run_dir: Path
    report: dict


def to_stderr(message: str) -> None:
    say(message)


def build_trainer(config: dict, progress: bool, initialize: bool = True) -> Trainer:
    """Load the data and build everything; config mistakes become one line naming the config file.

    With `initialize` (a new run) the weights named by the config's `init` section are copied in; a resumed
    run leaves that to its own checkpoint."""
    require_packages(config.loggers, config.source)
    setup = prepare(config, progress=progress)
    with errors_name(config):
        weights_from = initialize_from(setup.network, config) if initialize and config.init else None
        return Trainer(setup, weights_from, show_progress=progress and sys.stderr.isatty())


def self_contained(config: dict) -> dict:
    """The config as written into the run folder: a relative data.path and init.from made absolute (they
    were relative to the config file, which the run folder's config.yaml is not next to)."""
    out = config.sections()
    path = config.data.get("path")
    if isinstance(path, str) and not Path(path).expanduser().is_absolute():
        out["data"] = {**config.data, "path": str((config_dir(config) / Path(path).expanduser()).resolve())}
    if config.init:
        out["init"] = {**config.init, "from": str(init_source(config))}
    if any(entry.get("dir") is not None for entry in config.loggers):     # a tensorboard logger's dir
        out["loggers"] = [{**entry, "dir": str((config_dir(config) / Path(entry["dir"]).expanduser()).resolve())}
                          if entry.get("dir") is not None else entry for entry in config.loggers]
    return out


def train(config: dict, out: str | Path = "runs", progress: bool = True, callbacks: Sequence[Callback] = (),
          run_dir: Path | None = None, threads: ThreadChoice | int | None = None) -> TrainResult:
    """Train the resolved `config` into a new folder out/<name>/<stamp>/ (or into `run_dir`, which must not
    exist yet or be empty). From the moment the folder exists, stop signals end the run with a report.

    `threads`: a count given by hand (--threads), a choice made already (a sweep makes one for all its
    trials), or None for NNCTL_THREADS or the automatic choice (nnctl.cpus), made after the data is loaded."""
    trainer = build_trainer(config, progress)
    use_thread_choice(trainer, threads if isinstance(threads, ThreadChoice) else choose_threads(threads))
    config_text = run_config_text(config)
    with StopSignals() as signals:
        if run_dir is None:
            trainer.use_folder(create_run_dir(out, config.name, config_text))
        else:
            trainer.use_folder(claim(Path(run_dir)))
            write_text_atomic(trainer.run_dir / "config.yaml", config_text, "config")
        if progress:
            to_stderr(f"run folder: {trainer.run_dir}")
            to_stderr(f"threads: {trainer.threads.describe()}")
        return TrainResult(trainer.run_dir, execute(trainer, watchers(trainer, progress, callbacks), signals))


def use_thread_choice(trainer: Trainer, choice: ThreadChoice) -> None:
    """The run's thread count (BLAS and nnctl's workers), applied while `execute` runs, and in the report."""
    trainer.threads = choice


def run_config_text(config: dict) -> str:
    """The run folder's config.yaml, which must be no larger than a config nnctl reads (MAX_CONFIG_BYTES):
    repeat blocks and `weights:` can make the resolved config much longer than the file it came from."""
    contained = self_contained(config)
    size = len(json.dumps(plain(contained), default=str))         # about the YAML's size, without writing it
    if size <= MAX_CONFIG_BYTES:
        text = dump_yaml(contained)
        size = len(text.encode("utf-8"))
    if size > MAX_CONFIG_BYTES:
        with errors_name(config):
            raise ConfigError("model", f"the resolved config would take about {show_bytes(size)}, more than the "
                                       f"{show_bytes(MAX_CONFIG_BYTES)} nnctl reads back from a run folder (repeat "
                                       f"blocks copy their weights: lists)")
    return text


def claim(run_dir: Path) -> Path:
    """`run_dir` made if missing, and refused unless empty: a run never writes over another."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if any(run_dir.iterdir()):
        raise InputError(f"{run_dir}: the run folder is not empty")
    return run_dir


def watchers(trainer: Trainer, progress: bool, extra: Sequence[Callback]) -> CallbackList:
    """The callbacks of a run: the progress bar, health records, steps.csv, periodic checkpoints, the
    loggers (nnctl.training.logged), then the caller's own. Health and steps.csv come before checkpoints, so
    a checkpoint's position never runs ahead of health.csv or of steps.csv's rows."""
    chosen: list[Callback] = [ProgressBar()] if progress else []
    if trainer.train_cfg["health_every"] is not None:
        chosen.append(HealthRecorder(trainer.train_cfg["health_every"]))
    chosen.append(StepLog(trainer.train_cfg["steps_every"]))
    if trainer.train_cfg["sanity"] != "off":
        chosen.append(InitialLossCheck(trainer.train_cfg["sanity"], to_stderr))
    if trainer.train_cfg["checkpoint_every"] is not None:
        chosen.append(PeriodicCheckpoint(trainer.train_cfg["checkpoint_every"]))
    return CallbackList(chosen + logger_callbacks(trainer, to_stderr) + list(extra))


def execute(trainer: Trainer, callbacks: CallbackList, signals: StopSignals, rows: Sequence[dict] = ()) -> dict:
    """Start metrics.csv (with `rows`, a resumed run's rows so far), run the loop from the trainer's position
    and end the run; returns the report, or raises the error that says in one line how the run ended.
    Overflow warnings are silenced: the loss guard reports a diverging run instead. RUN/.running names
    this process until the run has ended (see nnctl.runs.liveness: how `nnctl runs` tells running runs)."""
    threads = contextlib.nullcontext() if trainer.threads is None else threads_for_run(trainer.threads)
    with running_marker(trainer.run_dir), threads, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            trainer.open_log(list(rows))
            signals.check()
            status = fit(trainer, callbacks, signals)
            message = "" if status == "completed" else (
                f"early stopping: {trainer.early.metric} did not improve for "
                f"{trainer.train_cfg['early_stopping']['patience']} epochs")
        except StopRun as exc:
            status, message = exc.status, exc.message
        except StopRequested as exc:
            return interrupted(trainer, callbacks, signals, exc.signum, save=True)
        except KeyboardInterrupt:
            return interrupted(trainer, callbacks, signals, signal.SIGINT, save=False)
        except Diverged as exc:
            return diverged(trainer, callbacks, signals, exc)
        except (Exception, MemoryError) as exc:     # anything else: say so in the report, then fail in one line
            return failed(trainer, callbacks, signals, exc)
        return completed(trainer, callbacks, signals, status, message)


def completed(trainer: Trainer, callbacks: CallbackList, signals: StopSignals, status: str, message: str) -> dict:
    """A normal ending (completed, stopped early, or a callback's status): the best weights measured."""
    signals.begin_ending()
    callbacks.on_fit_end(trainer, status)
    ending = finish(trainer, status, message, stop=signals.pending)
    report_to(callbacks, trainer, ending.report)
    run = trainer.run_dir
    if ending.cut_short_by is not None:
        raise Interrupted(f"interrupted during the final evaluation (training had {status} after "
                          f"{epochs(trainer.epoch)}): the checkpoints and the report in {run} are whole; "
                          f"nnctl train --resume {run} finishes the evaluation", exit_code=128 + ending.cut_short_by)
    if ending.failures:
        raise WorkError(f"{ending.failures[0]}; the run had {status} after {epochs(trainer.epoch)} and its "
                        f"checkpoints are whole in {run}")
    if signals.pending() is not None:
        raise Interrupted(f"interrupted while the report was written: the run had {status} and everything in "
                          f"{run} is whole", exit_code=128 + signals.pending())
    return ending.report


def interrupted(trainer: Trainer, callbacks: CallbackList, signals: StopSignals, signum: int, save: bool) -> dict:
    """End a run stopped by a signal: with `save`, a checkpoint of the exact position first (a second Ctrl-C
    skips it); then the report, whatever else arrives."""
    # From here on a second Ctrl-C can only cut the save short: anywhere else it would escape this ending
    # and leave no report (CI once caught one arriving while the kept checkpoints were listed).
    signals.begin_ending()
    what = f"kept {kept_checkpoints(trainer)}"
    try:
        callbacks.on_fit_end(trainer, "interrupted")
        if save:
            with signals.saving():
                what = f"saved {save_snapshot(trainer, 'last')} ({trainer.position()})"
    except KeyboardInterrupt:
        what = f"skipped saving the exact position (a second Ctrl-C) and kept {kept_checkpoints(trainer)}"
    except (WriteFailed, Diverged) as exc:
        what = f"could not save the exact position ({exc}) and kept {kept_checkpoints(trainer)}"
    signals.begin_ending()
    name = signal.Signals(signum).name
    ending = finish(trainer, "interrupted", f"stopped by {name} at {trainer.position()}", evaluate=False)
    report_to(callbacks, trainer, ending.report)
    raise Interrupted(f"interrupted: {what} {report_words(trainer, ending)}; continue with nnctl train "
                      f"--resume {trainer.run_dir}", exit_code=128 + signum)


def diverged(trainer: Trainer, callbacks: CallbackList, signals: StopSignals, exc: Diverged) -> dict:
    """End a diverged run: the report measures the best checkpoint (and says so), exit 1."""
    signals.begin_ending()
    callbacks.on_fit_end(trainer, "diverged")
    best = trainer.best.best_epoch
    kept = f"kept the best checkpoint (epoch {best})" if best else \
        "no epoch finished, so there is no best checkpoint"
    ending = finish(trainer, "diverged", f"{exc}; {kept}", stop=signals.pending)
    report_to(callbacks, trainer, ending.report)
    measured = "; the report measures the best checkpoint" if best and ending.cut_short_by is None else ""
    raise WorkError(f"training diverged: {exc}; {kept} in {trainer.run_dir}{measured}"
                    f"{'' if not ending.failures else ' ' + report_words(trainer, ending)}. Try a smaller "
                    f"optimizer.lr or gradient clipping (optimizer.clip_norm)") from None


def failed(trainer: Trainer, callbacks: CallbackList, signals: StopSignals, exc: BaseException) -> dict:
    """End a run that an error stopped (a full disk, a bug): the first failure is the one reported."""
    signals.begin_ending()
    with contextlib.suppress(Exception):
        callbacks.on_fit_end(trainer, "failed")
    detail = str(exc) if isinstance(exc, NnctlError) else f"{type(exc).__name__}: {exc}"
    ending = finish(trainer, "failed", detail, evaluate=False)
    report_to(callbacks, trainer, ending.report)
    debug = "" if isinstance(exc, NnctlError) else "; run with --debug for the traceback"
    raise WorkError(f"training failed {failure_point(trainer)}: {detail}; kept {kept_checkpoints(trainer)} "
                    f"{report_words(trainer, ending)}{debug}") from exc


def report_to(callbacks: CallbackList, trainer: Trainer, report: dict) -> None:
    """The written report to the callbacks (the loggers send its figures and pictures); a stop signal
    arriving meanwhile is handled by the ending, after this."""
    with contextlib.suppress(Exception):
        callbacks.on_report(trainer, report)


def epochs(count: int) -> str:
    return f"{count} epoch{'' if count == 1 else 's'}"


def failure_point(trainer: Trainer) -> str:
    """'before its first step', 'after epoch 2' or 'after 3 of 15 steps of epoch 2': what was done."""
    p = trainer.progress
    if p.step == 0:
        return f"after epoch {trainer.epoch}" if trainer.epoch else "before its first step"
    return f"after {p.step} of {trainer.steps_per_epoch} steps of epoch {trainer.epoch + 1}"


def kept_checkpoints(trainer: Trainer) -> str:
    """'checkpoints/last.npz (end of epoch 2) and checkpoints/best.npz (end of epoch 1)', or 'no checkpoint'."""
    saved = [f"checkpoints/{name}.npz ({where})" for name, where in sorted(trainer.saved.items(), reverse=True)]
    return " and ".join(saved) if saved else "no checkpoint (none was written yet)"


def report_words(trainer: Trainer, ending) -> str:
    """'and the report in RUN', or 'but the report could not be written (why)'."""
    if ending.failures:
        return f"but the report could not be written ({ending.failures[0]})"
    return f"and the report in {trainer.run_dir}"
