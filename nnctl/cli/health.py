"""`nnctl health RUN`: a run's per-layer health records and the findings drawn from them."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option


@click.command("health")
@click.argument("run", type=click.Path(path_type=Path))
@debug_option
def command(run: Path) -> None:
    """Show a run's per-layer health and the findings drawn from it, each with a likely remedy.

    RUN is a run folder (or a folder of runs: the newest is taken). Per layer, from its health.csv:
    activation std, dead or saturated units, gradient norms and update/weight ratios (docs/health.md)."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.config.load import load_config
    from nnctl.errors import InputError
    from nnctl.health.log import HEALTH_FILE
    from nnctl.health.summary import format_health
    from nnctl.runs.checkpoints import sanity_findings
    from nnctl.runs.run_dir import find_run

    run_dir = find_run(run)
    if not (run_dir / HEALTH_FILE).is_file():
        raise InputError(f"{run_dir}: no {HEALTH_FILE} (the run was trained with train.health_every: null, "
                         f"or by an nnctl without health records)")
    click.echo(format_health(run_dir, load_config(run_dir / "config.yaml"), sanity_findings(run_dir)))
