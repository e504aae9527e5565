"""`nnctl runs [FOLDER...]`: every run below the folders, one row each, newest first."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option


@click.command("runs")
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sort", "sort", default=None, metavar="METRIC",
              help="Sort by a figure (test_acc, val_loss, best_value, seconds, ...) or a config key, best first: "
                   "accuracies descending, losses and the rest ascending. Default: newest first.")
@click.option("--where", "where", multiple=True, metavar="KEY=VALUE",
              help="Only runs whose KEY (a figure such as status, or a config key such as optimizer.type or lr) "
                   "equals VALUE, or matches it as a glob (*, ?, [...]). Repeatable: all must hold.")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N", help="At most N rows.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="csv and json: one line or object per run, every figure unrounded.")
@debug_option
def command(folders: tuple[Path, ...], sort: str | None, where: tuple[str, ...], limit: int | None, fmt: str) -> None:
    """List the runs at or below FOLDERS (default: runs/), newest first.

    A row per run: its folder, config name, status (completed, stopped early, interrupted, failed, diverged,
    running), epochs, best epoch, the monitored metric at the best epoch, test loss and accuracy, training
    time, and one column per config key in which the listed runs differ. Sweep folders and seed/fold groups
    are searched too. Only report.json, config.yaml and metrics.csv are read."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.commands.runs_format import FORMATS
    from nnctl.commands.runs_list import list_runs

    view = list_runs(list(folders) or [Path("runs")], sort, where, limit)
    click.echo(FORMATS[fmt](view))
