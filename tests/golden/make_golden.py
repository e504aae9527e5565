"""Writes the golden files that tests/test_golden.py compares fresh runs against.

    python tests/golden/make_golden.py

Each golden run is trained through the `nnctl` command itself (so the files do not depend on where the
training code lives), with BLAS and nnctl pinned to the thread count recorded in the fingerprint. What is
kept: metrics.csv and steps.csv without their wall-clock columns, every array of last.npz and best.npz, and
the checkpoint metadata that says where the run stands (epoch, step, generator state, history, best).
Run this only to record a deliberate change of numbers, and say why in the commit.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from machine import fingerprint  # noqa: E402  (this folder is not a package)

CNN = """\
name: cnn
seed: 2
data: {dataset: npz, path: images.npz, flatten: false, val_size: 48}
model:
  layers:
    - {type: conv2d, filters: 4, kernel: 3, padding: 1}
    - {type: batchnorm, test_stats: recompute}
    - {type: relu}
    - {type: maxpool2d, kernel: 2}
    - {type: dropout, p: 0.1}
    - {type: flatten}
    - {type: dense, units: 3}
optimizer: {type: momentum, lr: 5.0e-2, momentum: 0.9}
schedule: {type: reduce_on_plateau, metric: val_loss, patience: 0, factor: 0.5}
train: {epochs: 7, batch_size: 20, early_stopping: {metric: val_acc, patience: 3},
        augment: {flip: true, shift: 1}}
"""

RUNS = {
    "spiral": (REPO / "configs" / "spiral.yaml", ["train.epochs=30"]),
    "cnn": (None, []),
}
WALL_CLOCK = {"seconds"}
META_KEYS = ("epoch", "step", "global_step", "best_epoch", "first_loss", "rng_state", "history", "best", "early",
             "schedule_state", "progress")


def write_images(folder: Path) -> None:
    """240 8x8 images in 3 classes: a bright square top-left, top-right or in the bottom half."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=240)
    x = rng.normal(0.0, 0.3, size=(240, 1, 8, 8)).astype(np.float32)
    for cls, (rows, cols) in enumerate(((slice(0, 4), slice(0, 4)), (slice(0, 4), slice(4, 8)),
                                        (slice(4, 8), slice(0, 8)))):
        x[y == cls, 0, rows, cols] += 1.0
    np.savez(folder / "images.npz", x=x, y=y)


def train(name: str, work: Path) -> Path:
    """Trains the golden run `name` in `work` with the `nnctl` command; returns its run folder."""
    config, overrides = RUNS[name]
    if config is None:
        write_images(work)
        config = work / f"{name}.yaml"
        config.write_text(CNN)
    command = [sys.executable, "-m", "nnctl", "train", str(config), "--out", str(work / "runs"), "-q"]
    for override in overrides:
        command += ["--set", override]
    subprocess.run(command, cwd=work, check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    (run,) = (work / "runs").glob("*/*/")
    return run


def _without_wall_clock(value):
    if isinstance(value, dict):
        return {k: _without_wall_clock(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [_without_wall_clock(v) for v in value]
    return value


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in csv.DictReader(handle)]


def record(run: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(the run's figures as JSON-able data, its checkpoint arrays keyed 'last/...' and 'best/...')."""
    figures: dict = {"metrics": read_csv(run / "metrics.csv"), "steps": read_csv(run / "steps.csv")}
    arrays: dict[str, np.ndarray] = {}
    for which in ("last", "best"):
        with np.load(run / "checkpoints" / f"{which}.npz", allow_pickle=False) as archive:
            meta = json.loads(bytes(archive["meta"]).decode())
            figures[which] = _without_wall_clock({key: meta.get(key) for key in META_KEYS})
            arrays.update({f"{which}/{key}": archive[key] for key in archive.files if key != "meta"})
    return figures, arrays


def main() -> None:
    for name in RUNS:
        with tempfile.TemporaryDirectory() as work:
            figures, arrays = record(train(name, Path(work)))
        figures["fingerprint"] = fingerprint()
        (HERE / f"{name}.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
        np.savez_compressed(HERE / f"{name}.npz", **arrays)
        print(f"wrote {name}.json and {name}.npz ({figures['fingerprint']})")


if __name__ == "__main__":
    main()
