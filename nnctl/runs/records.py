"""Run folders found below some folders, each read into one RunRecord: what `nnctl runs` and `nnctl compare`
list. Only report.json, config.yaml and (for a run without a report) metrics.csv are read.

A run folder is a folder holding config.yaml; the search goes down through any other folders (a runs/
folder, a run name's folder of stamps, a sweep folder, a --seeds/--folds group folder) but never into a
run folder, nor into hidden folders (a run being created is filled under a hidden name).

A finished run's config comes from report.json's `config` (JSON reads about 20 times faster than YAML,
which is what keeps a folder of 1,000 runs under 2 s); config.yaml is parsed for a run without a report
or with a report from an nnctl that did not copy the config into it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from nnctl.errors import InputError
from nnctl.limits import MAX_CONFIG_BYTES, MAX_META_BYTES
from nnctl.options.yamlio import parse_yaml
from nnctl.runs.liveness import live_status
from nnctl.runs.run_dir import read_metrics

MAX_DEPTH = 12                      # folders below each given folder that are searched
PREFERENCE = ("val_acc", "val_loss", "train_acc", "train_loss")     # train.monitor: auto, as nnctl.build picks


@dataclass(frozen=True)
class RunRecord:
    """One run as listed. `test` maps figure names (test_loss, test_acc, test_loss.NAME, test_acc.NAME,
    test_reconstruction_mse) to floats; `best_metrics` is the best epoch's metrics.csv row; `started` is
    config.yaml's modification time (the run folder's creation), seconds since the epoch."""

    path: Path
    name: str
    status: str
    epochs: int
    epochs_planned: int | None
    best_epoch: int | None
    monitor: str | None
    best_value: float | None
    test: dict = field(default_factory=dict)
    best_metrics: dict = field(default_factory=dict)
    seconds: float | None = None
    started: float = 0.0
    config: dict = field(default_factory=dict)
    note: str = ""


def find_run_folders(folders: list[Path]) -> list[Path]:
    """Every run folder at or below `folders`, each once, in the order found; InputError for a folder that
    does not exist."""
    found: list[Path] = []
    seen: set[str] = set()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"{folder}: no such folder (give run folders, or folders that hold them: runs/, "
                             f"a sweep folder)")
        _walk(folder, 0, found, seen)
    return found


def _walk(folder: Path, depth: int, found: list[Path], seen: set[str]) -> None:
    if (folder / "config.yaml").is_file():
        key = os.path.realpath(folder)
        if key not in seen:
            seen.add(key)
            found.append(folder)
        return
    if depth >= MAX_DEPTH:
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(".") and entry.is_dir():
            _walk(folder / entry.name, depth + 1, found, seen)


def read_json(path: Path) -> dict | None:
    """A JSON object from `path`, None when missing, too large or not a JSON object."""
    try:
        if path.stat().st_size > MAX_META_BYTES:
            return None
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def stored_config(run: Path) -> dict:
    """RUN/config.yaml as plain data, {} when it cannot be read (the run still lists, without key columns)."""
    path = Path(run) / "config.yaml"
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return {}
        value = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, InputError):
        return {}
    return value if isinstance(value, dict) else {}


def number(value) -> float | int | None:
    """A report's figure if it is a number (a report may come from anywhere), else None."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def integer(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def test_figures(report: dict) -> dict:
    """test_loss, test_acc, each term's test_loss.NAME, each head's test_acc.NAME, test_reconstruction_mse."""
    test = report.get("test") if isinstance(report.get("test"), dict) else {}
    figures = {"test_loss": test.get("loss"), "test_acc": test.get("acc")}
    for kind, key in (("loss", "term_loss"), ("acc", "head_acc")):
        terms = test.get(key) if isinstance(test.get(key), dict) else {}
        figures.update({f"test_{kind}.{k}": v for k, v in terms.items()})
    if "reconstruction_mse" in test:
        figures["test_reconstruction_mse"] = test["reconstruction_mse"]
    return {k: v for k, v in figures.items() if number(v) is not None}


def read_run(run: Path) -> RunRecord:
    """The record of one run folder; never raises for a run being written or cut short."""
    run = Path(run)
    try:
        started = (run / "config.yaml").stat().st_mtime
    except OSError:
        started = 0.0
    report = read_json(run / "report.json")
    status = live_status(run, report is not None)
    if report is not None and status is None:
        config = report.get("config") if isinstance(report.get("config"), dict) else stored_config(run)
        best = report.get("best_metrics") if isinstance(report.get("best_metrics"), dict) else {}
        best = {k: v for k, v in best.items() if number(v) is not None}
        return RunRecord(run, str(report.get("name", run.parent.name)), str(report.get("status", "?")),
                         int(number(report.get("epochs_run")) or 0), integer(report.get("epochs_planned")),
                         integer(report.get("best_epoch")) or None,
                         report.get("monitor") if isinstance(report.get("monitor"), str) else None,
                         number(report.get("best_value")), test_figures(report), best,
                         number(report.get("total_seconds")), started, config)
    config = stored_config(run)
    return from_metrics(run, status or "interrupted", config, started)


def from_metrics(run: Path, status: str, config: dict, started: float) -> RunRecord:
    """A run without a (current) report: its figures so far from metrics.csv (none before the first epoch)."""
    train = config.get("train") if isinstance(config.get("train"), dict) else {}
    name = str(config.get("name", run.parent.name))
    try:
        rows = read_metrics(run / "metrics.csv") if (run / "metrics.csv").is_file() else []
    except InputError:
        rows = []
    monitor = train.get("monitor") if isinstance(train.get("monitor"), str) else None
    if rows and monitor in (None, "auto"):
        monitor = next((m for m in PREFERENCE if any(r.get(m) is not None for r in rows)), None)
    scored = [r for r in rows if monitor and r.get(monitor) is not None]
    best = None
    if scored:
        pick = max if monitor.partition(".")[0].endswith("acc") else min
        best = pick(scored, key=lambda r: r[monitor])
    seconds = sum(r.get("seconds") or 0.0 for r in rows) if rows else None
    note = "" if rows else "no completed epoch yet" if status == "running" else "no completed epoch"
    return RunRecord(run, name, status, len(rows), integer(train.get("epochs")), int(best["epoch"]) if best else None,
                     monitor, best[monitor] if best else None, {}, best or {}, seconds, started, config, note)


def read_runs(folders: list[Path]) -> list[RunRecord]:
    """Every run at or below `folders`, newest first (by start time, then path)."""
    records = [read_run(run) for run in find_run_folders(folders)]
    return sorted(records, key=lambda r: (-r.started, str(r.path)))
