"""Shared fixtures for the data tests: an isolated data environment and small fake MNIST-style files."""

from __future__ import annotations

import gzip
import os
import signal
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from nnctl.data import mnist

# Tests compare runs bit for bit, across processes too, and the automatic thread choice depends on how busy
# the machine is at that moment (nnctl.cpus): the suite fixes the count, at the one the golden files were
# written with. tests/test_thread_choice.py unsets it where the automatic choice is what it tests.
os.environ.setdefault("NNCTL_THREADS", "2")
# The compiled kernels (the `fast` extra) give NumPy's numbers bit for bit, and importing numba costs every
# `nnctl` process the suite starts about 0.7 s: the suite runs on NumPy's path, and tests/test_kernels*.py
# run the kernels (each against NumPy, gradcheck, whole runs) by setting NNCTL_KERNELS themselves.
os.environ.setdefault("NNCTL_KERNELS", "numpy")

@pytest.fixture(autouse=True)
def interruptible():
    """Ctrl-C behaves as in a terminal in every test (and in the processes tests start), however pytest was
    started: a background job of a script starts with SIGINT ignored, and nnctl keeps an ignored SIGINT
    ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


REAL_FASHION = mnist.SYSTEM_DATA_DIR / "fashion-mnist"      # NNCTL_SYSTEM_DATA moves it (offline checks)
# Is the running test marked `data`? One dict for the whole session: tests import this file as tests.conftest
# too, a second module object, which must see what pytest's own copy sets.
MARKED = sys.modules.setdefault("nnctl-tests-data-mark", types.ModuleType("nnctl-tests-data-mark")).__dict__


def pytest_runtest_setup(item):
    """Before any fixture of the test is set up (a module's fixture may load the data first)."""
    MARKED["data"] = item.get_closest_marker("data") is not None


@pytest.fixture(autouse=True)
def datasets_only_where_marked(request, tmp_path_factory, monkeypatch):
    """Only tests marked `data` see the real datasets. Every other test runs as on a machine that has none:
    the system data folder and NNCTL_DATA are empty folders and the mirrors answer nothing (in this process
    and in the processes it starts). So a test that needs data without saying so fails in the run that has
    the data, and the offline check (.ci/readme-offline) need only run the marked tests again."""
    if not MARKED.get("data"):
        empty = tmp_path_factory.mktemp("no-datasets")
        monkeypatch.setattr(mnist, "SYSTEM_DATA_DIR", empty)
        for variable, value in (("NNCTL_SYSTEM_DATA", empty), ("NNCTL_DATA", empty),
                                ("NNCTL_MIRRORS", "http://127.0.0.1:9/no-datasets/")):
            monkeypatch.setenv(variable, str(value))
    yield


def require_fashion() -> Path:
    """The folder of the real Fashion-MNIST files (Debian's dataset-fashion-mnist), for a test marked `data`.
    When they are absent the test is skipped with the reason, except in CI (CI=true), which installs them:
    there it fails."""
    assert MARKED.get("data"), "a test that uses the real Fashion-MNIST must be marked @pytest.mark.data"
    names = [f"{stem}.gz" for stem in mnist.FILES.values()]
    if all((REAL_FASHION / name).is_file() for name in names):
        return REAL_FASHION
    reason = (f"Fashion-MNIST is not installed in {REAL_FASHION} (apt-get install dataset-fashion-mnist, "
              f"or run .ci/run as root)")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have the data: {reason}")
    pytest.skip(reason)


@pytest.fixture
def fashion_folder() -> Path:
    """The real Fashion-MNIST folder, or the test is skipped (failed in CI); see require_fashion."""
    return require_fashion()


def idx_bytes(array: np.ndarray) -> bytes:
    """An uncompressed IDX file holding a uint8 array."""
    assert array.dtype == np.uint8
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """No real data folder is visible: HOME, NNCTL_DATA, the system folder and NNCTL_MIRRORS are empty
    places under tmp_path. Returns a dict of those folders."""
    folders = {name: tmp_path / name for name in ("home", "nnctl_data", "system")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setenv("HOME", str(folders["home"]))
    monkeypatch.setenv("NNCTL_DATA", str(folders["nnctl_data"]))
    monkeypatch.setenv("NNCTL_MIRRORS", "http://127.0.0.1:9/unused/")
    monkeypatch.setattr(mnist, "SYSTEM_DATA_DIR", folders["system"])
    return folders


@pytest.fixture
def fake_mnist():
    """The four gz files of a tiny MNIST-like set: {file name: gz bytes} and the arrays they hold.

    Train: 6 images of 4x5 pixels, labels 0..5; test: 3 images, labels 7, 8, 9. Pixel values are
    (10 * sample + position) mod 256, so every image is different.
    """
    train_x = ((np.arange(6 * 20).reshape(6, 4, 5) + 10 * np.arange(6)[:, None, None]) % 256).astype(np.uint8)
    test_x = (np.arange(3 * 20).reshape(3, 4, 5) * 3 % 256).astype(np.uint8)
    arrays = {
        "train-images-idx3-ubyte": train_x,
        "train-labels-idx1-ubyte": np.arange(6, dtype=np.uint8),
        "t10k-images-idx3-ubyte": test_x,
        "t10k-labels-idx1-ubyte": np.array([7, 8, 9], dtype=np.uint8),
    }
    files = {f"{stem}.gz": gzip.compress(idx_bytes(a), mtime=0) for stem, a in arrays.items()}
    return {"files": files, "arrays": arrays}


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def put_files():
    """put_files(folder, {name: bytes}) writes the files (creating the folder) and returns the folder."""
    return write_files
