"""curves.png: one run's metrics per epoch, side by side.

Panels: the loss (train solid, validation dashed); with several loss terms, each term's own loss; the
accuracy when measured (with several heads, each head's). The x axis counts whole epochs, and a dotted
line with a star on the monitored curve marks the best epoch (the one best.npz holds).
"""

from __future__ import annotations

from pathlib import Path

from nnctl.viz.figure import new_figure, save_figure

LABELS = {"train_loss": "train loss", "val_loss": "validation loss", "train_acc": "train accuracy",
          "val_acc": "validation accuracy", "lr": "learning rate", "seconds": "seconds per epoch"}
SPLIT_STYLE = (("train", "-", "train"), ("val", "--", "validation"))


def metric_label(metric: str) -> str:
    """'val_loss' -> 'validation loss'; 'val_acc.aux' -> 'validation accuracy (aux)'."""
    base, _, name = metric.partition(".")
    label = LABELS.get(base, base)
    return f"{label} ({name})" if name else label


def integer_epochs(ax) -> None:
    """Ticks on whole numbers only on the x axis (epochs or steps)."""
    # slow to import: loaded only when a picture is drawn
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def suffixes(rows: list[dict], prefix: str) -> list[str]:
    """Names NAME of the columns `prefix.NAME` (e.g. prefix train_loss), in column order."""
    return [key.split(".", 1)[1] for key in rows[0] if key.startswith(prefix + ".")] if rows else []


def values(rows: list[dict], key: str) -> list[float]:
    return [float("nan") if r.get(key) is None else float(r[key]) for r in rows]


def has_values(rows: list[dict], key: str) -> bool:
    return any(r.get(key) is not None for r in rows)


def panels(rows: list[dict]) -> list[tuple[str, str, list[tuple[str, str, str, str | None]]]]:
    """[(title, y label, [(column, legend, line style, colour or None for the default cycle), ...])] for the
    panels to draw; each term or head keeps one colour, train solid and validation dashed."""
    terms = suffixes(rows, "train_loss")
    heads = suffixes(rows, "train_acc")
    out = [("loss", "loss", [(f"{split}_loss", words + " loss", style, None) for split, style, words in SPLIT_STYLE])]
    if terms:
        out.append(("loss of each term", "loss", [(f"{split}_loss.{t}", f"{words} {t}", style, f"C{i % 10}")
                                                  for i, t in enumerate(terms) for split, style, words in SPLIT_STYLE]))
    if heads:
        out.append(("accuracy of each head", "accuracy", [(f"{split}_acc.{h}", f"{words} {h}", style, f"C{i % 10}")
                                                          for i, h in enumerate(heads)
                                                          for split, style, words in SPLIT_STYLE]))
    elif has_values(rows, "train_acc") or has_values(rows, "val_acc"):
        out.append(("accuracy", "accuracy", [(f"{split}_acc", words + " accuracy", style, None)
                                             for split, style, words in SPLIT_STYLE]))
    return [(title, ylabel, [line for line in lines if has_values(rows, line[0])]) for title, ylabel, lines in out]


def plot_curves(rows: list[dict], path: Path, title: str = "", best_epoch: int | None = None,
                monitor: str | None = None) -> None:
    """Draw the metrics rows (dicts with epoch, train_loss, ...) of one run into `path`; `best_epoch` and
    the `monitor` metric that chose it are marked when given."""
    chosen = panels(rows)
    figure = new_figure(5 * len(chosen), 4)
    axes = figure.subplots(1, len(chosen), squeeze=False)[0]
    epochs = [r["epoch"] for r in rows]
    for ax, (panel_title, ylabel, lines) in zip(axes, chosen):
        for column, label, style, colour in lines:
            ax.plot(epochs, values(rows, column), style, color=colour, marker="o", markersize=3, label=label)
            if best_epoch and column == monitor and best_epoch in epochs:
                best = values(rows, column)[epochs.index(best_epoch)]
                ax.plot([best_epoch], [best], "*", color="black", markersize=12, zorder=5)
        if best_epoch:
            ax.axvline(best_epoch, color="gray", linestyle=":", linewidth=1,
                       label=f"best epoch {best_epoch}" + (f" ({monitor})" if monitor else ""))
        integer_epochs(ax)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if len(chosen) > 1:
            ax.set_title(panel_title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    save_figure(figure, path)
