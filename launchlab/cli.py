"""The ``launchlab`` command line. Every failure a user can cause ends in one line saying what
is wrong and what to do next, and a non-zero exit; never a traceback.

Users start it for every command and the tests start it dozens of times, so building the
parser imports nothing heavy: each command's handler imports what it runs (boto3, httpx,
numpy, matplotlib, rich) when it runs, and `--help` or a bad flag never pays for them.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from launchlab import assembly, processes
from launchlab import report as report_command
from launchlab.aws import commands as aws_commands
from launchlab.errors import LaunchlabError
from launchlab.limits import LOAD_MAX_CONCURRENCY, LOAD_MAX_REQUESTS, LOAD_MAX_SECONDS
from stacks import launch_types
from stacks.launch_types import DEFAULT_KEYS

if TYPE_CHECKING:
    from rich.console import Console


class _BadFlag(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag ends in one line like every other error, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise _BadFlag(message)


def demo(args: argparse.Namespace, console: Console) -> int:
    """The main job on this machine: synth and checks, the three workloads on 127.0.0.1,
    verify, bounded load, the report, and every process stopped again."""
    from launchlab.demo import DemoOptions, run_demo

    options = DemoOptions(
        outdir=Path(args.cdk_out),
        report_dir=Path(args.out),
        context=assembly.parse_context(args.context),
        requests=args.requests,
        concurrency=args.concurrency,
        seconds=args.seconds,
        docker=args.docker,
        reuse=args.reuse,
    )
    result = run_demo(options, console)
    if not result.passed:
        console.print(f"[red]failed steps:[/] {', '.join(result.failed_steps)}")
        return 1
    return 0


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in {low}..{high}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= LOAD_MAX_SECONDS:  # nan fails this too
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds in (0, {LOAD_MAX_SECONDS:g}]"
        )
    return value


# The opt-in launch types' labels, for --help.
OPT_IN = tuple(spec.label for spec in launch_types.REGISTRY if not spec.default)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="launchlab",
        description=(
            f"Compare AWS launch types ({', '.join(launch_types.label(k) for k in DEFAULT_KEYS)};"
            f" opt-in with -c launchTypes=...: {', '.join(OPT_IN)}): what each costs and demands."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    about = (
        "synthesize and check the app, run the workloads locally, verify, load them briefly, "
        "write the report, stop everything"
    )
    demo_parser = commands.add_parser("demo", help=about, description=about[0].upper() + about[1:])
    demo_parser.add_argument(
        "--cdk-out", default=str(assembly.DEFAULT_OUTDIR), metavar="DIR",
        help="where to synthesize the app to, and read it from (default: the project's cdk.out)",
    )  # fmt: skip
    demo_parser.add_argument("--out", default="reports", help="report directory (reports/)")
    demo_parser.add_argument(
        "--reuse", action="store_true",
        help="skip the synth if --cdk-out holds one newer than every source and the toolkit "
        "made it without -c (one you made with `.venv/bin/npx cdk synth -c ...` looks just as "
        "fresh); "
        "cdk-nag's report is still read, and cfn-lint still judges the templates (its "
        "output on unchanged templates is kept in --cdk-out, or in $LAUNCHLAB_CACHE_DIR)",
    )  # fmt: skip
    demo_parser.add_argument(
        "--docker", action="store_true",
        help="build and run the real images (needs a Docker engine) instead of the processes",
    )  # fmt: skip
    demo_parser.add_argument(
        "--requests", type=_bounded_int(1, LOAD_MAX_REQUESTS), default=2000,
        help=f"requests per workload in the load step, 1..{LOAD_MAX_REQUESTS} (default 2000)",
    )  # fmt: skip
    demo_parser.add_argument(
        "--concurrency", type=_bounded_int(1, LOAD_MAX_CONCURRENCY), default=16,
        help=f"connections per workload in the load step, 1..{LOAD_MAX_CONCURRENCY} (default 16)",
    )  # fmt: skip
    demo_parser.add_argument(
        "--seconds", type=_seconds, default=30.0,
        help="time limit per workload in the load step, "
        f"0 < S <= {LOAD_MAX_SECONDS:g} (default 30)",
    )  # fmt: skip
    demo_parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE",
        help="config override passed to cdk synth (repeatable)",
    )  # fmt: skip
    demo_parser.set_defaults(handler=demo)
    aws_commands.add_parsers(commands)
    report_command.add_parser(commands)
    parser.set_defaults(commands=list(commands.choices))
    return parser


def _fail(message: str) -> int:
    from rich.console import Console

    # One line, however narrow the terminal: scripts and tests match on it.
    Console(stderr=True, soft_wrap=True).print(
        f"launchlab: {message}", highlight=False, markup=False
    )
    return 2


# Where nothing says how wide a line may be (no terminal and no COLUMNS: a CI log, a pipe, a
# file), rich would wrap at 80 columns and fold a table cell, a path or a flag mid-word. There
# lines stay whole (the viewer wraps them to its own width, and every word stays searchable) and
# tables get room up to this width, so no column is folded.
LOG_WIDTH = 200


def output_console() -> Console:
    """The console every command prints to: the terminal's width on a terminal (or COLUMNS),
    whole lines in a log."""
    from rich.console import Console

    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(soft_wrap=True, width=LOG_WIDTH)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except _BadFlag as error:
        return _fail(str(error))
    if args.command is None:
        known = ", ".join(args.commands)
        return _fail(
            f"choose a command: {known} (`.venv/bin/launchlab --help` says what each does)"
        )
    from rich.console import Console

    console = output_console()
    try:
        with processes.stop_signals():
            return int(args.handler(args, console))
    except LaunchlabError as error:
        return _fail(str(error))
    except OSError as error:
        # A path the user gave that cannot be read or written (--out, --cdk-out, --profile).
        where = f" {error.filename}" if error.filename else ""
        return _fail(f"cannot use{where}: {error.strerror or error}; choose another path")
    except KeyboardInterrupt as stop:
        # Every process we started has been stopped by the `finally` blocks on the way here.
        # Ctrl-C can land anywhere, e.g. inside asyncio.run() before its loop is fully built;
        # what such half-made objects say when collected at exit is noise, not news.
        sys.unraisablehook = lambda _: None
        warnings.simplefilter("ignore")
        signum = stop.signum if isinstance(stop, processes.Stopped) else signal.SIGINT
        what = "interrupted" if signum == signal.SIGINT else f"stopped by {stop}"
        # After SIGHUP the terminal may be gone: nothing left to tell, the exit code says it.
        with contextlib.suppress(OSError):
            Console(stderr=True).print(f"launchlab: {what}", highlight=False)
        return 128 + signum


def run() -> NoReturn:
    """The console script (.venv/bin/launchlab) and ``python -m launchlab``."""
    sys.exit(main())
