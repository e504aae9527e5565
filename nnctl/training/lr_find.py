"""The learning-rate range test (`nnctl lr-find CONFIG`): train a fresh copy of the network for a few hundred
steps while the learning rate grows exponentially, and read a good learning rate off the loss curve.

    test = range_test(config)          RangeTest: the learning rates tried, the batch losses, their smoothed
                                       curve, why it stopped, and the suggestion with the rule it used

Step t (0-based, of `steps`) uses lr_t = start * (end / start) ** (t / (steps - 1)) with the config's
optimizer, data, batch size and augmentation (the schedule is not used). The smoothed loss is the
exponential moving average of the batch losses with factor 0.9 (about the last ten steps),
bias-corrected (divided by 1 - 0.9^(t+1)) so its first values are not pulled towards 0. The test stops early when the smoothed loss exceeds
`stop_factor` (4) times its minimum so far, or the loss becomes NaN, infinite or more than
train.divergence_ratio times the first one.

Rules for the suggestion, each on the smoothed loss up to its minimum:
    min10      the learning rate of the smoothed loss's minimum, divided by 10 (the default: it needs no
               derivative of a noisy curve, and lands where the loss still falls steadily)
    steepest   the learning rate where the smoothed loss falls fastest against log(lr) (its most negative
               slope), from the 11th step on (the first ones rest on too few losses)
When the minimum comes within the first 15 steps, steepest has no slope to read and min10 is used (the
result says so). Nothing is written: the network is built from the config as `nnctl train` would build it
(init.from included) and dropped afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nnctl.errors import InputError
from nnctl.training.runner import build_trainer
from nnctl.training.trainer import Diverged
from nnctl.viz.lr_find import draw_lr_find

SMOOTHING = 0.9
MIN_SLOPE_POINTS = 5
SKIP_START = 10              # the first steps' smoothed values rest on too few losses for a slope


@dataclass(frozen=True)
class RangeTest:
    """lrs, losses, smoothed: (n,) float64, the steps done; `stopped`: why the test ended, in words;
    `suggestion`: the learning rate suggested by `rule` (the rule actually used, after any fallback)."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped: str
    suggestion: float
    rule: str


def learning_rates(start: float, end: float, steps: int) -> np.ndarray:
    """(steps,) float64, from `start` to `end` in equal ratios."""
    return start * (end / start) ** (np.arange(steps, dtype=np.float64) / max(steps - 1, 1))


def suggest(lrs: np.ndarray, smoothed: np.ndarray, rule: str) -> tuple[float, str]:
    """(suggested lr, the rule used) from a finished test's smoothed curve (see the module docstring)."""
    lowest = int(np.argmin(smoothed))
    if rule == "steepest" and lowest - SKIP_START + 1 >= MIN_SLOPE_POINTS:
        slope = np.gradient(smoothed, np.log10(lrs))[SKIP_START:lowest + 1]
        return float(lrs[SKIP_START + int(np.argmin(slope))]), "steepest"
    used = "min10" if rule == "min10" else "min10 (the minimum came too early for a slope)"
    return float(lrs[lowest] / 10), used


def range_test(config, start: float = 1e-7, end: float = 10.0, steps: int = 200, stop_factor: float = 4.0,
               rule: str = "min10", progress: bool = False,
               on_step: Callable[[int, float, float], None] | None = None) -> RangeTest:
    """Run the range test on a fresh network built from the resolved `config` (nothing is written).
    `on_step(t, lr, loss)` is called after each step (a progress display)."""
    trainer = build_trainer(config, progress)
    lrs = learning_rates(start, end, steps)
    losses: list[float] = []
    smoothed: list[float] = []
    average, lowest = 0.0, math.inf
    stopped = f"all {steps} steps done"
    i = trainer.steps_per_epoch
    for t, lr in enumerate(lrs):
        if i == trainer.steps_per_epoch:      # a new pass over the data: a new shuffled order
            trainer.take_progress()
            trainer.open_epoch()
            i = 0
        try:
            step = replace(trainer.compute_gradients(i), lr=float(lr))
        except Diverged as exc:
            stopped = f"stopped at step {t + 1} (lr {lr:.3g}): {exc}"
            break
        trainer.apply_update(step)
        i += 1
        losses.append(float(step.loss))
        average = SMOOTHING * average + (1 - SMOOTHING) * step.loss
        smoothed.append(average / (1 - SMOOTHING ** (t + 1)))
        lowest = min(lowest, smoothed[-1])
        if on_step is not None:
            on_step(t, float(lr), float(step.loss))
        if smoothed[-1] > stop_factor * lowest:
            stopped = (f"stopped at step {t + 1} of {steps} (lr {lr:.3g}): the smoothed loss exceeded "
                       f"{stop_factor:g}x its minimum")
            break
    if len(losses) < 2:
        raise Diverged(f"the range test could not run: {stopped}; start from a smaller lr (--start)")
    done = lrs[:len(losses)]
    curve = np.array(smoothed, dtype=np.float64)
    suggestion, used = suggest(done, curve, rule)
    return RangeTest(done, np.array(losses, dtype=np.float64), curve, stopped, suggestion, used)


RULE_WORDS = {"steepest": "steepest descent of the smoothed loss",
              "min10": "the smoothed loss's minimum / 10",
              "min10 (the minimum came too early for a slope)":
                  "the smoothed loss's minimum / 10 (its minimum came too early for a slope)"}


def check_plot_path(out: Path) -> None:
    """The picture's path must end in .png, in a folder that exists, and not be a folder (InputError)."""
    if out.suffix.lower() != ".png":
        raise InputError(f"--out {out}: the plot is a PNG file; give a name ending in .png")
    if out.is_dir():
        raise InputError(f"--out {out}: is a folder; give a file name such as {out / 'lr_find.png'}")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: no such folder {out.parent}")


def find_lr(config, out: Path, start: float = 1e-7, end: float = 10.0, steps: int = 200,
            stop_factor: float = 4.0, rule: str = "min10", progress: bool = False) -> list[str]:
    """`nnctl lr-find`: the range test on `config`, its picture at `out`; returns the lines to print."""
    if not 0 < start < end:
        raise InputError(f"--start {start:g} --end {end:g}: the range must grow (0 < start < end)")
    check_plot_path(out)
    test = range_test(config, start, end, steps, stop_factor, rule, progress)
    draw_lr_find(test.lrs, test.losses, test.smoothed, test.suggestion, test.rule, out,
                 title=f"learning-rate range test: {config.name}")
    lowest = int(np.argmin(test.smoothed))
    source = getattr(config, "source", "") or "CONFIG"
    return [f"suggested lr: {test.suggestion:.3g} (rule: {RULE_WORDS[test.rule]})",
            f"range test: lr {start:g} to {end:g}, {test.stopped}; lowest smoothed loss "
            f"{test.smoothed[lowest]:.4g} at lr {test.lrs[lowest]:.3g}",
            f"plot: {out}",
            f"to train with it: nnctl train {source} --set optimizer.lr={test.suggestion:.3g}"]
