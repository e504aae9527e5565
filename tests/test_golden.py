"""Fresh runs of two golden configs (the spiral MLP and a small CNN with batch norm, dropout, augmentation and
a plateau schedule) against files kept in tests/golden/, written by tests/golden/make_golden.py.

On a machine whose float32 fingerprint matches the one recorded (same NumPy, same BLAS kernels, same thread
count: see tests/golden/machine.py) every figure and every checkpoint array must be identical bit for bit:
moving code around must not change a single number. On another processor float32 products round
differently and trained figures drift, so there the check is what holds everywhere: the same epochs, steps,
keys and shapes, the first step's loss (initialisation, data order and one forward pass, no update yet) to
1e-5 relative, and the first epoch's losses to 1e-3 relative (one epoch of rounding differences).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))

from machine import fingerprint  # noqa: E402
from make_golden import RUNS, record, train  # noqa: E402


@pytest.fixture(scope="module")
def this_machine() -> str:
    return fingerprint()


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_fresh_run_matches_the_golden_files(name, tmp_path, this_machine):
    figures, arrays = record(train(name, tmp_path))
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    with np.load(GOLDEN / f"{name}.npz", allow_pickle=False) as archive:
        expected_arrays = {key: archive[key] for key in archive.files}
    assert sorted(arrays) == sorted(expected_arrays)
    assert {k: v.shape for k, v in arrays.items()} == {k: v.shape for k, v in expected_arrays.items()}
    assert [row["epoch"] for row in figures["metrics"]] == [row["epoch"] for row in expected["metrics"]]
    assert [row["step"] for row in figures["steps"]] == [row["step"] for row in expected["steps"]]
    for which in ("last", "best"):
        assert sorted(figures[which]) == sorted(expected[which])
        assert (figures[which]["epoch"], figures[which]["step"]) == (expected[which]["epoch"], expected[which]["step"])
    if this_machine == expected["fingerprint"]:
        assert figures["metrics"] == expected["metrics"]
        assert figures["steps"] == expected["steps"]
        for which in ("last", "best"):
            assert figures[which] == expected[which]
        for key, value in expected_arrays.items():
            assert arrays[key].dtype == value.dtype, key
            assert np.array_equal(arrays[key], value), key
    else:
        first, expected_first = float(figures["steps"][0]["loss"]), float(expected["steps"][0]["loss"])
        assert first == pytest.approx(expected_first, rel=1e-5)
        for column in ("train_loss", "val_loss"):
            assert float(figures["metrics"][0][column]) == pytest.approx(float(expected["metrics"][0][column]),
                                                                         rel=1e-3)
