"""The ``launchlab`` command line. Every failure a user can cause ends in one line saying what
is wrong and what to do next, and a non-zero exit; never a traceback."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from launchlab import assembly, checks, summary
from launchlab.errors import LaunchlabError


def _parse_context(pairs: Sequence[str]) -> dict[str, str]:
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise LaunchlabError(f"-c takes key=value, got {pair!r}")
        context[key] = value
    return context


def demo(args: argparse.Namespace, console: Console) -> int:
    """Synthesize the app, run its checks, and print what each stack would deploy."""
    outdir = Path(args.cdk_out)
    context = _parse_context(args.context)
    with console.status("[1/3] synthesizing the app (cdk-nag runs inside synth)"):
        assembly.synthesize(outdir, context)
        app = assembly.load(outdir)
    console.print(f"[1/3] synthesized {len(app.templates)} stacks into {outdir}")
    with console.status("[2/3] checking templates"):
        verdicts = [checks.cdk_nag(outdir), checks.cfn_lint(outdir)]
    for verdict in verdicts:
        mark = "[green]pass[/]" if verdict.passed else "[red]FAIL[/]"
        console.print(f"[2/3] {verdict.checker}: {mark} ({verdict.detail})")
    table = Table(title="[3/3] what `cdk deploy --all` would create")
    for column in ("stack", "launch type", "resources", "highlights"):
        table.add_column(column)
    for item in summary.summarise(app):
        table.add_row(
            item.stack_name, item.launch_type, str(item.resource_count), "; ".join(item.highlights)
        )
    console.print(table)
    return 0 if all(v.passed for v in verdicts) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="launchlab",
        description="Compare ECS on EC2, Fargate and Lambda: what each costs and demands.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="synthesize the app, run cdk-nag and cfn-lint, summarise the stacks"
    )
    demo_parser.add_argument("--cdk-out", default=str(assembly.DEFAULT_OUTDIR))
    demo_parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE",
        help="config override passed to cdk synth (repeatable)",
    )  # fmt: skip
    demo_parser.set_defaults(handler=demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        return int(args.handler(args, console))
    except LaunchlabError as error:
        Console(stderr=True).print(f"launchlab: {error}", highlight=False, markup=False)
        return 2
    except KeyboardInterrupt:
        Console(stderr=True).print("launchlab: interrupted", highlight=False)
        return 130
