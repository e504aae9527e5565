"""Checkpoints: exact round trip, atomic writes, and one-line rejection of anything that is not ours."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from nnctl.errors import InputError
from nnctl.runs.checkpoints import FORMAT, load_checkpoint, save_checkpoint
from nnctl.runs.meta import CheckpointMeta


def sample():
    rng = np.random.default_rng(3)
    params = {"dense1.W": rng.standard_normal((4, 3)).astype(np.float32), "dense1.b": np.zeros(3, np.float32)}
    buffers = {"bn1.running_mean": np.arange(3, dtype=np.float32)}
    optim = {"m/dense1.W": rng.standard_normal((4, 3)).astype(np.float32), "t": np.array(7)}
    meta = CheckpointMeta(epoch=3, config={"name": "x", "seed": 1}, rng_state=rng.bit_generator.state)
    return params, buffers, optim, meta


def test_round_trip_is_exact(tmp_path):
    params, buffers, optim, meta = sample()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, params, buffers, optim, meta)
    ckpt = load_checkpoint(path)
    for mine, theirs in ((params, ckpt.params), (buffers, ckpt.buffers), (optim, ckpt.optim)):
        assert set(mine) == set(theirs)
        for k in mine:
            assert theirs[k].dtype == mine[k].dtype
            np.testing.assert_array_equal(theirs[k], mine[k])
    assert ckpt.meta == meta


def test_rng_state_survives_json(tmp_path):
    params, buffers, optim, _ = sample()
    rng = np.random.default_rng(11)
    rng.standard_normal(5)
    path = tmp_path / "ck.npz"
    save_checkpoint(path, params, buffers, optim, CheckpointMeta(rng_state=rng.bit_generator.state))
    restored = np.random.default_rng()
    restored.bit_generator.state = load_checkpoint(path).meta.rng_state
    np.testing.assert_array_equal(restored.standard_normal(4), rng.standard_normal(4))


def test_save_leaves_no_temporary_files_and_overwrites(tmp_path):
    params, buffers, optim, meta = sample()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, params, buffers, optim, meta)
    params["dense1.b"] += 1
    save_checkpoint(path, params, buffers, optim, meta)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]
    np.testing.assert_array_equal(load_checkpoint(path).params["dense1.b"], np.ones(3, np.float32))


def test_failed_save_keeps_the_old_file(tmp_path):
    params, buffers, optim, meta = sample()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, params, buffers, optim, meta)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save_checkpoint(path, params, buffers, optim, CheckpointMeta(history=[object()]))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]


def rejects(path, message):
    with pytest.raises(InputError) as info:
        load_checkpoint(path)
    assert str(info.value) == message
    assert info.value.exit_code == 2


def test_missing_file(tmp_path):
    rejects(tmp_path / "none.npz", f"{tmp_path / 'none.npz'}: no such checkpoint file")


def test_not_a_zip(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"this is not an archive")
    with pytest.raises(InputError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(f"{path}: not a readable .npz checkpoint (")
    assert str(info.value).endswith("); nothing was loaded")


def test_truncated_archive(tmp_path):
    params, buffers, optim, meta = sample()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, params, buffers, optim, meta)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(f"{path}: ")
    assert str(info.value).endswith("nothing was loaded")


def test_npz_without_meta(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, W=np.zeros(3))
    rejects(path, f"{path}: not an nnctl checkpoint (missing 'meta'); nothing was loaded")


def test_wrong_format_tag(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, meta=np.frombuffer(json.dumps({"format": "other/9"}).encode(), dtype=np.uint8))
    rejects(path, f"{path}: not an nnctl checkpoint (format 'other/9', expected '{FORMAT}'); nothing was loaded")


def test_garbled_meta(tmp_path):
    path = tmp_path / "garbled.npz"
    np.savez(path, meta=np.frombuffer(b"\xff\xfe{", dtype=np.uint8))
    rejects(path, f"{path}: damaged checkpoint (unreadable 'meta'); nothing was loaded")


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, meta=np.frombuffer(json.dumps({"format": FORMAT}).encode(), dtype=np.uint8),
             **{"param/x": np.array([{"evil": 1}], dtype=object)})
    rejects(path, f"{path}: entry 'param/x' holds Python objects (pickle), which nnctl never loads; nothing was loaded")


def test_unexpected_entry(tmp_path):
    path = tmp_path / "extra.npz"
    np.savez(path, meta=np.frombuffer(json.dumps({"format": FORMAT}).encode(), dtype=np.uint8),
             stray=np.zeros(2))
    rejects(path, f"{path}: unexpected entry 'stray'; nothing was loaded")


def test_checkpoint_is_a_plain_zip_of_npy_files(tmp_path):
    params, buffers, optim, meta = sample()
    path = tmp_path / "ck.npz"
    save_checkpoint(path, params, buffers, optim, meta)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(
            ["param/dense1.W.npy", "param/dense1.b.npy", "buffer/bn1.running_mean.npy", "optim/m/dense1.W.npy",
             "optim/t.npy", "meta.npy"])


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    from nnctl.atomic import write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "report.md", "hello")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o644
