"""Start a run or continue one, and turn every way a run can end into a report and one line.

    train(config, out)        a new run folder under out/<name>/; nothing is written before the config,
                              the data and the network have been checked
    resume(run)               the same folder, from its last checkpoint (see resume.py)

Endings: completed, stopped early (early stopping), a status a callback chose (e.g. pruned), interrupted
by a signal (a checkpoint at the exact step, exit 130 or 143), diverged (the best checkpoint kept, exit
1), failed (any other error, exit 1). Every ending writes report.json and report.md.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.atomic import write_text_atomic
from nnctl.config.load import errors_name
from nnctl.config.yamlio import dump_yaml
from nnctl.errors import Interrupted, WorkError
from nnctl.training.callbacks import Callback, CallbackList, StopRun
from nnctl.training.finish import finish
from nnctl.training.init_from import init_source, initialize_from
from nnctl.training.loop import fit
from nnctl.training.periodic import PeriodicCheckpoint
from nnctl.training.prepare import config_dir, prepare
from nnctl.training.progress import ProgressBar
from nnctl.training.run_dir import MetricsLog, create_run_dir
from nnctl.training.signals import StopRequested, StopSignals
from nnctl.training.snapshots import save_snapshot
from nnctl.training.step_log import StepLog
from nnctl.training.trainer import Diverged, Trainer


@dataclass
class TrainResult:
    run_dir: Path
    report: dict


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_trainer(config: dict, progress: bool, initialize: bool = True) -> Trainer:
    """Load the data and build everything; config mistakes become one line naming the config file.

    With `initialize` (a new run) the weights named by the config's `init` section are copied in; a resumed
    run leaves that to its own checkpoint."""
    setup = prepare(config, progress=progress)
    with errors_name(config):
        weights_from = initialize_from(setup.network, config) if initialize and config.get("init") else None
        trainer = Trainer(setup)
    trainer.weights_from = weights_from
    return trainer


def self_contained(config: dict) -> dict:
    """The config as written into the run folder: a relative data.path and init.from made absolute (they
    were relative to the config file, which the run folder's config.yaml is not next to)."""
    out = dict(config)
    path = config["data"].get("path")
    if isinstance(path, str) and not Path(path).expanduser().is_absolute():
        out["data"] = {**config["data"], "path": str((config_dir(config) / Path(path).expanduser()).resolve())}
    if config.get("init"):
        out["init"] = {**config["init"], "from": str(init_source(config))}
    return out


def train(config: dict, out: str | Path = "runs", progress: bool = True, callbacks: Sequence[Callback] = (),
          run_dir: Path | None = None) -> TrainResult:
    """Train the resolved `config` into a new folder out/<name>/<stamp>/ (or into `run_dir`, which must not
    exist yet or be empty)."""
    trainer = build_trainer(config, progress)
    config_text = dump_yaml(self_contained(config))
    if run_dir is None:
        trainer.run_dir = create_run_dir(out, config["name"], config_text)
    else:
        trainer.run_dir = claim(Path(run_dir))
        write_text_atomic(trainer.run_dir / "config.yaml", config_text, "config")
    trainer.log = MetricsLog(trainer.run_dir / "metrics.csv", columns=trainer.columns)
    if progress:
        to_stderr(f"run folder: {trainer.run_dir}")
    return TrainResult(trainer.run_dir, execute(trainer, watchers(trainer, progress, callbacks)))


def claim(run_dir: Path) -> Path:
    from nnctl.errors import InputError

    run_dir.mkdir(parents=True, exist_ok=True)
    if any(run_dir.iterdir()):
        raise InputError(f"{run_dir}: the run folder is not empty")
    return run_dir


def watchers(trainer: Trainer, progress: bool, extra: Sequence[Callback]) -> CallbackList:
    """The callbacks of a run: the progress bar, steps.csv, periodic checkpoints (after steps.csv, so a
    checkpoint's rows are on disk before it), then the caller's own."""
    trainer.show_progress = progress and sys.stderr.isatty()
    chosen: list[Callback] = [ProgressBar()] if progress else []
    chosen.append(StepLog(trainer.train_cfg["steps_every"]))
    if trainer.train_cfg["checkpoint_every"] is not None:
        chosen.append(PeriodicCheckpoint(trainer.train_cfg["checkpoint_every"]))
    return CallbackList(chosen + list(extra))


def execute(trainer: Trainer, callbacks: CallbackList) -> dict:
    """Run the loop from the trainer's position and end the run; returns the report, or raises the error
    that says in one line how the run ended. Overflow warnings are silenced: the loss guard reports a
    diverging run instead."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), StopSignals() as signals:
        try:
            status = fit(trainer, callbacks, signals)
            message = "" if status == "completed" else (
                f"early stopping: {trainer.early.metric} did not improve for "
                f"{trainer.train_cfg['early_stopping']['patience']} epochs")
        except StopRun as exc:
            status, message = exc.status, exc.message
        except StopRequested as exc:
            return interrupted(trainer, callbacks, exc.signum, saved=True)
        except KeyboardInterrupt:
            return interrupted(trainer, callbacks, signal.SIGINT, saved=False)
        except Diverged as exc:
            callbacks.on_fit_end(trainer, "diverged")
            best = trainer.best.best_epoch
            kept = f"kept the best checkpoint (epoch {best})" if best else \
                "no epoch finished, so there is no best checkpoint"
            finish(trainer, "diverged", f"{exc}; {kept}")
            raise WorkError(f"training diverged: {exc}; {kept} in {trainer.run_dir}. Try a smaller "
                            f"optimizer.lr or gradient clipping (optimizer.clip_norm)") from None
        except (Exception, MemoryError) as exc:     # anything else: say so in the report, then fail in one line
            callbacks.on_fit_end(trainer, "failed")
            finish(trainer, "failed", f"{type(exc).__name__}: {exc}", evaluate=False)
            raise WorkError(f"training failed at epoch {trainer.epoch + 1}: {type(exc).__name__}: {exc} (report "
                            f"in {trainer.run_dir}; run with --debug for the traceback)") from exc
    callbacks.on_fit_end(trainer, status)
    return finish(trainer, status, message)


def interrupted(trainer: Trainer, callbacks: CallbackList, signum: int, saved: bool) -> dict:
    """End a run stopped by a signal: with `saved`, a checkpoint of the exact position first."""
    callbacks.on_fit_end(trainer, "interrupted")
    where = position(trainer)
    if saved:
        what = f"saved {save_snapshot(trainer, 'last')} ({where})"
    else:
        what = "kept the last checkpoint on disk"
    finish(trainer, "interrupted", f"stopped by {signal.Signals(signum).name} at {where}", evaluate=False)
    raise Interrupted(f"interrupted: {what} and the report in {trainer.run_dir}; continue with "
                      f"nnctl train --resume {trainer.run_dir}", exit_code=128 + signum)


def position(trainer: Trainer) -> str:
    """Where a run stands, in words: 'end of epoch 2' or 'epoch 3, step 4 of 15' (steps done)."""
    if trainer.progress.step == 0:
        return f"end of epoch {trainer.epoch}" if trainer.epoch else "before the first step"
    return f"epoch {trainer.epoch + 1}, step {trainer.progress.step} of {trainer.steps_per_epoch}"
