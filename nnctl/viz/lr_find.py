"""lr_find.png: the learning-rate range test's loss against the learning rate (log scale).

The batch losses are drawn faint, their smoothed curve solid, and a dotted vertical line marks the suggested
learning rate with the rule that chose it. The loss axis is cut at twice the first smoothed value (above it
the test is only diverging) so that the useful part of the curve keeps its height.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.viz.figure import new_figure, save_figure


def draw_lr_find(lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, suggestion: float, rule: str,
                 path: str | Path, title: str = "learning-rate range test") -> None:
    """Write the picture to `path` (PNG, atomically). lrs, losses, smoothed: (n,) arrays of one test."""
    figure = new_figure(6.4, 4.2)
    ax = figure.add_subplot()
    ax.plot(lrs, losses, color="C0", alpha=0.3, linewidth=0.8, label="batch loss")
    ax.plot(lrs, smoothed, color="C0", linewidth=1.8, label="smoothed loss")
    ax.axvline(suggestion, color="C3", linestyle=":", linewidth=1.5, label=f"suggested lr {suggestion:.3g} ({rule})")
    ax.set_xscale("log")
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size:
        low, high = float(finite.min()), 2.0 * float(finite[0])
        if high > low:
            ax.set_ylim(low - 0.05 * (high - low), high)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    save_figure(figure, path)
