"""The two kinds of failure nnctl reports to a person, each with its exit code.

`InputError` (exit 2) means the user gave something wrong: a config key, a file, a flag.
`WorkError` (exit 1) means something failed while working: a download, a diverging run.
Both carry a one-line message; the CLI prints it without a traceback unless `--debug` is given.
"""

from __future__ import annotations


class NnctlError(Exception):
    """Base class: a message a person can act on, and the process exit code that goes with it."""

    exit_code = 1


class InputError(NnctlError):
    """Bad input from the user (config, checkpoint file, command-line value). Exit code 2."""

    exit_code = 2


class WorkError(NnctlError):
    """A failure while doing the work (download, divergence, I/O). Exit code 1."""

    exit_code = 1


class ConfigError(InputError):
    """A config value is wrong. Formats as `FILE: KEY.PATH: MESSAGE`.

    Code deep inside validation raises it with only `path` and `message`; the loader that knows which
    file is being read fills in `source` before it reaches the user.
    """

    def __init__(self, path: str, message: str, source: str | None = None):
        self.path = path
        self.message = message
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.path) if p]
        return ": ".join(parts + [self.message])

    def with_source(self, source: str) -> "ConfigError":
        if self.source is None:
            self.source = source
        self.args = (str(self),)
        return self


class Interrupted(NnctlError):
    """A stop signal ended the work; what could be saved was saved. Exit code 128 + the signal's number, as
    shells expect: 130 for Ctrl-C (SIGINT, the default), 143 for SIGTERM."""

    exit_code = 130

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code
