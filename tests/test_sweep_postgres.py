"""Many machines, one study: two `nnctl sweep` processes started at the same moment with the same PostgreSQL
storage and study name (each with its own --out, as two machines would have) finish the planned trials
between them, none run twice. The PostgreSQL server is started by the tests (initdb and pg_ctl in a
temporary folder, 127.0.0.1, a free port) and stopped afterwards. Without PostgreSQL installed the tests
skip, saying why, except under CI=true, where they fail."""

from __future__ import annotations

import os

import pytest
from optuna.trial import TrialState

from postgres import PostgresServer, Unavailable, bin_dir
from sweep_support import epochs_column, invoke, load_study, run, start, write_sweep

TRIALS = 6


def unavailable(reason: str) -> None:
    """Skip, saying why; under CI=true, fail instead (CI must run these tests)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def postgres():
    try:
        server = PostgresServer()
    except Unavailable as exc:
        unavailable(str(exc))
    with server:
        yield server


def test_without_postgresql_the_tests_skip_saying_why_but_fail_under_ci(tmp_path, monkeypatch):
    with pytest.raises(Unavailable) as caught:
        bin_dir(path=str(tmp_path), pattern=str(tmp_path / "*" / "bin" / "pg_ctl"))
    reason = str(caught.value)
    assert reason == ("PostgreSQL is not installed (no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin; "
                      "Debian: apt-get install postgresql)")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^PostgreSQL is not installed"):
        unavailable(reason)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"^CI=true and PostgreSQL is not installed"):
        unavailable(reason)


def test_two_processes_share_one_postgresql_study_and_run_each_trial_once(tmp_path, postgres):
    url = postgres.create_database("shared")
    sweep = write_sweep(tmp_path, "space:\n  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}\n"
                                  f"  model.layers[0].layers[0].units: {{choice: [4, 8]}}\nsampler: tpe\n"
                                  f"trials: {TRIALS}\n")
    machines = [tmp_path / "machine_a", tmp_path / "machine_b"]
    processes = [start("sweep", sweep, "--storage", url, "--study", "shared", "--out", out, cwd=tmp_path)
                 for out in machines]
    outputs = [process.communicate(timeout=900) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    study = load_study(url, "shared")
    ran = [t for t in study.trials if t.user_attrs.get("status") != "void"]
    assert [t.state for t in ran] == [TrialState.COMPLETE] * TRIALS
    assert sorted(t.user_attrs["ticket"] for t in ran) == list(range(TRIALS))
    workers = {t.user_attrs["worker"] for t in ran}
    assert len(workers) == 2, workers                   # both processes took trials
    folders = {machine: sorted(p.name for p in (machine / "sw").glob("trial-*")) for machine in machines}
    assert sorted(folders[machines[0]] + folders[machines[1]]) == sorted(t.user_attrs["run"] for t in ran)
    for machine, names in folders.items():
        for name in names:
            assert epochs_column(machine / "sw" / name) == [1, 2]      # trained once, two epochs
    for trial in study.trials:
        if trial.user_attrs.get("status") == "void":          # voided trials never ran
            assert "run" not in trial.user_attrs
    status = run("sweep", sweep, "--storage", url, "--study", "shared", "--status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[1:3] == ["metric val_acc (maximized); sampler tpe, pruner none",
                                               f"{TRIALS} of {TRIALS} trials finished ({TRIALS} complete)"]
    assert status.stdout.splitlines()[0] == f"sweep sw: study 'shared' in {url}"


def test_a_sweep_continues_on_postgresql_and_refuses_another_sweep_under_the_same_name(tmp_path, postgres):
    url = postgres.create_database("again")
    sweep = write_sweep(tmp_path, "space:\n  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}\nsampler: random\n"
                                  "trials: 2\n")
    assert invoke("sweep", sweep, "--storage", url, cwd=tmp_path).returncode == 0
    more = invoke("sweep", sweep, "--storage", url, "--trials", "3", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "; 3 trials planned, 1 to run (1 new); " in more.stdout
    other = write_sweep(tmp_path, "set: {train.epochs: 3}\nspace:\n  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}\n",
                        name="sw2")
    refused = invoke("sweep", other, "--storage", url, "--study", "sw", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == (f"{other}: the study 'sw' in {url} was started from another base config "
                              f"(train.epochs differs); continue it with the sweep it was started from, or give "
                              f"another --study name\n")
