"""The trial budget: queued tickets taken atomically from a real SQLite study by concurrent processes (each
exactly once), a ticket queued twice run only once, and the counting rules for trials given back."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import optuna
from optuna.trial import TrialState

from nnctl.sweep import quiet
from nnctl.sweep.storage import open_storage
from nnctl.sweep.tickets import holds_ticket, issue
from sweep_support import invoke, load_study, sqlite_url, write_sweep

optuna.logging.set_verbosity(optuna.logging.ERROR)

TAKER = """\
import sys, optuna
from nnctl.sweep import quiet
from nnctl.sweep import quiet
from nnctl.sweep.storage import open_storage
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name="q", storage=open_storage(sys.argv[1]))
taken = []
while True:
    with quiet():
        trial = study.ask()
    if "ticket" not in trial.user_attrs:
        break
    taken.append(trial.user_attrs["ticket"])
    study.tell(trial, 0.0)
print(" ".join(map(str, taken)))
"""


def test_concurrent_processes_take_each_queued_ticket_exactly_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    study = optuna.create_study(study_name="q", storage=open_storage(url))
    issue(study, 40, None, 0)
    takers = [subprocess.Popen([sys.executable, "-c", TAKER, url], stdout=subprocess.PIPE, text=True)
              for _ in range(3)]
    taken = [int(k) for taker in takers for k in taker.communicate(timeout=600)[0].split()]
    assert all(taker.returncode == 0 for taker in takers)
    assert sorted(taken) == list(range(40))


def test_a_ticket_queued_twice_runs_once(tmp_path):
    sweep = write_sweep(tmp_path, "space:\n  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}\nsampler: random\n"
                                  "trials: 3\n")
    assert invoke("sweep", sweep, "--trials", "1", cwd=tmp_path).returncode == 0
    sweep_dir = tmp_path / "sweeps" / "sw"
    study = optuna.load_study(study_name="sw", storage=sqlite_url(sweep_dir))
    study.enqueue_trial({}, user_attrs={"ticket": 1})      # as two machines topping up at once would
    study.enqueue_trial({}, user_attrs={"ticket": 1})
    result = invoke("sweep", sweep, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    trials = load_study(sqlite_url(sweep_dir), "sw").trials
    void = [t for t in trials if t.user_attrs.get("status") == "void"]
    assert [(t.user_attrs["message"], t.state) for t in void] == [("ticket 1 is held by trial 1", TrialState.FAIL)]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.user_attrs["ticket"] for t in complete) == [0, 1, 2]
    assert sorted(p.name for p in sweep_dir.glob("trial-*")) == sorted(t.user_attrs["run"] for t in complete)
    assert "3 of 3 trials finished (3 complete)" in result.stdout


def frozen(state, **attrs):
    return optuna.trial.create_trial(state=state, value=0.0 if state == TrialState.COMPLETE else None,
                                     user_attrs=attrs) if state in (TrialState.COMPLETE, TrialState.FAIL) else \
        optuna.trial.FrozenTrial(number=0, state=state, value=None, datetime_start=None, datetime_complete=None,
                                 params={}, distributions={}, user_attrs=attrs, system_attrs={},
                                 intermediate_values={}, trial_id=0)


def test_which_trials_hold_their_ticket():
    assert holds_ticket(frozen(TrialState.COMPLETE, ticket=0))
    assert holds_ticket(frozen(TrialState.WAITING, ticket=0))
    assert holds_ticket(frozen(TrialState.RUNNING, ticket=0))
    assert holds_ticket(frozen(TrialState.FAIL, ticket=0, status="failed"))          # its own failure: counted
    assert not holds_ticket(frozen(TrialState.FAIL, ticket=0, status="void"))
    assert not holds_ticket(frozen(TrialState.FAIL, ticket=0, status="interrupted"))  # given back
    assert not holds_ticket(frozen(TrialState.FAIL, ticket=0))                        # heartbeats stopped: retried
    assert not holds_ticket(frozen(TrialState.FAIL, ticket=0, status="killed"))
    assert holds_ticket(frozen(TrialState.FAIL, ticket=0, status="killed", kills=1))  # killed twice: final


def wait_until_stale(database, grace: int) -> None:
    """Wait until the heartbeat is older than `grace` by the database's own clock, the one Optuna's stale
    check reads: SQLite's CURRENT_TIMESTAMP has whole seconds, so a fixed sleep of grace + 0.5 s can still
    look 3 s old to it (CI failed that way once)."""
    import sqlite3
    import time

    deadline = time.monotonic() + 30
    with contextlib.closing(sqlite3.connect(database)) as connection:
        while True:
            (age,) = connection.execute("SELECT (julianday(CURRENT_TIMESTAMP) - julianday(MAX(heartbeat))) * 86400 "
                                        "FROM trial_heartbeats").fetchone()
            if age is not None and age > grace + 0.5:
                return
            assert time.monotonic() < deadline, f"the heartbeat never aged past {grace} s (age {age})"
            time.sleep(0.2)


def test_a_trial_whose_machine_went_silent_is_retried_by_another(tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_SWEEP_GRACE_SECONDS", "3")
    sweep = write_sweep(tmp_path, "space:\n  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}\nsampler: random\n")
    assert invoke("sweep", sweep, "--trials", "1", cwd=tmp_path).returncode == 0
    storage = open_storage(sqlite_url(tmp_path / "sweeps" / "sw"))
    study = optuna.load_study(study_name="sw", storage=storage)
    issue(study, 2, None, 0)                        # a machine elsewhere takes ticket 1, beats once, goes silent
    with quiet():
        elsewhere = study.ask()
    elsewhere.set_user_attr("worker", "elsewhere:4242")
    elsewhere.set_user_attr("run", "trial-0001")
    lr = elsewhere.suggest_float("optimizer.lr", 1.0e-3, 1.0e-1, log=True)
    storage.record_heartbeat(storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name("sw"), elsewhere.number))
    wait_until_stale(tmp_path / "sweeps" / "sw" / "study.db", grace=3)
    result = invoke("sweep", sweep, "--trials", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("trial 1: its worker stopped sending heartbeats; queued again to continue "
                             "trial-0001\n")
    trials = load_study(sqlite_url(tmp_path / "sweeps" / "sw"), "sw").trials
    assert (trials[1].state, trials[1].user_attrs.get("status")) == (TrialState.FAIL, None)
    retry = trials[2]
    assert (retry.state, retry.user_attrs["retry_of"], retry.user_attrs["kills"]) == (TrialState.COMPLETE, 1, 1)
    assert retry.params == {"optimizer.lr": lr} and retry.user_attrs["run"] == "trial-0001"
    assert "2 of 2 trials finished (2 complete); 1 interrupted or killed and queued again" in result.stdout
