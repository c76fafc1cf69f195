"""ECS Managed Instances: EC2 capacity that ECS launches, patches and scales for the tasks.

Billed as the EC2 instances plus a management fee per instance-hour that depends on the
instance type (https://aws.amazon.com/ecs/pricing/). The price table carries the fee where a
source gave it (`ecs_managed_instances.management_hour.<type>`); without it the estimate is
the EC2 part only and says so.
"""

from __future__ import annotations

from decimal import Decimal

from launchlab.report.cost import (
    Assumptions,
    Estimate,
    required,
)
from launchlab.report.inventory import LaunchType
from launchlab.report.ops import Common, OpsRow, extras, scaling_policy
from launchlab.report.patching import ECS_MI_PATCHING
from launchlab.report.prices import RegionPrices
from launchlab.report.profile import TrafficProfile
from launchlab.report.rules import ecs_ec2

FEE_KEY = "ecs_managed_instances.management_hour.{instance_type}"


def price(
    unit: LaunchType,
    prices: RegionPrices,
    profile: TrafficProfile,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    instances = required(unit.instances, "Managed Instances capacity provider", unit)
    # The tasks and the instances that hold them are priced as ECS on EC2's are.
    ecs_ec2.price(unit, prices, profile, assumptions, result)
    instance_hours = Decimal(str(result.sizing["instance_hours"]))
    key = FEE_KEY.format(instance_type=instances.instance_type)
    if key in prices.prices:
        result.add(
            f"ECS Managed Instances management fee ({instances.instance_type})",
            instance_hours,
            prices[key],
            kind="ECS Managed Instances management fee",
        )
    else:
        result.warnings.append(
            f"no ECS Managed Instances management fee for {instances.instance_type} in the "
            f"price table ({key}): this total is the EC2 part only, a lower bound; the fee is "
            "per instance type on https://aws.amazon.com/ecs/pricing/"
        )


def ops(unit: LaunchType, common: Common) -> OpsRow:
    tasks = required(unit.tasks, "ECS service", unit)
    instances = required(unit.instances, "Managed Instances capacity provider", unit)
    return OpsRow(
        launch_type=unit.launch_type,
        resources=common.resources,
        you_manage=(
            f"task scaling ({scaling_policy(tasks)}), the image; ECS picks, launches, patches "
            f"and replaces the {instances.instance_type} instances (no AMI or Auto Scaling "
            "group of yours)"
        ),
        scaling_unit=(
            "a task on an instance with room; ECS adds an instance when none has room (how "
            "long: the timelines)"
        ),
        max_request_duration=common.alb_duration,
        cold_starts=f"none per request: the template keeps {tasks.min_count} task(s) running",
        min_billable_unit="instance per second, 60 s minimum, plus its management fee",
        costs_at_zero_traffic=common.zero_traffic,
        **extras(
            unit,
            common,
            kind="managed",
            patches=("image",),
            aws="the instances: ECS drains and replaces each within 14-21 days of its launch "
            f"({ECS_MI_PATCHING})",
        ),
    )
