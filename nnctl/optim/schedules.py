"""Learning-rate schedules: the learning rate as a function of training progress.

Progress t is measured in epochs from 0: step i (0-based) of epoch e with S steps per epoch is at
t = e + i/S. `lr(t)` = warmup(t) * rule(t), where every schedule accepts a linear warmup

    warmup(t) = warmup_start + (1 - warmup_start) * min(1, t / warmup_epochs)    (1 when warmup_epochs = 0)

and rule(t) is the class's formula with lr0 the optimizer's base `lr` and T the run's total epochs.
step, multistep, exponential and inverse_time hold one value per epoch (they use e = floor(t));
cosine changes every step. reduce_on_plateau instead lowers its value from the metrics the trainer hands
to `observe` at the end of each epoch. `state()` / `load_state()` carry what an exact resume needs.
"""

from __future__ import annotations

import math
from typing import Any

from nnctl.errors import ConfigError, InputError
from nnctl.optim.monitor import Monitor
from nnctl.options.spec import Choice, Float, Int, ListOf, Mismatch, Option, Str, validate


def increasing_epochs(value: Any) -> list[int]:
    """Checker: a non-empty, strictly increasing list of positive epoch numbers."""
    what = "a strictly increasing list of positive integers"
    items = ListOf(Int(1), min_len=1, what=what)(value)
    if any(a >= b for a, b in zip(items, items[1:])):
        raise Mismatch(what)
    return items


def with_warmup(options: dict[str, Option]) -> dict[str, Option]:
    """`options` plus the two warmup keys every schedule accepts."""
    return {**options,
            "warmup_epochs": Option(Float(0), 0.0, "epochs of linear warmup (may be fractional)"),
            "warmup_start": Option(Float(0, 1, low_open=True), 0.1, "warmup's first factor of the lr")}


DECAY_FACTOR = Float(0, 1, low_open=True)


class Schedule:
    """Base class. base_lr: lr0; total_epochs: T; config: the options (validated here, defaults filled).
    Subclasses implement `rule(t)`; stateful ones also `observe`, `state` and `restore`."""

    options: dict[str, Option] = with_warmup({})

    def __init__(self, base_lr: float, total_epochs: int, **config: Any):
        if not base_lr > 0 or total_epochs < 1:
            raise ValueError(f"need base_lr > 0 and total_epochs >= 1, got {base_lr}, {total_epochs}")
        self.base_lr = float(base_lr)
        self.total_epochs = int(total_epochs)
        self.config = validate(self.options, config, "schedule")

    def lr(self, t: float) -> float:
        """The learning rate at progress t (epochs, 0-based, t >= 0)."""
        if t < 0:
            raise ValueError(f"progress t must be >= 0, got {t}")
        return self.warmup(t) * self.rule(t)

    def warmup(self, t: float) -> float:
        span, start = self.config["warmup_epochs"], self.config["warmup_start"]
        if span == 0:
            return 1.0
        return start + (1.0 - start) * min(1.0, t / span)

    def rule(self, t: float) -> float:
        raise NotImplementedError

    def observe(self, epoch: int, metrics: dict[str, float]) -> None:
        """Called after each epoch (0-based `epoch`) with that epoch's metrics. Most schedules ignore it."""

    def state(self) -> dict:
        """What an exact resume needs, JSON-able. Stateless schedules have none."""
        return {}

    def load_state(self, state: dict) -> None:
        """Restore from `state()` output; raises InputError when it does not fit this schedule."""
        expected = set(self.state())
        if not isinstance(state, dict) or set(state) != expected:
            found = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise InputError(f"schedule state does not fit a {type(self).__name__} schedule: expected keys "
                             f"{sorted(expected)}, got {found}")
        try:
            self.restore(state)
        except (TypeError, ValueError):
            raise InputError(f"schedule state has a value of the wrong type: {state}") from None

    def restore(self, state: dict) -> None:
        """Take values from a state whose keys are already checked. Stateless schedules have nothing to do."""


class Constant(Schedule):
    """lr0 at every t."""

    def rule(self, t):
        return self.base_lr


class Step(Schedule):
    """lr0 * gamma^floor(e / every), e = floor(t) the epoch from 0:  times gamma every `every` epochs."""

    options = with_warmup({"every": Option(Int(1), doc="epochs between decays"),
                           "gamma": Option(DECAY_FACTOR, 0.1, "factor applied at each decay")})

    def rule(self, t):
        return self.base_lr * self.config["gamma"] ** (math.floor(t) // self.config["every"])


class MultiStep(Schedule):
    """lr0 * gamma^k, k = how many milestones are <= e = floor(t):  times gamma at each milestone epoch."""

    options = with_warmup({"milestones": Option(increasing_epochs, doc="epochs at which to decay"),
                           "gamma": Option(DECAY_FACTOR, 0.1, "factor applied at each milestone")})

    def rule(self, t):
        epoch = math.floor(t)
        passed = sum(1 for m in self.config["milestones"] if m <= epoch)
        return self.base_lr * self.config["gamma"] ** passed


class Exponential(Schedule):
    """lr0 * gamma^e, e = floor(t) the epoch from 0:  times gamma after each epoch (cs231n's `lr_decay`)."""

    options = with_warmup({"gamma": Option(DECAY_FACTOR, 0.95, "factor applied after each epoch")})

    def rule(self, t):
        return self.base_lr * self.config["gamma"] ** math.floor(t)


class InverseTime(Schedule):
    """lr0 / (1 + k * e), e = floor(t) the epoch from 0."""

    options = with_warmup({"k": Option(Float(0, low_open=True), doc="decay rate per epoch")})

    def rule(self, t):
        return self.base_lr / (1.0 + self.config["k"] * math.floor(t))


class Cosine(Schedule):
    """min_lr + (lr0 - min_lr) * (1 + cos(pi * min(t, T) / T)) / 2, T = train.epochs:  a half cosine from
    lr0 at the start to min_lr at the end, changing every step."""

    options = with_warmup({"min_lr": Option(Float(0), 0.0, "the value reached at the last epoch")})

    def __init__(self, base_lr: float, total_epochs: int, **config: Any):
        super().__init__(base_lr, total_epochs, **config)
        if self.config["min_lr"] > self.base_lr:
            raise ConfigError("schedule.min_lr", f"expected a number <= the learning rate {self.base_lr:g}, "
                                                 f"got {self.config['min_lr']:g}")

    def rule(self, t):
        low, progress = self.config["min_lr"], min(t, self.total_epochs) / self.total_epochs
        return low + (self.base_lr - low) * (1.0 + math.cos(math.pi * progress)) / 2.0


class ReduceOnPlateau(Schedule):
    """Starts at lr0; multiplies by `factor` (not below `min_lr`) once `metric` has failed to improve for
    more than `patience` epochs in a row, then waits `cooldown` epochs before counting again.

    An epoch improves by the rule of nnctl.optim.monitor with the relative `threshold`, with best the best
    value so far (none before the first epoch):
        mode min:  value < best - threshold * |best|        mode max:  value > best + threshold * |best|
    mode auto is max for accuracies, min otherwise. A NaN value never improves.
    """

    options = with_warmup({
        "metric": Option(Str(), "val_loss", "the epoch metric to watch"),
        "mode": Option(Choice("auto", "min", "max"), "auto", "whether lower or higher values are better"),
        "factor": Option(Float(0, 1, low_open=True, high_open=True), 0.1, "multiplier at each reduction"),
        "patience": Option(Int(0), 2, "epochs without improvement tolerated before reducing"),
        "threshold": Option(Float(0), 1e-4, "relative change that counts as an improvement"),
        "cooldown": Option(Int(0), 0, "epochs after a reduction during which nothing is counted"),
        "min_lr": Option(Float(0), 0.0, "the value never goes below this"),
    })

    def __init__(self, base_lr: float, total_epochs: int, **config: Any):
        super().__init__(base_lr, total_epochs, **config)
        self.monitor = Monitor(self.config["metric"], self.config["mode"], threshold=self.config["threshold"])
        self.mode = self.monitor.mode
        self.current = self.base_lr
        self.bad_epochs = 0
        self.cooldown_left = 0

    def rule(self, t):
        return self.current

    def observe(self, epoch: int, metrics: dict[str, float]) -> None:
        name = self.config["metric"]
        if metrics.get(name) is None:
            have = ", ".join(sorted(k for k, v in metrics.items() if v is not None))
            raise ConfigError("schedule.metric", f"expected a metric this run measures ({have}), got {name!r}")
        if self.monitor.update(float(metrics[name]), epoch + 1):
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.config["patience"]:
            reduced = max(self.current * self.config["factor"], self.config["min_lr"])
            if reduced < self.current:
                self.current = reduced
                self.cooldown_left = self.config["cooldown"]
            self.bad_epochs = 0

    def state(self) -> dict:
        return {"lr": self.current, "monitor": self.monitor.state(), "bad_epochs": self.bad_epochs,
                "cooldown_left": self.cooldown_left}

    def restore(self, state: dict) -> None:
        values = (float(state["lr"]), int(state["bad_epochs"]), int(state["cooldown_left"]))
        self.monitor.load_state(state["monitor"])
        self.current, self.bad_epochs, self.cooldown_left = values
