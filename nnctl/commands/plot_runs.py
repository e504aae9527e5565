"""`nnctl plot RUN...`: one metric of several runs on one axis, per epoch (metrics.csv) or per optimizer
step (steps.csv, `--per-step`); the runs are read here and drawn by nnctl.viz.overlay.

Legends: by default each run is named by the values of the config keys in which the overlaid runs differ
(`type=momentum, lr=0.01`, nnctl.options.labels), or by `--label KEY` values; two runs never share a label.
A folder of run folders (runs/NAME) stands for its newest run; any other folder (runs/) for every run below.
A metric that a run does not have is a WorkError naming the run and what it has, never an empty picture.
Unless `--out` is given, the picture goes into the run folder (several runs: their closest common folder)."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from pathlib import Path

from nnctl.errors import InputError, WorkError
from nnctl.options.compare import value_at
from nnctl.options.key_columns import key_columns
from nnctl.options.labels import distinct_labels
from nnctl.options.spec import did_you_mean
from nnctl.runs.records import find_run_folders, stored_config
from nnctl.runs.run_dir import find_run, read_metrics
from nnctl.viz.curves import metric_label
from nnctl.viz.overlay import Series, plot_overlay

STEP_METRICS = {"train_loss": "loss", "lr": "lr"}


def run_config(run: Path) -> dict:
    """RUN/config.yaml as plain data ({} when it cannot be read: legends then fall back to names)."""
    return stored_config(run)


def run_labels(runs: Sequence[Path], label_keys: Sequence[str] = ()) -> list[str]:
    """A legend entry per run, never two alike: `--label` keys' values, else the values of the keys in which
    the configs differ (see nnctl.options.labels), else the run folders."""
    configs = [run_config(run) for run in runs]
    for key in label_keys:
        for run, config in zip(runs, configs):
            try:
                value_at(config, key)
            except KeyError:
                raise InputError(f"--label {key}: {run}/config.yaml has no such key (keys look like "
                                 f"optimizer.lr or model.layers[0].units)") from None
    return distinct_labels(configs, run_names(runs), label_keys, first=swept_keys(runs, configs))


def swept_keys(runs: Sequence[Path], configs: list[dict]) -> list[str]:
    """Every differing key when the runs are trials of one sweep (SWEEP/trial-NNNN: what differs between them
    is what the sweep varies), so that a long label never hides one; none otherwise."""
    trials = len({run.parent for run in runs}) == 1 and all(re.fullmatch(r"trial-\d+", run.name) for run in runs)
    return [column.name for column in key_columns(configs)] if trials and len(runs) > 1 else []


def run_names(runs: Sequence[Path]) -> list[str]:
    """Each run's folder of runs (its config name), with the run folder's own name where those repeat."""
    names = [run.parent.name for run in runs]
    return [name if names.count(name) == 1 else f"{name}/{run.name}" for name, run in zip(names, runs)]


def expand(paths: Sequence[Path]) -> tuple[list[Path], bool]:
    """The run folders `paths` stand for: a run folder itself; a folder of run folders (runs/NAME): its
    newest run; any other folder (runs/, a group of groups): every run below it. The flag says whether
    some folder was expanded into all its runs (whose runs without the metric are then left out)."""
    runs, expanded = [], False
    for path in paths:
        path = Path(path)
        if (path / "metrics.csv").is_file() or any(path.glob("*/metrics.csv")):
            runs.append(find_run(path))
            continue
        below = [run for run in find_run_folders([path]) if (run / "metrics.csv").is_file()] if path.is_dir() else []
        if not below:
            raise InputError(f"{path}: not a run directory (no metrics.csv in it or in its subfolders)")
        runs += below
        expanded = True
    return runs, expanded


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
              smooth: float | None = None) -> tuple[Path, list[str]]:
    """Overlay `metric` of the runs at `paths` (see `expand`) per epoch, or per step with `per_step`
    (train_loss or lr); returns the picture's path and a line for each run left out (a folder's run that
    lacks the metric or any completed epoch)."""
    runs, expanded = expand(paths)
    if per_step:
        metric = metric or "train_loss"
        if metric not in STEP_METRICS:
            raise InputError(f"--per-step draws the training loss (--metric train_loss, the default) or the "
                             f"learning rate (--metric lr), not {metric!r}")
        read, name, xlabel = (lambda run: step_series(run, STEP_METRICS[metric])), f"steps_{metric}.png", "step"
        smooth = 0.9 if smooth is None and metric == "train_loss" else smooth or 0.0
    else:
        metric = metric or "val_acc"
        read, name, xlabel, smooth = (lambda run: epoch_series(run, metric)), f"plot_{metric}.png", "epoch", smooth or 0.0
    curves, kept, left_out = [], [], []
    for run in runs:
        try:
            curves.append(read(run))
            kept.append(run)
        except (InputError, WorkError) as exc:
            if not expanded:
                raise
            left_out.append(f"left out {exc}")
    if not kept:
        raise InputError(f"no run below {', '.join(map(str, paths))} has {metric!r} to plot ({len(runs)} runs: "
                         f"{left_out[0]})")
    out_file = out_file or default_out(kept, name)
    series = [Series(label, x, y) for label, (x, y) in zip(run_labels(kept, label_keys), curves)]
    plot_overlay(series, metric_label(metric), xlabel, out_file, log_y, title, smooth)
    return out_file, left_out
