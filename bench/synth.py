"""Benchmark: cold `cdk synth` of the whole launchlab app against a one-bucket CDK app.

Both go through the pinned CLI in fresh output directories, alternating, in this one process,
so the ratio cancels out the machine's speed. Prints figures; passes or fails nothing.

    .venv/bin/python bench/synth.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
TARGET_RATIO = 1.5


def timed_synth(app_command: str | None) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        args = [str(CDK), "synth", "--quiet", "--no-notices", "-o", outdir]
        if app_command:
            args += ["--app", app_command]
        env = {
            **os.environ,
            "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
        }
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    baseline_app = f"{sys.executable} {ROOT / 'bench' / 'one_bucket_app.py'}"
    timed_synth(None)  # warm the OS file cache for both, so neither pays for the first read
    timed_synth(baseline_app)
    app_times, baseline_times = [], []
    for _ in range(args.rounds):
        app_times.append(timed_synth(None))
        baseline_times.append(timed_synth(baseline_app))
    app_median = statistics.median(app_times)
    baseline_median = statistics.median(baseline_times)
    ratio = app_median / baseline_median
    print(f"launchlab app synth: median {app_median:.2f} s over {args.rounds} ({app_times})")
    print(f"one-bucket app synth: median {baseline_median:.2f} s over {args.rounds}")
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"ratio: {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
