"""Lines for the person watching, on a stream whose reader may go away (`nnctl train ... 2>&1 | head`).

A reader that closes the pipe must never end the work: the first write that finds the pipe closed points the
stream's file descriptor at /dev/null, and everything after it, the final flush at exit included, goes nowhere.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO


def silence(stream: TextIO) -> None:
    """Send everything `stream` is still to write (buffered or later) to /dev/null."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (AttributeError, OSError, ValueError):       # not a file descriptor (a test's buffer): nothing to do
        pass


def say(message: str, stream: TextIO | None = None) -> bool:
    """Print one line on `stream` (stderr by default); False once its reader has gone away."""
    stream = sys.stderr if stream is None else stream
    try:
        print(message, file=stream, flush=True)
        return True
    except BrokenPipeError:
        silence(stream)
        return False
