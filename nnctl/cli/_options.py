"""Options that several commands share, declared once: --set, --out, --debug, --quiet."""

from __future__ import annotations

from pathlib import Path

import click


def _remember_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """--debug may be given before or after the command name: either way the root context learns it."""
    if value:
        ctx.find_root().meta["nnctl.debug"] = True
    return value


debug_option = click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_remember_debug,
                            help="Show a traceback when something fails.")

set_option = click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
                          help="Override a config value (parsed as YAML), e.g. --set optimizer.lr=3e-4. Repeatable.")

out_option = click.option("--out", default="runs", show_default=True,
                          type=click.Path(file_okay=False, path_type=Path),
                          help="Folder the run goes into, as OUT/<name>/<timestamp>/.")

quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the final line.")

split_option = click.option("--split", type=click.Choice(["test", "val", "train"]), default="test",
                            show_default=True, help="Which part of the run's data to use.")


def debug_requested(ctx: click.Context) -> bool:
    return bool(ctx.find_root().meta.get("nnctl.debug"))


def _parse_corruption(_ctx: click.Context, _param: click.Parameter, value: str | None):
    if value is None:
        return None
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.layers.noise import parse_corruption

    return parse_corruption(value)


corrupt_option = click.option("--corrupt", "corruption", default=None, metavar="MODE=AMOUNT",
                              callback=_parse_corruption,
                              help="Damage every input first, e.g. mask=0.3 (zero 30% of the values), gaussian=0.5 "
                                   "(add noise of std 0.5) or salt_pepper=0.1; reconstructions are still compared "
                                   "with the clean inputs.")
