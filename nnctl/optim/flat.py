"""One flat buffer for a network's trainable parameters, and one for their gradients.

`pack(arrays)` copies a dict of arrays into one contiguous 1-D array (in dict order) and returns views of
it with the original shapes; the network rebinds its layers' params and grads to such views, so that an
optimizer can update every parameter with a few ufunc calls over the whole buffer instead of a loop
over keys. `span(arrays)` recognizes arrays that tile one contiguous 1-D range in order and returns that
range as a 1-D view (else None), so the optimizer needs no more than the usual {name: array} dicts.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def pack(arrays: dict[str, np.ndarray], dtype, copy: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(flat, views): flat (sum of sizes,) holds the values of `arrays` one after another in `dtype`
    (zeros instead with copy=False); views[k] is flat's slice for arrays[k], reshaped to its shape."""
    total = sum(a.size for a in arrays.values())
    flat = np.zeros(total, dtype)
    views, start = {}, 0
    for key, array in arrays.items():
        view = flat[start:start + array.size].reshape(array.shape)
        if copy:
            np.copyto(view, array)
        views[key] = view
        start += array.size
    return flat, views


def span(arrays: Iterable[np.ndarray]) -> np.ndarray | None:
    """The 1-D array that `arrays` tile exactly, one after another in the given order, when they are
    C-contiguous views of one contiguous 1-D base array with a single dtype; else None (also for no
    elements at all)."""
    arrays = [a for a in arrays if a.size]          # an empty array takes no room (and may be no view)
    if not arrays:
        return None
    base, dtype = arrays[0].base, arrays[0].dtype
    if base is None or base.ndim != 1 or not base.flags.c_contiguous or base.dtype != dtype:
        return None
    start = arrays[0].__array_interface__["data"][0]
    address = start
    for a in arrays:
        if a.base is not base or a.dtype != dtype or not a.flags.c_contiguous \
                or a.__array_interface__["data"][0] != address:
            return None
        address += a.nbytes
    offset = (start - base.__array_interface__["data"][0]) // dtype.itemsize
    return base[offset:offset + (address - start) // dtype.itemsize]
