"""steps.csv: the training loss and learning rate of every optimizer step (or every k-th), the history that
per-iteration pictures ("SGD with momentum converges faster") are drawn from.

    step,epoch,loss,lr
    1,0.033333,1.0986,0.01         step: global step (1-based); epoch: epochs done, fractional;
    2,0.066667,1.0912,0.01         loss: the batch's training loss (penalties included); lr: its rate

k is `train.steps_every`; by default the smallest k that keeps an epoch to at most 1,000 rows (so it
depends only on the number of steps per epoch, never on the planned epochs, which a resume may change).
Each row is flushed as it is written, so the file is readable while the run trains and every row of a
step before a checkpoint is on disk before that checkpoint. A resumed run keeps the rows up to its
checkpoint's step, drops the rest (and a line cut by a kill) and continues without a second header:
an interrupted and resumed run ends with the same file as an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from nnctl.atomic import WriteFailed, describe_os_error, write_text_atomic
from nnctl.training.callbacks import Callback, StepInfo

COLUMNS = ("step", "epoch", "loss", "lr")
ROWS_PER_EPOCH = 1000


def default_every(steps_per_epoch: int) -> int:
    """The smallest k that writes at most ROWS_PER_EPOCH rows per epoch."""
    return max(1, math.ceil(steps_per_epoch / ROWS_PER_EPOCH))


def rows_up_to(path: Path, last_step: int) -> list[list[str]]:
    """The rows of an existing steps.csv whose step is at most `last_step`, up to the first damaged line
    (a row cut short by a kill); [] when there is no readable file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    kept = []
    lines = text.splitlines(keepends=True)
    for row in csv.reader(line for line in lines[1:] if line.endswith("\n")):
        try:
            step = int(row[0])
            [float(cell) for cell in row[1:]]
            if len(row) != len(COLUMNS):
                break
        except ValueError:
            break
        if step > last_step:
            break
        kept.append(row)
    return kept


class StepLog(Callback):
    """Writes steps.csv in the run folder (see the module docstring)."""

    def __init__(self, every: int | None = None):
        self.every = every
        self.handle: io.TextIOWrapper | None = None
        self.path: Path | None = None

    def on_fit_start(self, trainer) -> None:
        self.path = trainer.run_dir / "steps.csv"
        if self.every is None:
            self.every = default_every(trainer.steps_per_epoch)
        lines = io.StringIO()
        writer = csv.writer(lines)
        writer.writerow(COLUMNS)
        writer.writerows(rows_up_to(self.path, trainer.global_step) if trainer.global_step else [])
        write_text_atomic(self.path, lines.getvalue(), "step log")
        try:
            self.handle = open(self.path, "a", newline="", encoding="utf-8")
        except OSError as exc:
            raise WriteFailed(f"{self.path}: cannot write the step log ({describe_os_error(exc)})") from None
        self.writer = csv.writer(self.handle)

    def on_step_end(self, trainer, step: StepInfo) -> None:
        if step.global_step % self.every:
            return
        epoch = step.epoch + (step.step + 1) / step.steps
        try:
            self.writer.writerow([step.global_step, repr(round(epoch, 6)), repr(float(step.loss)),
                                  repr(float(step.lr))])
            self.handle.flush()
        except OSError as exc:
            raise WriteFailed(f"{self.path}: cannot write the step log ({describe_os_error(exc)})") from None

    def on_fit_end(self, trainer, status: str) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
