"""`nnctl compare RUN... [--out FILE.html]`: runs side by side, in the terminal or as one HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option


@click.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE.html",
              help="Write one self-contained HTML page (pictures inline, no network): the table sortable by "
                   "clicking a column header, and the runs' curves overlaid.")
@debug_option
def command(runs: tuple[Path, ...], out: Path | None) -> None:
    """Show runs side by side: the config keys in which they differ, their results and their curves.

    RUNS are run folders (or folders of runs: the newest is taken). In the terminal: a column per run. With
    --out FILE.html: a page with a row per run, sortable by column, and the train/val loss and accuracy
    curves of every run overlaid, each run labelled by the values that tell it apart."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.commands.compare import compare_runs

    click.echo(compare_runs(list(runs), out))
