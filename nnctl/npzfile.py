"""Reading .npz archives (zip files of .npy entries) from strangers: no pickle, memory known before reading.

`inspect_npz` reads only the zip's end record, its directory and each entry's .npy header, and checks
everything an entry declares before a byte of array data is read:
    the directory     entry count and size against the file size and the memory budget
    each entry        a plain name ending in .npy, stored or deflated (not encrypted), its compressed size
                      within the file, its uncompressed size at most MAX_INFLATE_RATIO times the compressed
                      one (no zip bombs), and exactly the .npy header plus shape x item size
    each array        a plain dtype of an allowed kind (never objects or records), any shape
`read_entries` then reads the chosen entries (the caller checks their shapes against what it expects
first), after checking that their declared sizes together fit in memory; zipfile never inflates an
entry beyond its declared size, so the check bounds what is allocated.

Every problem is an InputError naming the file and the entry, ending in "nothing was loaded".

`write_npz` is the writing side: the same format as numpy.savez (uncompressed, no pickle), written so that
an interruption at any moment (Ctrl-C, SIGTERM) abandons the half-written zip and leaves as itself, never
as a zipfile error that hides it.
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nnctl.errors import InputError
from nnctl.limits import MAX_INFLATE_RATIO, MAX_NAME_CHARS, exceeds_budget, show_bytes

NPY_SUFFIX = ".npy"
END_RECORD = struct.Struct("<4s4H2LH")          # end of central directory
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
BYTES_PER_DIRECTORY_ENTRY = 1024                # what Python's zipfile keeps per entry, generously


@dataclass(frozen=True)
class Entry:
    """One array of an archive as its headers declare it (no data read)."""

    name: str               # the key without .npy, e.g. "param/dense1.W"
    info: zipfile.ZipInfo
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return self.info.file_size


class _WrittenArchive(zipfile.ZipFile):
    """A zip being written by write_npz, which closes it on success and abandons it otherwise."""

    def __del__(self) -> None:
        """Nothing: ZipFile's finalizer would close an abandoned archive, writing into a closed file or
        failing on a half-built object, and print that error ("Exception ignored in ...")."""


def write_npz(handle: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` ({name: array}) to the open binary `handle` as an .npz archive (entries name.npy).

    If anything interrupts the writing (a signal handler's KeyboardInterrupt can arrive at any line, even
    inside zipfile between marking an entry open and returning it), the archive is abandoned unclosed and
    the interruption leaves as itself: closing would raise zipfile's "open writing handle" error in its
    place. The caller discards the half-written file (nnctl.atomic)."""
    archive = _WrittenArchive(handle, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)
    for name, value in arrays.items():
        with archive.open(name + NPY_SUFFIX, mode="w", force_zip64=True) as entry:
            np.lib.format.write_array(entry, np.asanyarray(value), allow_pickle=False)
    archive.close()


def _fail(path: Path, problem: str) -> InputError:
    """'FILE: PROBLEM; nothing was loaded'."""
    return InputError(f"{path}: {problem}; nothing was loaded")


def directory_size(path: Path, file_size: int, what: str) -> tuple[int, int]:
    """(entries, bytes) the zip's central directory declares, from its end record (zip64 too)."""
    with open(path, "rb") as handle:
        tail_size = min(file_size, END_RECORD.size + 65535 + ZIP64_LOCATOR.size)
        handle.seek(file_size - tail_size)
        tail = handle.read(tail_size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + END_RECORD.size > len(tail):
            raise _fail(path, f"not a readable .npz {what} (no zip end record)")
        _, _, _, _, entries, cd_size, _, _ = END_RECORD.unpack_from(tail, at)
        if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
            if at < ZIP64_LOCATOR.size:
                raise _fail(path, f"not a readable .npz {what} (damaged zip64 end record)")
            signature, _, offset, _ = ZIP64_LOCATOR.unpack_from(tail, at - ZIP64_LOCATOR.size)
            if signature != b"PK\x06\x07" or offset + ZIP64_END_RECORD.size > file_size:
                raise _fail(path, f"not a readable .npz {what} (damaged zip64 end record)")
            handle.seek(offset)
            record = handle.read(ZIP64_END_RECORD.size)
            fields = ZIP64_END_RECORD.unpack(record)
            if fields[0] != b"PK\x06\x06":
                raise _fail(path, f"not a readable .npz {what} (damaged zip64 end record)")
            entries, cd_size = fields[7], fields[8]
    return entries, cd_size


def inspect_npz(path: str | Path, kinds: str = "biuf", what: str = "archive") -> dict[str, Entry]:
    """The entries of the archive at `path` by name, every declaration checked (see the module
    docstring); `kinds` are the dtype kinds accepted (numpy's codes: b bool, i/u integers, f floats,
    U text); `what` names the file in messages ("not a readable .npz checkpoint")."""
    path = Path(path)
    try:
        file_size = os.stat(path).st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not zipfile.is_zipfile(path):
        raise _fail(path, f"not a readable .npz {what} (not a zip archive)")
    try:
        entries, cd_size = directory_size(path, file_size, what)
    except OSError as exc:
        raise _fail(path, f"not a readable .npz {what} ({_reason(exc)})") from None
    if cd_size > file_size:
        raise _fail(path, f"its zip directory declares {cd_size} bytes, more than the file's {file_size}")
    budget = exceeds_budget(entries * BYTES_PER_DIRECTORY_ENTRY)
    if budget is not None:
        raise _fail(path, f"its zip directory declares {entries} entries, more than {show_bytes(budget)} of "
                          f"memory can list")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            found: dict[str, Entry] = {}
            for info in infos:
                entry = _check_entry(path, archive, info, file_size, kinds)
                if entry.name in found:
                    raise _fail(path, f"entry {entry.name!r} appears twice")
                found[entry.name] = entry
            return found
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            ValueError) as exc:
        raise _fail(path, f"not a readable .npz {what} ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _check_entry(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, file_size: int,
                 kinds: str) -> Entry:
    raw = info.filename
    name = raw[:-len(NPY_SUFFIX)] if raw.endswith(NPY_SUFFIX) else raw
    shown = name if len(name) <= 80 else name[:80] + "..."
    if not raw.endswith(NPY_SUFFIX) or len(name) > MAX_NAME_CHARS or not name.isprintable() or not name:
        raise _fail(path, f"unexpected entry {shown!r} (entries are .npy arrays with plain names)")
    if info.flag_bits & 0x1:
        raise _fail(path, f"entry {shown!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _fail(path, f"entry {shown!r} uses an unsupported compression")
    if info.compress_size > file_size or info.file_size > MAX_INFLATE_RATIO * info.compress_size + 4096 or \
            (info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size):
        raise _fail(path, f"entry {shown!r} declares {info.file_size} bytes from {info.compress_size} stored "
                          f"bytes in a file of {file_size}, which cannot be true")
    with archive.open(info) as handle:
        try:
            version = np.lib.format.read_magic(handle)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, fortran, dtype = reader(handle)
        except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
            raise _fail(path, f"entry {shown!r} is not a .npy array ({_reason(exc)})") from None
        header = handle.tell()
    if dtype.hasobject:
        raise _fail(path, f"entry {shown!r} holds Python objects (pickle), which nnctl never loads")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in kinds:
        raise _fail(path, f"entry {shown!r} holds {dtype} values, which nnctl does not read")
    if any(not isinstance(d, int) or d < 0 for d in shape) or \
            header + math.prod(shape) * dtype.itemsize != info.file_size:
        raise _fail(path, f"entry {shown!r} declares shape {shape} of {dtype}, which does not match its "
                          f"{info.file_size} bytes")
    return Entry(name, info, dtype, tuple(shape))


def read_entries(path: str | Path, entries: list[Entry], what: str = "archive") -> dict[str, np.ndarray]:
    """The arrays of `entries` (from `inspect_npz` of the same file), after checking that together they
    fit in memory. A damaged entry (bad CRC, short data) is an InputError."""
    path = Path(path)
    total = sum(entry.nbytes for entry in entries)
    budget = exceeds_budget(total)
    if budget is not None:
        raise _fail(path, f"its arrays need {show_bytes(total)} of memory, more than the {show_bytes(budget)} "
                          f"available")
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for entry in entries:
                with archive.open(entry.info) as handle:
                    arrays[entry.name] = np.lib.format.read_array(handle, allow_pickle=False)
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, RuntimeError) as exc:
        raise _fail(path, f"damaged .npz {what} ({_reason(exc)})") from None
    return arrays


def read_npz(path: str | Path, kinds: str = "biuf", what: str = "archive") -> dict[str, np.ndarray]:
    """Every array of the archive at `path`, checked and read as above."""
    entries = inspect_npz(path, kinds, what)
    return read_entries(path, list(entries.values()), what)
