"""Datasets and what turns them into training arrays.

    validate_data_config(raw, path)     check a `data:` mapping, fill defaults
    load_splits(cfg, seed, base_dir)    -> Splits(train, val, test, input_shape, num_classes, ...)
    iterate_batches(x, y, batch_size, rng)

Modules: catalog (the dataset table and the shared keys), base (the Dataset interface), mnist + idx +
download (MNIST-style files), synthetic, arrays (npz/csv), normalize, splits, loader.
"""

from nnctl.data.catalog import DATA_OPTIONS, DATASETS, validate_data_config
from nnctl.data.loader import iterate_batches
from nnctl.data.splits import Splits, load_splits

__all__ = ["DATA_OPTIONS", "DATASETS", "Splits", "iterate_batches", "load_splits", "validate_data_config"]
