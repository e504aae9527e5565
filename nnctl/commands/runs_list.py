"""`nnctl runs [FOLDER...]`: one row per run found below the folders, newest first, with its results and
one column per config key in which the listed runs differ; filtered (--where), sorted (--sort), cut
(--limit) and printed as a table, CSV or JSON (nnctl.commands.runs_format).

Figures of a row (the names --sort and --where take): path, config, status, epochs, epochs_planned,
best_epoch, monitor, best_value (the monitored metric at the best epoch), the best epoch's own metrics
(val_acc, val_loss, train_acc, train_loss, ...), test_loss, test_acc (and test_loss.NAME, test_acc.NAME per
loss term and head), seconds (the training's wall time, the sum of its epochs), started; and the key
columns, by their column name or full key path (optimizer.lr).
"""

from __future__ import annotations

import fnmatch
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nnctl.errors import InputError
from nnctl.optim.monitor import direction
from nnctl.options.compare import show_value, value_at
from nnctl.options.key_columns import MISSING, KeyColumn, find_column, key_columns
from nnctl.runs.records import RunRecord, read_runs

ASCENDING_FIGURES = ("path", "config", "status", "monitor")
FIGURES = ("path", "config", "status", "epochs", "epochs_planned", "best_epoch", "monitor", "best_value", "val_acc",
           "val_loss", "train_acc", "train_loss", "test_loss", "test_acc", "seconds", "started", "time", "best",
           "run", "monitored")


@dataclass(frozen=True)
class RunsView:
    """The rows to print (records, in order) and the key columns in which they differ."""
    records: list[RunRecord]
    columns: list[KeyColumn]


def figures(record: RunRecord) -> dict:
    """A run's figures by name, unrounded (None where the run has none)."""
    row = {"path": str(record.path), "config": record.name, "status": record.status, "epochs": record.epochs,
           "epochs_planned": record.epochs_planned, "best_epoch": record.best_epoch, "monitor": record.monitor,
           "best_value": record.best_value}
    row.update({k: v for k, v in record.best_metrics.items() if k not in ("epoch", "lr", "seconds")})
    row.update({"test_loss": None, "test_acc": None})
    row.update(record.test)
    row["seconds"] = record.seconds
    row["started"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.started))
    return row


def lookup(record: RunRecord, columns: list[KeyColumn], key: str):
    """The value `key` names for one run: a figure, a key column, or any config key path; MISSING if none."""
    row = figures(record)
    if key in row:
        return row[key]
    column = find_column(columns, key)
    if column is not None:
        return column.value(record.config)
    try:
        return value_at(record.config, key)
    except KeyError:
        return MISSING


def known(records: list[RunRecord], columns: list[KeyColumn], key: str, option: str) -> None:
    """InputError unless `key` names something of at least one run."""
    if not any(lookup(r, columns, key) is not MISSING for r in records):
        names = ", ".join(list(figures(records[0]))[:12] + [c.name for c in columns])
        raise InputError(f"{option} {key}: no listed run has it; use a figure ({names}) or a config key "
                         f"path such as optimizer.lr")


def matches(value, pattern: str) -> bool:
    """VALUE of --where against a run's value: as numbers when both are numbers (0.01 matches 1e-2), else
    the value's YAML spelling against the text, as a glob when it holds * ? or [."""
    if value is MISSING:
        return False
    text = value if isinstance(value, str) else show_value(value, width=10_000)
    try:
        if not isinstance(value, (str, bool)) and value is not None and float(pattern) == float(value):
            return True
    except (TypeError, ValueError):
        pass
    return fnmatch.fnmatchcase(text, pattern) if any(c in pattern for c in "*?[") else text == pattern


def parse_where(conditions: Sequence[str]) -> list[tuple[str, str]]:
    pairs = []
    for condition in conditions:
        key, sep, value = condition.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--where {condition}: expected KEY=VALUE, e.g. optimizer.type=sgd or status=comp*")
        pairs.append((key.strip(), value))
    return pairs


def sort_key(value, descending: bool):
    """Missing and non-finite values last in either direction."""
    if value is MISSING or value is None or (isinstance(value, float) and not math.isfinite(value)):
        return (1, 0.0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, -value if descending else value, "")
    return (0, 0.0, str(value))


def list_runs(folders: Sequence[Path], sort: str | None = None, where: Sequence[str] = (),
              limit: int | None = None) -> RunsView:
    """The runs at or below `folders`, filtered by every --where, sorted by `sort` (best first: accuracies
    descending, losses and everything else ascending) or newest first, at most `limit` of them; the key
    columns are those in which the rows left differ."""
    records = read_runs(list(folders))
    if not records:
        raise InputError(f"{', '.join(map(str, folders))}: no run folders (folders holding config.yaml) here "
                         f"or below")
    conditions = parse_where(where)
    columns = key_columns([r.config for r in records], reserved=FIGURES)
    for key, _ in conditions:
        known(records, columns, key, "--where")
    records = [r for r in records if all(matches(lookup(r, columns, k), v) for k, v in conditions)]
    if sort is not None and records:
        known(records, columns, sort, "--sort")
        metric = records[0].monitor if sort == "best_value" and records[0].monitor else sort
        descending = sort not in ASCENDING_FIGURES and direction(metric) == "max"
        if sort in ("epochs", "best_epoch"):
            descending = True
        if isinstance(lookup(records[0], columns, sort), str):
            descending = False
        records.sort(key=lambda r: sort_key(lookup(r, columns, sort), descending))
    if limit is not None:
        records = records[:limit]
    return RunsView(records, key_columns([r.config for r in records], reserved=FIGURES))
