"""`nnctl sweep SWEEP.yaml`: a hyperparameter search, one Optuna study, every trial an ordinary run folder."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option, debug_requested
from nnctl.errors import InputError


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trials", type=click.IntRange(1, 100_000), default=None, metavar="N",
              help="Trials in the study (default: the file's `trials`); raising it continues a finished study.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True, metavar="W",
              help="Trial processes on this machine, each with cores/W BLAS threads.")
@click.option("--storage", default=None, metavar="URL",
              help="Study database, e.g. postgresql://USER@HOST:PORT/DB, shared by every machine that runs the "
                   "same command (default: a SQLite file study.db in the sweep folder).")
@click.option("--study", "study_name", default=None, metavar="NAME", help="Study name (default: the sweep's name).")
@click.option("--out", default="sweeps", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives the sweep folder <out>/<name>/.")
@click.option("--sampler", type=click.Choice(["random", "grid", "tpe"]), default=None,
              help="Replace the file's sampler (with default options).")
@click.option("--pruner", type=click.Choice(["none", "median", "hyperband"]), default=None,
              help="Replace the file's pruner (with default options).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Replace the file's sampler seed.")
@click.option("--status", is_flag=True, help="Print the progress of the study from its storage, and exit.")
@click.option("--report", is_flag=True, help="Write trials.csv, best.yaml, report.md, ... from the storage, "
                                             "run no trial, and exit.")
@debug_option
@click.pass_context
def command(ctx: click.Context, sweep_file: Path, trials: int | None, workers: int, storage: str | None,
            study_name: str | None, out: Path, sampler: str | None, pruner: str | None, seed: int | None,
            status: bool, report: bool) -> None:
    """Search hyperparameters: many runs of a base config, varied as SWEEP.yaml says, in one Optuna study.

    Random (log-scale), grid or Bayesian TPE search, with pruning. Every trial is an ordinary run folder in
    <out>/<name>/; the sweep folder also gets trials.csv, best.yaml, report.md and pictures. Running the same
    command again continues the study; with --storage postgresql://... several machines join it."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.sweep import require_optuna
    from nnctl.sweep.runner import Request, run_sweep, sweep_status, write_report

    require_optuna()
    changes = {k: v for k, v in (("sampler", sampler), ("pruner", pruner), ("seed", seed)) if v is not None}
    request = Request(sweep_file, changes, trials, workers, storage, study_name, out, debug_requested(ctx))
    if status and report:
        raise InputError("--status and --report: give one of them")
    if status:
        click.echo(sweep_status(request))
    elif report:
        click.echo(write_report(request))
    else:
        run_sweep(request, say=click.echo)
