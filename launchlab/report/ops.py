"""The operational burden of each launch type: what the templates say, plus documented facts.

Template-derived: resource counts, instance type and counts, scaling policy and limits, the ALB
idle timeout, the Lambda timeout and front door, reserved concurrency. The rest are AWS's
documented behaviours, cited in docs/report.md. Each launch type's row comes from its rules
module (launchlab/report/rules/, named by the launch-type registry); this module computes the
columns every row shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from launchlab.report.cost import Estimate
from launchlab.report.inventory import ALB_DEFAULT_IDLE_TIMEOUT_S, Inventory, LaunchType, Tasks
from stacks import launch_types, names


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


@dataclass(frozen=True)
class Common:
    """The columns every launch type's row states the same way."""

    resources: str  # "<n> in <stack> (+<m> shared)"
    zero_traffic: str  # the kinds of charge with no traffic: "ALB hours, Public IPv4"
    alb_duration: str  # what the ALB's idle timeout allows one request


def ops_rows(inventory: Inventory, idle: dict[str, Estimate]) -> list[OpsRow]:
    rows = []
    for key, estimate in idle.items():
        unit = inventory.launch_types[key]
        rows.append(launch_types.spec(key).rules().ops(unit, _common(inventory, unit, estimate)))
    return rows


def scaling_policy(tasks: Tasks) -> str:
    scaling = tasks.scaling
    if scaling.metric == "requests":
        policy = f"{scaling.target:g} requests/task/min"
    elif scaling.metric == "none":
        policy = "no scaling policy"
    else:
        policy = f"{scaling.metric} {scaling.target:g}%"
    return f"{tasks.min_count}..{tasks.max_count} tasks, {policy}"


def _common(inventory: Inventory, unit: LaunchType, idle: Estimate) -> Common:
    shared = sum(
        inventory.resource_counts[s]
        for s in inventory.shared_stacks
        if unit.uses_vpc or s != names.NETWORK_STACK
    )
    kinds = dict.fromkeys(item.kind for item in idle.items if item.usd > 0)
    alb_timeout = max(
        (lb.idle_timeout_s for lb in unit.load_balancers), default=ALB_DEFAULT_IDLE_TIMEOUT_S
    )
    return Common(
        resources=f"{unit.resource_count} in {', '.join(unit.stacks)} (+{shared} shared)",
        zero_traffic=", ".join(kinds) or "nothing",
        alb_duration=f"{alb_timeout} s (ALB idle timeout)",
    )
