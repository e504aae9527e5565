"""Ctrl-C (SIGINT to the process group, as a terminal sends it) stops a sweep with exit code 130, its trials
in flight saved and queued again, and the next run continues them (SIGKILL: tests/test_sweep_signals.py)."""

from __future__ import annotations

import json
import os
import signal

import pytest
from optuna.trial import TrialState
from sweep_support import (
    SWEEP,
    check_continued,
    finished_by_retry,
    load_study,
    read_csv,
    run,
    running_trials,
    sqlite_url,
    start,
    wait_for,
    write_sweep,
)


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_cleanly_and_the_next_run_continues_the_trials_in_flight(tmp_path, workers):
    sweep = write_sweep(tmp_path, SWEEP + f"trials: {workers}\n")
    sweep_dir = tmp_path / "sweeps" / "sw"
    process = start("sweep", sweep, "--workers", str(workers), cwd=tmp_path)
    try:
        wait_for(lambda: len(running_trials(sqlite_url(sweep_dir), "sw", min_epochs=2)) == workers, 120,
                 f"{workers} trials two epochs in", process=process)
        os.killpg(process.pid, signal.SIGINT)          # what a terminal does on Ctrl-C
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err.splitlines()[-1] == ("interrupted: trials in flight saved their position and are queued again; "
                                    "continue with the same command")
    study = load_study(sqlite_url(sweep_dir), "sw")
    stopped = [t for t in study.trials if t.user_attrs.get("status") == "interrupted"]
    assert len(stopped) == workers
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    for trial in stopped:
        run_dir = sweep_dir / trial.user_attrs["run"]
        report = json.loads((run_dir / "report.json").read_text())
        assert report["status"] == "interrupted" and (run_dir / "checkpoints" / "last.npz").is_file()
        assert trial.user_attrs["message"].startswith("interrupted at ")
        assert f"trial {trial.number}: {trial.user_attrs['message']}; queued again" in out
    statuses = [r["status"] for r in read_csv(sweep_dir / "trials.csv")]
    assert statuses.count("interrupted") == workers
    again = run("sweep", sweep, "--workers", str(workers), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    study = load_study(sqlite_url(sweep_dir), "sw")
    for trial in stopped:
        retry = finished_by_retry(study, trial)
        assert retry.user_attrs["kills"] == 0
        check_continued(sweep_dir, trial.user_attrs["run"])
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert sorted(t.user_attrs["ticket"] for t in complete) == list(range(workers))
