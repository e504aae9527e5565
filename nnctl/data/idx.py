"""The IDX file format of MNIST and Fashion-MNIST, raw or gzip-compressed.

Layout (all integers big-endian):
    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then        d uint32 sizes, then prod(sizes) elements in C order
MNIST images are (N, 28, 28) of type 0x08 (magic number 0x00000803), labels (N,) (0x00000801).
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np

from nnctl.errors import InputError
from nnctl.limits import exceeds_budget, show_bytes

ELEMENT_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file (gzip is detected from the content, not the name).

    Returns an array in native byte order, shaped as the header says (for uint8 data a read-only view
    of the decoded bytes: copy or convert it before writing). A damaged, truncated or non-IDX file raises
    InputError naming the file. Memory is bounded: the file's size, and for gzip the size its header
    declares, are checked against the memory budget before reading, and no more than that is inflated.
    """
    try:
        size = Path(path).stat().st_size
        check_fits(size, path)
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if data[:2] == GZIP_MAGIC:
        data = inflate(data, path)
    return parse_idx(data, str(path))


def check_fits(size: int, path: Path) -> None:
    budget = exceeds_budget(size)
    if budget is not None:
        raise InputError(f"{path}: holds {show_bytes(size)} of data, more than the {show_bytes(budget)} of "
                         f"memory available")


def inflate(data: bytes, path: Path) -> bytes:
    """The uncompressed bytes of a gzip-compressed IDX file: its header first, then exactly the size that
    header declares (plus one byte, so that trailing data is noticed), never more."""
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        head = inflater.decompress(data, 4 + 4 * 255)
        if len(head) < 4 or len(head) < 4 + 4 * head[3]:
            head += inflater.decompress(inflater.unconsumed_tail, 4 + 4 * 255)
        dtype, shape, header_size = idx_header(head, str(path))
        expected = header_size + math.prod(shape) * dtype.itemsize
        check_fits(expected, path)
        data = head + inflater.decompress(inflater.unconsumed_tail, max(1, expected + 1 - len(head)))
        if len(data) <= expected:
            data += inflater.decompress(inflater.unconsumed_tail, 1)
            if not inflater.eof:
                raise zlib.error("the compressed stream ends early")
        return data
    except zlib.error as exc:
        raise InputError(f"{path}: damaged gzip data ({exc}); delete the file and fetch it again") from None


def idx_header(data: bytes, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """(element type, shape, header size in bytes) from the start of an uncompressed IDX file."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in ELEMENT_TYPES:
        found = f"magic number 0x{data[:4].hex()}" if data else "the file is empty"
        raise InputError(f"{name}: not an IDX file ({found}; expected 0x0000, a type code and a dimension count)")
    ndim = data[3]
    header_size = 4 + 4 * ndim
    if ndim == 0 or len(data) < header_size:
        raise InputError(f"{name}: damaged IDX header ({ndim} dimensions, file has {len(data)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    return ELEMENT_TYPES[data[2]], shape, header_size


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Decode the bytes of an uncompressed IDX file; `name` is used in error messages."""
    dtype, shape, header_size = idx_header(data, name)
    expected = math.prod(shape) * dtype.itemsize
    found = len(data) - header_size
    if found != expected:
        what = "truncated" if found < expected else "damaged"
        raise InputError(f"{name}: {what} IDX file: shape {shape} needs {expected} bytes of data, "
                         f"found {found}")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))
