"""The whole report, computed once and rendered many ways (terminal, Markdown, JSON, chart)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, partial
from typing import Any

from launchlab.report import availability, breakeven, verdict
from launchlab.report.cost import COMMITMENT_WORDS, Assumptions, Estimate, cents, estimate
from launchlab.report.inventory import Inventory
from launchlab.report.ops import OpsRow, ops_json, ops_rows
from launchlab.report.prices import PriceTable, RegionPrices
from launchlab.report.profile import SECONDS_PER_MONTH, TrafficProfile
from launchlab.report.timeline import Timings, load_timings

SCHEMA_ID = "launchlab-report"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Report:
    cdk_out: str
    inventory: Inventory
    table: PriceTable
    prices: RegionPrices
    profile: TrafficProfile
    assumptions: Assumptions
    estimates: dict[str, Estimate]
    idle: dict[str, Estimate]
    break_evens: list[breakeven.BreakEven]
    curves: dict[str, list[tuple[float, float]]]
    ops: list[OpsRow]
    verdict: verdict.Verdict
    availability: Mapping[str, availability.Availability]
    # (launch type, requests per month) -> monthly USD with the rest of the profile kept:
    # what the curves, bands and chart are drawn from.
    monthly_at: Callable[[str, float], float]
    # The AWS constants the ops timelines used (launchlab/report/timings.yaml, with overrides).
    timings: Timings | None = None

    def cost_per_million(self, launch_type: str) -> Decimal | None:
        requests = Decimal(str(self.profile.requests_per_month))
        if requests == 0:
            return None
        return self.estimates[launch_type].total * 1_000_000 / requests

    def idle_per_hour(self, launch_type: str) -> Decimal:
        return self.idle[launch_type].total / self.prices.hours_per_month


def build_report(
    cdk_out: str,
    inventory: Inventory,
    table: PriceTable,
    region: str,
    profile: TrafficProfile,
    assumptions: Assumptions,
    timings: Timings | None = None,
) -> Report:
    """``timings``: the ops timelines' AWS constants (default: launchlab/report/timings.yaml)."""
    prices = table.region(region)
    timings = timings or load_timings()

    @cache
    def monthly(launch_type: str, requests: float) -> float:
        found = estimate(
            inventory, launch_type, prices, profile.with_requests(requests), assumptions
        )
        return float(found.total)

    selected = tuple(inventory.launch_types)
    estimates = {lt: estimate(inventory, lt, prices, profile, assumptions) for lt in selected}
    idle = {
        lt: estimate(inventory, lt, prices, profile.with_requests(0), assumptions)
        for lt in selected
    }
    break_evens = [
        breakeven.solve(a, b, partial(monthly, a), partial(monthly, b))
        for a, b in itertools.combinations(selected, 2)
    ]
    curves = {lt: [(r, monthly(lt, r)) for r in breakeven.grid(121)] for lt in selected}
    ops = ops_rows(inventory, idle, estimates, assumptions, timings)
    available = {lt: availability.of(inventory.launch_types[lt]) for lt in selected}
    answer = verdict.build_verdict(
        profile.requests_per_month,
        {lt: found.total for lt, found in estimates.items()},
        {lt: partial(monthly, lt) for lt in selected},
        verdict.sensitivities(inventory, prices, profile, assumptions),
        ops,
        {lt: found.total for lt, found in idle.items()},
        basis={lt: found.basis for lt, found in estimates.items()},
        commitment=assumptions.commitment,
        availability=available,
    )
    return Report(
        cdk_out=cdk_out,
        inventory=inventory,
        table=table,
        prices=prices,
        profile=profile,
        assumptions=assumptions,
        estimates=estimates,
        idle=idle,
        break_evens=break_evens,
        curves=curves,
        ops=ops,
        verdict=answer,
        availability=available,
        monthly_at=monthly,
        timings=timings,
    )


def _usd(amount: Decimal) -> float:
    return float(cents(amount))


def _inventory_json(report: Report, launch_type: str) -> dict[str, Any]:
    unit = report.inventory.launch_types[launch_type]
    out: dict[str, Any] = {
        "stacks": list(unit.stacks),
        "resource_count": unit.resource_count,
        "uses_shared_vpc": unit.uses_vpc,
        "load_balancers": [
            {"public_ipv4": lb.public_ipv4, "idle_timeout_s": lb.idle_timeout_s}
            for lb in unit.load_balancers
        ],
        "repositories": [repo.name for repo in unit.repositories],
        "log_groups": [
            {"role": g.role, "retention_days": g.retention_days} for g in unit.log_groups
        ],
        # What its workloads route through to reach AWS (launchlab.reachability).
        "egress": {
            "nat_gateways": unit.egress.nat_gateways,
            "nat_instances": [nat.instance_type for nat in unit.egress.nat_instances],
            "interface_endpoints": [
                {"service": service, "azs": azs} for service, azs in unit.egress.interface_endpoints
            ],
            "gateway_endpoints": unit.egress.gateway_endpoints,
        },
    }
    if unit.instances:
        i = unit.instances
        out["instances"] = {
            "instance_type": i.instance_type,
            "min": i.min_count,
            "max": i.max_count,
            "volume_gib": i.volume_gib,
            "volume_type": i.volume_type,
            "public_ip": i.public_ip,
        }
    if unit.tasks:
        t = unit.tasks
        out["tasks"] = {
            "cpu_units": t.cpu_units,
            "memory_mib": t.memory_mib,
            "architecture": t.architecture,
            "spot": t.spot,
            "min": t.min_count,
            "max": t.max_count,
            "public_ip": t.public_ip,
            "scaling_metric": t.scaling.metric,
            "scaling_target": t.scaling.target,
        }
    if unit.function:
        f = unit.function
        out["function"] = {
            "memory_mb": f.memory_mb,
            "architecture": f.architecture,
            "timeout_s": f.timeout_s,
            "reserved_concurrency": f.reserved_concurrency,
            "front_door": f.front_door,
        }
    return out


def _flip_json(flip: verdict.Flip | None) -> dict[str, Any] | None:
    return None if flip is None else {"value": flip.value, "cheapest": flip.cheapest}


def _verdict_json(answer: verdict.Verdict) -> dict[str, Any]:
    return {
        "requests_per_month": answer.requests_per_month,
        "cheapest": answer.cheapest,
        "cheapest_monthly_usd": _usd(answer.monthly_usd[answer.cheapest]),
        "runner_up": answer.runner_up,
        "runner_up_monthly_usd": None
        if answer.runner_up is None
        else _usd(answer.monthly_usd[answer.runner_up]),
        "summary": verdict.headline(answer),
        "bands": [
            {
                "cheapest": band.cheapest,
                "from_requests_per_month": band.low,
                "to_requests_per_month": band.high,
                "ends_by": band.ends_by,
            }
            for band in answer.bands
        ],
        "range": list(breakeven.RANGE),
        "flips": [
            {
                "assumption": s.assumption,
                "flag": s.flag,
                "unit": s.unit,
                "value": s.value,
                "searched": [s.low, s.high],
                "below": _flip_json(s.below),
                "above": _flip_json(s.above),
                "note": s.note,
                "summary": verdict.sensitivity_words(s, answer.cheapest),
            }
            for s in answer.sensitivities
        ],
        "ops": verdict.ops_sentence(answer),
        "basis": {lt: answer.basis.get(lt, "list") for lt in answer.monthly_usd},
        "tie": verdict.tie_json(answer),
        "commitment": answer.commitment,
    }


def to_json(
    report: Report,
    files: dict[str, str] | None = None,
    measured: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The versioned JSON document described in docs/report.md (schema: report/schema.json)."""
    launch_types = []
    for lt in report.estimates:
        found = report.estimates[lt]
        per_million = report.cost_per_million(lt)
        launch_types.append(
            {
                "launch_type": lt,
                "monthly_usd": _usd(found.total),
                "cost_per_million_requests_usd": (
                    None if per_million is None else _usd(per_million)
                ),
                "idle_usd_per_hour": float(report.idle_per_hour(lt).quantize(Decimal("0.0001"))),
                "idle_monthly_usd": _usd(report.idle[lt].total),
                "line_items": [
                    {
                        "name": item.name,
                        "quantity": float(item.quantity),
                        "unit": item.unit,
                        "unit_price_usd": None
                        if item.price is None
                        else float(item.price.unit_usd),
                        "monthly_usd": _usd(item.usd),
                        "price_key": None if item.price is None else item.price.key,
                        "source": None if item.price is None else item.price.source,
                        "note": item.note,
                        "kind": item.kind,
                        "shared": item.shared,
                        "basis": None if item.price is None else item.price.basis,
                    }
                    for item in found.items
                ],
                "sizing": found.sizing,
                "basis": found.basis,
                "estimated": found.estimated_items(),
                "lower_bound": found.lower_bound,
                "availability": {
                    "multi_az": report.availability[lt].multi_az,
                    "minimum": report.availability[lt].minimum,
                },
                "warnings": found.warnings,
                "inventory": _inventory_json(report, lt),
            }
        )
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "cdk_out": report.cdk_out,
        "region": report.prices.region,
        "currency": "USD",
        "price_table": {"path": str(report.table.path), "retrieved": report.table.retrieved},
        "free_tier": report.assumptions.free_tier,
        "commitment": {
            "plan": report.assumptions.commitment,
            "words": COMMITMENT_WORDS[report.assumptions.commitment],
        },
        "availability": {
            "mode": availability.mode(report.availability),
            "summary": availability.sentence(report.availability),
        },
        "profile": report.profile.as_dict(),
        "assumptions": {
            key: value
            for key, value in vars(report.assumptions).items()
            if key not in ("free_tier", "commitment")
        },
        "shared": {
            "stacks": list(report.inventory.shared_stacks),
            "nat_gateways": report.inventory.network.nat_gateways,
            "elastic_ips": report.inventory.network.elastic_ips,
            "interface_endpoint_azs": report.inventory.network.interface_endpoint_azs,
            "repositories": [repo.name for repo in report.inventory.repositories],
        },
        "launch_types": launch_types,
        "break_even": [
            {
                "a": be.a,
                "b": be.b,
                "crossings": [
                    {
                        "requests_per_month": c.requests_per_month,
                        "average_rps": c.requests_per_month / SECONDS_PER_MONTH,
                        "monthly_usd": round(c.monthly_usd, 2),
                        "cheaper_below": c.cheaper_below,
                        "kind": c.kind,
                    }
                    for c in be.crossings
                ],
                "cheaper_throughout": be.cheaper_throughout,
                "range": list(breakeven.RANGE),
            }
            for be in report.break_evens
        ],
        "ops": [ops_json(row) for row in report.ops],
        "verdict": _verdict_json(report.verdict),
        "files": files or {},
        # Measured figures: on loopback (`launchlab demo`) or on AWS (`report --bench`); else null.
        "measured": None if measured is None else dict(measured),
    }
