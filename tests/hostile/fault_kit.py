"""What the fault tests share: configs, running `nnctl` as a real process, and real file systems made for
a test: a small tmpfs (a full disk) or a read-only bind mount, each in a private mount namespace (so
nothing stays mounted), and permissions that bind even root (CAP_DAC_OVERRIDE dropped)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIG = """\
name: big
seed: 0
data: {{dataset: spiral, normalize: none}}
model:
  layers:
    - {{type: dense, units: {units}}}
    - {{type: relu}}
    - {{type: dense, units: {units}}}
    - {{type: relu}}
    - {{type: dense, units: 3}}
optimizer: {{type: adam, lr: 1.0e-3}}
train: {{epochs: {epochs}, batch_size: 32, progress: false{extra}}}
"""
DIVERGING = """\
name: div
seed: 0
data: {dataset: spiral, normalize: standard}
model:
  layers:
    - {type: dense, units: 32}
    - {type: relu}
    - {type: dense, units: 3}
optimizer: {type: sgd, lr: 50.0}
schedule: {type: constant, warmup_epochs: 4, warmup_start: 0.001}
train: {epochs: 4, batch_size: 32, progress: false}
"""
ENV = {**os.environ, "NNCTL_MIRRORS": "http://127.0.0.1:9/refused/", "PYTHONUNBUFFERED": "1"}


def nnctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnctl", *args]


def write_config(folder: Path, text: str, name: str = "c.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def the_run(out: Path, name: str) -> Path:
    runs = [p for p in (out / name).iterdir() if not p.name.startswith(".")]
    assert len(runs) == 1, runs
    return runs[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.endswith((".tmp", ".part")))


def can(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


MOUNTS = can(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
              "mount -t tmpfs -o size=4k tmpfs /mnt"])
needs_mounts = pytest.mark.skipif(not MOUNTS, reason="needs unshare and mount (CAP_SYS_ADMIN) for a tmpfs or a "
                                                     "read-only bind mount")


def in_namespace(setup: str, command: list[str], keep: Path | None = None, snapshot: Path | None = None,
                 cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `command` in a private mount namespace after the shell lines `setup` (e.g. a mount); with `keep`
    and `snapshot`, what `keep` holds afterwards is copied to `snapshot` (the mount vanishes with the
    namespace)."""
    copy = f'; mkdir -p "{snapshot}"; cp -a "{keep}/." "{snapshot}/"' if keep else ""
    script = f'{setup} || exit 99; "$@"; rc=$?{copy}; exit $rc'
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
                           *command], capture_output=True, text=True, cwd=cwd, env=env or ENV, timeout=300)


def on_small_disk(folder: Path, size: int, command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """`command` with `folder` a tmpfs of `size` bytes; returns its result and a copy of what it left."""
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = folder.with_name(folder.name + "-afterwards")
    done = in_namespace(f'mount -t tmpfs -o size={size} tmpfs "{folder}"', command, folder, snapshot, cwd)
    assert done.returncode != 99, done.stderr
    return done, snapshot


def without_write_permission(command: list[str]) -> list[str]:
    """`command` run so that file permissions bind it: as root, without CAP_DAC_OVERRIDE."""
    if os.geteuid() != 0:
        return command
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", "--", *command]


def pages(path: Path) -> int:
    return -(-path.stat().st_size // 4096) * 4096



def wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def wait_for_run(out: Path, name: str, process: subprocess.Popen, seconds: float = 120) -> Path:
    """The run folder out/name/<stamp> once it exists (it appears whole, renamed from a hidden one)."""
    deadline = time.monotonic() + seconds
    while True:
        found = [p for p in (out / name).glob("*") if not p.name.startswith(".")] if (out / name).is_dir() else []
        if found:
            return found[0]
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"no run folder appeared in {out / name}"
        time.sleep(0.01)
