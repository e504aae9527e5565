"""`nnctl plot RUN...`: one metric of several runs on one axis, per epoch (metrics.csv) or per optimizer
step (steps.csv, `--per-step`).

Legends: by default each run is named by the config keys in which the overlaid runs differ (for example
`optimizer.type=momentum`), or by `--label KEY` values; a run folder name only when the configs agree.
A metric that a run does not have is a WorkError naming the run and what it has, never an empty picture.
Unless `--out` is given, the picture goes into the run folder (several runs: their closest common folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnctl.viz.curves import integer_epochs
from nnctl.viz.figure import new_figure, save_figure

@dataclass
class Series:
    label: str
    x: list[float]
    y: list[float]


def smoothed(values: list[float], weight: float) -> list[float]:
    """Exponential moving average with the start-up bias removed: s_t = w s_(t-1) + (1 - w) v_t, divided
    by 1 - w^t (TensorBoard's smoothing)."""
    out, running, norm = [], 0.0, 0.0
    for value in values:
        running = weight * running + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out.append(running / norm)
    return out


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
