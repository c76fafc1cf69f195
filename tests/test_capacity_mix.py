"""How the instances and tasks a launch type runs are counted and split between on-demand and
Spot, where the load is small enough that the minimums, the zones and the mix decide: ECS on
EC2's instances across zones, a mixed group's Spot share, Fargate's capacity provider mix, and
ECS Managed Instances and Lambda Managed Instances on instances whose CPU and memory bound them
differently. Each figure is worked out by hand from the price table's us-east-1 prices."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from launchlab.report.cost import Assumptions, Estimate, estimate
from launchlab.report.inventory import (
    Instances,
    Inventory,
    LaunchType,
    ManagedFunction,
    Network,
    Scaling,
    Tasks,
)
from launchlab.report.prices import RegionPrices, load_table
from launchlab.report.profile import TrafficProfile

HOURS = Decimal(730)
# 0.25 vCPU / 0.5 GB tasks; 2 kept, up to 4.
TASKS = Tasks(256, 512, "x86_64", False, 2, 4, False, 20, Scaling("cpu", 60, 60), 60)
# t3.small: 2 vCPU, 2 GiB; 90% of the memory for tasks: 3 of them an instance (memory bounds).
INSTANCES = Instances("t3.small", 1, 4, 30, "gp3", False, cpu_credits="standard")
IDLE = TrafficProfile("idle", 0, 100, 1)


@pytest.fixture(scope="module")
def us_east_1() -> RegionPrices:
    return load_table().region("us-east-1")


def _priced(unit: LaunchType, prices: RegionPrices, **assume: str) -> Estimate:
    inventory = Inventory(Network(0, 0, 0, 0), (), (), 0, {unit.launch_type: unit})
    return estimate(inventory, unit.launch_type, prices, IDLE, Assumptions(**assume))


def _ec2(prices: RegionPrices, **instances: object) -> Estimate:
    unit = LaunchType(
        "ecs-ec2",
        ("E",),
        1,
        True,
        instances=dataclasses.replace(INSTANCES, **instances),
        tasks=TASKS,
    )
    return _priced(unit, prices)


def _kinds(found: Estimate) -> dict[str, list[tuple[str, Decimal]]]:
    kinds: dict[str, list[tuple[str, Decimal]]] = {}
    for item in found.items:
        kinds.setdefault(item.kind, []).append((item.name, item.quantity))
    return kinds


def test_tasks_spread_across_zones_need_an_instance_in_each(us_east_1: RegionPrices) -> None:
    # Two tasks fit on one t3.small (3 a piece), and one zone needs no more.
    assert _ec2(us_east_1).sizing["instances_by_level"] == [1]
    # Spread over two zones, each zone with a task needs an instance: 2.
    spread = _ec2(us_east_1, zones=2, spread_zones=True)
    assert spread.sizing["tasks_per_instance"] == 3
    assert spread.sizing["instances_by_level"] == [2]
    assert spread.sizing["instance_hours"] == 1460.0
    # In two subnets but not spread: one instance holds both tasks.
    assert _ec2(us_east_1, zones=2, spread_zones=False).sizing["instances_by_level"] == [1]
    # A group and a service that may scale to nothing keep no instance at zero traffic.
    unit = LaunchType(
        "ecs-ec2",
        ("E",),
        1,
        True,
        instances=dataclasses.replace(INSTANCES, min_count=0),
        tasks=dataclasses.replace(TASKS, min_count=0),
    )
    assert _priced(unit, us_east_1).sizing["instances_by_level"] == [0]
    # The group's own minimum counts when it is the largest.
    assert _ec2(us_east_1, min_count=3, zones=2, spread_zones=True).sizing[
        "instances_by_level"
    ] == [3]


def test_a_mixed_group_prices_its_spot_share_above_the_on_demand_base(
    us_east_1: RegionPrices,
) -> None:
    # 3 instances kept, 1 on demand first, half of the other 2 on Spot: 1 Spot instance.
    found = _ec2(us_east_1, min_count=3, on_demand_base=1, spot_share=0.5)
    assert found.sizing["instances_by_level"] == [3]
    assert found.sizing["spot_instance_hours"] == 730.0
    kinds = _kinds(found)
    assert kinds["EC2 instances"] == [("EC2 t3.small (2 vCPU, 2 GiB, 3 tasks each)", 2 * HOURS)]
    [(_, quantity)] = kinds["EC2 Spot instances"]
    assert quantity == HOURS
    # No Spot price is bundled: its hours are priced on demand and said to be an upper bound.
    [spot] = [i for i in found.items if i.kind == "EC2 Spot instances"]
    assert spot.price is not None
    assert (spot.price.basis, spot.price.note) == (
        "estimate",
        "no Spot price in the table: the on-demand price, an upper bound",
    )
    assert spot.usd == HOURS * us_east_1.instance("t3.small").hourly.unit_usd
    assert found.warnings == [
        "no Spot market price for t3.small in the price table: its Spot hours are priced on "
        "demand (an upper bound); `.venv/bin/launchlab report --refresh-prices` reads the Spot "
        "price history"
    ]
    # All on Spot: no on-demand line at all.
    every = _kinds(_ec2(us_east_1, min_count=3, spot_share=1.0))
    assert "EC2 instances" not in every
    assert [q for _, q in every["EC2 Spot instances"]] == [3 * HOURS]
    # No Spot share: no Spot line and no Spot hours in the sizing.
    none = _ec2(us_east_1, min_count=3)
    assert "spot_instance_hours" not in none.sizing
    assert "EC2 Spot instances" not in _kinds(none)
    assert [q for _, q in _kinds(none)["EC2 instances"]] == [3 * HOURS]


def _fargate(prices: RegionPrices, **tasks: object) -> Estimate:
    unit = LaunchType(
        "fargate", ("F",), 1, True, tasks=dataclasses.replace(TASKS, public_ip=False, **tasks)
    )
    return _priced(unit, prices)


def test_fargate_prices_its_capacity_provider_mix(us_east_1: RegionPrices) -> None:
    vcpu_hours = Decimal("0.25") * 2 * HOURS  # two tasks of 0.25 vCPU
    # Everything on FARGATE_SPOT (share 1, no base): Spot lines only, no mix in the sizing.
    spot = _fargate(us_east_1, spot=True)
    assert "spot_task_hours" not in spot.sizing
    assert _kinds(spot)["Fargate vCPU"] == [
        ("Fargate vCPU (0.25 vCPU / 0.5 GB x86_64 Spot)", vcpu_hours)
    ]
    # Share 1 above a base of 1: one task on demand, one on Spot.
    based = _fargate(us_east_1, spot_share=1.0, on_demand_base=1)
    assert based.sizing["spot_task_hours"] == 730.0
    assert _kinds(based)["Fargate vCPU"] == [
        ("Fargate vCPU (0.25 vCPU / 0.5 GB x86_64)", vcpu_hours / 2),
        ("Fargate vCPU (0.25 vCPU / 0.5 GB x86_64 Spot)", vcpu_hours / 2),
    ]
    # Share 0: on demand only, no Spot lines, no mix in the sizing.
    none = _fargate(us_east_1, spot_share=0.0)
    assert "spot_task_hours" not in none.sizing
    assert _kinds(none)["Fargate memory"] == [
        ("Fargate memory (0.25 vCPU / 0.5 GB x86_64)", Decimal("0.5") * 2 * HOURS)
    ]
    # A service scaled to nothing still shows its (zero) on-demand lines, and no Spot ones.
    empty = _fargate(us_east_1, min_count=0)
    assert _kinds(empty)["Fargate vCPU"] == [("Fargate vCPU (0.25 vCPU / 0.5 GB x86_64)", 0)]


KEY_MI = "ecs-managed-instances"


def _managed(prices: RegionPrices, instance_type: str, **assume: str) -> Estimate:
    unit = LaunchType(
        KEY_MI,
        ("M",),
        1,
        True,
        instances=dataclasses.replace(
            INSTANCES, instance_type=instance_type, awsvpc_trunking=False, min_count=1
        ),
        tasks=TASKS,
    )
    return _priced(unit, prices, **assume)


def test_a_commitment_never_covers_ecs_managed_instances(us_east_1: RegionPrices) -> None:
    plain = _managed(us_east_1, "t4g.small")
    committed = _managed(us_east_1, "t4g.small", commitment="compute-sp-3y")
    [on_demand] = [i for i in plain.items if i.kind == "EC2 instances"]
    [same] = [i for i in committed.items if i.kind == "EC2 instances"]
    assert (
        same.usd
        == on_demand.usd
        == on_demand.quantity * (us_east_1.instance("t4g.small").hourly.unit_usd)
    )
    assert committed.warnings == [
        "compute-sp-3y is not applied to the Managed Instances' EC2 hours: no AWS statement "
        "that a Savings Plan covers them was found"
    ]
    assert plain.warnings == []


def test_without_a_fee_in_the_table_the_total_is_a_lower_bound_and_says_so(
    us_east_1: RegionPrices,
) -> None:
    table = {k: v for k, v in us_east_1.prices.items() if not k.startswith("ecs_managed_instances")}
    found = _managed(dataclasses.replace(us_east_1, prices=table), "t4g.small")
    assert found.lower_bound == ["the ECS Managed Instances management fee is not priced"]
    assert found.warnings == [
        "no ECS Managed Instances management fee for t4g.small in the price table "
        "(ecs_managed_instances.management_hour.t4g.small, nor "
        "ecs_managed_instances.management_fee_estimate): this total is the EC2 part only, a "
        "lower bound; the fee is per instance type on https://aws.amazon.com/ecs/pricing/"
    ]
    assert "ECS Managed Instances management fee" not in _kinds(found)


def test_the_ecs_managed_instances_fee_is_a_share_of_the_instance_it_runs_on(
    us_east_1: RegionPrices,
) -> None:
    # c6a.2xlarge: AWS's published fee, $0.037 an instance-hour; a type with none: 12% of its
    # on-demand price, as an estimate that says so.
    for instance_type in ("c6a.2xlarge", "t4g.small"):
        found = _managed(us_east_1, instance_type)
        [fee] = [i for i in found.items if i.kind == "ECS Managed Instances management fee"]
        [ec2] = [i for i in found.items if i.kind == "EC2 instances"]
        assert fee.unit == "instance-hour"
        assert fee.quantity == ec2.quantity
        if instance_type == "c6a.2xlarge":
            assert fee.usd == ec2.quantity * Decimal("0.037")
            assert "estimate" not in fee.name
        else:
            hourly = us_east_1.instance(instance_type).hourly.unit_usd
            assert fee.usd == pytest.approx(ec2.quantity * hourly * Decimal("0.12"))
            assert fee.name.endswith("(estimate: 12% of on-demand)")


KEY_LMI = "lambda-managed-instances"


def test_lambda_environments_per_instance_take_the_tighter_of_cpu_and_memory(
    us_east_1: RegionPrices,
) -> None:
    # 2 GB environments at 4 GiB per vCPU: half a vCPU each. A c7g.large (2 vCPU, 4 GiB) holds
    # 4 by CPU but 2 by memory: 2.
    function = ManagedFunction(2048, "arm64", 30, "c7g.large", 3, 40, 8, 4)
    unit = LaunchType(KEY_LMI, ("L",), 1, True, managed_function=function)
    found = _priced(unit, us_east_1)
    assert found.sizing["environments_per_instance"] == 2
    # What it is billed for, by name (data out aside, no traffic here).
    assert [(i.name, i.note) for i in found.items if i.kind != "EC2 instances"][:2] == [
        ("Lambda Managed Instances management fee (15% of EC2)", ""),
        ("Lambda Managed Instances requests", "no duration charge, no free tier"),
    ]
    # 1 GB environments at 2 GiB per vCPU: half a vCPU and 1 GiB each: 4 by CPU, 4 by memory;
    # at 1 GiB per vCPU (1 vCPU each): 2 by CPU, 4 by memory.
    small = dataclasses.replace(function, memory_mb=1024, memory_gib_per_vcpu=2)
    assert (
        _priced(dataclasses.replace(unit, managed_function=small), us_east_1).sizing[
            "environments_per_instance"
        ]
        == 4
    )
    dense = dataclasses.replace(small, memory_gib_per_vcpu=1)
    assert (
        _priced(dataclasses.replace(unit, managed_function=dense), us_east_1).sizing[
            "environments_per_instance"
        ]
        == 2
    )
