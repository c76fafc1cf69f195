"""Benchmark: `launchlab report` (the steady-small-business preset, from an up-to-date cdk.out:
price, print the verdict, write report.md, report.json and the chart as PNG and SVG) against
`launchlab --help` (the CLI's start) and a bare `python -c pass`, in fresh processes of the same
interpreter from the project root, alternating, in this one process, so the ratios cancel out
the machine's speed. The tests render a report a dozen times a session, in and out of process.

Then one report in this process, part by part, as CPU time (median of the rounds, each on a
fresh matplotlib figure; imports paid before the first): the model (`build_report`: estimates,
break-even points, bands, flip points), the chart's figure (mostly its curves: cost-model
evaluations), drawing the PNG and the SVG. And a figure the machine's load does not change: how
many times the cost model (`cost.estimate`) ran for the model and for the chart.
Prints figures; passes or fails nothing.

    .venv/bin/python -m bench.report [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cli_start import timed
from bench.synth import figures, rounds_flag
from launchlab import assembly

PRESET = "steady-small-business"


def in_process(rounds: int) -> None:
    """One report's parts, and how often each ran the cost model."""
    from launchlab.report import model, render, verdict
    from launchlab.report.cost import Assumptions
    from launchlab.report.inventory import read_inventory
    from launchlab.report.prices import load_table
    from launchlab.report.profile import PRESETS

    calls = [0]
    real = model.estimate

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    # Both modules took ``estimate`` by name: count it where they call it.
    model.estimate = verdict.estimate = counted
    app = assembly.load(assembly.DEFAULT_OUTDIR)
    inventory, table = read_inventory(app), load_table()
    parts: dict[str, list[float]] = {"model": [], "chart figure": [], "PNG": [], "SVG": []}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as out:
        for _ in range(rounds + 1):  # the first round pays matplotlib's imports: not kept
            calls[0], start = 0, time.process_time()
            report = model.build_report(
                str(app.outdir), inventory, table, "us-east-1", PRESETS[PRESET], Assumptions()
            )
            parts["model"].append(time.process_time() - start)
            counts["model"] = calls[0]
            calls[0], start = 0, time.process_time()
            figure = render.chart_figure(report)
            parts["chart figure"].append(time.process_time() - start)
            counts["chart figure"] = calls[0]
            start = time.process_time()
            figure.savefig(Path(out) / "c.png", format="png")
            parts["PNG"].append(time.process_time() - start)
            start = time.process_time()
            figure.savefig(Path(out) / "c.svg", format="svg")
            parts["SVG"].append(time.process_time() - start)
    print(f"one report in this process ({rounds} rounds, CPU, median):")
    for part, spent in parts.items():
        runs = f", the cost model run {counts[part]} times" if part in counts else ""
        print(f"  {part:<13} {statistics.median(spent[1:]) * 1000:7.1f} ms{runs}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=rounds_flag, default=10)
    args = parser.parse_args()
    assembly.ensure(assembly.DEFAULT_OUTDIR, {})  # synthesized once, outside the figures
    with tempfile.TemporaryDirectory(prefix="bench-report-") as out:
        report = [sys.executable, "-m", "launchlab", "report", "--cdk-out",
                  str(assembly.DEFAULT_OUTDIR), "--preset", PRESET, "--out", out]  # fmt: skip
        cli = [sys.executable, "-m", "launchlab", "--help"]
        bare = [sys.executable, "-c", "pass"]
        commands = {"launchlab report": report, "launchlab --help": cli, "python -c pass": bare}
        for command in commands.values():
            timed(command)  # warm-up: the OS file cache, bytecode caches, matplotlib's font cache
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        for _ in range(args.rounds):
            for label, command in commands.items():
                runs[label].append(timed(command))
    print(f"{args.rounds} rounds, fresh processes, {PRESET}:")
    for label, measured in runs.items():
        walls, cpus = [run[0] * 1000 for run in measured], [run[1] * 1000 for run in measured]
        print(
            f"  {label:<17} median {statistics.median(walls):7.1f} ms wall, "
            f"{statistics.median(cpus):7.1f} ms CPU"
        )
    for baseline in ("launchlab --help", "python -c pass"):
        ratios = [
            ours[1] / base[1]
            for ours, base in zip(runs["launchlab report"], runs[baseline], strict=True)
            if base[1] > 0
        ]
        print(
            f"report / {baseline}, CPU (median of per-round ratios): "
            f"{statistics.median(ratios):.2f}x {figures(ratios, 'x')}"
        )
    in_process(args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
