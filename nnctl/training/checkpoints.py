"""Checkpoints: one `.npz` of plain arrays plus a JSON metadata entry. No pickle, written atomically.

Layout of the archive (every entry a numeric array, so `np.load(..., allow_pickle=False)` reads it):
    param/<node>.<name>     trainable parameters          e.g. param/dense1.W
    buffer/<node>.<name>    saved non-trained state       e.g. buffer/batchnorm1.running_mean
    optim/<name>            optimizer state               e.g. optim/m/dense1.W
    meta                    UTF-8 JSON as uint8 bytes: format, resolved config, epoch, metrics, RNG and
                            schedule state, versions
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.atomic import atomic_file
from nnctl.errors import InputError

FORMAT = "nnctl-checkpoint/1"


@dataclass
class Checkpoint:
    params: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]
    optim: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(path: str | Path, params: dict[str, np.ndarray], buffers: dict[str, np.ndarray],
                    optim: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write a checkpoint whole or not at all (nnctl.atomic): a reader, or a process killed at any moment,
    finds the previous file or the new one, and a temporary never ends in .npz."""
    path = Path(path)
    arrays = {f"param/{k}": v for k, v in params.items()}
    arrays.update({f"buffer/{k}": v for k, v in buffers.items()})
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in optim.items()})
    payload = json.dumps({"format": FORMAT, **meta}, sort_keys=True).encode("utf-8")
    arrays["meta"] = np.frombuffer(payload, dtype=np.uint8)
    with atomic_file(path, "checkpoint") as handle:
        np.savez(handle, **arrays)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; anything wrong with the file is an InputError and nothing is returned."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(f"{source}: no such checkpoint file")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{source}: not a readable .npz checkpoint (not a zip archive); nothing was loaded")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if "meta" not in names:
                raise InputError(f"{source}: not an nnctl checkpoint (missing 'meta'); nothing was loaded")
            entries = {name: archive[name] for name in names}
    except InputError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise InputError(f"{source}: holds pickled objects, which nnctl never loads; nothing was loaded") \
                from None
        raise InputError(f"{source}: damaged checkpoint ({exc}); nothing was loaded") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source}: not a readable .npz checkpoint ({reason}); nothing was loaded") from None
    try:
        meta = json.loads(entries.pop("meta").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise InputError(f"{source}: damaged checkpoint (unreadable 'meta'); nothing was loaded") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise InputError(f"{source}: not an nnctl checkpoint (format {found!r}, expected {FORMAT!r}); "
                         f"nothing was loaded")
    groups: dict[str, dict[str, np.ndarray]] = {"param": {}, "buffer": {}, "optim": {}}
    for name, array in entries.items():
        group, _, key = name.partition("/")
        if group not in groups or not key:
            raise InputError(f"{source}: unexpected entry {name!r}; nothing was loaded")
        groups[group][key] = array
    return Checkpoint(groups["param"], groups["buffer"], groups["optim"], meta)
