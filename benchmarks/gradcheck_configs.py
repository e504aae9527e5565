"""Every shipped config through `nnctl gradcheck` at several seeds: the count of failures and the largest
errors. A correctness sweep, not a timing (it lives beside the benchmarks because it is run by hand: a few
hundred checks take a while).

    python benchmarks/gradcheck_configs.py [CONFIG ...] [--seeds 0-9] [--samples 8] [--set KEY=VALUE ...]

Without CONFIGs every .yaml under configs/ is checked. Prints one line per config (its worst tensor over
the seeds) and a last line with the totals; exits 1 when anything failed or a config could not be checked
(its data missing, say: configs/mlp.yaml and cnn.yaml read MNIST, which --set data.dataset=fashion-mnist
replaces by a set of the same shapes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nnctl  # noqa: F401  (first: it tunes OpenBLAS before NumPy loads, as the nnctl command does)

ROOT = Path(__file__).resolve().parent.parent


def seed_range(text: str) -> list[int]:
    """'0-9' -> [0, ..., 9]; '3' -> [3]; '0,4,7' -> [0, 4, 7]."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


def worst(report: dict, key: str) -> tuple[float, str]:
    """The largest value of `key` over every row of one gradcheck report (noise above 1, a tensor whose
    true gradient is zero, is left out), with the row it came from."""
    rows = [(r[key], f"{part} {r['where']}.{r['tensor']}") for part in ("layers", "losses", "network")
            for r in report[part] if key != "noise" or r[key] < 1]
    return max(rows, default=(0.0, "-"))


def main(argv: list[str] | None = None) -> int:
    from nnctl.check.runner import run_gradcheck
    from nnctl.config.load import load_config
    from nnctl.errors import NnctlError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--seeds", default="0-9", type=seed_range)
    parser.add_argument("--samples", default=8, type=int)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    configs = args.configs or sorted((ROOT / "configs").rglob("*.yaml"))
    totals = {"pass": 0, "warn": 0, "fail": 0}
    largest: tuple[float, str] = (0.0, "-")
    largest_noise: tuple[float, str] = (0.0, "-")
    unchecked = 0
    for path in configs:
        name = path.relative_to(ROOT) if path.is_absolute() and ROOT in path.parents else path
        config_worst, config_noise, failures = (0.0, "-"), (0.0, "-"), []
        for seed in args.seeds:
            try:
                report = run_gradcheck(load_config(path, [*args.overrides, f"seed={seed}"]), samples=args.samples)
            except NnctlError as exc:
                print(f"{name}: not checked: {exc}", flush=True)
                unchecked += 1
                break
            for verdict, count in report["counts"].items():
                totals[verdict] += count
            if report["counts"]["fail"]:
                failures.append(seed)
            error, noise = worst(report, "max_rel_error"), worst(report, "noise")
            config_worst = max(config_worst, (error[0], f"{error[1]} seed {seed}"))
            config_noise = max(config_noise, (noise[0], f"{noise[1]} seed {seed}"))
        else:
            print(f"{name}: largest error {config_worst[0]:.2e} ({config_worst[1]}), largest noise "
                  f"{config_noise[0]:.2e} ({config_noise[1]}), failing seeds {failures or 'none'}", flush=True)
        largest = max(largest, (config_worst[0], f"{name} {config_worst[1]}"))
        largest_noise = max(largest_noise, (config_noise[0], f"{name} {config_noise[1]}"))
    print(f"{len(configs) - unchecked} configs x {len(args.seeds)} seeds ({unchecked} not checked): "
          f"{totals['pass']} tensors pass, {totals['warn']} warn, {totals['fail']} fail; largest error "
          f"{largest[0]:.2e} ({largest[1]}); largest noise {largest_noise[0]:.2e} ({largest_noise[1]})")
    return 1 if totals["fail"] or unchecked else 0


if __name__ == "__main__":
    sys.exit(main())
