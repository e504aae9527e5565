"""Pictures of runs: the curves of one run, and one metric of several runs overlaid."""

from __future__ import annotations

from pathlib import Path

from nnctl.viz.figure import new_figure, save_figure

LABELS = {"train_loss": "train loss", "val_loss": "validation loss", "train_acc": "train accuracy",
          "val_acc": "validation accuracy", "lr": "learning rate", "seconds": "seconds per epoch"}


def plot_curves(rows: list[dict], path: Path, title: str = "") -> None:
    """Loss (left) and accuracy (right) per epoch, train and validation, from metrics rows."""
    figure = new_figure(10, 4)
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
    save_figure(figure, path)


def plot_overlay(runs: list[tuple[str, list[dict]]], metric: str, path: Path, log_y: bool = False) -> None:
    """One metric of several runs on one axis; `runs` is [(label, metrics rows), ...]."""
    figure = new_figure(8, 5)
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
    save_figure(figure, path)


def plot_runs(paths: list[Path] | tuple[Path, ...], metric: str, out_file: Path, log_y: bool = False) -> None:
    """Overlay `metric` of the runs at `paths` (run folders, or folders of runs: the newest is taken),
    labelled by run name (with the stamp where names repeat)."""
    from nnctl.training.run_dir import find_run, read_metrics

    found = [find_run(path) for path in paths]
    names = [run.parent.name for run in found]
    series = [(name if names.count(name) == 1 else f"{name}/{run.name}", read_metrics(run / "metrics.csv"))
              for name, run in zip(names, found)]
    plot_overlay(series, metric, out_file, log_y)
