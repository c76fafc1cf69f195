"""Benchmark: the start of the `launchlab` command, `python -m launchlab --help`, against a bare
interpreter start, `python -c pass`, in fresh processes of the same interpreter from the project
root, alternating, in this one process, so the ratio cancels out the machine's speed.

The baseline is the floor every Python command pays before its first import (the interpreter,
site and the venv's .pth files, the editable install's finder); what the ratio counts above 1x
is launchlab's own: its imports and its parser. Users start the CLI for every command and the
tests start it dozens of times. Wall and CPU (user + system, from the children's rusage) time,
medians, and each ratio as the median of the per-round ratios. One warm-up run of each first,
so neither pays for the first read of its files.

Python's bytecode caches matter here: with PYTHONDONTWRITEBYTECODE set (as in some shells) a
checkout's modules that have no cache yet compile from source at every start. The first line
says whether launchlab's have one; `env -u PYTHONDONTWRITEBYTECODE` writes them in the warm-up
and measures what a user gets.
Prints figures; passes or fails nothing.

    .venv/bin/python -m bench.cli_start [--rounds 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import time

from bench.synth import ROOT, figures, rounds_flag

COMMAND = [sys.executable, "-m", "launchlab", "--help"]
BASELINE = [sys.executable, "-c", "pass"]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=rounds_flag, default=20)
    args = parser.parse_args()
    timed(COMMAND)  # warm-up: the OS file cache, and the bytecode caches where they are written
    timed(BASELINE)
    setting = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "unset"
    cache = importlib.util.cache_from_source(str(ROOT / "launchlab" / "cli.py"))
    cached = "has a" if os.path.exists(cache) else "has no"
    print(
        f"PYTHONDONTWRITEBYTECODE {setting}: launchlab/cli.py {cached} bytecode cache; "
        f"{args.rounds} rounds in {ROOT}"
    )
    ours, bare = [], []
    for _ in range(args.rounds):
        ours.append(timed(COMMAND))
        bare.append(timed(BASELINE))
    for label, runs in (("python -m launchlab --help", ours), ("python -c pass", bare)):
        walls, cpus = [run[0] * 1000 for run in runs], [run[1] * 1000 for run in runs]
        print(
            f"{label:<27} median {statistics.median(walls):6.1f} ms wall, "
            f"{statistics.median(cpus):6.1f} ms CPU"
        )
    for which, name in ((0, "wall"), (1, "CPU")):
        ratios = [a[which] / b[which] for a, b in zip(ours, bare, strict=True) if b[which] > 0]
        print(
            f"ratio, {name} (median of per-round ratios): {statistics.median(ratios):.2f}x "
            f"{figures(ratios, 'x')}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
