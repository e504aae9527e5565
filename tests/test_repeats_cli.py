"""`nnctl train CONFIG --seeds LIST` / `--folds K` as a person uses them, in real processes: the group folder
and its summary, a real SIGTERM or Ctrl-C (SIGINT) in the middle, and the same command (or --resume GROUP)
continuing without retraining the runs that were done, ending exactly as runs never interrupted. Bad options:
one line, exit 2, nothing written."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_docs_repeats import DOC, doc_pattern

CONFIG = """\
name: grp
seed: 0
data: {dataset: spiral, samples: 300, normalize: standard}
model:
  layers:
    - {type: dense, units: 64}
    - {type: relu}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 1.0e-2}
train: {epochs: EPOCHS, batch_size: 16}
"""


def nnctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnctl", *args]


def write_config(folder: Path, epochs: int) -> Path:
    path = folder / "grp.yaml"
    path.write_text(CONFIG.replace("EPOCHS", str(epochs)))
    return path


def rows_without_seconds(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def only_group(out: Path, kind: str) -> Path:
    groups = sorted((out / "grp").glob(f"*-{kind}"))
    assert len(groups) == 1, groups
    return groups[0]


def wait_until(condition, process, timeout: float = 300) -> bool:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def epochs_written(run: Path) -> int:
    try:
        return len((run / "metrics.csv").read_text().splitlines()) - 1
    except FileNotFoundError:
        return 0


def test_seeds_group_summary_is_the_runs_own_figures(tmp_path):
    config = write_config(tmp_path, 3)
    done = subprocess.run(nnctl("train", str(config), "--seeds", "0,2,5", "--quiet", "--out", str(tmp_path / "runs")),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    group = only_group(tmp_path / "runs", "seeds")
    record = json.loads((group / "group.json").read_text())
    assert record["kind"] == "seeds" and record["seeds"] == [0, 2, 5]
    assert [r["folder"] for r in record["runs"]] == ["seed-0", "seed-2", "seed-5"]
    assert sorted(p.name for p in group.iterdir()) == ["base-config.yaml", "group.json", "seed-0", "seed-2", "seed-5",
                                                       "summary.csv", "summary.md"]
    reports = [json.loads((group / f"seed-{s}" / "report.json").read_text()) for s in (0, 2, 5)]
    assert [json.loads(json.dumps(r["status"])) for r in reports] == ["completed"] * 3
    for s in (0, 2, 5):
        assert f"seed: {s}\n" in (group / f"seed-{s}" / "config.yaml").read_text()
    with open(group / "summary.csv", newline="") as handle:
        rows = {row["metric"]: row for row in csv.DictReader(handle)}
    accs = [r["val"]["acc"] for r in reports]
    assert [float(rows["val_acc"][f"seed-{s}"]) for s in (0, 2, 5)] == accs
    mean = sum(accs) / 3
    assert float(rows["val_acc"]["mean"]) == pytest.approx(mean, rel=1e-12)
    assert float(rows["val_acc"]["std"]) == pytest.approx((sum((a - mean) ** 2 for a in accs) / 2) ** 0.5, rel=1e-12)
    assert float(rows["test_loss"]["seed-5"]) == reports[2]["test"]["loss"]
    assert len(set(accs + [r["test"]["loss"] for r in reports])) > 3        # the seeds gave different runs
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert table[0] == "| metric | mean | std | seed-0 | seed-2 | seed-5 |"
    assert "\n".join(table) in (group / "summary.md").read_text()
    assert done.stdout.splitlines()[-1] == f"group: {group} (3 runs; summary.md, summary.csv)"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_group_and_the_same_command_continues_it_exactly(tmp_path, signum):
    config = write_config(tmp_path, 12)
    out = tmp_path / "runs"
    command = nnctl("train", str(config), "--seeds", "0-2", "--quiet", "--out", str(out))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = lambda: next(iter(sorted(out.glob("grp/*-seeds/seed-1"))), None)   # noqa: E731
    assert wait_until(lambda: second() is not None and epochs_written(second()) >= 2, process)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=300)
    group = only_group(out, "seeds")
    assert process.returncode == 128 + signum, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"seed-1: interrupted: saved {group / 'seed-1' / 'checkpoints' / 'last.npz'} (")
    assert last.endswith(f"; to continue the group: nnctl train --resume {group}")
    quoted = next(line for line in DOC.splitlines() if line.startswith("seed-1: interrupted: "))
    assert doc_pattern(quoted).fullmatch(last), (quoted, last)          # the line docs/repeats.md quotes
    assert (group / "seed-0" / "report.json").is_file() and not (group / "seed-2").exists()
    assert json.loads((group / "seed-1" / "report.json").read_text())["status"] == "interrupted"
    assert "1 of 3 runs done" in (group / "summary.md").read_text()
    first_run = {p: p.stat().st_mtime_ns for p in (group / "seed-0").rglob("*")}

    again = subprocess.run(command if signum == signal.SIGTERM else nnctl("train", "--resume", str(group), "--quiet"),
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert {p: p.stat().st_mtime_ns for p in (group / "seed-0").rglob("*")} == first_run     # not trained again
    assert only_group(out, "seeds") == group
    assert json.loads((group / "seed-1" / "report.json").read_text())["resumes"] == 1
    assert "3 of 3 runs done" in (group / "summary.md").read_text()

    reference = subprocess.run(nnctl("train", str(config), "--set", "seed=1", "--quiet", "--out",
                                     str(tmp_path / "reference")), capture_output=True, text=True, timeout=600)
    assert reference.returncode == 0, reference.stderr
    single = next((tmp_path / "reference" / "grp").iterdir())
    assert rows_without_seconds(group / "seed-1") == rows_without_seconds(single)


def test_folds_group(tmp_path):
    config = write_config(tmp_path, 2)
    done = subprocess.run(nnctl("train", str(config), "--folds", "3", "--quiet", "--out", str(tmp_path / "runs")),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    group = only_group(tmp_path / "runs", "folds")
    reports = [json.loads((group / f"fold-{k}" / "report.json").read_text()) for k in range(3)]
    assert [r["val"]["samples"] for r in reports] == [80, 80, 80]            # 240 non-test samples in 3 folds
    assert [r["test"]["samples"] for r in reports] == [60] * 3
    assert "fold: [2, 3]" in (group / "fold-2" / "config.yaml").read_text().replace("\n  - ", " ")
    assert done.stdout.splitlines()[0] == "| metric | mean | std | fold-0 | fold-1 | fold-2 |"
    again = subprocess.run(nnctl("train", "--resume", str(group), "--quiet"), capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0 and again.stdout == done.stdout.replace(str(group), str(group))


BAD = [
    (["--seeds", "4-1"], "--seeds 4-1: the range 4-1 goes down; write 1-4"),
    (["--seeds", "x"], "--seeds x: expected seeds such as 0-4 or 0,3,7 (non-negative integers), got 'x'"),
    (["--folds", "1"], "--folds 1: expected a number of folds from 2 to 1000"),
    (["--seeds", "0-1", "--folds", "3"], "--seeds 0-1 and --folds 3: give one of them (a group varies either the "
                                         "seed or the validation fold)"),
    (["--seeds", "0-1", "--overfit", "5"], "--seeds, --folds and --resume GROUP train a group of runs: they take "
                                           "neither --overfit nor --print-config"),
    (["--seeds", "0-1", "--set", "optimizer.lrr=1"], "--set 'optimizer.lrr=1': optimizer.lrr: unknown key "
                                                     "(did you mean 'lr'?)"),
]


@pytest.mark.parametrize("options, message", BAD)
def test_bad_group_options_exit_2_and_write_nothing(tmp_path, options, message):
    config = write_config(tmp_path, 2)
    done = subprocess.run(nnctl("train", str(config), "--out", str(tmp_path / "runs"), *options), capture_output=True,
                          text=True, timeout=300)
    assert (done.returncode, done.stderr, done.stdout) == (2, message + "\n", "")
    assert not (tmp_path / "runs").exists()


def test_more_folds_than_the_smallest_class_exits_2(tmp_path):
    import numpy as np

    from nnctl.build.prepare import prepare
    from nnctl.config.load import load_config

    config = write_config(tmp_path, 2)
    splits = prepare(load_config(config), progress=False).splits
    per_class = np.bincount(np.concatenate([splits.train[1], splits.val[1]]))
    k, name = int(per_class.min()), int(per_class.argmin())
    done = subprocess.run(nnctl("train", str(config), "--out", str(tmp_path / "runs"), "--folds", str(k + 1)),
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr) == (2, f"--folds {k + 1}: {k + 1} folds but class '{name}' has only {k} "
                                                 f"samples outside the test split (at most {k} folds)\n")
    assert not (tmp_path / "runs").exists()


def test_resume_options_that_do_not_fit_a_group(tmp_path):
    config = write_config(tmp_path, 1)
    out = tmp_path / "runs"
    assert subprocess.run(nnctl("train", str(config), "--quiet", "--out", str(out)), timeout=300).returncode == 0
    run = next((out / "grp").iterdir())
    single = subprocess.run(nnctl("train", "--resume", str(run), "--seeds", "0-1"), capture_output=True, text=True)
    assert (single.returncode, single.stderr) == (2, f"--resume {run}: a single run continues as it was, without "
                                                     f"--seeds; --seeds and --folds start or continue a group\n")
    assert subprocess.run(nnctl("train", str(config), "--seeds", "0", "--quiet", "--out", str(out)),
                          timeout=300).returncode == 0
    group = only_group(out, "seeds")
    for extra in (["--seeds", "0"], ["--set", "train.epochs=3"], [str(config)]):
        done = subprocess.run(nnctl("train", "--resume", str(group), *extra), capture_output=True, text=True)
        assert (done.returncode, done.stderr) == (2, f"--resume {group}: a group continues with its own config and "
                                                     f"runs; give neither CONFIG, --set, --seeds nor --folds\n")
