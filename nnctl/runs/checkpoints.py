"""Checkpoints: one `.npz` of plain arrays plus a JSON metadata entry. No pickle, written atomically.

Layout of the archive (every entry a numeric array, so `np.load(..., allow_pickle=False)` reads it):
    param/<node>.<name>     trainable parameters          e.g. param/dense1.W
    buffer/<node>.<name>    saved non-trained state       e.g. buffer/batchnorm1.running_mean
    optim/<name>            optimizer state               e.g. optim/m/dense1.W
    meta                    UTF-8 JSON as uint8 bytes: format, resolved config, epoch, metrics, RNG and
                            schedule state, versions (nnctl.runs.meta: the record and its formats)

Reading is for files from anywhere: bounded in memory and strict about what an entry may hold (see
`load_checkpoint`). What the metadata may decide is the caller's business: nnctl.runs.loader takes
only the architecture, normalization and class names from it, checked like a config.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnctl.atomic import atomic_file
from nnctl.errors import InputError
from nnctl.limits import MAX_META_BYTES, exceeds_budget, show_bytes
from nnctl.npzfile import Entry, inspect_npz, read_entries, write_npz
from nnctl.runs.meta import FORMAT, VERSIONS, CheckpointMeta, meta_from_json

GROUPS = ("param", "buffer", "optim")
WORDS = {"param": "parameter", "buffer": "buffer", "optim": "optimizer state"}
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
JSON_EXPANSION = 16         # Python objects take up to this many times the bytes of the JSON they come from


@dataclass
class Checkpoint:
    params: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]
    optim: dict[str, np.ndarray]
    meta: CheckpointMeta = field(default_factory=CheckpointMeta)


def save_checkpoint(path: str | Path, params: dict[str, np.ndarray], buffers: dict[str, np.ndarray],
                    optim: dict[str, np.ndarray], meta: CheckpointMeta) -> None:
    """Write a checkpoint whole or not at all (nnctl.atomic): a reader, or a process killed at any moment,
    finds the previous file or the new one, and a temporary never ends in .npz."""
    path = Path(path)
    arrays = {f"param/{k}": v for k, v in params.items()}
    arrays.update({f"buffer/{k}": v for k, v in buffers.items()})
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in optim.items()})
    payload = json.dumps(meta.to_json(), sort_keys=True).encode("utf-8")
    arrays["meta"] = np.frombuffer(payload, dtype=np.uint8)
    with atomic_file(path, "checkpoint") as handle:
        write_npz(handle, arrays)


def load_checkpoint(path: str | Path, expect: dict[str, tuple[int, ...]] | None = None,
                    groups: Collection[str] = GROUPS) -> Checkpoint:
    """Read a checkpoint in bounded memory; anything wrong with the file is an InputError and nothing is
    returned. Checked before any array data is read (nnctl.npzfile): every entry's declared size against
    the file and the memory budget, the names (param/, buffer/, optim/, meta), the dtypes (float32 or
    float64; integers only for optimizer counters), the metadata's size (MAX_META_BYTES) and, with
    `expect` ({"param/dense1.W": shape, ...} for every parameter and buffer the network has), the
    shapes. Then only the entries of `groups` are read, and non-finite values are refused."""
    path = Path(path)
    entries, meta = open_checkpoint(path)
    return read_checkpoint(path, entries, meta, expect, groups)


def open_checkpoint(path: Path) -> tuple[dict[str, Entry], CheckpointMeta]:
    """(the array entries as declared, the metadata) of a checkpoint: everything but the arrays' data
    read and checked (names, dtypes, sizes; see load_checkpoint)."""
    source = str(path)
    if not path.is_file():
        raise InputError(f"{source}: no such checkpoint file")
    entries = inspect_npz(path, what="checkpoint")
    meta = read_meta(path, entries.pop("meta", None))
    for name, entry in entries.items():
        check_entry(source, name, entry)
    return entries, meta


def read_checkpoint(path: Path, entries: dict[str, Entry], meta: CheckpointMeta,
                    expect: dict[str, tuple[int, ...]] | None = None, groups: Collection[str] = GROUPS) -> Checkpoint:
    """The checkpoint whose entries `open_checkpoint` returned: shapes checked against `expect` (when
    given) before the arrays of `groups` are read; non-finite values refused."""
    source = str(path)
    if expect is not None:
        check_expected(source, entries, expect)
    wanted = [entry for name, entry in entries.items() if name.partition("/")[0] in groups]
    arrays = read_entries(path, wanted, what="checkpoint")
    found: dict[str, dict[str, np.ndarray]] = {group: {} for group in GROUPS}
    for name, array in arrays.items():
        group, _, key = name.partition("/")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            raise InputError(f"{source}: {WORDS[group]} {key} holds {bad} NaN or infinite values; nothing was "
                             f"loaded")
        found[group][key] = array
    return Checkpoint(found["param"], found["buffer"], found["optim"], meta)


def read_meta(path: Path, entry: Entry | None) -> CheckpointMeta:
    """The checkpoint's metadata: a JSON object of at most MAX_META_BYTES with a format tag this nnctl
    reads (nnctl.runs.meta)."""
    source = str(path)
    if entry is None:
        raise InputError(f"{source}: not an nnctl checkpoint (missing 'meta'); nothing was loaded")
    if entry.dtype != np.uint8 or len(entry.shape) != 1:
        raise InputError(f"{source}: damaged checkpoint (unreadable 'meta'); nothing was loaded")
    if entry.nbytes > MAX_META_BYTES:
        raise InputError(f"{source}: its metadata declares {show_bytes(entry.nbytes)}, more than the limit of "
                         f"{show_bytes(MAX_META_BYTES)}; nothing was loaded")
    budget = exceeds_budget(JSON_EXPANSION * entry.nbytes)
    if budget is not None:
        raise InputError(f"{source}: its metadata ({show_bytes(entry.nbytes)}) would need more than the "
                         f"{show_bytes(budget)} of memory available to read; nothing was loaded")
    data = read_entries(path, [entry], what="checkpoint")["meta"]
    try:
        meta = json.loads(data.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InputError(f"{source}: damaged checkpoint (unreadable 'meta'); nothing was loaded") from None
    found = meta.get("format") if isinstance(meta, dict) else None
    if not isinstance(found, str) or found not in VERSIONS:
        shown = repr(found) if not isinstance(found, str) or len(found) <= 40 else repr(found[:40] + "...")
        raise InputError(f"{source}: not an nnctl checkpoint (format {shown}, expected {FORMAT!r}); "
                         f"nothing was loaded")
    return meta_from_json(meta, VERSIONS[found])


def check_entry(source: str, name: str, entry: Entry) -> None:
    """An entry's name and dtype: float32/float64 arrays in param/, buffer/ and optim/ (optim/ may also
    hold integer counters such as the step count t)."""
    group, _, key = name.partition("/")
    if group not in GROUPS or not key:
        shown = name if len(name) <= 80 else name[:80] + "..."
        raise InputError(f"{source}: unexpected entry {shown!r}; nothing was loaded")
    if entry.dtype in FLOAT_DTYPES or (group == "optim" and entry.dtype.kind in "iu" and entry.shape == ()):
        return
    raise InputError(f"{source}: {WORDS[group]} {key} holds {entry.dtype} values; checkpoints hold float32 or "
                     f"float64 arrays; nothing was loaded")


def check_expected(source: str, entries: dict[str, Entry], expect: dict[str, tuple[int, ...]]) -> None:
    """The param/ and buffer/ entries must be exactly `expect`'s names with its shapes."""
    held = {name: entry.shape for name, entry in entries.items() if not name.startswith("optim/")}
    missing = sorted(set(expect) - set(held))
    extra = sorted(set(held) - set(expect))
    if missing or extra:
        name = missing[0] if missing else extra[0]
        group, _, key = name.partition("/")
        what = f"missing {key}" if missing else f"unexpected {key}"
        raise InputError(f"{source}: {WORDS[group]}s do not match the network ({what}); nothing was loaded")
    for name, shape in expect.items():
        if held[name] != tuple(shape):
            group, _, key = name.partition("/")
            raise InputError(f"{source}: {WORDS[group]} {key} has shape {held[name]}, the network expects "
                             f"{tuple(shape)}; nothing was loaded")


def expected_shapes(params: dict[str, np.ndarray], buffers: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """`expect` for load_checkpoint from a network's params() and buffers()."""
    shapes = {f"param/{k}": v.shape for k, v in params.items()}
    shapes.update({f"buffer/{k}": v.shape for k, v in buffers.items()})
    return shapes


def sanity_findings(run_dir: Path) -> list[str]:
    """The run's sanity-check findings (train.sanity): from report.json once the run has ended, else from
    its last checkpoint (a run still going, or interrupted); [] when there are none or neither is readable."""
    report = Path(run_dir) / "report.json"
    try:
        if report.is_file() and report.stat().st_size <= MAX_META_BYTES:
            found = json.loads(report.read_text(encoding="utf-8")).get("sanity")
        else:
            found = open_checkpoint(Path(run_dir) / "checkpoints" / "last.npz")[1].findings
    except (InputError, OSError, ValueError, AttributeError):
        return []
    return [str(finding) for finding in found] if isinstance(found, list) else []
