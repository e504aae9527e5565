"""`nnctl predict CHECKPOINT|RUN INPUTS`: a saved network's predictions for new samples, as CSV."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option, quiet_option


@click.command("predict")
@click.argument("checkpoint", metavar="RUN|CHECKPOINT", type=click.Path(path_type=Path))
@click.argument("inputs", metavar="INPUTS", type=click.Path(path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV file to write (default: standard output).")
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True,
              help="Classes listed per sample, most likely first.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Samples per forward pass [default: chosen from the network's shapes, as "
                   "train.eval_batch_size: auto].")
@quiet_option
@debug_option
def command(checkpoint: Path, inputs: Path, out_file: Path | None, top_k: int, batch_size: int | None,
            quiet: bool) -> None:
    """Predict classes (or outputs) for new samples with a run's best checkpoint, as CSV.

    RUN is a run folder (its best.npz; a folder of runs: the newest) or a CHECKPOINT file. INPUTS: an .npz
    (array x), a CSV file, an IDX file, a PNG/JPEG picture or a folder of them. Pictures become grey (or
    RGB) and are resized to the model's input; every input is normalized as the run's training data was."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.deploy.predict import predict

    count = predict(checkpoint, inputs, out_file, top_k, batch_size, progress=not quiet)
    if out_file is not None:
        click.echo(f"wrote {out_file} ({count} sample{'' if count == 1 else 's'})")
