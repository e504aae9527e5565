"""The limits nnctl checks before it does work, so that no input (config, checkpoint, data file) can make
it hang or exhaust memory. Each is a documented constant here (see docs/trust.md); going over one is a
one-line error naming the key or file, exit code 2, before anything is allocated or written.

Memory: sizes that follow from an input (parameters, one batch's activations, data arrays, checkpoint
entries) are estimated from shapes and compared with `memory_budget()`: the memory the system says is
available (MemAvailable, the cgroup's limit, the address-space rlimit), or less when the environment
variable NNCTL_MEMORY_LIMIT (bytes, or a number with K, M, G or T) asks for less.
"""

from __future__ import annotations

import os
import re
import resource
from pathlib import Path

from nnctl.errors import InputError

MAX_CONFIG_BYTES = 256 << 10        # a config file (or one --set value), in bytes: YAML parses slowly
MAX_DEPTH = 64                      # nesting of mappings and lists in a config, aliases followed
MAX_VALUES = 100_000                # values in a config once aliases (*name) are expanded
MAX_LAYERS = 1_000                  # model nodes once repeat blocks are expanded
MAX_CLASSES = 100_000               # class labels 0 .. MAX_CLASSES - 1
MAX_META_BYTES = 16 << 20           # the JSON metadata entry of a checkpoint
MAX_NAME_CHARS = 1000               # a class name or an entry name in a checkpoint
MAX_INFLATE_RATIO = 1100            # deflate cannot compress more than ~1032:1; more is a lie or a bomb
MAX_KERNEL_TAPS = 1 << 16           # kh * kw of a convolution or pooling window (each tap is a Python step)

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def show_bytes(count: float) -> str:
    """'512 B', '1.5 KiB', '14.6 TiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def parse_bytes(text: str) -> int | None:
    """'2G' -> 2147483648, '1500000' -> 1500000; None when `text` is not such a size."""
    match = _SIZE.match(text)
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    """memory.max - memory.current of this process's cgroup (v2), when it has a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None


def _address_space_room() -> int | None:
    """RLIMIT_AS minus the address space this process already uses, when the limit is set."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            used = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))
    except (OSError, ValueError, StopIteration):
        used = 0
    return soft - used


def memory_budget() -> int:
    """Bytes that work planned from an input may use: the least of what the system has available,
    the cgroup and rlimit room, and NNCTL_MEMORY_LIMIT."""
    given = os.environ.get("NNCTL_MEMORY_LIMIT", "").strip()
    limits = [room for room in (_meminfo_available(), _cgroup_room(), _address_space_room()) if room is not None]
    if given:
        parsed = parse_bytes(given)
        if parsed is None:
            raise InputError(f"NNCTL_MEMORY_LIMIT={given!r}: expected a size in bytes, e.g. 2G or 1500M")
        limits.append(parsed)
    return max(0, min(limits)) if limits else 1 << 40


def exceeds_budget(needed: int) -> int | None:
    """The budget when `needed` bytes do not fit in it, else None."""
    budget = memory_budget()
    return budget if needed > budget else None
