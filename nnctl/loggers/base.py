"""What every logger receives and remembers.

A logger is started once per process (a new run, or a resumed one), then gets each epoch's metrics row (as
metrics.csv has it: `epoch`, `lr`, `train_loss`, ..., `seconds`), batches of per-step rows (global step,
loss, learning rate: the rows of steps.csv) and finally the report; `start` says how far it already got
(a resumed run's logger must not write an epoch or step twice). Names are shared by both loggers:

    epoch metrics     the metrics.csv column names, step = epoch (1-based)
    per-step          step/loss and step/lr, step = global step (1-based)
    report figures    final/<split>_<figure> (final/test_acc, final/val_loss, ...), final/best_epoch, at the
                      last epoch run

loggers.json in the run folder keeps what a logger must find again on resume (the MLflow run id), as data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl.atomic import write_text_atomic
from nnctl.errors import WorkError
from nnctl.limits import MAX_META_BYTES

STATE_FILE = "loggers.json"
EPOCH_TAG = "train_loss"           # every run has it: how far a logger's epochs go
STEP_TAGS = ("step/loss", "step/lr")
INSTALL = {"tensorboard": "pip install 'nnctl[tensorboard]'", "mlflow": "pip install 'nnctl[mlflow]'"}


@dataclass(frozen=True)
class RunStart:
    """What a logger is started with: the run folder, its name, its resolved config (plain data, in file
    order) and whether the run continues an earlier process."""

    run_dir: Path
    name: str
    config: dict
    resumed: bool


@dataclass(frozen=True)
class Already:
    """What a logger already holds: epochs up to `epoch` and steps up to `step` (0: none)."""

    epoch: int = 0
    step: int = 0


class Logger:
    """Base class of a logger; every method may raise, and the caller then drops the logger."""

    kind = ""

    def start(self, run: RunStart) -> Already:
        raise NotImplementedError

    def epoch(self, row: dict) -> None:
        raise NotImplementedError

    def steps(self, rows: list[tuple[int, float, float]]) -> None:
        raise NotImplementedError

    def end(self, report: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Let go of files and connections; called once, also after a failure."""


WIDTH = 200          # characters of a logger's error shown in its warning line


def first_line(exc: BaseException) -> str:
    """An exception as one line for a warning: its type and the first line of its message, cut at WIDTH."""
    text = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= WIDTH else text[:WIDTH - 3] + "..."


class MissingPackage(WorkError):
    """A logger's optional package is not installed (exit code 1)."""


def epoch_figures(row: dict) -> dict[str, float]:
    """A metrics row's numbers, `epoch` (the step) and empty cells (train_acc of a regression) left out."""
    return {key: float(value) for key, value in row.items()
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool)}


def report_figures(report: dict) -> dict[str, float]:
    """final/<split>_<figure> for every number the report measured on each split (lists such as the
    confusion matrix left out), and final/best_epoch."""
    out = {}
    for split in ("train", "val", "test"):
        for key, value in flatten(report.get(split) or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and "confusion" not in key \
                    and "per_class" not in key:
                out[f"final/{split}_{key}"] = float(value)
    if report.get("best_epoch"):
        out["final/best_epoch"] = float(report["best_epoch"])
    return out


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings and lists as one mapping of dotted paths to plain values: {"model.layers.0.units": 128,
    ...} (list items by index; MLflow's names allow no brackets). An empty mapping or list stays a value."""
    if isinstance(value, dict) and value:
        items = value.items()
    elif isinstance(value, list) and value:
        items = enumerate(value)
    else:
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for key, item in items:
        out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def shown(value: Any) -> str | float | int | bool:
    """A config value as a param or hparam holds it: numbers and booleans as they are, the rest as text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return "null" if value is None else json.dumps(value)


def read_state(run_dir: Path) -> dict:
    """loggers.json of a run folder ({} when missing or unreadable)."""
    path = run_dir / STATE_FILE
    try:
        if path.stat().st_size > MAX_META_BYTES:
            return {}
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(run_dir: Path, kind: str, entry: dict) -> None:
    """Keep `entry` under `kind` in the folder's loggers.json (written whole or not at all)."""
    state = read_state(run_dir)
    state[kind] = entry
    write_text_atomic(run_dir / STATE_FILE, json.dumps(state, indent=2) + "\n", "logger state")
