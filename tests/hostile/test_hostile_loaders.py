"""Hostile files for the commands that take a saved network or new samples: `nnctl predict` (the
checkpoint, and INPUTS as .npz, CSV, IDX or pictures), `nnctl export` and `init.from` in a config.

The checkpoint is read as nnctl.runs.loader reads any (data, never instructions: a stored data file is
a named pipe nobody writes, so following it would hang the case until its alarm); INPUTS are read within
the memory budget (declared sizes checked before reading). Each case asserts exit code, the exact line,
nothing written (in particular no --out file and no run folder), and bounded memory (see hostile_kit.py).
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np

from hostile_kit import (GIGABYTE, GIGABYTE_INFO, GOOD, Case, bomb, canary_data, case_suite,
                         checkpoint_bytes, crafted, good_parts, lone_with_canary, meta_change, npy_bytes,
                         npz_bytes, param_change, patch_central_size, with_good_entries, zip_of)
from nnctl.runs.checkpoints import FORMAT

X = npz_bytes(x=np.arange(6, dtype=np.float32).reshape(3, 2))
PREDICT = ["predict", "lone.npz", "x.npz", "--out", "p.csv"]
EXPORT = ["export", "lone.npz", "--format", "onnx", "--out", "m.onnx", "--no-check"]
TRAIN = ["train", "c.yaml", "--out", "runs", "--quiet"]
FROM = GOOD + "init: {from: src.npz}\n"
FROM_DENSE1 = GOOD + "init: {from: src.npz, layers: [dense1]}\n"


@functools.lru_cache(maxsize=None)
def x_bomb() -> bytes:
    """An .npz whose x is 100 MB of zeros deflated to ~100 KB."""
    return zip_of([("x.npy", npy_bytes(np.zeros((12_500_000, 2), np.float32)), zipfile.ZIP_DEFLATED)])


def png_declaring(width: int, height: int) -> bytes:
    """A 1x1 grey PNG whose header (IHDR, with a valid CRC) declares width x height pixels."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    data = zlib.compress(b"\x00\x00")
    idat = b"IDAT" + data
    return (b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", len(data)) + idat + struct.pack(">I", zlib.crc32(idat))
            + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


def gz_idx(shape: tuple[int, ...]) -> bytes:
    """A gzip-compressed IDX file declaring `shape` of uint8 but holding 16 bytes of data."""
    header = bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return gzip.compress(header + bytes(16), mtime=0)


def with_unused_bomb(meta: dict) -> bytes:
    """GOOD's checkpoint with `meta`, plus a node the new network does not have: 100 MB of zeros deflated."""
    zeros = npy_bytes(np.zeros(25_000_000, np.float32))
    return with_good_entries(("param/unused.W.npy", zeros, zipfile.ZIP_DEFLATED), meta=meta)


def with_bombed_dense1() -> bytes:
    """GOOD's checkpoint whose dense1.W entry says (2, 12500000): 100 MB of zeros deflated to ~100 KB."""
    wide = ("param/dense1.W.npy", npy_bytes(np.zeros((2, 12_500_000), np.float32)), zipfile.ZIP_DEFLATED)
    return with_good_entries(wide, drop=("param/dense1.W.npy",))


def crafted_images() -> bytes:
    """A checkpoint of a dense network on 1x4x4 grey images (so pictures are taken)."""
    params, buffers, optim, meta = good_parts()
    rng = np.random.default_rng(2)
    params = {"dense1.W": rng.standard_normal((16, 16)).astype(np.float32), "dense1.b": np.zeros(16, np.float32),
              "dense2.W": rng.standard_normal((16, 3)).astype(np.float32), "dense2.b": np.zeros(3, np.float32)}
    meta.update(input_shape=[16], image_shape=[1, 4, 4],
                normalization={"method": "none", "per": "channel", "raw_divisor": 255.0})
    return checkpoint_bytes(params, buffers, optim, meta)


def nan_in_dense1(p, b, o, m):
    p["dense1.W"][0, 3] = np.nan


def lone(checkpoint: bytes, **extra) -> dict:
    return {"lone.npz": checkpoint, "x.npz": X, **extra}


NAN = crafted(nan_in_dense1)
FLOAT16 = param_change("dense1.W", np.zeros((2, 16), np.float16))
GIANT = crafted(lambda p, b, o, m: m["config"].update(model={"layers": [{"type": "dense", "units": 10 ** 12}]}))
GIANT_LINE = ("lone.npz (stored config): model.layers[0].units: the network up to this layer needs about 54.6 TiB "
              "of memory (parameters with gradients and optimizer state, and the activations of a batch of 1), "
              "more than the 1.0 GiB available")
NAN_LINE = "{file}: parameter dense1.W holds 1 NaN or infinite values; nothing was loaded"
FLOAT16_LINE = ("{file}: parameter dense1.W holds float16 values; checkpoints hold float32 or float64 arrays; "
                "nothing was loaded")
GIGABYTE_LINE = (f"{{file}}: entry 'param/dense1.W' declares 1000000000 bytes from {GIGABYTE_INFO.compress_size} "
                 f"stored bytes in a file of {len(GIGABYTE)}, which cannot be true; nothing was loaded")

CASES = [
    # ----------------------------------------------------------------- predict: the checkpoint is data
    Case("predict_never_reads_the_stored_data", PREDICT, "", code=0, stdout="wrote p.csv (3 samples)\n",
         written=["p.csv"], files={"lone.npz": lone_with_canary, "x.npz": X}, alarm=20),
    Case("predict_never_reads_a_bomb_in_optimizer_state", PREDICT, "", code=0, stdout="wrote p.csv (3 samples)\n",
         written=["p.csv"], files=lone(bomb()), env={"NNCTL_MEMORY_LIMIT": "50M"}),
    Case("predict_stored_network_giant", PREDICT, GIANT_LINE, files=lone(GIANT)),
    Case("predict_nan_weights", PREDICT, NAN_LINE.format(file="lone.npz"), files=lone(NAN)),
    Case("predict_float16_weights", PREDICT, FLOAT16_LINE.format(file="lone.npz"), files=lone(FLOAT16)),
    Case("predict_entry_declares_a_gigabyte", PREDICT, GIGABYTE_LINE.format(file="lone.npz"), files=lone(GIGABYTE)),
    Case("predict_input_shape_of_a_gigavalue", PREDICT, "lone.npz: 'input_shape' (1073741824,) has more than "
                                                        "16777216 values per sample; nothing was loaded",
         files=lone(meta_change(input_shape=[1 << 30]))),
    Case("predict_class_names_too_many", PREDICT, "lone.npz: class_names: expected at most 100000 strings of at "
                                                  "most 1000 characters; nothing was loaded",
         files=lone(meta_change(class_names=["c"] * 100_001))),
    Case("predict_normalization_nan", PREDICT, "lone.npz: normalization: expected mean to be a non-empty list of "
                                               "finite numbers; nothing was loaded",
         files=lone(meta_change(normalization={"method": "standard", "per": "feature", "raw_divisor": 1,
                                               "mean": [float("nan"), 0], "std": [1, 1]}))),
    Case("predict_image_shape_lies", PREDICT, "lone.npz: its image_shape (1, 1000, 1000) does not fit its "
                                              "input_shape (2,); nothing was loaded",
         files=lone(meta_change(image_shape=[1, 1000, 1000]))),
    Case("predict_not_a_checkpoint", PREDICT, "lone.npz: not an nnctl checkpoint (missing 'meta'); nothing was "
                                              "loaded", files=lone(X)),
    # ----------------------------------------------------------------- predict: INPUTS within bounds
    Case("predict_npz_bomb", PREDICT, "x.npz: its arrays need 95.4 MiB of memory, more than the 50.0 MiB "
                                      "available; nothing was loaded",
         files={"lone.npz": crafted(), "x.npz": x_bomb()}, env={"NNCTL_MEMORY_LIMIT": "50M"}),
    Case("predict_npz_declares_a_gigabyte", PREDICT, f"x.npz: entry 'x' declares 1000000000 bytes from 152 stored "
                                                     f"bytes in a file of {len(X)}, which cannot be true; nothing "
                                                     f"was loaded",
         files={"lone.npz": crafted(), "x.npz": patch_central_size(X, "x.npy", 10 ** 9)}),
    Case("predict_npz_pickle", PREDICT, "x.npz: entry 'x' holds Python objects (pickle), which nnctl never loads; "
                                        "nothing was loaded",
         files={"lone.npz": crafted(), "x.npz": zip_of([("x.npy", npy_bytes(np.array([{"a": 1}], dtype=object)),
                                                         zipfile.ZIP_STORED)])}),
    Case("predict_csv_too_large_for_memory", ["predict", "lone.npz", "x.csv", "--out", "p.csv"],
         "x.csv: a CSV file of 390.6 KiB needs about 24.4 MiB of memory to read, more than the 10.0 MiB available; "
         "save the data with numpy.savez instead",
         files={"lone.npz": crafted(), "x.csv": "1,2\n" * 100_000}, env={"NNCTL_MEMORY_LIMIT": "10M"}),
    Case("predict_gzip_idx_declares_terabytes", ["predict", "lone.npz", "x-idx.gz", "--out", "p.csv"],
         "x-idx.gz: holds 3.6 TiB of data, more than the 1.0 GiB of memory available",
         files={"lone.npz": crafted(), "x-idx.gz": gz_idx((2_000_000_000, 2000))}),
    Case("predict_png_declares_a_gigapixel", ["predict", "lone.npz", "big.png", "--out", "p.csv"],
         "big.png: declares more pixels than the 67108864 nnctl reads",
         files={"lone.npz": crafted_images(), "big.png": png_declaring(40_000, 40_000)}),
    Case("predict_png_of_100_megapixels", ["predict", "lone.npz", "big.png", "--out", "p.csv"],
         "big.png: 10000x10000 pixels is more than the 67108864 nnctl reads",
         files={"lone.npz": crafted_images(), "big.png": png_declaring(10_000, 10_000)}),
    Case("predict_png_too_large_for_memory", ["predict", "lone.npz", "big.png", "--out", "p.csv"],
         "big.png: 8000x8000 pixels need about 1.4 GiB of memory to decode, more than the 1.0 GiB available",
         files={"lone.npz": crafted_images(), "big.png": png_declaring(8000, 8000)}),
    Case("predict_batch_too_large_for_memory", ["predict", "lone.npz", "x.npz", "--out", "p.csv", "--batch-size",
                                                "1000000000"],
         "--batch-size 1000000000: a batch of 200000 samples needs about 81.6 MiB of memory in this network, more "
         "than the 20.0 MiB available; give a smaller --batch-size",
         files={"lone.npz": crafted(), "x.npz": npz_bytes(x=np.zeros((200_000, 2), np.float32))},
         env={"NNCTL_MEMORY_LIMIT": "20M"}),
    # ----------------------------------------------------------------- export
    Case("export_never_reads_the_stored_data", EXPORT, "", code=0, stdout=None, written=["m.onnx"],
         files={"lone.npz": lone_with_canary}, alarm=20),
    Case("export_nan_weights", EXPORT, NAN_LINE.format(file="lone.npz"), files={"lone.npz": NAN}),
    Case("export_stored_network_giant", EXPORT, GIANT_LINE, files={"lone.npz": GIANT}),
    Case("export_entry_declares_a_gigabyte", EXPORT, GIGABYTE_LINE.format(file="lone.npz"),
         files={"lone.npz": GIGABYTE}),
    # ----------------------------------------------------------------- init.from: refused before the run folder
    Case("init_from_nan_weights", TRAIN, NAN_LINE.format(file="src.npz"), files={"c.yaml": FROM, "src.npz": NAN}),
    Case("init_from_float16_weights", TRAIN, FLOAT16_LINE.format(file="src.npz"),
         files={"c.yaml": FROM, "src.npz": FLOAT16}),
    Case("init_from_entry_declares_a_gigabyte", TRAIN, GIGABYTE_LINE.format(file="src.npz"),
         files={"c.yaml": FROM, "src.npz": GIGABYTE}),
    Case("init_from_bombed_tensor_shape_is_refused_unread", TRAIN,
         "c.yaml: init.layers: dense1.W: shape (2, 16) in this model but (2, 12500000) in src.npz",
         files={"c.yaml": FROM_DENSE1, "src.npz": with_bombed_dense1()}, env={"NNCTL_MEMORY_LIMIT": "50M"}),
    Case("init_from_metadata_a_list", TRAIN, "src.npz: not an nnctl checkpoint (format None, expected "
                                             "'nnctl-checkpoint/2'); nothing was loaded",
         files={"c.yaml": FROM, "src.npz": with_good_entries(meta=[1, 2])}),
    Case("init_from_not_a_zip", TRAIN, "src.npz: not a readable .npz checkpoint (not a zip archive); nothing was "
                                       "loaded", files={"c.yaml": FROM, "src.npz": b"#!/bin/sh\nrm -rf ~\n"}),
    Case("init_from_a_named_pipe", TRAIN, "c.yaml: init.from: src.npz: no such run folder or checkpoint file",
         files={"c.yaml": FROM, "src.npz": os.mkfifo}, alarm=20),
]


results, test_hostile_loader = case_suite(CASES, "hostile_loaders")


def test_predictions_of_a_crafted_checkpoint_are_its_network_on_the_given_samples(results):
    """The canary checkpoint's predictions: three rows, the stored class names, nothing from its data."""
    root, _ = results
    rows = (root / "predict_never_reads_the_stored_data" / "p.csv").read_text().splitlines()
    assert rows[0] == "id,class,probability,class_2,probability_2,class_3,probability_3"
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2"]
    assert all(sorted(row.split(",")[1::2][:3]) == ["0", "1", "2"] for row in rows[1:])


def test_init_from_reads_only_the_copied_tensors(tmp_path):
    """A source with 100 MB (deflated to ~100 KB) under a node the new network lacks, and a stored data
    section pointing at a pipe nobody writes: init.from copies dense1 and dense2 within a 50 MiB budget and
    never opens the pipe (a subprocess whose timeout would catch a hang)."""
    meta = good_parts()[3]
    meta["config"]["data"] = canary_data(tmp_path)
    (tmp_path / "src.npz").write_bytes(with_unused_bomb({"format": FORMAT, **meta}))
    (tmp_path / "c.yaml").write_text(FROM)
    env = {**os.environ, "NNCTL_MEMORY_LIMIT": "50M"}
    done = subprocess.run([sys.executable, "-m", "nnctl", "train", "c.yaml", "--out", "runs", "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (report,) = (tmp_path / "runs" / "tiny").glob("*/report.json")
    record = json.loads(report.read_text())["init"]
    assert record["copied"] == {"dense1": "dense1", "dense2": "dense2"}
    assert record["from"] == str(tmp_path / "src.npz")
