"""Checkers of single values that only the config's sections use: a run name, a step count or duration, a
health interval, the sanity mode (nnctl.options.spec has the general ones)."""

from __future__ import annotations

import re
from typing import Any

from nnctl.options.spec import Choice, Mismatch

MAX_NAME = 100      # characters: a folder name, with room for what sweeps and --overfit append (255 at most)


def RunName():
    """A folder name: letters, digits, '.', '_', '-' (not starting with '.'), at most MAX_NAME characters,
    or null for the default."""
    pattern = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise Mismatch("a folder name of letters, digits, '.', '_' or '-'")
        if len(value) > MAX_NAME:
            raise Mismatch(f"a folder name of at most {MAX_NAME} characters")
        return value

    return check


_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|sec|min|h)\s*$")


_UNIT_SECONDS = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}


def Every():
    """A positive number of steps (an integer) or a duration: a number with s, sec, min or h."""

    def check(value: Any) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        if isinstance(value, str) and (match := _DURATION.match(value)) and float(match.group(1)) > 0:
            return value.strip()
        raise Mismatch("a positive number of steps, or a duration such as 30s, 10min or 2h")

    return check


def SanityMode():
    """warn, error or off (YAML reads a bare `off` as false: taken as off)."""
    words = Choice("warn", "error", "off")

    def check(value: Any) -> str:
        return "off" if value is False else words(value)

    check.choices = words.choices
    return check


def HealthEvery():
    """A positive number of steps, or "auto"."""

    def check(value: Any) -> int | str:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise Mismatch("a positive number of steps or 'auto'")

    return check


def interval(value: int | str) -> tuple[int | None, float | None]:
    """(steps, seconds) from a checked `checkpoint_every` value: one of them set, the other None."""
    if isinstance(value, int):
        return value, None
    number, unit = _DURATION.match(value).groups()
    return None, float(number) * _UNIT_SECONDS[unit]
