"""Evaluate a saved network on one split of data.

    nnctl eval RUN | CHECKPOINT [--config CONFIG] [--split test]

Where the data comes from is decided by the command line, never by the checkpoint (docs/trust.md):
- RUN, or a checkpoint in RUN/checkpoints/ next to RUN/config.yaml: the run's own config, rebuilt with
  the same seed, so the splits are the ones the run trained on; its network gets the checkpoint's arrays
  (names, shapes, dtypes and values checked, in bounded memory).
- --config CONFIG: the data section and seed of CONFIG; the network is the checkpoint's own, read as data
  (nnctl.training.trusted: architecture, input normalization and class names, each checked).
- a checkpoint outside a run folder and no --config: refused, since the data paths stored in a
  checkpoint are never followed.
The results are returned to be shown first; `save_evaluation` then writes them next to the checkpoint,
so a read-only run folder still shows its numbers before the one-line write error.
"""

from __future__ import annotations

import json
from pathlib import Path

from nnctl.atomic import write_text_atomic
from nnctl.config.load import errors_name, load_config
from nnctl.data import load_splits
from nnctl.errors import InputError
from nnctl.nn.objective import check_fits_data
from nnctl.training.checkpoints import expected_shapes, load_checkpoint
from nnctl.training.metrics import evaluate
from nnctl.training.prepare import Setup, config_dir, prepare, seed_streams
from nnctl.training.trusted import counter, load_trusted


def checkpoint_of(target: str | Path) -> tuple[Path, Path | None]:
    """(checkpoint file, its run folder or None) for a run folder (best.npz) or a checkpoint path."""
    target = Path(target)
    if target.is_dir():
        best = target / "checkpoints" / "best.npz"
        if not best.is_file():
            raise InputError(f"{target}: no checkpoints/best.npz in this folder (give a run folder or a "
                             f"checkpoint file)")
        return best, target
    run_dir = target.parent.parent if target.parent.name == "checkpoints" else None
    return target, run_dir if run_dir is not None and (run_dir / "config.yaml").is_file() else None


def setup_from_checkpoint(target: str | Path, progress: bool = True,
                          config_path: str | Path | None = None) -> tuple[Setup, dict]:
    """The data splits and the checkpoint's network, as the module docstring says; returns (setup, facts)
    with facts {"checkpoint", "epoch", "step", "class_names"} checked from the checkpoint's metadata."""
    path, run_dir = checkpoint_of(target)
    if config_path is not None:
        return setup_with_config(path, load_config(config_path), progress)
    if run_dir is None:
        if path.is_file():
            raise InputError(f"{path}: a checkpoint outside a run folder brings no data that nnctl would use "
                             f"(the paths stored in a checkpoint are never followed); give the data with "
                             f"--config CONFIG")
        raise InputError(f"{path}: no such checkpoint file or run folder")
    setup = prepare(load_config(run_dir / "config.yaml"), progress=progress)
    net = setup.network
    ckpt = load_checkpoint(path, expected_shapes(net.params(), net.buffers()), groups=("param", "buffer"))
    net.load_arrays(ckpt.params, ckpt.buffers, str(path))
    facts = {"checkpoint": str(path), "epoch": counter(ckpt.meta, "epoch"), "step": counter(ckpt.meta, "step"),
             "class_names": setup.splits.class_names}
    return setup, facts


def setup_with_config(path: Path, config: dict, progress: bool) -> tuple[Setup, dict]:
    """The checkpoint's own network (read as data) and the data of `config`, normalized as the network
    was trained."""
    train = config["train"]
    model = load_trusted(path, batch_size=max(train["batch_size"], train["eval_batch_size"]))
    data_seq, rng = seed_streams(config["seed"])
    with errors_name(config):
        splits = load_splits(config["data"], data_seq, config_dir(config), progress, model.normalization)
    if tuple(splits.input_shape) != model.input_shape:
        raise InputError(f"{path}: the network takes inputs of shape {model.input_shape}, but the data of "
                         f"{config.source} gives {tuple(splits.input_shape)}")
    with errors_name(f"{path} (stored config)"):
        check_fits_data(model.objective, model.network, splits, None)
    facts = {"checkpoint": str(path), "epoch": model.epoch, "step": model.step,
             "class_names": model.class_names or splits.class_names}
    return Setup(config, splits, model.network, model.objective, rng), facts


def report_path(checkpoint: Path, split: str) -> Path:
    """runs/<name>/<stamp>/eval_<checkpoint>_<split>.json (next to the run's own report)."""
    checkpoint = Path(checkpoint)
    run_dir = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    return run_dir / f"eval_{checkpoint.stem}_{split}.json"


def evaluate_checkpoint(target: str | Path, split: str = "test", batch_size: int | None = None,
                        progress: bool = True, config_path: str | Path | None = None) -> tuple[dict, Path]:
    """Loss, accuracy and confusion matrix of a run's best.npz (or a checkpoint) on `split`. Returns (result,
    the JSON file `save_evaluation` writes it to); nothing is written here."""
    setup, facts = setup_from_checkpoint(target, progress, config_path)
    path = Path(facts["checkpoint"])
    data = getattr(setup.splits, split)
    if data is None or len(data[0]) == 0:
        raise InputError(f"{path}: this run's data has no {split} split")
    result = evaluate(setup.network, setup.objective, data[0], data[1],
                      batch_size or setup.config["train"]["eval_batch_size"], setup.splits.num_classes)
    result.update({"checkpoint": str(path), "split": split, "epoch": facts["epoch"], "step": facts["step"] or 0,
                   "class_names": facts["class_names"]})
    return result, report_path(path, split)


def save_evaluation(result: dict, out: Path) -> Path:
    """Write `result` as JSON to `out` (atomically); a failure is one WriteFailed line naming the file."""
    write_text_atomic(out, json.dumps(result, indent=2) + "\n", "evaluation report")
    return out
