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


class ProgressBar(Callback):
    """One bar per epoch on a terminal; at the epoch's end the bar shows the epoch's row (train and
    validation metrics) and is closed. Not on a terminal: a line per epoch instead."""

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
        shown = {k: f"{row[k]:.4f}" for k in SHOWN if row.get(k) is not None}
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=True)
            self.close()
            return
        numbers = "  ".join(f"{k} {v}" for k, v in shown.items())
        print(f"epoch {row['epoch']}/{trainer.train_cfg['epochs']}  {numbers}  {row['seconds']:.1f} s",
              file=self.stream, flush=True)

    @quiet_when_the_reader_is_gone
    def on_fit_end(self, trainer, status: str) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
