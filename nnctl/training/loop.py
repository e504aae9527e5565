"""The training loop: epochs of steps, from wherever the trainer stands to the end of the run.

Only the order of things lives here. What a step does is the trainer's (trainer.py); what is written
at an epoch's end is in `end_epoch` below; everything that watches the run (progress bar, per-step logs,
health, pruning, periodic checkpoints) is a callback (callbacks.py). A stop signal is honoured at step
boundaries only, so the state saved for it is always a consistent one.
"""

from __future__ import annotations

import time

from nnctl.training.callbacks import Callback
from nnctl.training.signals import StopSignals
from nnctl.training.snapshots import save_snapshot
from nnctl.training.trainer import Trainer


def fit(trainer: Trainer, callbacks: Callback, signals: StopSignals) -> str:
    """Train until the planned epochs are done or early stopping fires. Returns "completed" or
    "stopped early"; raises StopRequested (a signal arrived), Diverged, or StopRun (from a callback)."""
    callbacks.on_fit_start(trainer)
    while not trainer.finished():
        run_epoch(trainer, callbacks, signals)
    return "stopped early" if trainer.stop_early() else "completed"


def run_epoch(trainer: Trainer, callbacks: Callback, signals: StopSignals | None) -> None:
    """The remaining steps of the current epoch, then its end (validation, metrics row, checkpoints)."""
    started = run_steps(trainer, callbacks, signals)
    row = end_epoch(trainer, time.perf_counter() - started)
    callbacks.on_epoch_end(trainer, row)
    if signals is not None:
        signals.check()


def run_steps(trainer: Trainer, callbacks: Callback, signals: StopSignals | None) -> float:
    """The remaining steps of the current epoch; returns the clock reading after the last one."""
    started = time.perf_counter()
    trainer.open_epoch()
    callbacks.on_epoch_start(trainer)
    for i in range(trainer.progress.step, trainer.steps_per_epoch):
        step = trainer.compute_gradients(i)
        callbacks.on_before_update(trainer, step)
        trainer.apply_update(step)
        trainer.progress.seconds += time.perf_counter() - started
        started = time.perf_counter()
        callbacks.on_step_end(trainer, step)
        if signals is not None:
            signals.check()
    return started


def train_one_epoch(trainer: Trainer) -> dict:
    """The steps of one epoch and nothing else (no validation, no files, the position left at the epoch's
    start): for benchmarks and tests. Returns the epoch's train_* metrics (per term with several terms)."""
    run_steps(trainer, Callback(), None)
    return trainer.train_metrics(trainer.take_progress())


def end_epoch(trainer: Trainer, seconds: float) -> dict:
    """Close the epoch (trainer.close_epoch), append its row to metrics.csv, and write best.npz when the
    monitored metric improved, then last.npz (batch-norm statistics already recomputed, so both hold the
    same numbers for the same weights)."""
    row = trainer.close_epoch(seconds)
    trainer.log.append(row)
    if trainer.improved:
        save_snapshot(trainer, "best")
    save_snapshot(trainer, "last")
    return row
