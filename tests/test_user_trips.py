"""What a user trips on (issue "advice that works"): every command that takes a run takes a folder of runs the
same way, a file of the wrong kind is named as such, and each piece of advice printed is followed here."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from nnctl.cli import cli

SPIRAL = """\
name: spiral
seed: 0
data: {dataset: spiral, samples: 240}
model: [{type: dense, units: 16}, {type: relu}, {type: dense, units: 3}]
train: {epochs: 2, batch_size: 32, health_every: null}
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def runs(tmp_path):
    """A folder of two spiral runs (the second newer); returns (folder of runs, newest run)."""
    (tmp_path / "spiral.yaml").write_text(SPIRAL)
    for _ in range(2):
        done = invoke("train", tmp_path / "spiral.yaml", "-q", "--out", tmp_path / "runs")
        assert done.exit_code == 0, done.stderr
    folder = tmp_path / "runs" / "spiral"
    return folder, sorted(folder.iterdir())[-1]


def test_summary_takes_a_run_folder_or_a_folder_of_runs(runs, tmp_path):
    folder, newest = runs
    from_config = invoke("summary", tmp_path / "spiral.yaml")
    assert from_config.exit_code == 0
    assert invoke("summary", newest).stdout == from_config.stdout
    assert invoke("summary", folder).stdout == from_config.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = invoke("summary", empty)
    assert refused.exit_code == 2
    assert refused.stderr == (f"{empty}: not a run folder (no config.yaml in it or in its subfolders); give a config "
                              f"file or a run folder\n")


def test_resume_takes_a_folder_of_runs_as_its_newest(runs):
    folder, newest = runs
    resumed = invoke("train", "--resume", folder, "--set", "train.epochs=3", "-q")
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stdout.endswith(f"run: {newest}\n")
    assert json.loads((newest / "report.json").read_text())["epochs_run"] == 3


@pytest.mark.parametrize("command", [["eval"], ["export", "--format", "onnx"], ["predict", "x.npz"]])
def test_a_config_where_a_run_is_wanted_is_named_and_the_advice_works(runs, tmp_path, command):
    config = tmp_path / "spiral.yaml"
    args = [command[0], config, *command[1:]] if command[0] != "predict" else ["predict", config, tmp_path / "x.npz"]
    refused = invoke(*args)
    assert refused.exit_code == 2
    assert refused.stderr == (f"{config}: is a config file, not a run folder or checkpoint; train it first "
                              f"(nnctl train {config}) and give the run folder\n")
    if command[0] == "eval":                       # the advice: the run folder that training made
        folder, newest = runs
        assert invoke("eval", folder).exit_code == 0


def test_a_sweep_file_given_to_train_says_to_sweep_it_and_that_works(tmp_path):
    (tmp_path / "spiral.yaml").write_text(SPIRAL)
    sweep = tmp_path / "sw.yaml"
    sweep.write_text("name: sw\nbase: spiral.yaml\nset: {train.epochs: 1}\nspace:\n"
                     "  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}\nsampler: random\ntrials: 1\n")
    refused = invoke("train", sweep)
    assert refused.exit_code == 2
    assert refused.stderr == (f"{sweep}: is a sweep file (it has base: and space:), not a config; run it with "
                              f"nnctl sweep {sweep}\n")
    swept = invoke("sweep", sweep, "--out", tmp_path / "sweeps")
    assert swept.exit_code == 0, swept.stderr


def test_a_run_name_too_long_for_a_folder_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "spiral.yaml").write_text(SPIRAL)
    refused = invoke("train", tmp_path / "spiral.yaml", "--set", f"name={'a' * 101}", "--out", tmp_path / "runs")
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"--set 'name={'a' * 55}...': name: expected a folder name of at most 100 "
                                     f"characters, got 'a")
    assert not (tmp_path / "runs").exists()
    accepted = invoke("train", tmp_path / "spiral.yaml", "--set", f"name={'a' * 100}", "--out", tmp_path / "runs",
                      "-q", "--set", "train.epochs=1")
    assert accepted.exit_code == 0, accepted.stderr


def test_an_output_below_a_regular_file_names_that_file(runs, tmp_path):
    folder, _ = runs
    (tmp_path / "afile").write_text("")
    refused = invoke("export", folder, "--format", "onnx", "--out", tmp_path / "afile" / "x.onnx")
    assert refused.exit_code == 1
    assert refused.stderr == (f"{tmp_path / 'afile' / 'x.onnx'}: cannot write the ONNX model ({tmp_path / 'afile'} "
                              f"is a file, not a folder)\n")


def test_a_reader_that_goes_away_ends_the_lines_not_the_run(tmp_path):
    """`nnctl train CONFIG 2>&1 | head -3`: the pipe closes after three lines; the run still completes."""
    import subprocess
    import sys

    (tmp_path / "spiral.yaml").write_text(SPIRAL.replace("epochs: 2", "epochs: 6"))
    process = subprocess.Popen([sys.executable, "-m", "nnctl", "train", "spiral.yaml", "--out", "runs"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()                                  # the reader goes away, as `head -3` does
    process.wait(timeout=120)
    assert first[0].startswith(b"run folder: ") and first[1].startswith(b"threads: ")
    assert first[2].startswith(b"epoch 1/6")
    (run,) = (tmp_path / "runs" / "spiral").iterdir()
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "completed" and report["epochs_run"] == 6


def test_predict_redirected_writes_no_bar_frames(runs, tmp_path):
    import numpy as np

    folder, _ = runs
    np.savez(tmp_path / "x.npz", x=np.random.default_rng(0).standard_normal((5000, 2)).astype(np.float32))
    done = invoke("predict", folder, tmp_path / "x.npz", "--batch-size", "64", "--out", tmp_path / "p.csv")
    assert done.exit_code == 0, done.stderr
    assert "\r" not in done.stderr and "predict:" not in done.stderr
