"""`nnctl summary CONFIG`: the config's network built as training would build it, reading data only when
the dataset cannot say what one sample looks like; the table itself is nnctl.viz.summary's."""

from __future__ import annotations

import math

from nnctl.build.prepare import config_dir, prepare, seed_streams
from nnctl.config.load import errors_name
from nnctl.data.catalog import DATASETS
from nnctl.nn.network import Network, build_network


def input_shape_without_data(config: dict) -> tuple[int, ...] | None:
    """One sample's shape as the network sees it (flattened when data.flatten is on), from the dataset's
    own description, without reading the data; None when only loading the data tells."""

    cfg = config.data
    cls = DATASETS[cfg["dataset"]]
    described = cls(**{key: cfg[key] for key in cls.options}).sample_shape(config_dir(config))
    if described is None:
        return None
    shape, images = described
    return (int(math.prod(shape)),) if images and cfg["flatten"] else tuple(shape)


def network_of(config: dict) -> Network:
    """The config's network built as training would build it (same seed), loading data only when its
    shape cannot be known otherwise."""

    shape = input_shape_without_data(config)
    if shape is None:
        return prepare(config, progress=False).network
    with errors_name(config):
        return build_network(config.model, shape, seed_streams(config.seed)[1], node_paths=config.node_paths)
