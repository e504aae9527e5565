"""A write interrupted by Ctrl-C (or SIGTERM's Terminated) at any moment: the interruption itself leaves the
writer, never a zipfile error that hides it; nothing is left on disk; nothing is printed by a half-closed
zip's garbage collection. (CI found `ValueError: Can't close the ZIP file while there is an open writing
handle` from numpy.savez after a second Ctrl-C during a checkpoint write.)

"Any moment" is made exact with a trace function that raises the interruption at the k-th line executed
in zipfile, numpy's .npy writer or nnctl's own writers, for every k: a Python signal handler runs between
such lines, so these are the places a real signal can interrupt."""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

from nnctl.atomic import atomic_file, hidden_interruption
from nnctl.npzfile import read_npz, write_npz
from nnctl.runs.checkpoints import load_checkpoint, save_checkpoint
from nnctl.runs.meta import CheckpointMeta
from nnctl.training.signals import Terminated

# tempfile and secrets too: CI once found a `.last.npz.*.tmp` left after a second Ctrl-C, which landed in
# tempfile.mkstemp after it had made the file and before atomic_file knew its name
WATCHED = ("zipfile", "numpy.lib._format_impl", "numpy.lib.format", "nnctl.npzfile", "nnctl.atomic",
           "nnctl.runs.checkpoints", "tempfile", "secrets", "random")


class InterruptAt:
    """sys.settrace hook raising `error` at the `at`-th line executed in a WATCHED module (counting only,
    with `at` None)."""

    def __init__(self, at: int | None, error: type[BaseException]):
        self.at, self.error, self.lines = at, error, 0

    def __call__(self, frame, event, arg):
        if frame.f_globals.get("__name__") not in WATCHED:
            return None
        if event == "call" and in_finalizer(frame):
            return None     # a garbage-collected object's __del__, run wherever the collector happens to run
        if event == "line":
            self.lines += 1
            if self.lines == self.at:
                raise self.error()
        return self

    def run(self, work) -> None:
        sys.settrace(self)
        try:
            work()
        finally:
            sys.settrace(None)


def in_finalizer(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def small_arrays() -> dict[str, np.ndarray]:
    return {"param/dense1.W": np.arange(12, dtype=np.float32).reshape(3, 4), "optim/t": np.array(3, dtype=np.int64)}


def lines_of(work) -> int:
    counter = InterruptAt(None, KeyboardInterrupt)
    counter.run(work)
    return counter.lines


@pytest.mark.parametrize("error", [KeyboardInterrupt, Terminated])
def test_write_npz_interrupted_at_every_line_raises_the_interruption_and_leaves_no_part(tmp_path, monkeypatch, error):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    target = tmp_path / "out" / "a.npz"

    def write():
        with atomic_file(target, "checkpoint") as handle:
            write_npz(handle, small_arrays())

    total = lines_of(write)
    target.unlink()
    assert total > 100
    whole = []
    for at in range(1, total + 1):
        with pytest.raises(error):
            InterruptAt(at, error).run(write)
        left = list(target.parent.iterdir())
        assert left in ([], [target]), at
        if left:        # interrupted after the rename: the new file is whole
            assert {k: v.tolist() for k, v in read_npz(target).items()} == {
                k: v.tolist() for k, v in small_arrays().items()}, at
            target.unlink()
        whole.append(bool(left))
    assert whole.count(True) < 10 and whole == sorted(whole)      # only the last few lines come after it
    gc.collect()        # the abandoned archives' __del__ must print nothing
    assert unraisable == []
    write()
    assert sorted(read_npz(target)) == sorted(small_arrays())


def test_save_checkpoint_interrupted_at_every_line_leaves_one_whole_checkpoint(tmp_path, monkeypatch):
    """Before the rename the previous checkpoint stays; after it (the last few lines) the new one is whole."""
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    path = tmp_path / "last.npz"
    old = {"dense1.W": np.zeros((3, 4), dtype=np.float32)}
    save_checkpoint(path, old, {}, {}, CheckpointMeta(epoch=1))
    new = {"dense1.W": np.ones((3, 4), dtype=np.float32)}

    def save():
        save_checkpoint(path, new, {}, {"t": np.array(2)}, CheckpointMeta(epoch=2))

    total = lines_of(save)
    save_checkpoint(path, old, {}, {}, CheckpointMeta(epoch=1))
    endings = []
    for at in range(1, total + 1):
        with pytest.raises(KeyboardInterrupt):
            InterruptAt(at, KeyboardInterrupt).run(save)
        assert [p.name for p in tmp_path.iterdir()] == ["last.npz"], at
        found = load_checkpoint(path)
        written = {1: old, 2: new}[found.meta.epoch]
        np.testing.assert_array_equal(found.params["dense1.W"], written["dense1.W"])
        endings.append(found.meta.epoch)
    gc.collect()
    assert unraisable == []
    assert endings == sorted(endings) and endings[0] == 1 and endings[-1] == 2 and endings.count(2) < 10


def test_numpy_savez_hides_some_interruptions_behind_a_zipfile_error(tmp_path, monkeypatch):
    """Why write_npz exists: the same sweep over numpy.savez finds moments where a ValueError leaves in place
    of the KeyboardInterrupt (hidden_interruption still finds it behind)."""
    monkeypatch.setattr(sys, "unraisablehook", lambda *_: None)
    path = tmp_path / "x.npz"

    def save():
        with open(path, "wb") as handle:
            np.savez(handle, **small_arrays())

    hidden = 0
    for at in range(1, lines_of(save) + 1):
        try:
            InterruptAt(at, KeyboardInterrupt).run(save)
        except KeyboardInterrupt:
            pass
        except ValueError as exc:
            assert "open writing handle" in str(exc)
            assert isinstance(hidden_interruption(exc), KeyboardInterrupt)
            hidden += 1
    gc.collect()
    assert hidden > 0


def test_atomic_file_turns_a_cleanup_error_back_into_the_interruption(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(tmp_path / "f.bin") as handle:
            handle.write(b"partial")
            try:
                raise KeyboardInterrupt
            finally:
                raise ValueError("cleanup failed while unwinding")   # noqa: B012 - the case under test
    assert list(tmp_path.iterdir()) == []


def test_an_ordinary_error_stays_itself(tmp_path):
    with pytest.raises(ValueError, match="plain"):
        with atomic_file(tmp_path / "f.bin"):
            raise ValueError("plain")
    assert hidden_interruption(ValueError("plain")) is None
    assert list(tmp_path.iterdir()) == []


def test_write_npz_reads_back_exactly_like_numpy_savez(tmp_path):
    arrays = {**small_arrays(), "meta": np.frombuffer(b'{"format": 1}', dtype=np.uint8)}
    with open(tmp_path / "mine.npz", "wb") as handle:
        write_npz(handle, arrays)
    np.savez(tmp_path / "numpy.npz", **arrays)
    mine, theirs = read_npz(tmp_path / "mine.npz"), np.load(tmp_path / "numpy.npz", allow_pickle=False)
    assert sorted(mine) == sorted(theirs.files) == sorted(arrays)
    for name, value in arrays.items():
        assert mine[name].dtype == value.dtype and mine[name].shape == value.shape
        np.testing.assert_array_equal(mine[name], value)
