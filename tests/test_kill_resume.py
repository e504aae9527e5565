"""kill -9 at random moments: a real `nnctl train` process is SIGKILLed 12 times, in turn at a random moment
of its start-up, at a random moment of its training, and in the middle of one of its checkpoint writes;
`--resume` continues it each time, and the run ends bit-identical to one that was never interrupted
(checkpoints, metrics and health records). After every kill, every .npz on disk loads and nothing else is
half-written."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time

import numpy as np

from nnctl.runs.checkpoints import load_checkpoint

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
train: {epochs: 60, batch_size: 32, checkpoint_every: 1}
"""
KILLS = 12
RUN_FILES = {"config.yaml", "metrics.csv", "steps.csv", "checkpoints", "curves.png", "confusion.png", "report.json",
             "report.md", "health.csv", "health_histograms.csv", "health.png",
             ".running"}      # the marker a killed run leaves: its dead PID tells `nnctl runs` it was interrupted


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


def wait_until(condition, process, timeout: float = 600) -> bool:
    """Poll `condition` every half millisecond until it holds (True) or the process ends (False)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.0005)
    return False


def freeze_during_a_write(process, run, before: set) -> bool:
    """Wait for a checkpoint write of this process to begin, then stop the process (SIGSTOP) while that
    temporary still exists, i.e. in the middle of the write; a write that finished before the stop lets the
    process go on (SIGCONT) until the next one. False if the process ends first."""
    while wait_until(lambda: bool(set((run / "checkpoints").glob(".*.tmp")) - before), process):
        process.send_signal(signal.SIGSTOP)
        if set((run / "checkpoints").glob(".*.tmp")) - before:
            return True
        process.send_signal(signal.SIGCONT)
    return False


def newest_checkpoint_time(out) -> float:
    found = list((out / "kill").glob("*/checkpoints/last.npz")) if (out / "kill").is_dir() else []
    return max((p.stat().st_mtime for p in found), default=0.0)


def test_sigkill_at_random_moments_then_resume_ends_bit_identical(tmp_path):
    config = tmp_path / "kill.yaml"
    config.write_text(CONFIG)
    reference_out = tmp_path / "reference"
    launched = time.monotonic()
    process = subprocess.Popen(nnctl("train", str(config), "--out", str(reference_out)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_until(lambda: newest_checkpoint_time(reference_out) > 0, process)
    first_checkpoint = time.monotonic() - launched     # start-up: imports, data, network, first step
    assert process.wait(timeout=600) == 0
    reference = next((reference_out / "kill").iterdir())

    out = tmp_path / "killed"
    rng = np.random.default_rng(20261202)
    run, kills, during_writes = None, 0, 0
    while True:
        command = nnctl("train", str(config), "--out", str(out)) if run is None else \
            nnctl("train", "--resume", str(run))
        before = check_what_a_kill_left(out)[1]
        started = time.time()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mode = ("start-up", "training", "write")[kills % 3]
        if kills >= KILLS:
            assert process.wait(timeout=600) == 0
            break
        if mode == "start-up":               # any moment from launch to about the first checkpoint
            running = process.poll() is None and time.sleep(rng.uniform(0.05, first_checkpoint)) is None
        elif mode == "training":             # a random moment once this process has written a checkpoint
            running = wait_until(lambda: newest_checkpoint_time(out) > started, process)
            time.sleep(rng.uniform(0.0, 0.3))
        else:                                # during one of this process's checkpoint writes
            running = wait_until(lambda: check_what_a_kill_left(out)[0] is not None, process) and \
                freeze_during_a_write(process, check_what_a_kill_left(out)[0], before)
        assert running and process.poll() is None, "the run ended before it could be killed"
        process.kill()                       # SIGKILL
        process.wait()
        kills += 1
        run, temporaries = check_what_a_kill_left(out)
        during_writes += bool(temporaries - before)     # a write this process began was cut
    assert during_writes >= 2, "too few kills landed during a write: the test did not try what it should"
    run, _ = check_what_a_kill_left(out)
    for name in ("last.npz", "best.npz"):
        with np.load(reference / "checkpoints" / name) as a, np.load(run / "checkpoints" / name) as b:
            keys = [k for k in a.files if k != "meta"]
            assert keys == [k for k in b.files if k != "meta"]
            for key in keys:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name} {key}")
    assert rows_without_seconds(run) == rows_without_seconds(reference)
    assert len(rows_without_seconds(run)) == 60
    assert step_rows(run) == step_rows(reference)          # every step once, in order, one header
    steps = step_rows(run)
    assert steps[0] == ["step", "epoch", "loss", "lr"]
    assert [int(row[0]) for row in steps[1:]] == list(range(1, len(steps)))
    assert float(steps[-1][1]) == 60
    for name in ("health.csv", "health_histograms.csv"):      # health records survive the kills exactly too
        assert (run / name).read_text() == (reference / name).read_text(), name
