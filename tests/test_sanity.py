"""train.sanity: the first batch's loss against the loss expected at random initialization (ln C for softmax,
(C - 1) x margin for svm): the course's init_large warns, init_good and the Fashion-MNIST configs do not; the
warning's advice (train.sanity: off) silences it; sanity: error stops the run at its first step."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnctl.cli import cli

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SHORT = ["--set", "train.epochs=1", "--set", "data.limit=256", "--set", "data.val_size=100", "-q"]
WARNING = re.compile(r"^warning: initial loss ([0-9.e+]+) is ([0-9.e+]+) times the 2\.303 expected for "
                     r"softmax_cross_entropy at random initialization \(ln C, C = 10\); the weights start too large: "
                     r"check model init and weight_scale, or the data's scale \(train\.sanity: off silences this\)$")


def train(config: Path, out: Path, *extra: str):
    return CliRunner().invoke(cli, ["train", str(config), "--out", str(out), *SHORT, *extra])


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.glob("*/*") if p.is_dir()]
    return run


@pytest.mark.data
def test_init_large_warns_once_and_the_report_keeps_it(tmp_path, fashion_folder):
    done = train(CONFIGS / "course" / "init_large.yaml", tmp_path / "runs")
    assert done.exit_code == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("warning: initial loss")]
    loss, ratio = map(float, WARNING.match(line).groups())
    assert ratio > 3 and math.isclose(ratio, loss / math.log(10), rel_tol=1e-2)    # both printed rounded
    report = json.loads((only_run(tmp_path / "runs") / "report.json").read_text())
    assert report["sanity"] == [line.removeprefix("warning: ")]
    assert f"- sanity check: {report['sanity'][0]}" in (only_run(tmp_path / "runs") / "report.md").read_text()
    health = CliRunner().invoke(cli, ["health", str(only_run(tmp_path / "runs"))])
    assert health.exit_code == 0 and f"\nfindings:\n- sanity check: {report['sanity'][0]}\n" in health.output
    longer = CliRunner().invoke(cli, ["train", "--resume", str(only_run(tmp_path / "runs")), "--set", "train.epochs=2",
                                      "-q"])
    assert longer.exit_code == 0, longer.stderr
    assert "initial loss" not in longer.stderr                      # the check is made when a run begins, once
    resumed = json.loads((only_run(tmp_path / "runs") / "report.json").read_text())
    assert resumed["epochs_run"] == 2 and resumed["sanity"] == report["sanity"]    # kept across the resume


@pytest.mark.data
@pytest.mark.parametrize("config", ["course/init_good.yaml", "course/init_small.yaml", "fashion_mlp.yaml",
                                    "fashion_cnn.yaml"])
def test_configs_that_start_well_do_not_warn(tmp_path, fashion_folder, config):
    done = train(CONFIGS / config, tmp_path / "runs")
    assert done.exit_code == 0, done.stderr
    assert "initial loss" not in done.stderr
    assert "sanity" not in json.loads((only_run(tmp_path / "runs") / "report.json").read_text())


@pytest.mark.data
def test_the_advice_silences_it_and_error_stops_the_run(tmp_path, fashion_folder):
    quiet = train(CONFIGS / "course" / "init_large.yaml", tmp_path / "quiet", "--set", "train.sanity=off")
    assert quiet.exit_code == 0 and "initial loss" not in quiet.stderr
    stopped = train(CONFIGS / "course" / "init_large.yaml", tmp_path / "stopped", "--set", "train.sanity=error")
    assert stopped.exit_code == 1
    assert "training failed before its first step: initial loss" in stopped.stderr
    assert stopped.stderr.rstrip().endswith("(train.sanity: error)") or "(train.sanity: error)" in stopped.stderr
    assert json.loads((only_run(tmp_path / "stopped") / "report.json").read_text())["status"] == "failed"


def test_svm_expects_c_minus_one_margins(tmp_path):
    """A spiral with a huge weight scale under the SVM loss: the expectation is (C - 1) x margin = 2."""
    (tmp_path / "c.yaml").write_text("data: {dataset: spiral, samples: 240}\nmodel: [{type: dense, units: 3, "
                                     "init: normal, weight_scale: 50.0}]\nloss: {type: svm}\ntrain: {epochs: 1}\n")
    done = train(tmp_path / "c.yaml", tmp_path / "runs")
    assert done.exit_code == 0, done.stderr
    assert re.search(r"times the 2 expected for svm at random initialization \(\(C - 1\) x margin, C = 3\)",
                     done.stderr), done.stderr
