"""Sharing the machine: nnctl's and PyTorch's training epoch alone, beside a CPU-bound process, and two at once.

    python benchmarks/bench_shared.py [--model mlp|cnn|both] [--repeat 2]

For each model (the MLP of bench_mlp.py and the CNN of bench_cnn.py, same data, threads and bookkeeping, each
side in its own fresh subprocess as there), and for each side, three situations:
  (a) quiet:    one epoch with nothing else running;
  (b) busy:     the same epoch beside one single-threaded CPU-bound process (a pure-Python loop that this
                benchmark starts just before and kills just after; it holds one core all the time);
  (c) two:      two runs of that side started together; each one's epoch is timed.
It prints each situation's seconds per epoch (median over --repeat rounds, sides alternating) and the
slowdown against (a): busy/quiet, and for (c) the slower of the two runs over quiet. A worker that takes
longer than --cap (8) times its quiet epoch plus a minute is stopped and shown as "over 8x" (PyTorch's
two-at-once runs can take 30 times as long on 2 cores: its OpenMP threads spin while they wait).

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


def finish(process: subprocess.Popen, deadline: float | None = None) -> dict:
    """The worker's result; a worker still running at `deadline` (time.monotonic()) is stopped, and its
    result is {"seconds": None, "stopped_after": seconds it had run}."""
    started = time.monotonic()
    try:
        out, err = process.communicate(timeout=None if deadline is None else max(0.0, deadline - started))
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"seconds": None, "stopped_after": time.monotonic() - started}
    if process.returncode != 0:
        raise SystemExit(f"benchmark worker failed ({process.returncode}):\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def quiet(script: Path, side: str, warmup: int, deadline: float | None) -> list[dict]:
    return [finish(start_worker(script, side, warmup))]


def busy(script: Path, side: str, warmup: int, deadline: float | None) -> list[dict]:
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        time.sleep(0.5)                      # the hog is running before the epoch's process starts
        return [finish(start_worker(script, side, warmup), deadline)]
    finally:
        hog.kill()
        hog.wait()


def two(script: Path, side: str, warmup: int, deadline: float | None) -> list[dict]:
    first, second = start_worker(script, side, warmup), start_worker(script, side, warmup)
    return [finish(first, deadline), finish(second, deadline)]


SITUATIONS = {"quiet": quiet, "busy": busy, "two": two}


def measure(model: str, sides: list[str], repeat: int, warmup: int, cap: float) -> dict:
    """seconds[side][situation] -> list of epoch times (for `two`, the slower run of each pair; None for a
    worker stopped at `cap` times its quiet time plus a minute for start-up and data)."""
    seconds = {side: {name: [] for name in SITUATIONS} for side in sides}
    for round_ in range(repeat):
        order = sides if round_ % 2 == 0 else sides[::-1]
        for name, run in SITUATIONS.items():
            for side in order:
                quiet_time = seconds[side]["quiet"][-1] if seconds[side]["quiet"] else None
                deadline = None if quiet_time is None else time.monotonic() + cap * quiet_time + 60
                results = run(SCRIPTS[model], side, warmup, deadline)
                times = [r["seconds"] for r in results]
                seconds[side][name].append(None if None in times else max(times))
                shown = " / ".join(f"{t:.2f}" if t is not None else f"stopped after {r['stopped_after']:.0f} s"
                                   for t, r in zip(times, results))
                threads = "; ".join(r.get("threads") or f"{r.get('threads_torch', '?')} threads" for r in results
                                    if r["seconds"] is not None)
                print(f"  round {round_ + 1} {model} {side:6s} {name:6s} {shown} s/epoch  threads: {threads}",
                      flush=True)
    return seconds


def report(model: str, seconds: dict, cap: float) -> None:
    print(f"\n{model.upper()}: median seconds per epoch, and slowdown against quiet")
    for side, by_name in seconds.items():
        base = statistics.median(by_name["quiet"])
        cells = [f"quiet {base:6.2f} s"]
        for name in ("busy", "two"):
            values = by_name[name]
            if None in values:
                cells.append(f"{name} over {cap:g}x (stopped)")
                continue
            value = statistics.median(values)
            cells.append(f"{name} {value:6.2f} s = {value / base:4.2f}x")
        print(f"  {side:6s} " + "   ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of every situation and side")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up batches before each timed epoch")
    parser.add_argument("--cap", type=float, default=8.0,
                        help="stop a busy or two-at-once worker after this many times its quiet epoch (+60 s)")
    args = parser.parse_args()
    sides = ["nnctl"] + (["torch"] if importlib.util.find_spec("torch") else [])
    if len(sides) == 1:
        print("PyTorch is not installed: timing nnctl only (pip install -e '.[bench]' for the comparison)")
    from nnctl.cpus import available_cpus
    print(f"CPUs: {os.cpu_count()} online, {available_cpus()} available to this process; load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    models = ["mlp", "cnn"] if args.model == "both" else [args.model]
    results = {model: measure(model, sides, args.repeat, args.warmup, args.cap) for model in models}
    for model, seconds in results.items():
        report(model, seconds, args.cap)


if __name__ == "__main__":
    main()
