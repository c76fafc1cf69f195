"""Benchmark: cold `cdk synth` of the launchlab app (default config) against a baseline app of
the shape of aws-cdk-examples' python/ecs/fargate-load-balanced-service (bench/
fargate_example_app.py: a 2-AZ VPC, a cluster and one load-balanced Fargate service), and the
app with all six launch types (-c launchTypes=all) against its default.

Both go through the pinned CLI the same way (same working directory, so the same cdk.json
context and feature flags; fresh output directories), alternating, in this one process, so
the ratio cancels out the machine's speed. Then it counts the round trips to the jsii kernel
that building and synthesizing the app take in-process: a figure the machine's load does not
change. Last, each app's phases in a fresh interpreter without the CLI (importing aws_cdk,
cdk_nag and the app's modules, building, synthesizing; the example's script builds and
synthesizes in one step, shown as its build), and what the CLI adds on top. Prints figures;
passes or fails nothing.

    .venv/bin/python bench/synth.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
BASELINE_APP = ROOT / "bench" / "fargate_example_app.py"
TARGET_RATIO = 0.9
# Every launch type (-c launchTypes=all) against the default three: at most this ratio.
ALL_TARGET_RATIO = 1.4


def timed_synth(app_command: str | None, *context: str) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        args = [str(CDK), "synth", "--quiet", "--no-notices", "-o", outdir]
        if app_command:
            args += ["--app", app_command]
        for pair in context:
            args += ["-c", pair]
        env = {
            **os.environ,
            "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
        }
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def rounds_flag(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"--rounds has value {value!r}; allowed: an integer >= 1")
    return int(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=rounds_flag, default=5)
    args = parser.parse_args()
    baseline_app = f"{sys.executable} {BASELINE_APP}"
    timed_synth(None)  # warm the OS file cache for both, so neither pays for the first read
    timed_synth(baseline_app)
    app_times, baseline_times, all_times = [], [], []
    for _ in range(args.rounds):
        app_times.append(timed_synth(None))
        baseline_times.append(timed_synth(baseline_app))
        all_times.append(timed_synth(None, "launchTypes=all"))
    # Per-round ratios: each pair ran back to back, under the same load on a shared machine.
    ratios = [app / baseline for app, baseline in zip(app_times, baseline_times, strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"launchlab app synth:   median {statistics.median(app_times):.2f} s {figures(app_times)}"
    )
    print(
        f"fargate example synth: median {statistics.median(baseline_times):.2f} s "
        f"{figures(baseline_times)}"
    )
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(
        f"ratio (median of per-round ratios): {ratio:.2f}x {figures(ratios, 'x')} "
        f"(target <= {TARGET_RATIO}x: {verdict})"
    )
    all_ratios = [every / app for every, app in zip(all_times, app_times, strict=True)]
    all_ratio = statistics.median(all_ratios)
    print(
        f"launchTypes=all synth: median {statistics.median(all_times):.2f} s {figures(all_times)}; "
        f"against the default: {all_ratio:.2f}x {figures(all_ratios, 'x')} "
        f"(target <= {ALL_TARGET_RATIO}x: {'met' if all_ratio <= ALL_TARGET_RATIO else 'MISSED'})"
    )
    for label, overrides in (("default config", {}), ("launchTypes=all", {"launchTypes": "all"})):
        building, synthesizing = round_trips(overrides)
        print(f"jsii round trips in-process, {label}: {building} building, {synthesizing} synth")
    ours = [_phases("app") for _ in range(args.rounds)]
    theirs = [_phases("example") for _ in range(args.rounds)]
    for label, runs in (("launchlab app", ours), ("fargate example", theirs)):
        medians = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in medians.items())
        print(f"in-process, fresh interpreter ({label}): {parts}")
    cli = statistics.median(app_times) - statistics.median(run["total"] for run in ours)
    print(f"the CLI's share of a launchlab synth (CLI median - in-process median): {cli:.2f} s")
    return 0


# Each phase of one synth in a fresh interpreter (no CLI): what each app costs on its own.
_PHASES = """
import json, sys, tempfile, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
from stacks.toolchain import use_project_node
use_project_node()
import aws_cdk
imported = time.perf_counter()
if {which!r} == "app":
    import cdk_nag
    nag = time.perf_counter()
    from stacks.launchlab_app import create_app
    loaded = time.perf_counter()
    context = json.load(open({root!r} + "/cdk.json"))["context"]
    app, _ = create_app(context=context, outdir=tempfile.mkdtemp(prefix="bench-synth-"))
    built = time.perf_counter()
    app.synth()
else:
    import os, runpy
    os.environ["CDK_OUTDIR"] = tempfile.mkdtemp(prefix="bench-synth-")
    nag = loaded = time.perf_counter()
    runpy.run_path({example!r}, run_name="__main__")  # builds and synthesizes
    built = time.perf_counter()
done = time.perf_counter()
print(json.dumps({{"import aws_cdk": imported - start, "import cdk_nag": nag - imported,
    "import the app": loaded - nag, "build": built - loaded, "synth": done - built,
    "total": done - start}}))
"""


def _phases(which: str) -> dict[str, float]:
    code = _PHASES.format(root=str(ROOT), which=which, example=str(BASELINE_APP))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    )
    phases: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return phases


def round_trips(overrides: dict[str, str]) -> tuple[int, int]:
    """Kernel requests made by ``create_app()`` and by ``app.synth()``, counted at jsii's
    process provider (a private class: this is a benchmark, not the app)."""
    sys.path.insert(0, str(ROOT))
    from stacks.toolchain import use_project_node

    use_project_node()
    from jsii._kernel.providers import process

    from stacks.launchlab_app import create_app

    sent = 0
    send = process._NodeProcess.send

    def counted(self: process._NodeProcess, request: object, response_type: object) -> object:
        nonlocal sent
        sent += 1
        return send(self, request, response_type)  # type: ignore[arg-type]

    process._NodeProcess.send = counted  # type: ignore[assignment,method-assign]
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], **overrides}
    before = sent
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        app, _ = create_app(context=context, outdir=outdir)
        building = sent - before
        app.synth()
    process._NodeProcess.send = send  # type: ignore[method-assign]
    return building, sent - before - building


def figures(values: list[float], unit: str = "") -> str:
    return "[" + ", ".join(f"{value:.2f}{unit}" for value in values) + "]"


if __name__ == "__main__":
    sys.exit(main())
