"""The AWS-facing subcommands, registered on the main parser by one call from cli.py.

Each handler imports what it runs (boto3, httpx) when it runs: `--help` and a bad flag do
not pay for them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchlab import assembly
from launchlab.limits import (
    BENCH_MAX_CONCURRENCY,
    BENCH_MAX_HOURS,
    BENCH_MAX_REQUESTS,
    BENCH_MAX_SECONDS,
    DRILL_MAX_IDLE_SECONDS,
    DRILL_MAX_WAIT_SECONDS,
)

if TYPE_CHECKING:
    from rich.console import Console

BENCH_OUT = assembly.ROOT / "reports" / "bench.json"
DRILL_OUT = assembly.ROOT / "reports" / "drill.json"


def _up(args: argparse.Namespace, console: Console) -> int:
    from launchlab.aws import up
    from launchlab.aws.sandbox import aws_errors, open_sandbox

    with aws_errors():
        return up.up(
            open_sandbox(),
            Path(args.cdk_out),
            assembly.parse_context(args.context),
            console,
            ignore_quotas=args.ignore_quotas,
        )


def _verify(args: argparse.Namespace, console: Console) -> int:
    from launchlab.aws import verify_deployed
    from launchlab.aws.sandbox import aws_errors, open_sandbox

    with aws_errors():
        return verify_deployed.verify(open_sandbox(), console, timeout=args.timeout)


def _bench(args: argparse.Namespace, console: Console) -> int:
    from launchlab.aws import bench_deployed
    from launchlab.aws.sandbox import aws_errors, open_sandbox

    with aws_errors():
        settings = bench_deployed.BenchSettings(
            requests=args.requests, concurrency=args.concurrency, seconds=args.seconds
        )
        hours = args.hours if args.cloudwatch else None
        return bench_deployed.bench(open_sandbox(), settings, Path(args.out), console, hours)


def _drill(args: argparse.Namespace, console: Console) -> int:
    from launchlab.aws import drill
    from launchlab.aws.bench_deployed import BenchSettings
    from launchlab.aws.sandbox import aws_errors, open_sandbox
    from launchlab.errors import LaunchlabError
    from stacks import launch_types

    unknown = [key for key in args.only if key not in launch_types.KEYS]
    if unknown:
        raise LaunchlabError(
            f"--only {', '.join(unknown)}: not a launch type; one of {', '.join(launch_types.KEYS)}"
        )
    with aws_errors():
        settings = drill.DrillSettings(
            load=BenchSettings(
                requests=args.requests, concurrency=args.concurrency, seconds=args.seconds
            ),
            idle_seconds=args.idle,
            wait_seconds=args.wait,
            poll_seconds=args.poll,
            only=tuple(args.only),
        )
        return drill.drill(open_sandbox(), settings, Path(args.out), console)


def _down(args: argparse.Namespace, console: Console) -> int:
    from launchlab.aws import down
    from launchlab.aws.sandbox import aws_errors, open_sandbox

    with aws_errors():
        return down.down(
            open_sandbox(),
            assembly.parse_context(args.context),
            console,
            scan_only=args.scan_only,
            delete_leftovers=args.delete_leftovers,
        )


def _context_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE",
        help="config override passed to cdk (repeatable)",
    )  # fmt: skip


def _add(commands: Any, name: str, about: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=about, description=about[0].upper() + about[1:]
    )
    return parser


def add_parsers(commands: Any) -> None:
    """Add up, verify, bench, drill and down to ``commands`` (the main parser's subparsers)."""
    parser = _add(
        commands,
        "up",
        "deploy every stack (cdk deploy --all), then print the endpoints and the idle cost an hour",
    )
    parser.add_argument(
        "--cdk-out", default=str(assembly.DEFAULT_OUTDIR), metavar="DIR",
        help="where to synthesize the app to before deploying (default: the project's cdk.out)",
    )  # fmt: skip
    parser.add_argument(
        "--ignore-quotas", action="store_true",
        help="deploy even when the account's vCPU quotas are below what the selection needs",
    )  # fmt: skip
    _context_flag(parser)
    parser.set_defaults(handler=_up)

    parser = _add(
        commands,
        "verify",
        "check every deployed endpoint, the ECS services' steady state and the function",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.set_defaults(handler=_verify)

    parser = _add(
        commands, "bench", "bounded load against every deployed endpoint; writes reports/bench.json"
    )
    parser.add_argument(
        "--requests", type=int, default=200,
        help=f"per endpoint (at most {BENCH_MAX_REQUESTS})",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=int, default=8,
        help=f"connections at once (at most {BENCH_MAX_CONCURRENCY})",
    )  # fmt: skip
    parser.add_argument(
        "--seconds", type=float, default=30.0,
        help=f"time limit per endpoint (at most {BENCH_MAX_SECONDS:g})",
    )  # fmt: skip
    parser.add_argument(
        "--out", default=str(BENCH_OUT), metavar="FILE",
        help="where to write the figures (default reports/bench.json)",
    )  # fmt: skip
    parser.add_argument(
        "--cloudwatch", action="store_true",
        help="also read ALB, ECS and Lambda usage from CloudWatch",
    )  # fmt: skip
    parser.add_argument(
        "--hours", type=int, default=24,
        help=f"with --cloudwatch: how far back (at most {BENCH_MAX_HOURS})",
    )  # fmt: skip
    parser.set_defaults(handler=_bench)

    parser = _add(
        commands,
        "drill",
        "time a deploy, a scale-out, a rollback and a cold start on every deployed launch type; "
        "writes reports/drill.json",
    )
    parser.add_argument(
        "--requests", type=int, default=200,
        help=f"the load step's requests (at most {BENCH_MAX_REQUESTS}, as bench)",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=int, default=8,
        help=f"the load step's connections (at most {BENCH_MAX_CONCURRENCY})",
    )  # fmt: skip
    parser.add_argument(
        "--seconds", type=float, default=30.0,
        help=f"the load step's time limit (at most {BENCH_MAX_SECONDS:g})",
    )  # fmt: skip
    parser.add_argument(
        "--idle", type=float, default=300.0,
        help=f"seconds without a request before the cold-start one (at most "
        f"{DRILL_MAX_IDLE_SECONDS}; default 300)",
    )  # fmt: skip
    parser.add_argument(
        "--wait", type=float, default=900.0,
        help=f"the longest wait for a deployment, scale-out or rollback (at most "
        f"{DRILL_MAX_WAIT_SECONDS} s; default 900)",
    )  # fmt: skip
    parser.add_argument(
        "--poll", type=float, default=5.0, help="seconds between looks at AWS (default 5)"
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="LAUNCH_TYPE",
        help="drill only this launch type (repeatable; default: every deployed one)",
    )  # fmt: skip
    parser.add_argument(
        "--out", default=str(DRILL_OUT), metavar="FILE",
        help="where to write the figures (default reports/drill.json)",
    )  # fmt: skip
    parser.set_defaults(handler=_drill)

    parser = _add(
        commands,
        "down",
        "delete every launchlab stack found in the account and region, then list anything of "
        "the project left",
    )
    parser.add_argument(
        "--scan-only", action="store_true", help="skip the destroy; only look for leftovers"
    )
    parser.add_argument(
        "--delete-leftovers", action="store_true",
        help="also delete the leftovers that carry the project's tag (or ECS's, tied to the "
        "project); list the rest",
    )  # fmt: skip
    parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE",
        help="accepted and not needed: down finds what is deployed",
    )  # fmt: skip
    parser.set_defaults(handler=_down)
