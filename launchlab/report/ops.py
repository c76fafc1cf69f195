"""The operational burden of each launch type: what the templates say, plus documented facts.

Template-derived: resource counts, instance type and counts, scaling policy and limits, the ALB
idle timeout, the Lambda timeout and front door, reserved concurrency. The rest are AWS's
documented behaviours, cited in docs/report.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from launchlab.report.cost import HTTP_API_MAX_SECONDS, Estimate
from launchlab.report.inventory import Inventory, LaunchType
from stacks import names


@dataclass(frozen=True)
class OpsRow:
    launch_type: str
    resources: str
    you_manage: str
    scaling_unit: str
    max_request_duration: str
    cold_starts: str
    min_billable_unit: str
    costs_at_zero_traffic: str


def ops_rows(inventory: Inventory, idle: dict[str, Estimate]) -> list[OpsRow]:
    return [_row(inventory, inventory.launch_types[lt], idle[lt]) for lt in idle]


def _scaling_policy(unit: LaunchType) -> str:
    assert unit.tasks is not None
    scaling = unit.tasks.scaling
    if scaling.metric == "requests":
        policy = f"{scaling.target:g} requests/task/min"
    elif scaling.metric == "none":
        policy = "no scaling policy"
    else:
        policy = f"{scaling.metric} {scaling.target:g}%"
    return f"{unit.tasks.min_count}..{unit.tasks.max_count} tasks, {policy}"


def _row(inventory: Inventory, unit: LaunchType, idle: Estimate) -> OpsRow:
    shared = sum(
        inventory.resource_counts[s]
        for s in inventory.shared_stacks
        if unit.uses_vpc or s != names.NETWORK_STACK
    )
    resources = f"{unit.resource_count} in {', '.join(unit.stacks)} (+{shared} shared)"
    # The kind of charge, without its sizes: "ALB hours", "Public IPv4", ...
    kinds = dict.fromkeys(item.name.split(" (")[0] for item in idle.items if item.usd > 0)
    zero = ", ".join(kinds) or "nothing"
    alb_timeout = max((lb.idle_timeout_s for lb in unit.load_balancers), default=60)
    if unit.instances is not None and unit.tasks is not None:
        instances = unit.instances
        return OpsRow(
            launch_type=unit.launch_type,
            resources=resources,
            you_manage=(
                "ECS-optimized AMI (latest at deploy; redeploy or refresh instances to patch), "
                f"{instances.instance_type} instances {instances.min_count}..{instances.max_count}"
                f" and their {instances.volume_gib} GiB volumes, cluster capacity (managed "
                f"scaling), task scaling ({_scaling_policy(unit)}), the image"
            ),
            scaling_unit=(
                "task in ~1 min while instances have room; instance in ~3-5 min "
                "(boot + ECS agent registration) when they do not"
            ),
            max_request_duration=f"{alb_timeout} s (ALB idle timeout)",
            cold_starts=(
                "none per request; a new task takes about "
                f"{unit.tasks.health_check_grace_s} s grace + health checks"
            ),
            min_billable_unit="instance per second, 60 s minimum (Linux)",
            costs_at_zero_traffic=zero,
        )
    if unit.tasks is not None:
        return OpsRow(
            launch_type=unit.launch_type,
            resources=resources,
            you_manage=(
                f"task scaling ({_scaling_policy(unit)}), the image and its OS packages; "
                "AWS patches the hosts (platform version LATEST)"
                + ("; Spot interruptions (2-minute notice)" if unit.tasks.spot else "")
            ),
            scaling_unit="task in ~1-2 min (ENI, image pull, health checks)",
            max_request_duration=f"{alb_timeout} s (ALB idle timeout)",
            cold_starts=(
                "none per request; a new task takes about "
                f"{unit.tasks.health_check_grace_s} s grace + health checks"
            ),
            min_billable_unit="task per second, 60 s minimum (Linux)",
            costs_at_zero_traffic=zero,
        )
    function = unit.function
    assert function is not None
    limit = (
        f"reserved concurrency {function.reserved_concurrency}"
        if function.reserved_concurrency is not None
        else "no reserved concurrency (shares the account's 1,000 default quota)"
    )
    if function.front_door == "http-api":
        capped = min(function.timeout_s, HTTP_API_MAX_SECONDS)
        duration = f"{capped} s (timeout {function.timeout_s} s, HTTP API cap 30 s)"
    else:
        duration = f"{function.timeout_s} s (function timeout; Function URL allows up to 900 s)"
    return OpsRow(
        launch_type=unit.launch_type,
        resources=resources,
        you_manage=(
            f"the image and its base-image patches, {limit}, memory size ({function.memory_mb} MB)"
        ),
        scaling_unit=(
            "one execution environment per concurrent request, in seconds; "
            "up to 1,000 more per 10 s per function"
        ),
        max_request_duration=duration,
        cold_starts="yes: the first request on each new environment pays image init (~0.5-3 s)",
        min_billable_unit="1 ms of duration, per request",
        costs_at_zero_traffic=zero,
    )
