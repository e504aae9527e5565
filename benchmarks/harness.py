"""Side-by-side timing of one training epoch: nnctl versus PyTorch CPU, in the same benchmark run.

Each side trains in its own fresh subprocess (so peak memory is each one's own), on the same data
prepared by nnctl's data pipeline, with the same architecture, optimizer, batch size and per-epoch
shuffling, the same number of threads, and the same bookkeeping per batch (loss and accuracy
accumulated). The sides alternate over `--repeat` rounds (which one goes first alternates too); the
median seconds per epoch and the ratio nnctl / PyTorch are printed, both as the ratio of the medians and
as the median of each round's own ratio.

Also printed:
- the machine's float32 GEMM peak, measured in this run (best of several 2048x2048 products), the BLAS
  library, kernel and threads that ran (threadpoolctl), and each side's achieved GEMM GFLOP/s as a
  fraction of the peak (the epoch's product FLOPs counted from the layer shapes, benchmarks/machine.py);
- peak resident memory of each side during its timed epoch, and the growth over the resident size just
  before it (the kernel's high-water mark is reset first, so data loading does not count);
- evaluation throughput (forward only, over the training images, both sides in the batches nnctl evaluates
  in: `train.eval_batch_size`, auto by default, see nnctl/nn/eval_batch.py) against training throughput,
  per image;
- where nnctl's epoch goes, stage by stage (benchmarks/stages.py), from one more epoch with timers on;
  `--no-stages` skips it;
- which kernels ran (NNCTL_KERNELS: compiled ones with the `fast` extra, else NumPy's) and their compile
  time, once with an empty cache (cold: what a first run pays) and once from that cache (warm); the timed
  epochs start with the kernels compiled (from the user's cache), so the compile time stays out of them.
  Run the benchmark with NNCTL_KERNELS=numpy and without it for the breakdown with and without the extra.

`--nnctl-src DIR` makes the nnctl side import nnctl from DIR (another checkout, e.g. main in a
`git worktree`), for before/after figures with the same benchmark. The checkout must have the package
layout of milestone 3 (nnctl.build, nnctl.runs); for an older one run that checkout's own benchmark.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nnctl  # noqa: F401  (first: it tunes OpenBLAS before NumPy loads, as the nnctl command does)
import numpy as np

from machine import PeakMemory, blas_description, epoch_gemm_flops, gemm_gflops
from stages import STAGES, breakdown, profile


def load_data(config: dict):
    from nnctl.config.sections import resolve
    from nnctl.build.prepare import prepare

    resolved = resolve(config)
    return resolved, prepare(resolved, progress=False)


def eval_batch_of(resolved: dict, setup) -> int:
    """The batch nnctl evaluates in (an nnctl from before auto eval batches, via --nnctl-src, has only the number)."""
    return setup.eval_batch if hasattr(setup, "eval_batch") else resolved.train["eval_batch_size"]


def compile_kernels() -> dict:
    """Compile nnctl's kernels (or load them from the cache): which ran, and the seconds it took."""
    if importlib.util.find_spec("nnctl.kernels") is None:        # a checkout from before the fast extra
        return {"kernels": "kernels: numpy (this nnctl has no compiled kernels)", "compile_seconds": 0.0}
    from nnctl.kernels import warmup

    seconds = warmup.compile_all()
    return {"kernels": warmup.describe(), "compile_seconds": seconds}


def choose_and_apply_threads() -> str:
    """The thread choice `nnctl train` makes, made here too (after the data is loaded, as there); an nnctl
    from before nnctl.cpus (--nnctl-src) keeps its BLAS's default."""
    try:
        from nnctl.cpus import apply_threads, choose_threads
    except ImportError:
        return "BLAS default (this nnctl has no thread choice)"
    return apply_threads(choose_threads()).describe()


def nnctl_worker(config: dict, warmup_batches: int, stages: bool) -> dict:
    from nnctl.training.loop import train_one_epoch
    from nnctl.training.metrics import evaluate
    from nnctl.training.trainer import Trainer

    kernels = compile_kernels()
    resolved, setup = load_data(config)
    threads = choose_and_apply_threads()
    trainer = Trainer(setup)
    x, y = setup.splits.train
    eval_batch = eval_batch_of(resolved, setup)
    if warmup_batches:   # a few steps (and one evaluation batch), so both sides start warm
        steps, trainer.steps_per_epoch = trainer.steps_per_epoch, min(warmup_batches, trainer.steps_per_epoch)
        train_one_epoch(trainer)
        trainer.steps_per_epoch = steps
        evaluate(trainer.network, trainer.objective, x[:eval_batch], y[:eval_batch], eval_batch, None)
    memory = PeakMemory()
    memory.start()
    start = time.perf_counter()
    row = train_one_epoch(trainer)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "train_loss": row["train_loss"], "train_acc": row["train_acc"],
              "peak_mb": memory.peak_mb, "growth_mb": memory.growth_mb, "samples": len(x),
              "gemm_flops": epoch_gemm_flops(setup.network, len(x)), "blas": blas_description(),
              "eval_batch": eval_batch, "nnctl": str(Path(nnctl.__file__).parent), "threads": threads,
              **kernels}
    start = time.perf_counter()
    evaluate(trainer.network, trainer.objective, x, y, eval_batch, setup.splits.num_classes)
    result["eval_seconds"] = time.perf_counter() - start
    if stages:
        timer = profile(trainer)
        start = time.perf_counter()
        train_one_epoch(trainer)
        result["profiled_seconds"] = time.perf_counter() - start
        result["stages"] = breakdown(timer, result["profiled_seconds"])
    return result


def torch_worker(config: dict, build_model, warmup_batches: int) -> dict:
    import torch
    from nnctl.threads import blas_threads

    torch.set_num_threads(blas_threads())      # in this fresh process: BLAS's default, all usable CPUs
    resolved, setup = load_data(config)
    x_np, y_np = setup.splits.train
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    torch.manual_seed(0)
    model = build_model(torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=resolved.optimizer["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    batch, eval_batch = resolved.train["batch_size"], eval_batch_of(resolved, setup)
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

    def evaluate(n: int) -> None:
        model.eval()
        with torch.no_grad():
            for start in range(0, n, eval_batch):
                model(x[start:start + eval_batch]).argmax(1)

    if warmup_batches:
        epoch(warmup_batches)
        evaluate(eval_batch)
    memory = PeakMemory()
    memory.start()
    start = time.perf_counter()
    loss, acc = epoch(None)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "train_loss": loss, "train_acc": acc, "peak_mb": memory.peak_mb,
              "growth_mb": memory.growth_mb, "samples": len(x), "threads_torch": torch.get_num_threads(),
              "torch": torch.__version__}
    start = time.perf_counter()
    evaluate(len(x))
    result["eval_seconds"] = time.perf_counter() - start
    return result


def run_worker(script: Path, side: str, args, **extra_env) -> dict:
    command = [sys.executable, str(script), "--worker", side, "--warmup", str(args.warmup)]
    env = {**os.environ, **extra_env}
    if args.no_stages:
        command.append("--no-stages")
    if args.nnctl_src and side in ("nnctl", "compile"):
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(args.nnctl_src).resolve()),
                                                          env.get("PYTHONPATH")]))
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(script: Path, title: str, config: dict, build_torch_model) -> None:
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (nnctl, torch) epochs")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up batches before the timed epoch")
    parser.add_argument("--no-stages", action="store_true", help="skip nnctl's per-stage breakdown epoch")
    parser.add_argument("--nnctl-src", help="import nnctl from this checkout on the nnctl side (before/after)")
    parser.add_argument("--worker", choices=["nnctl", "torch", "compile"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "nnctl":
        print(json.dumps(nnctl_worker(config, args.warmup, not args.no_stages)))
        return
    if args.worker == "torch":
        print(json.dumps(torch_worker(config, build_torch_model, args.warmup)))
        return
    if args.worker == "compile":
        print(json.dumps(compile_kernels()))
        return
    have_torch = importlib.util.find_spec("torch") is not None     # not imported here: its threads stay out
    if not have_torch:
        print("PyTorch is not installed: timing nnctl only (pip install -e '.[bench]' for the comparison)")
    print(title)
    for line in blas_description():
        print(f"  {line}")
    peak = gemm_gflops(2048, 2048, 2048)
    print(f"  float32 GEMM peak: {peak:.0f} GFLOP/s (2048x2048 @ 2048x2048, best of 7)", flush=True)
    with tempfile.TemporaryDirectory() as cache:      # an empty kernel cache: the first run's compile time
        cold, warm = (run_worker(script, "compile", args, NUMBA_CACHE_DIR=cache) for _ in range(2))
    print(f"  {cold['kernels']}")
    if cold["compile_seconds"]:
        print(f"  kernel compile time: {cold['compile_seconds']:.2f} s cold (empty cache), "
              f"{warm['compile_seconds']:.2f} s warm (from the cache; numba's import included)", flush=True)
    results: dict[str, list[dict]] = {"nnctl": [], "torch": []}
    for round_ in range(args.repeat):
        sides = ("nnctl", "torch") if round_ % 2 == 0 else ("torch", "nnctl")   # neither always goes first
        for side in sides if have_torch else ("nnctl",):
            r = run_worker(script, side, args)
            results[side].append(r)
            print(f"round {round_ + 1} {side:6s} {r['seconds']:7.2f} s/epoch  loss {r['train_loss']:.4f}  "
                  f"acc {r['train_acc']:.4f}  peak RSS {r['peak_mb']:.0f} MB ({r['growth_mb']:+.0f} MB in the epoch)",
                  flush=True)
    report(title, results, peak)


def report(title: str, results: dict[str, list[dict]], peak: float) -> None:
    first = results["nnctl"][0]
    flops = first["gemm_flops"]
    print(f"\n{title}")
    print(f"  nnctl from {first['nnctl']}; its BLAS: {'; '.join(first['blas'][:-1])}")
    print(f"  nnctl {first.get('kernels', 'kernels: numpy')}")
    print(f"  epoch GEMM work {flops / 1e9:.1f} GFLOP: {flops / peak / 1e9:.2f} s at the measured peak "
          f"of {peak:.0f} GFLOP/s")
    med = {s: statistics.median(r["seconds"] for r in rs) for s, rs in results.items() if rs}
    for side, rs in results.items():
        if not rs:
            continue
        achieved = flops / med[side] / 1e9
        train_rate = rs[0]["samples"] / med[side]
        eval_rate = rs[0]["samples"] / statistics.median(r["eval_seconds"] for r in rs)
        print(f"  {side:6s} median {med[side]:.2f} s/epoch over {len(rs)} runs (min {min(r['seconds'] for r in rs):.2f}, "
              f"max {max(r['seconds'] for r in rs):.2f}); GEMM {achieved:.0f} GFLOP/s = {achieved / peak:.0%} of peak")
        print(f"         peak RSS {max(r['peak_mb'] for r in rs):.0f} MB, at most {max(r['growth_mb'] for r in rs):+.0f} "
              f"MB during the epoch; evaluation {eval_rate:,.0f} images/s vs training {train_rate:,.0f} "
              f"images/s ({eval_rate / train_rate:.1f}x, batch {first['eval_batch']})")
    if med.get("torch"):
        t = results["torch"][0]
        print(f"  PyTorch {t['torch']} with {t['threads_torch']} threads; NumPy {np.__version__}")
        paired = [a["seconds"] / b["seconds"] for a, b in zip(results["nnctl"], results["torch"])]
        print(f"  ratio nnctl/PyTorch seconds per epoch: {med['nnctl'] / med['torch']:.3f} (ratio of medians); "
              f"per round {statistics.median(paired):.3f} median, range {min(paired):.3f}-{max(paired):.3f}")
        peaks = {s: max(r["peak_mb"] for r in results[s]) for s in ("nnctl", "torch")}
        print(f"  ratio nnctl/PyTorch peak RSS during the epoch: {peaks['nnctl'] / peaks['torch']:.3f}")
    staged = [r for r in results["nnctl"] if "stages" in r]
    if staged:
        total = statistics.median(r["profiled_seconds"] for r in staged)
        print(f"  nnctl epoch by stage (median over {len(staged)} timed-stage epochs of {total:.2f} s; "
              f"timers add a little):")
        for stage in STAGES:
            seconds = statistics.median(r["stages"][stage] for r in staged)
            print(f"    {stage:18s} {seconds:7.3f} s  {seconds / total:6.1%}")
