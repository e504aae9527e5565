"""Evaluation throughput (forward only) of one network at several batch sizes, and the batch auto picks.

    python benchmarks/bench_eval_batch.py configs/fashion_cnn.yaml [--batches 32,64,128,256,512,1024]
    python benchmarks/bench_eval_batch.py cnn          # the network of bench_cnn.py (or mlp: bench_mlp.py)

Times forward passes over the first 10,240 training images at each batch size (after one warm-up pass of
that size), prints images/s, and the batch `train.eval_batch_size: auto` resolves to for the network
(nnctl/nn/eval_batch.py). Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as the other benchmarks.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import nnctl  # noqa: F401  (first: sets OPENBLAS_THREAD_TIMEOUT before NumPy loads, as the CLI does)
import yaml

HERE = Path(__file__).resolve().parent


def raw_config(which: str) -> dict:
    """A config file's mapping, or the CONFIG of bench_<which>.py."""
    if which in ("mlp", "cnn"):
        spec = importlib.util.spec_from_file_location(f"bench_{which}", HERE / f"bench_{which}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.CONFIG
    return yaml.safe_load(Path(which).read_text())


def main() -> None:
    from nnctl.config.sections import resolve
    from nnctl.nn.eval_batch import auto_eval_batch
    from nnctl.build.prepare import prepare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a config file, or mlp / cnn for the benchmark networks")
    parser.add_argument("--batches", default="32,64,128,256,512,1024")
    parser.add_argument("--images", type=int, default=10240)
    args = parser.parse_args()
    setup = prepare(resolve(raw_config(args.config)), progress=False)
    network, x = setup.network, setup.splits.train[0][:args.images]
    print(f"{args.config}: auto evaluates in batches of {auto_eval_batch(network)}")
    for batch in (int(b) for b in args.batches.split(",")):
        network.forward(x[:batch], training=False)
        start = time.perf_counter()
        for first in range(0, len(x), batch):
            network.forward(x[first:first + batch], training=False)
        print(f"  batch {batch:5d}: {len(x) / (time.perf_counter() - start):10,.0f} images/s")


if __name__ == "__main__":
    main()
