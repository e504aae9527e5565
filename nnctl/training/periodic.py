"""`train.checkpoint_every`: last.npz written inside epochs too, every N steps or after a duration."""

from __future__ import annotations

import time

from nnctl.config.values import interval
from nnctl.training.callbacks import Callback, StepInfo
from nnctl.training.snapshots import save_snapshot


class PeriodicCheckpoint(Callback):
    """Saves a mid-epoch snapshot as last.npz every `steps` optimizer steps (counted over the whole run)
    or once `seconds` have passed since the last checkpoint. The last step of an epoch is left to the
    epoch's own checkpoint, written moments later."""

    def __init__(self, every: int | str):
        self.steps, self.seconds = interval(every)
        self.last_save = time.monotonic()

    def on_epoch_end(self, trainer, row: dict) -> None:
        self.last_save = time.monotonic()

    def on_step_end(self, trainer, step: StepInfo) -> None:
        if step.step + 1 == step.steps:
            return
        due = (step.global_step % self.steps == 0) if self.steps else \
            time.monotonic() - self.last_save >= self.seconds
        if due:
            save_snapshot(trainer, "last")
            self.last_save = time.monotonic()
