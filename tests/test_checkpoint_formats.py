"""Checkpoint metadata formats (nnctl.runs.meta): a run written by an nnctl from before format 2 (commit
7ce398f, kept in tests/data/v1_run) still loads, evaluates, predicts, and resumes to completion; format 2
records both thread counts and reads back as the record it was written from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.errors import InputError
from nnctl.runs.checkpoints import load_checkpoint, save_checkpoint
from nnctl.runs.loader import load_model
from nnctl.runs.meta import FORMAT, CheckpointMeta, meta_from_json
from nnctl.threads import blas_threads
from nnctl.workers import thread_count

V1_RUN = Path(__file__).parent / "data" / "v1_run"


def raw_meta(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(bytes(archive["meta"]).decode())


def test_the_kept_run_is_format_1():
    raw = raw_meta(V1_RUN / "checkpoints" / "last.npz")
    assert raw["format"] == "nnctl-checkpoint/1" and "threads" not in raw and isinstance(raw["blas_threads"], int)


def test_a_format_1_checkpoint_reads_as_the_record():
    raw = raw_meta(V1_RUN / "checkpoints" / "last.npz")
    meta = load_checkpoint(V1_RUN / "checkpoints" / "last.npz").meta
    assert meta.version == 1
    assert (meta.epoch, meta.step, meta.blas_threads, meta.worker_threads) == (2, 0, raw["blas_threads"], None)
    assert meta.history == raw["history"] and meta.config == raw["config"] and meta.rng_state == raw["rng_state"]


def test_a_format_1_network_loads_and_evaluates(tmp_path):
    model = load_model(V1_RUN)
    report = json.loads((V1_RUN / "report.json").read_text())
    assert model.input_shape == (2,) and model.class_names == ["0", "1", "2"]
    assert model.epoch == report["best_epoch"] and model.version == "0.1.0"
    run = tmp_path / "v1_run"
    shutil.copytree(V1_RUN, run)
    shown = CliRunner().invoke(cli, ["eval", str(run)])
    assert shown.exit_code == 0, shown.output
    result = json.loads((run / "eval_best_test.json").read_text())
    assert result["samples"] == report["test"]["samples"]
    assert result["loss"] == pytest.approx(report["test"]["loss"], rel=1e-4)


def test_a_format_1_run_resumes_to_the_end_and_writes_format_2(tmp_path):
    run = tmp_path / "v1_run"
    shutil.copytree(V1_RUN, run)
    resumed = CliRunner().invoke(cli, ["train", "--resume", str(run), "--set", "train.epochs=4", "-q"])
    assert resumed.exit_code == 0, resumed.output
    assert [row.split(",")[0] for row in (run / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3", "4"]
    raw = raw_meta(run / "checkpoints" / "last.npz")
    assert raw["format"] == FORMAT and raw["epoch"] == 4 and "blas_threads" not in raw
    assert raw["threads"] == {"blas": blas_threads(), "workers": thread_count()}


def test_format_2_round_trips(tmp_path):
    meta = CheckpointMeta(epoch=1, step=3, history=[{"epoch": 1}], blas_threads=2, worker_threads=2)
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"d.W": np.ones((2, 2), np.float32)}, {}, {}, meta)
    assert load_checkpoint(path).meta == meta
    raw = raw_meta(path)
    assert raw["format"] == "nnctl-checkpoint/2" and raw["threads"] == {"blas": 2, "workers": 2}
    assert meta_from_json(raw, 2) == meta


def test_an_unknown_format_is_refused_naming_the_one_expected(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"d.W": np.ones((2, 2), np.float32)}, {}, {}, CheckpointMeta())
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["meta"] = np.frombuffer(json.dumps({"format": "nnctl-checkpoint/3"}).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(InputError, match=r"not an nnctl checkpoint \(format 'nnctl-checkpoint/3', expected "
                                         r"'nnctl-checkpoint/2'\)"):
        load_checkpoint(path)
