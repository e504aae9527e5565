"""Helpers for the sweep tests: a tiny base config, sweep files, `nnctl sweep` as a real process, and the
study read back from its real database."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

BASE = """\
name: tiny
seed: 0
data: {dataset: spiral, samples: 150, normalize: none}
model:
  layers:
    - repeat: 1
      layers:
        - {type: dense, units: 8}
        - {type: relu}
        - {type: dropout, p: 0.1}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 1.0e-2}
train: {epochs: 2, batch_size: 32}
"""


def write_sweep(folder: Path, body: str, name: str = "sw", base: str = BASE) -> Path:
    """base.yaml and NAME.yaml (with `base: base.yaml` first) in `folder`; returns the sweep file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yaml").write_text(base)
    path = folder / f"{name}.yaml"
    path.write_text(f"base: base.yaml\n{body}")
    return path


def nnctl(*args) -> list[str]:
    return [sys.executable, "-m", "nnctl", *map(str, args)]


def run(*args, cwd: Path, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """`nnctl ARGS` in `cwd`, to its end; stdout and stderr captured as text."""
    return subprocess.run(nnctl(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def invoke(*args, cwd: Path) -> SimpleNamespace:
    """`nnctl ARGS` run from `cwd` inside this process by click's test runner: the command's own code, real
    database and training, without a new interpreter's start-up (its workers, if any, are still processes,
    whose output is not captured). The result has .returncode, .stdout and .stderr, as run()'s has."""
    from click.testing import CliRunner

    from nnctl.cli import cli

    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(before)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def start(*args, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """`nnctl ARGS` started in its own session (so a test can signal its whole process group)."""
    return subprocess.Popen(nnctl(*args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, **(env or {})})


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_study(url: str, name: str):
    """The optuna Study as stored (read through plain Optuna, not nnctl)."""
    import optuna

    from nnctl.sweep.storage import with_driver

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.load_study(study_name=name, storage=with_driver(url))


def sqlite_url(sweep_dir: Path) -> str:
    return f"sqlite:///{(sweep_dir / 'study.db').resolve()}"


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    """Poll `condition()` until it returns something true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def running_trials(url: str, name: str, min_epochs: int = 1) -> list:
    """Trials running now with at least `min_epochs` epochs reported (empty while the study is absent)."""
    from optuna.trial import TrialState

    try:
        study = load_study(url, name)
    except Exception:
        return []
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if len(t.intermediate_values) >= min_epochs and "worker" in t.user_attrs]


def epochs_column(run_dir: Path) -> list[int]:
    return [int(row["epoch"]) for row in read_csv(run_dir / "metrics.csv")]
