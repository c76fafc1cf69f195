"""What ``.venv/bin/launchlab report`` does with its flags (launchlab/report/command.py): build
the traffic profile and assumptions, refresh and load the prices, synthesize or read cdk.out,
then price, print and write the report.

Numbers are taken as text and checked here, not by argparse, so a bad value ends in the
toolkit's one ``launchlab: ...`` line and exit code 2 rather than argparse's usage dump.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from launchlab import assembly
from launchlab.errors import LaunchlabError
from launchlab.report import diff
from launchlab.report.command import TRAFFIC_FLAGS
from launchlab.report.cost import COMMITMENTS, Assumptions
from launchlab.report.inventory import read_inventory
from launchlab.report.measured import (
    measured_figures,
    read_bench,
    read_drill,
    traffic_from_cloudwatch,
)
from launchlab.report.model import build_report
from launchlab.report.prices import load_table
from launchlab.report.profile import PRESET_CONTEXT, build_profile
from launchlab.report.render import print_drill, print_measured, print_report, write_files
from launchlab.report.timeline import load_timings, parse_overrides


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


def _commitment(value: str) -> str:
    if value not in COMMITMENTS:
        raise LaunchlabError(f"--commitment must be one of {', '.join(COMMITMENTS)}, got {value!r}")
    return value


def run(args: argparse.Namespace, console: Console) -> int:
    bench = read_bench(Path(args.bench)) if args.bench else None
    drill = read_drill(Path(args.drill)) if args.drill else None
    timings = load_timings(overrides=parse_overrides(args.timing))
    # Before anything slow: a bad baseline or limit is a one-line error at once.
    limit = diff.parse_limit(args.fail_above)
    if limit is not None and not args.baseline:
        raise LaunchlabError("--fail-above needs --baseline REPORT_JSON to compare with")
    baseline = diff.read_baseline(Path(args.baseline)) if args.baseline else None
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
        commitment=_commitment(args.commitment),
    )
    prices_path = Path(args.prices)
    if args.refresh_prices:
        # Only here: it imports boto3, about half a second that a report from the bundled table
        # never needs.
        from launchlab.report import refresh

        refresh.check_region(args.region)
    table = load_table(prices_path)
    if args.refresh_prices:
        with console.status("fetching prices from the AWS Price List Query API"):
            result = refresh.refresh_table(
                prices_path,
                prices_path,
                add_region=args.region,
                savings_plans_factory=refresh.savings_plans_client,
                ec2_factory=refresh.ec2_client,
            )
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
        for skipped in result.skipped:
            console.print(f"not refreshed: {skipped}", highlight=False, markup=False)
        table = load_table(prices_path)
    table.region(args.region)  # an unknown region fails before a slow synth
    context = assembly.parse_context(args.context)
    # A preset's config (production: availability=multi-az), under the -c the user gave; an
    # assembly given with --cdk-out alone is read as it was synthesized, and said so.
    preset_context = {
        k: v for k, v in PRESET_CONTEXT.get(args.preset or "", {}).items() if k not in context
    }
    if preset_context and args.cdk_out and not context:
        console.print(
            f"--preset {args.preset} synthesizes with "
            + " ".join(f"-c {k}={v}" for k, v in preset_context.items())
            + f"; {args.cdk_out} is read as it was synthesized (give the -c to synthesize it so)",
            highlight=False,
            markup=False,
        )
    elif preset_context:
        context = {**preset_context, **context}
    if args.cdk_out and not context:
        app = assembly.load(Path(args.cdk_out))
    else:
        outdir = Path(args.cdk_out) if args.cdk_out else assembly.DEFAULT_OUTDIR
        with console.status("synthesizing the app (cdk.out is missing, stale or -c was given)"):
            app = assembly.ensure(outdir, context)
    report = build_report(
        str(app.outdir), read_inventory(app), table, args.region, profile, assumptions, timings
    )
    print_report(report, console, details=args.details)
    measured = measured_figures(bench) if bench is not None else None
    if measured is not None:
        print_measured(measured, console)
    if drill is not None:
        print_drill(report, drill, console)
    paths = write_files(report, Path(args.out), measured=measured, drill=drill)
    folder = {path.parent for path in paths.values()}.pop()
    more = "" if args.details else "; --details prints line items, break-even points, ops, notes"
    console.print(
        f"wrote {', '.join(path.name for path in paths.values())} in {folder}{more}",
        highlight=False,
        markup=False,
    )
    if baseline is not None:
        return diff.publish(baseline, Path(args.baseline), paths["json"], console, limit)
    return 0
