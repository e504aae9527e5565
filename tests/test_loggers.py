"""The `loggers:` section and the TensorBoard logger: one-line config errors, the reference, the missing
package line, and event files read back with TensorBoard's own EventAccumulator (scalars, the config as
text and hparams, pictures), also across an interruption and a re-run after it (no step written twice)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

from logger_support import StopAt, accumulator, scalars, spiral_config
from nnctl.config.load import load_config
from nnctl.errors import ConfigError, Interrupted
from nnctl.training.resume import resume
from nnctl.training.runner import train

pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'nnctl[tensorboard]')")


def metrics_rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def steps_rows(run_dir):
    with open(run_dir / "steps.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("loggers, message", [
    ("{type: tensorboard}", "loggers: expected a list of loggers such as [{type: tensorboard}], got "
                            "{type: 'tensorboard'}"),
    ("[{type: tensorbord}]", "loggers[0].type: unknown logger 'tensorbord' (did you mean 'tensorboard'?)"),
    ("[{dir: x}]", "loggers[0].type: required key is missing; loggers are tensorboard, mlflow"),
    ("[{type: mlflow, uri: x}]", "loggers[0].uri: unknown key; accepted keys are tracking_uri, experiment"),
    ("[{type: mlflow}, {type: mlflow}]", "loggers[1]: a second mlflow logger (the first is loggers[0]); each type "
                                         "may be listed once"),
    ("[{type: tensorboard, dir: 3}]", "loggers[0].dir: expected a non-empty string or null, got 3"),
])
def test_a_wrong_loggers_section_is_one_line_naming_the_key(tmp_path, loggers, message):
    config = spiral_config(tmp_path, loggers)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value) == f"{config}: {message}"
    done = subprocess.run([sys.executable, "-m", "nnctl", "train", str(config)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert (done.returncode, done.stderr) == (2, f"{config}: {message}\n")
    assert not (tmp_path / "runs").exists()


def test_the_default_is_no_logger_and_the_reference_lists_both(tmp_path):
    config = load_config(spiral_config(tmp_path, "null"))
    assert config.loggers == [] and config.sections()["loggers"] == []
    done = subprocess.run([sys.executable, "-m", "nnctl", "docs", "loggers"], capture_output=True, text=True)
    assert done.returncode == 0
    for line in ("### `loggers`", "#### `logger: tensorboard`", "#### `logger: mlflow`", "| `dir` | null |",
                 "| `tracking_uri` | null |", "| `experiment` | null |"):
        assert line in done.stdout


@pytest.mark.parametrize("kind", ["tensorboard", "mlflow"])
def test_a_missing_package_is_one_line_saying_what_to_install(tmp_path, kind):
    config = spiral_config(tmp_path, f"[{{type: {kind}}}]")
    code = (f"import sys; sys.modules[{kind!r}] = None; from nnctl.cli import main; "
            f"sys.argv = ['nnctl', 'train', {str(config)!r}]; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (f"{config}: loggers[0]: the {kind} logger needs the {kind} package, which is not "
                           f"installed: pip install 'nnctl[{kind}]'\n")
    assert not (tmp_path / "runs").exists()
    if kind == "mlflow":           # the line docs/loggers.md quotes
        docs = (Path(__file__).parents[1] / "docs" / "loggers.md").read_text()
        assert "\n" + done.stderr.replace(str(config), "spiral.yaml") in docs


def test_the_extras_the_message_names_exist_and_are_in_dev():
    """What the missing-package line says to install: `nnctl[tensorboard]` and `nnctl[mlflow]` are extras that
    bring the package (and dev has both)."""
    from importlib.metadata import metadata      # the installed package's requirements (tomllib needs 3.11)

    requires = metadata("nnctl").get_all("Requires-Dist")
    for kind in ("tensorboard", "mlflow"):
        assert [spec for spec in requires if spec.startswith(kind) and f'extra == "{kind}"' in spec]
        assert [spec for spec in requires if spec.startswith(kind) and 'extra == "dev"' in spec]


def test_tensorboard_reads_back_every_metric_step_config_and_picture(tmp_path):
    run_dir = train(load_config(spiral_config(tmp_path, "[{type: tensorboard}]")), tmp_path / "runs",
                    progress=False).run_dir
    folder = run_dir / "tensorboard"
    found = scalars(folder)
    rows = metrics_rows(run_dir)
    for column in ("lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"):
        assert found[column] == [(int(r["epoch"]), float(np.float32(r[column]))) for r in rows], column
    steps = steps_rows(run_dir)
    assert len(steps) == 4 * 7 // 2                       # 210 training samples / 32 = 7 steps, every 2nd
    assert found["step/loss"] == [(int(r["step"]), float(np.float32(r["loss"]))) for r in steps]
    assert found["step/lr"] == [(int(r["step"]), float(np.float32(r["lr"]))) for r in steps]
    import json
    report = json.loads((run_dir / "report.json").read_text())
    assert found["final/test_acc"] == [(4, float(np.float32(report["test"]["acc"])))]
    assert found["final/best_epoch"] == [(4, float(report["best_epoch"]))]

    acc = accumulator(folder)
    text = acc.Tensors("config/text_summary") if "config/text_summary" in acc.Tags()["tensors"] else \
        acc.Tensors("config")
    assert text[0].tensor_proto.string_val[0].decode() == "```yaml\n" + (run_dir / "config.yaml").read_text() + "```\n"
    assert sorted(acc.Tags()["images"]) == ["pictures/confusion", "pictures/curves", "pictures/health"]
    curves = acc.Images("pictures/curves")[0]
    assert curves.encoded_image_string == (run_dir / "curves.png").read_bytes()

    from tensorboard.plugins.hparams import metadata
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    assert start.hparams["optimizer.lr"].number_value == 0.01
    assert start.hparams["model.layers.0.units"].number_value == 32
    assert start.hparams["optimizer.type"].string_value == "adam"
    assert start.hparams["train.shuffle"].bool_value is True
    end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
    assert end.status == 1                                  # STATUS_SUCCESS


def test_a_dir_takes_name_and_stamp_and_is_relative_to_the_config(tmp_path):
    (tmp_path / "conf").mkdir()
    config = spiral_config(tmp_path / "conf", "[{type: tensorboard, dir: ../tb}]")
    run_dir = train(load_config(config), tmp_path / "runs", progress=False).run_dir
    folder = tmp_path / "tb" / "spiral" / run_dir.name
    assert [s for s, _ in scalars(folder)["val_loss"]] == [1, 2, 3, 4]
    assert not (run_dir / "tensorboard").exists()
    assert f"dir: {tmp_path / 'tb'}" in (run_dir / "config.yaml").read_text()


def test_interrupted_resumed_and_rerun_the_folder_holds_each_step_once(tmp_path):
    """A stop mid-epoch 3 (the exact position saved), a resume to the end, then the stopped checkpoint put back
    and resumed again, so epochs 3 and 4 are trained twice (what a kill after a checkpoint does): every tag
    still holds each step once, with the values of an uninterrupted run."""
    config = load_config(spiral_config(tmp_path, "[{type: tensorboard}]"))
    whole = train(config, tmp_path / "whole", progress=False).run_dir
    with pytest.raises(Interrupted):
        train(config, tmp_path / "runs", progress=False, callbacks=[StopAt(20)])
    run_dir = next((tmp_path / "runs" / "spiral").iterdir())
    stopped = tmp_path / "stopped.npz"
    shutil.copy(run_dir / "checkpoints" / "last.npz", stopped)
    before = scalars(run_dir / "tensorboard")
    assert [s for s, _ in before["val_loss"]] == [1, 2]
    assert [s for s, _ in before["step/loss"]] == list(range(2, 20, 2))
    resume(run_dir, progress=False)
    shutil.copy(stopped, run_dir / "checkpoints" / "last.npz")
    resume(run_dir, progress=False)
    assert len(list((run_dir / "tensorboard").glob("events.out.tfevents.*"))) == 3
    found, expected = scalars(run_dir / "tensorboard"), scalars(whole / "tensorboard")
    assert set(found) == set(expected)
    for tag, points in found.items():
        steps = [s for s, _ in points]
        assert steps == sorted(set(steps)), tag             # each step once, in order
        if tag not in ("seconds",) and not tag.startswith("final/"):
            assert points == expected[tag], tag
    assert [s for s, _ in found["step/loss"]] == list(range(2, 29, 2))
