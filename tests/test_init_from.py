"""`init:` a new run from another run's weights: from a run folder, a folder of runs and a file; the
{new: old} mapping; the default (every matching node); freeze; each mismatch message, exact, with exit 2
and no run folder; --resume takes the run's own checkpoint; the report says where the weights came from."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.config.load import load_config
from nnctl.errors import Interrupted
from nnctl.training.callbacks import Callback
from nnctl.runs.checkpoints import load_checkpoint
from nnctl.training.resume import resume
from nnctl.training.runner import build_trainer, train

PRETRAIN = """\
name: pre
seed: 1
data: {dataset: blobs, samples: 400, classes: 4, features: 6, normalize: standard}
model:
  - {type: dense, units: 16}
  - {type: batchnorm}
  - {type: relu}
  - {type: dense, units: 12}
  - {type: relu}
  - {name: head, type: dense, units: 4}
optimizer: {type: adam, lr: 1.0e-2}
train: {epochs: 2, batch_size: 32, progress: false}
"""

# The same body with a 3-class head; the data keeps 3 of the 4 blobs; `init` is filled in by each test.
FINETUNE = (PRETRAIN.replace("name: pre\nseed: 1", "name: ft\nseed: 2")
            .replace("samples: 400, classes: 4", "samples: 300, classes: 3")
            .replace("units: 4}", "units: 3}") + "init:\n%s\n")


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A finished pretraining run: (folder of runs, the run folder)."""
    root = tmp_path_factory.mktemp("pre")
    config = root / "pre.yaml"
    config.write_text(PRETRAIN)
    result = train(load_config(config), root / "runs", progress=False)
    return root / "runs" / "pre", result.run_dir


def finetune_config(tmp_path, init: str):
    path = tmp_path / "ft.yaml"
    path.write_text(FINETUNE % init)
    return path


def source_arrays(run_dir, name="best"):
    ckpt = load_checkpoint(run_dir / "checkpoints" / f"{name}.npz")
    return {**ckpt.params, **ckpt.buffers}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# ------------------------------------------------------------------------------------------ copying

def test_init_from_a_run_folder_copies_the_named_nodes_exactly(tmp_path, pretrained):
    _, run = pretrained
    config = load_config(finetune_config(tmp_path, f"  from: {run}\n  layers: [dense1, batchnorm1, dense2]"))
    trainer = build_trainer(config, progress=False)
    mine, theirs = {**trainer.network.params(), **trainer.network.buffers()}, source_arrays(run)
    for key in ("dense1.W", "dense1.b", "batchnorm1.gamma", "batchnorm1.beta", "batchnorm1.running_mean",
                "batchnorm1.running_var", "dense2.W", "dense2.b"):
        np.testing.assert_array_equal(mine[key], theirs[key])
    assert mine["head.W"].shape == (12, 3)             # the new head: drawn by its initializer
    assert trainer.weights_from["copied"] == {"dense1": "dense1", "batchnorm1": "batchnorm1", "dense2": "dense2"}
    assert trainer.weights_from["not_copied"] == ["head"]
    assert trainer.weights_from["from"] == str(run / "checkpoints" / "best.npz")
    assert trainer.weights_from["epoch"] == load_checkpoint(run / "checkpoints" / "best.npz").meta.epoch


def test_init_from_a_checkpoint_file_and_from_a_folder_of_runs(tmp_path, pretrained):
    runs, run = pretrained
    for given, used in ((run / "checkpoints" / "last.npz", "last"), (runs, "best")):
        config = load_config(finetune_config(tmp_path, f"  from: {given}\n  layers: [dense2]"))
        trainer = build_trainer(config, progress=False)
        np.testing.assert_array_equal(trainer.network.params()["dense2.W"], source_arrays(run, used)["dense2.W"])
        assert trainer.weights_from["from"] == str(run / "checkpoints" / f"{used}.npz")


def test_a_relative_init_from_is_taken_from_the_config_folder_and_written_absolute(tmp_path, pretrained,
                                                                                   monkeypatch):
    runs, run = pretrained
    folder = tmp_path / "configs"
    folder.mkdir()
    shutil.copytree(runs, folder / "pre_runs")
    monkeypatch.chdir(tmp_path)                            # not the config's folder
    config = load_config(finetune_config(folder, "  from: pre_runs\n  layers: [dense1, batchnorm1]"))
    result = train(config, tmp_path / "out", progress=False)
    written = load_config(result.run_dir / "config.yaml")
    assert written.init["from"] == str((folder / "pre_runs").resolve())
    assert result.report["init"]["from"] == str((folder / "pre_runs" / run.name / "checkpoints" / "best.npz"))


def test_a_mapping_copies_into_nodes_of_other_names(tmp_path, pretrained):
    _, run = pretrained
    body = FINETUNE.replace("{type: dense, units: 12}", "{name: hidden, type: dense, units: 12}")
    path = tmp_path / "ft.yaml"
    path.write_text(body % f"  from: {run}\n  layers: {{hidden: dense2, dense1: dense1}}")
    trainer = build_trainer(load_config(path), progress=False)
    theirs = source_arrays(run)
    np.testing.assert_array_equal(trainer.network.params()["hidden.W"], theirs["dense2.W"])
    np.testing.assert_array_equal(trainer.network.params()["dense1.b"], theirs["dense1.b"])
    assert trainer.weights_from["copied"] == {"hidden": "dense2", "dense1": "dense1"}
    assert trainer.weights_from["not_copied"] == ["batchnorm1", "head"]


def test_without_layers_every_node_whose_name_and_shapes_match_is_copied(tmp_path, pretrained):
    _, run = pretrained
    trainer = build_trainer(load_config(finetune_config(tmp_path, f"  from: {run}")), progress=False)
    assert trainer.weights_from["copied"] == {"dense1": "dense1", "batchnorm1": "batchnorm1", "dense2": "dense2"}
    assert trainer.weights_from["not_copied"] == ["head"]          # (12, 3) here, (12, 4) there


def test_the_same_head_is_drawn_with_or_without_init(tmp_path, pretrained):
    """Copying happens after the network is built: the generator draws the same initial head either way."""
    _, run = pretrained
    scratch = build_trainer(load_config(_without_init(tmp_path)), progress=False)
    tuned = build_trainer(load_config(finetune_config(tmp_path, f"  from: {run}")), progress=False)
    np.testing.assert_array_equal(scratch.network.params()["head.W"], tuned.network.params()["head.W"])


def _without_init(tmp_path):
    path = tmp_path / "scratch.yaml"
    path.write_text((FINETUNE % "").replace("init:\n", ""))
    return path


# ------------------------------------------------------------------------------------------ freezing

def test_frozen_tensors_are_unchanged_after_training_and_the_others_train(tmp_path, pretrained):
    _, run = pretrained
    config = load_config(finetune_config(
        tmp_path, f"  from: {run}\n  layers: [dense1, batchnorm1, dense2]\n  freeze: [dense1, batchnorm1]"))
    assert [n.get("trainable", True) for n in config.model["layers"]] == [False, False, True, True, True, True]
    result = train(config, tmp_path / "runs", progress=False)
    theirs = source_arrays(run)
    after = source_arrays(result.run_dir)
    for key in ("dense1.W", "dense1.b", "batchnorm1.gamma", "batchnorm1.beta", "batchnorm1.running_mean",
                "batchnorm1.running_var"):
        np.testing.assert_array_equal(after[key], theirs[key], err_msg=key)
    for key in ("dense2.W", "dense2.b"):
        assert not np.array_equal(after[key], theirs[key]), key
    optimizer_state = load_checkpoint(result.run_dir / "checkpoints" / "last.npz").optim
    assert not any("dense1." in k or "batchnorm1." in k for k in optimizer_state)
    assert any("dense2.W" in k for k in optimizer_state)
    assert result.report["init"]["frozen"] == ["dense1", "batchnorm1"]


def test_the_report_says_where_the_weights_came_from(tmp_path, pretrained):
    _, run = pretrained
    config = load_config(finetune_config(tmp_path, f"  from: {run}\n  layers: [dense1]\n  freeze: [dense1]"))
    result = train(config, tmp_path / "runs", progress=False)
    report = json.loads((result.run_dir / "report.json").read_text())
    best = run / "checkpoints" / "best.npz"
    assert report["init"] == {"from": str(best), "sha256": hashlib.sha256(best.read_bytes()).hexdigest(),
                              "epoch": load_checkpoint(best).meta.epoch, "copied": {"dense1": "dense1"},
                              "frozen": ["dense1"], "not_copied": ["batchnorm1", "dense2", "head"]}
    markdown = (result.run_dir / "report.md").read_text()
    assert (f"- starting weights: copied from `{best}` (epoch {report['init']['epoch']}), sha256 "
            f"{report['init']['sha256'][:16]}…: dense1; frozen: dense1; initialized afresh: batchnorm1, dense2, "
            f"head\n") in markdown
    plain = train(load_config(_without_init(tmp_path)), tmp_path / "runs", progress=False)
    assert plain.report["init"] is None
    assert "- starting weights: drawn by each layer's initializer (no init.from)\n" in \
        (plain.run_dir / "report.md").read_text()


def test_resume_takes_the_runs_own_checkpoint_not_init_from(tmp_path, pretrained):
    runs, run = pretrained
    copy = tmp_path / "source"
    shutil.copytree(run, copy)
    config = load_config(finetune_config(tmp_path, f"  from: {copy}\n  layers: [dense1, batchnorm1, dense2]"))
    result = train(config, tmp_path / "runs", progress=False)
    record = result.report["init"]
    shutil.rmtree(copy)                                     # the source is gone: resume must not need it
    resumed = resume(result.run_dir, ["train.epochs=3"], progress=False)
    assert resumed.report["epochs_run"] == 3
    assert resumed.report["init"] == record


# ------------------------------------------------------------------------------------------ mistakes

def failing(tmp_path, init: str, body: str = FINETUNE):
    path = tmp_path / "ft.yaml"
    path.write_text(body % init)
    out = tmp_path / "runs"
    result = invoke("train", path, "--out", out, "--quiet")
    assert result.exit_code == 2, result.output
    assert not out.exists() or not any(out.rglob("*")), "nothing may be written"
    assert result.stderr.count("\n") == 1
    return result.stderr.rstrip("\n"), path


def test_mismatch_messages_name_the_node_the_tensor_and_both_shapes(tmp_path, pretrained, monkeypatch):
    _, run = pretrained
    monkeypatch.chdir(run.parent.parent.parent)
    best = (run / "checkpoints" / "best.npz").relative_to(run.parent.parent.parent)
    cases = [
        ("  from: {run}\n  layers: [head]",
         "init.layers: head.W: shape (12, 3) in this model but (12, 4) in {best}"),
        ("  from: {run}\n  layers: {{dense2: dense1}}",
         "init.layers: dense2.W (from dense1.W): shape (16, 12) in this model but (6, 16) in {best}"),
        ("  from: {run}\n  layers: {{dense2: dense9}}",
         "init.layers: dense2 (from dense9): no such node in {best} (its nodes with tensors: dense1, batchnorm1, "
         "dense2, head)"),
        ("  from: {run}\n  layers: [densex]", "init.layers: this model has no node 'densex' (did you mean 'dense2'?)"),
        ("  from: {run}\n  layers: [tail]",
         "init.layers: this model has no node 'tail'; its nodes are dense1, batchnorm1, relu1, dense2, relu2, head"),
        ("  from: {run}\n  layers: [relu1]",
         "init.layers: relu1: this node has no parameters or buffers, nothing to copy"),
        ("  from: {run}\n  layers: [dense2]\n  freeze: [dense1]",
         "init.freeze: dense1 is not copied from {best}, so freezing it would keep its random initial weights"),
        ("  from: {run}\n  freeze: [dense9]", "init.freeze: this model has no node 'dense9' (did you mean 'dense2'?)"),
        ("  from: nowhere/run", "init.from: {missing}: no such run folder or checkpoint file"),
        ("  from: {empty}", "init.from: {empty}: no checkpoints/best.npz in this folder or in a run folder inside it"),
        ("  layers: [dense1]", "init.from: required key is missing"),
        ("  from: {run}\n  layers: [1, 2]", "init.layers: expected a list of node names, or a mapping "
                                             "{{new_name: old_name}} or null, got [1, 2]"),
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    for init, expected in cases:
        message, path = failing(tmp_path, init.format(run=run, empty=empty))
        assert message == f"{path}: " + expected.format(best=best, empty=empty, missing=tmp_path / "nowhere/run"), init


def test_missing_tensors_on_either_side(tmp_path, pretrained, monkeypatch):
    _, run = pretrained
    monkeypatch.chdir(run.parent.parent.parent)
    best = (run / "checkpoints" / "best.npz").relative_to(run.parent.parent.parent)
    no_bias = FINETUNE.replace("  - {type: dense, units: 12}", "  - {type: dense, units: 12, bias: false}")
    message, path = failing(tmp_path, f"  from: {run}\n  layers: [dense2]", no_bias)
    assert message == f"{path}: init.layers: dense2.b: missing in this model but shape (12,) in {best}"
    recompute = FINETUNE.replace("{type: batchnorm}", "{type: batchnorm, test_stats: recompute}")
    message, path = failing(tmp_path, f"  from: {run}\n  layers: [batchnorm1]", recompute)
    assert message == f"{path}: init.layers: batchnorm1.recomputed_mean: shape (16,) in this model but missing in {best}"


def test_nothing_in_common_is_an_error(tmp_path, pretrained, monkeypatch):
    _, run = pretrained
    monkeypatch.chdir(run.parent.parent.parent)
    best = (run / "checkpoints" / "best.npz").relative_to(run.parent.parent.parent)
    other = FINETUNE.replace("features: 6", "features: 5").replace("{type: dense, units: 16}",
                                                                   "{name: first, type: dense, units: 16}")
    other = other.replace("{type: dense, units: 12}", "{type: dense, units: 11}")
    other = other.replace("{type: batchnorm}", "{type: layernorm}")
    message, path = failing(tmp_path, f"  from: {run}", other)
    assert message == (f"{path}: init.from: no node of this model matches a node of {best} by name and tensor "
                       f"shapes; name the nodes to copy in init.layers")


def test_a_damaged_source_is_refused_before_anything_is_written(tmp_path, pretrained):
    _, run = pretrained
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    message, _ = failing(tmp_path, f"  from: {bad}")
    assert message == f"{bad}: not a readable .npz checkpoint (not a zip archive); nothing was loaded"


class StopAt(Callback):
    """After global step `at`: SIGINT to this process (a checkpoint of the exact step is saved), or a bare
    KeyboardInterrupt (nothing is saved: the run has no checkpoint of its own yet)."""

    def __init__(self, at: int, bare: bool):
        self.at, self.bare = at, bare

    def on_step_end(self, trainer, step):
        if step.global_step == self.at:
            if self.bare:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("at, bare", [(12, False), (1, True)], ids=["own-checkpoint", "no-checkpoint-yet"])
def test_an_interrupted_fine_tuning_run_resumes_to_the_same_weights(tmp_path, pretrained, at, bare):
    """With a checkpoint of its own the run continues from it; stopped before its first one, it starts
    again from init.from. Either way it ends exactly as the uninterrupted run."""
    _, run = pretrained
    config = load_config(finetune_config(
        tmp_path, f"  from: {run}\n  layers: [dense1, batchnorm1, dense2]\n  freeze: [dense1, batchnorm1]"))
    reference = train(config, tmp_path / "reference", progress=False)
    with pytest.raises((Interrupted, KeyboardInterrupt)):
        train(config, tmp_path / "stopped", progress=False, callbacks=[StopAt(at, bare)])
    stopped = next((tmp_path / "stopped" / "ft").iterdir())
    assert (stopped / "checkpoints" / "last.npz").is_file() != bare
    resumed = resume(stopped, progress=False)
    for name in ("best", "last"):
        mine, theirs = source_arrays(stopped, name), source_arrays(reference.run_dir, name)
        assert mine.keys() == theirs.keys()
        for key in mine:
            np.testing.assert_array_equal(mine[key], theirs[key], err_msg=f"{name} {key}")
    assert resumed.report["init"] == reference.report["init"]
