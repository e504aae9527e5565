"""Pictures of runs: the curves of one run, and one metric of several runs overlaid.

Uses matplotlib's object API with the Agg canvas (no pyplot global state, no display needed).
"""

from __future__ import annotations

from pathlib import Path



LABELS = {"train_loss": "train loss", "val_loss": "validation loss", "train_acc": "train accuracy",
          "val_acc": "validation accuracy", "lr": "learning rate", "seconds": "seconds per epoch"}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path) -> None:
    """Save via a temporary name and a rename (no half-written PNG if interrupted)."""
    from nnctl.errors import InputError

    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    try:
        figure.savefig(tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write the picture ({exc.strerror or exc})") from None


def plot_curves(rows: list[dict], path: Path, title: str = "") -> None:
    """Loss (left) and accuracy (right) per epoch, train and validation, from metrics rows."""
    figure = _figure(10, 4)
    has_acc = any(r.get("train_acc") is not None for r in rows)
    axes = figure.subplots(1, 2 if has_acc else 1, squeeze=False)[0]
    epochs = [r["epoch"] for r in rows]
    for ax, kind in zip(axes, ("loss", "acc")):
        for split, style in (("train", "-"), ("val", "--")):
            values = [r.get(f"{split}_{kind}") for r in rows]
            if any(v is not None for v in values):
                ax.plot(epochs, [float("nan") if v is None else v for v in values], style, marker="o",
                        markersize=3, label=LABELS[f"{split}_{kind}"])
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if kind == "loss" else "accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    _save(figure, path)


def plot_overlay(runs: list[tuple[str, list[dict]]], metric: str, path: Path, log_y: bool = False) -> None:
    """One metric of several runs on one axis; `runs` is [(label, metrics rows), ...]."""
    figure = _figure(8, 5)
    ax = figure.subplots()
    for label, rows in runs:
        values = [r.get(metric) for r in rows]
        ax.plot([r["epoch"] for r in rows], [float("nan") if v is None else v for v in values], marker="o",
                markersize=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(LABELS.get(metric, metric))
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(figure, path)
