"""`nnctl embed RUN --node NAME`: a node's outputs on a split of a run's data, with the labels, in a .npz
file that numpy.load reads (no pickle): arrays `codes` (N, ...), `labels` (N,) or (N, K), `node`, `split`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.analysis.node_outputs import check_node, node_outputs, split_data
from nnctl.atomic import atomic_file
from nnctl.commands.evaluate import setup_from_checkpoint
from nnctl.npzfile import write_npz
from nnctl.runs.run_dir import newest_run


def default_embed_path(target: Path, node: str, split: str) -> Path:
    """RUN/embed_<node>_<split>.npz: in the run folder (the newest in a folder of runs; of a checkpoint
    inside one), else beside the file."""
    target = newest_run(target)
    folder = target if target.is_dir() else (
        target.parent.parent if target.parent.name == "checkpoints" else target.parent)
    return folder / f"embed_{node}_{split}.npz"


def embed(target: Path, node: str, split: str = "test", out: Path | None = None,
          config_path: Path | None = None) -> tuple[Path, np.ndarray]:
    """Write the outputs of `node` on `split` of a run (folder or checkpoint) to `out` (default
    RUN/embed_<node>_<split>.npz) as arrays `codes` (N, ...), `labels` (N,) or (N, K), `node` and `split`;
    returns (the file, the codes). The data comes from the run's config.yaml or `config_path`, never from
    the checkpoint (nnctl.commands.evaluate.setup_from_checkpoint)."""
    setup, _ = setup_from_checkpoint(target, progress=False, config_path=config_path)
    check_node(setup.network, node)
    x, y = split_data(setup, split, str(target))
    codes = node_outputs(setup.network, x, node, setup.eval_batch)
    out = out or default_embed_path(target, node, split)
    with atomic_file(out, "embedding") as handle:
        write_npz(handle, {"codes": codes, "labels": y, "node": np.array(node), "split": np.array(split)})
    return out, codes
