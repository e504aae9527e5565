"""`nnctl sweep` end to end on a real SQLite study: run folders and outputs, trial folders under eval, plot
and --resume, best.yaml reproducing its trial exactly, --status and --report, continuing a sweep, a grid run
by two worker processes with every point once, pruning that stops trials, a diverging trial. The commands
run in this process (click's runner: the same code without an interpreter's start-up each time); real
processes and signals are in test_sweep_signals.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from optuna.trial import TrialState

from nnctl.sweep.spec import read_sweep
from sweep_support import BASE, epochs_column, invoke, load_study, read_csv, sqlite_url, write_sweep

SPACE = """\
space:
  optimizer.lr: {loguniform: [1.0e-3, 3.0e-1]}
  model.layers[0].layers[0].units: {choice: [4, 16]}
  model.layers[0].layers[2].p: {uniform: [0.0, 0.5]}
  train.batch_size: {int: [16, 64], log: true}
sampler: random
seed: 5
"""
PARAMS = ["optimizer.lr", "model.layers[0].layers[0].units", "model.layers[0].layers[2].p", "train.batch_size"]
COLUMNS = ["trial", "state", "status", "val_acc", "epochs", "epochs_planned", "seconds", "run", *PARAMS,
           "retry_of", "worker", "message"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A sweep of 6 random trials, run once for the tests that read it."""
    folder = tmp_path_factory.mktemp("finished")
    sweep = write_sweep(folder, SPACE + "trials: 6\n")
    result = invoke("sweep", sweep, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, result


def test_a_sweep_trains_ordinary_run_folders_and_writes_its_outputs(finished):
    folder, result = finished
    sweep_dir = folder / "sweeps" / "sw"
    lines = result.stdout.splitlines()
    assert lines[0] == (f"sweep sw: study 'sw' in {sqlite_url(sweep_dir)}; 6 trials planned, 6 to run (6 new); "
                        f"1 worker(s); run folders in sweeps/sw")
    assert [line.split(":")[0] for line in lines[1:7]] == [f"trial {n}" for n in range(6)]
    assert all(" completed after 2 epochs, val_acc " in line for line in lines[1:7])
    assert lines[7].startswith("sweep sw: 6 of 6 trials finished (6 complete); best trial ")
    assert lines[7].endswith("wrote trials.csv, best.yaml, narrowed.yaml, report.md, history.png, params.png, "
                             "parallel.png, importance.png in sweeps/sw")
    assert sorted(p.name for p in sweep_dir.iterdir()) == sorted(
        ["study.db", "trials.csv", "best.yaml", "narrowed.yaml", "report.md", "history.png", "params.png",
         "parallel.png", "importance.png"] + [f"trial-{n:04d}" for n in range(6)])
    for picture in ("history", "params", "parallel", "importance"):
        assert (sweep_dir / f"{picture}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = read_csv(sweep_dir / "trials.csv")
    assert list(rows[0]) == COLUMNS
    assert [(r["trial"], r["state"], r["status"], r["epochs"], r["run"]) for r in rows] == \
        [(str(n), "complete", "completed", "2", f"trial-{n:04d}") for n in range(6)]
    study = load_study(sqlite_url(sweep_dir), "sw")
    for row, trial in zip(rows, study.trials):
        report = json.loads((sweep_dir / row["run"] / "report.json").read_text())
        assert float(row["val_acc"]) == report["val"]["acc"] == trial.value
        assert report["status"] == "completed" and report["name"] == f"sw-{row['run']}"
        config = (sweep_dir / row["run"] / "config.yaml").read_text()
        assert f"lr: {trial.params['optimizer.lr']!r}" in config
        assert epochs_column(sweep_dir / row["run"]) == [1, 2]


def test_a_trial_folder_works_with_nnctl_eval_plot_and_resume(finished, tmp_path):
    folder, _ = finished
    rows = read_csv(folder / "sweeps" / "sw" / "trials.csv")
    row = rows[2]
    result = invoke("eval", f"sweeps/sw/{row['run']}", "--split", "val", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert f"accuracy {100 * float(row['val_acc']):.2f}%" in result.stdout
    picture = tmp_path / "overlay.png"
    plotted = invoke("plot", f"sweeps/sw/{rows[0]['run']}", f"sweeps/sw/{rows[1]['run']}", "--out", picture,
                     cwd=folder)
    assert plotted.returncode == 0, plotted.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    copy = tmp_path / row["run"]                 # the fixture's folders stay as the sweep left them
    shutil.copytree(folder / "sweeps" / "sw" / row["run"], copy)
    resumed = invoke("train", "--resume", copy, "--set", "train.epochs=3", "--quiet", cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    assert epochs_column(copy) == [1, 2, 3]
    assert json.loads((copy / "report.json").read_text())["epochs_run"] == 3


def test_best_yaml_reproduces_the_best_trial_exactly(finished):
    folder, _ = finished
    sweep_dir = folder / "sweeps" / "sw"
    rows = read_csv(sweep_dir / "trials.csv")
    best = max(rows, key=lambda r: (float(r["val_acc"]), -int(r["trial"])))
    text = (sweep_dir / "best.yaml").read_text()
    assert text.startswith(f"# The best trial of sweep sw (study 'sw' in {sqlite_url(sweep_dir)}): trial "
                           f"{best['trial']}, val_acc {float(best['val_acc'])!r}\n")
    advice = re.search(r"`nnctl train best.yaml --threads (\d+)` repeats it exactly", text)
    assert advice is not None, text
    result = invoke("train", sweep_dir / "best.yaml", "--threads", advice[1], "--out", folder / "again", "--quiet",
                    cwd=folder)
    assert result.returncode == 0, result.stderr
    again = next((folder / "again" / f"sw-{best['run']}").iterdir())
    report = json.loads((again / "report.json").read_text())
    assert report["val"]["acc"] == float(best["val_acc"])
    trial_rows = read_csv(sweep_dir / best["run"] / "metrics.csv")
    assert [r["val_loss"] for r in read_csv(again / "metrics.csv")] == [r["val_loss"] for r in trial_rows]


def test_narrowed_yaml_is_a_sweep_within_the_best_fifth(finished):
    folder, _ = finished
    sweep_dir = folder / "sweeps" / "sw"
    rows = sorted(read_csv(sweep_dir / "trials.csv"), key=lambda r: (-float(r["val_acc"]), int(r["trial"])))
    top = rows[:2]                      # ceil(6 / 5)
    spec = read_sweep(sweep_dir / "narrowed.yaml")
    assert spec.name == "sw_narrowed" and spec.base_source == str(sweep_dir / ".." / ".." / "base.yaml")
    narrowed = {p.path: p for p in spec.params}
    for path in PARAMS:
        values = [float(r[path]) for r in top]
        if path in narrowed and narrowed[path].kind == "int":
            assert (narrowed[path].low, narrowed[path].high) == (min(values), max(values))
        elif path in narrowed and narrowed[path].kind != "choice":       # rounded outward to 3 digits
            low, high = narrowed[path].low, narrowed[path].high
            assert float(f"{low:.3g}") == low and float(f"{high:.3g}") == high
            assert min(values) * 0.99 < low <= min(values) and max(values) <= high < max(values) * 1.01
        elif path in narrowed:
            assert set(narrowed[path].choices) == set(int(v) for v in values)
        else:
            assert values[0] == values[1] and spec.set_values[path] == pytest.approx(values[0])
    assert narrowed["optimizer.lr"].log and narrowed["train.batch_size"].log


def test_status_and_report_read_the_storage(finished):
    folder, _ = finished
    sweep_dir = folder / "sweeps" / "sw"
    status = invoke("sweep", "sw.yaml", "--status", cwd=folder)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[:3] == [f"sweep sw: study 'sw' in {sqlite_url(sweep_dir)}",
                         "metric val_acc (maximized); sampler random, pruner none",
                         "6 of 6 trials finished (6 complete)"]
    assert lines[3].startswith("best: trial ") and len(lines) == 4
    (sweep_dir / "report.md").unlink()
    report = invoke("sweep", "sw.yaml", "--report", cwd=folder)
    assert report.returncode == 0, report.stderr
    text = (sweep_dir / "report.md").read_text()
    assert "- 6 of 6 trials finished (6 complete)\n" in text
    assert "- trial-epochs of the complete and pruned trials: 12 run of 12 planned (0.0% saved by pruning)\n" in text
    missing = invoke("sweep", "sw.yaml", "--status", "--study", "other", cwd=folder)
    assert missing.returncode == 2
    assert missing.stderr == (f"sw.yaml: no study 'other' in {sqlite_url(sweep_dir)} yet (start it with nnctl sweep "
                              f"sw.yaml, with the same --storage and --study)\n")


def test_running_the_sweep_again_continues_its_study(tmp_path):
    sweep = write_sweep(tmp_path, SPACE + "trials: 3\n")
    first = invoke("sweep", sweep, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    sweep_dir = tmp_path / "sweeps" / "sw"
    stamps = {n: (sweep_dir / f"trial-{n:04d}" / "metrics.csv").stat().st_mtime_ns for n in range(3)}
    more = invoke("sweep", sweep, "--trials", "5", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "; 5 trials planned, 2 to run (2 new); " in more.stdout.splitlines()[0]
    assert [line.split(":")[0] for line in more.stdout.splitlines()[1:3]] == ["trial 3", "trial 4"]
    assert {n: (sweep_dir / f"trial-{n:04d}" / "metrics.csv").stat().st_mtime_ns for n in range(3)} == stamps
    rows = read_csv(sweep_dir / "trials.csv")
    assert [r["trial"] for r in rows] == ["0", "1", "2", "3", "4"]
    again = invoke("sweep", sweep, "--trials", "5", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "; 5 trials planned, 0 to run (0 new); " in again.stdout.splitlines()[0]
    assert again.stdout.splitlines()[1].startswith("sweep sw: 5 of 5 trials finished (5 complete); best trial ")
    study = load_study(sqlite_url(sweep_dir), "sw")
    older = study.user_attrs["nnctl_sweep"]         # as an nnctl without train.checkpoint_every stored it
    del older["config"]["train"]["checkpoint_every"]
    study.set_user_attr("nnctl_sweep", older)
    upgraded = invoke("sweep", sweep, "--trials", "5", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    longer = write_sweep(tmp_path, SPACE + "trials: 3\n", base=BASE.replace("epochs: 2", "epochs: 3"))
    refused = invoke("sweep", longer, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == (f"{longer}: the study 'sw' in {sqlite_url(sweep_dir)} was started from another "
                              f"base config (train.epochs differs); continue it with the sweep it was started "
                              f"from, or give another --study name\n")
    status = invoke("sweep", longer, "--status", cwd=tmp_path)        # --status shows it all the same
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[2:] == [
        "5 of 5 trials finished (5 complete)", status.stdout.splitlines()[3],
        f"note: the study 'sw' in {sqlite_url(sweep_dir)} was started from another base config (train.epochs "
        f"differs), so running this sweep file would not continue it"]
    assert status.stdout.splitlines()[3].startswith("best: trial ")
    changed = write_sweep(tmp_path, SPACE.replace("1.0e-3", "2.0e-3") + "trials: 3\n")
    refused = invoke("sweep", changed, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == (f"{changed}: the study 'sw' in {sqlite_url(sweep_dir)} was started with another "
                              f"space (optimizer.lr.loguniform[0] differs); continue it with the sweep it was "
                              f"started from, or give another --study name\n")


def test_a_grid_run_by_two_workers_tries_every_point_once(tmp_path):
    sweep = write_sweep(tmp_path, "space:\n  optimizer.lr: {choice: [0.3, 0.03, 0.003]}\n"
                                  "  model.layers[0].layers[0].units: {int: [4, 8], step: 4}\nsampler: grid\n")
    result = invoke("sweep", sweep, "--workers", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "; 6 trials planned, 6 to run (6 new); 2 worker(s), 1 BLAS thread(s) each; " in result.stdout
    sweep_dir = tmp_path / "sweeps" / "sw"
    study = load_study(sqlite_url(sweep_dir), "sw")
    ran = [t for t in study.trials if t.user_attrs.get("status") != "void"]
    assert [t.state for t in ran] == [TrialState.COMPLETE] * 6
    points = sorted((t.params["optimizer.lr"], t.params["model.layers[0].layers[0].units"]) for t in ran)
    assert points == sorted((lr, units) for lr in (0.3, 0.03, 0.003) for units in (4, 8))
    assert sorted(t.user_attrs["ticket"] for t in ran) == list(range(6))
    assert len({t.user_attrs["worker"] for t in ran}) >= 2         # both workers took trials
    assert {t.user_attrs["threads"] for t in ran} == {1}            # cores // workers reached BLAS
    folders = sorted(p.name for p in sweep_dir.glob("trial-*"))
    assert folders == sorted(t.user_attrs["run"] for t in ran)
    assert all(epochs_column(sweep_dir / name) == [1, 2] for name in folders)


def test_the_median_pruner_stops_trials_that_fall_behind(tmp_path):
    sweep = write_sweep(tmp_path, "set: {train.epochs: 4}\nspace:\n  optimizer.lr: {loguniform: [1.0e-5, 3.0e-1]}\n"
                                  "sampler: random\nseed: 1\ntrials: 8\n"
                                  "pruner: {type: median, startup_trials: 2, warmup_epochs: 0}\n")
    result = invoke("sweep", sweep, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sweep_dir = tmp_path / "sweeps" / "sw"
    study = load_study(sqlite_url(sweep_dir), "sw")
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert pruned and len(pruned) + len(complete) == 8
    for trial in pruned:
        report = json.loads((sweep_dir / trial.user_attrs["run"] / "report.json").read_text())
        epochs = report["epochs_run"]
        assert report["status"] == "pruned" and 1 <= epochs < 4 == report["epochs_planned"]
        assert report["message"] == (f"pruned by the median pruner after epoch {epochs}: val_acc "
                                     f"{trial.intermediate_values[epochs]:.4f}")
        assert epochs_column(sweep_dir / trial.user_attrs["run"]) == list(range(1, epochs + 1))
        assert falls_behind(trial, epochs, complete)
        assert f"trial {trial.number}: pruned after {epochs} of 4 epochs, val_acc " in result.stdout
    assert all(t.user_attrs["epochs"] == 4 for t in complete)
    assert not any(falls_behind(t, epoch, complete) for t in complete for epoch in (1, 2, 3))
    run_epochs = sum(t.user_attrs["epochs"] for t in study.trials)
    saved = 100 * (1 - run_epochs / 32)
    assert (f"- trial-epochs of the complete and pruned trials: {run_epochs} run of 32 planned ({saved:.1f}% saved by "
            f"pruning)\n") in (sweep_dir / "report.md").read_text()


def falls_behind(trial, epoch: int, complete: list) -> bool:
    """The median rule, recomputed: after `epoch`, the trial's best value so far is below the median of the
    complete trials before it (one worker: lower numbers) at that epoch, and at least 2 of them exist."""
    import numpy as np

    earlier = [t.intermediate_values[epoch] for t in complete if t.number < trial.number]
    best = max(v for step, v in trial.intermediate_values.items() if step <= epoch)
    return len(earlier) >= 2 and best < float(np.median(earlier))


def test_without_optuna_the_command_says_what_to_install(tmp_path):
    sweep = write_sweep(tmp_path, SPACE)
    code = ("import sys; sys.modules['optuna'] = None; from nnctl.cli import main; "
            f"sys.argv = ['nnctl', 'sweep', {str(sweep)!r}]; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "nnctl sweep needs Optuna, which is not installed: pip install 'nnctl[sweep]'\n"
    assert not (tmp_path / "sweeps").exists()


def test_storage_urls_are_checked_and_passwords_never_shown(tmp_path):
    sweep = write_sweep(tmp_path, SPACE + "trials: 1\n")
    bad = invoke("sweep", sweep, "--storage", "redis://u:secret@host/0", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr == ("--storage: expected sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE, got "
                          "'redis://u:***@host/0'\n")
    down = invoke("sweep", sweep, "--storage", "postgresql://u:secret@127.0.0.1:9/db", cwd=tmp_path)
    assert down.returncode == 1
    assert down.stderr.startswith("--storage postgresql://u:***@127.0.0.1:9/db: cannot open the study database (")
    assert "secret" not in down.stderr + down.stdout and len(down.stderr.splitlines()) == 1
    assert not (tmp_path / "sweeps").exists()


def test_a_trial_that_diverges_before_its_first_epoch_fails_and_the_sweep_goes_on(tmp_path):
    sweep = write_sweep(tmp_path, "set: {optimizer.type: sgd}\nspace:\n  optimizer.lr: {choice: [1.0e+12, 1.0e-2]}\n"
                                  "sampler: grid\n")
    result = invoke("sweep", sweep, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    study = load_study(sqlite_url(tmp_path / "sweeps" / "sw"), "sw")
    by_lr = {t.params["optimizer.lr"]: t for t in study.trials}
    diverged, fine = by_lr[1e12], by_lr[1e-2]
    assert (diverged.state, diverged.user_attrs["status"], diverged.user_attrs["epochs"]) == \
        (TrialState.FAIL, "diverged", 0)
    assert "no epoch finished, so there is no best checkpoint" in diverged.user_attrs["message"]
    assert f"trial {diverged.number}: diverged: " in result.stdout
    assert fine.state == TrialState.COMPLETE
    assert "2 of 2 trials finished (1 complete, 1 failed)" in result.stdout
