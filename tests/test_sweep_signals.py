"""Sweeps under real SIGKILLs: a worker killed has its trial marked failed and retried once (continuing its
run folder); a whole sweep killed is picked up by the next run without waiting for heartbeats to expire.
Ctrl-C: tests/test_sweep_ctrl_c.py (its own file, so the two share the suite's workers)."""

from __future__ import annotations

import os
import signal

from optuna.trial import TrialState
from sweep_support import (
    SWEEP,
    check_continued,
    finished_by_retry,
    load_study,
    pid_of,
    read_csv,
    run,
    running_trials,
    sqlite_url,
    start,
    wait_for,
    write_sweep,
)


def test_a_killed_workers_trial_is_retried_once_and_continues_its_run(tmp_path):
    sweep = write_sweep(tmp_path, SWEEP + "trials: 2\n")
    sweep_dir = tmp_path / "sweeps" / "sw"
    process = start("sweep", sweep, "--workers", "2", cwd=tmp_path)
    try:
        victim = wait_for(lambda: running_trials(sqlite_url(sweep_dir), "sw", min_epochs=2), 120,
                          "a trial two epochs in", process=process)[0]
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


def test_a_sweep_killed_whole_is_continued_by_the_next_run(tmp_path):
    sweep = write_sweep(tmp_path, SWEEP + "trials: 1\n")
    sweep_dir = tmp_path / "sweeps" / "sw"
    process = start("sweep", sweep, cwd=tmp_path)
    try:
        victim = wait_for(lambda: running_trials(sqlite_url(sweep_dir), "sw", min_epochs=2), 120,
                          "a trial two epochs in", process=process)[0]
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
