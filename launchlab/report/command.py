"""``.venv/bin/launchlab report``: its flags. What it does with them is in
launchlab/report/runner.py, imported only once a report runs: the pricing model (numpy), the
Price List client (boto3) and the chart (matplotlib) are no part of `--help` or a bad flag.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from launchlab import assembly
from launchlab.report.cost import COMMITMENTS
from launchlab.report.prices import DEFAULT_TABLE
from launchlab.report.profile import DEFAULT_PRESET, PRESET_CONTEXT, PRESETS, SHAPES
from stacks import launch_types

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_OUT = assembly.ROOT / "reports"
# Flag, the traffic profile field it sets, metavar, help.
TRAFFIC_FLAGS = (
    ("--requests-per-month", "requests_per_month", "N", "requests a month"),
    ("--duration-ms", "avg_duration_ms", "MS", "average duration per request"),
    ("--payload-kb", "payload_kb", "KB", "bytes per request and response together"),
    ("--request-kb", "request_kb", "KB", "of the payload, the request's (inbound, free)"),
    ("--shape", "shape", "SHAPE", f"one of {', '.join(SHAPES)}"),
    ("--peak-to-average", "peak_to_average", "X", "peak rate / average rate"),
    ("--peak-hours", "peak_hours_per_day", "H", "hours a day at the peak rate"),
)


def _labels(*, default: bool) -> str:
    return ", ".join(spec.label for spec in launch_types.REGISTRY if spec.default == default)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``report`` on the CLI's subcommands (``commands`` from add_subparsers)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "report",
        help="what each launch type costs a month and demands of you, from the templates",
        description=(
            "Price the launch types in the synthesized app for a traffic profile, from the sizes "
            "in its templates and the project's price table; write Markdown, JSON and a chart. "
            f"By default: {_labels(default=True)}; with -c launchTypes=... (keys, or all) also "
            f"{_labels(default=False)}, deployed or not."
        ),
    )
    source = parser.add_argument_group("what to price")
    source.add_argument(
        "--cdk-out",
        help="read this synthesized app instead of the project's cdk.out (no synth unless -c)",
    )
    source.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE",
        help="config override passed to cdk synth (repeatable), e.g. -c fargateCpu=1024",
    )  # fmt: skip
    source.add_argument(
        "--region",
        default="us-east-1",
        help="price region (default us-east-1; bundled: us-east-1, eu-west-1; others with "
        "--refresh-prices)",
    )
    source.add_argument(
        "--prices", default=str(DEFAULT_TABLE), metavar="FILE", help="price table (YAML)"
    )
    source.add_argument(
        "--refresh-prices",
        action="store_true",
        help="fetch current prices from the AWS Price List Query API into --prices first; "
        "with a --region the table lacks, build its entry (any commercial region)",
    )
    traffic = parser.add_argument_group("traffic profile (preset, then --profile, then flags)")
    traffic.add_argument(
        "--preset",
        help=f"one of {', '.join(PRESETS)} (default {DEFAULT_PRESET}); "
        + "; ".join(
            f"{name} also synthesizes with "
            + " ".join(f"-c {key}={value}" for key, value in context.items())
            for name, context in PRESET_CONTEXT.items()
        ),
    )
    traffic.add_argument("--profile", metavar="FILE", help="traffic profile YAML")
    for flag, field, metavar, about in TRAFFIC_FLAGS:
        traffic.add_argument(flag, dest=field, metavar=metavar, help=about)
    model = parser.add_argument_group("model")
    model.add_argument(
        "--free-tier",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="apply the always-free monthly allowances (Lambda, data transfer out)",
    )
    traffic.add_argument(
        "--bench",
        metavar="FILE",
        help="show the figures `.venv/bin/launchlab bench` measured on AWS (e.g. "
        "reports/bench.json) beside the projected costs",
    )
    traffic.add_argument(
        "--drill",
        metavar="FILE",
        help="show the timelines `.venv/bin/launchlab drill` measured on AWS (e.g. "
        "reports/drill.json) beside the modelled ones",
    )
    traffic.add_argument(
        "--traffic-from-bench",
        action="store_true",
        help="price the requests and Lambda duration CloudWatch recorded (needs --bench from "
        "`.venv/bin/launchlab bench --cloudwatch`)",
    )
    model.add_argument(
        "--cpu-share",
        metavar="X",
        help="share of each request's duration spent on CPU, 0 < X <= 1 (default 0.25: a "
        "web request mostly waits on I/O; 1 for pure computation)",
    )
    model.add_argument(
        "--timing",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set one of the ops timings the timelines use (launchlab/report/timings.yaml; "
        "repeatable), e.g. --timing ec2_boot_register_s=120",
    )
    model.add_argument(
        "--commitment",
        default="none",
        metavar="PLAN",
        help=f"how compute is paid: {', '.join(COMMITMENTS)} (no-upfront Compute Savings Plans "
        "on EC2 instance hours, Fargate vCPU and memory, Lambda duration; default none)",
    )
    model.add_argument(
        "--task-capacity-rps",
        metavar="RPS",
        help="requests/s one ECS task serves (default: from task vCPU, duration, scaling target)",
    )
    compare = parser.add_argument_group("compare with a baseline (a pull request's cost check)")
    compare.add_argument(
        "--baseline",
        metavar="REPORT_JSON",
        help="report.json of another run (e.g. the base branch's): print what changed per "
        "launch type and in the verdict, and write it as cost-diff.md beside report.md",
    )
    compare.add_argument(
        "--fail-above",
        metavar="USD",
        help="with --baseline: exit 1 if any launch type's monthly cost grows by more than USD",
    )
    parser.add_argument(
        "--out", default=str(DEFAULT_OUT), metavar="DIR", help="where to write (default reports/)"
    )
    parser.add_argument(
        "--details",
        action="store_true",
        help="also print the line items, exact break-even points, ops table and notes "
        "(report.md always has them)",
    )
    parser.set_defaults(handler=_run)
    return parser


def _run(args: argparse.Namespace, console: Console) -> int:
    from launchlab.report import runner

    return runner.run(args, console)
