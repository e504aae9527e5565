"""The one way nnctl writes a file: whole or not at all.

Bytes go to a hidden temporary file in the target's folder (`.<name>.<random>.tmp`), are flushed and
fsynced, and only then renamed over the target, an atomic step on one file system. A reader (or a
process killed at any moment) therefore sees the old file or the new one, never half of one. Leftover
temporaries of a killed process match `TEMP_GLOB`; `remove_leftovers` deletes them.

A failure to write (disk full, read-only file system, no permission) becomes one `WriteFailed` line naming
the file, with the temporary removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nnctl.errors import WorkError

TEMP_GLOB = ".*.tmp"
CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


class WriteFailed(WorkError):
    """A file could not be written; the message names it and the reason (exit code 1)."""


def describe_os_error(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def file_in_the_way(path: Path) -> Path | None:
    """The first of `path`'s folders that exists as something other than a folder (a file where a folder
    was to be made), or None."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


@contextlib.contextmanager
def atomic_file(path: str | Path, what: str = "file") -> Iterator[BinaryIO]:
    """Open a temporary file for writing bytes; on leaving the block without error it replaces `path`.

    `what` names the file in the error message ("checkpoint", "picture", ...)."""
    path = Path(path)
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:     # the name is known before the file exists, so a Ctrl-C at any moment leaves none
            temp = temporary_name(path)
            try:
                fd = os.open(temp, CREATE_NEW, 0o666)       # the umask applies, as to any new file
                break
            except OSError as exc:      # not created: another writer's name, or no way to create one here
                temp = None
                if not isinstance(exc, FileExistsError):
                    raise
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        temp = None
    except OSError as exc:
        blocker = file_in_the_way(path)
        reason = f"{blocker} is a file, not a folder" if blocker is not None else describe_os_error(exc)
        raise WriteFailed(f"{path}: cannot write the {what} ({reason})") from None
    except Exception as exc:
        interruption = hidden_interruption(exc)
        if interruption is not None:        # a cleanup error raised while Ctrl-C or SIGTERM was unwinding
            raise interruption from None
        raise
    finally:
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)


def temporary_name(path: Path) -> str:
    """A fresh `.<name>.<random>.tmp` beside `path` (48 random bits; creating it with O_EXCL checks it is new)."""
    return str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")


def hidden_interruption(exc: BaseException) -> BaseException | None:
    """The KeyboardInterrupt (or other non-Exception, such as SIGTERM's Terminated) that `exc` was raised
    while handling, if any: a writer's cleanup that fails mid-interruption must not turn Ctrl-C into an
    error."""
    cause = exc.__context__          # Python keeps context chains free of cycles
    while cause is not None:
        if not isinstance(cause, Exception):
            return cause
        cause = cause.__context__
    return None


def write_bytes_atomic(path: str | Path, data: bytes, what: str = "file") -> None:
    with atomic_file(path, what) as handle:
        handle.write(data)


def write_text_atomic(path: str | Path, text: str, what: str = "file") -> None:
    write_bytes_atomic(path, text.encode("utf-8"), what)


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Delete temporaries that a killed writer left in `folder`; returns what was removed."""
    removed = []
    for leftover in Path(folder).glob(TEMP_GLOB):
        if leftover.is_file():
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
            removed.append(leftover)
    return removed
