"""What a person watching `nnctl train` sees, in a real process: piped into a file (one plain line per
epoch, no bar frames) and on a real terminal (a pseudo-terminal: bars, closed before any message)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

CONFIG = """
name: live
seed: 0
data: {dataset: spiral, samples: 300, val_size: 60, test_size: 60}
model:
  layers: [{type: dense, units: 32}, {type: relu}, {type: dense, units: 3}]
train: {epochs: EPOCHS, batch_size: 16}
"""


def write_config(tmp_path: Path, epochs: int) -> Path:
    path = tmp_path / "live.yaml"
    path.write_text(CONFIG.replace("EPOCHS", str(epochs)))
    return path


def test_piped_output_is_one_plain_line_per_epoch(tmp_path):
    config = write_config(tmp_path, 1)
    done = subprocess.run([sys.executable, "-m", "nnctl", "train", str(config), "--out", str(tmp_path / "runs")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr
    lines = done.stderr.splitlines()
    run = next((tmp_path / "runs" / "live").iterdir())
    assert lines[0] == f"run folder: {tmp_path / 'runs' / 'live' / run.name}"
    assert re.fullmatch(r"epoch 1/1  train_loss \d\.\d{4}  train_acc \d\.\d{4}  val_loss \d\.\d{4}  "
                        r"val_acc \d\.\d{4}  \d+\.\d s", lines[1]), lines[1]
    assert len(lines) == 2
    assert done.stdout.startswith("completed after 1 epoch, val accuracy ")


def read_until(fd: int, pattern: bytes, seconds: float) -> bytes:
    """Everything the terminal received until `pattern` shows up (or the process closed it)."""
    seen = b""
    deadline = time.monotonic() + seconds
    while pattern not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:   # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_on_a_terminal_the_bar_is_closed_before_the_interrupt_message(tmp_path):
    config = write_config(tmp_path, 5000)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 150, 0, 0))   # rows, columns
    child = subprocess.Popen([sys.executable, "-m", "nnctl", "train", str(config), "--out", str(tmp_path / "runs")],
                             stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path)
    os.close(follower)
    try:
        seen = read_until(leader, b"epoch 3/5000", 120)
        assert b"batch" in seen, seen[-500:]
        child.send_signal(signal.SIGINT)
        seen += read_until(leader, b"continue with", 60)
        assert child.wait(timeout=60) == 130
        seen += read_until(leader, b"\x00", 2)
    finally:
        if child.poll() is None:
            child.kill()
        os.close(leader)
    text = seen.decode()
    assert text.startswith("run folder: ")
    before, message = text.rsplit("interrupted: ", 1)
    assert before.endswith("\n"), repr(before[-200:])     # the bar's line was finished first
    assert "batch" not in message and "\r" not in message.rstrip("\r\n")   # no bar frame after the message
    assert "continue with" in message
