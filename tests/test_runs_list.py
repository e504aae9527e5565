"""`nnctl runs`: runs found below folders (sweeps and groups too), newest first, figures from report.json,
differing keys as columns named by their shortest unambiguous path (a repeat block's key once), --sort by the
metric's direction, --where exact or glob, --limit, csv/json unrounded; a run being written lists as
running, a killed one as interrupted, never as an error."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnctl.config.load import load_config
from nnctl.options.key_columns import key_columns
from nnctl.options.labels import distinct_labels
from nnctl.runs.liveness import MARKER, RECENT_SECONDS, process_start
from nnctl.training.runner import train
from nnctl.viz.overlay import style

ROOT = Path(__file__).resolve().parents[1]

SPIRAL = """\
name: {name}
seed: 3
data: {{dataset: spiral, samples: 150, normalize: none}}
model:
  layers:
    - repeat: 2
      layers: [{{type: dense, units: {units}}}, {{type: relu}}]
    - {{type: dense, units: 3}}
optimizer: {{type: {optimizer}, lr: {lr}}}
train: {{epochs: {epochs}, batch_size: 30}}
"""


def make_run(tmp_path, out, name="spiral", optimizer="sgd", lr=0.1, units=8, epochs=3):
    path = tmp_path / f"{name}-{optimizer}-{lr}-{units}-{epochs}.yaml"
    path.write_text(SPIRAL.format(name=name, optimizer=optimizer, lr=lr, units=units, epochs=epochs))
    return train(load_config(path), out, progress=False).run_dir


def nnctl(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "nnctl", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """Three runs: sgd lr 0.1 units 8, momentum lr 0.05 units 8, sgd lr 0.1 units 16 (started in that order)."""
    tmp = tmp_path_factory.mktemp("three")
    runs = []
    for optimizer, lr, units in (("sgd", 0.1, 8), ("momentum", 0.05, 8), ("sgd", 0.1, 16)):
        runs.append(make_run(tmp, tmp / "runs", optimizer=optimizer, lr=lr, units=units))
        time.sleep(0.02)
    for age, run in zip((300, 200, 100), runs):          # distinct start times, oldest first
        stamp = time.time() - age
        os.utime(run / "config.yaml", (stamp, stamp))
    return tmp / "runs", runs


def test_key_columns_name_the_shortest_unambiguous_path_and_a_repeat_key_once():
    layers = lambda u: [{"type": "dense", "units": u}, {"type": "relu"}, {"type": "dense", "units": u},
                        {"type": "relu"}, {"type": "dense", "units": 3}]
    configs = [{"name": "a", "optimizer": {"type": "sgd", "lr": 0.1}, "model": {"layers": layers(8)},
                "schedule": {"min_lr": 0.0}, "train": {"epochs": 3}},
               {"name": "b", "optimizer": {"type": "adam", "lr": 0.01}, "model": {"layers": layers(16)},
                "schedule": {"min_lr": 0.0}, "train": {"epochs": 5}}]
    columns = key_columns(configs, reserved=("epochs",))
    assert [(c.name, c.paths) for c in columns] == [
        ("optimizer.type", ("optimizer.type",)), ("lr", ("optimizer.lr",)),
        ("layers[0,2].units", ("model.layers[0].units", "model.layers[2].units")),
        ("train.epochs", ("train.epochs",))]
    # the copies of a repeat block hold equal values: keys that merely look alike but differ stay apart
    configs[1]["model"]["layers"][2]["units"] = 9
    assert [c.name for c in key_columns(configs)][2:4] == ["layers[0].units", "layers[2].units"]


def test_nine_optimizer_runs_get_nine_distinct_labels():
    """The issue's case: three sgd lr 0.1 runs that differ only in clip_norm used to share one label."""
    specs = [("sgd", 0.1, None), ("sgd", 0.1, 1.0), ("sgd", 0.1, 5.0), ("momentum", 0.1, None),
             ("momentum", 0.01, None), ("adam", 0.01, None), ("adam", 0.001, None), ("adam", 0.01, 1.0),
             ("rmsprop", 0.01, None)]
    extra = {"sgd": {}, "momentum": {"momentum": 0.9}, "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
             "rmsprop": {"rho": 0.99, "eps": 1e-8}}
    configs = [{"name": "b_opt", "optimizer": {"type": t, "lr": lr, "clip_norm": c, **extra[t]}}
               for t, lr, c in specs]
    labels = distinct_labels(configs, [f"run{i}" for i in range(9)])
    assert len(set(labels)) == 9
    assert labels[:3] == ["type=sgd, lr=0.1, clip_norm=null, +1 more", "type=sgd, lr=0.1, clip_norm=1, +1 more",
                          "type=sgd, lr=0.1, clip_norm=5, +1 more"]
    assert labels[8] == "type=rmsprop, lr=0.01, clip_norm=null, rho=0.99, +1 more"
    assert all(len(label) <= 60 + len(", +9 more") for label in labels)
    # identical configs: the folder names tell them apart
    assert distinct_labels([configs[0], configs[0]], ["x/1", "x/2"]) == ["x/1", "x/2"]
    # swept keys listed first are always shown, however long the labels
    wide = [{"optimizer": {"lr": i, **{f"key{k}": f"{'v' * 20}{i}" for k in range(5)}}} for i in range(3)]
    assert all("lr=" in label for label in distinct_labels(wide, ["a", "b", "c"], first=["optimizer.lr"]))


def test_more_than_ten_curves_get_distinct_colour_and_line_style():
    looks = {tuple(sorted(style(i, 45).items())) for i in range(45)}
    assert len(looks) == 45
    assert style(3, 9) == {"color": "C3", "linestyle": "-"}


def test_runs_table_newest_first_with_differing_keys(three):
    out, (first, second, third) = three
    done = nnctl("runs", out)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["run", "config", "status", "epochs", "best", "monitored", "test", "loss", "test",
                                "acc", "time", "layers[0,2].units", "optimizer.type", "lr", "momentum"]
    assert [line.split()[0] for line in lines[2:]] == [str(third), str(second), str(first)]
    cells = lines[3].split()
    assert cells[1:4] == ["spiral", "completed", "3/3"]
    assert cells[-4:] == ["8", "momentum", "0.05", "0.9"]


def test_json_and_csv_carry_every_figure_unrounded(three):
    out, (first, second, third) = three
    objects = json.loads(nnctl("runs", out, "--format", "json").stdout)
    report = json.loads((first / "report.json").read_text())
    last = objects[-1]
    assert last["path"] == str(first)
    assert last["test_acc"] == report["test"]["acc"] and last["test_loss"] == report["test"]["loss"]
    assert last["best_value"] == report["best_value"] and last["seconds"] == report["total_seconds"]
    assert last["keys"] == {"optimizer.type": "sgd", "lr": 0.1, "momentum": None, "layers[0,2].units": 8}
    rows = list(csv.DictReader(io.StringIO(nnctl("runs", out, "--format", "csv").stdout)))
    assert float(rows[-1]["test_loss"]) == report["test"]["loss"]          # repr round-trips exactly
    assert rows[-1]["key:layers[0,2].units"] == "8" and rows[1]["key:optimizer.type"] == "momentum"


def test_sort_where_and_limit(three):
    out, runs = three
    objects = json.loads(nnctl("runs", out, "--format", "json", "--sort", "test_loss").stdout)
    losses = [o["test_loss"] for o in objects]
    assert losses == sorted(losses)
    objects = json.loads(nnctl("runs", out, "--format", "json", "--sort", "test_acc").stdout)
    accs = [o["test_acc"] for o in objects]
    assert accs == sorted(accs, reverse=True)                             # accuracies: best (highest) first
    sgd = json.loads(nnctl("runs", out, "--format", "json", "--where", "optimizer.type=sgd").stdout)
    assert [o["path"] for o in sgd] == [str(runs[2]), str(runs[0])]
    glob = json.loads(nnctl("runs", out, "--format", "json", "--where", "optimizer.type=m*m", "--where", "lr=5e-2").stdout)
    assert [o["path"] for o in glob] == [str(runs[1])]                     # glob; 5e-2 equals 0.05 as numbers
    assert json.loads(nnctl("runs", out, "--format", "json", "--where", "layers[0,2].units=16").stdout)[0][
        "path"] == str(runs[2])
    limited = json.loads(nnctl("runs", out, "--format", "json", "--limit", "1").stdout)
    assert [o["path"] for o in limited] == [str(runs[2])]
    assert nnctl("runs", out, "--where", "status=running").stdout == "no run matches\n"


def test_bad_options_are_one_line_with_exit_2(tmp_path, three):
    out, _ = three
    done = nnctl("runs", out, "--where", "optimizer.type")
    assert (done.returncode, done.stderr) == (2, "--where optimizer.type: expected KEY=VALUE, e.g. "
                                                 "optimizer.type=sgd or status=comp*\n")
    done = nnctl("runs", out, "--sort", "nonsense")
    assert done.returncode == 2 and done.stderr.startswith("--sort nonsense: no listed run has it;")
    assert done.stderr.count("\n") == 1
    done = nnctl("runs", tmp_path / "nowhere")
    assert (done.returncode, done.stderr) == (2, f"{tmp_path / 'nowhere'}: no such folder (give run folders, or "
                                                 f"folders that hold them: runs/, a sweep folder)\n")


def test_groups_of_runs_are_found_recursively(tmp_path, three):
    _, runs = three
    group = tmp_path / "seeds" / "group"
    for i, run in enumerate(runs[:2]):
        shutil.copytree(run, group / f"seed-{i}")
    (group / "summary.csv").write_text("seed,test_acc\n")
    shutil.copytree(runs[2], tmp_path / "seeds" / ".new-run.x.tmp")            # a run being created: hidden
    objects = json.loads(nnctl("runs", tmp_path / "seeds", "--format", "json").stdout)
    assert sorted(o["path"] for o in objects) == [str(group / "seed-0"), str(group / "seed-1")]


def test_a_run_being_written_lists_as_running_and_once_killed_as_interrupted(tmp_path):
    config = tmp_path / "long.yaml"
    config.write_text(SPIRAL.format(name="long", optimizer="sgd", lr=0.1, units=8, epochs=100000))
    process = subprocess.Popen([sys.executable, "-m", "nnctl", "train", str(config), "--out", str(tmp_path / "runs"),
                                "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = list((tmp_path / "runs").glob("long/*/metrics.csv"))
            if found and len(found[0].read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        run = found[0].parent
        row = json.loads(nnctl("runs", tmp_path / "runs", "--format", "json").stdout)[0]
        assert row["status"] == "running" and row["epochs"] >= 2 and row["best_epoch"] >= 1
        assert (run / MARKER).read_text().split()[0] == str(process.pid)
    finally:
        process.kill()
        process.wait()
    done = nnctl("runs", tmp_path / "runs")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines()[2].split()[2] == "interrupted"       # the marker's process is dead
    (run / MARKER).unlink()                                              # no marker: judged by the files' age
    assert json.loads(nnctl("runs", run, "--format", "json").stdout)[0]["status"] == "running"
    old = time.time() - RECENT_SECONDS - 60
    for path in run.rglob("*"):
        os.utime(path, (old, old))
    assert json.loads(nnctl("runs", run, "--format", "json").stdout)[0]["status"] == "interrupted"
    # a marker naming a live process (this one) with its start time: running, though the files are old
    (run / MARKER).write_text(f"{os.getpid()} {os.uname().nodename} {process_start(os.getpid())}\n")
    assert json.loads(nnctl("runs", run, "--format", "json").stdout)[0]["status"] == "running"
    # the same PID with another start time is a recycled PID: the run's process is gone
    (run / MARKER).write_text(f"{os.getpid()} {os.uname().nodename} 1\n")
    assert json.loads(nnctl("runs", run, "--format", "json").stdout)[0]["status"] == "interrupted"


def test_a_finished_run_leaves_no_marker_and_its_report_holds_the_config(three):
    _, runs = three
    assert not (runs[0] / MARKER).exists()
    report = json.loads((runs[0] / "report.json").read_text())
    assert report["config"]["optimizer"]["lr"] == 0.1 and report["config"]["model"]["layers"][2]["units"] == 8


def cells(line: str) -> list[str]:
    """A table line's cells, the run folder's time stamp and the seconds made alike (they change per run)."""
    found = re.split(r"\s{2,}", line.strip())
    found = [re.sub(r"/\d{8}-\d{6}(-\d+)?$", "/STAMP", cell) for cell in found]
    found = [re.sub(r"^-+$", "---", cell) for cell in found]                 # the rule under the header
    return [re.sub(r"^\d+\.\d s$", "SECONDS", cell) for cell in found]


def test_the_table_docs_runs_md_quotes(tmp_path):
    """docs/runs.md's example, run as written: the same table, cell for cell (but stamps and seconds)."""
    docs = (ROOT / "docs" / "runs.md").read_text()
    section = docs[docs.index("## Many runs at once"):]
    commands, quoted = re.findall(r"```(?:bash)?\n(.*?)\n```", section, flags=re.S)[:2]
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    for command in commands.splitlines():
        words = shlex.split(command)
        done = subprocess.run([sys.executable, "-m", "nnctl", *words[1:]] + (["--quiet"] if words[1] == "train"
                              else []), cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        time.sleep(1.0 if words[1] == "train" else 0)       # one run folder per second: stamps in order
    assert [cells(line) for line in done.stdout.splitlines()] == [cells(line) for line in quoted.splitlines()]


def test_a_run_with_several_loss_terms_lists_each_terms_test_loss(tmp_path):
    config = tmp_path / "two.yaml"
    config.write_text("name: two\nseed: 0\ndata: {dataset: spiral, samples: 150, normalize: none}\n"
                      "model: [{type: dense, units: 8}, {type: relu}, {type: dense, units: 3}]\n"
                      "loss: [{type: softmax_cross_entropy, name: ce}, {type: mse, target: onehot, name: sq}]\n"
                      "optimizer: {type: sgd, lr: 0.1}\ntrain: {epochs: 2, batch_size: 30}\n")
    run = train(load_config(config), tmp_path / "runs", progress=False).run_dir
    report = json.loads((run / "report.json").read_text())
    (row,) = json.loads(nnctl("runs", tmp_path / "runs", "--format", "json").stdout)
    assert row["test_loss.ce"] == report["test"]["term_loss"]["ce"]
    assert row["test_loss.sq"] == report["test"]["term_loss"]["sq"]
    header = re.split(r"\s{2,}", nnctl("runs", tmp_path / "runs").stdout.splitlines()[0])
    assert header[6:10] == ["test loss", "test acc", "test loss.ce", "test loss.sq"]


def test_a_report_of_the_wrong_shape_lists_without_an_error(tmp_path, three):
    """Run folders may come from anywhere: figures of the wrong type are shown as missing."""
    _, runs = three
    run = tmp_path / "odd" / "run"
    shutil.copytree(runs[0], run)
    (run / "report.json").write_text(json.dumps({"status": "completed", "epochs_run": "many", "best_epoch": [1],
                                                 "monitor": 3, "best_value": "x", "total_seconds": None,
                                                 "best_metrics": {"val_acc": "y"}, "test": {"loss": "z",
                                                 "term_loss": [1], "acc": 0.5}, "config": "not a mapping"}))
    done = nnctl("runs", tmp_path / "odd")
    assert done.returncode == 0 and done.stderr == ""
    assert re.split(r"\s{2,}", done.stdout.splitlines()[2])[1:9] == ["odd", "completed", "0", "—", "—", "—",
                                                                       "50.00%", "—"]
    (row,) = json.loads(nnctl("runs", tmp_path / "odd", "--format", "json").stdout)
    assert (row["test_acc"], row["best_value"], row["epochs"]) == (0.5, None, 0)
