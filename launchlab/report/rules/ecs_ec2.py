"""ECS on EC2: you run the instances (an Auto Scaling group), ECS places tasks on them."""

from __future__ import annotations

from launchlab.report.cost import (
    Assumptions,
    Estimate,
    price_instances,
    required,
    task_hours,
)
from launchlab.report.inventory import LaunchType
from launchlab.report.ops import Common, OpsRow, extras, scaling_policy
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
    instances = required(unit.instances, "Auto Scaling group", unit)
    levels = profile.levels()
    # The task counts go into the sizing; the instances that hold them are what is billed.
    task_hours(tasks, levels, profile, assumptions, prices.hours_per_month, result)
    price_instances(instances, tasks, levels, prices, assumptions, result)


def ops(unit: LaunchType, common: Common) -> OpsRow:
    tasks = required(unit.tasks, "ECS service", unit)
    instances = required(unit.instances, "Auto Scaling group", unit)
    return OpsRow(
        launch_type=unit.launch_type,
        resources=common.resources,
        you_manage=(
            "ECS-optimized AMI (latest at deploy; redeploy or refresh instances to patch), "
            f"{instances.instance_type} instances {instances.min_count}..{instances.max_count}"
            f" and their {instances.volume_gib} GiB volumes, cluster capacity (managed "
            f"scaling), task scaling ({scaling_policy(tasks)}), the image"
        ),
        scaling_unit=(
            "a task while the instances have room; an instance (boot + ECS agent "
            "registration) when they do not (how long: the timelines)"
        ),
        max_request_duration=common.alb_duration,
        cold_starts=f"none per request: the template keeps {tasks.min_count} task(s) running",
        min_billable_unit="instance per second, 60 s minimum (Linux)",
        costs_at_zero_traffic=common.zero_traffic,
        **extras(
            unit,
            common,
            kind="ec2",
            patches=("ami", "image"),
            aws="nothing on the instances: the AMI, its OS and the ECS agent are yours",
        ),
    )
