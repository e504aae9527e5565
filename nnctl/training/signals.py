"""Ctrl-C (SIGINT) and SIGTERM stop a run cleanly, at any moment: the report is always written.

While a run trains, the handlers only record the signal; the loop checks `requested` after every step and
after every epoch, saves a checkpoint at that exact position and ends the run with exit code 128 + the
signal's number (130 for Ctrl-C, 143 for SIGTERM). A second Ctrl-C during training raises
KeyboardInterrupt at once, for a person who does not want to wait: the exact-position checkpoint is then
skipped and the last checkpoint on disk (always whole: writes are atomic) is the one kept.

Once the run is ending (`finishing`: saving, the final evaluation, curves and report), signals are only
recorded: the final evaluation checks `pending()` between batches and stops, and the report is written
whatever arrives, so no ending loses its report.
Handlers can only be installed from the main thread; elsewhere (a run inside a worker thread) signals
keep their usual behaviour. A signal the process was started ignoring (`nohup`, a background job of a
script) stays ignored, as Unix programs do.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(Exception):
    """Raised at a step boundary (or between evaluation batches) after a stop signal; `signum` is its
    number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopSignals:
    """Context manager installing the recording handlers (and restoring the previous ones on exit)."""

    def __init__(self):
        self.requested: int | None = None
        self._finishing = False
        self.previous: dict[int, object] = {}

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if not self._finishing and self.requested == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if self.requested is None:
            self.requested = signum

    @property
    def finishing(self) -> bool:
        """Is the run ending (signals only recorded, never raised)?"""
        return self._finishing

    def begin_ending(self) -> None:
        """From now on the run is ending: a second Ctrl-C is recorded, never raised, so no ending loses its
        report. Called first thing by every ending, and again after `saving`."""
        self._finishing = True

    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        """Inside: the exact-position save of an interrupted run, which a second Ctrl-C may cut short (a
        person who does not want to wait); on leaving, however it is left, the run is ending again."""
        self._finishing = False
        try:
            yield
        finally:
            self._finishing = True

    def check(self) -> None:
        """Raise StopRequested if a stop signal has arrived."""
        if self.requested is not None:
            raise StopRequested(self.requested)

    def pending(self) -> int | None:
        """The stop signal that has arrived, if any (for work that stops itself, e.g. an evaluation)."""
        return self.requested

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is signal.SIG_IGN:   # started ignoring it (nohup, `cmd &`): keep so
                    continue
                self.previous[signum] = signal.signal(signum, self.handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}


class Terminated(BaseException):
    """SIGTERM outside a run (loading data, downloading, evaluating): raised like KeyboardInterrupt so
    that every cleanup runs (temporary files, half-made folders); the command exits with 143."""


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()
