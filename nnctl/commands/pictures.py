"""`nnctl plot RUN --filters | --features | --codes | --reconstructions`: which network and which images a
picture is of (a run's best checkpoint, a checkpoint, or a config's fresh network), where it goes, and the
call to the drawing code in nnctl.viz."""

from __future__ import annotations

from pathlib import Path

from nnctl.build.prepare import prepare
from nnctl.commands.codes import draw_codes
from nnctl.commands.evaluate import checkpoint_of, setup_from_checkpoint
from nnctl.commands.reconstructions import draw_reconstructions
from nnctl.config.load import load_config
from nnctl.errors import InputError
from nnctl.runs.loader import load_model
from nnctl.runs.run_dir import newest_run
from nnctl.viz.codes import NEIGHBOURS
from nnctl.viz.pictures import plot_feature_maps, plot_filters


def setup_for_pictures(path: Path, with_data: bool = True, config_path: Path | None = None):
    """A trained network from a run folder (its best.npz) or a checkpoint, or a freshly built one from a
    config (fixed filters, initial weights): an object with `.network` and, `with_data`, `.splits`. A
    checkpoint's images come from its run's config.yaml or from `config_path`, never from paths stored in
    it; a checkpoint outside a run folder without them is read as data only (nnctl.runs.loader) and no
    data is read at all."""
    if path.is_dir() or path.suffix == ".npz":
        if with_data or config_path is not None or checkpoint_of(path)[1] is not None:
            return setup_from_checkpoint(path, progress=False, config_path=config_path)[0]
        return load_model(path)
    return prepare(load_config(path), progress=False)


def picture_folder(path: Path) -> Path:
    """Where pictures of `path` go by default: the run folder (given, the newest in a folder of runs, or
    holding the checkpoint), the checkpoint's own folder outside a run, or the current folder for a config
    (a fresh network)."""
    path = newest_run(path)
    if path.is_dir():
        return path
    if path.suffix == ".npz":
        return path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return Path(".")


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


def draw_feature_maps(setup, split: str, image_index: str, out_file: Path) -> tuple[Path, int]:
    """Feature maps of the images `image_index` ('0' or '0,1,2') of `split` into `out_file` (a folder: the
    file features_<indexes>.png in it); returns (file, rows drawn)."""
    data = getattr(setup.splits, split)
    count = 0 if data is None else len(data[0])
    indexes = parse_indexes(image_index, count, split)
    if out_file.is_dir():
        out_file = out_file / f"features_{'_'.join(map(str, indexes))}.png"
    rows = plot_feature_maps(setup.network, data[0][indexes], out_file, [f"{split} image {i}" for i in indexes])
    return out_file, rows


def draw_picture(path: Path, kind: str, out_file: Path | None, split: str, title: str = "", *,
                 image_index: str | None = None, node: str | None = None, count: int | None = None,
                 corruption=None, config_path: Path | None = None) -> str:
    """Draw one picture of the network at `path` (run folder, checkpoint or config): kind is --filters,
    --features (images `image_index`), --codes (of `node`) or --reconstructions (`count` images, damaged
    by `corruption` or the run's own noise layer). The images come from the run's config.yaml or
    `config_path` (see `setup_for_pictures`). It goes to `out_file`, else into the run folder (see
    `picture_folder`). Returns what to print."""
    setup = setup_for_pictures(path, with_data=kind != "--filters", config_path=config_path)
    folder = picture_folder(path)
    if kind == "--filters":
        out = out_file or folder / "filters.png"
        drawn = plot_filters(setup.network, out, title=title or f"{path}: first-layer weights")
        return f"wrote {out} ({drawn} filters)"
    if kind == "--features":
        out, rows = draw_feature_maps(setup, split, image_index, out_file or folder)
        return f"wrote {out} ({rows} rows: each image and its image-shaped layers)"
    if kind == "--codes":
        out = out_file or folder / f"codes_{node}.png"
        panels = draw_codes(setup, node, split, out, str(path), title)
        return "\n".join([f"wrote {out}"] + [f"{panel.title}: {NEIGHBOURS}-NN {split} accuracy "
                                             f"{100 * panel.accuracy:.2f}%" for panel in panels])
    out = out_file or folder / "reconstructions.png"
    rows, mse = draw_reconstructions(setup, count, split, corruption, out, str(path), title)
    return f"wrote {out} ({rows} rows of {count} {split} images; mean squared error to the clean images {mse:.6f})"
