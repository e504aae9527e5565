"""Sharing the machine: nnctl's and PyTorch's training epoch alone, beside a CPU-bound process, and two at once.

    python benchmarks/bench_shared.py [--model mlp|cnn|both] [--repeat 2]

For each model (the MLP of bench_mlp.py and the CNN of bench_cnn.py, same data, threads and bookkeeping, each
side in its own fresh subprocess as there), and for each side, three situations:
  (a) quiet:    one epoch with nothing else running;
  (b) busy:     the same epoch beside one single-threaded CPU-bound process (a pure-Python loop that this
                benchmark starts just before and kills just after; it holds one core all the time);
  (c) two:      two runs of that side started together; each one's epoch is timed.
It prints each situation's seconds per epoch (median over --repeat rounds, sides alternating) and the
slowdown against (a): busy/quiet, and for (c) the slower of the two runs over quiet.

The issue's targets (issue 23): beside a CPU-bound process nnctl slows down no more than PyTorch and at most
1.6x; two nnctl runs at once each take at most 2.3x one alone. Run it on an otherwise quiet machine, with the
OpenBLAS kernel a user's machine would use:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_shared.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {"mlp": HERE / "bench_mlp.py", "cnn": HERE / "bench_cnn.py"}
HOG = "while True:\n    pass\n"


def start_worker(script: Path, side: str, warmup: int) -> subprocess.Popen:
    """One epoch of `side` in a fresh process (bench_mlp/bench_cnn's --worker mode, without stage timers)."""
    command = [sys.executable, str(script), "--worker", side, "--warmup", str(warmup), "--no-stages"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"benchmark worker failed ({process.returncode}):\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def quiet(script: Path, side: str, warmup: int) -> list[dict]:
    return [finish(start_worker(script, side, warmup))]


def busy(script: Path, side: str, warmup: int) -> list[dict]:
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        time.sleep(0.5)                      # the hog is running before the epoch's process starts
        return [finish(start_worker(script, side, warmup))]
    finally:
        hog.kill()
        hog.wait()


def two(script: Path, side: str, warmup: int) -> list[dict]:
    first, second = start_worker(script, side, warmup), start_worker(script, side, warmup)
    return [finish(first), finish(second)]


SITUATIONS = {"quiet": quiet, "busy": busy, "two": two}


def measure(model: str, sides: list[str], repeat: int, warmup: int) -> dict:
    """seconds[side][situation] -> list of epoch times (for `two`, the slower run of each pair)."""
    seconds = {side: {name: [] for name in SITUATIONS} for side in sides}
    for round_ in range(repeat):
        order = sides if round_ % 2 == 0 else sides[::-1]
        for name, run in SITUATIONS.items():
            for side in order:
                results = run(SCRIPTS[model], side, warmup)
                seconds[side][name].append(max(r["seconds"] for r in results))
                shown = " / ".join(f"{r['seconds']:.2f}" for r in results)
                threads = "; ".join(r.get("threads") or f"{r['threads_torch']} threads" for r in results)
                print(f"  round {round_ + 1} {model} {side:6s} {name:6s} {shown} s/epoch  threads: {threads}",
                      flush=True)
    return seconds


def report(model: str, seconds: dict) -> None:
    print(f"\n{model.upper()}: median seconds per epoch, and slowdown against quiet")
    for side, by_name in seconds.items():
        base = statistics.median(by_name["quiet"])
        cells = [f"quiet {base:6.2f} s"]
        for name in ("busy", "two"):
            value = statistics.median(by_name[name])
            cells.append(f"{name} {value:6.2f} s = {value / base:4.2f}x")
        print(f"  {side:6s} " + "   ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of every situation and side")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up batches before each timed epoch")
    args = parser.parse_args()
    sides = ["nnctl"] + (["torch"] if importlib.util.find_spec("torch") else [])
    if len(sides) == 1:
        print("PyTorch is not installed: timing nnctl only (pip install -e '.[bench]' for the comparison)")
    from nnctl.cpus import available_cpus
    print(f"CPUs: {os.cpu_count()} online, {available_cpus()} available to this process; load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    models = ["mlp", "cnn"] if args.model == "both" else [args.model]
    results = {model: measure(model, sides, args.repeat, args.warmup) for model in models}
    for model, seconds in results.items():
        report(model, seconds)


if __name__ == "__main__":
    main()
