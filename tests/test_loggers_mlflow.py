"""The MLflow logger against a real `mlflow server` (SQLite backend, 127.0.0.1, started and stopped here),
read back with MlflowClient: a spiral run with both loggers, a resume and a re-run continuing the same MLflow
run with each step once, a sweep of 4 trials as one parent run with 4 children, and a server killed with
SIGKILL mid-run: the run completes with one warning line."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logger_support import SPIRAL, MlflowServer, StopAt, accumulator, scalars, spiral_config
from nnctl.config.load import load_config
from nnctl.errors import Interrupted
from nnctl.training.resume import resume
from nnctl.training.runner import train

pytest.importorskip("mlflow", reason="mlflow is not installed (pip install 'nnctl[mlflow]')")
pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'nnctl[tensorboard]')")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "loggers.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    yield started
    started.stop()


def table(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def history(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def all_artifacts(client, run_id: str, path: str | None = None) -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path):
        found += all_artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return sorted(found)


def nnctl(*args, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnctl", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_a_spiral_run_with_both_loggers(tmp_path, server):
    config = spiral_config(tmp_path, f"[{{type: tensorboard}}, {{type: mlflow, tracking_uri: '{server.uri}', "
                                     f"experiment: spiral-both}}]")
    done = nnctl("train", config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr and "View run" not in done.stdout
    run_dir = next((tmp_path / "runs" / "spiral").iterdir())
    state = json.loads((run_dir / "loggers.json").read_text())["mlflow"]
    assert state["tracking_uri"] == server.uri
    client = server.client()
    run = client.get_run(state["run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "spiral-both"
    assert run.data.tags["nnctl.run_dir"] == str(run_dir.resolve())
    assert run.data.tags["nnctl.status"] == "completed"
    params = run.data.params
    assert (params["optimizer.lr"], params["train.epochs"], params["model.layers.0.units"],
            params["data.dataset"], params["loggers.1.experiment"]) == ("0.01", "4", "32", "spiral", "spiral-both")
    rows, steps = table(run_dir / "metrics.csv"), table(run_dir / "steps.csv")
    for column in ("lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"):
        assert history(client, run.info.run_id, column) == [(int(r["epoch"]), float(r[column])) for r in rows]
    assert history(client, run.info.run_id, "step/loss") == [(int(r["step"]), float(r["loss"])) for r in steps]
    report = json.loads((run_dir / "report.json").read_text())
    assert run.data.metrics["final/test_acc"] == report["test"]["acc"]
    assert run.data.metrics["final/val_loss"] == report["val"]["loss"]
    artifacts = all_artifacts(client, run.info.run_id)
    assert artifacts == ["checkpoints/best.npz", "config.yaml", "metrics.csv", "pictures/confusion.png",
                         "pictures/curves.png", "pictures/health.png", "report.json", "report.md"]
    copy = client.download_artifacts(run.info.run_id, "checkpoints/best.npz", str(tmp_path))
    assert Path(copy).read_bytes() == (run_dir / "checkpoints" / "best.npz").read_bytes()
    tensorboard = scalars(run_dir / "tensorboard")
    assert [s for s, _ in tensorboard["val_acc"]] == [1, 2, 3, 4]
    print("\nTensorBoard scalars (EventAccumulator):")
    for tag in sorted(tensorboard):
        print(f"  {tag}: {[(s, round(v, 4)) for s, v in tensorboard[tag]]}")
    print(f"MLflow run {run.info.run_id} ({run.info.run_name}), {run.info.status}, tags "
          f"{ {k: v for k, v in run.data.tags.items() if k.startswith('nnctl.')} }")
    print(f"  {len(params)} params, e.g. " + ", ".join(f"{k}={params[k]}" for k in (
        "optimizer.type", "optimizer.lr", "model.layers.0.units", "train.epochs", "train.batch_size")))
    print(f"  metrics (latest): { {k: round(v, 4) for k, v in sorted(run.data.metrics.items())} }")
    print(f"  val_loss history: {[(s, round(v, 4)) for s, v in history(client, run.info.run_id, 'val_loss')]}")
    print(f"  artifacts: {artifacts}")


def test_a_stopped_resumed_and_rerun_run_continues_the_same_mlflow_run_with_each_step_once(tmp_path, server):
    config = load_config(spiral_config(tmp_path, f"[{{type: mlflow, tracking_uri: '{server.uri}', "
                                                 f"experiment: resumed}}]"))
    with pytest.raises(Interrupted):
        train(config, tmp_path / "runs", progress=False, callbacks=[StopAt(20)])
    run_dir = next((tmp_path / "runs" / "spiral").iterdir())
    run_id = json.loads((run_dir / "loggers.json").read_text())["mlflow"]["run_id"]
    client = server.client()
    assert client.get_run(run_id).info.status == "KILLED"
    assert client.get_run(run_id).data.tags["nnctl.status"] == "interrupted"
    stopped = tmp_path / "stopped.npz"
    shutil.copy(run_dir / "checkpoints" / "last.npz", stopped)
    resume(run_dir, progress=False)
    shutil.copy(stopped, run_dir / "checkpoints" / "last.npz")      # epochs 3 and 4 trained a second time
    resume(run_dir, progress=False)
    assert json.loads((run_dir / "loggers.json").read_text())["mlflow"]["run_id"] == run_id
    assert [r.info.run_id for r in client.search_runs([client.get_run(run_id).info.experiment_id])] == [run_id]
    run = client.get_run(run_id)
    assert (run.info.status, run.data.tags["nnctl.status"]) == ("FINISHED", "completed")
    rows, steps = table(run_dir / "metrics.csv"), table(run_dir / "steps.csv")
    assert history(client, run_id, "val_loss") == [(int(r["epoch"]), float(r["val_loss"])) for r in rows]
    assert history(client, run_id, "step/loss") == [(int(r["step"]), float(r["loss"])) for r in steps]
    assert [s for s, _ in history(client, run_id, "step/loss")] == list(range(2, 29, 2))
    assert [s for s, _ in history(client, run_id, "final/test_acc")] == [4]


SWEEP_BASE = """\
name: tiny
seed: 0
data: {{dataset: spiral, samples: 150, normalize: none}}
model: [{{type: dense, units: 8}}, {{type: relu}}, {{type: dense, units: 3}}]
train: {{epochs: 2, batch_size: 32}}
loggers: [{{type: tensorboard}}, {{type: mlflow, tracking_uri: '{uri}', experiment: sweep4}}]
"""


def test_a_sweep_of_four_trials_is_one_parent_run_with_four_children(tmp_path, server):
    pytest.importorskip("optuna", reason="optuna is not installed (pip install 'nnctl[sweep]')")
    (tmp_path / "base.yaml").write_text(SWEEP_BASE.format(uri=server.uri))
    (tmp_path / "sw.yaml").write_text("base: base.yaml\nspace:\n  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}\n"
                                      "trials: 4\n")
    done = nnctl("sweep", "sw.yaml", "--out", "sweeps", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr + done.stdout
    client = server.client()
    experiment = client.get_experiment_by_name("sweep4")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 4
    parent = parents[0]
    sweep_dir = tmp_path / "sweeps" / "sw"
    assert parent.data.tags["nnctl.sweep_dir"] == str(sweep_dir.resolve())
    assert (parent.info.status, parent.data.params["metric"]) == ("FINISHED", "val_acc")
    assert json.loads(parent.data.params["space.optimizer.lr"]) == {"loguniform": [0.001, 0.1]}
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    trials = {row["run"]: row for row in table(sweep_dir / "trials.csv")}
    assert parent.data.metrics["best/value"] == max(float(row["val_acc"]) for row in trials.values())
    by_folder = {Path(r.data.tags["nnctl.run_dir"]).name: r for r in children}
    assert sorted(by_folder) == sorted(trials) == ["trial-0000", "trial-0001", "trial-0002", "trial-0003"]
    print(f"\nMLflow parent run {parent.info.run_name} ({parent.info.run_id}): params {parent.data.params}, "
          f"metrics {parent.data.metrics}")
    for name, child in sorted(by_folder.items()):
        lr = child.data.params["optimizer.lr"]
        assert float(lr) == float(trials[name]["optimizer.lr"])
        assert child.info.status == "FINISHED"
        assert child.data.metrics["final/val_acc"] == float(trials[name]["val_acc"])
        from tensorboard.plugins.hparams import metadata
        content = accumulator(sweep_dir / name / "tensorboard").PluginTagToContent(metadata.PLUGIN_NAME)
        start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
        assert start.hparams["optimizer.lr"].number_value == float(lr)
        print(f"  child {child.info.run_name}: parent {child.data.tags['mlflow.parentRunId']}, optimizer.lr={lr}, "
              f"final/val_acc={child.data.metrics['final/val_acc']:.4f}; TensorBoard hparams optimizer.lr="
              f"{start.hparams['optimizer.lr'].number_value}")


WARNING = re.compile(r"^warning: the mlflow logger failed at epoch \d+ \((.+)\); training goes on without it "
                     r"\(the run folder has everything\)$")


def test_a_server_killed_mid_run_costs_one_warning_line_and_the_run_completes(tmp_path):
    killed_server = MlflowServer(tmp_path / "server")
    try:
        epochs = 60
        config = tmp_path / "killed.yaml"
        config.write_text(SPIRAL.replace("samples: 300", "samples: 900").replace(
            "train: {epochs: 4, batch_size: 32, progress: false, steps_every: 2}",
            f"train: {{epochs: {epochs}, batch_size: 16, progress: false}}")
            + f"loggers: [{{type: tensorboard}}, {{type: mlflow, tracking_uri: '{killed_server.uri}', "
              f"experiment: killed}}]\n")
        training = subprocess.Popen([sys.executable, "-m", "nnctl", "train", str(config)], cwd=tmp_path,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        client = killed_server.client()
        deadline, logged = time.monotonic() + 300, []
        while not logged and time.monotonic() < deadline and training.poll() is None:
            states = list((tmp_path / "runs").glob("spiral/*/loggers.json"))
            if states:
                try:
                    run_id = json.loads(states[0].read_text())["mlflow"]["run_id"]
                    logged = client.get_metric_history(run_id, "val_loss")
                except (ValueError, KeyError):
                    pass
            time.sleep(0.05)
        assert logged, "the first epoch's metrics never arrived"
        killed_server.kill(signal.SIGKILL)
        killed_at = time.monotonic()
        out, err = training.communicate(timeout=600)
        after = time.monotonic() - killed_at
    finally:
        killed_server.stop()
    assert training.returncode == 0, err
    run_dir = next((tmp_path / "runs" / "spiral").iterdir())
    report = json.loads((run_dir / "report.json").read_text())
    assert (report["status"], report["epochs_run"]) == ("completed", epochs)
    warnings = [line for line in err.splitlines() if "warning" in line.lower() or "mlflow" in line.lower()]
    assert len(warnings) == 1 and WARNING.match(warnings[0]), err
    assert "Traceback" not in err
    failed_at = int(re.search(r"at epoch (\d+)", warnings[0]).group(1))
    assert len(logged) < failed_at < epochs
    assert [s for s, _ in scalars(run_dir / "tensorboard")["val_loss"]] == list(range(1, epochs + 1))
    documented = [line.strip() for line in DOCS.read_text().splitlines()
                  if line.strip().startswith("warning: the mlflow")]
    assert len(documented) == 1 and WARNING.match(documented[0])
    print(f"\nkilled the server after epoch {len(logged)}'s metrics arrived; the run went on for {after:.1f} s more, "
          f"{report['status']} after {report['epochs_run']} epochs; stderr:\n{err}")
