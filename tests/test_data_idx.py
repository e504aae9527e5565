import gzip

import numpy as np
import pytest

from nnctl.data.idx import read_idx
from nnctl.errors import InputError

# Two 2x3 uint8 images, written out byte by byte: magic 0x00000803, sizes 2, 2, 3, then 12 pixels.
IMAGES = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3,
                0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255])
LABELS = bytes([0, 0, 8, 1, 0, 0, 0, 4, 7, 0, 9, 3])


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_reads_uint8_images_exactly(tmp_path):
    array = read_idx(write(tmp_path, "images", IMAGES))
    assert array.dtype == np.uint8
    assert array.shape == (2, 2, 3)
    np.testing.assert_array_equal(array, [[[0, 1, 2], [3, 4, 5]], [[250, 251, 252], [253, 254, 255]]])


def test_reads_labels_exactly(tmp_path):
    np.testing.assert_array_equal(read_idx(write(tmp_path, "labels", LABELS)), [7, 0, 9, 3])


def test_gzip_is_detected_by_content_and_gives_the_same_array(tmp_path):
    raw = read_idx(write(tmp_path, "images", IMAGES))
    packed = read_idx(write(tmp_path, "images.gz", gzip.compress(IMAGES)))
    unnamed = read_idx(write(tmp_path, "images.bin", gzip.compress(IMAGES)))
    np.testing.assert_array_equal(packed, raw)
    np.testing.assert_array_equal(unnamed, raw)


def test_big_endian_int16_comes_back_native(tmp_path):
    data = bytes([0, 0, 0x0B, 1, 0, 0, 0, 3]) + np.array([-2, 300, 7], dtype=">i2").tobytes()
    array = read_idx(write(tmp_path, "shorts", data))
    assert array.dtype == np.dtype(np.int16) and array.dtype.isnative
    np.testing.assert_array_equal(array, [-2, 300, 7])


def test_bad_magic_names_the_file(tmp_path):
    path = write(tmp_path, "not-idx", b"\x01\x02\x03\x04rest")
    with pytest.raises(InputError) as info:
        read_idx(path)
    assert str(info.value) == (f"{path}: not an IDX file (magic number 0x01020304; expected 0x0000, "
                               "a type code and a dimension count)")


def test_empty_file(tmp_path):
    path = write(tmp_path, "empty", b"")
    with pytest.raises(InputError, match="the file is empty"):
        read_idx(path)


def test_truncated_data(tmp_path):
    path = write(tmp_path, "short", IMAGES[:-1])
    with pytest.raises(InputError) as info:
        read_idx(path)
    assert str(info.value) == f"{path}: truncated IDX file: shape (2, 2, 3) needs 12 bytes of data, found 11"


def test_extra_bytes_are_damage(tmp_path):
    path = write(tmp_path, "long", IMAGES + b"\x00")
    with pytest.raises(InputError) as info:
        read_idx(path)
    assert str(info.value) == f"{path}: damaged IDX file: shape (2, 2, 3) needs 12 bytes of data, found 13"


def test_truncated_header(tmp_path):
    path = write(tmp_path, "header", IMAGES[:10])
    with pytest.raises(InputError) as info:
        read_idx(path)
    assert str(info.value) == f"{path}: damaged IDX header (3 dimensions, file has 10 bytes)"


def test_truncated_gzip_names_the_file(tmp_path):
    packed = gzip.compress(IMAGES)
    path = write(tmp_path, "cut.gz", packed[: len(packed) - 6])
    with pytest.raises(InputError) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith(f"{path}: damaged gzip data (")
    assert message.endswith("); delete the file and fetch it again")


def test_missing_file(tmp_path):
    path = tmp_path / "absent"
    with pytest.raises(InputError) as info:
        read_idx(path)
    assert str(info.value) == f"{path}: cannot read the file (No such file or directory)"
