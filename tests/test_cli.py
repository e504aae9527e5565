"""The commands end to end through click's test runner, on the synthetic spiral (seconds to train)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli

SPIRAL = """\
name: spiral_test
seed: 3
data: {dataset: spiral, normalize: none}
model:
  layers:
    - {type: dense, units: 32}
    - {type: relu}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 1.0e-2}
train: {epochs: 5, batch_size: 32}
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "spiral.yaml"
    path.write_text(SPIRAL)
    return path


def train_once(config, out):
    result = invoke("train", config, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    runs = sorted((out / "spiral_test").iterdir())
    return result, runs[-1]


def test_train_writes_the_whole_run_directory(tmp_path, config):
    result, run = train_once(config, tmp_path / "runs")
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.yaml", "confusion.png", "curves.png", "health.csv", "health.png",
        "health_histograms.csv", "metrics.csv", "report.json", "report.md", "steps.csv"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.npz", "last.npz"]
    with open(run / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
    assert all(float(r["lr"]) == 0.01 for r in rows)
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "completed"
    assert report["epochs_run"] == 5
    assert sum(map(sum, report["test"]["confusion"])) == report["test"]["samples"]
    assert report["test"]["correct"] == sum(report["test"]["confusion"][i][i] for i in range(3))
    assert result.stdout.strip().endswith(f"run: {run}")
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_config_and_seed_give_identical_metrics(tmp_path, config):
    _, first = train_once(config, tmp_path / "a")
    _, second = train_once(config, tmp_path / "b")

    def without_seconds(run):
        with open(run / "metrics.csv") as handle:
            return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(handle)]

    assert without_seconds(first) == without_seconds(second)
    a = np.load(first / "checkpoints" / "last.npz")
    b = np.load(second / "checkpoints" / "last.npz")
    np.testing.assert_array_equal(a["param/dense1.W"], b["param/dense1.W"])


def test_eval_prints_exactly_the_reported_test_accuracy(tmp_path, config):
    _, run = train_once(config, tmp_path / "runs")
    report = json.loads((run / "report.json").read_text())
    result = invoke("eval", run / "checkpoints" / "best.npz")
    assert result.exit_code == 0, result.output
    test = report["test"]
    assert f"accuracy {100 * test['acc']:.2f}% ({test['correct']}/{test['samples']})" in result.stdout
    written = json.loads((run / "eval_best_test.json").read_text())
    assert written["acc"] == test["acc"]
    assert written["confusion"] == test["confusion"]
    assert written["loss"] == pytest.approx(test["loss"], rel=1e-12)


def test_eval_val_split_matches_best_epoch(tmp_path, config):
    _, run = train_once(config, tmp_path / "runs")
    report = json.loads((run / "report.json").read_text())
    result = invoke("eval", run / "checkpoints" / "best.npz", "--split", "val")
    assert result.exit_code == 0, result.output
    assert json.loads((run / "eval_best_val.json").read_text())["acc"] == report["best_value"]


def test_eval_rejects_a_damaged_checkpoint(tmp_path):
    bad = tmp_path / "best.npz"
    bad.write_bytes(b"PK\x03\x04 but not really")
    result = invoke("eval", bad)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"{bad}: ")


def test_plot_overlays_runs(tmp_path, config):
    _, run_a = train_once(config, tmp_path / "runs")
    _, run_b = train_once(config, tmp_path / "runs2")
    out = tmp_path / "overlay.png"
    result = invoke("plot", run_a, tmp_path / "runs2" / "spiral_test", "--metric", "val_loss", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out}\n"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_rejects_a_folder_without_runs(tmp_path):
    result = invoke("plot", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path}: not a run directory (no metrics.csv in it or in its subfolders)\n"


def test_summary_table(config):
    result = invoke("summary", config)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["layer", "type", "output", "shape", "params", "MACs", "details"]
    assert lines[2].split() == ["input", "(2,)"]
    assert lines[3].split()[:4] == ["dense1", "dense", "(32,)", "96"]
    assert lines[4].split()[:4] == ["relu1", "relu", "(32,)", "0"]
    assert lines[5].split()[:4] == ["dense2", "dense", "(3,)", "99"]
    assert lines[-1] == ("total: 195 parameters (195 trainable, 0 frozen; 0.00 MB as float32), 160 multiply-adds "
                         "per sample (forward)")


def test_print_config_shows_resolved_defaults(config):
    result = invoke("train", config, "--print-config", "--set", "train.epochs=2")
    assert result.exit_code == 0
    assert "epochs: 2" in result.stdout
    assert "name: dense1" in result.stdout
    assert "weight_decay: 0.0" in result.stdout


def test_python_dash_m_entry_point(config):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "nnctl", "summary", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "dense1" in out.stdout


def test_summary_counts_conv_multiply_adds(tmp_path):
    config = tmp_path / "cnn.yaml"
    config.write_text("""\
data: {dataset: fashion-mnist, flatten: false, limit: 100}
model:
  layers:
    - {type: conv2d, filters: 32, kernel: 3, padding: 1}
    - {type: relu}
    - {type: maxpool2d, kernel: 2}
    - {type: conv2d, filters: 64, kernel: 3, padding: 1}
    - {type: flatten}
    - {type: dense, units: 10}
""")
    result = invoke("summary", config)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:] if line.strip()}
    assert rows["conv2d1"][2:6] == ["(32,", "28,", "28)", "320"]      # 32*1*3*3 + 32
    assert rows["conv2d1"][6] == "225.79k"                            # 32*28*28 * 1*3*3
    assert rows["maxpool2d1"][2:5] == ["(32,", "14,", "14)"]
    assert rows["conv2d2"][5:7] == ["18,496", "3.61M"]                 # 64*32*9 + 64; 64*14*14 * 32*9
    assert rows["dense1"][3:5] == ["125,450", "125.44k"]              # 12544*10 + 10
    assert result.stdout.splitlines()[-1] == ("total: 144,266 parameters (144,266 trainable, 0 frozen; 0.58 MB as float32), "
                                              "3.96M multiply-adds per sample (forward)")


def test_debug_is_accepted_after_the_command_name(tmp_path):
    missing = tmp_path / "missing.yaml"
    for args in (("--debug", "train", missing), ("train", missing, "--debug")):
        result = invoke(*args)
        assert result.exit_code == 2
        assert "Traceback (most recent call last)" in result.stderr
        assert result.stderr.rstrip().endswith(f"{missing}: no such config file")
    quiet = invoke("train", missing)
    assert quiet.stderr == f"{missing}: no such config file\n"


def test_train_needs_a_config_or_resume():
    result = invoke("train")
    assert result.exit_code == 2
    assert result.stderr == "nnctl train needs a CONFIG file (or --resume RUN to continue a run)\n"


def test_resume_from_the_command_line_continues_and_says_so(tmp_path, config):
    _, run = train_once(config, tmp_path / "runs")
    result = invoke("train", "--resume", run, "--set", "train.epochs=7", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("completed after 7 epochs, val accuracy ")
    assert len((run / "metrics.csv").read_text().splitlines()) == 8
    refused = invoke("train", "--resume", run, "--set", "optimizer.lr=0.5", "--quiet")
    assert refused.exit_code == 2
    assert refused.stderr == (f"--set: --resume continues {run} with its own config; only train.epochs and "
                              f"train.early_stopping.patience may change, but optimizer.lr differs\n")
    assert invoke("train", "--resume", run, "--overfit", "5").stderr == (
        "--resume continues a run as it was configured: it takes neither --overfit nor --print-config\n")


def test_summary_reads_no_data_where_the_dataset_knows_its_shapes(tmp_path):
    """MNIST is absent and cannot be downloaded (no mirror answers), yet summary works; an .npz's shape comes
    from its header alone; frozen parameters are counted apart."""
    config = tmp_path / "mnist.yaml"
    config.write_text("data: {dataset: mnist, flatten: false, download: false}\n"
                      "model: [{type: conv2d, filters: 4, kernel: 3, trainable: false}, {type: flatten},"
                      " {type: dense, units: 10}]\n")
    result = invoke("summary", config)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2].split() == ["input", "(1,", "28,", "28)"]
    assert result.stdout.splitlines()[-1].startswith("total: 27,090 parameters (27,050 trainable, 40 frozen; ")
    np.savez(tmp_path / "big.npz", x=np.zeros((5, 3, 8, 8), np.float32), y=np.arange(5))
    npz = tmp_path / "npz.yaml"
    npz.write_text(f"data: {{dataset: npz, path: {tmp_path / 'big.npz'}}}\nmodel: [{{type: dense, units: 5}}]\n")
    lines = invoke("summary", npz).stdout.splitlines()
    assert lines[2].split() == ["input", "(192,)"]
