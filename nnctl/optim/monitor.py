"""The one rule for "did this metric improve?", shared by the best checkpoint, early stopping and the
reduce-on-plateau schedule.

With `best` the best value so far (none before the first epoch), a value improves when

    mode max:  value > best + min_delta + threshold * |best|
    mode min:  value < best - min_delta - threshold * |best|

`min_delta` is an absolute margin (early stopping), `threshold` a relative one (reduce-on-plateau); the
best checkpoint uses neither. The first finite value always improves; a missing or non-finite value
never does. Mode `auto` is `max` for accuracies and F1 scores (val_acc, train_acc, a head's val_acc.NAME,
val_balanced_acc, val_macro_f1, val_weighted_f1, val_top5, ...) and `min` for everything else.
"""

from __future__ import annotations

import math
import re

from nnctl.errors import InputError

LARGER_IS_BETTER = re.compile(r"^.*(acc|_f1|_top[0-9]+)$")


def direction(metric: str) -> str:
    """'max' for accuracies and F1 scores (val_acc, val_acc.main, val_macro_f1, val_top5, ...), 'min' for
    losses and everything else."""
    return "max" if LARGER_IS_BETTER.match(metric.partition(".")[0]) else "min"


class Monitor:
    """Tracks one metric: its best value, the epoch it came from, and epochs since it last improved."""

    def __init__(self, metric: str, mode: str = "auto", min_delta: float = 0.0, threshold: float = 0.0):
        self.metric = metric
        self.mode = direction(metric) if mode == "auto" else mode
        self.min_delta, self.threshold = min_delta, threshold
        self.best: float | None = None
        self.best_epoch = 0
        self.since_best = 0

    def improves(self, value: float | None) -> bool:
        """Would `value` count as an improvement on the best so far? (Nothing is recorded.)"""
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        margin = self.min_delta + self.threshold * abs(self.best)
        return value > self.best + margin if self.mode == "max" else value < self.best - margin

    def update(self, value: float | None, epoch: int) -> bool:
        """Record the value of (1-based) `epoch`; True when it improved."""
        if self.improves(value):
            self.best, self.best_epoch, self.since_best = float(value), epoch, 0
            return True
        self.since_best += 1
        return False

    def state(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "since_best": self.since_best}

    def load_state(self, state: dict) -> None:
        """Restore from `state()`; raises InputError when it does not have that form."""
        try:
            best = state["best"]
            values = (None if best is None else float(best), int(state["best_epoch"]), int(state["since_best"]))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"monitor state for {self.metric!r} is damaged: {state!r}") from None
        self.best, self.best_epoch, self.since_best = values
