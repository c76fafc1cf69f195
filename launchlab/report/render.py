"""The report as terminal tables (rich), Markdown, JSON and a chart (matplotlib, Agg backend).

The Markdown tables are written by hand: a pipe table is a few lines, and no Markdown library
is among the project's dependencies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from launchlab.assembly import synthesized_with
from launchlab.report.cost import cents
from launchlab.report.model import Report, to_json
from launchlab.report.prices import Price
from launchlab.report.profile import SECONDS_PER_MONTH
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


def usd(amount: Decimal | float) -> str:
    value = cents(Decimal(str(amount)))
    return f"${value:,.2f}"


def _quantity(value: Decimal) -> str:
    return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"


def _requests(value: float) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.0f}"


def headline(report: Report) -> list[str]:
    p = report.profile
    shape = (
        "steady"
        if p.shape == "steady"
        else (f"peaky: {p.peak_to_average:g}x the average for {p.peak_hours_per_day:g} h/day")
    )
    free_tier = (
        "ON (Lambda 1M requests + 400,000 GB-s, 100 GB data out a month)"
        if report.assumptions.free_tier
        else "OFF"
    )
    return [
        f"Profile {p.name!r}: {_requests(p.requests_per_month)} requests/month "
        f"({p.average_rps:.3g} req/s average), {p.avg_duration_ms:g} ms, {p.payload_kb:g} KB, "
        f"{shape}",
        f"Region {report.prices.region} ({report.prices.location}); prices from "
        f"{report.table.path.name} dated {report.table.retrieved}; free tier "
        f"{free_tier}",
        f"Sizes read from the templates in {report.cdk_out}" + _overrides(report.cdk_out),
    ]


def _overrides(cdk_out: str) -> str:
    context = synthesized_with(Path(cdk_out))
    if not context:
        return ""
    return ", synthesized with " + " ".join(f"-c {k}={v}" for k, v in sorted(context.items()))


def summary_rows(report: Report) -> list[list[str]]:
    rows = []
    for lt, found in report.estimates.items():
        per_million = report.cost_per_million(lt)
        rows.append(
            [
                lt,
                usd(found.total),
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
        pair = f"{be.a} vs {be.b}"
        if not be.crossings:
            rows.append(
                [
                    pair,
                    "never crosses in 10^4..10^10",
                    "-",
                    "-",
                    f"{be.cheaper_throughout} throughout",
                ]
            )
        for c in be.crossings:
            rows.append(
                [
                    pair,
                    f"{_requests(c.requests_per_month)}" + (" (step)" if c.kind == "jump" else ""),
                    f"{c.requests_per_month / SECONDS_PER_MONTH:.3g}",
                    usd(c.monthly_usd),
                    c.cheaper_below,
                ]
            )
    return rows


def notes(report: Report) -> list[str]:
    lines = []
    for lt, found in report.estimates.items():
        if "task_capacity_assumption" in found.sizing:
            lines.append(f"{lt}: task capacity {found.sizing['task_capacity_assumption']}")
        if "instances_by_level" in found.sizing:
            lines.append(
                f"{lt}: {found.sizing['tasks_per_instance']} tasks fit per instance; instances "
                f"by load level {found.sizing['instances_by_level']}, tasks "
                f"{found.sizing['tasks_by_level']}"
            )
        elif "tasks_by_level" in found.sizing:
            lines.append(f"{lt}: tasks by load level {found.sizing['tasks_by_level']}")
        if "peak_concurrency" in found.sizing:
            lines.append(
                f"{lt}: peak concurrency {float(str(found.sizing['peak_concurrency'])):.2f}"
            )
        lines.extend(f"{lt}: WARNING {warning}" for warning in found.warnings)
        if report.inventory.launch_types[lt].container_insights:
            lines.append(f"{lt}: Container Insights is on in the template and is not priced")
    lines.append(
        "Shared VPC costs (NAT, its Elastic IPs, interface endpoints) are charged in full to each "
        "launch type that runs in the VPC: each column is the cost of deploying it alone."
    )
    return lines


def print_report(report: Report, console: Console) -> None:
    for line in headline(report):
        console.print(line, highlight=False)
    summary = Table(title="Monthly cost per launch type")
    for header in SUMMARY_HEADERS:
        summary.add_column(header, justify="left" if header == "launch type" else "right")
    for row in summary_rows(report):
        summary.add_row(*row)
    console.print(summary)
    for lt in report.estimates:
        table = Table(title=f"{lt}: line items")
        for header in ITEM_HEADERS:
            table.add_column(header, justify="left" if header in ("line item", "unit") else "right")
        for row in item_rows(report, lt):
            table.add_row(*row)
        table.add_row("total", "", "", "", usd(report.estimates[lt].total), style="bold")
        console.print(table)
    table = Table(title="Break-even request rates")
    for header in BREAK_EVEN_HEADERS:
        table.add_column(header)
    for row in break_even_rows(report):
        table.add_row(*row)
    console.print(table)
    ops = Table(title="Operational burden", show_lines=True)
    ops.add_column("")
    for ops_row in report.ops:
        ops.add_column(ops_row.launch_type)
    for key, header in OPS_COLUMNS:
        ops.add_row(header, *(str(getattr(ops_row, key)) for ops_row in report.ops))
    console.print(ops)
    for line in notes(report):
        console.print(f"- {line}", highlight=False, markup=False)


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


def markdown(report: Report, chart_name: str, measured: Mapping[str, Any] | None = None) -> str:
    out = ["# launchlab cost and ops report", ""]
    out += [f"- {line}" for line in headline(report)] + [""]
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
    out += ["## Break-even request rates", ""]
    out += _markdown_table(BREAK_EVEN_HEADERS, break_even_rows(report))
    out += [f"![monthly cost against monthly requests]({chart_name})", ""]
    out += ["## Operational burden", ""]
    out += _markdown_table(
        ["launch type", *(h for _, h in OPS_COLUMNS)],
        [
            [row.launch_type, *(str(getattr(row, key)) for key, _ in OPS_COLUMNS)]
            for row in report.ops
        ],
    )
    out += ["## Notes and assumptions", ""] + [f"- {line}" for line in notes(report)]
    out += [f"- {key}: {value}" for key, value in vars(report.assumptions).items()]
    return "\n".join(out) + "\n"


def chart(report: Report, png: Path, svg: Path) -> None:
    # Imported here, not at the top: pyplot takes about a second to import, and only the chart
    # needs it (not `launchlab verify`, `bench` or `down`, nor the tests that never draw).
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on CI or in a container
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5), dpi=110)
    try:
        for lt, points in report.curves.items():
            axes.plot(
                # Clipped at a cent: the log axis has no zero.
                [x for x, _ in points],
                [max(y, 0.01) for _, y in points],
                label=lt,
                color=launch_types.BY_KEY[lt].colour if lt in launch_types.BY_KEY else None,
                lw=2,
            )
        marked = False
        for be in report.break_evens:
            for index, c in enumerate(be.crossings):
                axes.scatter(
                    [c.requests_per_month],
                    [c.monthly_usd],
                    color="black",
                    zorder=5,
                    s=30,
                    label=None if marked else "break-even",
                )
                marked = True
                if index:  # steps close together: label a pair's first crossing only
                    continue
                axes.annotate(
                    f"{be.a}/{be.b}\n{_requests(c.requests_per_month)}",
                    (c.requests_per_month, c.monthly_usd),
                    textcoords="offset points",
                    xytext=(6, -18),
                    fontsize=7,
                )
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("requests per month")
        axes.set_ylabel(f"monthly cost (USD, {report.prices.region})")
        axes.set_title(
            f"launchlab: monthly cost by launch type ({report.profile.name} profile shape)"
        )
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(png, format="png")
        # No timestamp in the SVG, so an unchanged report writes an identical file.
        figure.savefig(svg, format="svg", metadata={"Date": None})
    finally:
        plt.close(figure)


def write_files(
    report: Report, out_dir: Path, measured: Mapping[str, Any] | None = None
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out_dir / "report.md",
        "json": out_dir / "report.json",
        "png": out_dir / "cost-vs-requests.png",
        "svg": out_dir / "cost-vs-requests.svg",
    }
    chart(report, paths["png"], paths["svg"])
    paths["markdown"].write_text(markdown(report, paths["png"].name, measured))
    document = to_json(report, {kind: path.name for kind, path in paths.items()}, measured)
    paths["json"].write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return paths
