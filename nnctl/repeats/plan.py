"""What a group of runs is: one run per seed (`--seeds 0-4`, `--seeds 0,3,7`) or per fold (`--folds 5`).

    parse_seeds("0-2,7") -> (0, 1, 2, 7)          parse_folds("5") -> 5
    Plan("seeds", (0, 1, 2)).members()            -> [Member("seed-0", seed=0), ...]
    member_config(base, member)                   the base config with that seed, or with data.fold = [k, K]

Errors are one line naming the option (InputError, exit 2). A seeds group changes only the config's `seed`,
which also draws the validation split and synthetic data; a folds group changes only `data.fold`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nnctl.config.sections import ResolvedConfig
from nnctl.data.folds import MAX_FOLDS
from nnctl.errors import InputError

MAX_RUNS = 1000
MAX_SEED = 2**63 - 1
_ITEM = re.compile(r"^(\d+)(?:-(\d+))?$")
KINDS = ("seeds", "folds")


@dataclass(frozen=True)
class Member:
    """One run of a group: its folder name inside the group, and the seed or fold [k, K] it changes."""

    label: str
    seed: int | None = None
    fold: tuple[int, int] | None = None


@dataclass(frozen=True)
class Plan:
    """kind "seeds": `values` are the seeds in order; kind "folds": `values` is (K,)."""

    kind: str
    values: tuple[int, ...]

    def members(self) -> list[Member]:
        if self.kind == "seeds":
            return [Member(f"seed-{s}", seed=s) for s in self.values]
        folds = self.values[0]
        return [Member(f"fold-{k}", fold=(k, folds)) for k in range(folds)]

    def option(self) -> str:
        """The command-line option that asks for this plan, e.g. '--seeds 0-4' or '--folds 5'."""
        if self.kind == "folds":
            return f"--folds {self.values[0]}"
        return f"--seeds {show_seeds(self.values)}"

    def describe(self) -> str:
        """'5 seeds (0-4)' or '5 folds'."""
        if self.kind == "folds":
            return f"{self.values[0]} folds"
        return f"{len(self.values)} seed{'s' if len(self.values) != 1 else ''} ({show_seeds(self.values)})"


def show_seeds(seeds: tuple[int, ...]) -> str:
    """(0, 1, 2, 7) -> '0-2,7': runs of consecutive seeds as ranges."""
    parts: list[str] = []
    start = prev = None
    for s in list(seeds) + [None]:
        if start is not None and s == prev + 1:
            prev = s
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = s
    return ",".join(parts)


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0-4' -> (0, 1, 2, 3, 4); '0,3,7' -> (0, 3, 7); items may mix: '0-2,7'. Seeds are distinct
    non-negative integers, at most MAX_RUNS of them."""
    where = f"--seeds {text}"
    seeds: list[int] = []
    for item in text.replace(" ", "").split(","):
        match = _ITEM.match(item)
        if match is None:
            raise InputError(f"{where}: expected seeds such as 0-4 or 0,3,7 (non-negative integers), got {item!r}")
        low = int(match.group(1))
        high = low if match.group(2) is None else int(match.group(2))
        if high < low:
            raise InputError(f"{where}: the range {item} goes down; write {high}-{low}")
        if high > MAX_SEED:
            raise InputError(f"{where}: seed {high} is too large (at most {MAX_SEED})")
        if high - low + 1 + len(seeds) > MAX_RUNS:
            raise InputError(f"{where}: more than {MAX_RUNS} runs in one group")
        seeds.extend(range(low, high + 1))
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise InputError(f"{where}: seed {repeated[0]} is given twice (the same seed gives the same run)")
    return tuple(seeds)


def parse_folds(text: str) -> int:
    """'5' -> 5; from 2 to MAX_FOLDS."""
    if not re.fullmatch(r"\d+", text.strip()) or not 2 <= int(text) <= MAX_FOLDS:
        raise InputError(f"--folds {text}: expected a number of folds from 2 to {MAX_FOLDS}")
    return int(text)


def plan_from_options(seeds: str | None, folds: str | None) -> Plan | None:
    """The plan --seeds or --folds asks for, or None when neither is given."""
    if seeds is not None and folds is not None:
        raise InputError(f"--seeds {seeds} and --folds {folds}: give one of them (a group varies either the "
                         f"seed or the validation fold)")
    if seeds is not None:
        return Plan("seeds", parse_seeds(seeds))
    if folds is not None:
        return Plan("folds", (parse_folds(folds),))
    return None


def member_config(base: ResolvedConfig, member: Member) -> ResolvedConfig:
    """The config of one member: `base` with its seed, or with data.fold = [k, K]."""
    if member.seed is not None:
        return base.with_sections(seed=member.seed)
    return base.with_sections(data={**base.data, "fold": list(member.fold)})
