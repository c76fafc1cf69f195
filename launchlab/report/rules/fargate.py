"""ECS on Fargate: AWS runs the hosts; you pay per task for its vCPU and memory."""

from __future__ import annotations

from launchlab.report.cost import Assumptions, Estimate, price_fargate, required, task_hours
from launchlab.report.inventory import LaunchType
from launchlab.report.ops import Common, OpsRow, scaling_policy
from launchlab.report.prices import RegionPrices
from launchlab.report.profile import TrafficProfile


def price(
    unit: LaunchType,
    prices: RegionPrices,
    profile: TrafficProfile,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    tasks = required(unit.tasks, "ECS service", unit)
    hours = task_hours(
        tasks, profile.levels(), profile, assumptions, prices.hours_per_month, result
    )
    price_fargate(tasks, hours, prices, result)


def ops(unit: LaunchType, common: Common) -> OpsRow:
    tasks = required(unit.tasks, "ECS service", unit)
    return OpsRow(
        launch_type=unit.launch_type,
        resources=common.resources,
        you_manage=(
            f"task scaling ({scaling_policy(tasks)}), the image and its OS packages; "
            "AWS patches the hosts (platform version LATEST)"
            + ("; Spot interruptions (2-minute notice)" if tasks.spot else "")
        ),
        scaling_unit="task in ~1-2 min (ENI, image pull, health checks)",
        max_request_duration=common.alb_duration,
        cold_starts=(
            "none per request; a new task takes about "
            f"{tasks.health_check_grace_s} s grace + health checks"
        ),
        min_billable_unit="task per second, 60 s minimum (Linux)",
        costs_at_zero_traffic=common.zero_traffic,
    )
