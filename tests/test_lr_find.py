"""`nnctl lr-find CONFIG`: the range test's rules on known curves (exact, float64), and the command in a real
process on the spiral: a suggestion in a sensible range that trains better than a learning rate 100x lower,
a PNG at --out, nothing in runs/; bad options exit 2 with one line and write nothing. On Fashion-MNIST
(marked data) the suggestion for configs/fashion_mlp.yaml lies where Adam-type optimizers train."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnctl.training.lr_find import learning_rates, suggest

ROOT = Path(__file__).resolve().parents[1]
SPIRAL = ROOT / "configs" / "spiral.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def nnctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnctl", *args]


def test_learning_rates_grow_in_equal_ratios():
    lrs = learning_rates(1e-7, 10.0, 200)
    assert lrs[0] == 1e-7 and lrs[-1] == pytest.approx(10.0, rel=1e-14) and len(lrs) == 200
    ratios = lrs[1:] / lrs[:-1]
    assert np.allclose(ratios, 10 ** (8 / 199), rtol=1e-12)


def test_rules_on_a_known_curve():
    lrs = learning_rates(1e-6, 1.0, 61)                   # ten points a decade
    x = np.log10(lrs)
    curve = 2.0 - np.tanh(2 * (x + 3)) + np.where(x > -1, 20 * (x + 1) ** 2, 0.0)   # falls fastest at 1e-3
    lowest = int(np.argmin(curve))
    assert suggest(lrs, curve, "min10") == (lrs[lowest] / 10, "min10")
    lr, rule = suggest(lrs, curve, "steepest")
    assert rule == "steepest" and lr == pytest.approx(1e-3, rel=1e-12)
    early = np.linspace(1.0, 3.0, 61)                      # lowest at the first point: no slope to read
    assert suggest(lrs, early, "steepest") == (lrs[0] / 10, "min10 (the minimum came too early for a slope)")


def final_accuracy(out: Path, lr: str, tmp_path: Path) -> float:
    done = subprocess.run(nnctl("train", str(SPIRAL), "--set", f"optimizer.lr={lr}", "--set", "train.epochs=8",
                                "--set", "schedule.type=constant", "--quiet", "--out", str(out)),
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = sorted((out / "spiral").iterdir())[-1]
    return json.loads((run / "report.json").read_text())["best_metrics"]["train_acc"]


def test_spiral_suggestion_trains_better_than_100x_lower(tmp_path):
    done = subprocess.run(nnctl("lr-find", str(SPIRAL), "--out", "spiral_lr.png"), capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    found = re.fullmatch(r"suggested lr: (\S+) \(rule: the smoothed loss's minimum / 10\)", lines[0])
    assert found, lines[0]
    lr = float(found.group(1))
    assert 1e-3 <= lr <= 0.1, lr
    assert re.fullmatch(r"range test: lr 1e-07 to 10, stopped at step \d+ of 200 \(lr \S+\): the smoothed loss "
                        r"exceeded 4x its minimum; lowest smoothed loss \S+ at lr \S+", lines[1]), lines[1]
    assert lines[2:] == ["plot: spiral_lr.png",
                         f"to train with it: nnctl train {SPIRAL} --set optimizer.lr={found.group(1)}"]
    assert (tmp_path / "spiral_lr.png").read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spiral_lr.png"]        # no runs/, no temporaries
    at_suggestion = final_accuracy(tmp_path / "runs", found.group(1), tmp_path)
    lower = final_accuracy(tmp_path / "runs", f"{lr / 100:.3g}", tmp_path)
    assert at_suggestion > lower + 0.1, (at_suggestion, lower)


def test_the_default_plot_name_and_the_steepest_rule(tmp_path):
    done = subprocess.run(nnctl("lr-find", str(SPIRAL), "--rule", "steepest", "--steps", "120", "--quiet",
                                "--set", "train.batch_size=32"), capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"suggested lr: \S+ \(rule: steepest descent of the smoothed loss\)", done.stdout.splitlines()[0])
    assert (tmp_path / "lr_find.png").read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_find.png"]


@pytest.mark.parametrize("options, message", [
    (["--out", "curve.txt"], "--out curve.txt: the plot is a PNG file; give a name ending in .png"),
    (["--out", "missing/curve.png"], "--out missing/curve.png: no such folder missing"),
    (["--start", "1", "--end", "0.1"], "--start 1 --end 0.1: the range must grow (0 < start < end)"),
    (["--set", "optimizer.lrr=1"], "--set 'optimizer.lrr=1': optimizer.lrr: unknown key (did you mean 'lr'?)"),
])
def test_bad_options_exit_2_and_write_nothing(tmp_path, options, message):
    done = subprocess.run(nnctl("lr-find", str(SPIRAL), *options), capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert (done.returncode, done.stderr, done.stdout) == (2, message + "\n", "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("options", [["--steps", "5"], ["--start", "0"], ["--rule", "valley"],
                                     ["--stop-factor", "1"]])
def test_out_of_range_values_are_usage_errors(tmp_path, options):
    done = subprocess.run(nnctl("lr-find", str(SPIRAL), *options), capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and options[0] in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.data
def test_fashion_mlp_suggestion(tmp_path):
    from tests.conftest import require_fashion

    require_fashion()
    done = subprocess.run(nnctl("lr-find", str(ROOT / "configs" / "fashion_mlp.yaml"), "--steps", "100", "--quiet"),
                          capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lr = float(re.match(r"suggested lr: (\S+) ", done.stdout).group(1))
    assert 1e-4 <= lr <= 1e-2, lr                          # AdamW: the config's own 1e-3 lies in this range
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_find.png"]
