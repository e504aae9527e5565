"""The sweep's pictures, drawn from its trials (rows of trials.csv, as dicts):

    history.png      the metric of every trial in order, and the best so far
    params.png       the metric against each parameter, on a log axis for log-scale parameters (where the
                     good learning rates cluster); pruned trials in grey, at the best checkpoint they reached
    parallel.png     parallel coordinates: one line per complete trial across every parameter and the
                     metric, coloured by the metric
    importance.png   how much each parameter matters (PED-ANOVA), when there are enough trials
"""

from __future__ import annotations

import math
from pathlib import Path

from nnctl.viz.figure import new_figure, save_figure

COMPLETE, PRUNED = "tab:blue", "0.65"


def scored(rows: list[dict], metric: str, state: str) -> list[dict]:
    return [r for r in rows if r["state"] == state and r[metric] is not None and math.isfinite(r[metric])]


def plot_history(rows: list[dict], metric: str, maximize: bool, path: Path) -> None:
    figure = new_figure(8, 4.5)
    ax = figure.subplots()
    complete, pruned = scored(rows, metric, "complete"), scored(rows, metric, "pruned")
    if pruned:
        ax.scatter([r["trial"] for r in pruned], [r[metric] for r in pruned], color=PRUNED, marker="x",
                   label="pruned")
    ax.scatter([r["trial"] for r in complete], [r[metric] for r in complete], color=COMPLETE, label="complete")
    best, xs, ys = None, [], []
    for row in sorted(complete, key=lambda r: r["trial"]):
        if best is None or (row[metric] > best if maximize else row[metric] < best):
            best = row[metric]
        xs.append(row["trial"])
        ys.append(best)
    ax.step(xs, ys, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    figure.suptitle("optimization history")
    save_figure(figure, path)


def plot_params(rows: list[dict], params: list, metric: str, path: Path) -> None:
    columns = min(3, len(params))
    lines = math.ceil(len(params) / columns)
    figure = new_figure(4.2 * columns, 3.4 * lines)
    axes = figure.subplots(lines, columns, squeeze=False).ravel()
    for ax, param in zip(axes, params):
        for state, color, marker in (("pruned", PRUNED, "x"), ("complete", COMPLETE, "o")):
            points = [r for r in scored(rows, metric, state) if r.get(param.path) is not None]
            if not points:
                continue
            xs = [position(param, r[param.path]) for r in points]
            ax.scatter(xs, [r[metric] for r in points], color=color, marker=marker, s=18, label=state)
        show_range(ax, param)
        ax.set_xlabel(param.path)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    for ax in axes[len(params):]:
        ax.set_visible(False)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend()
    figure.suptitle(f"{metric} against each parameter")
    save_figure(figure, path)


def show_range(ax, param) -> None:
    """The x axis spans the parameter's whole range (so a cluster shows where it sits in it), on a log scale
    for log parameters (powers of 2 for integers); a choice's values label its positions."""
    # slow to import: loaded only when a picture is drawn
    from matplotlib import ticker

    if param.kind == "choice":
        ax.set_xticks(range(len(param.choices)), [str(c) for c in param.choices])
        ax.set_xlim(-0.5, len(param.choices) - 0.5)
        return
    if param.log:
        ax.set_xscale("log")
        ax.set_xlim(param.low / 1.2, param.high * 1.2)
        if param.kind == "int":
            ax.xaxis.set_major_locator(ticker.LogLocator(base=2))
            ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    else:
        margin = 0.04 * (param.high - param.low)
        ax.set_xlim(param.low - margin, param.high + margin)


def position(param, value) -> float:
    """Where a value sits on the parameter's axis: its index for a choice, else the number itself."""
    return float(param.choices.index(value)) if param.kind == "choice" else float(value)


def plot_parallel(rows: list[dict], params: list, metric: str, maximize: bool, path: Path) -> None:
    # slow to import: loaded only when a picture is drawn
    import matplotlib

    complete = scored(rows, metric, "complete")
    figure = new_figure(max(6.0, 1.6 * (len(params) + 1)), 4.8)
    ax = figure.subplots()
    axes = list(params) + [None]
    if complete:
        values = [r[metric] for r in complete]
        low, high = min(values), max(values)
        colours = matplotlib.colormaps["viridis"]
        for row in sorted(complete, key=lambda r: r[metric] if maximize else -r[metric]):
            ys = [scale(param, row.get(param.path), complete) if param else
                  (row[metric] - low) / (high - low) if high > low else 0.5 for param in axes]
            shade = (row[metric] - low) / (high - low) if high > low else 1.0
            ax.plot(range(len(axes)), ys, color=colours(shade if maximize else 1 - shade), alpha=0.8, lw=1.2)
    ax.set_xticks(range(len(axes)), [p.path if p else metric for p in axes], rotation=20, ha="right")
    ax.set_yticks([])
    ax.set_ylim(-0.1, 1.1)
    for x, param in enumerate(axes):
        ax.axvline(x, color="0.3", lw=0.8)
        if param is None:
            ends = [f"{v:.4g}" for v in (low, high)] if complete else ["", ""]
        else:
            ends = [f"{param.choices[0]}", f"{param.choices[-1]}"] if param.kind == "choice" else \
                [f"{param.low:g}", f"{param.high:g}"]
        ax.text(x, -0.04, ends[0], ha="center", va="top", fontsize=8)
        ax.text(x, 1.04, ends[1], ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-0.3, len(axes) - 0.7)
    figure.suptitle("parallel coordinates (complete trials; brighter = better)")
    save_figure(figure, path)


def scale(param, value, rows: list[dict]) -> float:
    """A value's height on its parameter's axis in [0, 1]: its place in the range (log scale for log
    parameters), or among the choices."""
    if value is None:
        return math.nan
    if param.kind == "choice":
        return param.choices.index(value) / max(1, len(param.choices) - 1)
    low, high, value = float(param.low), float(param.high), float(value)
    if param.log:
        low, high, value = math.log(low), math.log(high), math.log(value)
    return (value - low) / (high - low)


def plot_importance(importances: dict[str, float], path: Path) -> None:
    figure = new_figure(7, 0.5 * len(importances) + 1.5)
    ax = figure.subplots()
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color=COMPLETE)
    ax.set_xlabel("importance (PED-ANOVA, sums to 1)")
    ax.grid(alpha=0.3, axis="x")
    figure.suptitle("parameter importances")
    save_figure(figure, path)
