"""`nnctl train CONFIG`: train a network into a new run folder; `nnctl train --resume RUN` continues one."""

from __future__ import annotations

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
@quiet_option
@click.option("--overfit", type=click.IntRange(min=1), default=None, metavar="N",
              help="Sanity check: train on N samples without regularization; exit 1 unless the training "
                   "accuracy reaches 100%.")
@debug_option
def command(config: Path | None, overrides: tuple[str, ...], out: Path, resume_from: Path | None,
            print_config: bool, quiet: bool, overfit: int | None) -> None:
    """Train the network described by CONFIG (or continue a run with --resume RUN).

    Everything goes into a new folder runs/<name>/<timestamp>/: config.yaml, metrics.csv, checkpoints,
    curves, health records and reports. Ctrl-C or SIGTERM saves the exact position; --resume continues it."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.check.overfit import overfit_config, overfit_reached, overfit_verdict
    from nnctl.config.load import load_config
    from nnctl.options.yamlio import dump_yaml
    from nnctl.training.resume import resume
    from nnctl.training.runner import train

    if resume_from is not None:
        if overfit is not None or print_config:
            raise InputError("--resume continues a run as it was configured: it takes neither --overfit nor "
                             "--print-config")
        result = resume(resume_from, overrides, config, progress=not quiet)
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
    result = train(resolved, out, progress=resolved.train["progress"] and not quiet)
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
