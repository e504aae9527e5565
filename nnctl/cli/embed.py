"""`nnctl embed RUN --node NAME`: a node's outputs (an autoencoder's codes) on a split, with the labels."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option, split_option


@click.command("embed")
@click.argument("run", metavar="RUN|CHECKPOINT", type=click.Path(exists=True, path_type=Path))
@click.option("--node", required=True, metavar="NAME", help="The node whose outputs are written (see nnctl summary).")
@split_option
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The .npz to write (default: RUN/embed_<node>_<split>.npz).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, metavar="CONFIG",
              help="Take the data (and seed) from CONFIG, and the network from the checkpoint alone; needed "
                   "for a checkpoint outside a run folder (a checkpoint's own paths are never followed).")
@debug_option
def command(run: Path, node: str, split: str, out_file: Path | None, config_path: Path | None) -> None:
    """Write one node's outputs on a split (an autoencoder's codes) with the labels, as a .npz file.

    RUN is a run folder (its checkpoints/best.npz; a folder of runs: the newest) or a CHECKPOINT file; NAME
    is a node of its network (see nnctl summary). The data comes from the run's own config.yaml, or from
    --config CONFIG (see docs/trust.md). The file holds arrays codes (N, ...) and labels (N,), read with
    numpy.load."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.commands.embed import embed

    written, codes = embed(run, node, split, out_file, config_path)
    click.echo(f"wrote {written}: {len(codes)} outputs of node {node!r}, shape {tuple(codes.shape[1:])} each "
               f"({split} split)")
