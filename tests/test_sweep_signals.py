"""Sweeps under real signals: a worker killed with SIGKILL has its trial marked failed and retried once
(continuing its run folder); Ctrl-C (SIGINT to the process group, as a terminal sends it) stops a sweep with
exit code 130, its trials in flight saved and queued again, and the next run continues them; a whole sweep
killed with SIGKILL is picked up by the next run without waiting for heartbeats to expire."""

from __future__ import annotations

import json
import os
import signal

import pytest
from optuna.trial import TrialState
from sweep_support import (
    epochs_column,
    load_study,
    read_csv,
    run,
    running_trials,
    sqlite_url,
    start,
    wait_for,
    write_sweep,
)

EPOCHS = 100
SWEEP = f"""\
set: {{train.epochs: {EPOCHS}, data.samples: 300}}
space:
  optimizer.lr: {{loguniform: [1.0e-3, 1.0e-1]}}
sampler: random
"""
# Two workers' trials must overlap for the Ctrl-C test: a trial of 100 epochs here is about 2.5 s of training
# after a worker's 2-4 s start, so under load one worker could finish both trials before the other began;
# 300 epochs make the overlap hold with room to spare.
OVERLAP_EPOCHS = 300


def pid_of(trial) -> int:
    return int(trial.user_attrs["worker"].rsplit(":", 1)[1])


def finished_by_retry(study, original) -> object:
    """The one retry of `original`, which must have completed by continuing the same run folder."""
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == original.number]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.state == TrialState.COMPLETE and retry.params == original.params
    assert retry.user_attrs["run"] == original.user_attrs["run"] == f"trial-{original.number:04d}"
    return retry


def check_continued(sweep_dir, run: str, epochs: int = EPOCHS) -> None:
    """The run folder holds every epoch exactly once and says it was resumed once."""
    assert epochs_column(sweep_dir / run) == list(range(1, epochs + 1))
    report = json.loads((sweep_dir / run / "report.json").read_text())
    assert (report["status"], report["resumes"], report["epochs_run"]) == ("completed", 1, epochs)


def test_a_killed_workers_trial_is_retried_once_and_continues_its_run(tmp_path):
    sweep = write_sweep(tmp_path, SWEEP + "trials: 2\n")
    sweep_dir = tmp_path / "sweeps" / "sw"
    process = start("sweep", sweep, "--workers", "2", cwd=tmp_path)
    try:
        victim = wait_for(lambda: running_trials(sqlite_url(sweep_dir), "sw", min_epochs=2), 300,
                          "a trial two epochs in")[0]
        os.kill(pid_of(victim), signal.SIGKILL)
        out, err = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 0, err
    run_name = f"trial-{victim.number:04d}"
    assert (f"trial {victim.number}: its worker (pid {pid_of(victim)}) was killed by SIGKILL; queued again to "
            f"continue {run_name}\n") in out
    study = load_study(sqlite_url(sweep_dir), "sw")
    failed = study.trials[victim.number]
    assert failed.state == TrialState.FAIL
    assert (failed.user_attrs["status"], failed.user_attrs["message"]) == \
        ("killed", f"its worker (pid {pid_of(victim)}) was killed by SIGKILL")
    retry = finished_by_retry(study, failed)
    assert retry.user_attrs["kills"] == 1
    check_continued(sweep_dir, run_name)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert sorted(t.user_attrs["ticket"] for t in complete) == [0, 1]
    rows = {r["trial"]: r for r in read_csv(sweep_dir / "trials.csv")}
    assert (rows[str(victim.number)]["status"], rows[str(retry.number)]["retry_of"]) == ("killed", str(victim.number))


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_cleanly_and_the_next_run_continues_the_trials_in_flight(tmp_path, workers):
    epochs = EPOCHS if workers == 1 else OVERLAP_EPOCHS
    sweep = write_sweep(tmp_path, SWEEP.replace(f"train.epochs: {EPOCHS}", f"train.epochs: {epochs}") +
                        f"trials: {workers}\n")
    sweep_dir = tmp_path / "sweeps" / "sw"
    process = start("sweep", sweep, "--workers", str(workers), cwd=tmp_path)
    try:
        wait_for(lambda: len(running_trials(sqlite_url(sweep_dir), "sw", min_epochs=2)) == workers, 120,
                 f"{workers} trials two epochs in")
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
        check_continued(sweep_dir, trial.user_attrs["run"], epochs)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert sorted(t.user_attrs["ticket"] for t in complete) == list(range(workers))


def test_a_sweep_killed_whole_is_continued_by_the_next_run(tmp_path):
    sweep = write_sweep(tmp_path, SWEEP + "trials: 1\n")
    sweep_dir = tmp_path / "sweeps" / "sw"
    process = start("sweep", sweep, cwd=tmp_path)
    try:
        victim = wait_for(lambda: running_trials(sqlite_url(sweep_dir), "sw", min_epochs=2), 300,
                          "a trial two epochs in")[0]
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert load_study(sqlite_url(sweep_dir), "sw").trials[0].state == TrialState.RUNNING
    again = run("sweep", sweep, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == (f"trial 0: its worker (pid {pid_of(victim)}) was gone when the sweep "
                                            f"started again; queued again to continue trial-0000")
    study = load_study(sqlite_url(sweep_dir), "sw")
    finished_by_retry(study, study.trials[0])
    check_continued(sweep_dir, "trial-0000")
