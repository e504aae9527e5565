"""kill -9 at random moments: a real `nnctl train` process is SIGKILLed again and again (during start-up,
training and checkpoint writes), `--resume` continues it each time, and the run ends bit-identical to one
that was never interrupted. After every kill, every .npz on disk loads and nothing else is half-written."""

from __future__ import annotations

import csv
import subprocess
import sys
import time

import numpy as np

from nnctl.training.checkpoints import load_checkpoint

CONFIG = """\
name: kill
seed: 3
data: {dataset: spiral, samples: 400, normalize: standard}
model:
  layers:
    - {type: dense, units: 256}
    - {type: batchnorm}
    - {type: relu}
    - {type: dropout, p: 0.1}
    - {type: dense, units: 256}
    - {type: relu}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 3.0e-3}
schedule: {type: cosine, warmup_epochs: 3}
train: {epochs: 100, batch_size: 32, checkpoint_every: 1}
"""
KILLS = 12
RUN_FILES = {"config.yaml", "metrics.csv", "steps.csv", "checkpoints", "curves.png", "confusion.png", "report.json",
             "report.md"}


def nnctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnctl", *args, "--quiet"]


def rows_without_seconds(run):
    with open(run / "metrics.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def step_rows(run):
    with open(run / "steps.csv", newline="") as handle:
        return list(csv.reader(handle))


def check_what_a_kill_left(out) -> tuple[object, set]:
    """(the run folder or None, the temporaries killed writers left); asserts every checkpoint loads and
    every other file is one a run writes whole."""
    runs = [p for p in (out / "kill").glob("*") if not p.name.startswith(".")] if (out / "kill").is_dir() else []
    assert len(runs) <= 1
    if not runs:
        return None, set()
    run = runs[0]
    temporaries = set()
    for path in run.rglob("*"):
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            temporaries.add(path)
        elif path.parent == run:
            assert path.name in RUN_FILES, path
        else:
            assert path.suffix == ".npz", path
            load_checkpoint(path)          # raises on anything partial
    return run, temporaries


def test_sigkill_at_random_moments_then_resume_ends_bit_identical(tmp_path):
    config = tmp_path / "kill.yaml"
    config.write_text(CONFIG)
    started = time.perf_counter()
    subprocess.run(nnctl("train", str(config), "--print-config"), check=True, capture_output=True)
    start_up = time.perf_counter() - started          # a kill moment is drawn from [0.1 s, 1.5 x start-up]
    subprocess.run(nnctl("train", str(config), "--out", str(tmp_path / "reference")), check=True,
                   capture_output=True)
    reference = next((tmp_path / "reference" / "kill").iterdir())

    out = tmp_path / "killed"
    rng = np.random.default_rng(20261202)
    run, kills, during_writes = None, 0, 0
    while True:
        command = nnctl("train", str(config), "--out", str(out)) if run is None else \
            nnctl("train", "--resume", str(run))
        before = check_what_a_kill_left(out)[1]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=rng.uniform(0.1, 1.5 * start_up) if kills < KILLS else 600)
        except subprocess.TimeoutExpired:
            process.kill()                                   # SIGKILL
            process.wait()
            kills += 1
            run, temporaries = check_what_a_kill_left(out)
            during_writes += bool(temporaries - before)     # a write this process began was cut
            continue
        assert process.returncode == 0
        break
    assert kills >= 10, f"only {kills} kills before the run ended"
    run, _ = check_what_a_kill_left(out)
    for name in ("last.npz", "best.npz"):
        with np.load(reference / "checkpoints" / name) as a, np.load(run / "checkpoints" / name) as b:
            keys = [k for k in a.files if k != "meta"]
            assert keys == [k for k in b.files if k != "meta"]
            for key in keys:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name} {key}")
    assert rows_without_seconds(run) == rows_without_seconds(reference)
    assert len(rows_without_seconds(run)) == 100
    assert step_rows(run) == step_rows(reference)          # every step once, in order, one header
    steps = step_rows(run)
    assert steps[0] == ["step", "epoch", "loss", "lr"]
    assert [int(row[0]) for row in steps[1:]] == list(range(1, len(steps)))
    assert float(steps[-1][1]) == 100
    assert during_writes >= 1, "no kill landed during a write: the test did not try what it should"
