"""ECS on Fargate: AWS runs the hosts; you pay per task for its vCPU and memory."""

from __future__ import annotations

from launchlab.report.cost import Assumptions, Estimate, price_fargate, required, task_hours
from launchlab.report.inventory import LaunchType
from launchlab.report.ops import Common, OpsRow, extras, scaling_policy
from launchlab.report.patching import FARGATE_PATCHING
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
    levels = profile.levels()
    hours = task_hours(tasks, levels, profile, assumptions, prices.hours_per_month, result)
    price_fargate(tasks, hours, prices, result, assumptions, levels)


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
        scaling_unit=(
            "a task (capacity and ENI, image pull, health checks; how long: the timelines)"
        ),
        max_request_duration=common.alb_duration,
        cold_starts=f"none per request: the template keeps {tasks.min_count} task(s) running",
        min_billable_unit="task per second, 60 s minimum (Linux)",
        costs_at_zero_traffic=common.zero_traffic,
        **extras(
            unit,
            common,
            kind="fargate",
            patches=("image",),
            aws=f"the hosts, platform version LATEST ({FARGATE_PATCHING})",
        ),
    )
