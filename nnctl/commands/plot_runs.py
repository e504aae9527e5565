"""`nnctl plot RUN...`: one metric of several runs on one axis, per epoch (metrics.csv) or per optimizer
step (steps.csv, `--per-step`); the runs are read here and drawn by nnctl.viz.overlay.

Legends: by default each run is named by the config keys in which the overlaid runs differ (for example
`optimizer.type=momentum`), or by `--label KEY` values; a run folder name only when the configs agree.
A metric that a run does not have is a WorkError naming the run and what it has, never an empty picture.
Unless `--out` is given, the picture goes into the run folder (several runs: their closest common folder)."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

from nnctl.errors import InputError, WorkError
from nnctl.options.compare import differing_among, show_value, value_at
from nnctl.options.spec import did_you_mean
from nnctl.options.yamlio import parse_yaml
from nnctl.runs.run_dir import find_run, read_metrics
from nnctl.viz.curves import metric_label
from nnctl.viz.overlay import Series, plot_overlay

MAX_LEGEND_KEYS = 3


STEP_METRICS = {"train_loss": "loss", "lr": "lr"}


def run_config(run: Path) -> dict:
    """RUN/config.yaml as plain data ({} when it cannot be read: legends then fall back to names)."""
    try:
        raw = parse_yaml((run / "config.yaml").read_text(encoding="utf-8"), str(run / "config.yaml"))
    except (OSError, UnicodeDecodeError, InputError):
        return {}
    return raw if isinstance(raw, dict) else {}


def run_labels(runs: Sequence[Path], label_keys: Sequence[str] = ()) -> list[str]:
    """A legend entry per run: `--label` keys' values, else the keys in which the configs differ (up to
    three, `name` only when nothing else differs), else the run names (with the stamp where they repeat)."""
    configs = [run_config(run) for run in runs]
    keys = list(label_keys)
    for key in keys:
        for run, config in zip(runs, configs):
            try:
                value_at(config, key)
            except KeyError:
                raise InputError(f"--label {key}: {run}/config.yaml has no such key (keys look like "
                                 f"optimizer.lr or model.layers[0].units)") from None
    if not keys and len(runs) > 1:
        keys = differing_among(configs)
        if len(keys) > 1 and "name" in keys:
            keys.remove("name")
    if keys:
        shown, more = keys[:MAX_LEGEND_KEYS], len(keys) - MAX_LEGEND_KEYS
        return [", ".join(f"{k}={show_value(value)}" for k, value in present(config, shown))
                + (f" (+{more} more)" if more > 0 else "") for config in configs]
    names = [run.parent.name for run in runs]
    return [name if names.count(name) == 1 else f"{name}/{run.name}" for name, run in zip(names, runs)]


def present(config: dict, keys: Sequence[str]) -> list[tuple[str, object]]:
    """(key, value) for the keys the config has (an sgd run has no optimizer.momentum)."""
    found = []
    for key in keys:
        try:
            found.append((key, value_at(config, key)))
        except KeyError:
            continue
    return found


def epoch_series(run: Path, metric: str) -> tuple[list[float], list[float]]:
    """(epochs, values) of `metric` from RUN/metrics.csv; InputError (a --metric the run does not have) when
    the run has no value of it."""
    rows = read_metrics(run / "metrics.csv")
    if not any(r.get(metric) is not None for r in rows):
        has = [k for k in rows[0] if k != "epoch" and any(r.get(k) is not None for r in rows)]
        raise InputError(f"{run}: this run has no {metric!r}{did_you_mean(metric, has)}; it has {', '.join(has)}")
    return [r["epoch"] for r in rows], [float("nan") if r.get(metric) is None else r[metric] for r in rows]


def step_series(run: Path, column: str) -> tuple[list[float], list[float]]:
    """(steps, values) of `column` (loss or lr) from RUN/steps.csv; WorkError when there is none."""
    path = run / "steps.csv"
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [(float(r["step"]), float(r[column])) for r in csv.DictReader(handle)]
    except FileNotFoundError:
        raise WorkError(f"{run}: no steps.csv (the run was trained by an nnctl that wrote no per-step log); "
                        f"plot it per epoch without --per-step") from None
    except (OSError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise WorkError(f"{path}: not a readable steps.csv ({exc})") from None
    if not rows:
        raise WorkError(f"{path}: no steps recorded yet")
    return [r[0] for r in rows], [r[1] for r in rows]


def default_out(runs: Sequence[Path], name: str) -> Path:
    """The run folder (one run) or the runs' closest common folder (several), with file `name`."""
    if len(runs) == 1:
        return Path(runs[0]) / name
    try:
        return Path(os.path.commonpath([str(run) for run in runs])) / name
    except ValueError:                  # relative and absolute paths mixed
        return Path(os.path.commonpath([os.path.abspath(run) for run in runs])) / name


def plot_runs(paths: Sequence[Path], metric: str | None = None, out_file: Path | None = None, log_y: bool = False,
              label_keys: Sequence[str] = (), title: str = "", per_step: bool = False,
              smooth: float | None = None) -> Path:
    """Overlay `metric` of the runs at `paths` (run folders, or folders of runs: the newest is taken) per
    epoch, or per step with `per_step` (train_loss or lr); returns the picture's path."""
    runs = [find_run(path) for path in paths]
    labels = run_labels(runs, label_keys)
    if per_step:
        metric = metric or "train_loss"
        if metric not in STEP_METRICS:
            raise InputError(f"--per-step draws the training loss (--metric train_loss, the default) or the "
                             f"learning rate (--metric lr), not {metric!r}")
        curves = [step_series(run, STEP_METRICS[metric]) for run in runs]
        smooth = 0.9 if smooth is None and metric == "train_loss" else smooth or 0.0
        out_file = out_file or default_out(runs, f"steps_{metric}.png")
        xlabel = "step"
    else:
        metric = metric or "val_acc"
        curves = [epoch_series(run, metric) for run in runs]
        out_file, smooth, xlabel = out_file or default_out(runs, f"plot_{metric}.png"), smooth or 0.0, "epoch"
    series = [Series(label, x, y) for label, (x, y) in zip(labels, curves)]
    plot_overlay(series, metric_label(metric), xlabel, out_file, log_y, title, smooth)
    return out_file
