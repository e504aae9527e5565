"""`nnctl plot`: one metric of several runs overlaid, or pictures of one network (filters, feature maps)."""

from __future__ import annotations

from pathlib import Path

import click

from nnctl.cli._options import debug_option, split_option
from nnctl.errors import InputError


@click.command("plot")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--metric", default="val_acc", show_default=True,
              type=click.Choice(["train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write (default: plot_<metric>.png, filters.png or features_<i>.png here).")
@click.option("--log-y", is_flag=True, help="Logarithmic y axis.")
@click.option("--filters", is_flag=True, help="Draw the first layer's weights of a CHECKPOINT (or CONFIG).")
@click.option("--features", "image_index", default=None, metavar="IMAGE_INDEX[,...]",
              help="Draw the feature maps of images of the --split (e.g. 0 or 0,1,2), for a CHECKPOINT (or CONFIG).")
@split_option
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, metavar="CONFIG",
              help="With --features: take the images from CONFIG's data (needed for a checkpoint outside a "
                   "run folder).")
@debug_option
def command(runs: tuple[Path, ...], metric: str, out_file: Path | None, log_y: bool, filters: bool,
            image_index: str | None, split: str, config_path: Path | None) -> None:
    """Draw one metric of several runs overlaid, or pictures of one network.

    RUNS are run folders (or folders of runs: the newest is taken). With --filters / --features, draw
    pictures of one checkpoint's (or a config's freshly built) network."""
    if filters or image_index is not None:
        from nnctl.viz.pictures import draw_feature_maps, plot_filters, setup_for_pictures

        if len(runs) != 1:
            raise InputError("--filters and --features take exactly one CHECKPOINT (.npz) or CONFIG (.yaml)")
        setup = setup_for_pictures(runs[0], with_data=image_index is not None, config_path=config_path)
        if filters:
            out_file = out_file or Path("filters.png")
            count = plot_filters(setup.network, out_file, title=f"{runs[0]}: first-layer weights")
            click.echo(f"wrote {out_file} ({count} filters)")
        else:
            out_file, rows = draw_feature_maps(setup, split, image_index, out_file)
            click.echo(f"wrote {out_file} ({rows} rows: each image and its image-shaped layers)")
        return
    from nnctl.viz.curves import plot_runs

    out_file = out_file or Path(f"plot_{metric}.png")
    plot_runs(runs, metric, out_file, log_y)
    click.echo(f"wrote {out_file}")
