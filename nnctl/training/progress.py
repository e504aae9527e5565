"""What a person watching a run sees.

On a terminal: a tqdm bar per epoch with the running loss and accuracy, updated every step (tqdm decides
when to redraw). Elsewhere (stderr piped into a file or a CI log): one plain line per epoch, no bar
frames. A reader that goes away (`2>&1 | head`) ends the lines, never the run (nnctl.console)."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from tqdm import tqdm

from nnctl.console import silence
from nnctl.training.callbacks import Callback, StepInfo

SHOWN = ("train_loss", "train_acc", "val_loss", "val_acc")


def has_width(stream: TextIO) -> bool:
    """True for a terminal that says how wide it is (a pseudo-terminal that reports 0 columns, as some CI
    runners give, gets the plain lines: a bar needs a width)."""
    try:
        return stream.isatty() and os.get_terminal_size(stream.fileno()).columns > 0
    except (AttributeError, OSError, ValueError):
        return False


def quiet_when_the_reader_is_gone(method):
    """The callback method, except that a closed pipe silences the stream and ends the bar for good."""

    def guarded(self, *args):
        if self.gone:
            return
        try:
            method(self, *args)
        except BrokenPipeError:
            self.gone, self.bar = True, None
            silence(self.stream)

    return guarded


def terminal_width(stream: TextIO) -> int | None:
    """The terminal's columns now (it may have been resized since the run began), or None."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, OSError, ValueError):
        return None


def epoch_line(row: dict, epochs: int, width: int | None = None) -> str:
    """The line an epoch leaves behind: `epoch 3/20  train_loss 0.7852  train_acc 0.7310  val_loss ...  4.2 s`,
    or, where that is wider than the terminal, the same figures in the short form
    `epoch 3/20  train loss 0.7852 acc 0.7310  val loss 0.8011 acc 0.7205  4.2s` (at most 80 columns up to
    epoch 999/999 and 9999.9 s), so validation is never cut off."""
    shown = {k: f"{row[k]:.4f}" for k in SHOWN if row.get(k) is not None}
    head, tail = f"epoch {row['epoch']}/{epochs}", f"{row['seconds']:.1f} s"
    line = "  ".join([head, *(f"{k} {v}" for k, v in shown.items()), tail])
    if width is None or len(line) <= width:
        return line
    groups = []
    for split in ("train", "val"):
        figures = [f"{name} {shown[f'{split}_{name}']}" for name in ("loss", "acc") if f"{split}_{name}" in shown]
        if figures:
            groups.append(" ".join([split, *figures]))
    return "  ".join([head, *groups, tail.replace(" s", "s")])


class ProgressBar(Callback):
    """One bar per epoch on a terminal; at the epoch's end the bar is cleared and the epoch's line (train and
    validation figures, fitted to the terminal's width) takes its place. Not on a terminal: that line only."""

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self.bar: tqdm | None = None
        self.terminal = has_width(stream)
        self.gone = False                     # the stream's reader went away: nothing more is shown

    @quiet_when_the_reader_is_gone
    def on_epoch_start(self, trainer) -> None:
        if not self.terminal:
            return
        epochs = trainer.train_cfg["epochs"]
        self.bar = tqdm(total=trainer.steps_per_epoch, initial=trainer.progress.step, file=self.stream,
                        desc=f"epoch {trainer.epoch + 1}/{epochs}", unit="batch", leave=True,
                        dynamic_ncols=True, mininterval=0.25)

    @quiet_when_the_reader_is_gone
    def on_step_end(self, trainer, step: StepInfo) -> None:
        if self.bar is None:
            return
        p = trainer.progress
        shown = {"loss": f"{p.loss_sum / p.seen:.4f}"}
        if step.correct is not None:
            shown["acc"] = f"{p.correct / p.seen:.4f}"
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update()

    @quiet_when_the_reader_is_gone
    def on_epoch_end(self, trainer, row: dict) -> None:
        width = None
        if self.bar is not None:                 # the bar gives way to the epoch's line, fitted to the width
            self.bar.leave = False
            self.close()
            width = terminal_width(self.stream)
        print(epoch_line(row, trainer.train_cfg["epochs"], width), file=self.stream, flush=True)

    @quiet_when_the_reader_is_gone
    def on_fit_end(self, trainer, status: str) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
