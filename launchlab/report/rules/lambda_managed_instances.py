"""Lambda Managed Instances: the function runs on EC2 instances of a capacity provider in the
VPC, many requests at once per execution environment.

Billed (https://aws.amazon.com/lambda/pricing/) as the EC2 instances, a management fee of 15%
of their on-demand price, and $0.20 per million requests; no duration charge. Lambda keeps
three instances by default for AZ resiliency, so it costs money at zero traffic
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-best-practices.html).
"""

from __future__ import annotations

import math
from decimal import Decimal

from launchlab.errors import LaunchlabError
from launchlab.report.cost import Assumptions, Estimate, required, unit_hours
from launchlab.report.inventory import LaunchType, ManagedFunction
from launchlab.report.ops import Common, OpsRow, extras
from launchlab.report.patching import LAMBDA_RUNTIME_PATCHING
from launchlab.report.prices import RegionPrices
from launchlab.report.profile import LoadLevel, TrafficProfile

# Instances Lambda keeps however little the traffic (see the module docstring).
MIN_INSTANCES = 3


def environments_at(
    function: ManagedFunction, level: LoadLevel, profile: TrafficProfile, cpu_share: float
) -> int:
    """Execution environments for a load level: enough for the requests in flight (each
    environment takes ``concurrency_per_environment``) and for their CPU time."""
    vcpus = function.memory_mb / 1024 / function.memory_gib_per_vcpu
    in_flight = level.rps * profile.avg_duration_ms / 1000
    cpu_seconds = level.rps * profile.avg_duration_ms / 1000 * cpu_share
    needed = max(in_flight / function.concurrency_per_environment, cpu_seconds / vcpus)
    return max(function.min_environments, math.ceil(needed - 1e-9))


def price(
    unit: LaunchType,
    prices: RegionPrices,
    profile: TrafficProfile,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    function = required(unit.managed_function, "function on a capacity provider", unit)
    spec = prices.instance(function.instance_type)
    vcpus = function.memory_mb / 1024 / function.memory_gib_per_vcpu
    per_instance = min(
        math.floor(spec.vcpu / vcpus),
        math.floor(float(spec.memory_gib) / (function.memory_mb / 1024)),
    )
    if per_instance < 1:
        raise LaunchlabError(
            f"an execution environment of {function.memory_mb} MB does not fit on "
            f"{spec.name} ({spec.vcpu} vCPU, {spec.memory_gib:g} GiB)"
        )
    levels = profile.levels()
    environments = [
        environments_at(function, level, profile, assumptions.cpu_share) for level in levels
    ]
    instances = [max(MIN_INSTANCES, math.ceil(n / per_instance)) for n in environments]
    instance_hours = unit_hours(levels, instances, prices.hours_per_month)
    result.sizing["environments_by_level"] = environments
    result.sizing["environments_per_instance"] = per_instance
    result.sizing["instances_by_level"] = instances
    result.sizing["instance_hours"] = float(instance_hours)
    if max(environments) > function.max_environments:
        result.warnings.append(
            f"the load needs {max(environments)} execution environments but the function "
            f"allows at most {function.max_environments}: priced at {max(environments)}"
        )
    result.add(
        f"EC2 {spec.name} ({spec.vcpu} vCPU, {spec.memory_gib:g} GiB, "
        f"{per_instance} environments each)",
        instance_hours,
        spec.hourly,
        kind="EC2 instances",
    )
    ec2_usd = spec.hourly.cost(instance_hours)
    result.add(
        "Lambda Managed Instances management fee (15% of EC2)",
        ec2_usd,
        prices["lambda_managed_instances.management_fee"],
        kind="Lambda Managed Instances management fee",
    )
    result.add(
        "Lambda Managed Instances requests",
        Decimal(str(profile.requests_per_month)),
        prices["lambda_managed_instances.requests"],
        note="no duration charge, no free tier",
        kind="Lambda requests",
    )


def ops(unit: LaunchType, common: Common) -> OpsRow:
    function = required(unit.managed_function, "function on a capacity provider", unit)
    return OpsRow(
        launch_type=unit.launch_type,
        resources=common.resources,
        you_manage=(
            f"the code and its runtime's packages, the capacity provider ({function.instance_type}"
            f", {function.min_environments}..{function.max_environments} environments of "
            f"{function.memory_mb} MB, {function.concurrency_per_environment} requests each); "
            "Lambda launches, patches and replaces the instances"
        ),
        scaling_unit=(
            "execution environment on running instances in seconds; a new instance in minutes"
        ),
        max_request_duration=f"{function.timeout_s} s (function timeout)",
        cold_starts=(
            "none per request while environments are warm (a minimum is always kept); a new "
            "environment initialises before it takes requests"
        ),
        min_billable_unit=f"instance per second ({MIN_INSTANCES} kept), plus requests",
        costs_at_zero_traffic=common.zero_traffic,
        **extras(
            unit,
            common,
            kind="lmi",
            patches=(),
            aws="the managed runtime (automatic runtime updates) and the instances "
            f"({LAMBDA_RUNTIME_PATCHING})",
        ),
    )
