"""Hostile checkpoints. Two classes:

- a checkpoint is data, never instructions: paths, datasets and downloads stored in it are never
  followed (a named pipe stands in for the stored data file: opening it would hang the case until its
  alarm), and what is taken from it (architecture, input shape, normalization, class names) is checked
  like a config from an untrusted file;
- the file itself: declared sizes are checked against the file and the memory budget before anything is
  read, only float32/float64 finite arrays of the expected names and shapes are accepted.
Each case asserts exit code, the exact line, nothing written, and bounded memory (see hostile_kit.py).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np

from hostile_kit import (GIGABYTE, GIGABYTE_INFO, GOOD, Case, bomb, canary_data, case_suite,
                         checkpoint_bytes, config_change, crafted, good_parts, images_config, lone_with_canary,
                         meta_change, npy_bytes, param_change, patch_central_size, run_folder, with_good_entries)
from nnctl.runs.checkpoints import FORMAT

EVAL_RUN = ["eval", "run"]
BEST = "run/checkpoints/best.npz"
EVAL_LONE = ["eval", "lone.npz", "--config", "c.yaml"]
NO_DATA = ("lone.npz: a checkpoint outside a run folder brings no data that nnctl would use (the paths stored in "
           "a checkpoint are never followed); give the data with --config CONFIG")
CONV = images_config("    - {type: conv2d, filters: 2, kernel: 3}\n    - {type: flatten}\n"
                     "    - {type: dense, units: 2}")


def best_with_canary(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lone_with_canary(path)


def conv_with_canary(path: Path) -> None:
    """A conv network's checkpoint (1x4x4 images, 2 filters) whose stored data is the canary pipe."""
    params, buffers, optim, meta = good_parts(CONV.replace("images.npz", "absent.npz"))
    rng = np.random.default_rng(1)
    params = {"conv2d1.W": rng.standard_normal((2, 1, 3, 3)).astype(np.float32),
              "conv2d1.b": np.zeros(2, np.float32),
              "dense1.W": rng.standard_normal((8, 2)).astype(np.float32), "dense1.b": np.zeros(2, np.float32)}
    meta.update(input_shape=[1, 4, 4], class_names=["a", "b"],
                normalization={"method": "none", "per": "channel", "raw_divisor": 255.0})
    meta["config"]["data"] = canary_data(path.parent)
    path.write_bytes(checkpoint_bytes(params, buffers, optim, meta))


def deep_weights(depth: int) -> dict:
    value = 0.0
    for _ in range(depth):
        value = [value]
    layers = [{"type": "dense", "units": 16, "weights": {"W": value}}, {"type": "relu"}, {"type": "dense", "units": 3}]
    return {"layers": layers}


def deflated_entry(size: int) -> tuple[bytes, zipfile.ZipInfo]:
    params = good_parts()[0]
    entry = ("param/dense1.W.npy", npy_bytes(params["dense1.W"]), zipfile.ZIP_DEFLATED)
    data = patch_central_size(with_good_entries(entry, drop=("param/dense1.W.npy",)), "param/dense1.W.npy", size)
    return data, zipfile.ZipFile(io.BytesIO(data)).getinfo("param/dense1.W.npy")


def lying_header() -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)})
    return buffer.getvalue() + bytes(128)


def with_flag_bits(data: bytes, name: str, flags: int) -> bytes:
    """`data` (a zip) with the general-purpose flags of `name` set in its central directory."""
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + length] == name.encode():
            return data[:at + 8] + struct.pack("<H", flags) + data[at + 10:]
        at += 4


def with_directory_size(data: bytes, size: int) -> bytes:
    at = data.rindex(b"PK\x05\x06")
    return data[:at + 12] + struct.pack("<L", size) + data[at + 16:]


def bomb_entries(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bomb())


LYING = lying_header()
DEFLATED, DEFLATED_INFO = deflated_entry(2 ** 31)
DIRECTORY_LIE = with_directory_size(with_good_entries(), 2 ** 31)
DUPLICATE = with_good_entries(("param/dense1.W.npy", npy_bytes(np.zeros((2, 16), np.float32)), zipfile.ZIP_STORED))
GOOD_META = {"format": FORMAT, **good_parts()[3]}


def run(checkpoint: bytes | None = None, **extra) -> dict:
    files = run_folder(checkpoint if checkpoint is not None else crafted())
    files.update(extra)
    return files


CASES = [
    # ----------------------------------------------------------------- a checkpoint is data, never instructions
    Case("lone_checkpoint_needs_data_from_the_command_line", ["eval", "lone.npz"], NO_DATA,
         files={"lone.npz": lone_with_canary}),
    Case("stored_data_path_is_never_read", EVAL_LONE, "", code=0, stdout=None, written=["eval_lone_test.json"],
         files={"lone.npz": lone_with_canary, "c.yaml": GOOD}, alarm=20),
    Case("stored_download_is_never_started", EVAL_LONE, "", code=0, stdout=None, written=["eval_lone_test.json"],
         files={"lone.npz": config_change("data", {"dataset": "mnist", "download": True}), "c.yaml": GOOD}),
    Case("a_run_folder_uses_its_own_config", EVAL_RUN, "", code=0, stdout=None, written=["run/eval_best_test.json"],
         files={**run(), BEST: best_with_canary}, alarm=20),
    Case("plot_filters_reads_no_data", ["plot", "--filters", "lone.npz", "--out", "f.png"], "", code=0,
         stdout="wrote f.png (2 filters)\n", written=["f.png"], files={"lone.npz": conv_with_canary}, alarm=20),
    Case("plot_features_needs_data_from_the_command_line", ["plot", "--features", "0", "lone.npz"], NO_DATA,
         files={"lone.npz": conv_with_canary}),
    Case("normalization_nan", EVAL_LONE, "lone.npz: normalization: expected mean to be a non-empty list of finite "
                                         "numbers; nothing was loaded",
         files={"lone.npz": meta_change(normalization={"method": "standard", "per": "feature", "raw_divisor": 1,
                                                       "mean": [float("nan"), 0], "std": [1, 1]}), "c.yaml": GOOD}),
    Case("normalization_negative_std", EVAL_LONE, "lone.npz: normalization: expected positive std values; nothing "
                                                  "was loaded",
         files={"lone.npz": meta_change(normalization={"method": "standard", "per": "feature", "raw_divisor": 1,
                                                       "mean": [0, 0], "std": [1, -1]}), "c.yaml": GOOD}),
    Case("normalization_for_other_inputs", EVAL_LONE, "lone.npz: normalization: 5 values (one per feature), but "
                                                      "the inputs have 2 features; nothing was loaded",
         files={"lone.npz": meta_change(normalization={"method": "minmax", "per": "feature", "raw_divisor": 1,
                                                       "min": [0] * 5, "range": [1] * 5}), "c.yaml": GOOD}),
    Case("normalization_a_word", EVAL_LONE, "lone.npz: normalization: expected a mapping with method standard, "
                                            "minmax, none; nothing was loaded",
         files={"lone.npz": meta_change(normalization="/etc/passwd"), "c.yaml": GOOD}),
    Case("class_names_not_strings", EVAL_LONE, "lone.npz: class_names: expected at most 100000 strings of at most "
                                               "1000 characters; nothing was loaded",
         files={"lone.npz": meta_change(class_names=[0, {"path": "/etc"}, 2]), "c.yaml": GOOD}),
    Case("input_shape_zero", EVAL_LONE, "lone.npz: 'input_shape' in its metadata is not a shape (found [0]); "
                                        "nothing was loaded", files={"lone.npz": meta_change(input_shape=[0]), "c.yaml": GOOD}),
    Case("input_shape_not_the_data", EVAL_LONE, "lone.npz: the network takes inputs of shape (3,), but the data of "
                                                "c.yaml gives (2,)",
         files={"lone.npz": crafted(lambda p, b, o, m: (m.update(input_shape=[3]), p.update(
             {"dense1.W": np.zeros((3, 16), np.float32)}))), "c.yaml": GOOD}),
    Case("stored_layer_unknown", EVAL_LONE, "lone.npz (stored config): model.layers[0].type: unknown layer 'evil'; "
                                            "known layers: dense, relu, leaky_relu, sigmoid, tanh, prelu, elu, gelu, "
                                            "softplus, identity, batchnorm, layernorm, dropout, noise, flatten, "
                                            "reshape, conv2d, maxpool2d, avgpool2d, global_avgpool, concat, add",
         files={"lone.npz": config_change("model", {"layers": [{"type": "evil"}]}), "c.yaml": GOOD}),
    Case("stored_network_giant", EVAL_LONE, "lone.npz (stored config): model.layers[0].units: the network up to "
                                            "this layer needs about 5.5 PiB of memory (parameters with gradients "
                                            "and optimizer state, and the activations of a batch of 512), more "
                                            "than the 1.0 GiB available",
         files={"lone.npz": config_change("model", {"layers": [{"type": "dense", "units": 10 ** 12}]}),
                "c.yaml": GOOD}),
    Case("stored_config_nested_deep", EVAL_LONE, "lone.npz (stored config): nested more than 64 levels deep",
         files={"lone.npz": config_change("model", deep_weights(200)), "c.yaml": GOOD}),
    Case("stored_config_without_model", EVAL_LONE, "lone.npz (stored config): no model section; this is not a "
                                                   "checkpoint nnctl can rebuild",
         files={"lone.npz": config_change("model", None), "c.yaml": GOOD}),
    Case("stored_loss_unknown", EVAL_LONE, "lone.npz (stored config): loss.type: unknown loss 'evil'; known losses: "
                                           "softmax_cross_entropy, svm, sigmoid_bce, mse, l1, huber",
         files={"lone.npz": config_change("loss", {"type": "evil"}), "c.yaml": GOOD}),
    # ----------------------------------------------------------------- the file: sizes before reading
    Case("entry_declares_a_gigabyte", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' declares 1000000000 bytes from "
                                                f"{GIGABYTE_INFO.compress_size} stored bytes in a file of "
                                                f"{len(GIGABYTE)}, which cannot be true; nothing was loaded",
         files=run(GIGABYTE)),
    Case("deflated_entry_declares_2_gib", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' declares 2147483648 bytes "
                                                    f"from {DEFLATED_INFO.compress_size} stored bytes in a file of "
                                                    f"{len(DEFLATED)}, which cannot be true; nothing was loaded",
         files=run(DEFLATED)),
    Case("npy_header_lies", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' declares shape (100000, 100000) of "
                                      f"float32, which does not match its {len(LYING)} bytes; nothing was loaded",
         files=run(with_good_entries(("param/dense1.W.npy", LYING, zipfile.ZIP_STORED),
                                     drop=("param/dense1.W.npy",)))),
    Case("zip_directory_lies", EVAL_RUN, f"{BEST}: its zip directory declares 2147483648 bytes, more than the "
                                         f"file's {len(DIRECTORY_LIE)}; nothing was loaded", files=run(DIRECTORY_LIE)),
    Case("metadata_of_17_mib", EVAL_RUN, f"{BEST}: its metadata declares 17.0 MiB, more than the limit of 16.0 "
                                         f"MiB; nothing was loaded",
         files=run(with_good_entries(meta=json.dumps(GOOD_META) + " " * ((17 << 20) - len(json.dumps(GOOD_META)))))),
    Case("metadata_nested_100000_deep", EVAL_RUN, f"{BEST}: damaged checkpoint (unreadable 'meta'); nothing was "
                                                  f"loaded",
         files=run(with_good_entries(meta="[" * 100000 + "]" * 100000))),
    Case("metadata_a_list", EVAL_RUN, f"{BEST}: not an nnctl checkpoint (format None, expected '{FORMAT}'); nothing "
                                      f"was loaded", files=run(with_good_entries(meta=[GOOD_META]))),
    Case("not_a_zip", EVAL_RUN, f"{BEST}: not a readable .npz checkpoint (not a zip archive); nothing was loaded",
         files=run(b"\x93NUMPY but not an archive" * 10)),
    # ----------------------------------------------------------------- the file: what entries may hold
    Case("entry_of_raw_bytes", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' is not a .npy array (the magic string "
                                         f"is not correct; expected b'\\x93NUMPY', got "
                                         f"b'\\x00\\x00\\x00\\x00\\x00\\x00'); nothing was loaded",
         files=run(with_good_entries(("param/dense1.W.npy", bytes(128), zipfile.ZIP_STORED),
                                     drop=("param/dense1.W.npy",)))),
    Case("entry_not_npy", EVAL_RUN, f"{BEST}: unexpected entry 'param/raw' (entries are .npy arrays with plain "
                                    f"names); nothing was loaded",
         files=run(with_good_entries(("param/raw", b"#!/bin/sh\nrm -rf ~\n", zipfile.ZIP_STORED)))),
    Case("nan_weights", EVAL_RUN, f"{BEST}: parameter dense1.W holds 1 NaN or infinite values; nothing was loaded",
         files=run(crafted(lambda p, b, o, m: p["dense1.W"].__setitem__((0, 3), np.nan)))),
    Case("infinite_bias", EVAL_RUN, f"{BEST}: parameter dense2.b holds 3 NaN or infinite values; nothing was loaded",
         files=run(param_change("dense2.b", np.full(3, np.inf, np.float32)))),
    Case("float16_weights", EVAL_RUN, f"{BEST}: parameter dense1.W holds float16 values; checkpoints hold float32 "
                                      f"or float64 arrays; nothing was loaded",
         files=run(param_change("dense1.W", np.zeros((2, 16), np.float16)))),
    Case("int32_weights", EVAL_RUN, f"{BEST}: parameter dense1.W holds int32 values; checkpoints hold float32 or "
                                    f"float64 arrays; nothing was loaded",
         files=run(param_change("dense1.W", np.zeros((2, 16), np.int32)))),
    Case("pickled_objects", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' holds Python objects (pickle), which nnctl "
                                      f"never loads; nothing was loaded",
         files=run(with_good_entries(("param/dense1.W.npy", npy_bytes(np.array([{"os": "system"}], dtype=object)),
                                      zipfile.ZIP_STORED), drop=("param/dense1.W.npy",)))),
    Case("record_array", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' holds [('a', '<f4')] values, which nnctl does "
                                   f"not read; nothing was loaded",
         files=run(with_good_entries(("param/dense1.W.npy", npy_bytes(np.zeros(2, dtype=[("a", "<f4")])),
                                      zipfile.ZIP_STORED), drop=("param/dense1.W.npy",)))),
    Case("wrong_shape", EVAL_RUN, f"{BEST}: parameter dense1.W has shape (3, 16), the network expects (2, 16); "
                                  f"nothing was loaded",
         files=run(param_change("dense1.W", np.zeros((3, 16), np.float32)))),
    Case("missing_parameter", EVAL_RUN, f"{BEST}: parameters do not match the network (missing dense2.b); nothing "
                                        f"was loaded", files=run(param_change("dense2.b", None))),
    Case("extra_parameter", EVAL_RUN, f"{BEST}: parameters do not match the network (unexpected dense9.W); nothing "
                                      f"was loaded", files=run(param_change("dense9.W", np.zeros(2, np.float32)))),
    Case("unknown_group", EVAL_RUN, f"{BEST}: unexpected entry 'evil/x'; nothing was loaded",
         files=run(with_good_entries(("evil/x.npy", npy_bytes(np.zeros(2)), zipfile.ZIP_STORED)))),
    Case("encrypted_entry", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' is encrypted; nothing was loaded",
         files=run(with_flag_bits(with_good_entries(), "param/dense1.W.npy", 0x1))),
    Case("bzip2_entry", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' uses an unsupported compression; nothing was "
                                  f"loaded",
         files=run(with_good_entries(("param/dense1.W.npy", npy_bytes(np.zeros((2, 16), np.float32)),
                                      zipfile.ZIP_BZIP2), drop=("param/dense1.W.npy",)))),
    Case("duplicate_entry", EVAL_RUN, f"{BEST}: entry 'param/dense1.W' appears twice; nothing was loaded",
         files=run(DUPLICATE)),
    # ----------------------------------------------------------------- bombs stay unread or are refused
    Case("bomb_in_optimizer_state_is_never_read", EVAL_RUN, "", code=0, stdout=None,
         written=["run/eval_best_test.json"], files={**run(), BEST: bomb_entries}),
    Case("bomb_refused_on_resume", ["train", "--resume", "run", "--quiet"],
         "run/checkpoints/last.npz: its arrays need 95.4 MiB of memory, more than the 50.0 MiB available; nothing "
         "was loaded", files={**run(), "run/checkpoints/last.npz": bomb_entries}, env={"NNCTL_MEMORY_LIMIT": "50M"}),
]


results, test_hostile_checkpoint = case_suite(CASES, "hostile_checkpoints")


def test_evaluation_with_a_crafted_checkpoint_measures_the_config_data(results):
    """The crafted checkpoint's evaluation used c.yaml's spiral (60 test samples), not its stored file."""
    root, _ = results
    written = json.loads((root / "stored_data_path_is_never_read" / "eval_lone_test.json").read_text())
    assert written["samples"] == 60 and written["class_names"] == ["0", "1", "2"]
