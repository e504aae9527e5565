"""Several runs' curves on one axis (`nnctl plot RUN...`, `nnctl compare`): the runs arrive as Series
(label, x, y), already labelled so that no two share a label (nnctl.options.labels). Up to ten curves get
ten colours; more get colour + line style combinations (then markers), so that every curve looks different.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnctl.viz.curves import integer_epochs
from nnctl.viz.figure import figure_png, new_figure, save_figure

LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "x")

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


def style(index: int, count: int) -> dict:
    """Colour and line style of curve `index` of `count`: ten colours; beyond ten curves each round of ten
    gets its own line style (then markers), so no two curves of up to 160 look alike."""
    colour = f"C{index % 10}"
    if count <= 10:
        return {"color": colour, "linestyle": "-"}
    round_ = index // 10
    return {"color": colour, "linestyle": LINE_STYLES[round_ % len(LINE_STYLES)],
            "marker": MARKERS[(round_ // len(LINE_STYLES)) % len(MARKERS)] if round_ >= len(LINE_STYLES) else None}


def draw_overlay(series: list[Series], ylabel: str, xlabel: str, log_y: bool = False, title: str = "",
                 smooth: float = 0.0, width: float = 8, height: float = 5):
    """A figure with several runs' curves on one axis; with `smooth` > 0 each raw curve is drawn faintly
    under its smoothed one. The legend goes below the axis when there are many or long labels."""
    figure = new_figure(width, height)
    ax = figure.subplots()
    for i, s in enumerate(series):
        look = style(i, len(series))
        if smooth > 0:
            ax.plot(s.x, s.y, color=look["color"], alpha=0.25, linewidth=0.8)
            ax.plot(s.x, smoothed(s.y, smooth), linewidth=1.6, label=s.label, markevery=0.1, **look)
        else:
            marker = look.pop("marker", None) or ("o" if len(s.x) <= 60 else None)
            ax.plot(s.x, s.y, marker=marker, markersize=3, label=s.label, **look)
    integer_epochs(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (f" (smoothed {smooth:g})" if smooth > 0 else ""))
    if log_y:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    longest = max((len(s.label) for s in series), default=0)
    if len(series) > 6 or longest > 40:
        columns = 2 if len(series) > 12 and longest <= 45 else 1      # two columns only for short labels
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize="small", ncol=columns)
        figure.set_size_inches(width, height + 0.22 * (len(series) + 1) / columns)
    else:
        ax.legend()
    return figure


def plot_overlay(series: list[Series], ylabel: str, xlabel: str, path: Path, log_y: bool = False, title: str = "",
                 smooth: float = 0.0) -> None:
    """draw_overlay saved as a PNG at `path`."""
    save_figure(draw_overlay(series, ylabel, xlabel, log_y, title, smooth), path)


def overlay_png(series: list[Series], ylabel: str, xlabel: str, title: str = "") -> bytes:
    """draw_overlay as PNG bytes (for a page that carries its pictures inline)."""
    return figure_png(draw_overlay(series, ylabel, xlabel, title=title, width=7, height=4))
