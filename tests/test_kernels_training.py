"""Training with the compiled kernels: two runs with the same seed give the same numbers exactly, and a
short spiral MLP run agrees with the NumPy path within float32 rounding's reach (stated below)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba is not installed (pip install 'nnctl[fast]')")

ROOT = Path(__file__).resolve().parents[1]
NNCTL = Path(sys.executable).with_name("nnctl")


def train(out: Path, kernels: str) -> tuple[list[dict], dict[str, np.ndarray]]:
    """20 epochs of configs/spiral.yaml (Adam, ReLU MLP, softmax cross-entropy: every kernel family runs) on
    two threads; returns metrics.csv without the timing column and the last checkpoint's arrays."""
    env = {**os.environ, "NNCTL_KERNELS": kernels, "NNCTL_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([str(NNCTL), "train", "configs/spiral.yaml", "--out", str(out), "--quiet",
                           "--set", "train.epochs=20"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    (run,) = (out / "spiral").iterdir()
    with open(run / "metrics.csv") as handle:
        rows = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]
    with np.load(run / "checkpoints" / "last.npz") as saved:
        arrays = {k: saved[k] for k in saved.files if k != "meta"}
    return rows, arrays


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("kernels")
    return {name: train(base / name, kernels) for name, kernels in
            (("numba_a", "numba"), ("numba_b", "numba"), ("numpy", "numpy"))}


def test_two_runs_with_kernels_on_give_identical_numbers(runs):
    (rows_a, arrays_a), (rows_b, arrays_b) = runs["numba_a"], runs["numba_b"]
    assert len(rows_a) == 20 and rows_a == rows_b
    assert arrays_a.keys() == arrays_b.keys() and len(arrays_a) > 5
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


def test_kernels_on_and_off_agree_on_the_spiral(runs):
    """The optimizer and ReLU kernels give NumPy's numbers exactly; softmax cross-entropy's gradient differs
    by float32 rounding (a few ulp), which 20 epochs of Adam amplify a little. Stated tolerance: each epoch's
    losses within 2% (relative) and accuracies within 2 points; the final accuracies within 1 point."""
    fast, plain = runs["numba_a"][0], runs["numpy"][0]
    for a, b in zip(fast, plain):
        for key in ("train_loss", "val_loss"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=0.02), (a["epoch"], key)
        for key in ("train_acc", "val_acc"):
            assert abs(float(a[key]) - float(b[key])) <= 0.02, (a["epoch"], key)
    assert abs(float(fast[-1]["val_acc"]) - float(plain[-1]["val_acc"])) <= 0.01
    assert float(fast[-1]["val_acc"]) > 0.9                                  # it learned the spiral
