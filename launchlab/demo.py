"""`launchlab demo`: the main job on this machine, with no AWS account and no Docker.

1. synthesize the app and run its checks (cdk-nag inside synth, cfn-lint);
2. start the three workloads on 127.0.0.1, each as its image runs it, labelled with the
   launch type it stands in for;
3. verify each with the verifier that checks a real deployment;
4. run a short, bounded load test against each;
5. write the comparison report, with the local figures beside the projected costs;
6. stop every process it started, even on Ctrl-C or failure;
then print the figures measured here and, last, the verdict screen `launchlab report` prints.
Exits non-zero if any step failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from launchlab import assembly, checks, local, summary
from launchlab.load import LoadResult, run_load
from launchlab.report.cost import Assumptions
from launchlab.report.inventory import read_inventory
from launchlab.report.model import Report, build_report
from launchlab.report.prices import load_table
from launchlab.report.profile import build_profile
from launchlab.report.render import (
    print_report,
    write_files,
)
from launchlab.report.timeline import load_timings
from launchlab.verify import EndpointReport, verify_endpoint
from stacks import launch_types

STEPS = 6
# The region the demo prices in; `launchlab report --region` prices any region in the table.
DEMO_REGION = "us-east-1"


@dataclass
class DemoOptions:
    outdir: Path
    report_dir: Path
    context: dict[str, str] = field(default_factory=dict)
    requests: int = 2000
    concurrency: int = 16
    seconds: float = 30.0
    docker: bool = False
    reuse: bool = False  # skip the synth when outdir is an up-to-date synth of this config


@dataclass
class DemoResult:
    failed_steps: list[str] = field(default_factory=list)
    verifications: list[EndpointReport] = field(default_factory=list)
    loads: dict[str, LoadResult] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)
    report_paths: list[Path] = field(default_factory=list)
    # launch type -> seconds its stand-in took to start here
    start_seconds: dict[str, float] = field(default_factory=dict)
    report: Report | None = None  # what the projection says; None if the demo stopped before it

    @property
    def passed(self) -> bool:
        return not self.failed_steps


def _step(console: Console, number: int, text: str, passed: bool | None = None) -> None:
    mark = "" if passed is None else (" [green]ok[/]" if passed else " [red]FAILED[/]")
    console.print(f"[bold][{number}/{STEPS}][/] {text}{mark}")


def run_demo(options: DemoOptions, console: Console) -> DemoResult:
    result = DemoResult()
    if options.docker:
        local.docker_ready()  # before anything slow: no engine is a one-line error

    reused = options.reuse and not options.context and not assembly.is_stale(options.outdir)
    with console.status(f"[{1}/{STEPS}] synthesizing the app (cdk-nag runs inside synth)"):
        if not reused:
            assembly.synthesize(options.outdir, options.context)
        app = assembly.load(options.outdir)
        verdicts = [
            checks.cdk_nag(options.outdir),
            checks.cfn_lint(options.outdir),
            checks.network(app),
        ]
    if reused:
        done = (
            f"reused the {len(app.templates)} stacks in {options.outdir} (newer than every source)"
        )
    else:
        done = f"synthesized {len(app.templates)} stacks into {options.outdir}"
    _step(console, 1, done)
    for verdict in verdicts:
        kept = " (its output on these very templates was kept)" if verdict.cached else ""
        _step(console, 1, f"{verdict.checker}: {verdict.detail}{kept}", verdict.passed)
        if not verdict.passed:
            result.failed_steps.append(f"1 {verdict.checker}")
            for finding in verdict.findings:
                console.print(f"      {finding}", highlight=False, markup=False)

    _print_stacks(console, app)
    workloads = local.workloads_from(app)
    log_dir = options.report_dir / "local-logs"
    if options.docker:
        with console.status(f"[2/{STEPS}] building the three images with Docker"):
            workloads = local.in_docker(workloads, log_dir)
    with local.running_workloads(workloads, log_dir) as started:
        for running in started:
            result.start_seconds[running.workload.launch_type] = running.start_seconds
            command = " ".join(running.workload.sidecar[1:] or running.workload.command[1:])
            _step(console, 2, f"{running.workload.label} on {running.url}: {command}")
        for running in started:
            report = verify_endpoint(
                running.workload.label,
                running.url,
                expected_launch_type=running.workload.reported_launch_type,
            )
            result.verifications.append(report)
            detail = f"{running.workload.label}: {sum(c.passed for c in report.checks)}/"
            detail += f"{len(report.checks)} checks"
            _step(console, 3, detail, report.passed)
            for failure in report.failures():
                console.print(f"      {failure.name}: {failure.detail}")
            if not report.passed:
                result.failed_steps.append(f"3 verify {running.workload.launch_type}")
        for running in started:
            with console.status(f"[4/{STEPS}] load on {running.workload.label}"):
                load = run_load(
                    running.url,
                    requests=options.requests,
                    concurrency=options.concurrency,
                    seconds=options.seconds,
                )
            result.loads[running.workload.launch_type] = load
            ok = load.errors == 0 and load.completed > 0
            _step(
                console,
                4,
                f"{running.workload.label}: {load.completed} requests in {load.seconds:.1f} s, "
                f"{load.requests_per_second:.0f} req/s, p50 {load.p50_ms:.1f} ms, "
                f"p99 {load.p99_ms:.1f} ms, {load.errors} errors",
                ok,
            )
            if not ok:
                result.failed_steps.append(f"4 load {running.workload.launch_type}")
        result.report_paths = write_report(app, options.report_dir, result)
        _step(console, 5, "report written: " + ", ".join(str(p) for p in result.report_paths))
    # The context manager has stopped every process by now, SIGTERM first.
    for running in started:
        result.exit_codes[running.workload.launch_type] = running.exit_code or 0
    clean = all(code == 0 for code in result.exit_codes.values())
    _step(
        console,
        6,
        "stopped every workload with SIGTERM: exit codes "
        + ", ".join(f"{k} {v}" for k, v in result.exit_codes.items()),
        clean,
    )
    if not clean:
        result.failed_steps.append("6 stop")

    _print_table(console, result)
    _print_timelines(console, result)
    if result.report is not None:
        # Last, so the answer is what a newcomer sees when the demo ends: the same screen as
        # `launchlab report` (report.md has the rest).
        print_report(result.report, console)
    return result


def local_figures(result: DemoResult) -> dict[str, Any]:
    """The measured figures, labelled as local so nobody takes them for AWS figures."""
    labels = {r.label.split(" (")[0]: r.label for r in result.verifications}
    return {
        "measured_where": "locally (127.0.0.1 on this machine, not AWS)",
        "launch_types": {
            name: {**load.as_dict(), "label": labels.get(launch_types.label(name), name)}
            for name, load in result.loads.items()
        },
        "verified": {r.label: r.passed for r in result.verifications},
    }


LOCAL_START = "locally (the stand-ins' start on 127.0.0.1, this machine; not AWS)"


def local_start_times(result: DemoResult) -> dict[str, tuple[float, float, str]]:
    """The app-start steps of the modelled timelines, from the stand-ins measured here: the
    container apps' start (s) and the function's init (ms), each as the range of those seen."""
    containers, functions = [], []
    for launch_type, seconds in result.start_seconds.items():
        if launch_types.spec(launch_type).stand_in == "function-url":
            functions.append(seconds * 1000)
        else:
            containers.append(seconds)
    found = {}
    if containers:
        found["container_start_s"] = (min(containers), max(containers), LOCAL_START)
    if functions:
        found["lambda_app_init_ms"] = (min(functions), max(functions), LOCAL_START)
    return found


def write_report(app: assembly.Assembly, report_dir: Path, result: DemoResult) -> list[Path]:
    """The cost and ops report of the synthesized app (the default traffic profile), with the
    local figures beside the projected costs; and the figures alone as JSON."""
    report = build_report(
        str(app.outdir),
        read_inventory(app),
        load_table(),
        DEMO_REGION,
        build_profile(None, None, {}),
        Assumptions(free_tier=True, task_capacity_rps=None),
        load_timings(measured=local_start_times(result)),
    )
    figures = local_figures(result)
    paths = write_files(report, report_dir, measured=figures)
    result.report = report
    figures_path = report_dir / "local-figures.json"
    figures_path.write_text(json.dumps(figures, indent=2) + "\n")
    return [*paths.values(), figures_path]


def _print_stacks(console: Console, app: assembly.Assembly) -> None:
    table = Table(title="what `make deploy` would create")
    for column in ("stack", "launch type", "resources", "highlights"):
        table.add_column(column)
    for item in summary.summarise(app):
        table.add_row(
            item.stack_name, item.launch_type, str(item.resource_count), "; ".join(item.highlights)
        )
    console.print(table)


def _print_timelines(console: Console, result: DemoResult) -> None:
    """What the ops table of the report screen below takes from here (the table itself is the
    report's: printed once)."""
    starts = ", ".join(
        f"{launch_types.label(lt)} {seconds:.2f} s" for lt, seconds in result.start_seconds.items()
    )
    console.print(
        f"the ops timelines below take the app's start from the stand-ins, measured "
        f"{LOCAL_START}: {starts}",
        highlight=False,
        markup=False,
    )


def _print_table(console: Console, result: DemoResult) -> None:
    table = Table(title="measured locally (127.0.0.1, this machine; not AWS figures)")
    for column in ("stands in for", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors", "verified"):
        table.add_column(column)
    verified = {r.label.split(" (")[0]: r.passed for r in result.verifications}
    for name, load in result.loads.items():
        label = launch_types.label(name)
        table.add_row(
            label,
            f"{load.requests_per_second:.0f}",
            f"{load.p50_ms:.1f}",
            f"{load.p90_ms:.1f}",
            f"{load.p99_ms:.1f}",
            str(load.errors),
            "yes" if verified.get(label) else "no",
        )
    console.print(table)
