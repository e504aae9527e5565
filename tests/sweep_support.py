"""Helpers for the sweep tests: a tiny base config, sweep files, `nnctl sweep` as a real process, and the
study read back from its real database."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
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


def wait_for(condition, timeout: float, what: str, every: float = 0.2, process: subprocess.Popen | None = None):
    """Poll `condition()` until it returns something true; fail the test after `timeout` seconds (saying, when
    given the `process` being watched, how it ended and the last lines it printed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    told = ""
    if process is not None:
        running = process.poll() is None
        process.kill()
        out, err = process.communicate(timeout=60)
        told = (f"; the process {'was still running' if running else f'had exited with {process.returncode}'}; "
                f"its stdout ended {out[-1500:]!r}; its stderr ended {err[-1500:]!r}")
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{told}")


def running_trials(url: str, name: str, min_epochs: int = 1) -> list[SimpleNamespace]:
    """Trials running now with at least `min_epochs` epochs reported (empty while the study is absent), each
    with `.number` and `.user_attrs`. Read from the SQLite file read-only, with plain sqlite3: going through
    Optuna's storage would create the schema when it is not there yet, racing the sweep that is creating it
    ("table ... already exists", and the sweep fails to start)."""
    path = url.removeprefix("sqlite:///")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            rows = db.execute(
                "SELECT t.trial_id, t.number, (SELECT COUNT(*) FROM trial_intermediate_values v "
                "WHERE v.trial_id = t.trial_id) FROM trials t JOIN studies s ON s.study_id = t.study_id "
                "WHERE s.study_name = ? AND t.state = 'RUNNING'", (name,)).fetchall()
            found = []
            for trial_id, number, epochs in rows:
                attrs = {key: json.loads(value) for key, value in db.execute(
                    "SELECT key, value_json FROM trial_user_attributes WHERE trial_id = ?", (trial_id,))}
                if epochs >= min_epochs and "worker" in attrs:
                    found.append(SimpleNamespace(number=number, user_attrs=attrs))
            return found
    except sqlite3.Error:
        return []


def epochs_column(run_dir: Path) -> list[int]:
    return [int(row["epoch"]) for row in read_csv(run_dir / "metrics.csv")]


# The signal tests' sweep (tests/test_sweep_signals.py, tests/test_sweep_ctrl_c.py)
EPOCHS = 100
SWEEP = f"""\
set: {{train.epochs: {EPOCHS}, data.samples: 300}}
space:
  optimizer.lr: {{loguniform: [1.0e-3, 1.0e-1]}}
sampler: random
"""


def pid_of(trial) -> int:
    return int(trial.user_attrs["worker"].rsplit(":", 1)[1])


def finished_by_retry(study, original) -> object:
    """The one retry of `original`, which must have completed by continuing the same run folder."""
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == original.number]
    assert len(retries) == 1
    retry = retries[0]
    from optuna.trial import TrialState

    assert retry.state == TrialState.COMPLETE and retry.params == original.params
    assert retry.user_attrs["run"] == original.user_attrs["run"] == f"trial-{original.number:04d}"
    return retry


def check_continued(sweep_dir, run: str) -> None:
    """The run folder holds every epoch exactly once and says it was resumed once."""
    assert epochs_column(sweep_dir / run) == list(range(1, EPOCHS + 1))
    report = json.loads((sweep_dir / run / "report.json").read_text())
    assert (report["status"], report["resumes"], report["epochs_run"]) == ("completed", 1, EPOCHS)
