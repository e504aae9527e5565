"""`nnctl train CONFIG`: train a network into a new run folder."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option, out_option, quiet_option, set_option


@click.command("train")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@set_option
@out_option
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@quiet_option
@click.option("--overfit", type=click.IntRange(min=1), default=None, metavar="N",
              help="Sanity check: train on N samples without regularization; report whether it reaches 100%.")
@debug_option
def command(config: Path, overrides: tuple[str, ...], out: Path, print_config: bool, quiet: bool,
            overfit: int | None) -> None:
    """Train the network described by CONFIG."""
    from nnctl.check.overfit import overfit_config, overfit_verdict
    from nnctl.config.load import load_config
    from nnctl.config.yamlio import dump_yaml
    from nnctl.training.loop import train as run_training

    resolved = load_config(config, list(overrides))
    if overfit is not None:
        resolved = overfit_config(resolved, overfit)
    if print_config:
        click.echo(dump_yaml(dict(resolved)), nl=False)
        return
    progress = resolved["train"]["progress"] and not quiet
    result = run_training(resolved, out, progress=progress)
    click.echo(final_line(result.report))
    if overfit is not None:
        click.echo(overfit_verdict(result.report))


def final_line(report: dict) -> str:
    parts = [f"{report['status']} after {report['epochs_run']} epochs"]
    for split in ("val", "test"):
        r = report.get(split)
        if r and r.get("acc") is not None:
            parts.append(f"{split} accuracy {100 * r['acc']:.2f}% (loss {r['loss']:.4f})")
        elif r:
            parts.append(f"{split} loss {r['loss']:.4f}")
    return ", ".join(parts) + f"; run: {report['run_dir']}"
