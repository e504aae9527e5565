"""The TensorBoard logger: event files in RUN/tensorboard/ (or DIR/NAME/STAMP with `dir:`).

At the start of a new run: the config as YAML text (tag `config`) and as hparams; then each epoch's metrics
(step = epoch), the per-step loss and learning rate (step = global step), and at the end the report's
figures (final/...), the run folder's pictures (pictures/curves, ...) and the hparams session end.

A resumed run appends a new event file to the same folder. What the earlier files already hold is read
back first (with TensorBoard's own event file loader), and no tag gets a step it already has: an epoch
or a step re-run after a kill is not written twice.
"""

from __future__ import annotations

import time
from pathlib import Path

from nnctl.loggers import tb_records
from nnctl.loggers.base import EPOCH_TAG, Already, Logger, RunStart, epoch_figures, flatten, report_figures, shown
from nnctl.options.yamlio import dump_yaml

SUFFIX = ".nnctl"            # the event files this logger writes end so; only those are read back on resume
PICTURES = ("curves.png", "confusion.png", "health.png")


def folder_for(run_dir: Path, base: str | None) -> Path:
    """RUN/tensorboard, or BASE/NAME/STAMP (a sweep trial: BASE/SWEEP/trial-NNNN)."""
    if base is None:
        return run_dir / "tensorboard"
    return Path(base) / run_dir.parent.name / run_dir.name


def steps_written(folder: Path) -> dict[str, int]:
    """Tag -> the largest step this logger's earlier event files in `folder` hold (a file cut short by a kill
    is read up to its last whole record)."""
    # optional (the tensorboard extra): loaded when a run has a tensorboard logger
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    last: dict[str, int] = {}
    for path in sorted(folder.glob(f"events.out.tfevents.*{SUFFIX}")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                last[value.tag] = max(last.get(value.tag, -1), event.step)
    return last


class TensorBoardLogger(Logger):
    kind = "tensorboard"

    def __init__(self, options: dict):
        self.base = options.get("dir")
        self.writer = None
        self.run_dir: Path | None = None
        self.written: dict[str, int] = {}
        self.started = time.time()

    def start(self, run: RunStart) -> Already:
        # optional (the tensorboard extra): loaded when a run has a tensorboard logger
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.run_dir = run.run_dir
        folder = folder_for(run.run_dir, self.base)
        folder.mkdir(parents=True, exist_ok=True)
        self.written = steps_written(folder)
        self.writer = EventFileWriter(str(folder), max_queue_size=1000, flush_secs=30, filename_suffix=SUFFIX)
        if "config" not in self.written:
            self.add(tb_records.text("config", "```yaml\n" + dump_yaml(run.config) + "```\n"))
            self.add(tb_records.hparams_start({k: shown(v) for k, v in flatten(run.config).items()}, self.started))
            self.writer.flush()
        return Already(max(self.written.get(EPOCH_TAG, 0), 0), max(self.written.get("step/loss", 0), 0))

    def add(self, event) -> None:
        self.writer.add_event(event)

    def epoch(self, row: dict) -> None:
        for key, value in epoch_figures(row).items():
            self.add(tb_records.scalar(key, value, row["epoch"]))
        self.writer.flush()

    def steps(self, rows: list[tuple[int, float, float]]) -> None:
        for step, loss, lr in rows:
            self.add(tb_records.scalar("step/loss", loss, step))
            self.add(tb_records.scalar("step/lr", lr, step))
        self.writer.flush()

    def new(self, tag: str, step: int) -> bool:
        """Does no earlier event file hold `tag` at `step` or later? (A run re-run from an earlier checkpoint
        ends at a step it already reported.)"""
        return step > self.written.get(tag, -1)

    def end(self, report: dict) -> None:
        step = report.get("epochs_run") or 0
        for key, value in report_figures(report).items():
            if self.new(key, step):
                self.add(tb_records.scalar(key, value, step))
        for name in PICTURES:
            tag = f"pictures/{Path(name).stem}"
            if (self.run_dir / name).is_file() and self.new(tag, step):
                self.add(tb_records.image(tag, (self.run_dir / name).read_bytes(), step))
        self.add(tb_records.hparams_end(report.get("status", ""), time.time()))
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()
