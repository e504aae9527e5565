"""Evaluate a saved network on one split of the data it was trained on.

`nnctl eval RUN` takes a run folder (its best.npz) or a checkpoint file. The data comes from the run's own
config.yaml next to the checkpoint (RUN/config.yaml), rebuilt with the same seed, so the splits are the
ones the run trained on. A checkpoint outside any run folder falls back to the config stored in it,
checked like any config, with relative paths taken from the checkpoint's own folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from nnctl.atomic import write_text_atomic
from nnctl.config.load import load_config
from nnctl.config.sections import resolve
from nnctl.errors import ConfigError, InputError
from nnctl.training.checkpoints import Checkpoint, load_checkpoint
from nnctl.layers.noise import Corruption, corrupt
from nnctl.training.metrics import evaluate
from nnctl.training.prepare import Setup, evaluation_generator, prepare
from nnctl.training.run_dir import newest_run


def checkpoint_of(target: str | Path) -> tuple[Path, Path | None]:
    """(checkpoint file, its run folder or None) for a run folder (best.npz), a folder of runs (the newest
    run's best.npz) or a checkpoint path."""
    target = newest_run(target)
    if target.is_dir():
        best = target / "checkpoints" / "best.npz"
        if not best.is_file():
            raise InputError(f"{target}: no checkpoints/best.npz in this folder (give a run folder or a "
                             f"checkpoint file)")
        return best, target
    run_dir = target.parent.parent if target.parent.name == "checkpoints" else None
    return target, run_dir if run_dir is not None and (run_dir / "config.yaml").is_file() else None


def setup_from_checkpoint(target: str | Path, progress: bool = True) -> tuple[Setup, Checkpoint]:
    """Rebuild the run's data splits and network (same config, same seed) and load the checkpoint's arrays."""
    path, run_dir = checkpoint_of(target)
    ckpt = load_checkpoint(path)
    if run_dir is not None:
        config, base_dir = load_config(run_dir / "config.yaml"), run_dir
    else:
        try:
            config = resolve(ckpt.meta["config"])
        except (ConfigError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{path}: the config stored in this checkpoint is not valid ({exc}); "
                             f"nothing was loaded") from None
        base_dir = path.parent
    setup = prepare(config, base_dir=base_dir, progress=progress)
    setup.network.load_arrays(ckpt.params, ckpt.buffers, str(path))
    return setup, ckpt


def refuse_double_damage(network) -> None:
    """--corrupt on a network whose noise layer already damages evaluation inputs would damage them twice."""
    from nnctl.layers.noise import Noise

    for node in network.nodes:
        if isinstance(node.layer, Noise) and node.layer.config["at_eval"]:
            raise InputError(f"--corrupt: noise layer {node.name!r} of this run already damages inputs at evaluation "
                             f"(at_eval: true); evaluate without --corrupt")


def report_path(checkpoint: Path, split: str, corruption: Corruption | None = None) -> Path:
    """runs/<name>/<stamp>/eval_<checkpoint>_<split>.json (next to the run's own report); with a
    corruption eval_<checkpoint>_<split>_<mode><amount>.json, e.g. eval_best_test_mask0.3.json."""
    checkpoint = Path(checkpoint)
    run_dir = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    damage = "" if corruption is None else \
        f"_{corruption.mode}{corruption.std if corruption.mode == 'gaussian' else corruption.p:g}"
    return run_dir / f"eval_{checkpoint.stem}_{split}{damage}.json"


def evaluate_checkpoint(target: str | Path, split: str = "test", batch_size: int | None = None,
                        progress: bool = True, corruption: Corruption | None = None) -> tuple[dict, Path]:
    """Loss, accuracy and confusion matrix (each term's loss and each head's accuracy with several loss
    terms, the reconstruction error for autoencoders) of a run's best.npz (or a checkpoint) on `split`;
    also written as JSON next to the run's report. With `corruption`, every input is damaged before the
    network sees it (drawn from the run's evaluation generator) while reconstructions are compared with
    the clean inputs. Returns (result, the JSON file)."""
    path, _ = checkpoint_of(target)
    setup, ckpt = setup_from_checkpoint(path, progress)
    data = getattr(setup.splits, split)
    if data is None or len(data[0]) == 0:
        raise InputError(f"{path}: this run's data has no {split} split")
    damage = None
    if corruption is not None:
        refuse_double_damage(setup.network)
        damage_rng = evaluation_generator(setup.config["seed"])
        damage = lambda xb: corrupt(xb, corruption, damage_rng)[0]    # noqa: E731 (one generator for all batches)
    result = evaluate(setup.network, setup.objective, data[0], data[1],
                      batch_size or setup.config["train"]["eval_batch_size"], setup.splits.num_classes,
                      evaluation_generator(setup.config["seed"]), damage)
    result.update({"checkpoint": str(path), "split": split, "epoch": ckpt.meta.get("epoch"),
                   "step": ckpt.meta.get("step", 0), "class_names": setup.splits.class_names,
                   "corruption": None if corruption is None else corruption.describe()})
    out = report_path(path, split, corruption)
    write_text_atomic(out, json.dumps(result, indent=2) + "\n", "evaluation report")
    return result, out
