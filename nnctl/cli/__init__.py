"""The `nnctl` command line. Each command parses its arguments, calls the library and prints."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from nnctl.errors import InputError, NnctlError


class NnctlGroup(click.Group):
    """Turns nnctl's own errors into one line on stderr and their exit code (traceback with --debug)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NnctlError as exc:
            if ctx.params.get("debug"):
                traceback.print_exc()
            click.echo(str(exc), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:       # the reader went away (`nnctl eval ... | head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
            if ctx.params.get("debug"):
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                       err=True)
            ctx.exit(1)


@click.group(cls=NnctlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
@click.version_option(package_name="nnctl")
def cli(debug: bool) -> None:
    """Train NumPy neural networks described by YAML files."""


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a config value (parsed as YAML), e.g. --set optimizer.lr=3e-4. Repeatable.")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives runs/<name>/<timestamp>/.")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the final line.")
@click.option("--overfit", type=click.IntRange(min=1), default=None, metavar="N",
              help="Sanity check: train on N samples without regularization; report whether it reaches 100%.")
def train(config: Path, overrides: tuple[str, ...], out: Path, print_config: bool, quiet: bool,
          overfit: int | None) -> None:
    """Train the network described by CONFIG."""
    from nnctl.config.load import load_config
    from nnctl.check.overfit import overfit_config, overfit_verdict
    from nnctl.training.loop import train as run_training
    from nnctl.config.yamlio import dump_yaml

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


@cli.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Samples per forward pass.")
def eval_command(checkpoint: Path, split: str, batch_size: int | None) -> None:
    """Evaluate CHECKPOINT: loss, accuracy and confusion matrix on a split."""
    from nnctl.training.evaluation import evaluate_checkpoint

    result, written = evaluate_checkpoint(checkpoint, split, batch_size, progress=False)
    click.echo(f"{split}: {result['samples']} samples, loss {result['loss']:.6f}")
    if "acc" in result:
        click.echo(f"accuracy {100 * result['acc']:.2f}% ({result['correct']}/{result['samples']})")
    if "confusion" in result:
        click.echo(format_confusion(result["confusion"], result.get("class_names")))
    click.echo(f"wrote {written}")


def format_confusion(confusion: list[list[int]], names: list[str] | None) -> str:
    names = [str(n)[:11] for n in (names or range(len(confusion)))]
    width = max(5, max(len(n) for n in names), max(len(str(v)) for row in confusion for v in row))
    lines = ["confusion matrix (rows: true, columns: predicted)",
             " " * (width + 1) + " ".join(n.rjust(width) for n in names)]
    for name, row in zip(names, confusion):
        lines.append(name.rjust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--metric", default="val_acc", show_default=True,
              type=click.Choice(["train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write (default: plot_<metric>.png, filters.png or features_<i>.png here).")
@click.option("--log-y", is_flag=True, help="Logarithmic y axis.")
@click.option("--filters", is_flag=True, help="Draw the first layer's weights of a CHECKPOINT (or CONFIG).")
@click.option("--features", "image_index", default=None, metavar="IMAGE_INDEX[,...]",
              help="Draw the feature maps of images of the --split (e.g. 0 or 0,1,2), for a CHECKPOINT (or CONFIG).")
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True)
def plot(runs: tuple[Path, ...], metric: str, out_file: Path | None, log_y: bool, filters: bool,
         image_index: str | None, split: str) -> None:
    """Overlay one metric of several RUNS (run folders, or folders of runs: the newest is taken); or, with
    --filters / --features, draw pictures of one checkpoint's (or config's fresh) network."""
    if filters or image_index is not None:
        from nnctl.viz.pictures import plot_feature_maps, plot_filters

        if len(runs) != 1:
            raise InputError("--filters and --features take exactly one CHECKPOINT (.npz) or CONFIG (.yaml)")
        setup = setup_for_pictures(runs[0])
        if filters:
            out_file = out_file or Path("filters.png")
            count = plot_filters(setup.network, out_file, title=f"{runs[0]}: first-layer weights")
            click.echo(f"wrote {out_file} ({count} filters)")
        else:
            data = getattr(setup.splits, split)
            count = 0 if data is None else len(data[0])
            indexes = parse_indexes(image_index, count, split)
            out_file = out_file or Path(f"features_{'_'.join(map(str, indexes))}.png")
            rows = plot_feature_maps(setup.network, data[0][indexes], out_file,
                                     [f"{split} image {i}" for i in indexes])
            click.echo(f"wrote {out_file} ({rows} rows: each image and its image-shaped layers)")
        return
    from nnctl.viz.curves import plot_overlay
    from nnctl.training.run_dir import find_run, read_metrics

    found = [find_run(path) for path in runs]
    names = [run.parent.name for run in found]
    series = [(name if names.count(name) == 1 else f"{name}/{run.name}", read_metrics(run / "metrics.csv"))
              for name, run in zip(names, found)]
    out_file = out_file or Path(f"plot_{metric}.png")
    plot_overlay(series, metric, out_file, log_y)
    click.echo(f"wrote {out_file}")


def parse_indexes(text: str, count: int, split: str) -> list[int]:
    """'3' or '0,1,2' -> [indexes], each checked against the split's size."""
    try:
        indexes = [int(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"--features {text!r}: expected image indexes such as 0 or 0,1,2") from None
    for i in indexes:
        if not 0 <= i < count:
            raise InputError(f"--features {i}: the {split} split has {count} images (0 to {count - 1})")
    return indexes


def setup_for_pictures(path: Path):
    """A trained network from a checkpoint, or a freshly built one from a config (fixed filters, init)."""
    if path.suffix == ".npz":
        from nnctl.training.evaluation import setup_from_checkpoint

        return setup_from_checkpoint(path, progress=False)[0]
    from nnctl.config.load import load_config
    from nnctl.training.prepare import prepare

    return prepare(load_config(path), progress=False)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a config value.")
def summary(config: Path, overrides: tuple[str, ...]) -> None:
    """Print each layer's output shape, parameter count and multiply-adds, and the totals."""
    from nnctl.config.load import load_config
    from nnctl.training.prepare import prepare
    from nnctl.viz.summary import format_summary

    setup = prepare(load_config(config, list(overrides)), progress=False)
    click.echo(format_summary(setup.network))


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a config value.")
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True,
              help="Training samples in the checked batch.")
@click.option("--eps", type=click.FloatRange(min=0, min_open=True), default=1e-6, show_default=True,
              help="Step of the centered differences.")
@click.option("--layer", default=None, help="Check only this node (by name).")
@click.option("--max-entries", type=click.IntRange(min=1), default=200, show_default=True,
              help="Entries checked per tensor; larger tensors are sampled.")
@click.option("--reference", is_flag=True,
              help="Also compare conv/pool layers with their plain loop implementations.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def gradcheck(config: Path, overrides: tuple[str, ...], samples: int, eps: float, layer: str | None,
              max_entries: int, reference: bool, as_json: bool) -> None:
    """Check every layer's and the whole network's gradients numerically (float64). Exit 1 on failure."""
    import json

    from nnctl.config.load import load_config
    from nnctl.check.runner import format_gradcheck, run_gradcheck

    result = run_gradcheck(load_config(config, list(overrides)), samples, eps, layer, max_entries, reference)
    click.echo(json.dumps(result, indent=2) if as_json else format_gradcheck(result, str(config)))
    if result["counts"]["fail"]:
        raise SystemExit(1)


def main() -> None:
    cli(prog_name="nnctl")


if __name__ == "__main__":
    sys.exit(main())
