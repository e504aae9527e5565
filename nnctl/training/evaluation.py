"""Evaluate a saved checkpoint on one split of the data it was trained on."""

from __future__ import annotations

import json
from pathlib import Path

from nnctl.training.checkpoints import Checkpoint, load_checkpoint
from nnctl.config.sections import resolve
from nnctl.errors import ConfigError, InputError
from nnctl.training.metrics import evaluate
from nnctl.atomic import write_text_atomic
from nnctl.training.prepare import Setup, prepare


def setup_from_checkpoint(path: str | Path, progress: bool = True) -> tuple[Setup, Checkpoint]:
    """Rebuild the checkpoint's data splits and network (same config, same seed) and load its arrays."""
    ckpt = load_checkpoint(path)
    if not isinstance(ckpt.meta.get("config_dir", "."), str):
        raise InputError(f"{path}: damaged checkpoint (meta 'config_dir' is not a path); nothing was loaded")
    try:
        config = resolve(ckpt.meta["config"])
    except (ConfigError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: the config stored in this checkpoint is not valid ({exc}); "
                         f"nothing was loaded") from None
    setup = prepare(config, base_dir=Path(ckpt.meta.get("config_dir", ".")), progress=progress)
    setup.network.load_arrays(ckpt.params, ckpt.buffers, str(path))
    return setup, ckpt


def report_path(checkpoint: Path, split: str) -> Path:
    """runs/<name>/<stamp>/eval_<checkpoint>_<split>.json (next to the run's own report)."""
    checkpoint = Path(checkpoint)
    run_dir = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    return run_dir / f"eval_{checkpoint.stem}_{split}.json"


def evaluate_checkpoint(path: str | Path, split: str = "test", batch_size: int | None = None,
                        progress: bool = True) -> tuple[dict, Path]:
    """Loss, accuracy and confusion matrix of the checkpoint on `split`; also written as JSON."""
    setup, ckpt = setup_from_checkpoint(path, progress)
    data = getattr(setup.splits, split)
    if data is None or len(data[0]) == 0:
        raise InputError(f"{path}: this run's data has no {split} split")
    result = evaluate(setup.network, setup.objective, data[0], data[1],
                      batch_size or setup.config["train"]["eval_batch_size"], setup.splits.num_classes)
    result.update({"checkpoint": str(path), "split": split, "epoch": ckpt.meta.get("epoch"),
                   "class_names": setup.splits.class_names})
    out = report_path(Path(path), split)
    write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    return result, out
