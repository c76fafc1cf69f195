"""Hourly prices for what a sandbox leaves running, and the idle cost of a synthesized app.

Prices come from the report's price table (launchlab/prices/aws.yaml), the one price list the
toolkit keeps; the idle cost is the report's own model with its idle traffic profile.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from dataclasses import dataclass, replace
from decimal import Decimal

from launchlab.assembly import Assembly
from launchlab.errors import LaunchlabError
from launchlab.report import cost, refresh
from launchlab.report import prices as report_prices
from launchlab.report.cost import Assumptions, Estimate
from launchlab.report.inventory import Inventory, read_inventory
from launchlab.report.model import build_report
from launchlab.report.prices import RegionPrices
from launchlab.report.profile import build_profile
from stacks.launch_types import SHARED

# Priced instead of a region the table lacks: the commands still deploy, verify and scan there.
FALLBACK_REGION = "us-east-1"


@functools.cache
def priced_table(region: str) -> tuple[report_prices.PriceTable, str, str]:
    """The price table to price ``region`` with, the region of it to use, and a note when it is
    not the table as shipped: a region the table lacks is priced from the AWS Price List Query
    API (as `report --refresh-prices --region` would add it), else from us-east-1's prices."""
    table = report_prices.load_table()
    if region in table.regions:
        return table, region, ""
    try:
        template = table.raw["regions"][refresh.TEMPLATE_REGION]
        entry, _ = refresh.build_region(
            refresh.default_client(), region, template, dt.date.today().isoformat()
        )
    except LaunchlabError as error:
        return (
            table,
            FALLBACK_REGION,
            f" ({FALLBACK_REGION} prices: the table has none for {region} and the Price List "
            f"API gave none: {error})",
        )
    raw = copy.deepcopy(dict(table.raw))
    raw["regions"][region] = entry
    note = f" ({region} priced from the AWS Price List Query API: the table has none for it)"
    return replace(table, raw=raw), region, note


def hourly_prices(region: str) -> RegionPrices:
    """The report's price table for ``region`` (us-east-1's, labelled, when it has none)."""
    table, used, note = priced_table(region)
    return replace(
        table.region(used),
        region=region,
        source=f"{table.path.name}, retrieved {table.retrieved}{note}",
    )


@dataclass(frozen=True)
class CostLine:
    stack: str
    item: str
    usd_per_hour: Decimal


@dataclass(frozen=True)
class IdleCost:
    lines: list[CostLine]
    source: str

    @property
    def total(self) -> Decimal:
        return sum((line.usd_per_hour for line in self.lines), Decimal(0))

    def by_stack(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            totals[line.stack] = totals.get(line.stack, Decimal(0)) + line.usd_per_hour
        return totals


# The report's idle pricing: free tier on, no per-task capacity assumption to print.
IDLE_ASSUMPTIONS = Assumptions(free_tier=True, task_capacity_rps=None)


def idle_estimates(app: Assembly, region: str) -> tuple[Inventory, dict[str, Estimate]]:
    """The report's model of each launch type with no traffic: its sizing (tasks, instances,
    execution environments kept running) is what the templates keep up when nobody calls."""
    table, used, _ = priced_table(region)
    inventory = read_inventory(app)
    idle = build_profile("idle", None, {}).with_requests(0)
    prices = table.region(used)
    return inventory, {
        lt: cost.estimate(inventory, lt, prices, idle, IDLE_ASSUMPTIONS)
        for lt in inventory.launch_types
    }


def idle_cost_per_hour(app: Assembly, region: str) -> IdleCost:
    """What the synthesized stacks cost per hour with no traffic, by launch type and line item.

    The report's own model with its idle profile: the same inventory, prices and rules as
    `launchlab report`'s "idle per hour", so the two can never disagree.
    """
    table, used, note = priced_table(region)
    report = build_report(
        str(app.outdir),
        read_inventory(app),
        table,
        used,
        build_profile("idle", None, {}),
        IDLE_ASSUMPTIONS,
    )
    hours = report.prices.hours_per_month
    lines: list[CostLine] = []
    seen_shared: set[str] = set()
    for launch_type, estimate in report.idle.items():
        for item in estimate.items:
            if item.usd <= 0:
                continue
            # The report charges the shared VPC and a shared repository to every launch type
            # that uses them (each column is that launch type deployed alone); with all
            # three running they are paid once.
            if item.shared:
                if item.name in seen_shared:
                    continue
                seen_shared.add(item.name)
                launch_type = SHARED
            lines.append(CostLine(launch_type, item.name, item.usd / hours))
    return IdleCost(lines=lines, source=f"{table.path.name}, retrieved {table.retrieved}{note}")
