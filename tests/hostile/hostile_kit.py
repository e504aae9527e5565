"""What the hostile-input tests share: the Case they describe, the runner that tries them in a
memory-capped process (bounded_driver.py), and makers of configs, data files and checkpoints.

Every case asserts the exit code, the exact one-line stderr, the exact stdout, that nothing was written in
its folder (or exactly the files named), and that the process never held more than PEAK_RSS_BOUND
resident, inside an address space capped HEADROOM above its start-up size.
"""

from __future__ import annotations

import functools
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from nnctl.config.load import load_config
from nnctl.options.yamlio import dump_yaml, plain
from nnctl.runs.checkpoints import FORMAT

DRIVER = Path(__file__).with_name("bounded_driver.py")
MEMORY_LIMIT = "1G"                 # NNCTL_MEMORY_LIMIT: the budget the messages quote ("1.0 GiB available")
HEADROOM = 2 << 30                  # RLIMIT_AS above the driver's start-up address space
PEAK_RSS_BOUND = 600 << 20          # resident memory the driver process may ever reach

GOOD = """\
name: tiny
seed: 0
data: {dataset: spiral, normalize: none}
model:
  layers:
    - {type: dense, units: 16}
    - {type: relu}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 1.0e-2}
train: {epochs: 1, batch_size: 32, progress: false}
"""

IMAGES = """\
name: images
seed: 0
data: {{dataset: npz, path: images.npz, flatten: false, normalize: none}}
model:
  layers:
{layers}
train: {{epochs: 1, batch_size: 4, progress: false{train}}}
"""


def replace(old: str, new: str, text: str = GOOD) -> str:
    assert old in text, old
    return text.replace(old, new)


def images_config(layers: str, train: str = "") -> str:
    """A config on images.npz (see `images_npz`) with the given layer lines (indented YAML list items)."""
    return IMAGES.format(layers=layers, train=train)


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def images_npz(n: int = 8, side: int = 4, classes: int = 2) -> bytes:
    """n grey images (n, 1, side, side) uint8 and labels 0..classes-1."""
    x = (np.arange(n * side * side) % 251).astype(np.uint8).reshape(n, 1, side, side)
    return npz_bytes(x=x, y=np.arange(n) % classes)


@dataclass
class Case:
    """One attack: the command (`{dir}` is the case's folder), the files placed in that folder first, and
    what must come out. `written` names the paths the command may create (normally none)."""

    id: str
    args: list[str]
    stderr: str
    code: int = 2
    files: dict[str, bytes | str | Callable[[Path], None]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    stdout: str | None = ""
    written: list[str] = field(default_factory=list)
    alarm: int = 60


def prepare_case(case: Case, root: Path) -> Path:
    folder = root / case.id
    folder.mkdir(parents=True)
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


def run_cases(cases: list[Case], root: Path) -> dict[str, dict]:
    """Try `cases` in one memory-capped process (bounded_driver.py); returns its results by case id."""
    assert len({case.id for case in cases}) == len(cases)
    spec = {"headroom": HEADROOM, "cases": []}
    for case in cases:
        folder = prepare_case(case, root)
        spec["cases"].append({"id": case.id, "dir": str(folder), "alarm": case.alarm,
                              "args": [arg.format(dir=folder) for arg in case.args], "env": case.env})
    import matplotlib

    env = {**os.environ, "NNCTL_MEMORY_LIMIT": MEMORY_LIMIT, "HOME": str(root / "home"),
           "MPLCONFIGDIR": matplotlib.get_configdir(),
           "NNCTL_DATA": str(root / "nnctl_data"), "NNCTL_MIRRORS": "http://127.0.0.1:9/refused/"}
    done = subprocess.run([sys.executable, str(DRIVER)], input=json.dumps(spec), capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def check(case: Case, results: dict[str, dict], root: Path) -> None:
    """The case's exit code, exact stderr line, stdout, files written and peak memory."""
    result = results[case.id]
    folder = root / case.id
    assert result["stderr"] == (case.stderr.format(dir=folder) + "\n" if case.stderr else ""), result
    assert result["code"] == case.code, result
    if case.stdout is not None:
        assert result["stdout"] == case.stdout.format(dir=folder), result
    assert result["written"] == sorted(case.written), result
    assert result["peak_rss"] <= PEAK_RSS_BOUND, result["peak_rss"]
    assert not (root / "home").exists() and not (root / "nnctl_data").exists()


def case_suite(cases: list[Case], name: str):
    """(the module fixture that runs `cases` once, the test that checks each): a suite module binds both,
    `results, test_hostile_x = case_suite(CASES, "hostile_x")`."""
    import pytest

    @pytest.fixture(scope="module")
    def results(tmp_path_factory):
        root = tmp_path_factory.mktemp(name)
        return root, run_cases(cases, root)

    @pytest.mark.parametrize("case", cases, ids=lambda case: case.id)
    def test_case(case, results):
        root, found = results
        check(case, found, root)

    return results, test_case


# ---------------------------------------------------------------------------------------- checkpoints

@functools.lru_cache(maxsize=None)
def resolved_json(config_text: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(config_text)
        return json.dumps(plain(load_config(path).sections()))


def good_parts(config_text: str = GOOD) -> tuple[dict, dict, dict, dict]:
    """(params, buffers, optim, meta) of a checkpoint of GOOD's network, as `nnctl train` would write it,
    with seeded random weights."""
    config = json.loads(resolved_json(config_text))
    rng = np.random.default_rng(0)
    params = {"dense1.W": rng.standard_normal((2, 16)).astype(np.float32),
              "dense1.b": np.zeros(16, np.float32),
              "dense2.W": rng.standard_normal((16, 3)).astype(np.float32),
              "dense2.b": np.zeros(3, np.float32)}
    meta = {"config": config, "epoch": 1, "step": 0, "input_shape": [2],
            "normalization": {"method": "none", "per": "feature", "raw_divisor": 1.0},
            "class_names": ["0", "1", "2"]}
    return params, {}, {"t": np.array(3, dtype=np.int64)}, meta


def checkpoint_bytes(params: dict, buffers: dict, optim: dict, meta: dict) -> bytes:
    """A checkpoint as a stranger could write it: the arrays, and `meta` as raw JSON under the format tag."""
    arrays = {**{f"param/{k}": v for k, v in params.items()}, **{f"buffer/{k}": v for k, v in buffers.items()},
              **{f"optim/{k}": np.asarray(v) for k, v in optim.items()}, "meta": meta_array({"format": FORMAT, **meta})}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def crafted(change: Callable[[dict, dict, dict, dict], None] | None = None) -> bytes:
    """A checkpoint of GOOD's network after `change(params, buffers, optim, meta)` edits its parts."""
    parts = good_parts()
    if change is not None:
        change(*parts)
    return checkpoint_bytes(*parts)


def run_folder(checkpoint: bytes, config_text: str = GOOD) -> dict[str, bytes | str]:
    """The files of a run folder RUN/ holding `checkpoint` as its best.npz."""
    resolved = dump_yaml(json.loads(resolved_json(config_text)))
    return {"run/config.yaml": resolved, "run/checkpoints/best.npz": checkpoint}


def canary_data(folder: Path) -> dict:
    """A stored data section pointing at a named pipe in `folder`, which nobody writes: reading it hangs."""
    os.mkfifo(folder / "canary.fifo")
    return {"dataset": "csv", "path": str(folder / "canary.fifo"), "delimiter": ":", "header": False}


def lone_with_canary(path: Path) -> None:
    def change(params, buffers, optim, meta):
        meta["config"]["data"] = canary_data(path.parent)
    path.write_bytes(crafted(change))


def meta_change(**changes):
    def change(params, buffers, optim, meta):
        meta.update(changes)
    return crafted(change)


def config_change(section: str, value) -> bytes:
    def change(params, buffers, optim, meta):
        if value is None:
            meta["config"].pop(section)
        else:
            meta["config"][section] = value
    return crafted(change)


def param_change(key: str, value) -> bytes:
    def change(params, buffers, optim, meta):
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    return crafted(change)


def stored_entry(name: str, size: int) -> tuple[bytes, zipfile.ZipInfo]:
    data = patch_central_size(with_good_entries(), name, size)
    return data, zipfile.ZipFile(io.BytesIO(data)).getinfo(name)


@functools.lru_cache(maxsize=None)
def bomb() -> bytes:
    """GOOD's checkpoint plus 100 MB of zeros, deflated to ~100 KB, as optimizer state."""
    zeros = npy_bytes(np.zeros(25_000_000, np.float32))
    return with_good_entries(("optim/m/dense1.W.npy", zeros, zipfile.ZIP_DEFLATED))


def meta_array(meta: dict | list | str) -> np.ndarray:
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return np.frombuffer(text.encode(), dtype=np.uint8)


def zip_of(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip holding (name, data, compression) entries, written as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")              # a duplicate name is what some cases want
        for name, data, compression in entries:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def with_good_entries(*extra: tuple[str, bytes, int], drop: tuple[str, ...] = (), meta=None) -> bytes:
    """A zip with GOOD's checkpoint entries (minus `drop`) and `extra` ones, `meta` replacing its meta."""
    params, buffers, optim, good_meta = good_parts()
    entries = [(f"param/{k}.npy", npy_bytes(v), zipfile.ZIP_STORED) for k, v in params.items()]
    entries.append(("meta.npy", npy_bytes(meta_array({"format": FORMAT, **good_meta} if meta is None else meta)),
                    zipfile.ZIP_STORED))
    entries = [e for e in entries if e[0] not in drop] + list(extra)
    return zip_of(entries)


def patch_central_size(data: bytes, name: str, uncompressed: int) -> bytes:
    """`data` (a zip) with the uncompressed size its central directory declares for `name` changed."""
    encoded = name.encode()
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_length] == encoded:
            return data[:at + 24] + struct.pack("<L", uncompressed) + data[at + 28:]
        at += 4


GIGABYTE, GIGABYTE_INFO = stored_entry("param/dense1.W.npy", 10 ** 9)    # a stored entry declaring 1 GB
