"""Training with the compiled kernels: two runs with the same seed give the same numbers exactly, and so
does a run with NNCTL_KERNELS=numpy (every kernel does NumPy's float operations in NumPy's order)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba is not installed (pip install 'nnctl[fast]')")

ROOT = Path(__file__).resolve().parents[1]
NNCTL = Path(sys.executable).with_name("nnctl")


def train(out: Path, kernels: str) -> tuple[list[dict], dict[str, np.ndarray], Path]:
    """20 epochs of configs/spiral.yaml (Adam, ReLU MLP, softmax cross-entropy: every kernel family runs) on
    two threads; returns metrics.csv without the timing column, the last checkpoint's arrays and `out`."""
    env = {**os.environ, "NNCTL_KERNELS": kernels, "NNCTL_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([str(NNCTL), "train", "configs/spiral.yaml", "--out", str(out), "--quiet",
                           "--set", "train.epochs=20"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    (run,) = (out / "spiral").iterdir()
    with open(run / "metrics.csv") as handle:
        rows = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]
    with np.load(run / "checkpoints" / "last.npz") as saved:
        arrays = {k: saved[k] for k in saved.files if k != "meta"}
    return rows, arrays, out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("kernels")
    return {name: train(base / name, kernels) for name, kernels in
            (("numba_a", "numba"), ("numba_b", "numba"), ("numpy", "numpy"))}


def test_two_runs_with_kernels_on_give_identical_numbers(runs):
    (rows_a, arrays_a, _), (rows_b, arrays_b, _) = runs["numba_a"], runs["numba_b"]
    assert len(rows_a) == 20 and rows_a == rows_b
    assert arrays_a.keys() == arrays_b.keys() and len(arrays_a) > 5
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


def test_kernels_on_and_off_give_the_same_numbers_on_the_spiral(runs):
    (fast_rows, fast_arrays, _), (plain_rows, plain_arrays, _) = runs["numba_a"], runs["numpy"]
    assert fast_rows == plain_rows
    assert float(fast_rows[-1]["val_acc"]) > 0.9                      # it learned the spiral
    for key in plain_arrays:
        np.testing.assert_array_equal(fast_arrays[key], plain_arrays[key], err_msg=key)


def test_the_report_says_which_kernels_ran(runs):
    """report.json's versions name the kernels (numba and its version, or numpy); report.md says it too."""
    for name, expected in (("numba_a", "numba "), ("numpy", "numpy")):
        (run,) = (Path(runs[name][2]) / "spiral").iterdir()
        versions = json.loads((run / "report.json").read_text())["versions"]
        assert versions["kernels"].startswith(expected)
        assert f", kernels {versions['kernels']}, " in (run / "report.md").read_text()
