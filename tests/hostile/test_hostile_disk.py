"""Write faults made for real: a full disk (a small tmpfs in a private mount namespace: ENOSPC) at several
moments of a run, a read-only run folder (a read-only bind mount: EROFS) and folders without write
permission (EACCES). Each asserts the exit code, the exact one-line message naming the file, that the
first failure is the one named, and which whole checkpoints are left."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from fault_kit import (BIG, ENV, in_namespace, leftovers, needs_mounts, nnctl, on_small_disk, pages, the_run,
                       without_write_permission, write_config)
from nnctl.runs.checkpoints import load_checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished run of BIG (units 256, 1 epoch): its folder and the sizes of its files."""
    root = tmp_path_factory.mktemp("trained")
    config = write_config(root, BIG.format(units=256, epochs=1, extra=""))
    done = subprocess.run(nnctl("train", str(config), "--out", str(root / "runs"), "--quiet"), capture_output=True,
                          text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    return root, the_run(root / "runs", "big")


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
        assert load_checkpoint(kept / "checkpoints" / name).meta.epoch == 1
    report = json.loads((kept / "report.json").read_text())
    assert report["status"] == "failed" and report["epochs_run"] == 2
    assert leftovers(after) == []


@needs_mounts
@pytest.mark.parametrize("size, report", [
    (256 << 10, "and the report in {run}"),
    (16 << 10, "but the report could not be written ({run}/curves.png: cannot write the picture (No space left on "
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
    sizes = sum(pages(reference / name) for name in ("config.yaml", "metrics.csv", "steps.csv",
                                                      "checkpoints/best.npz", "checkpoints/last.npz", "report.json",
                                                      "report.md"))
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
    assert load_checkpoint(kept / "checkpoints" / "best.npz").meta.epoch == 1
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


