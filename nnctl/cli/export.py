"""`nnctl export CHECKPOINT|RUN --format onnx`: a saved network as an ONNX file."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option


@click.command("export")
@click.argument("checkpoint", metavar="RUN|CHECKPOINT", type=click.Path(path_type=Path))
@click.option("--format", "format_", type=click.Choice(["onnx"]), required=True, help="The file format.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: beside the checkpoint, its name with .onnx: RUN/checkpoints/best.onnx).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Run the exported file with onnxruntime (when installed) and compare with nnctl's outputs.")
@debug_option
def command(checkpoint: Path, format_: str, out_file: Path | None, check: bool) -> None:
    """Export a run's best checkpoint as an ONNX model for other runtimes.

    RUN is a run folder (its best.npz; a folder of runs: the newest) or a CHECKPOINT file. The ONNX graph
    takes raw samples: the run's input normalization is its first node. Needs pip install 'nnctl[onnx]'."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.deploy.onnx_export import export_onnx

    result = export_onnx(checkpoint, out_file, check)
    click.echo(f"wrote {result.path} ({result.operators} ONNX operators)")
    if result.difference is not None:
        click.echo(f"onnxruntime agrees with nnctl within {result.difference:.2e} on random inputs")
    elif check:
        click.echo("onnxruntime is not installed, so the file was not run (pip install 'nnctl[onnx]')")
