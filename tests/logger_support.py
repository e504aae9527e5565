"""Helpers for the logger tests: a small spiral config, a stop at a chosen step, TensorBoard's own event
reader over a folder, and a real `mlflow server` process on 127.0.0.1 with a SQLite backend."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from nnctl.training.callbacks import Callback
from nnctl.training.signals import StopRequested

SPIRAL = """\
name: spiral
seed: 3
data: {dataset: spiral, samples: 300, classes: 3, normalize: none}
model: [{type: dense, units: 32}, {type: relu}, {type: dense, units: 3}]
optimizer: {type: adam, lr: 1.0e-2}
train: {epochs: 4, batch_size: 32, progress: false, steps_every: 2}
"""


def spiral_config(folder: Path, loggers: str, extra: str = "", name: str = "spiral.yaml") -> Path:
    """SPIRAL with `loggers: LOGGERS` (YAML flow text) and `extra` lines, written into `folder`."""
    path = folder / name
    path.write_text(SPIRAL + f"loggers: {loggers}\n" + extra)
    return path


class StopAt(Callback):
    """A stop signal (SIGINT) arriving just before global step `step`: the run saves its exact position."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, trainer, step) -> None:
        if step.global_step + 1 == self.step:
            raise StopRequested(signal.SIGINT)


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag in the event files of `folder` as [(step, value), ...], read with TensorBoard's own
    EventAccumulator (nothing sampled away)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def accumulator(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """`mlflow server` as its own process group on 127.0.0.1 (a free port), SQLite store and artifacts in
    `folder`; `uri` once it answers /health."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
                 "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1", "--port",
                 str(self.port), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, cwd=folder, env=env,
                start_new_session=True)
        self.wait_up()

    def wait_up(self, seconds: float = 240) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server ended: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer in {seconds} s: {self.log.read_text()[-2000:]}")

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Send `signum` to the server's process group (the server and the workers it started)."""
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.process.wait(timeout=30)
        self.kill(signal.SIGKILL)          # any worker left in the group

    def client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri)
