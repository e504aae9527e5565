"""summary.csv and summary.md of a group: each metric's mean, standard deviation and per-run values.

The metrics are read from each finished run's report.json: every number of its `val` and `test` results
(val_acc, val_loss, test_acc, test_loss, and any other figure a report holds there, e.g. a macro F1), then
best_epoch and epochs_run. The standard deviation is the sample one (divided by n - 1), empty for one run.
Accuracies are shown in percent (their spread in percentage points), other figures as they are.

    summary_rows(reports)  -> [MetricRow(name, mean, std, values per run)]
    summary_csv(rows, labels), summary_markdown(title, rows, labels)
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from nnctl.viz.tables import markdown_table

SPLITS = ("val", "test")
COUNTS = ("best_epoch", "epochs_run")
NOT_METRICS = ("samples", "correct")        # sizes of the splits, not results


@dataclass(frozen=True)
class MetricRow:
    """One metric over the runs: mean and sample std of the values present; values per run (None: absent)."""

    name: str
    mean: float
    std: float | None
    values: tuple[float | None, ...]


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def metrics_of(report: dict) -> dict[str, float]:
    """{'val_acc': ..., 'val_loss': ..., 'test_acc': ..., ..., 'best_epoch': ..., 'epochs_run': ...}."""
    found: dict[str, float] = {}
    for split in SPLITS:
        for key, value in (report.get(split) or {}).items():
            if is_number(value) and key not in NOT_METRICS:
                found[f"{split}_{key}"] = float(value)
    for key in COUNTS:
        if is_number(report.get(key)):
            found[key] = float(report[key])
    return found


def summary_rows(reports: list[dict]) -> list[MetricRow]:
    """One row per metric any report has (first seen first), over the reports in order."""
    per_run = [metrics_of(r) for r in reports]
    names = list(dict.fromkeys(name for metrics in per_run for name in metrics))
    rows = []
    for name in names:
        values = tuple(metrics.get(name) for metrics in per_run)
        present = np.array([v for v in values if v is not None], dtype=np.float64)
        std = float(np.std(present, ddof=1)) if len(present) > 1 else None
        rows.append(MetricRow(name, float(np.mean(present)), std, values))
    return rows


def shown(name: str, value: float | None, spread: bool = False) -> str:
    """A value as the table shows it: accuracies in percent (a spread in points), counts whole."""
    if value is None:
        return "—"
    if name.endswith("_acc") or "_acc." in name or name.endswith("_top5"):
        return f"{100 * value:.2f}" if spread else f"{100 * value:.2f}%"
    if name in COUNTS and not spread and float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}" if spread or name in COUNTS else f"{value:.4f}"


def summary_csv(rows: list[MetricRow], labels: list[str]) -> str:
    """metric,mean,std,<label>,...: full precision, empty cells for absent values."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "mean", "std"] + labels)
    for row in rows:
        cells = [row.mean, row.std] + list(row.values)
        writer.writerow([row.name] + ["" if v is None else repr(v) for v in cells])
    return out.getvalue()


def summary_table(rows: list[MetricRow], labels: list[str]) -> list[str]:
    """The markdown table: metric | mean | std | one column per run."""
    table = [["metric", "mean", "std"] + labels]
    for row in rows:
        table.append([row.name, shown(row.name, row.mean), shown(row.name, row.std, spread=True)]
                     + [shown(row.name, v) for v in row.values])
    return markdown_table(table)


def summary_markdown(title: str, rows: list[MetricRow], labels: list[str], note: str) -> str:
    """summary.md: a title, the table, and what the columns mean (`note`: which runs are in it)."""
    lines = [f"# {title}", "", note, ""]
    if rows:
        lines += summary_table(rows, labels)
    else:
        lines.append("No run is done yet.")
    lines += ["", "mean and std (sample standard deviation, n - 1) over the runs done; accuracies in percent, "
                  "their std in percentage points. Per-run figures from each run's report.json (val: the "
                  "best checkpoint on the validation split).", ""]
    return "\n".join(lines)
