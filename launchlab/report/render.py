"""The report as terminal tables (rich), Markdown, JSON and a chart (matplotlib, Agg backend).

The Markdown tables are written by hand: a pipe table is a few lines, and no Markdown library
is among the project's dependencies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from launchlab.assembly import synthesized_with
from launchlab.report import availability, breakeven
from launchlab.report.cost import COMMITMENT_WORDS
from launchlab.report.measured import drill_where
from launchlab.report.model import Report, to_json
from launchlab.report.ops import BY_HAND, TIMELINES, patches_words
from launchlab.report.prices import Price
from launchlab.report.profile import SECONDS_PER_MONTH
from launchlab.report.timeline import Timeline, amount, short
from launchlab.report.timeline import words as timeline_words
from launchlab.report.verdict import amount as verdict_amount
from launchlab.report.verdict import (
    band_range,
    bands_sentence,
    ops_sentence,
    requests_words,
    sensitivity_words,
    usd,
)
from launchlab.report.verdict import headline as verdict_headline
from stacks import launch_types

OPS_COLUMNS = (
    ("resources", "resources"),
    ("you_manage", "you patch / manage"),
    ("scaling_unit", "unit of scaling (usual time)"),
    ("max_request_duration", "max request duration"),
    ("cold_starts", "cold starts"),
    ("min_billable_unit", "minimum billable unit"),
    ("costs_at_zero_traffic", "keeps costing at zero traffic"),
)


# The modelled timelines, as rows of the ops table (launchlab/report/ops.py, timeline.py).
OPS_TIMELINE_ROWS = (
    ("scale_out", "scale out to the peak (modelled)"),
    ("scale_out_step", "one more task / environment (modelled)"),
    ("deploy", "deploy a new image (modelled)"),
    ("rollback", "roll back a bad image (modelled)"),
    ("cold_start", "first request after idle (modelled)"),
    ("scale_in", "scale in (modelled)"),
)
OPS_SUMMARY_HEADERS = ["launch type", "scale +1", "deploy", "rollback", "cold start", "patch/yr"]
OPS_SUMMARY_TITLE = "Ops burden, modelled (steps, sources: --details)"


def timeline_cell(timeline: Timeline | None) -> str:
    if timeline is None:
        return "-"
    text = timeline_words(timeline)
    return f"{text}: {timeline.target}" if timeline.target else text


def ops_summary_rows(report: Report) -> list[list[str]]:
    """Per launch type the four timelines (one more task, not the whole ramp) and the patches a
    year, in a few characters each."""
    rows = []
    for row in report.ops:
        t = row.timelines
        if not t:
            continue
        rows.append(
            [
                launch_types.label(row.launch_type),
                short(t["scale_out_step"]),
                short(t["deploy"]),
                "by hand" if t["rollback"].target == BY_HAND else short(t["rollback"]),
                short(t["cold_start"]),
                patches_words(row.patching) if row.patching else "-",
            ]
        )
    return rows


def ops_detail_rows(report: Report) -> list[tuple[str, list[str]]]:
    """The timelines, the ramp and the patches as extra rows of the ops table."""
    rows = [
        (header, [timeline_cell(r.timelines.get(key)) for r in report.ops])
        for key, header in OPS_TIMELINE_ROWS
    ]
    rows.append(("at the peak while scaling out", [r.ramp or "-" for r in report.ops]))
    rows.append(
        (
            "patches a year (yours)",
            [
                f"{patches_words(r.patching)}: {r.patching.basis()}" if r.patching else "-"
                for r in report.ops
            ],
        )
    )
    return rows


def timeline_lines(report: Report) -> list[str]:
    """Every modelled timeline step by step, each step with where its figure comes from."""
    lines = []
    for row in report.ops:
        for key in TIMELINES:
            timeline = row.timelines.get(key)
            if timeline is None:
                continue
            head = f"{row.launch_type} {key.replace('_', ' ')}: {timeline_words(timeline)}"
            lines.append(head + (f" ({timeline.target})" if timeline.target else ""))
            lines.extend(
                f"  - {step.what}: {amount(step.low, step.high, timeline.unit)} ({step.basis})"
                for step in timeline.steps
            )
            if timeline.note:
                lines.append(f"  - {timeline.note}")
    return lines


TIMING_HEADERS = ["timing", "value (range)", "what", "source (date) or assumption"]


def timing_rows(report: Report) -> list[list[str]]:
    """The AWS timings the timelines used, each with its source or marked as an assumption."""
    if report.timings is None:
        return []
    return [
        [
            c.key,
            f"{c.value:g} ({c.low:g}-{c.high:g}) {c.unit}",
            c.what,
            c.basis() + (f" ({c.date})" if c.date and not c.assumption else ""),
        ]
        for c in report.timings.constants.values()
    ]


DRILL_HEADERS = ["launch type", "step", "measured", "modelled", "what the drill saw"]
# The drill's steps and the timeline each one measures.
DRILL_STEPS = {
    "cold_start": "cold_start",
    "deploy": "deploy",
    "scale_out": "scale_out_step",
    "rollback": "rollback",
}


def _measured_amount(found: Mapping[str, Any]) -> str:
    value = found.get("value")
    if value is None:
        return "not measured"
    unit = str(found.get("unit", "s"))
    return amount(float(value), float(value), unit)


def drill_rows(report: Report, drill: Mapping[str, Any]) -> list[list[str]]:
    """What `launchlab drill` measured, step by step, beside the modelled timeline."""
    rows = []
    modelled = {row.launch_type: row.timelines for row in report.ops}
    for launch_type, found in (drill.get("launch_types") or {}).items():
        for step, timeline_key in DRILL_STEPS.items():
            measured = (found.get("steps") or {}).get(step)
            if measured is None:
                continue
            timeline = modelled.get(launch_type, {}).get(timeline_key)
            rows.append(
                [
                    launch_type,
                    step.replace("_", " "),
                    _measured_amount(measured),
                    timeline_words(timeline) if timeline is not None else "-",
                    str(measured.get("note", "")),
                ]
            )
    return rows


def drill_json(report: Report, drill: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "measured_where": drill_where(drill),
        "rows": [dict(zip(DRILL_HEADERS, row, strict=True)) for row in drill_rows(report, drill)],
    }


def print_drill(report: Report, drill: Mapping[str, Any], console: Console) -> None:
    table = Table(title=f"Measured {drill_where(drill)}, beside modelled")
    for column in DRILL_HEADERS:
        table.add_column(column)
    for row in drill_rows(report, drill):
        table.add_row(*row)
    console.print(table)


def _quantity(value: Decimal) -> str:
    return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"


def profile_words(report: Report, *, short: bool = False) -> str:
    """Every field of the traffic profile, each with its unit (``short``: for one screen)."""
    p = report.profile
    implied = f" ({p.shape_note})" if p.shape_note else ""
    if short:
        shape = (
            "steady"
            if p.shape == "steady"
            else f"{p.peak_to_average:g}x the average for {p.peak_hours_per_day:g} h/day{implied}"
        )
        return (
            f"{requests_words(p.requests_per_month)} requests/month ({p.average_rps:.3g}/s), "
            f"{p.avg_duration_ms:g} ms, {p.payload_kb:g} KB ({p.request_kb:g} KB in, free; "
            f"{p.response_kb:g} KB out), {shape}"
        )
    if p.shape == "steady":
        shape = "steady (no peak)"
    else:
        shape = (
            f"peaky{implied}: {p.peak_to_average:g}x the average rate for "
            f"{p.peak_hours_per_day:g} h/day"
        )
    return (
        f"{requests_words(p.requests_per_month)} requests/month ({p.average_rps:.3g} req/s "
        f"average), {p.avg_duration_ms:g} ms each, {p.payload_kb:g} KB each "
        f"({p.request_kb:g} KB request, free; {p.response_kb:g} KB response, billed out), {shape}"
    )


def priced_words(report: Report) -> str:
    """How the compute is paid for and in which availability mode the templates put it."""
    mode = availability.mode(report.availability)
    like = "like for like" if mode == "multi-az" else "not like for like"
    return f"Priced {COMMITMENT_WORDS[report.assumptions.commitment]}; {mode} ({like})"


def headline(report: Report) -> list[str]:
    p = report.profile
    free_tier = (
        "ON (Lambda 1M requests + 400,000 GB-s, 100 GB data out a month)"
        if report.assumptions.free_tier
        else "OFF"
    )
    return [
        f"Profile {p.name!r}: {profile_words(report)}",
        priced_words(report),
        f"Region {report.prices.region} ({report.prices.location}); prices from "
        f"{report.table.path.name} dated {report.table.retrieved}; free tier "
        f"{free_tier}",
        f"Sizes read from the templates in {_shown(report.cdk_out)}" + _overrides(report.cdk_out),
    ]


def screen_headline(report: Report) -> list[str]:
    """The headline for the one-screen terminal output (report.md has it whole): every profile
    field with its unit, then where the prices and sizes come from and how they are priced."""
    p = report.profile
    free_tier = "ON" if report.assumptions.free_tier else "OFF"
    plan = report.assumptions.commitment
    priced = ("" if plan == "none" else f", {plan}") + f", {availability.mode(report.availability)}"
    return [
        f"{p.name}: {profile_words(report, short=True)}",
        f"{report.prices.region} prices of {report.table.retrieved}, free tier {free_tier}"
        f"{priced}; sizes from {_shown(report.cdk_out)}" + _overrides(report.cdk_out),
    ]


def _shown(path: str) -> str:
    """``path`` relative to the working directory when it lies inside it: shorter, and the
    same on every machine (the README's sample output)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def _overrides(cdk_out: str) -> str:
    context = synthesized_with(Path(cdk_out))
    if not context:
        return ""
    return ", synthesized with " + " ".join(f"-c {k}={v}" for k, v in sorted(context.items()))


# How a total that holds an estimated price, or misses a charge, is marked in the tables.
MARKS = {"estimate": "*", "lower bound": "+"}


def marked(report: Report, launch_type: str) -> str:
    return usd(report.estimates[launch_type].total) + MARKS.get(
        report.estimates[launch_type].basis, ""
    )


def mark_notes(report: Report, *, why: bool = False) -> list[str]:
    """What the table's marks mean, for the launch types that carry one; ``why`` names each
    estimated charge and how it was made (the price table's note), else one line for all."""
    if not why:
        marks: dict[str, list[str]] = {"estimate": [], "lower bound": []}
        for lt, found in report.estimates.items():
            marks.get(found.basis, []).append(launch_types.label(lt))
        return [
            f"{MARKS[basis]} {words}: {', '.join(names)}"
            for basis, words in (
                ("estimate", "includes an estimated price"),
                ("lower bound", "a lower bound, a charge not priced"),
            )
            if (names := marks[basis])
        ]
    lines = []
    for lt, found in report.estimates.items():
        if found.basis == "estimate":
            what = ", ".join(found.estimated_items())
            notes = {
                item.price.note
                for item in found.items
                if item.price is not None and item.price.estimated and item.price.note
            }
            lines.append(
                f"* {launch_types.label(lt)} includes an estimate: {what}"
                + (f" ({'; '.join(sorted(notes))})" if notes and why else "")
            )
        elif found.basis == "lower bound":
            lines.append(
                f"+ {launch_types.label(lt)} is a lower bound: {'; '.join(found.lower_bound)}"
            )
    return lines


def summary_rows(report: Report) -> list[list[str]]:
    rows = []
    for lt in report.estimates:
        per_million = report.cost_per_million(lt)
        rows.append(
            [
                lt,
                marked(report, lt),
                "n/a" if per_million is None else usd(per_million),
                usd(report.idle_per_hour(lt))
                if report.idle_per_hour(lt) >= Decimal("0.01")
                else f"${report.idle_per_hour(lt):.4f}",
                usd(report.idle[lt].total),
            ]
        )
    return rows


SUMMARY_HEADERS = ["launch type", "monthly", "per 1M requests", "idle per hour", "idle per month"]
ITEM_HEADERS = ["line item", "quantity", "unit", "unit price", "monthly"]
BREAK_EVEN_HEADERS = [
    "pair",
    "break-even (requests/month)",
    "average req/s",
    "monthly there",
    "cheaper below",
]


def _unit_price(price: Price | None) -> str:
    if price is None:
        return "-"
    if price.per != 1:
        return f"${price.usd:g} per {price.per:,.0f}"
    return f"${price.usd:g}"


def item_rows(report: Report, launch_type: str) -> list[list[str]]:
    return [
        [
            item.name + (f" ({item.note})" if item.note else ""),
            _quantity(item.quantity),
            item.unit,
            _unit_price(item.price),
            usd(item.usd),
        ]
        for item in report.estimates[launch_type].items
    ]


def break_even_rows(report: Report) -> list[list[str]]:
    rows = []
    for be in report.break_evens:
        pair = f"{launch_types.label(be.a)} vs {launch_types.label(be.b)}"
        if not be.crossings:
            rows.append(
                [
                    pair,
                    "never crosses in 10^4..10^10",
                    "-",
                    "-",
                    f"{launch_types.label(be.cheaper_throughout or '')} throughout",
                ]
            )
        for c in be.crossings:
            rows.append(
                [
                    pair,
                    f"{requests_words(c.requests_per_month)}"
                    + (" (step)" if c.kind == "jump" else ""),
                    f"{c.requests_per_month / SECONDS_PER_MONTH:.3g}",
                    usd(c.monthly_usd),
                    launch_types.label(c.cheaper_below),
                ]
            )
    return rows


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _by_level(report: Report, counts: object, noun: str) -> str:
    """'2 tasks', or '3 tasks at the peak (2 h a day), 1 task the rest of the day'."""
    assert isinstance(counts, list)  # the sizing's counts, one per load level
    numbers = [int(count) for count in counts]
    if len(numbers) == 1:
        return _count(numbers[0], noun)
    hours = report.profile.peak_hours_per_day
    return (
        f"{_count(numbers[0], noun)} at the peak ({hours:g} h a day), "
        f"{_count(numbers[1], noun)} the rest of the day"
    )


def notes(report: Report) -> list[str]:
    """How each launch type was sized, and what to keep in mind, in sentences with units."""
    lines = []
    for lt, found in report.estimates.items():
        sizing = found.sizing
        if "task_capacity_assumption" in sizing:
            lines.append(f"{lt}: one task serves {sizing['task_capacity_assumption']}")
        if "environments_by_level" in sizing:
            lines.append(
                f"{lt}: {sizing['environments_per_instance']} execution environments fit on one "
                f"instance; it runs "
                f"{_by_level(report, sizing['environments_by_level'], 'environment')}"
                f" on {_by_level(report, sizing['instances_by_level'], 'instance')}"
            )
        elif "instances_by_level" in sizing:
            lines.append(
                f"{lt}: {sizing['tasks_per_instance']} tasks fit on one instance; it runs "
                f"{_by_level(report, sizing['tasks_by_level'], 'task')} "
                f"on {_by_level(report, sizing['instances_by_level'], 'instance')}"
            )
        elif "tasks_by_level" in sizing:
            lines.append(f"{lt}: it runs {_by_level(report, sizing['tasks_by_level'], 'task')}")
        if "peak_concurrency" in sizing:
            lines.append(
                f"{lt}: {float(str(sizing['peak_concurrency'])):.2f} requests in flight at the "
                "peak (peak requests/s x duration), each in its own execution environment"
            )
        lines.extend(f"{lt}: WARNING {warning}" for warning in found.warnings)
        if "tasks_per_instance_limit" in sizing:
            lines.append(
                f"{lt}: tasks per instance limited by {sizing['tasks_per_instance_limit']}"
            )
        if report.inventory.launch_types[lt].container_insights:
            lines.append(f"{lt}: Container Insights is on in the template and is not priced")
    lines.append(
        "Egress (a NAT instance or gateway with its public IPv4, interface endpoints) is charged "
        "in full to each launch type whose workloads the templates route through it: each "
        "column is the cost of deploying that launch type alone."
    )
    lines.extend(mark_notes(report, why=True))
    lines.extend(
        f"{launch_types.label(lt)} keeps {a.minimum}"
        + ("" if a.multi_az else ": it does not survive the loss of a zone")
        for lt, a in report.availability.items()
    )
    return lines


def assumption_lines(report: Report) -> list[str]:
    """Each assumption of the model in words, with its value and unit."""
    a = report.assumptions
    capacity = (
        f"{a.task_capacity_rps:g} requests/s per ECS task, set with --task-capacity-rps"
        if a.task_capacity_rps is not None
        else "requests/s per ECS task: derived from the task's vCPU, the request duration, the "
        "CPU share and the scaling target (--task-capacity-rps to set it)"
    )
    words = {
        "free_tier": "free tier applied: 1M Lambda requests, 400,000 GB-s and 100 GB of data out "
        "a month (--no-free-tier to price without)"
        if a.free_tier
        else "free tier not applied (--free-tier to apply it)",
        "task_capacity_rps": capacity,
        "cpu_share": f"{a.cpu_share:.0%} of each request's duration is spent on CPU (--cpu-share)",
        "requests_per_connection": f"{a.requests_per_connection:g} request per ALB connection "
        "(no keep-alive: the LCU estimate errs high)",
        "app_log_bytes_per_request": f"{a.app_log_bytes_per_request} bytes of application log "
        "per request",
        "lambda_platform_log_bytes_per_request": f"{a.lambda_platform_log_bytes_per_request} "
        "bytes of Lambda platform log per invocation",
        "access_log_bytes_per_request": f"{a.access_log_bytes_per_request} bytes of HTTP API "
        "access log per request",
        "ecr_image_gb": f"{a.ecr_image_gb:g} GB per stored image version (shared layers not "
        "deducted)",
        "ecs_reserved_memory_share": f"{a.ecs_reserved_memory_share:.0%} of an instance's memory "
        "kept by the OS and the ECS agent",
        "commitment": f"compute paid {COMMITMENT_WORDS[a.commitment]} (--commitment)",
    }
    return [words[key] for key in vars(a)]


def verdict_blocks(report: Report, *, full: bool = True) -> list[list[str]]:
    """The verdict as the terminal and report.md show it, first: paragraphs of lines. On one
    screen (``full`` false) the availability mode is the headline's; report.md and --details
    say what keeps each launch type in one zone."""
    v = report.verdict
    priced = [availability.sentence(report.availability)] if full else []
    return [
        [verdict_headline(v)],
        *([priced + mark_notes(report)] if priced or mark_notes(report) else []),
        [bands_sentence(v)],
        [
            f"What would change it, at {requests_words(v.requests_per_month)} requests a month:",
            *(f"- {sensitivity_words(s, v.cheapest)}" for s in v.sensitivities),
        ],
        ["What each asks of you (from the ops table):", *(f"- {x}" for x in ops_sentence(v))],
    ]


OVERVIEW_HEADERS = ["launch type", "monthly", "per 1M req", "idle/month", "cheapest at"]


def overview_rows(report: Report) -> list[list[str]]:
    """The one table of the default output: cost here, idle, and where each is cheapest."""
    rows = []
    for row in summary_rows(report):
        lt = row[0]
        wins = [band_range(b) for b in report.verdict.bands if b.cheapest == lt]
        where = ", ".join(wins) or "nowhere"
        rows.append([launch_types.label(lt), row[1], row[2], row[4], where])
    return rows


def _print_lines(console: Console, lines: Sequence[str]) -> None:
    for line in lines:
        console.print(line, highlight=False, markup=False)


def print_report(report: Report, console: Console, details: bool = False) -> None:
    """The verdict and one table; with ``details`` the line items, break-even points, ops table
    and notes too (always in report.md)."""
    _print_lines(console, screen_headline(report) if not details else headline(report))
    console.print("Verdict", style="bold")
    for block in verdict_blocks(report, full=details):
        _print_lines(console, block)
    # Header rule only, no frame: two lines fewer, so six launch types still fit the screen.
    overview = Table(
        title="Monthly cost at this traffic, and where each is cheapest",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for header in OVERVIEW_HEADERS:
        text_column = header in (OVERVIEW_HEADERS[0], OVERVIEW_HEADERS[-1])
        overview.add_column(
            header, justify="left" if text_column else "right", no_wrap=header != "cheapest at"
        )
    for row in overview_rows(report):
        overview.add_row(*row)
    console.print(overview)
    summary = ops_summary_rows(report)
    if summary:
        # No rule under the header: one line fewer, so six launch types fit the screen.
        burden = Table(
            title=OPS_SUMMARY_TITLE,
            box=None,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
        )
        for header in OPS_SUMMARY_HEADERS:
            burden.add_column(header, no_wrap=True)
        for cells in summary:
            burden.add_row(*cells)
        console.print(burden)
    if not details:
        return
    # Wide enough for every launch type's name and a money figure at 80 columns: text wraps at
    # spaces, a word longer than its column folds rather than being cut short.
    for lt in report.estimates:
        table = Table(title=f"{launch_types.label(lt)}: line items")
        for header in ITEM_HEADERS:
            table.add_column(
                header,
                justify="left" if header in ("line item", "unit") else "right",
                overflow="fold",
                ratio=3 if header == "line item" else 1,
            )
        for row in item_rows(report, lt):
            table.add_row(*row)
        table.add_row("total", "", "", "", marked(report, lt), style="bold")
        console.print(table)
    table = Table(title="Exact break-even points, pair by pair")
    for header in BREAK_EVEN_HEADERS:
        table.add_column(header, overflow="fold", ratio=3 if header == "pair" else 1)
    for row in break_even_rows(report):
        table.add_row(*row)
    console.print(table)
    # One table per launch type (field, value): seven launch-type columns do not fit 80.
    detail_rows = ops_detail_rows(report)
    for index, ops_row in enumerate(report.ops):
        ops = Table(
            title=f"Operational burden: {launch_types.label(ops_row.launch_type)}",
            show_header=False,
            show_lines=True,
        )
        ops.add_column("", overflow="fold", ratio=1)
        ops.add_column("", overflow="fold", ratio=3)
        for key, header in OPS_COLUMNS:
            ops.add_row(header, str(getattr(ops_row, key)))
        for header, cells in detail_rows:
            ops.add_row(header, cells[index])
        console.print(ops)
    _print_lines(console, timeline_lines(report))
    _print_lines(console, [f"- {line}" for line in notes(report)])
    _print_lines(console, [f"- {line}" for line in assumption_lines(report)])


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return [*lines, ""]


MEASURED_HEADERS = ["launch type", "stand-in", "requests", "req/s", "p50 ms", "p99 ms", "errors"]


def measured_rows(measured: Mapping[str, Any]) -> list[list[str]]:
    return [
        [
            launch_type,
            str(load.get("label", "")),
            str(load["completed"]),
            f"{load['requests_per_second']:.0f}",
            f"{load['p50_ms']:.1f}",
            f"{load['p99_ms']:.1f}",
            str(load["errors"]),
        ]
        for launch_type, load in measured["launch_types"].items()
    ]


def print_measured(measured: Mapping[str, Any], console: Console) -> None:
    table = Table(title=f"Measured {measured['measured_where']}")
    for column in MEASURED_HEADERS:
        table.add_column(column)
    for row in measured_rows(measured):
        table.add_row(*row)
    console.print(table)


def markdown(
    report: Report,
    chart_name: str,
    measured: Mapping[str, Any] | None = None,
    drill: Mapping[str, Any] | None = None,
) -> str:
    out = ["# launchlab cost and ops report", ""]
    out += [f"- {line}" for line in headline(report)] + [""]
    out += ["## Verdict", ""]
    # Markdown wants a blank line between the paragraphs and before each list.
    for block in verdict_blocks(report):
        # A list needs a blank line before it in Markdown; the intro line ends with ":".
        head, *items = block
        out += [head, "", *items, ""] if items else [head, ""]
    out += [*_markdown_table(OVERVIEW_HEADERS, overview_rows(report))]
    out += [f"![monthly cost against monthly requests]({chart_name})", ""]
    if measured is not None:
        # Beside the projected costs, and never mistaken for them: loopback, not AWS.
        out += [f"## Measured {measured['measured_where']}", ""]
        out += _markdown_table(MEASURED_HEADERS, measured_rows(measured))
    out += ["## Monthly cost", "", *_markdown_table(SUMMARY_HEADERS, summary_rows(report))]
    for lt, found in report.estimates.items():
        out += [f"### {lt}", ""]
        out += _markdown_table(
            ITEM_HEADERS,
            [*item_rows(report, lt), ["**total**", "", "", "", f"**{usd(found.total)}**"]],
        )
    out += ["## Exact break-even points, pair by pair", ""]
    out += _markdown_table(BREAK_EVEN_HEADERS, break_even_rows(report))
    out += ["## Operational burden", ""]
    out += _markdown_table(
        ["launch type", *(h for _, h in OPS_COLUMNS)],
        [
            [row.launch_type, *(str(getattr(row, key)) for key, _ in OPS_COLUMNS)]
            for row in report.ops
        ],
    )
    if ops_summary_rows(report):
        out += ["### Timelines and patches, modelled", ""]
        out += _markdown_table(OPS_SUMMARY_HEADERS, ops_summary_rows(report))
        details = ops_detail_rows(report)
        out += _markdown_table(
            ["launch type", *(header for header, _ in details)],
            [[row.launch_type, *(cells[i] for _, cells in details)]
             for i, row in enumerate(report.ops)],
        )  # fmt: skip
        out += ["### Each timeline step by step", ""]
        out += [
            f"- {line}" if not line.startswith("  ") else line for line in timeline_lines(report)
        ]
        out += ["", "### AWS timings used", ""]
        out += _markdown_table(TIMING_HEADERS, timing_rows(report))
    if drill is not None:
        out += [f"### Measured {drill_where(drill)}, beside modelled", ""]
        out += _markdown_table(DRILL_HEADERS, drill_rows(report, drill))
    out += ["## Notes", ""] + [f"- {line}" for line in notes(report)] + [""]
    out += ["## Assumptions", ""] + [f"- {line}" for line in assumption_lines(report)]
    return "\n".join(out) + "\n"


def color(launch_type: str, order: Sequence[str]) -> str:
    """The launch type's colour from the registry, else the default cycle by its place."""
    found = launch_types.BY_KEY.get(launch_type)
    return found.colour if found else f"C{order.index(launch_type) % 10}"


def _decision_region(report: Report) -> tuple[float, float]:
    """Monthly requests the linear panel spans: the profile's traffic and the band edges that
    follow it (those within a factor 2 of the first), with a margin."""
    here = report.profile.requests_per_month
    edges = [band.high for band in report.verdict.bands[:-1] if band.high > here]
    if not edges:
        return 0.0, max(2 * here, 1e6)
    near = [edge for edge in edges if edge <= 2 * edges[0]]
    return 0.0, 1.25 * max(here, *near)


# Where the two panels sit in the figure (fractions of it), room for titles and tick labels.
CHART_MARGINS = {"left": 0.07, "right": 0.985, "bottom": 0.12, "top": 0.87, "wspace": 0.16}
LABEL_GAP_PX = 8  # the least room between two labels, so neighbours never read as one


BandLabel = tuple[float, float, float, str, str]  # band start, end, label x, text, colour


def _place_labels(axes: Any, labels: Sequence[BandLabel], y: float) -> None:
    """Band labels along the top of ``axes`` (x in data, y in axes units), widest band first;
    each is kept only if it fits inside its band and clears every label already placed, so
    none overlap, by construction. A band too narrow for its label still shows its colour."""
    renderer = axes.figure.canvas.get_renderer()
    placed: list[Any] = []

    def pixels(start: float, end: float) -> tuple[float, float]:
        (x0, _), (x1, _) = axes.transData.transform([(start, 1), (end, 1)])
        return float(x0), float(x1)

    def width(band: BandLabel) -> float:
        left, right = pixels(band[0], band[1])
        return right - left

    for start, end, x, text, colour in sorted(labels, key=width, reverse=True):
        label = axes.text(
            x, y, text, transform=axes.get_xaxis_transform(), ha="center", va="top",
            fontsize=8, color=colour, fontweight="bold", gid="band-label",
        )  # fmt: skip
        extent = label.get_window_extent(renderer)
        padded = extent.expanded(1 + 2 * LABEL_GAP_PX / max(extent.width, 1), 1)
        left, right = pixels(start, end)
        inside = left <= extent.x0 and extent.x1 <= right
        if not inside or any(padded.overlaps(other) for other in placed):
            label.remove()
        else:
            placed.append(extent)


def coinciding(report: Report) -> dict[str, str]:
    """Launch type -> the one listed before it whose cost curve it follows to the cent over the
    whole range (Express Mode and Fargate at the same task size): drawn dashed, and said."""
    grid = breakeven.grid(121)
    curves = {lt: [round(report.monthly_at(lt, x), 2) for x in grid] for lt in report.estimates}
    found: dict[str, str] = {}
    order = list(curves)
    for index, lt in enumerate(order):
        for earlier in order[:index]:
            if earlier not in found and curves[earlier] == curves[lt]:
                found[lt] = earlier
                break
    return found


def line_label(report: Report, launch_type: str, same: Mapping[str, str]) -> str:
    """A curve's legend entry: its name, whether its cost holds an estimate, and which curve it
    covers exactly."""
    text = launch_types.label(launch_type)
    basis = report.estimates[launch_type].basis
    if basis in ("estimate", "lower bound"):
        text += f" ({basis})"
    if launch_type in same:
        text += f" (= {launch_types.label(same[launch_type])}, dashed)"
    return text


def _draw_panel(axes: Any, report: Report, xs: Sequence[float], log: bool) -> list[BandLabel]:
    """Curves, shaded bands and the profile's traffic; returns the band labels to place."""
    order = list(report.estimates)
    here = report.profile.requests_per_month
    low, high = xs[0], xs[-1]
    same = coinciding(report)
    for lt in order:
        axes.plot(
            xs,
            # Clipped at a cent on the log panel: a log axis has no zero.
            [max(report.monthly_at(lt, x), 0.01 if log else 0.0) for x in xs],
            label=line_label(report, lt, same), color=color(lt, order), lw=2,
            # A curve that lies on an earlier one is dashed over it, so both stay visible.
            ls=(0, (5, 4)) if lt in same else "-", gid=f"curve-{lt}", zorder=3 if lt in same else 2,
        )  # fmt: skip
    labels = []
    for band in report.verdict.bands:
        start, end = max(band.low, low), min(band.high, high)
        if start >= end:
            continue
        colour = color(band.cheapest, order)
        axes.axvspan(start, end, color=colour, alpha=0.12, lw=0, gid="band")
        middle = (start * end) ** 0.5 if log else (start + end) / 2
        labels.append((start, end, middle, launch_types.label(band.cheapest), colour))
    if low <= here <= high and here > 0:
        axes.axvline(here, color="black", ls="--", lw=1.2, gid="profile-traffic")
        best = report.verdict.cheapest
        cost = report.monthly_at(best, here)
        axes.plot([here], [cost], "o", color="black", zorder=5)
        axes.annotate(
            f"{launch_types.label(best)}: {usd(cost)}", (here, cost), textcoords="offset points",
            xytext=(8, -4), ha="left", va="top", fontsize=8, gid="profile-cost",
        )  # fmt: skip
    axes.set_xlim(low, high)
    axes.grid(True, which="both", alpha=0.3)
    if log:
        axes.set_xscale("log")
        axes.set_yscale("log")
    else:
        axes.set_ylim(bottom=0)
    _plain_ticks(axes, log)
    return labels


def dollars_tick(value: float) -> str:
    """A tick on a cost axis: '$0', '$0.1', '$40', '$2.5k', '$10k' (no wider than the axis
    label's margin holds)."""
    if value >= 1000:
        return "$" + requests_words(value)
    return "$" + (f"{value:.10f}".rstrip("0").rstrip(".") if value else "0")


def requests_tick(value: float) -> str:
    """A tick on a requests axis: '0', '10k', '1M', '10B'."""
    return requests_words(value) if value else "0"


def _plain_ticks(axes: Any, log: bool) -> None:
    """Tick labels in plain words, requests on x and dollars on y. matplotlib's log axes write
    $10^{n}$ labels, and parsing and laying out that mathtext took a fifth of the chart's time;
    "1M" and "$100" also read more easily than 10^6 and 10^2."""
    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation

    class Words(LogFormatterSciNotation):
        """Labels the ticks matplotlib's own log formatter labels (each decade; minor ticks
        too on an axis narrower than a decade or so), in words instead of powers of ten."""

        def __init__(self, words: Callable[[float], str]) -> None:
            super().__init__(base=10)
            self.words = words

        def __call__(self, x: float, pos: int | None = None) -> str:
            return self.words(x) if super().__call__(x, pos) else ""

    for axis, words in ((axes.xaxis, requests_tick), (axes.yaxis, dollars_tick)):
        if log:
            axis.set_major_formatter(Words(words))
            axis.set_minor_formatter(Words(words))
        else:
            axis.set_major_formatter(FuncFormatter(lambda x, _pos, say=words: say(x)))


def chart_figure(report: Report) -> Any:
    """The chart as a matplotlib Figure on an Agg canvas: cost against monthly requests on
    log axes over the whole range, and on linear axes where the decision is made; each band
    of traffic shaded and labelled by its cheapest launch type; the profile's traffic marked.
    No pyplot: nothing keeps the figure, so it is freed with its last reference."""
    # Imported here, not at the top: matplotlib takes most of a second to import, and only the
    # chart needs it (not `launchlab verify`, `bench` or `down`, nor the tests that never draw).
    # Files only, no display (CI, containers): the Figure and its Agg canvas, not pyplot's
    # backend machinery and figure registry.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 5.2), dpi=110)
    FigureCanvasAgg(figure)
    whole, near = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    labels = _draw_panel(whole, report, breakeven.grid(361), log=True)
    low, high = _decision_region(report)
    steps = [low + (high - low) * i / 600 for i in range(601)]
    near_labels = _draw_panel(near, report, steps, log=False)
    v = report.verdict
    here = requests_words(v.requests_per_month)
    # y=1.0 is where matplotlib puts a title when no tick labels sit on top; given, it spares
    # each draw measuring every tick label to find that out.
    whole.set_title(
        f"All traffic (log scales); dashed: your {here} requests/month", fontsize=10, y=1.0
    )
    near.set_title("Where the decision is made (linear scales)", fontsize=10, y=1.0)
    for axes in (whole, near):
        axes.set_xlabel("requests per month")
    whole.set_ylabel(f"monthly cost (USD, {report.prices.region})")
    whole.legend(
        loc="lower right", fontsize=8, title="line: launch type\nshade: cheapest there",
        title_fontsize=8,
    )  # fmt: skip
    if v.tie is not None:
        title = (
            f"{report.profile.name}: "
            + ", ".join(launch_types.label(lt) for lt in v.tie.launch_types)
            + f" tie on cost at {here} requests/month"
        )
    else:
        title = (
            f"{report.profile.name}: {launch_types.label(v.cheapest)} is cheapest at {here} "
            f"requests/month ({verdict_amount(v, v.cheapest)}/month)"
        )
    figure.suptitle(title, fontsize=12)
    # Fixed margins, not tight_layout(): these are what it settles on for every preset, and its
    # measuring pass took about a third of the chart's time.
    figure.subplots_adjust(**CHART_MARGINS)
    for axes in (whole, near):
        axes.autoscale_view()  # settle the limits, so the labels measure true
    _place_labels(whole, labels, 0.98)
    _place_labels(near, near_labels, 0.98)
    return figure


# The SVG names its clip paths and glyphs by a salted hash of their content; matplotlib salts
# with a fresh random value per file unless told one, so a fixed salt makes an unchanged report
# write a byte-identical SVG.
SVG_HASH_SALT = "launchlab"


def chart(report: Report, png: Path, svg: Path) -> None:
    from matplotlib import rc_context

    figure = chart_figure(report)
    figure.savefig(png, format="png")
    # No timestamp and no random ids in the SVG: an unchanged report writes an identical file.
    with rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        figure.savefig(svg, format="svg", metadata={"Date": None})


def write_files(
    report: Report,
    out_dir: Path,
    measured: Mapping[str, Any] | None = None,
    drill: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out_dir / "report.md",
        "json": out_dir / "report.json",
        "png": out_dir / "cost-vs-requests.png",
        "svg": out_dir / "cost-vs-requests.svg",
    }
    chart(report, paths["png"], paths["svg"])
    paths["markdown"].write_text(markdown(report, paths["png"].name, measured, drill))
    document = to_json(report, {kind: path.name for kind, path in paths.items()}, measured)
    if drill is not None:
        document["drill"] = drill_json(report, drill)
    paths["json"].write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return paths
