"""Hooks into the training loop, so that watching a run (progress bar, per-step log, health recording,
sweep pruning, periodic checkpoints) never needs a change to the loop itself.

The loop calls, in order:
    on_fit_start(trainer)                  once, before the first step (also after a resume)
    on_epoch_start(trainer)                at each epoch's start (or re-entry, mid-epoch after a resume)
    on_before_update(trainer, step)        gradients computed, weights not yet changed (step.grads is valid)
    on_step_end(trainer, step)             after the optimizer update
    on_epoch_end(trainer, row)             after validation and the epoch's checkpoints; row is the metrics row
    on_fit_end(trainer, status)            when the loop ends, however it ends ("completed", "interrupted", ...)
    on_report(trainer, report)             after the ending wrote the report and pictures (the report as data)

A callback ends the run early by raising `StopRun(status, message)`, e.g. a sweep pruning a trial: the run
then finishes normally (best weights restored, report written) with that status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class StepInfo:
    """One optimizer step: `epoch` (0-based), `step` (0-based within the epoch) of `steps`, `global_step`
    (1-based, counted over the whole run), the learning rate, the batch's loss (penalties included), its
    size and number of correct predictions (None where no accuracy is measured), the gradients (valid
    in on_before_update only: the arrays are reused), each loss term's own loss and each head's number of
    correct predictions (in the objective's term and head order)."""

    epoch: int
    step: int
    steps: int
    global_step: int
    lr: float
    loss: float
    samples: int
    correct: int | None
    grads: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    term_losses: list[float] = field(default_factory=list)
    head_correct: list[int] = field(default_factory=list)


class Callback:
    """Base class: every hook does nothing."""

    def on_fit_start(self, trainer: Any) -> None: ...

    def on_epoch_start(self, trainer: Any) -> None: ...

    def on_before_update(self, trainer: Any, step: StepInfo) -> None: ...

    def on_step_end(self, trainer: Any, step: StepInfo) -> None: ...

    def on_epoch_end(self, trainer: Any, row: dict) -> None: ...

    def on_fit_end(self, trainer: Any, status: str) -> None: ...

    def on_report(self, trainer: Any, report: dict) -> None: ...


class StopRun(Exception):
    """Raised by a callback to end the run early; `status` goes into the report (e.g. "pruned")."""

    def __init__(self, status: str, message: str = ""):
        super().__init__(message or status)
        self.status, self.message = status, message


class CallbackList(Callback):
    """Several callbacks called in order, as one."""

    def __init__(self, callbacks: list[Callback]):
        self.callbacks = list(callbacks)

    def on_fit_start(self, trainer):
        for c in self.callbacks:
            c.on_fit_start(trainer)

    def on_epoch_start(self, trainer):
        for c in self.callbacks:
            c.on_epoch_start(trainer)

    def on_before_update(self, trainer, step):
        for c in self.callbacks:
            c.on_before_update(trainer, step)

    def on_step_end(self, trainer, step):
        for c in self.callbacks:
            c.on_step_end(trainer, step)

    def on_epoch_end(self, trainer, row):
        for c in self.callbacks:
            c.on_epoch_end(trainer, row)

    def on_fit_end(self, trainer, status):
        for c in self.callbacks:
            c.on_fit_end(trainer, status)

    def on_report(self, trainer, report):
        for c in self.callbacks:
            c.on_report(trainer, report)
