"""Evaluate a saved network on one split of data.

    nnctl eval RUN | CHECKPOINT [--config CONFIG] [--split test]

Where the data comes from is decided by the command line, never by the checkpoint (docs/trust.md):
- RUN, or a checkpoint in RUN/checkpoints/ next to RUN/config.yaml: the run's own config, rebuilt with
  the same seed, so the splits are the ones the run trained on.
- --config CONFIG: the data section and seed of CONFIG.
Either way the network is the checkpoint's own, read as data by nnctl.runs.loader (architecture, input
normalization and class names, each checked; arrays of exactly the built network's names and shapes, in
bounded memory), and the data is normalized with the statistics it stores.
- a checkpoint outside a run folder and no --config: refused, since the data paths stored in a
  checkpoint are never followed.
RUN may also be a folder of runs (its newest run is taken). `--corrupt` damages every input before the
network sees it, while reconstructions are still compared with the clean inputs.
The results are returned to be shown first; `save_evaluation` then writes them next to the checkpoint,
so a read-only run folder still shows its numbers before the one-line write error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nnctl.atomic import write_text_atomic
from nnctl.build.metric_names import top_ks
from nnctl.build.prepare import Setup, config_dir, evaluation_generator, seed_streams
from nnctl.config.load import errors_name, load_config
from nnctl.config.sections import ResolvedConfig
from nnctl.data import load_splits
from nnctl.errors import InputError
from nnctl.layers.noise import Corruption, Noise, corrupt
from nnctl.nn.class_weights import fit_class_weights
from nnctl.nn.eval_batch import eval_batch_bound
from nnctl.nn.objective import check_fits_data, with_heads_for
from nnctl.runs.loader import load_model
from nnctl.runs.run_dir import newest_run, refuse_config
from nnctl.training.metrics import evaluate


def checkpoint_of(target: str | Path) -> tuple[Path, Path | None]:
    """(checkpoint file, its run folder or None) for a run folder (best.npz), a folder of runs (the newest
    run's best.npz) or a checkpoint path."""
    refuse_config(Path(target))
    target = newest_run(target)
    if target.is_dir():
        best = target / "checkpoints" / "best.npz"
        if not best.is_file():
            raise InputError(f"{target}: no checkpoints/best.npz in this folder (give a run folder or a "
                             f"checkpoint file)")
        return best, target
    run_dir = target.parent.parent if target.parent.name == "checkpoints" else None
    return target, run_dir if run_dir is not None and (run_dir / "config.yaml").is_file() else None


@dataclass(frozen=True)
class CheckpointFacts:
    """What a command says about the checkpoint it used: the file, the epoch and step its weights belong
    to (None when not stated), and the class names (the checkpoint's, else the data's)."""

    checkpoint: Path
    epoch: int | None
    step: int | None
    class_names: list[str] | None


def setup_from_checkpoint(target: str | Path, progress: bool = True,
                          config_path: str | Path | None = None) -> tuple[Setup, CheckpointFacts]:
    """The checkpoint's network (nnctl.runs.loader.load_model) and the data of the run's own config.yaml or
    of `config_path`, as the module docstring says."""
    path, run_dir = checkpoint_of(target)
    if config_path is not None:
        config = load_config(config_path)
    elif run_dir is not None:
        config = load_config(run_dir / "config.yaml")
    elif path.is_file():
        raise InputError(f"{path}: a checkpoint outside a run folder brings no data that nnctl would use "
                         f"(the paths stored in a checkpoint are never followed); give the data with "
                         f"--config CONFIG")
    else:
        raise InputError(f"{path}: no such checkpoint file or run folder")
    return setup_with_config(path, config, progress)


def setup_with_config(path: Path, config: ResolvedConfig, progress: bool) -> tuple[Setup, CheckpointFacts]:
    """The checkpoint's own network (read as data) and the data of `config`, normalized as the network
    was trained (with the statistics the checkpoint stores)."""
    train = config.train
    model = load_model(path, batch_size=max(train["batch_size"], eval_batch_bound(train["eval_batch_size"])))
    data_seq, rng = seed_streams(config.seed)
    with errors_name(config):
        splits = load_splits(config.data, data_seq, config_dir(config), progress, model.normalization)
    if tuple(splits.input_shape) != model.input_shape:
        raise InputError(f"{path}: the network takes inputs of shape {model.input_shape}, but the data of "
                         f"{config.source} gives {tuple(splits.input_shape)}")
    objective = with_heads_for(model.objective, model.network, splits.num_classes)
    with errors_name(f"{path} (stored config)"):
        fit_class_weights(objective, model.network, splits.train[1], splits.num_classes)
        check_fits_data(objective, model.network, splits, None)
    facts = CheckpointFacts(path, model.epoch, model.step, model.class_names or splits.class_names)
    return Setup(config, splits, model.network, objective, rng), facts


def refuse_double_damage(network) -> None:
    """--corrupt on a network whose noise layer already damages evaluation inputs would damage them twice."""
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
                        progress: bool = True, config_path: str | Path | None = None,
                        corruption: Corruption | None = None) -> tuple[dict, Path]:
    """Loss, accuracy, confusion matrix, per-class precision/recall/F1/support, macro and weighted F1 and the
    top-k accuracies of the config's train.metrics (each term's loss and each head's accuracy with several loss
    terms, the reconstruction error for autoencoders) of a run's best.npz (or a checkpoint) on `split`.
    With `corruption`, every input is damaged before the network sees it (drawn from the run's evaluation
    generator) while reconstructions are compared with the clean inputs. Returns (result, the JSON file
    `save_evaluation` writes it to); nothing is written here."""
    setup, facts = setup_from_checkpoint(target, progress, config_path)
    path = facts.checkpoint
    data = getattr(setup.splits, split)
    if data is None or len(data[0]) == 0:
        raise InputError(f"{path}: this run's data has no {split} split")
    damage = None
    if corruption is not None:
        refuse_double_damage(setup.network)
        damage_rng = evaluation_generator(setup.config.seed)
        damage = lambda xb: corrupt(xb, corruption, damage_rng)[0]    # noqa: E731 (one generator for all batches)
    result = evaluate(setup.network, setup.objective, data[0], data[1],
                      batch_size or setup.eval_batch, setup.splits.num_classes,
                      evaluation_generator(setup.config.seed), damage,
                      top_k=top_ks(setup.config) if objective_classifies(setup) else ())
    shown = {**result.to_json(), "checkpoint": str(path), "split": split, "epoch": facts.epoch,
             "step": facts.step or 0, "class_names": facts.class_names,
             "corruption": None if corruption is None else corruption.describe()}
    return shown, report_path(path, split, corruption)


def objective_classifies(setup: Setup) -> bool:
    """Does the first loss term give one class per sample among the data's classes (top-k applies)?"""
    return bool(setup.objective.primary.head and setup.splits.num_classes)


def save_evaluation(result: dict, out: Path) -> Path:
    """Write `result` as JSON to `out` (atomically); a failure is one WriteFailed line naming the file."""
    write_text_atomic(out, json.dumps(result, indent=2) + "\n", "evaluation report")
    return out
