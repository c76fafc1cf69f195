"""How available each launch type is at its minimum (launchlab/report/availability.py), from
hand-made launch types at each edge: one or two of what it keeps, in one or two zones; and the
sentence the report prints for the mode it priced."""

from __future__ import annotations

import dataclasses

import pytest

from launchlab.report import availability
from launchlab.report.availability import Availability
from launchlab.report.inventory import (
    Function,
    Instances,
    LaunchType,
    ManagedFunction,
    Scaling,
    Tasks,
)

TASKS = Tasks(256, 512, "x86_64", False, 1, 4, False, 20, Scaling("cpu", 60, 60), 60, zones=2)
INSTANCES = Instances("t3.small", 1, 2, 30, "gp3", False, zones=2)


def _of(**parts: object) -> Availability:
    return availability.of(LaunchType("x", ("X",), 1, True, **parts))  # type: ignore[arg-type]


def _tasks(count: int, zones: int = 2) -> Tasks:
    return dataclasses.replace(TASKS, min_count=count, zones=zones)


def _instances(count: int, zones: int = 2, spread: bool = False) -> Instances:
    return dataclasses.replace(INSTANCES, min_count=count, zones=zones, spread_zones=spread)


def test_fargate_tasks_need_two_in_two_zones() -> None:
    assert _of(tasks=_tasks(1)) == Availability("x", False, "1 task in 1 zone")
    assert _of(tasks=_tasks(2)) == Availability("x", True, "2 tasks in 2 zones")
    assert _of(tasks=_tasks(3, zones=1)) == Availability("x", False, "3 tasks in 1 zone")


def test_ecs_on_ec2_needs_two_instances_in_two_zones_and_two_tasks() -> None:
    assert _of(tasks=_tasks(1), instances=_instances(1)) == Availability(
        "x", False, "1 instance in 1 zone, 1 task"
    )
    assert _of(tasks=_tasks(2), instances=_instances(2)) == Availability(
        "x", True, "2 instances in 2 zones, 2 tasks"
    )
    assert not _of(tasks=_tasks(1), instances=_instances(2)).multi_az
    assert not _of(tasks=_tasks(2), instances=_instances(2, zones=1)).multi_az
    assert not _of(tasks=_tasks(2), instances=_instances(1)).multi_az


def test_ecs_managed_instances_follow_the_tasks_when_they_spread_over_zones() -> None:
    spread = _of(tasks=_tasks(2), instances=_instances(0, spread=True))
    assert spread == Availability("x", True, "2 tasks on instances in 2 zones")
    # Without spreading ECS may pack both tasks on one instance: one zone.
    packed = _of(tasks=_tasks(2), instances=_instances(0))
    assert packed == Availability("x", False, "2 tasks on instances in 1 zone")
    assert not _of(tasks=_tasks(1), instances=_instances(0, spread=True)).multi_az
    assert not _of(tasks=_tasks(2), instances=_instances(0, zones=1, spread=True)).multi_az


def test_lambda_spreads_itself_and_lambda_managed_instances_need_two_environments() -> None:
    function = Function(512, "x86_64", 10, None, "function-url")
    assert _of(function=function) == Availability(
        "x", True, "execution environments in several zones, run by Lambda"
    )
    managed = ManagedFunction(2048, "arm64", 30, "c7g.large", 1, 4, 16, 2)
    assert _of(managed_function=managed) == Availability(
        "x", False, "3 instances across zones, 1 environment"
    )
    two = dataclasses.replace(managed, min_environments=2)
    assert _of(managed_function=two) == Availability(
        "x", True, "3 instances across zones, 2 environments"
    )
    assert _of() == Availability("x", False, "nothing it keeps running")


@pytest.mark.parametrize("multi_az", [True, False])
def test_the_mode_is_multi_az_only_when_every_launch_type_is(multi_az: bool) -> None:
    found = {
        "lambda": Availability("lambda", True, "execution environments"),
        "fargate": Availability("fargate", multi_az, "1 task in 1 zone"),
        "ecs-ec2": Availability("ecs-ec2", multi_az, "1 instance in 1 zone, 1 task"),
    }
    if multi_az:
        assert availability.mode(found) == "multi-az"
        assert availability.sentence(found) == (
            "Availability: multi-az, like for like: every launch type keeps two or more tasks, "
            "instances or environments in two or more zones."
        )
    else:
        assert availability.mode(found) == "sandbox"
        assert availability.sentence(found) == (
            "Availability: sandbox, not like for like: ECS on Fargate keeps 1 task in 1 zone; "
            "ECS on EC2 keeps 1 instance in 1 zone, 1 task (-c availability=multi-az prices "
            "two zones)."
        )
