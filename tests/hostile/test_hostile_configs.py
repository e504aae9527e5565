"""Hostile configs and data files: each is refused before any work, in one line naming the file and the
key, exit code 2, nothing written, within bounded memory (all cases run in one address-space-capped
process, see hostile_kit.py) and without hanging (each case has an alarm)."""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import zipfile

import numpy as np
import pytest

from hostile_kit import (GOOD, Case, check, images_config, images_npz, npy_bytes, npz_bytes, patch_central_size,
                         replace, run_cases, zip_of)

TRAIN = ["train", "c.yaml", "--out", "runs"]
TOO_MANY = "more than 100000 values once aliases (*name) are expanded"
FINITE = "expected a finite number within float32's range (|v| <= 3.4e+38), got"


def alias_chain(levels: int = 8, width: int = 9) -> str:
    """A flow list whose anchors nest `levels` deep, each level repeating the one below `width` times: its
    text is short, its expansion width ** (levels + 1) values."""
    text = "&l0 [" + ", ".join(["0"] * width) + "]"
    for k in range(1, levels + 1):
        text = f"&l{k} [{text}, " + ", ".join([f"*l{k - 1}"] * (width - 1)) + "]"
    return text


def laughs() -> str:
    lines = ['a0: &a0 ["lol"' + ', "lol"' * 8 + ']']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def endless_pipe(path):
    """A named pipe that `yes` writes into for as long as anyone reads."""
    os.mkfifo(path)
    WRITERS.append(subprocess.Popen(["sh", "-c", f"exec yes > '{path}'"], stderr=subprocess.DEVNULL))


WRITERS: list[subprocess.Popen] = []


def gz_idx_header(shape: tuple[int, ...]) -> bytes:
    """A gzip-compressed IDX file whose header declares `shape` of uint8 but holds 16 bytes of data."""
    header = bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return gzip.compress(header + bytes(16), mtime=0)


LYING_IDX = {"mn/train-images-idx3-ubyte.gz": gz_idx_header((2 ** 31, 28, 28)),
             "mn/train-labels-idx1-ubyte.gz": gz_idx_header((4,)),
             "mn/t10k-images-idx3-ubyte.gz": gz_idx_header((4, 28, 28)),
             "mn/t10k-labels-idx1-ubyte.gz": gz_idx_header((4,))}


def deflated_npz_with_declared_size(size: int) -> bytes:
    entries = [("x.npy", npy_bytes(np.zeros((4, 2), np.float32)), zipfile.ZIP_DEFLATED),
               ("y.npy", npy_bytes(np.arange(4)), zipfile.ZIP_STORED)]
    return patch_central_size(zip_of(entries), "x.npy", size)


def lying_npy_header() -> bytes:
    """An .npy entry whose header declares a (1000000, 1000000) float64 array over 64 bytes of data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (1000000, 1000000)})
    return buffer.getvalue() + bytes(64)


LYING_NPY = lying_npy_header()
BOMB_NPZ = deflated_npz_with_declared_size(10 ** 9)
BOMB_INFO = zipfile.ZipFile(io.BytesIO(BOMB_NPZ)).getinfo("x.npy")
RAGGED_WEIGHTS = "{type: dense, units: 16, weights: {W: [[1, 2], [3]]}}"
BIG_WEIGHTS = "[" + ", ".join(["[" + ", ".join(["0"] * 100) + "]"] * 200) + "]"
SET_BOMB = "regularization.x=" + alias_chain()
DEEP_SET = "regularization.x=" + "[" * 100 + "]" * 100
LONG_KEY = ".".join(["a"] * 100) + "=1"

CASES = [
    # --- YAML: size, nesting, aliases
    Case("alias_bomb_unused", TRAIN, f"c.yaml: line 6: {TOO_MANY}", files={"c.yaml": laughs() + GOOD}),
    Case("alias_bomb_in_weights", TRAIN, f"c.yaml: line 6: {TOO_MANY}",
         files={"c.yaml": replace("{type: dense, units: 16}", "{type: dense, units: 16, weights: {W: "
                                  + alias_chain() + "}}")}),
    Case("recursive_alias", TRAIN, "c.yaml: line 7: an alias (*name) inside the very list or mapping it names "
                                   "(a recursive alias)", files={"c.yaml": replace("- {type: relu}", "- &r [*r]")}),
    Case("fifty_megabytes", TRAIN, "c.yaml: more than 256.0 KiB of YAML, the limit for a config file; nothing was "
                                   "read further", files={"c.yaml": GOOD + "#" + "x" * (50 << 20) + "\n"}),
    Case("dev_zero", ["train", "/dev/zero", "--out", "runs"], "/dev/zero: more than 256.0 KiB of YAML, the limit "
                                                              "for a config file; nothing was read further"),
    Case("dev_urandom", ["train", "/dev/urandom", "--out", "runs"],
         "/dev/urandom: more than 256.0 KiB of YAML, the limit for a config file; nothing was read further"),
    Case("endless_pipe", ["train", "pipe.yaml", "--out", "runs"], "pipe.yaml: more than 256.0 KiB of YAML, the "
                                                                  "limit for a config file; nothing was read further",
         files={"pipe.yaml": endless_pipe}),
    # 900 levels: below the 1000 at which newer libyaml builds stop scanning with their own one-line message
    Case("nested_lists", TRAIN, "c.yaml: line 11, column 80: nested more than 64 levels deep",
         files={"c.yaml": GOOD + "regularization: " + "[" * 900 + "]" * 900 + "\n"}),
    Case("nested_mappings", TRAIN, "c.yaml: line 11, column 266: nested more than 64 levels deep",
         files={"c.yaml": GOOD + "regularization: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"}),
    Case("python_tag", TRAIN, "c.yaml: line 1, column 7: invalid YAML: could not determine a constructor for "
                              "the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
         files={"c.yaml": replace("name: tiny", "name: !!python/object/apply:os.system ['echo hacked']")}),
    Case("long_string_value", TRAIN, "c.yaml: name: expected a folder name of letters, digits, '.', '_' or '-', "
                                     f"got {'a' * 59 + ' '!r}... (100000 characters)",
         files={"c.yaml": replace("name: tiny", "name: '" + "a" * 59 + " " + "a" * 99940 + "'")}),
    # --- --set values are bounded like config files
    Case("set_alias_bomb", TRAIN + ["--set", SET_BOMB], f"--set {SET_BOMB[:60] + '...'!r}: line 1: {TOO_MANY}",
         files={"c.yaml": GOOD}),
    Case("set_deep_value", TRAIN + ["--set", DEEP_SET], f"--set {DEEP_SET[:60] + '...'!r}: line 1, column 65: "
                                                        f"nested more than 64 levels deep", files={"c.yaml": GOOD}),
    Case("set_long_key_path", TRAIN + ["--set", LONG_KEY], f"--set {LONG_KEY[:60] + '...'!r}: a key path of 100 "
                                                           f"parts, more than the limit of 64", files={"c.yaml": GOOD}),
    # --- layer lists
    Case("repeat_a_billion", TRAIN, "c.yaml: model.layers[0].repeat: expands to more than 1000 layers, the limit",
         files={"c.yaml": replace("    - {type: dense, units: 16}\n", "    - repeat: 1000000000\n      layers: "
                                  "[{type: relu}]\n    - {type: dense, units: 16}\n")}),
    Case("nested_repeats", TRAIN, "c.yaml: model.layers[0].layers[0].repeat: expands to more than 1000 layers, "
                                  "the limit",
         files={"c.yaml": replace("    - {type: dense, units: 16}\n", "    - repeat: 1000\n      layers: [{repeat: "
                                  "1000, layers: [{repeat: 1000, layers: [{type: relu}]}]}]\n    - {type: dense, "
                                  "units: 16}\n")}),
    Case("a_thousand_and_one_layers", TRAIN, "c.yaml: model.layers: expands to more than 1000 layers, the limit",
         files={"c.yaml": replace("    - {type: relu}\n", "    - {type: relu}\n" * 1001)}),
    Case("repeated_weights", TRAIN, "c.yaml: model.layers[0].repeat: expands to more than 100000 config values, "
                                    "the limit",
         files={"c.yaml": replace("    - {type: dense, units: 16}\n", "    - repeat: 60\n      layers: [{type: "
                                  "dense, units: 100, weights: {W: " + BIG_WEIGHTS + "}}]\n")}),
    Case("resolved_config_too_long", TRAIN,
         "c.yaml: model: the resolved config would take about 1.2 MiB, more than the 256.0 KiB nnctl reads back "
         "from a run folder (repeat blocks copy their weights: lists)",
         files={"c.yaml": replace("    - {type: dense, units: 16}\n", "    - repeat: 5\n      layers: [{type: dense, "
                                  "units: 19000, weights: {b: [" + ", ".join(["0.123456789"] * 19000) + "]}}, "
                                  "{type: dense, units: 2}]\n    - {type: dense, units: 16}\n")}),
    # --- sizes: estimated from shapes against memory before anything is allocated
    Case("units_10e12", TRAIN, "c.yaml: model.layers[0].units: the network up to this layer needs about 2.3 PiB of "
                               "memory (parameters with gradients and optimizer state, and the activations of a "
                               "batch of 216), more than the 1.0 GiB available",
         files={"c.yaml": replace("units: 16", "units: 1000000000000")}),
    Case("filters_10e12", TRAIN, "c.yaml: model.layers[0].filters: the network up to this layer needs about "
                                 "363.8 TiB of memory (parameters with gradients and optimizer state, and the "
                                 "activations of a batch of 5), more than the 1.0 GiB available",
         files={"c.yaml": images_config("    - {type: conv2d, filters: 1000000000000, kernel: 3}\n"
                                        "    - {type: flatten}\n    - {type: dense, units: 2}"),
                "images.npz": images_npz()}),
    Case("samples_10e12", TRAIN, "c.yaml: data.samples: 1000000000000 points of 2 features need about 72.8 TiB "
                                 "of memory, more than the 1.0 GiB available",
         files={"c.yaml": replace("normalize: none", "normalize: none, samples: 1000000000000")}),
    Case("features_10e9", TRAIN, "c.yaml: data.features: 300 points of 1000000000 features need about 6.5 TiB of "
                                 "memory, more than the 1.0 GiB available",
         files={"c.yaml": replace("dataset: spiral, normalize: none", "dataset: blobs, normalize: none, "
                                  "features: 1000000000")}),
    Case("classes_10e9", TRAIN, "c.yaml: data.classes: expected an integer from 2 to 100000, got 1000000000",
         files={"c.yaml": replace("normalize: none", "normalize: none, samples: 1000000000, classes: 1000000000")}),
    Case("npz_label_10e9", TRAIN, "{dir}/images.npz: y: label 1000000000, more than the limit of 100000 classes "
                                  "(labels 0 to 99999)",
         files={"c.yaml": images_config("    - {type: flatten}\n    - {type: dense, units: 2}"),
                "images.npz": npz_bytes(x=np.zeros((4, 1, 4, 4), np.uint8), y=np.array([0, 1, 2, 10 ** 9]))}),
    Case("csv_label_10e9", TRAIN, "{dir}/d.csv: labels: label 1000000000, more than the limit of 100000 classes "
                                  "(labels 0 to 99999)",
         files={"c.yaml": replace("dataset: spiral, normalize: none", "dataset: csv, path: d.csv, normalize: none"),
                "d.csv": "0.5,0.1,0\n0.2,0.3,1\n0.1,0.1,1000000000\n0.4,0.4,2\n0.9,0.8,1\n"}),
    Case("augment_shift_10e9", TRAIN, "c.yaml: train.augment.shift: expected at most 3 for 4x4 images, got "
                                      "1000000000",
         files={"c.yaml": images_config("    - {type: flatten}\n    - {type: dense, units: 2}",
                                        ", augment: {shift: 1000000000}"), "images.npz": images_npz()}),
    Case("conv_padding_10e9", TRAIN, "c.yaml: model.layers[0].padding: padding 1000000000x1000000000 is wider "
                                     "than the 4x4 input it pads",
         files={"c.yaml": images_config("    - {type: conv2d, filters: 2, kernel: 3, padding: 1000000000}\n"
                                        "    - {type: flatten}\n    - {type: dense, units: 2}"),
                "images.npz": images_npz()}),
    Case("pool_kernel_taps", TRAIN, "c.yaml: model.layers[0].kernel: kernel 257x257 has 66049 taps, more than the "
                                    "limit of 65536",
         files={"c.yaml": images_config("    - {type: maxpool2d, kernel: 257, padding: 100}\n"
                                        "    - {type: flatten}\n    - {type: dense, units: 2}"),
                "images.npz": images_npz(n=4, side=100)}),
    # --- weights: given values are finite float32 numbers in rectangular lists
    Case("weights_nan", TRAIN, f"c.yaml: model.layers[2].weights.b[0]: {FINITE} nan",
         files={"c.yaml": replace("{type: dense, units: 3}", "{type: dense, units: 3, weights: {b: [.nan, 0, 0]}}")}),
    Case("weights_minus_inf", TRAIN, f"c.yaml: model.layers[2].weights.b[2]: {FINITE} -inf",
         files={"c.yaml": replace("{type: dense, units: 3}", "{type: dense, units: 3, weights: {b: [0, 0, -.inf]}}")}),
    Case("weights_null", TRAIN, f"c.yaml: model.layers[2].weights.b[1]: {FINITE} null",
         files={"c.yaml": replace("{type: dense, units: 3}", "{type: dense, units: 3, weights: {b: [0, null, 0]}}")}),
    Case("weights_1e300", TRAIN, f"c.yaml: model.layers[2].weights.b[0]: {FINITE} 1e+300",
         files={"c.yaml": replace("{type: dense, units: 3}", "{type: dense, units: 3, weights: {b: [1.0e300, 0, "
                                  "0]}}")}),
    Case("weights_mapping_inside", TRAIN, f"c.yaml: model.layers[2].weights.b[0]: {FINITE} {{{{a: 1}}}}",
         files={"c.yaml": replace("{type: dense, units: 3}", "{type: dense, units: 3, weights: {b: [{a: 1}, 0, "
                                  "0]}}")}),
    Case("weights_word", TRAIN, f"c.yaml: model.layers[2].weights.b[0]: {FINITE} 'one'",
         files={"c.yaml": replace("{type: dense, units: 3}", "{type: dense, units: 3, weights: {b: [one, 0, 0]}}")}),
    Case("weights_bool", TRAIN, f"c.yaml: model.layers[2].weights.b[0]: {FINITE} true",
         files={"c.yaml": replace("{type: dense, units: 3}", "{type: dense, units: 3, weights: {b: [true, 0, 0]}}")}),
    Case("weights_ragged", TRAIN, "c.yaml: model.layers[0].weights.W[1]: expected a list of shape (2,) like W[0], "
                                  "got a list of shape (1,)",
         files={"c.yaml": replace("{type: dense, units: 16}", RAGGED_WEIGHTS)}),
    # --- data files
    Case("npz_zero_features", TRAIN, "{dir}/d.npz: x has shape (10, 0): its samples hold no values",
         files={"c.yaml": replace("dataset: spiral, normalize: none", "dataset: npz, path: d.npz"),
                "d.npz": npz_bytes(x=np.zeros((10, 0), np.float32), y=np.arange(10) % 2)}),
    Case("npz_zip_bomb_entry", TRAIN, f"{{dir}}/d.npz: entry 'x' declares 1000000000 bytes from "
                                      f"{BOMB_INFO.compress_size} stored bytes in a file of {len(BOMB_NPZ)}, which "
                                      f"cannot be true; nothing was loaded",
         files={"c.yaml": replace("dataset: spiral, normalize: none", "dataset: npz, path: d.npz"), "d.npz": BOMB_NPZ}),
    Case("npz_lying_header", TRAIN, f"{{dir}}/d.npz: entry 'x' declares shape (1000000, 1000000) of float64, "
                                    f"which does not match its {len(LYING_NPY)} bytes; nothing was loaded",
         files={"c.yaml": replace("dataset: spiral, normalize: none", "dataset: npz, path: d.npz"),
                "d.npz": zip_of([("x.npy", LYING_NPY, zipfile.ZIP_STORED),
                                 ("y.npy", npy_bytes(np.arange(4)), zipfile.ZIP_STORED)])}),
    Case("idx_gzip_declares_terabytes", TRAIN, "{dir}/mn/train-images-idx3-ubyte.gz: holds 1.5 TiB of data, more "
                                               "than the 1.0 GiB of memory available",
         files={"c.yaml": replace("dataset: spiral, normalize: none",
                                  "dataset: mnist, path: mn, download: false, verify: false"), **LYING_IDX}),
    Case("idx_unknown_copy_refused_before_reading", TRAIN,
         "{dir}/mn/train-images-idx3-ubyte.gz: SHA-256 "
         "0ca71684d5cdf9a1bc4b279bd2ad6208df30b04ca9af222a943678535aa75100 matches no known copy of mnist's train-images-idx3-ubyte.gz (damaged, or other data); replace it, or set "
         "data.verify: false to train on your own IDX files",
         files={"c.yaml": replace("dataset: spiral, normalize: none", "dataset: mnist, path: mn, download: false"),
                **LYING_IDX}),
    Case("csv_larger_than_memory", TRAIN, "{dir}/d.csv: a CSV file of 117.2 KiB needs about 7.3 MiB of memory to "
                                          "read, more than the 1.0 MiB available; save the data with numpy.savez "
                                          "instead",
         files={"c.yaml": replace("dataset: spiral, normalize: none", "dataset: csv, path: d.csv"),
                "d.csv": "0.25,0.5,1\n" * 10000 + "0.5,0.25,0\n" * 910}, env={"NNCTL_MEMORY_LIMIT": "1M"}),
    # --- the command line
    Case("folder_as_config", ["train", ".", "--out", "runs"], ".: is a folder, not a config file"),
    Case("gradcheck_eps_1e300", ["gradcheck", "c.yaml", "--eps", "1e300"],
         "nnctl gradcheck: Invalid value for '--eps': 1e+300 is not in the range 0<x<=0.1. (see nnctl gradcheck "
         "--help)", files={"c.yaml": GOOD}),
    Case("bad_memory_limit", TRAIN, "NNCTL_MEMORY_LIMIT='lots': expected a size in bytes, e.g. 2G or 1500M",
         files={"c.yaml": GOOD}, env={"NNCTL_MEMORY_LIMIT": "lots"}),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_configs")
    try:
        yield root, run_cases(CASES, root)
    finally:
        for writer in WRITERS:
            writer.kill()
            writer.wait()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hostile_config_is_refused_in_one_line(case, results):
    root, found = results
    check(case, found, root)
