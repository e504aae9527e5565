"""`nnctl gradcheck CONFIG`: every backward pass of a config's network against finite differences."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nnctl.cli._options import debug_option, set_option


@click.command("gradcheck")
@click.argument("config", type=click.Path(path_type=Path))
@set_option
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True,
              help="Training samples in the checked batch.")
@click.option("--eps", type=click.FloatRange(min=0, max=0.1, min_open=True), default=1e-6, show_default=True,
              help="Step h of the centered differences (each entry is also differenced with 2h to measure the "
                   "noise).")
@click.option("--layer", default=None, help="Check only this node (by name).")
@click.option("--max-entries", type=click.IntRange(min=1), default=200, show_default=True,
              help="Entries checked per tensor; larger tensors are sampled.")
@click.option("--reference", is_flag=True,
              help="Also compare conv/pool layers with their plain loop implementations.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@debug_option
def command(config: Path, overrides: tuple[str, ...], samples: int, eps: float, layer: str | None,
            max_entries: int, reference: bool, as_json: bool) -> None:
    """Check every backward pass against finite differences, in float64.

    Every layer on its own, every loss term and the whole objective of CONFIG's network are checked, each
    gradient judged against the measured rounding noise of its finite differences (docs/gradcheck.md); the
    command exits 1 when any gradient fails."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it

    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.check.runner import format_gradcheck, run_gradcheck
    from nnctl.config.load import load_config

    result = run_gradcheck(load_config(config, list(overrides)), samples, eps, layer, max_entries, reference)
    click.echo(json.dumps(result, indent=2) if as_json else format_gradcheck(result, str(config)))
    if result["counts"]["fail"]:
        raise SystemExit(1)
