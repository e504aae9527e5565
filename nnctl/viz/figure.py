"""A matplotlib figure without pyplot's global state, and its atomic save as PNG.

Uses the object API with the Agg canvas: no display needed, nothing shared between pictures.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from nnctl.atomic import atomic_file


def new_figure(width: float, height: float):
    """A Figure of width x height inches at 110 dpi, laid out with constrained layout."""
    # slow to import: loaded only when a picture is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path: str | Path) -> None:
    """Write `figure` to `path` as PNG, whole or not at all (see nnctl.atomic).

    Matplotlib's UserWarnings while drawing (e.g. "identical low and high ylims" for a histogram of a
    diverged run's NaN outputs, whose counts are all zero) are silenced: they concern the drawing, which
    matplotlib has already mended, and would break the one-line ending a user sees on stderr."""
    with atomic_file(path, "picture") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        figure.savefig(handle, format="png")


def figure_png(figure) -> bytes:
    """`figure` as PNG bytes, with the same warnings silenced as in save_figure."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        figure.savefig(buffer, format="png")
    return buffer.getvalue()
