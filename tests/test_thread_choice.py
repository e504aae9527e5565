"""The thread count of a run (nnctl.cpus): by hand (--threads, NNCTL_THREADS), from the checkpoint on resume,
or chosen from the CPUs free when training starts; cgroup quotas; the choice in the report; the warning on a
resume with another count, and its advice followed."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from nnctl.config.load import load_config
from nnctl.cpus import (ThreadChoice, available_cpus, calibrate, cgroup_quota, choose_threads,
                        count_from)
from nnctl.errors import Interrupted
from nnctl.threads import blas_threads
from nnctl.training.callbacks import Callback
from nnctl.training.resume import resume
from nnctl.training.runner import train
from nnctl.workers import chosen_threads

SPIRAL = """\
name: wide
seed: 3
data: {dataset: spiral, samples: 1200, normalize: standard}
model:
  layers:
    - {type: dense, units: 256}
    - {type: relu}
    - {type: dense, units: 256}
    - {type: relu}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 1.0e-3}
train: {epochs: 3, batch_size: 128, progress: false}
"""


def test_cgroup_v2_and_v1_quotas_are_read(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_quota(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_quota(tmp_path) == 0.5
    assert available_cpus(tmp_path) == 1                  # half a CPU still runs one thread
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_quota(tmp_path) is None
    assert cgroup_quota(tmp_path / "nothing-here") is None


def test_a_quota_below_the_affinity_mask_limits_the_count(tmp_path):
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert available_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text(f"{1000 * 100000} 100000\n")
    assert available_cpus(tmp_path) == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("obtained, available, count", [
    (1.98, 2, 2), (1.7, 2, 2), (1.69, 2, 1), (1.33, 2, 1), (1.0, 2, 1), (0.1, 2, 1), (2.0, 2, 2),
    (7.1, 8, 7), (3.9, 4, 4), (2.6, 4, 2), (1.0, 1, 1)])
def test_the_automatic_count_is_the_free_cpus_rounded_down_with_slack(obtained, available, count):
    assert count_from(obtained, available) == count


def test_beside_a_cpu_bound_process_the_automatic_count_leaves_its_core():
    available = available_cpus()
    if available < 2:
        pytest.skip(f"this process may use {available} CPU: nothing to leave to another process")
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        obtained = calibrate(available)
    finally:
        hog.kill()
        hog.wait()
    # k threads beside one busy process get about k*k/(k+1) CPUs: 1.33 of 2, 7.1 of 8 (less if more runs)
    assert obtained < available - 0.5
    assert count_from(obtained, available) <= available - 1


def test_given_counts_come_before_the_checkpoint_and_the_calibration(monkeypatch):
    monkeypatch.setenv("NNCTL_THREADS", "3")
    assert choose_threads(1, recorded=2) == ThreadChoice(1, "--threads", available_cpus())
    assert choose_threads(None, recorded=2) == ThreadChoice(3, "NNCTL_THREADS", available_cpus())
    monkeypatch.delenv("NNCTL_THREADS")
    assert choose_threads(None, recorded=2) == ThreadChoice(2, "the checkpoint", available_cpus())
    auto = choose_threads()
    assert auto.how == "auto" and 1 <= auto.count <= available_cpus() and auto.obtained is not None
    assert auto.describe().startswith(f"{auto.count} (auto: {available_cpus()} CPU")


def run_nnctl(*args, cwd, env_changes=None):
    env = {**os.environ, **(env_changes or {})}
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "nnctl", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_choice_is_printed_and_kept_in_the_report(tmp_path):
    (tmp_path / "wide.yaml").write_text(SPIRAL.replace("progress: false", "progress: true"))
    given = run_nnctl("train", "wide.yaml", "--threads", "1", "--set", "train.epochs=1", cwd=tmp_path)
    assert given.returncode == 0, given.stderr
    assert "threads: 1 (from --threads)" in given.stderr
    (run,) = (tmp_path / "runs" / "wide").iterdir()
    report = json.loads((run / "report.json").read_text())
    assert report["threads"] == {"count": 1, "how": "--threads", "available": available_cpus()}
    assert "- threads: 1 (from --threads)\n" in (run / "report.md").read_text()

    auto = run_nnctl("train", "wide.yaml", "--set", "train.epochs=1", "--out", "auto", cwd=tmp_path,
                     env_changes={"NNCTL_THREADS": None})
    assert auto.returncode == 0, auto.stderr
    (run,) = (tmp_path / "auto" / "wide").iterdir()
    chosen = json.loads((run / "report.json").read_text())["threads"]
    assert chosen["how"] == "auto" and 1 <= chosen["count"] <= available_cpus()
    assert 0 < chosen["obtained"] <= available_cpus()
    assert f"threads: {chosen['count']} (auto: {available_cpus()} CPU" in auto.stderr


@pytest.mark.parametrize("value", ["zero", "0", "-2", "1.5"])
def test_a_bad_nnctl_threads_is_one_line_and_exit_2(tmp_path, value):
    (tmp_path / "wide.yaml").write_text(SPIRAL)
    done = run_nnctl("train", "wide.yaml", cwd=tmp_path, env_changes={"NNCTL_THREADS": value})
    assert done.returncode == 2
    assert done.stderr == f"NNCTL_THREADS={value!r}: expected a positive whole number of threads\n"
    assert not (tmp_path / "runs").exists()


class StopAt(Callback):
    """SIGTERM after one step of one epoch (0-based): the run stops there with its exact position saved."""

    def __init__(self, epoch: int, step: int):
        self.epoch, self.step = epoch, step

    def on_step_end(self, trainer, step):
        if (step.epoch, step.step) == (self.epoch, self.step):
            os.kill(os.getpid(), signal.SIGTERM)


def metrics(run):
    with open(run / "metrics.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def test_a_resume_keeps_the_recorded_count_and_names_another_one(tmp_path, monkeypatch):
    if available_cpus() < 2 or blas_threads() < 2:
        pytest.skip("one CPU (or a one-thread BLAS): a run cannot be resumed with another thread count here")
    monkeypatch.delenv("NNCTL_THREADS", raising=False)
    before = blas_threads()
    (tmp_path / "wide.yaml").write_text(SPIRAL)
    config = load_config(tmp_path / "wide.yaml")
    whole = train(config, tmp_path / "whole", progress=False, threads=1).run_dir
    with pytest.raises(Interrupted):
        train(config, tmp_path / "cut", progress=False, threads=1, callbacks=[StopAt(1, 2)])
    (cut,) = (tmp_path / "cut" / "wide").iterdir()
    copy = tmp_path / "copy"
    shutil.copytree(cut, copy)

    said = []
    resume(cut, progress=False, notify=said.append, threads=2)
    last = cut / "checkpoints" / "last.npz"
    assert said == [f"warning: {last} was written with 1 BLAS thread and this run uses 2 (--threads); the "
                    f"resumed run will differ from an uninterrupted one by float rounding (resume without "
                    f"--threads (or with --threads 1) for identical numbers)"]
    said = []
    resume(copy, progress=False, notify=said.append)          # as advised: without --threads
    assert said == []
    assert json.loads((copy / "report.json").read_text())["threads"]["how"] == "the checkpoint"
    assert metrics(copy) == metrics(whole)
    assert (blas_threads(), chosen_threads()) == (before, None)   # each run's count ended with the run
