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
@debug_option
def command(run: Path, node: str, split: str, out_file: Path | None) -> None:
    """Write one node's outputs on a split (an autoencoder's codes) with the labels, as a .npz file.

    RUN is a run folder (its checkpoints/best.npz; a folder of runs: the newest) or a CHECKPOINT file; NAME
    is a node of its network (see nnctl summary). The file holds arrays codes (N, ...) and labels (N,), read
    with numpy.load."""
    from nnctl.training.embedding import embed

    written, codes = embed(run, node, split, out_file)
    click.echo(f"wrote {written}: {len(codes)} outputs of node {node!r}, shape {tuple(codes.shape[1:])} each "
               f"({split} split)")
