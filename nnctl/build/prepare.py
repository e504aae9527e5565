"""Build everything a config describes: data splits, network, objective, and the run's generators.

Randomness: the config's `seed` makes one `numpy.random.SeedSequence`; it spawns two children, one for
the data (synthetic draws, the validation split) and one for the run's `Generator` (weight init, per-epoch
shuffling, dropout masks, noise), and a third for evaluation passes (`evaluation_generator`). Splitting
them means `nnctl eval` can rebuild exactly the same data splits from the seed without replaying training,
and the same config + seed always gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data import Splits, load_splits
from nnctl.config.load import errors_name
from nnctl.nn.class_weights import fit_class_weights
from nnctl.nn.eval_batch import eval_batch_bound, eval_batch_size
from nnctl.nn.network import Network, build_network
from nnctl.nn.objective import Objective, build_objective, check_fits_data


def seed_streams(seed: int) -> tuple[np.random.SeedSequence, np.random.Generator]:
    """(seed material for the data, the run's generator) from one integer seed."""
    data_seq, run_seq = np.random.SeedSequence(seed).spawn(2)
    return data_seq, np.random.default_rng(run_seq)


def evaluation_generator(seed: int) -> np.random.Generator:
    """A fresh generator for one evaluation pass, the same at every call for the same seed: a third child
    of the seed (the first two are `seed_streams`'), so evaluating never moves the run's generator and
    layers that damage inputs at evaluation (noise with at_eval) damage them the same way every time."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])


@dataclass
class Setup:
    config: dict
    splits: Splits
    network: Network
    objective: Objective
    rng: np.random.Generator

    @property
    def eval_batch(self) -> int:
        """Samples per evaluation pass: train.eval_batch_size, auto resolved for this network."""
        return eval_batch_size(self.config.train["eval_batch_size"], self.network)


def config_dir(config: dict, fallback: str | Path = ".") -> Path:
    """Folder that relative data paths in `config` resolve against."""
    source = getattr(config, "source", "") or ""
    return Path(source).resolve().parent if source else Path(fallback)


def prepare(config: dict, dtype: Any = np.float32, base_dir: Path | None = None, progress: bool = True,
            splits: Splits | None = None) -> Setup:
    """Load data and build the network and objective for a resolved config."""
    data_seq, rng = seed_streams(config.seed)
    with errors_name(config):
        if splits is None:
            splits = load_splits(config.data, data_seq, base_dir or config_dir(config), progress=progress)
        train = config.train
        batch = min(max(train["batch_size"], eval_batch_bound(train["eval_batch_size"])), len(splits.train[0]))
        network = build_network(config.model, splits.input_shape, rng, dtype,
                                getattr(config, "node_paths", None), batch)
        objective = build_objective(config.loss, config.regularization, network, splits.num_classes)
        fit_class_weights(objective, network, splits.train[1], splits.num_classes)
        check_fits_data(objective, network, splits, getattr(config, "node_paths", None))
    return Setup(config, splits, network, objective, rng)
