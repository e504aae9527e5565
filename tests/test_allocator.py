"""keep_freed_memory: glibc keeps a step's freed arrays for the next step, so steady-state steps fault in
no fresh pages; it stays out of the way when the user configured malloc; the nnctl command applies it."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from nnctl import allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Arrays of a training step's sizes (12.8 MB is a 32x28x28 float32 activation at batch 128), allocated
# and freed in a step's order; prints the minor page faults per step after three warm-up steps.
STEPS = """
import resource, sys
import numpy as np
from nnctl.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "kept" else False
def step():
    kept = []
    for mb in (12.8, 12.8, 3.2, 6.4, 6.4, 1.6, 0.4):
        kept.append(np.ones(int(mb * 2**20 / 4), np.float32))
    for mb in (1.6, 6.4, 3.2, 12.8, 12.8):
        kept.pop()
        kept.append(np.ones(int(mb * 2**20 / 4), np.float32))
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def faults_per_step(mode: str) -> tuple[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True, env=env)
    applied, faults = out.stdout.split()
    return applied, float(faults)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_kept_memory_removes_the_page_faults_of_repeated_steps():
    applied, kept = faults_per_step("kept")
    _, default = faults_per_step("default")
    assert applied == "True"
    assert kept == 0
    assert default > 1000          # without it every step faults its large arrays in afresh


def test_a_malloc_setting_of_the_user_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert allocator.keep_freed_memory() is False


def test_the_nnctl_command_applies_it(monkeypatch):
    from click.testing import CliRunner

    from nnctl import cli

    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(1) or True)
    result = CliRunner().invoke(cli.cli, ["summary", str(Path(__file__).resolve().parents[1] / "configs" / "spiral.yaml")])
    assert result.exit_code == 0, result.output
    assert calls == [1]
