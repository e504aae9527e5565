"""Ctrl-C (SIGINT) and SIGTERM ask a run to stop at the next step boundary instead of killing it mid-step.

While a run trains, the handlers only record the signal; the loop checks `requested` after every step and
after every epoch, saves a checkpoint at that exact position and ends the run with exit code 128 + the
signal's number (130 for Ctrl-C, 143 for SIGTERM). A second Ctrl-C raises KeyboardInterrupt at once, for
a person who does not want to wait: the last checkpoint on disk is then the one kept.
Handlers can only be installed from the main thread; elsewhere (a run inside a worker thread) signals
keep their usual behaviour. A signal the process was started ignoring (`nohup`, a background job of a
script) stays ignored, as Unix programs do.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(Exception):
    """Raised by the loop at a step boundary after a stop signal; `signum` is the signal's number."""

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
        self.previous: dict[int, object] = {}

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signum

    def check(self) -> None:
        """Raise StopRequested if a stop signal has arrived."""
        if self.requested is not None:
            raise StopRequested(self.requested)

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
