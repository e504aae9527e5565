"""`nnctl plot RUN...`: one metric of several runs on one axis, per epoch (metrics.csv) or per optimizer
step (steps.csv, `--per-step`).

Legends: by default each run is named by the config keys in which the overlaid runs differ (for example
`optimizer.type=momentum`), or by `--label KEY` values; a run folder name only when the configs agree.
A metric that a run does not have is a WorkError naming the run and what it has, never an empty picture.
Unless `--out` is given, the picture goes into the run folder (several runs: their closest common folder).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nnctl.config.compare import differing_among, show_value, value_at
from nnctl.config.spec import did_you_mean
from nnctl.errors import InputError, WorkError
from nnctl.viz.curves import integer_epochs, metric_label
from nnctl.viz.figure import new_figure, save_figure

MAX_LEGEND_KEYS = 3
STEP_METRICS = {"train_loss": "loss", "lr": "lr"}


@dataclass
class Series:
    label: str
    x: list[float]
    y: list[float]


def run_config(run: Path) -> dict:
    """RUN/config.yaml as plain data ({} when it cannot be read: legends then fall back to names)."""
    from nnctl.config.yamlio import parse_yaml

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
    """(epochs, values) of `metric` from RUN/metrics.csv; WorkError when the run has no value of it."""
    from nnctl.training.run_dir import read_metrics

    rows = read_metrics(run / "metrics.csv")
    if not any(r.get(metric) is not None for r in rows):
        has = [k for k in rows[0] if k != "epoch" and any(r.get(k) is not None for r in rows)]
        raise WorkError(f"{run}: this run has no {metric!r}{did_you_mean(metric, has)}; it has {', '.join(has)}")
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


def smoothed(values: list[float], weight: float) -> list[float]:
    """Exponential moving average with the start-up bias removed: s_t = w s_(t-1) + (1 - w) v_t, divided
    by 1 - w^t (TensorBoard's smoothing)."""
    out, running, norm = [], 0.0, 0.0
    for value in values:
        running = weight * running + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out.append(running / norm)
    return out


def default_out(runs: Sequence[Path], name: str) -> Path:
    """The run folder (one run) or the runs' closest common folder (several), with file `name`."""
    if len(runs) == 1:
        return Path(runs[0]) / name
    try:
        return Path(os.path.commonpath([str(run) for run in runs])) / name
    except ValueError:                  # relative and absolute paths mixed
        return Path(os.path.commonpath([os.path.abspath(run) for run in runs])) / name


def plot_overlay(series: list[Series], ylabel: str, xlabel: str, path: Path, log_y: bool = False, title: str = "",
                 smooth: float = 0.0) -> None:
    """Several runs' curves on one axis; with `smooth` > 0 each raw curve is drawn faintly under its
    smoothed one."""
    figure = new_figure(8, 5)
    ax = figure.subplots()
    for i, s in enumerate(series):
        colour = f"C{i % 10}"
        if smooth > 0:
            ax.plot(s.x, s.y, color=colour, alpha=0.25, linewidth=0.8)
            ax.plot(s.x, smoothed(s.y, smooth), color=colour, linewidth=1.6, label=s.label)
        else:
            ax.plot(s.x, s.y, color=colour, marker="o" if len(s.x) <= 60 else None, markersize=3, label=s.label)
    integer_epochs(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (f" (smoothed {smooth:g})" if smooth > 0 else ""))
    if log_y:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(figure, path)


def plot_runs(paths: Sequence[Path], metric: str | None = None, out_file: Path | None = None, log_y: bool = False,
              label_keys: Sequence[str] = (), title: str = "", per_step: bool = False,
              smooth: float | None = None) -> Path:
    """Overlay `metric` of the runs at `paths` (run folders, or folders of runs: the newest is taken) per
    epoch, or per step with `per_step` (train_loss or lr); returns the picture's path."""
    from nnctl.training.run_dir import find_run

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
