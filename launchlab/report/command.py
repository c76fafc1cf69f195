"""``.venv/bin/launchlab report``: its flags and what it does with them.

Numbers are taken as text and checked here, not by argparse, so a bad value ends in the
toolkit's one ``launchlab: ...`` line and exit code 2 rather than argparse's usage dump.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from launchlab import assembly
from launchlab.errors import LaunchlabError
from launchlab.report import refresh
from launchlab.report.cost import Assumptions
from launchlab.report.inventory import read_inventory
from launchlab.report.measured import measured_figures, read_bench, traffic_from_cloudwatch
from launchlab.report.model import build_report
from launchlab.report.prices import DEFAULT_TABLE, load_table
from launchlab.report.profile import PRESETS, SHAPES, build_profile
from launchlab.report.render import print_measured, print_report, write_files

DEFAULT_OUT = assembly.ROOT / "reports"
# Flag, the traffic profile field it sets, metavar, help.
TRAFFIC_FLAGS = (
    ("--requests-per-month", "requests_per_month", "N", "requests a month"),
    ("--duration-ms", "avg_duration_ms", "MS", "average duration per request"),
    ("--payload-kb", "payload_kb", "KB", "bytes per request and response"),
    ("--shape", "shape", "SHAPE", f"one of {', '.join(SHAPES)}"),
    ("--peak-to-average", "peak_to_average", "X", "peak rate / average rate"),
    ("--peak-hours", "peak_hours_per_day", "H", "hours a day at the peak rate"),
)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``report`` on the CLI's subcommands (``commands`` from add_subparsers)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "report",
        help="what each launch type costs a month and demands of you, from the templates",
        description=(
            "Price ECS on EC2, Fargate and Lambda for a traffic profile, from the sizes in the "
            "synthesized templates and the project's price table; write Markdown, JSON and a chart."
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
    traffic.add_argument("--preset", help=f"one of {', '.join(PRESETS)} (default hobby)")
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
        "--task-capacity-rps",
        metavar="RPS",
        help="requests/s one ECS task serves (default: from task vCPU, duration, scaling target)",
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
    parser.set_defaults(handler=run)
    return parser


def _capacity(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        capacity = float(value)
    except ValueError:
        raise LaunchlabError(f"--task-capacity-rps must be a number, got {value!r}") from None
    if not capacity > 0 or capacity == float("inf"):
        raise LaunchlabError(f"--task-capacity-rps must be a number > 0, got {value!r}")
    return capacity


def _share(value: str | None) -> float:
    if value is None:
        return Assumptions.cpu_share
    try:
        share = float(value)
    except ValueError:
        raise LaunchlabError(f"--cpu-share must be a number, got {value!r}") from None
    if not 0 < share <= 1:
        raise LaunchlabError(f"--cpu-share must be in (0, 1], got {value!r}")
    return share


def run(args: argparse.Namespace, console: Console) -> int:
    bench = read_bench(Path(args.bench)) if args.bench else None
    flags: dict[str, str | None] = {field: getattr(args, field) for _, field, _, _ in TRAFFIC_FLAGS}
    if args.traffic_from_bench:
        if bench is None:
            raise LaunchlabError("--traffic-from-bench needs --bench FILE")
        # Measured usage first; a flag given on the command line still wins.
        flags = {**traffic_from_cloudwatch(bench), **{k: v for k, v in flags.items() if v}}
    profile = build_profile(
        args.preset,
        Path(args.profile) if args.profile else None,
        flags,
        flag_names={field: flag for flag, field, _, _ in TRAFFIC_FLAGS},
    )
    assumptions = Assumptions(
        free_tier=args.free_tier,
        task_capacity_rps=_capacity(args.task_capacity_rps),
        cpu_share=_share(args.cpu_share),
    )
    prices_path = Path(args.prices)
    if args.refresh_prices:
        refresh.check_region(args.region)
    table = load_table(prices_path)
    if args.refresh_prices:
        with console.status("fetching prices from the AWS Price List Query API"):
            result = refresh.refresh_table(prices_path, prices_path, add_region=args.region)
        for region in result.added:
            console.print(
                f"added {region} to {result.path}: every price from the API"
                + (f"; not offered there: {', '.join(result.left_out)}" if result.left_out else ""),
                highlight=False,
            )
        console.print(
            f"refreshed {len(result.refreshed)} prices into {result.path}; kept "
            f"{len(result.kept)} the API did not answer: {', '.join(result.kept) or 'none'}",
            highlight=False,
        )
        table = load_table(prices_path)
    table.region(args.region)  # an unknown region fails before a slow synth
    context = assembly.parse_context(args.context)
    if args.cdk_out and not context:
        app = assembly.load(Path(args.cdk_out))
    else:
        outdir = Path(args.cdk_out) if args.cdk_out else assembly.DEFAULT_OUTDIR
        with console.status("synthesizing the app (cdk.out is missing, stale or -c was given)"):
            app = assembly.ensure(outdir, context)
    report = build_report(
        str(app.outdir), read_inventory(app), table, args.region, profile, assumptions
    )
    print_report(report, console, details=args.details)
    measured = measured_figures(bench) if bench is not None else None
    if measured is not None:
        print_measured(measured, console)
    paths = write_files(report, Path(args.out), measured=measured)
    folder = {path.parent for path in paths.values()}.pop()
    more = "" if args.details else "; --details prints line items, break-even points, ops, notes"
    console.print(
        f"wrote {', '.join(path.name for path in paths.values())} in {folder}{more}",
        highlight=False,
        markup=False,
    )
    return 0
