"""The run directory: where a training run writes everything a person wants afterwards.

    runs/<name>/<YYYYmmdd-HHMMSS>/
      config.yaml        the resolved config (defaults filled, overrides applied)
      metrics.csv        one row per epoch: epoch, lr, train_loss, train_acc, val_loss, val_acc, seconds
                         (with several loss terms also train_loss.NAME, val_acc.NAME, ...: see
                         nnctl.build.metric_names)
      steps.csv          one row per optimizer step (or every k-th): step, epoch, loss, lr
      checkpoints/       last.npz, best.npz
      curves.png         loss and accuracy curves
      confusion.png      the test confusion matrix (classifier runs)
      report.json, report.md
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nnctl.atomic import WriteFailed, describe_os_error, write_text_atomic
from nnctl.errors import InputError
from nnctl.limits import exceeds_budget, show_bytes

CSV_EXPANSION = 64          # bytes of Python objects per byte of CSV text, at most

METRIC_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")   # one loss term


def create_run_dir(out: str | Path, name: str, config_text: str) -> Path:
    """A new `out/name/<timestamp>` folder (suffixed -2, -3, ... if that second is taken) holding
    config.yaml. It appears whole: the folder is filled under a hidden temporary name and then renamed, so
    a run folder without its config (which no --resume could continue) never exists."""
    return staged_folder(Path(out) / name, "run", "",
                         lambda staging: write_text_atomic(staging / "config.yaml", config_text, "config"))


def staged_folder(parent: Path, what: str, suffix: str, fill: Callable[[Path], None]) -> Path:
    """A new folder `parent/<timestamp>[-2, -3, ...]<suffix>` that appears whole: `fill(staging)` writes its
    files under a hidden temporary name in `parent`, which is then renamed. `what` names it in errors
    ("run", "group"); nothing is left behind when filling fails."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".new-{what}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise InputError(f"{parent}: cannot create the {what} folder ({describe_os_error(exc)})") from None
    try:
        fill(staging)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for number in [""] + [f"-{i}" for i in range(2, 1000)]:
            candidate = parent / f"{stamp}{number}{suffix}"
            if candidate.exists():
                continue
            try:
                os.rename(staging, candidate)
                return candidate
            except OSError:
                if not candidate.exists():
                    raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    raise InputError(f"{parent}: too many {what}s started in the same second")


class MetricsLog:
    """metrics.csv, appended and flushed one row per epoch so it is readable while training runs.

    It starts as the header (`columns`, the run's metric names) plus `rows` (the rows a resumed run already
    has, written atomically, so rows of epochs after the resumed checkpoint are dropped and there is never
    a second header)."""

    def __init__(self, path: Path, rows: list[dict] = (), columns: Sequence[str] = METRIC_COLUMNS):
        self.path = path
        self.columns = tuple(columns)
        lines = io.StringIO()
        writer = csv.writer(lines)
        writer.writerow(self.columns)
        for row in rows:
            writer.writerow(self.cells(row))
        write_text_atomic(path, lines.getvalue(), "metrics log")

    def append(self, row: dict) -> None:
        try:
            with open(self.path, "a", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerow(self.cells(row))
        except OSError as exc:
            raise WriteFailed(f"{self.path}: cannot write the metrics log ({describe_os_error(exc)})") from None

    def cells(self, row: dict) -> list[str]:
        return [_cell(row.get(c)) for c in self.columns]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class NoEpochs(InputError):
    """A metrics.csv with its header and no row: the run has not completed an epoch."""


def read_metrics(path: Path) -> list[dict[str, float | None]]:
    """Rows of a metrics.csv as dicts of floats (None for empty cells); its size is checked against memory
    first (a run folder may come from anywhere)."""
    try:
        budget = exceeds_budget(CSV_EXPANSION * path.stat().st_size)
        if budget is not None:
            raise InputError(f"{path}: too large to read in the {show_bytes(budget)} of memory available")
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = [{k: (float(v) if v not in ("", None) else None) for k, v in row.items()} for row in reader]
            header = reader.fieldnames or []
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable metrics.csv ({exc})") from None
    if not rows and "epoch" in header:
        raise NoEpochs(f"{path.parent}: the run has no completed epoch (it ended, diverged or was stopped during "
                       f"its first epoch, or is still in it; its report.md says how it ended)")
    if not rows or "epoch" not in rows[0]:
        raise InputError(f"{path}: not an nnctl metrics.csv (no epoch rows)")
    return rows


def newest_run(path: str | Path) -> Path:
    """`path` itself, unless it is a folder of runs (no config.yaml of its own, run folders inside): then
    its newest run (run folders are named by their start time). Lets `runs/autoencoder` stand for the
    latest run of that name."""
    path = Path(path)
    if path.is_dir() and not (path / "config.yaml").is_file():
        runs = sorted(p.parent for p in path.glob("*/config.yaml"))
        if runs:
            return runs[-1]
    return path


def config_of(path: str | Path) -> Path:
    """The config file `path` stands for: a config file itself, a run folder's config.yaml, or that of the
    newest run in a folder of runs."""
    path = Path(path)
    if not path.is_dir():
        return path
    run = newest_run(path)
    if not (run / "config.yaml").is_file():
        raise InputError(f"{path}: not a run folder (no config.yaml in it or in its subfolders); give a config "
                         f"file or a run folder")
    return run / "config.yaml"


def find_run(path: str | Path) -> Path:
    """A run directory from a path to it, or to a folder of runs (the newest one is taken)."""
    path = Path(path)
    if (path / "metrics.csv").is_file():
        return path
    if path.is_dir():
        runs = sorted(p.parent for p in path.glob("*/metrics.csv"))
        if runs:
            return runs[-1]
    raise InputError(f"{path}: not a run directory (no metrics.csv in it or in its subfolders)")


def refuse_config(target: Path) -> None:
    """A config file where a run or checkpoint was wanted: say so, and what to give instead."""
    if target.suffix in (".yaml", ".yml") and target.is_file():
        raise InputError(f"{target}: is a config file, not a run folder or checkpoint; train it first "
                         f"(nnctl train {target}) and give the run folder")


def find_checkpoint(target: str | Path) -> Path:
    """The checkpoint a path stands for: a checkpoint file itself, a run folder's checkpoints/best.npz, or
    the best.npz of the newest run (by folder name, i.e. time stamp) in a folder of runs."""
    target = Path(target)
    refuse_config(target)
    if target.is_file():
        return target
    if target.is_dir():
        best = target / "checkpoints" / "best.npz"
        if best.is_file():
            return best
        runs = sorted(p.parent.parent for p in target.glob("*/checkpoints/best.npz"))
        if runs:
            return runs[-1] / "checkpoints" / "best.npz"
        raise InputError(f"{target}: no checkpoints/best.npz in this folder or in a run folder inside it")
    raise InputError(f"{target}: no such run folder or checkpoint file")
