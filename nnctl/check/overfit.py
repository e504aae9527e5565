"""The course's first sanity check: a network that cannot overfit a handful of samples has a bug.

`nnctl train CONFIG --overfit N` trains on N training samples with every regularizer switched off
(L1/L2 penalties, weight decay, dropout, label smoothing, augmentation) and no early stopping, then says whether the
training accuracy reached 100%; the command exits 1 when it did not (a task without accuracy, such as a
regression, is only reported).
"""

from __future__ import annotations

import copy

from nnctl.config.sections import ResolvedConfig


def overfit_config(config: ResolvedConfig, samples: int) -> ResolvedConfig:
    """A copy of `config` that trains on `samples` samples without regularization."""
    out = copy.deepcopy(config.sections())
    out["name"] = f"{config.name}-overfit{samples}"
    out["data"]["limit"] = samples
    out["regularization"] = {key: 0.0 for key in out["regularization"]}
    out["optimizer"]["weight_decay"] = 0.0
    for node in out["model"]["layers"]:
        node.pop("l1", None)
        node.pop("l2", None)
        if node["type"] == "dropout":
            node["p"] = 0.0
    for term in out["loss"]:
        if "label_smoothing" in term:
            term["label_smoothing"] = 0.0
    out["train"]["early_stopping"] = None
    out["train"]["augment"] = None
    out["train"]["monitor"] = "train_loss"
    return config.with_sections(**out)


def overfit_reached(report: dict) -> bool | None:
    """Did the training accuracy (of the restored best weights) reach 100%? None when the task has no
    accuracy."""
    acc = (report.get("train") or {}).get("acc")
    return None if acc is None else acc == 1.0


def overfit_verdict(report: dict) -> str:
    train = report.get("train") or {}
    acc = train.get("acc")
    if acc is None:
        return f"overfit check: final training loss {train.get('loss', float('nan')):.6f} (no accuracy for this task)"
    reached = "reached" if overfit_reached(report) else "did NOT reach"
    return (f"overfit check: training accuracy {100 * acc:.2f}% on {train['samples']} samples "
            f"({train['correct']}/{train['samples']}): {reached} 100%")
