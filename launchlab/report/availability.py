"""How available each launch type is at its minimum, read from the templates: how many tasks or
instances it keeps at zero traffic, and in how many Availability Zones.

A comparison is like for like when every launch type survives the loss of one zone: two or
more of what it runs, in two or more zones. Lambda spreads its execution environments over
the Region's zones itself ("High availability" on
https://docs.aws.amazon.com/lambda/latest/dg/security-resilience.html)
and Lambda Managed Instances launches three instances across the capacity provider's subnets
for AZ resiliency (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-best-practices.html);
ECS on EC2 keeps its Auto Scaling group's minimum, and ECS services spread their tasks across
zones unless told otherwise (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html).
`-c availability=multi-az` gives every launch type with a minimum at least two of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from launchlab.report.inventory import LaunchType
from stacks.launch_types import label

MODES = ("sandbox", "multi-az")


@dataclass(frozen=True)
class Availability:
    launch_type: str
    multi_az: bool
    minimum: str  # what it keeps at zero traffic, in words: "1 instance in 1 zone, 1 task"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def of(unit: LaunchType) -> Availability:
    """``unit``'s minimum and whether it survives the loss of one zone."""
    lt = unit.launch_type
    if unit.managed_function is not None:
        environments = unit.managed_function.min_environments
        words = f"3 instances across zones, {_plural(environments, 'environment')}"
        return Availability(lt, environments >= 2, words)
    if unit.function is not None:
        return Availability(lt, True, "execution environments in several zones, run by Lambda")
    tasks = unit.tasks
    instances = unit.instances
    if tasks is None:
        return Availability(lt, False, "nothing it keeps running")
    task_zones = min(tasks.min_count, tasks.zones)
    if instances is None:  # Fargate tasks: ECS spreads them over the service's subnets
        words = f"{_plural(tasks.min_count, 'task')} in {_plural(task_zones, 'zone')}"
        return Availability(lt, tasks.min_count >= 2 and task_zones >= 2, words)
    if instances.min_count == 0:  # ECS Managed Instances: an instance for each zone with a task
        zones = min(tasks.min_count, instances.zones) if instances.spread_zones else 1
        words = f"{_plural(tasks.min_count, 'task')} on instances in {_plural(zones, 'zone')}"
        return Availability(lt, tasks.min_count >= 2 and zones >= 2, words)
    zones = min(instances.min_count, instances.zones)
    words = (
        f"{_plural(instances.min_count, 'instance')} in {_plural(zones, 'zone')}, "
        f"{_plural(tasks.min_count, 'task')}"
    )
    return Availability(lt, instances.min_count >= 2 and zones >= 2 and tasks.min_count >= 2, words)


def mode(found: Mapping[str, Availability]) -> str:
    """ "multi-az" when every launch type survives the loss of a zone, else "sandbox"."""
    return "multi-az" if all(a.multi_az for a in found.values()) else "sandbox"


def sentence(found: Mapping[str, Availability]) -> str:
    """Which mode was priced, and, in sandbox mode, what keeps a launch type in one zone."""
    if mode(found) == "multi-az":
        return (
            "Availability: multi-az, like for like: every launch type keeps two or more tasks, "
            "instances or environments in two or more zones."
        )
    single = [a for a in found.values() if not a.multi_az]
    return (
        "Availability: sandbox, not like for like: "
        + "; ".join(f"{label(a.launch_type)} keeps {a.minimum}" for a in single)
        + " (-c availability=multi-az prices two zones)."
    )
