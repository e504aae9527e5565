"""A trainer's whole state in a checkpoint and back: what makes `--resume` exact.

A snapshot holds, besides the network's parameters and buffers (as every checkpoint does):
    optimizer state        arrays (moments, step count t)
    position               epoch (completed epochs) and step (steps done in the next one): the label of
                           the weights, so no checkpoint names an epoch its weights don't belong to
    epoch progress         the running train-loss/accuracy sums (per term and head too) and seconds of a
                           partly done epoch
    generator states       the run generator's state now, and its state at the start of the current epoch
                           (which redraws that epoch's permutation)
    schedule state, both monitors (best checkpoint, early stopping), every metrics row so far, the number
    of BLAS threads, the resolved config, the input normalization and class names, the network's input shape
    (and the image shape before flattening, for image data), where the starting weights came from
    (`init`, see init_from.py), and the run's first batch loss (the divergence bound's base).

Every value goes through JSON, whose floats round-trip exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nnctl.errors import InputError
from nnctl.options.yamlio import plain
from nnctl.runs.checkpoints import Checkpoint, save_checkpoint
from nnctl.runs.meta import CheckpointMeta
from nnctl.threads import blas_threads
from nnctl.training.report import versions
from nnctl.training.trainer import Diverged, EpochProgress, RestoredState, Trainer
from nnctl.workers import thread_count


def snapshot_meta(trainer: Trainer) -> CheckpointMeta:
    """Everything the trainer's state needs to be taken up again, and what the network's users may read."""
    p = trainer.progress
    splits = trainer.setup.splits
    return CheckpointMeta(
        config=plain(trainer.config.sections()),
        epoch=trainer.epoch, step=p.step, global_step=trainer.global_step,
        metrics=trainer.history[-1] if trainer.history and p.step == 0 else None,
        history=trainer.history,
        progress={"loss_sum": p.loss_sum, "correct": p.correct, "seen": p.seen, "seconds": p.seconds,
                  "order_state": p.order_state if p.step else None, "term_sums": p.term_sums,
                  "head_correct": p.head_correct},
        rng_state=trainer.rng.bit_generator.state,
        schedule_state=trainer.schedule.state(),
        monitor=trainer.monitor, best_epoch=trainer.best.best_epoch,
        best=trainer.best.state(), early=trainer.early.state() if trainer.early else None,
        normalization=splits.normalization, class_names=splits.class_names,
        input_shape=list(splits.input_shape),
        image_shape=None if splits.image_shape is None else list(splits.image_shape),
        init=trainer.weights_from,
        blas_threads=blas_threads(), worker_threads=thread_count(), resumes=trainer.resumes, versions=versions(),
        first_loss=trainer.first_loss, findings=list(trainer.findings))


def save_snapshot(trainer: Trainer, name: str) -> Path:
    """Write checkpoints/<name>.npz of the trainer's run folder (atomically); returns its path. Weights that
    are no longer finite are never written (Diverged): every checkpoint on disk can be loaded again."""
    path = trainer.run_dir / "checkpoints" / f"{name}.npz"
    net = trainer.network
    arrays = {**net.params(), **net.buffers()}
    broken = next((key for key, array in arrays.items() if not np.isfinite(array).all()), None)
    if broken is not None:
        raise Diverged(f"{broken} holds NaN or infinite values at {trainer.position()}")
    save_checkpoint(path, net.params(), net.buffers(), trainer.optimizer.state_arrays(), snapshot_meta(trainer))
    trainer.saved[name] = trainer.position()
    return path


def restore_snapshot(trainer: Trainer, ckpt: Checkpoint, source: str) -> None:
    """Put the trainer back into the state `ckpt` was saved from. Anything that does not fit is an
    InputError naming `source`; it is raised before the trainer is changed where it can be checked first."""
    meta = ckpt.meta
    try:
        epoch, step = int(meta.epoch), int(meta.step)
        history = list(meta.history)
        progress = meta.progress
        saved_progress = EpochProgress(step, float(progress["loss_sum"]), int(progress["correct"]),
                                       int(progress["seen"]), float(progress["seconds"]), progress["order_state"],
                                       [float(v) for v in progress.get("term_sums", [])],
                                       [int(v) for v in progress.get("head_correct", [])])
        rng_state, schedule_state = meta.rng_state, meta.schedule_state
        if rng_state is None or schedule_state is None:
            raise KeyError("rng_state")
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{source}: this checkpoint holds no resumable training state (written by an older "
                         f"nnctl, or damaged); nothing was loaded") from None
    if not 0 <= step <= trainer.steps_per_epoch or len(history) != epoch:
        raise InputError(f"{source}: its position (epoch {epoch}, step {step}) does not fit this run; "
                         f"nothing was loaded")
    trainer.network.load_arrays(ckpt.params, ckpt.buffers, source)
    try:
        trainer.optimizer.load_state_arrays(ckpt.optim)
        trainer.schedule.load_state(schedule_state)
        trainer.best.load_state(meta.best)
        if trainer.early is not None:
            trainer.early.load_state(meta.early)
        trainer.rng.bit_generator.state = rng_state
    except InputError as exc:
        raise InputError(f"{source}: {exc}; the run cannot be resumed from it") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{source}: damaged training state ({exc}); the run cannot be resumed from it") from None
    first = meta.first_loss
    findings = meta.findings if isinstance(meta.findings, list) else []
    trainer.restore(RestoredState(epoch, saved_progress, history, int(meta.global_step or 0),
                                  meta.init if isinstance(meta.init, dict) else None,
                                  int(meta.resumes or 0) + 1,
                                  float(first) if isinstance(first, (int, float)) and math.isfinite(first) else None,
                                  tuple(str(finding)[:1000] for finding in findings[:20])))
    trainer.saved["last"] = trainer.position()
    if trainer.best.best_epoch:
        trainer.saved["best"] = f"end of epoch {trainer.best.best_epoch}"
