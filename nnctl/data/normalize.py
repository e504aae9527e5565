"""Input normalization with statistics from the training split only, applied in place to every split.

Statistics are taken per feature for flat data x: (N, F) and per channel for images x: (N, C, H, W)
(one number per channel, over all samples and pixels). With `s` the statistic of a sample's group:

    standard:  x' = (x - mean) / std         population std (ddof = 0), computed in float64
    minmax:    x' = (x - min) / (max - min)   the training split then lies in [0, 1]

A feature that is (nearly) constant in the training split (spread below STD_FLOOR) is only shifted, with
a scale of 1: dividing by its tiny spread would blow up the same feature in the other splits.
    none:      x' = x

The returned description is JSON-able and records the numbers actually used (after the floor):
    {"method": "standard", "per": "feature" | "channel", "raw_divisor": 255.0, "mean": [...], "std": [...]}
    {"method": "minmax", "per": ..., "raw_divisor": ..., "min": [...], "range": [...]}
    {"method": "none", "per": ..., "raw_divisor": ...}
(lists of G floats, one per feature or channel), so that x' = ((raw / raw_divisor) - mean) / std, or
((raw / raw_divisor) - min) / range, reproduces the inputs the network saw.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import InputError

METHODS = ("standard", "minmax", "none")
STD_FLOOR = 1e-6
CHUNK_ELEMENTS = 1 << 20


def unit_if_tiny(spread: np.ndarray) -> np.ndarray:
    """The spread itself, or 1.0 where it is below STD_FLOOR (constant features are only shifted)."""
    return np.where(spread < STD_FLOOR, 1.0, spread)


def grouped(x: np.ndarray, images: bool) -> np.ndarray:
    """A view (N, G, K) of x: G groups (features or channels) of K values per sample."""
    if images:
        return x.reshape(x.shape[0], x.shape[1], -1)
    return x.reshape(x.shape[0], -1, 1)


def group_mean_std(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std (G,) float64 of v: (N, G, K), two passes over chunks of samples."""
    count = v.shape[0] * v.shape[2]
    mean = v.sum(axis=(0, 2), dtype=np.float64) / count
    rows = max(1, CHUNK_ELEMENTS // max(1, v.shape[1] * v.shape[2]))
    squares = np.zeros(v.shape[1])
    for start in range(0, v.shape[0], rows):
        deviation = v[start:start + rows].astype(np.float64)
        deviation -= mean[:, None]
        squares += np.einsum("ngk,ngk->g", deviation, deviation)
    return mean, np.sqrt(squares / count)


def fit(x_train: np.ndarray, method: str, images: bool, raw_divisor: float = 1.0) -> dict:
    """The description of `method` fitted to x_train (float32, already divided by raw_divisor)."""
    description = {"method": method, "per": "channel" if images else "feature", "raw_divisor": float(raw_divisor)}
    if method == "none":
        return description
    if x_train.shape[0] == 0:
        raise ValueError("cannot fit normalization statistics to an empty training split")
    v = grouped(x_train, images)
    if method == "standard":
        mean, std = group_mean_std(v)
        description.update(mean=mean.tolist(), std=unit_if_tiny(std).tolist())
    elif method == "minmax":
        low = v.min(axis=(0, 2)).astype(np.float64)
        high = v.max(axis=(0, 2)).astype(np.float64)
        description.update(min=low.tolist(), range=unit_if_tiny(high - low).tolist())
    else:
        raise ValueError(f"unknown normalization {method!r}")
    return description


def apply(x: np.ndarray, description: dict, images: bool) -> None:
    """Normalize C-contiguous float x in place as `description` (from `fit`) says."""
    method = description["method"]
    if method == "none" or x.shape[0] == 0:
        return
    if not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError("normalization works in place on a writeable C-contiguous array")
    shift_key, scale_key = ("mean", "std") if method == "standard" else ("min", "range")
    v = grouped(x, images)
    v -= np.asarray(description[shift_key], dtype=x.dtype)[:, None]
    v /= np.asarray(description[scale_key], dtype=x.dtype)[:, None]


def check_description(description, where: str, groups_for: dict[str, int] | None = None) -> dict:
    """A description read from a file nnctl did not write itself (a checkpoint): the form `fit` returns,
    every number finite, scales positive, G values per list. `groups_for` maps "feature"/"channel" to the
    G the inputs have, where known (missing or None: not checked). Raises InputError at `where` (e.g.
    "FILE: normalization")."""

    def bad(problem: str) -> InputError:
        return InputError(f"{where}: {problem}; nothing was loaded")

    if not isinstance(description, dict) or description.get("method") not in METHODS:
        raise bad(f"expected a mapping with method {', '.join(METHODS)}")
    per, divisor = description.get("per"), description.get("raw_divisor")
    if per not in ("feature", "channel"):
        raise bad("expected per: feature or channel")
    if isinstance(divisor, bool) or not isinstance(divisor, (int, float)) or not 0 < divisor < float("inf"):
        raise bad("expected a positive finite raw_divisor")
    keys = {"standard": ("mean", "std"), "minmax": ("min", "range"), "none": ()}[description["method"]]
    out = {"method": description["method"], "per": per, "raw_divisor": float(divisor)}
    for key in keys:
        values = description.get(key)
        if not isinstance(values, list) or not values or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values):
            raise bad(f"expected {key} to be a non-empty list of finite numbers")
        if key in ("std", "range") and min(values) <= 0:
            raise bad(f"expected positive {key} values")
        out[key] = [float(v) for v in values]
    lengths = {len(out[key]) for key in keys}
    if len(lengths) > 1:
        raise bad(f"{' and '.join(keys)} differ in length")
    expected = (groups_for or {}).get(per)
    if expected is not None and lengths and lengths != {expected}:
        raise bad(f"{lengths.pop()} values (one per {per}), but the inputs have {expected} {per}s")
    return out
