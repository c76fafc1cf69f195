"""ECS Managed Instances: EC2 capacity that ECS launches, patches and scales for the tasks.

Billed as the EC2 instances plus a management fee per instance-hour that depends on the
instance type (https://aws.amazon.com/ecs/pricing/). The price table carries the fee where AWS
published it (`ecs_managed_instances.management_hour.<type>`: the pricing page's example, or the
Price List API's `ECS-Managed-Instances:<type>-management-hours` usage type, which
`--refresh-prices` reads); for any other type it is estimated at the share of the on-demand
price AWS's own calculator assumes (`ecs_managed_instances.management_fee_estimate`, marked as
an estimate wherever it shows). Without either the estimate is the EC2 part only, a lower
bound, and says so.

Each awsvpc task takes a network interface: ECS attaches a trunk ENI where the type supports
one (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-awsvpc-mode.html),
so the branch interfaces bound the tasks per instance; a type without trunking holds as many
tasks as it has interfaces beside the primary one (2 on a t4g.small). No Savings Plan is
applied to these instances: no AWS statement that one covers them was found.
"""

from __future__ import annotations

from decimal import Decimal

from launchlab.report.cost import (
    Assumptions,
    Estimate,
    price_instances,
    required,
    task_hours,
)
from launchlab.report.inventory import LaunchType
from launchlab.report.ops import Common, OpsRow, extras, scaling_policy
from launchlab.report.patching import ECS_MI_PATCHING
from launchlab.report.prices import Price, RegionPrices
from launchlab.report.profile import TrafficProfile

FEE_KEY = "ecs_managed_instances.management_hour.{instance_type}"
FEE_ESTIMATE_KEY = "ecs_managed_instances.management_fee_estimate"


def management_fee(instance_type: str, prices: RegionPrices) -> Price | None:
    """The fee per instance-hour: published for the type, else estimated from its on-demand
    price, else None."""
    published = prices.prices.get(FEE_KEY.format(instance_type=instance_type))
    if published is not None:
        return published
    share = prices.prices.get(FEE_ESTIMATE_KEY)
    if share is None:
        return None
    hourly = prices.instance(instance_type).hourly
    return Price(
        key=FEE_ESTIMATE_KEY,
        usd=hourly.unit_usd * share.usd / share.per,
        unit="instance-hour",
        per=Decimal(1),
        source=share.source,
        date=share.date,
        basis="estimate",
        note=share.note,
    )


def price(
    unit: LaunchType,
    prices: RegionPrices,
    profile: TrafficProfile,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    tasks = required(unit.tasks, "ECS service", unit)
    instances = required(unit.instances, "Managed Instances capacity provider", unit)
    levels = profile.levels()
    task_hours(tasks, levels, profile, assumptions, prices.hours_per_month, result)
    price_instances(instances, tasks, levels, prices, assumptions, result, commitment=False)
    if assumptions.commitment != "none":
        result.warnings.append(
            f"{assumptions.commitment} is not applied to the Managed Instances' EC2 hours: no "
            "AWS statement that a Savings Plan covers them was found"
        )
    instance_hours = Decimal(str(result.sizing["instance_hours"]))
    fee = management_fee(instances.instance_type, prices)
    if fee is None:
        key = FEE_KEY.format(instance_type=instances.instance_type)
        reason = (
            f"no ECS Managed Instances management fee for {instances.instance_type} in the "
            f"price table ({key}, nor {FEE_ESTIMATE_KEY}): this total is the EC2 part only, a "
            "lower bound; the fee is per instance type on https://aws.amazon.com/ecs/pricing/"
        )
        result.warnings.append(reason)
        result.lower_bound.append("the ECS Managed Instances management fee is not priced")
        return
    estimated = ""
    if fee.estimated:
        share = prices[FEE_ESTIMATE_KEY]
        estimated = f" (estimate: {share.usd / share.per:.0%} of on-demand)"
    result.add(
        f"ECS Managed Instances management fee ({instances.instance_type}){estimated}",
        instance_hours,
        fee,
        kind="ECS Managed Instances management fee",
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
