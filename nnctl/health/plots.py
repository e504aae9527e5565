"""health.png: a run's per-layer health over training, and its activation histograms at the start and end.

Top row, one line per layer against epochs: the std of each activation layer's output (log scale), the
share of dead ReLU units and of saturated sigmoid/tanh outputs, the gradient norm and the update/weight
ratio of every weight tensor (log scale; the dotted line marks the rule of thumb 1e-3), and, when the
network has batch norm, the mean of each gain (gamma). Bottom rows: for every activation layer (at most
MAX_HISTOGRAMS), the histogram of its outputs on the probe sample at the first record and at the latest one:
the course's picture of what a weight scale does to the activations.
"""

from __future__ import annotations

import math
from pathlib import Path

from nnctl.health.log import Histograms
from nnctl.health.measure import ACTIVATIONS
from nnctl.viz.figure import new_figure, save_figure

MAX_HISTOGRAMS = 12
HISTOGRAMS_PER_ROW = 6


def series(rows: list[dict], tensor_filter, value: str) -> dict[str, tuple[list[float], list[float]]]:
    """{label: (epochs, values)} of one column for the rows `tensor_filter` accepts, in record order."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        if tensor_filter(r) and r.get(value) is not None:
            label = r["node"] if r["tensor"] == "output" else f"{r['node']}.{r['tensor']}"
            xs, ys = out.setdefault(label, ([], []))
            xs.append(r["epoch"])
            ys.append(r[value])
    return out


def activation_nodes(rows: list[dict]) -> set[str]:
    nodes = {r["node"] for r in rows if r["tensor"] == "output" and r["layer"] in ACTIVATIONS}
    return nodes or {r["node"] for r in rows if r["tensor"] == "output"}


def _panel(ax, lines: dict, title: str, log: bool = False, guide: float | None = None) -> None:
    for label, (xs, ys) in lines.items():
        if log:
            ys = [y if y > 0 else math.nan for y in ys]
        ax.plot(xs, ys, marker="o", markersize=2, linewidth=1, label=label)
    if log and any(any(y > 0 for y in ys) for _, ys in lines.values()):
        ax.set_yscale("log")
    if guide is not None:
        ax.axhline(guide, color="black", linestyle=":", linewidth=1)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("epoch", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if lines:
        ax.legend(fontsize=6, ncol=1 + len(lines) // 8)
    else:
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center", transform=ax.transAxes, fontsize=8)


def plot_health(rows: list[dict], start: Histograms, end: Histograms, path: Path, title: str = "") -> None:
    """Draw the picture described in the module docstring from health.csv rows and the two histogram sets."""
    acts = activation_nodes(rows)
    is_weight = lambda r: r["tensor"] != "output" and r.get("weight") == 1   # noqa: E731
    panels = [
        (series(rows, lambda r: r["tensor"] == "output" and r["node"] in acts, "std"),
         "activation std", True, None),
        ({**series(rows, lambda r: r["tensor"] == "output", "dead"),
          **series(rows, lambda r: r["tensor"] == "output", "saturated")},
         "dead ReLU units / saturated outputs (share)", False, None),
        (series(rows, is_weight, "grad_norm"), "gradient norm ||dW||", True, None),
        (series(rows, is_weight, "update_ratio"), "update / weight ratio", True, 1e-3),
    ]
    gains = series(rows, lambda r: r["layer"] == "batchnorm" and r["tensor"] == "gamma", "mean")
    if gains:
        panels.append((gains, "batch-norm gain (mean gamma)", False, None))
    shown = [n for n in dict.fromkeys(r["node"] for r in rows) if n in start or n in end][:MAX_HISTOGRAMS]
    hist_rows = math.ceil(len(shown) / HISTOGRAMS_PER_ROW)
    columns = max(len(panels), min(len(shown), HISTOGRAMS_PER_ROW), 1)
    figure = new_figure(3.2 * columns, 3.2 * (1 + hist_rows))
    grid = figure.add_gridspec(1 + hist_rows, columns)
    for i, (lines, panel_title, log, guide) in enumerate(panels):
        _panel(figure.add_subplot(grid[0, i]), lines, panel_title, log, guide)
    for i, node in enumerate(shown):
        ax = figure.add_subplot(grid[1 + i // HISTOGRAMS_PER_ROW, i % HISTOGRAMS_PER_ROW])
        for hists, label, color in ((start, "start", "tab:blue"), (end, "end", "tab:orange")):
            if node in hists:
                _, edges, counts = hists[node]
                total = max(1, int(counts.sum()))
                ax.stairs(counts / total, edges, fill=label == "start", alpha=0.45 if label == "start" else 1.0,
                          color=color, label=label)
        layer = (start.get(node) or end.get(node))[0]
        ax.set_title(f"{node} ({layer}) outputs", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    if title:
        figure.suptitle(f"{title}: network health")
    save_figure(figure, path)
