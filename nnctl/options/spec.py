"""Declarative option tables: every configurable thing states its keys, types, limits and defaults.

A component (layer, loss, optimizer, schedule, dataset) carries `options: dict[str, Option]`.
`validate(options, given, path)` checks a YAML mapping against such a table and returns a new dict with
defaults filled in, or raises `ConfigError` naming the key path, what was expected and what was found:

    model.layers[2].units: expected a positive integer, got -5
    optimizer.lrr: unknown key (did you mean 'lr'?)
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from nnctl.errors import ConfigError


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class Mismatch(Exception):
    """Raised by a checker: `expected` completes the sentence 'expected ...'."""

    def __init__(self, expected: str):
        super().__init__(expected)
        self.expected = expected


Checker = Callable[[Any], Any]


@dataclass(frozen=True)
class Option:
    """One config key: a checker that normalizes or rejects a value, a default, and a line of docs."""

    check: Checker
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def show(value: Any) -> str:
    """How a found value is quoted in an error message (YAML spelling where it differs from Python)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:60]) + f"... ({len(value)} characters)"
    if isinstance(value, dict):
        return show_mapping(value)
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]" if len(value) <= 6 else f"a list of {len(value)} items"
    return str(value)


def show_mapping(value: dict) -> str:
    """A small flat mapping as YAML writes it inline ({a: 1, b: 'x'}), a larger one by its size; a key holding
    a colon and no value is named as the YAML slip it almost always is ('fc:conv2' for 'fc: conv2')."""
    flat = all(isinstance(k, (str, int, float)) and not isinstance(v, (dict, list)) for k, v in value.items())
    if flat and len(value) <= 4:
        text = "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    else:
        text = f"a mapping of {len(value)} key{'s' if len(value) != 1 else ''}"
    slip = next((k for k, v in value.items() if isinstance(k, str) and v is None and ":" in k.strip(":")), None)
    if slip is not None:
        key, _, rest = slip.partition(":")
        text += (f" (YAML read {slip!r} as one key without a value: put a space after the colon, as in "
                 f"{{{key}: {rest}}})")
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def join_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# ---------------------------------------------------------------------------------------------- checkers

def Int(low: int | None = None, high: int | None = None) -> Checker:
    """An integer (not a bool) within [low, high]."""
    if low == 1 and high is None:
        what = "a positive integer"
    elif low == 0 and high is None:
        what = "a non-negative integer"
    elif low is not None and high is not None:
        what = f"an integer from {low} to {high}"
    elif low is not None:
        what = f"an integer >= {low}"
    else:
        what = "an integer"

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
                value = int(value)
            else:
                raise Mismatch(what)
        if (low is not None and value < low) or (high is not None and value > high):
            raise Mismatch(what)
        return int(value)

    return check


def Float(low: float | None = None, high: float | None = None, low_open: bool = False,
          high_open: bool = False) -> Checker:
    """A finite number within the given bounds (open or closed). Integers are accepted."""
    if low == 0 and high is None and low_open:
        what = "a positive number"
    elif low == 0 and high is None:
        what = "a non-negative number"
    elif low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        what = f"a number in {left}{low:g}, {high:g}{right}"
    elif low is not None:
        what = f"a number {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        what = f"a number {'<' if high_open else '<='} {high:g}"
    else:
        what = "a number"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Mismatch(what)
        if low is not None and (value < low or (low_open and value == low)):
            raise Mismatch(what)
        if high is not None and (value > high or (high_open and value == high)):
            raise Mismatch(what)
        return float(value)

    return check


def Bool() -> Checker:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise Mismatch("true or false")
        return value

    return check


def Str(nonempty: bool = True) -> Checker:
    def check(value: Any) -> str:
        if not isinstance(value, str) or (nonempty and not value):
            raise Mismatch("a non-empty string" if nonempty else "a string")
        return value

    return check


def Choice(*choices: str) -> Checker:
    """One of a fixed set of words; a near miss gets a did-you-mean."""
    listing = ", ".join(choices)

    def check(value: Any) -> str:
        if value not in choices:
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            raise Mismatch(f"one of {listing}{hint}")
        return value

    check.choices = tuple(choices)      # what `nnctl docs` lists
    return check


def _either(special: Any, shown: str, inner: Checker) -> Checker:
    """`special` itself, or whatever `inner` accepts; a mismatch names both (`shown` for `special`)."""

    def check(value: Any) -> Any:
        if value is special or (special is not None and value == special):
            return special
        try:
            return inner(value)
        except Mismatch as exc:
            raise Mismatch(f"{exc.expected} or {shown}") from None

    if hasattr(inner, "choices"):
        check.choices = inner.choices + ((special,) if special is not None else ())
    return check


def Optional(inner: Checker) -> Checker:
    """`null` or whatever `inner` accepts."""
    return _either(None, "null", inner)


def OrWord(word: str, inner: Checker) -> Checker:
    """The word `word` or whatever `inner` accepts (e.g. a batch size or "auto")."""
    return _either(word, repr(word), inner)


def ListOf(inner: Checker, min_len: int = 0, what: str | None = None) -> Checker:
    def check(value: Any) -> list:
        if not isinstance(value, (list, tuple)) or len(value) < min_len:
            raise Mismatch(what or f"a list of at least {min_len} items")
        out = []
        for item in value:
            try:
                out.append(inner(item))
            except Mismatch as exc:
                raise Mismatch(what or f"a list of {exc.expected.removeprefix('a ').removeprefix('an ')}s") from None
        return out

    return check


def IntPair(low: int = 1) -> Checker:
    """An integer or a pair [h, w] of integers >= low; returns a tuple (h, w)."""
    word = "positive" if low == 1 else "non-negative" if low == 0 else f">= {low}"
    what = f"a {word} integer or a pair [h, w] of them"

    def check(value: Any) -> tuple[int, int]:
        items = value if isinstance(value, (list, tuple)) else [value, value]
        if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < low for v in items):
            raise Mismatch(what)
        return int(items[0]), int(items[1])

    return check


def IntOrFraction() -> Checker:
    """A count (integer >= 0) or a fraction in (0, 1)."""

    def check(value: Any) -> int | float:
        if isinstance(value, bool):
            raise Mismatch("a count (integer >= 0) or a fraction in (0, 1)")
        if isinstance(value, int) and value >= 0:
            return value
        if isinstance(value, float) and 0 < value < 1:
            return value
        raise Mismatch("a count (integer >= 0) or a fraction in (0, 1)")

    return check


# ---------------------------------------------------------------------------------------------- validation

def require_mapping(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(path, f"expected a mapping of keys to values, got {show(value)}")
    return value


def validate(options: dict[str, Option], given: Any, path: str, ignore: Iterable[str] = ()) -> dict:
    """Check `given` against `options`; return the values with defaults filled in.

    Keys in `ignore` are allowed but neither checked nor returned (e.g. `type`, `name`, `input`).
    """
    given = require_mapping({} if given is None else given, path)
    ignore = set(ignore)
    for key in given:
        if key not in options and key not in ignore:
            hint = did_you_mean(key, list(options) + sorted(ignore)) or \
                f"; accepted keys are {', '.join(list(options) + sorted(ignore - {'type'}))}"
            raise ConfigError(join_path(path, key), f"unknown key{hint}")
    out = {}
    for key, option in options.items():
        where = join_path(path, key)
        if key not in given:
            if option.required:
                raise ConfigError(where, "required key is missing")
            out[key] = option.default
            continue
        if given[key] is None and option.default is None:   # explicit null = the (null) default
            out[key] = None
            continue
        try:
            out[key] = option.check(given[key])
        except Mismatch as exc:
            raise ConfigError(where, f"expected {exc.expected}, got {show(given[key])}") from None
    return out

