"""`nnctl train CONFIG`: train a network into a new run folder; `nnctl train --resume RUN` continues one."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from nnctl.cli._options import debug_option, out_option, quiet_option, set_option
from nnctl.errors import InputError


@click.command("train")
@click.argument("config", required=False, type=click.Path(path_type=Path))
@set_option
@out_option
@click.option("--resume", "resume_from", type=click.Path(path_type=Path), default=None, metavar="RUN",
              help="Continue the run in folder RUN (or from a checkpoint inside it) exactly where it stopped; "
                   "only train.epochs and train.early_stopping.patience may be changed with --set.")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
              help="Threads for matrix products and nnctl's own passes (default: NNCTL_THREADS, else chosen from "
                   "the CPUs free when training starts; a resume keeps its run's count). Results are identical "
                   "for one count, not across counts.")
@quiet_option
@click.option("--overfit", type=click.IntRange(min=1), default=None, metavar="N",
              help="Sanity check: train on N samples without regularization; exit 1 unless the training "
                   "accuracy reaches 100%.")
@click.option("--seeds", default=None, metavar="LIST",
              help="Train one run per seed, e.g. 0-4 or 0,3,7, into one group folder "
                   "runs/<name>/<timestamp>-seeds/ with summary.csv and summary.md (each metric's mean, std and "
                   "per-run values); the same command again continues the runs not yet done.")
@click.option("--folds", default=None, metavar="K",
              help="Train one run per stratified fold: run k validates on the k-th of K folds of the non-test "
                   "samples (the test split stays); a group folder as for --seeds.")
@debug_option
def command(config: Path | None, overrides: tuple[str, ...], out: Path, resume_from: Path | None,
            print_config: bool, threads: int | None, quiet: bool, overfit: int | None, seeds: str | None,
            folds: str | None) -> None:
    """Train the network described by CONFIG (or continue a run with --resume RUN).

    Everything goes into a new folder runs/<name>/<timestamp>/: config.yaml, metrics.csv, checkpoints,
    curves, health records and reports. Ctrl-C or SIGTERM saves the exact position; --resume continues it.
    With --seeds or --folds, one run per seed or fold in a group folder (--resume GROUP continues it)."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.check.overfit import overfit_config, overfit_reached, overfit_verdict
    from nnctl.config.load import load_config
    from nnctl.options.yamlio import dump_yaml
    from nnctl.training.resume import resume
    from nnctl.repeats.group import is_group
    from nnctl.repeats.plan import plan_from_options
    from nnctl.training.runner import train

    plan = plan_from_options(seeds, folds)
    if plan is not None or (resume_from is not None and is_group(resume_from)):
        if overfit is not None or print_config:
            raise InputError("--seeds, --folds and --resume GROUP train a group of runs: they take neither "
                             "--overfit nor --print-config")
        train_group(config, overrides, out, resume_from, plan, quiet, threads)
        return
    if resume_from is not None:
        if overfit is not None or print_config:
            raise InputError("--resume continues a run as it was configured: it takes neither --overfit nor "
                             "--print-config")
        result = resume(resume_from, overrides, config, progress=not quiet, threads=threads)
        click.echo(final_line(result.report, result.run_dir))
        return
    if config is None:
        raise InputError("nnctl train needs a CONFIG file (or --resume RUN to continue a run)")
    resolved = load_config(config, list(overrides))
    if overfit is not None:
        resolved = overfit_config(resolved, overfit)
    if print_config:
        click.echo(dump_yaml(resolved.sections()), nl=False)
        return
    result = train(resolved, out, progress=resolved.train["progress"] and not quiet, threads=threads)
    click.echo(final_line(result.report, result.run_dir))
    if overfit is not None:
        click.echo(overfit_verdict(result.report))
        if overfit_reached(result.report) is False:
            raise SystemExit(1)


def final_line(report: dict, run_dir: Path) -> str:
    """How the run ended, its validation and test figures, and where it is (the folder as given now, which
    a copied run's report does not know)."""
    epochs = report["epochs_run"]
    parts = [f"{report['status']} after {epochs} epoch{'' if epochs == 1 else 's'}"]
    for split in ("val", "test"):
        r = report.get(split)
        if r and r.get("acc") is not None:
            parts.append(f"{split} accuracy {100 * r['acc']:.2f}% (loss {r['loss']:.4f})")
        elif r:
            parts.append(f"{split} loss {r['loss']:.4f}")
    return ", ".join(parts) + f"; run: {run_dir}"


def train_group(config: Path | None, overrides: tuple[str, ...], out: Path, resume_from: Path | None, plan,
                quiet: bool, threads: int | None = None) -> None:
    """--seeds / --folds (a new group, or the unfinished one of the same config and plan), or --resume GROUP;
    prints the summary table and the group folder."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.config.load import load_config
    from nnctl.repeats.group import is_group
    from nnctl.repeats.run import continue_group, start_group

    say = (lambda _line: None) if quiet else None
    options = {"threads": threads} if say is None else {"say": say, "threads": threads}
    if resume_from is not None:
        if not is_group(resume_from):
            raise InputError(f"--resume {resume_from}: a single run continues as it was, without "
                             f"{plan.option().split()[0]}; --seeds and --folds start or continue a group")
        if plan is not None or overrides or config is not None:
            raise InputError(f"--resume {resume_from}: a group continues with its own config and runs; give "
                             f"neither CONFIG, --set, --seeds nor --folds")
        result = continue_group(resume_from, progress=not quiet, **options)
    else:
        if config is None:
            raise InputError(f"{plan.option()}: nnctl train needs a CONFIG file to train a group")
        resolved = load_config(config, list(overrides))
        command_line = " ".join(["nnctl train", shlex.quote(str(config)), plan.option()]
                                + [f"--set {shlex.quote(o)}" for o in overrides])
        result = start_group(resolved, plan, out, command_line,
                             progress=resolved.train["progress"] and not quiet, **options)
    click.echo(result.table())
    click.echo(f"group: {result.folder} ({len(result.labels)} runs; summary.md, summary.csv)")
