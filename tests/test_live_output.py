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
    assert lines[1] == "threads: 2 (from NNCTL_THREADS)"          # the suite's own count (tests/conftest.py)
    assert re.fullmatch(r"epoch 1/1  train_loss \d\.\d{4}  train_acc \d\.\d{4}  val_loss \d\.\d{4}  "
                        r"val_acc \d\.\d{4}  \d+\.\d s", lines[2]), lines[2]
    assert len(lines) == 3
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


def screen_lines(output: str, columns: int) -> list[str]:
    """What a terminal `columns` wide shows after receiving `output`: carriage returns go back to the line's
    start, ESC[A moves up a line, ESC[K / ESC[2K clear, and text wider than the terminal wraps to the next
    line (so a line that does not fit shows up as two)."""
    lines, row, col = [[]], 0, 0
    i = 0
    while i < len(output):
        ch = output[i]
        if ch == "\x1b":
            match = re.match(r"\x1b\[(\d*)([A-Za-z])", output[i:])
            assert match, repr(output[i:i + 10])
            count, code = int(match.group(1) or 1), match.group(2)
            if code == "A":
                row = max(0, row - count)
            elif code == "K":
                del lines[row][col:]
            i += match.end()
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row, col = row + 1, 0
        else:
            if col == columns:
                row, col = row + 1, 0
            while len(lines) <= row:
                lines.append([])
            line = lines[row]
            line.extend(" " * (col + 1 - len(line)))
            line[col] = ch
            col += 1
        while len(lines) <= row:
            lines.append([])
        i += 1
    return ["".join(line).rstrip() for line in lines]


def train_on_a_terminal(tmp_path: Path, columns: int) -> str:
    tmp_path.mkdir()
    config = write_config(tmp_path, 3)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))   # rows, columns
    child = subprocess.Popen([sys.executable, "-m", "nnctl", "train", str(config), "--out", str(tmp_path / "runs")],
                             stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path)
    os.close(follower)
    try:
        seen = read_until(leader, b"\x00", 120)     # everything, until the process closes the terminal
        assert child.wait(timeout=60) == 0, seen[-500:]
    finally:
        if child.poll() is None:
            child.kill()
        os.close(leader)
    return seen.decode()


def test_each_epoch_leaves_a_line_with_validation_that_fits_80_and_120_columns(tmp_path):
    for columns in (80, 120):
        output = train_on_a_terminal(tmp_path / str(columns), columns)
        assert "batch" in output                                   # a bar was drawn during the epochs
        screen = screen_lines(output, columns)
        epochs = [line for line in screen if line.startswith("epoch ")]
        assert len(epochs) == 3, screen
        for n, line in enumerate(epochs, start=1):
            if columns == 80:
                assert re.fullmatch(rf"epoch {n}/3  train loss \d\.\d{{4}} acc \d\.\d{{4}}  "
                                    rf"val loss \d\.\d{{4}} acc \d\.\d{{4}}  \d+\.\ds", line), line
            else:
                assert re.fullmatch(rf"epoch {n}/3  train_loss \d\.\d{{4}}  train_acc \d\.\d{{4}}  "
                                    rf"val_loss \d\.\d{{4}}  val_acc \d\.\d{{4}}  \d+\.\d s", line), line
        assert not any("batch" in line for line in screen), screen   # no bar left behind


def test_the_short_form_fits_80_columns_up_to_epoch_999_and_10000_seconds():
    from nnctl.training.progress import epoch_line
    row = {"epoch": 999, "train_loss": 0.78521, "train_acc": 0.731, "val_loss": 12.8011, "val_acc": 0.7205,
           "seconds": 9999.94}
    line = epoch_line(row, 999, 80)
    assert line == "epoch 999/999  train loss 0.7852 acc 0.7310  val loss 12.8011 acc 0.7205  9999.9s"
    assert len(line) <= 81
    assert epoch_line(row, 999) == ("epoch 999/999  train_loss 0.7852  train_acc 0.7310  val_loss 12.8011  "
                                    "val_acc 0.7205  9999.9 s")
    no_validation = {"epoch": 2, "train_loss": 0.5, "train_acc": None, "val_loss": None, "val_acc": None,
                     "seconds": 1.0}
    assert epoch_line(no_validation, 9, 10) == "epoch 2/9  train loss 0.5000  1.0s"
