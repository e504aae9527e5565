"""Faults an unlucky user meets, made for real: a full disk (a small tmpfs mounted in a private mount
namespace: ENOSPC), a read-only run folder (a read-only bind mount: EROFS), a folder without write
permission (EACCES, with CAP_DAC_OVERRIDE dropped when running as root), diverging runs, Ctrl-C and SIGTERM
sent to real `nnctl` processes at the worst moments, and downloads from a local HTTP server that drips,
stalls or sends too much. Each asserts the exit code, the exact one-line message and what is (not) left
on disk."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.data.download import download
from nnctl.errors import WorkError
from nnctl.training.checkpoints import load_checkpoint

BIG = """\
name: big
seed: 0
data: {{dataset: spiral, normalize: none}}
model:
  layers:
    - {{type: dense, units: {units}}}
    - {{type: relu}}
    - {{type: dense, units: {units}}}
    - {{type: relu}}
    - {{type: dense, units: 3}}
optimizer: {{type: adam, lr: 1.0e-3}}
train: {{epochs: {epochs}, batch_size: 32, progress: false{extra}}}
"""
DIVERGING = """\
name: div
seed: 0
data: {dataset: spiral, normalize: standard}
model:
  layers:
    - {type: dense, units: 32}
    - {type: relu}
    - {type: dense, units: 3}
optimizer: {type: sgd, lr: 50.0}
schedule: {type: constant, warmup_epochs: 4, warmup_start: 0.001}
train: {epochs: 4, batch_size: 32, progress: false}
"""
ENV = {**os.environ, "NNCTL_MIRRORS": "http://127.0.0.1:9/refused/", "PYTHONUNBUFFERED": "1"}


def nnctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnctl", *args]


def write_config(folder: Path, text: str, name: str = "c.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def the_run(out: Path, name: str) -> Path:
    runs = [p for p in (out / name).iterdir() if not p.name.startswith(".")]
    assert len(runs) == 1, runs
    return runs[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.endswith((".tmp", ".part")))


# ------------------------------------------------------------------------------------ real file systems

def can(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


MOUNTS = can(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
              "mount -t tmpfs -o size=4k tmpfs /mnt"])
needs_mounts = pytest.mark.skipif(not MOUNTS, reason="needs unshare and mount (CAP_SYS_ADMIN) for a tmpfs or a "
                                                     "read-only bind mount")


def in_namespace(setup: str, command: list[str], keep: Path | None = None, snapshot: Path | None = None,
                 cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `command` in a private mount namespace after the shell lines `setup` (e.g. a mount); with `keep`
    and `snapshot`, what `keep` holds afterwards is copied to `snapshot` (the mount vanishes with the
    namespace)."""
    copy = f'; mkdir -p "{snapshot}"; cp -a "{keep}/." "{snapshot}/"' if keep else ""
    script = f'{setup} || exit 99; "$@"; rc=$?{copy}; exit $rc'
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
                           *command], capture_output=True, text=True, cwd=cwd, env=env or ENV, timeout=300)


def on_small_disk(folder: Path, size: int, command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """`command` with `folder` a tmpfs of `size` bytes; returns its result and a copy of what it left."""
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = folder.with_name(folder.name + "-afterwards")
    done = in_namespace(f'mount -t tmpfs -o size={size} tmpfs "{folder}"', command, folder, snapshot, cwd)
    assert done.returncode != 99, done.stderr
    return done, snapshot


def without_write_permission(command: list[str]) -> list[str]:
    """`command` run so that file permissions bind it: as root, without CAP_DAC_OVERRIDE."""
    if os.geteuid() != 0:
        return command
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", "--", *command]


def pages(path: Path) -> int:
    return -(-path.stat().st_size // 4096) * 4096


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished run of BIG (units 256, 1 epoch): its folder and the sizes of its files."""
    root = tmp_path_factory.mktemp("trained")
    config = write_config(root, BIG.format(units=256, epochs=1, extra=""))
    done = subprocess.run(nnctl("train", str(config), "--out", str(root / "runs"), "--quiet"), capture_output=True,
                          text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    return root, the_run(root / "runs", "big")


# ------------------------------------------------------------------------------------ a full disk

@needs_mounts
def test_full_disk_at_the_second_epoch_keeps_the_first_epochs_checkpoints(tmp_path, trained):
    _, reference = trained
    checkpoint = pages(reference / "checkpoints" / "best.npz")
    config = write_config(tmp_path, BIG.format(units=256, epochs=2, extra=""))
    disk = tmp_path / "disk"
    done, after = on_small_disk(disk, 2 * checkpoint + checkpoint // 2, nnctl("train", str(config), "--out", str(disk),
                                                                             "--quiet"), tmp_path)
    kept = the_run(after, "big")
    run = disk / "big" / kept.name
    assert done.returncode == 1
    failed = "best.npz" if "best.npz: cannot" in done.stderr else "last.npz"
    assert done.stderr == (f"training failed after epoch 2: {run}/checkpoints/{failed}: cannot write the checkpoint "
                           f"(No space left on device); kept checkpoints/last.npz (end of epoch 1) and "
                           f"checkpoints/best.npz (end of epoch 1) and the report in {run}\n")
    for name in ("best.npz", "last.npz"):
        assert load_checkpoint(kept / "checkpoints" / name).meta["epoch"] == 1
    report = json.loads((kept / "report.json").read_text())
    assert report["status"] == "failed" and report["epochs_run"] == 2
    assert leftovers(after) == []


@needs_mounts
@pytest.mark.parametrize("size, report", [
    (256 << 10, "and the report in {run}"),
    (8 << 10, "but the report could not be written ({run}/curves.png: cannot write the picture (No space left on "
              "device))"),
], ids=["report_fits", "report_does_not_fit"])
def test_full_disk_at_the_first_checkpoint_names_that_checkpoint(tmp_path, size, report):
    """The first failure (the checkpoint) is the one named, however the ending's own writes fare."""
    config = write_config(tmp_path, BIG.format(units=256, epochs=1, extra=""))
    disk = tmp_path / "disk"
    done, after = on_small_disk(disk, size, nnctl("train", str(config), "--out", str(disk), "--quiet"), tmp_path)
    run = disk / "big" / the_run(after, "big").name
    assert done.returncode == 1
    assert done.stderr == (f"training failed after epoch 1: {run}/checkpoints/best.npz: cannot write the checkpoint "
                           f"(No space left on device); kept no checkpoint (none was written yet) "
                           f"{report.format(run=run)}\n")
    assert list((the_run(after, "big") / "checkpoints").iterdir()) == []
    assert leftovers(after) == []


@needs_mounts
def test_a_completed_run_whose_curves_do_not_fit_says_so_and_keeps_its_checkpoints(tmp_path, trained):
    _, reference = trained
    sizes = sum(pages(reference / name) for name in ("config.yaml", "metrics.csv", "checkpoints/best.npz",
                                                      "checkpoints/last.npz", "report.json", "report.md"))
    config = write_config(tmp_path, BIG.format(units=256, epochs=1, extra=""))
    disk = tmp_path / "disk"
    done, after = on_small_disk(disk, sizes + 4096, nnctl("train", str(config), "--out", str(disk), "--quiet"),
                                tmp_path)
    kept = the_run(after, "big")
    run = disk / "big" / kept.name
    assert done.returncode == 1
    assert done.stderr == (f"{run}/curves.png: cannot write the picture (No space left on device); the run had "
                           f"completed after 1 epoch and its checkpoints are whole in {run}\n")
    report = json.loads((kept / "report.json").read_text())
    assert report["status"] == "completed" and report["test"]["samples"] == 60
    assert load_checkpoint(kept / "checkpoints" / "best.npz").meta["epoch"] == 1
    assert leftovers(after) == []


@needs_mounts
def test_a_picture_that_does_not_fit_is_one_line(tmp_path, trained):
    _, run = trained
    disk = tmp_path / "disk"
    done, after = on_small_disk(disk, 4096, nnctl("plot", str(run), "--out", str(disk / "plot.png")), tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"{disk}/plot.png: cannot write the picture (No space left on device)\n"
    assert list(after.iterdir()) == []


# ------------------------------------------------------------------------------------ read-only, no permission

@needs_mounts
def test_eval_in_a_read_only_run_folder_shows_its_results_first(tmp_path, trained):
    _, run = trained
    report = json.loads((run / "report.json").read_text())
    done = in_namespace(f'mount --bind "{run}" "{run}" && mount -o remount,bind,ro "{run}"', nnctl("eval", str(run)))
    assert done.returncode == 1
    assert done.stderr == (f"{run}/checkpoints/best.npz".replace("checkpoints/best.npz", "eval_best_test.json")
                           + ": cannot write the evaluation report (Read-only file system)\n")
    test = report["test"]
    assert done.stdout.startswith(f"test: 60 samples, loss {test['loss']:.6f}\naccuracy {100 * test['acc']:.2f}% "
                                  f"({test['correct']}/60)\n")
    assert not (run / "eval_best_test.json").exists()


def test_eval_without_write_permission_shows_its_results_first(tmp_path, trained):
    _, original = trained
    run = tmp_path / "run"
    shutil.copytree(original, run)
    run.chmod(0o555)
    try:
        done = subprocess.run(without_write_permission(nnctl("eval", str(run), "--split", "val")), capture_output=True,
                              text=True, env=ENV, timeout=300)
    finally:
        run.chmod(0o755)
    assert done.returncode == 1
    assert done.stderr == f"{run}/eval_best_val.json: cannot write the evaluation report (Permission denied)\n"
    assert done.stdout.startswith("val: 24 samples, loss ")
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in original.iterdir())


def test_training_into_a_folder_without_write_permission_is_one_line(tmp_path):
    config = write_config(tmp_path, BIG.format(units=8, epochs=1, extra=""))
    out = tmp_path / "out"
    out.mkdir(mode=0o555)
    done = subprocess.run(without_write_permission(nnctl("train", str(config), "--out", str(out), "--quiet")),
                          capture_output=True, text=True, env=ENV, timeout=300)
    out.chmod(0o755)
    assert done.returncode == 2
    assert done.stderr == f"{out}/big: cannot create the run folder (Permission denied)\n"
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------------------------ divergence

def test_a_loss_beyond_the_bound_stops_the_run_and_the_report_measures_the_best_checkpoint(tmp_path):
    config = write_config(tmp_path, DIVERGING)
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(tmp_path / "runs")])
    run = the_run(tmp_path / "runs", "div")
    report = json.loads((run / "report.json").read_text())
    assert result.exit_code == 1
    assert report["status"] == "diverged" and report["epochs_run"] == 1
    cause = report["message"].removesuffix("; kept the best checkpoint (epoch 1)")
    assert cause.startswith("loss became ") and " at epoch 2, step " in cause
    loss = float(cause.split()[2])
    assert loss > 1000 * 1.0 and "more than train.divergence_ratio = 1000 times the first batch's loss" in cause
    assert result.stderr == (f"training diverged: {cause}; kept the best checkpoint (epoch 1) in {run}; the report "
                             f"measures the best checkpoint. Try a smaller optimizer.lr or gradient clipping "
                             f"(optimizer.clip_norm)\n")
    assert report["evaluated"] == "the best checkpoint (epoch 1)"
    evaluated = CliRunner().invoke(cli, ["eval", str(run)])
    assert evaluated.exit_code == 0
    assert json.loads((run / "eval_best_test.json").read_text())["acc"] == report["test"]["acc"]
    assert "- evaluated: the best checkpoint (epoch 1)" in (run / "report.md").read_text()


def test_a_huge_learning_rate_no_longer_completes(tmp_path):
    config = write_config(tmp_path, BIG.format(units=16, epochs=5, extra="").replace(
        "{type: adam, lr: 1.0e-3}", "{type: sgd, lr: 1.0e+6}"))
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(tmp_path / "runs")])
    run = the_run(tmp_path / "runs", "big")
    report = json.loads((run / "report.json").read_text())
    cause = report["message"].removesuffix("; no epoch finished, so there is no best checkpoint")
    assert result.exit_code == 1 and report["status"] == "diverged"
    assert result.stderr == (f"training diverged: {cause}; no epoch finished, so there is no best checkpoint in "
                             f"{run}. Try a smaller optimizer.lr or gradient clipping (optimizer.clip_norm)\n")
    assert cause.startswith("loss became ") and cause.endswith("taken as at least 1)")
    assert report["evaluated"] == "nothing: no epoch ended with a checkpoint"
    assert all(report.get(split) is None for split in ("train", "val", "test"))


# ------------------------------------------------------------------------------------ signals

def wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def wait_for_run(out: Path, name: str, process: subprocess.Popen, seconds: float = 120) -> Path:
    """The run folder out/name/<stamp> once it exists (it appears whole, renamed from a hidden one)."""
    deadline = time.monotonic() + seconds
    while True:
        found = [p for p in (out / name).glob("*") if not p.name.startswith(".")] if (out / name).is_dir() else []
        if found:
            return found[0]
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"no run folder appeared in {out / name}"
        time.sleep(0.01)


SLOW_EVALUATION = """\
name: slow
seed: 0
data: {dataset: spiral, samples: 60000, val_size: 0, test_size: 0.97, normalize: none}
model:
  layers:
    - {type: dense, units: 8}
    - {type: relu}
    - {type: dense, units: 3}
train: {epochs: 1, batch_size: 64, eval_batch_size: 1, progress: false}
"""


def test_ctrl_c_during_the_final_evaluation_writes_the_report_and_exits_130(tmp_path):
    config = write_config(tmp_path, SLOW_EVALUATION)
    out = tmp_path / "runs"
    process = subprocess.Popen(nnctl("train", str(config), "--out", str(out), "--quiet"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=ENV)
    run = wait_for_run(out, "slow", process)
    wait_for(run / "checkpoints" / "last.npz", process)
    time.sleep(0.5)                                        # the final evaluation of 58200 samples, one at a time
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130
    assert stderr == (f"interrupted during the final evaluation (training had completed after 1 epoch): the "
                      f"checkpoints and the report in {run} are whole; nnctl train --resume {run} finishes the "
                      f"evaluation\n")
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "interrupted"
    assert report["evaluated"].startswith("the best checkpoint (epoch 1), cut short by SIGINT before the ")
    assert (run / "curves.png").is_file() and (run / "report.md").is_file()


def test_a_stop_signal_as_the_run_ends_cuts_only_the_evaluation_and_resume_finishes_it(tmp_path):
    """SIGINT delivered at the last hook before the final evaluation (a real signal, sent by the process to
    itself): the report is written with status interrupted, exit 130; --resume then only evaluates."""
    from nnctl.config.load import load_config
    from nnctl.errors import Interrupted
    from nnctl.training.callbacks import Callback
    from nnctl.training.runner import train

    class CtrlCAtTheEnd(Callback):
        def on_fit_end(self, trainer, status):
            os.kill(os.getpid(), signal.SIGINT)

    config = write_config(tmp_path, BIG.format(units=8, epochs=2, extra=""))
    with pytest.raises(Interrupted) as caught:
        train(load_config(config), tmp_path / "runs", progress=False, callbacks=[CtrlCAtTheEnd()])
    run = the_run(tmp_path / "runs", "big")
    assert caught.value.exit_code == 130
    assert str(caught.value) == (f"interrupted during the final evaluation (training had completed after 2 epochs): "
                                 f"the checkpoints and the report in {run} are whole; nnctl train --resume {run} "
                                 f"finishes the evaluation")
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "interrupted" and "train" not in report and "test" not in report
    assert report["evaluated"] == (f"the best checkpoint (epoch {report['best_epoch']}), cut short by SIGINT before "
                                   f"the train split")
    resumed = CliRunner().invoke(cli, ["train", "--resume", str(run), "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    finished = json.loads((run / "report.json").read_text())
    assert finished["status"] == "completed" and finished["test"]["samples"] == 60 and finished["epochs_run"] == 2


def test_ctrl_c_twice_at_random_moments_never_tears_a_file_or_loses_the_report(tmp_path):
    """Checkpoints of ~3 MB written at every step, and two Ctrl-C at random moments: every ending is exit 130
    with one line, every checkpoint on disk loads, and the report is there."""
    config = write_config(tmp_path, BIG.format(units=512, epochs=50, extra=", checkpoint_every: 1"))
    rng = random.Random(20261202)
    for trial in range(3):
        out = tmp_path / f"runs{trial}"
        process = subprocess.Popen(nnctl("train", str(config), "--out", str(out), "--quiet"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        run = wait_for_run(out, "big", process)
        wait_for(run / "checkpoints" / "last.npz", process)
        time.sleep(rng.uniform(0, 0.3))
        process.send_signal(signal.SIGINT)
        time.sleep(rng.uniform(0, 0.05))
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 130, stderr
        assert stderr.count("\n") == 1 and stderr.startswith("interrupted: ") and "Traceback" not in stderr
        assert stderr.endswith(f"and the report in {run}; continue with nnctl train --resume {run}\n")
        assert json.loads((run / "report.json").read_text())["status"] == "interrupted"
        for checkpoint in (run / "checkpoints").glob("*.npz"):
            load_checkpoint(checkpoint)
        assert leftovers(run) == []


# ------------------------------------------------------------------------------------ downloads

class Dripping(BaseHTTPRequestHandler):
    """/drip: announces 100000 bytes and sends one every 20 ms; /silent: headers, then nothing; /flood:
    300 KB without a length; /huge: announces 300 KB; /big: 200 KB at once."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.endswith("/big/train-images-idx3-ubyte.gz") or self.path == "/big":
            body = b"\x1f\x8b" + bytes(200_000)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        if self.path.startswith("/flood"):
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(bytes(300 << 10))
            return
        self.send_header("Content-Length", str(300 << 10 if self.path.startswith("/huge") else 100000))
        self.end_headers()
        if self.path.startswith("/silent") or self.path.startswith("/huge"):
            self.server.stop.wait(30)
            return
        with contextlib.suppress(OSError):
            while not self.server.stop.is_set():
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.02)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    httpd.daemon_threads = True
    httpd.requests, httpd.stop = [], threading.Event()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path, reason", [
    ("drip", "not complete within the download's deadline"),
    ("silent", "timed out"),
])
def test_a_download_has_one_deadline(slow_server, tmp_path, path, reason):
    target = tmp_path / "new" / "folder"
    with pytest.raises(WorkError) as info:
        download("file.bin", [f"{slow_server.url}/{path}/"], target, {"0" * 64}, progress=False, advice="do X",
                 deadline=1.0)
    assert str(info.value) == f"could not download file.bin ({slow_server.url}/{path}/file.bin: {reason}); do X"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path, reason", [
    ("flood", "more than the 10000 bytes expected; stopped reading"),
    ("huge", "the server announces 307200 bytes, more than the 10000 expected"),
])
def test_a_download_stops_at_its_size_cap(slow_server, tmp_path, path, reason):
    with pytest.raises(WorkError) as info:
        download("file.bin", [f"{slow_server.url}/{path}/"], tmp_path / "t", {"0" * 64}, progress=False,
                 advice="do X", max_bytes=10000, deadline=20.0)
    assert str(info.value) == f"could not download file.bin ({slow_server.url}/{path}/file.bin: {reason}); do X"
    assert list(tmp_path.iterdir()) == []


MNIST = """\
name: m
data: {dataset: mnist, download: true}
model: [{type: dense, units: 10}]
train: {epochs: 1, progress: false}
"""


@pytest.mark.parametrize("signum, code, line", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated")])
def test_a_signal_during_a_download_leaves_nothing_behind(slow_server, tmp_path, signum, code, line):
    config = write_config(tmp_path, MNIST)
    data = tmp_path / "data"
    env = {**ENV, "NNCTL_DATA": str(data), "HOME": str(tmp_path / "home"), "NNCTL_MIRRORS": slow_server.url + "/drip/"}
    process = subprocess.Popen(nnctl("train", str(config), "--out", str(tmp_path / "runs"), "--quiet"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not slow_server.requests:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    time.sleep(0.2)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr == line + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


@needs_mounts
def test_a_full_disk_during_a_download_is_one_line_and_leaves_nothing(slow_server, tmp_path):
    config = write_config(tmp_path, MNIST)
    data = tmp_path / "data"
    data.mkdir()
    env = {**ENV, "NNCTL_DATA": str(data), "HOME": str(tmp_path / "home"), "NNCTL_MIRRORS": slow_server.url + "/big/"}
    done = in_namespace(f'mount -t tmpfs -o size=64k tmpfs "{data}"',
                        nnctl("train", str(config), "--out", str(tmp_path / "runs"), "--quiet"), data,
                        tmp_path / "after", env=env)
    assert done.returncode == 1
    assert done.stderr == f"{data}/mnist/train-images-idx3-ubyte.gz: cannot write the download (No space left on device)\n"
    assert list((tmp_path / "after").iterdir()) == []
