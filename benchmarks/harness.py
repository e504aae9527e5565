"""Side-by-side timing of one training epoch: nnctl versus PyTorch CPU, in the same benchmark run.

Each side trains in its own fresh subprocess (so peak memory is each one's own), on the same data
prepared by nnctl's data pipeline, with the same architecture, optimizer, batch size and per-epoch
shuffling, and with the same bookkeeping per batch (loss and accuracy accumulated). The sides alternate
over `--repeat` rounds (which one goes first alternates too); the median seconds per epoch and the ratio
nnctl / PyTorch are printed, both as the ratio of the medians and as the median of each round's own
ratio (a round's two epochs run back to back, so that figure is the one least moved by a shared machine
whose speed drifts between rounds).

Peak memory is the process's peak resident set size (ru_maxrss), which includes the interpreter, the
libraries and the dataset; the increase during training over the resident size just before it is shown
too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nnctl  # noqa: F401  (first: it tunes OpenBLAS before NumPy loads, as the nnctl command does)
import numpy as np


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_data(config: dict):
    from nnctl.config.sections import resolve
    from nnctl.training.prepare import prepare

    resolved = resolve(config)
    return resolved, prepare(resolved, progress=False)


def nnctl_epoch(config: dict, warmup_batches: int) -> dict:
    from nnctl.training.loop import train_one_epoch
    from nnctl.training.trainer import Trainer

    resolved, setup = load_data(config)
    trainer = Trainer(setup)
    x, y = setup.splits.train
    if warmup_batches:   # a few steps on a copy of the data, so both sides start warm
        saved = setup.splits.train
        setup.splits.train = (x[: warmup_batches * config["train"]["batch_size"]],
                              y[: warmup_batches * config["train"]["batch_size"]])
        train_one_epoch(trainer)
        setup.splits.train = saved
    before = rss_mb()
    start = time.perf_counter()
    row = train_one_epoch(trainer)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "train_loss": row["train_loss"], "train_acc": row["train_acc"],
            "rss_before_mb": before, "peak_rss_mb": peak_rss_mb(), "samples": len(x)}


def torch_epoch(config: dict, build_model, warmup_batches: int) -> dict:
    import torch

    resolved, setup = load_data(config)
    x_np, y_np = setup.splits.train
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    torch.manual_seed(0)
    model = build_model(torch)
    opt_cfg = resolved["optimizer"]
    optimizer = torch.optim.Adam(model.parameters(), lr=opt_cfg["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    batch = resolved["train"]["batch_size"]
    generator = torch.Generator().manual_seed(0)

    def epoch(limit: int | None) -> tuple[float, float]:
        model.train()
        order = torch.randperm(len(x), generator=generator)
        n = len(x) if limit is None else min(len(x), limit * batch)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x[idx], y[idx]
            optimizer.zero_grad(set_to_none=True)
            scores = model(xb)
            loss = loss_fn(scores, yb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += int((scores.argmax(1) == yb).sum())
        return loss_sum / n, correct / n

    if warmup_batches:
        epoch(warmup_batches)
    before = rss_mb()
    start = time.perf_counter()
    loss, acc = epoch(None)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "train_loss": loss, "train_acc": acc, "rss_before_mb": before,
            "peak_rss_mb": peak_rss_mb(), "samples": len(x), "threads": torch.get_num_threads(),
            "torch": torch.__version__}


def run_worker(script: Path, side: str, warmup: int) -> dict:
    out = subprocess.run([sys.executable, str(script), "--worker", side, "--warmup", str(warmup)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(script: Path, title: str, config: dict, build_torch_model) -> None:
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (nnctl, torch) epochs")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up batches before the timed epoch")
    parser.add_argument("--worker", choices=["nnctl", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "nnctl":
        print(json.dumps(nnctl_epoch(config, args.warmup)))
        return
    if args.worker == "torch":
        print(json.dumps(torch_epoch(config, build_torch_model, args.warmup)))
        return
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch is not installed: timing nnctl only (pip install torch==2.13.0 for the comparison)")
    results: dict[str, list[dict]] = {"nnctl": [], "torch": []}
    for round_ in range(args.repeat):
        sides = ("nnctl", "torch") if round_ % 2 == 0 else ("torch", "nnctl")   # neither always goes first
        for side in sides if have_torch else ("nnctl",):
            r = run_worker(script, side, args.warmup)
            results[side].append(r)
            print(f"round {round_ + 1} {side:6s} {r['seconds']:7.2f} s/epoch  loss {r['train_loss']:.4f}  "
                  f"acc {r['train_acc']:.4f}  peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"({r['peak_rss_mb'] - r['rss_before_mb']:+.0f} MB while training)", flush=True)
    print(f"\n{title}")
    med = {s: statistics.median(r["seconds"] for r in rs) for s, rs in results.items() if rs}
    peak = {s: max(r["peak_rss_mb"] for r in rs) for s, rs in results.items() if rs}
    grow = {s: max(r["peak_rss_mb"] - r["rss_before_mb"] for r in rs) for s, rs in results.items() if rs}
    for side in med:
        print(f"  {side:6s} median {med[side]:.2f} s/epoch over {len(results[side])} runs "
              f"(min {min(r['seconds'] for r in results[side]):.2f}, max {max(r['seconds'] for r in results[side]):.2f}); "
              f"peak RSS {peak[side]:.0f} MB, {grow[side]:+.0f} MB during training")
    if "torch" in med and med["torch"] > 0:
        t = results["torch"][0]
        print(f"  PyTorch {t['torch']} with {t['threads']} threads; NumPy {np.__version__}; "
              f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')}")
        paired = [a["seconds"] / b["seconds"] for a, b in zip(results["nnctl"], results["torch"])]
        print(f"  ratio nnctl/PyTorch seconds per epoch: {med['nnctl'] / med['torch']:.3f} (ratio of medians); "
              f"per round {statistics.median(paired):.3f} median, range {min(paired):.3f}-{max(paired):.3f}")
        print(f"  ratio nnctl/PyTorch peak RSS: {peak['nnctl'] / peak['torch']:.3f}; "
              f"growth during training: {grow['nnctl']:.0f} MB vs {grow['torch']:.0f} MB")
