"""`nnctl plot`: one metric of several runs overlaid (per epoch or per step), or a picture of one network
(filters, feature maps, codes versus PCA, reconstructions)."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import corrupt_option, debug_option, split_option
from nnctl.errors import InputError

CURVE_OPTIONS = ("--metric", "--per-step", "--label", "--log-y", "--smooth")


@click.command("plot")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--metric", default=None, metavar="NAME",
              help="Metric to overlay: a metrics.csv column such as val_acc (default), train_loss, val_loss.aux, "
                   "lr; with --per-step train_loss (default) or lr.")
@click.option("--per-step", is_flag=True, help="Per optimizer step from steps.csv instead of per epoch.")
@click.option("--label", "label_keys", multiple=True, metavar="KEY",
              help="Name each run in the legend by this config key's value, e.g. optimizer.type (repeatable). "
                   "Default: the keys in which the runs' configs differ.")
@click.option("--title", default="", help="Title of the picture.")
@click.option("--log-y", is_flag=True, help="Logarithmic y axis.")
@click.option("--smooth", type=click.FloatRange(0, 1, max_open=True), default=None, metavar="WEIGHT",
              help="Exponential smoothing weight in [0, 1) (raw curve drawn faintly); default 0.9 for the "
                   "per-step loss, else 0.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write (default: in the run folder; for several runs, in their common folder).")
@click.option("--filters", is_flag=True, help="Draw the first layer's weights of a RUN, CHECKPOINT (or CONFIG).")
@click.option("--features", "image_index", default=None, metavar="IMAGE_INDEX[,...]",
              help="Draw the feature maps of images of the --split (e.g. 0 or 0,1,2).")
@click.option("--codes", "codes_node", default=None, metavar="NODE",
              help="Draw node NODE's 2-D codes of the --split coloured by class beside PCA's 2-D projection of the "
                   "inputs, each titled with its 5-nearest-neighbour accuracy.")
@click.option("--reconstructions", type=int, default=None, metavar="N",
              help="Draw N images of the --split: input / corrupted input / reconstruction.")
@corrupt_option
@split_option
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, metavar="CONFIG",
              help="With --features, --codes or --reconstructions: take the images from CONFIG's data "
                   "(needed for a checkpoint outside a run folder).")
@debug_option
def command(runs: tuple[Path, ...], metric: str | None, per_step: bool, label_keys: tuple[str, ...], title: str,
            log_y: bool, smooth: float | None, out_file: Path | None, filters: bool, image_index: str | None,
            codes_node: str | None, reconstructions: int | None, corruption, split: str,
            config_path: Path | None) -> None:
    """Draw one metric of several runs overlaid, or pictures of one network.

    RUNS are run folders (or folders of runs: the newest is taken); their curves are drawn per epoch, or per
    optimizer step with --per-step, and the legend names each run by the config keys in which the runs differ.
    --filters, --features, --codes and --reconstructions draw pictures of one run's network (or of a
    checkpoint's, or of a config's freshly built one). Pictures go into the run folder unless --out is given."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.commands.pictures import draw_picture
    from nnctl.commands.plot_runs import plot_runs

    pictures = {"--filters": filters, "--features": image_index is not None, "--codes": codes_node is not None,
                "--reconstructions": reconstructions is not None}
    chosen = [name for name, given in pictures.items() if given]
    if corruption is not None and chosen != ["--reconstructions"]:
        raise InputError("--corrupt goes with --reconstructions (or nnctl eval --corrupt)")
    if not chosen:
        if config_path is not None:
            raise InputError("--config goes with --features, --codes or --reconstructions (the data of a picture)")

        written, left_out = plot_runs(runs, metric, out_file, log_y, label_keys, title, per_step, smooth)
        for line in left_out:
            click.echo(line, err=True)
        click.echo(f"wrote {written}")
        return
    given = [name for name, value in zip(CURVE_OPTIONS, (metric, per_step, label_keys, log_y, smooth)) if value]
    if len(chosen) > 1 or given or len(runs) != 1:
        raise InputError(f"{chosen[0]} draws a picture of one RUN (a run folder, a checkpoint, or a config for a "
                         f"fresh network); give it alone, without other runs, other pictures or "
                         f"{', '.join(CURVE_OPTIONS)}")
    click.echo(draw_picture(runs[0], chosen[0], out_file, split, title, image_index=image_index,
                            node=codes_node, count=reconstructions, corruption=corruption,
                            config_path=config_path))
