"""`nnctl lr-find CONFIG`: the learning-rate range test; prints a suggested learning rate, draws the curve."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option, quiet_option, set_option


@click.command("lr-find")
@click.argument("config", type=click.Path(path_type=Path))
@set_option
@click.option("--out", default="lr_find.png", show_default=True, type=click.Path(path_type=Path),
              help="The plot of loss against learning rate (PNG).")
@click.option("--start", type=click.FloatRange(min=0, min_open=True), default=1e-7, show_default=True,
              help="First learning rate.")
@click.option("--end", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Last learning rate.")
@click.option("--steps", type=click.IntRange(10, 100_000), default=200, show_default=True,
              help="Optimizer steps from --start to --end (exponentially spaced learning rates).")
@click.option("--stop-factor", type=click.FloatRange(min=1, min_open=True), default=4.0, show_default=True,
              help="Stop once the smoothed loss exceeds this many times its minimum.")
@click.option("--rule", type=click.Choice(["min10", "steepest"]), default="min10", show_default=True,
              help="min10: the lr of the smoothed loss's minimum / 10; steepest: where it falls fastest.")
@quiet_option
@debug_option
def command(config: Path, overrides: tuple[str, ...], out: Path, start: float, end: float, steps: int,
            stop_factor: float, rule: str, quiet: bool) -> None:
    """Find a learning rate: train a fresh copy of CONFIG's network while the learning rate grows
    exponentially (the range test), and print the learning rate the loss curve suggests.

    Nothing goes into runs/: only the plot (--out) is written. The config's optimizer, data and batch size
    are used; --set changes them as for nnctl train."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.config.load import load_config
    from nnctl.training.lr_find import find_lr

    resolved = load_config(config, list(overrides))
    for line in find_lr(resolved, out, start, end, steps, stop_factor, rule, progress=not quiet):
        click.echo(line)
