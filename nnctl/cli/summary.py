"""`nnctl summary CONFIG`: the layer table of a config's network."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option, set_option


@click.command("summary")
@click.argument("config", metavar="CONFIG|RUN", type=click.Path(path_type=Path))
@set_option
@debug_option
def command(config: Path, overrides: tuple[str, ...]) -> None:
    """Print the layer table of CONFIG's network: output shapes, parameters, multiply-adds.

    A run folder (or a folder of runs: the newest) stands for its config.yaml.

    The data is not read when the dataset says what one sample looks like (MNIST, Fashion-MNIST, the
    synthetic sets, .npz files), so this works before any download."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.commands.summary import network_of
    from nnctl.config.load import load_config
    from nnctl.runs.run_dir import config_of
    from nnctl.viz.summary import format_summary

    click.echo(format_summary(network_of(load_config(config_of(config), list(overrides)))))
