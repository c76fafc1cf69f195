"""The managed-instance launch types sized where the traffic decides, not their minimum: how
many execution environments or tasks the load needs, how many fit on an instance, and what
the instances cost, each figure worked out by hand from the price table's us-east-1 prices."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from launchlab.errors import LaunchlabError
from launchlab.report.cost import Assumptions, estimate
from launchlab.report.inventory import Inventory, LaunchType, ManagedFunction, Network
from launchlab.report.prices import RegionPrices, load_table
from launchlab.report.profile import LoadLevel, TrafficProfile
from launchlab.report.rules import lambda_managed_instances as lmi

KEY = "lambda-managed-instances"
HOURS = Decimal(730)
C7G_LARGE = Decimal("0.0725")  # EC2 on-demand, us-east-1: 2 vCPU, 4 GiB
# 1 vCPU and 2 GiB an environment (2 GiB per vCPU, the C family's ratio): two per c7g.large.
FUNCTION = ManagedFunction(
    memory_mb=2048,
    architecture="arm64",
    timeout_s=30,
    instance_type="c7g.large",
    min_environments=3,
    max_environments=40,
    concurrency_per_environment=8,
    memory_gib_per_vcpu=2,
)


@pytest.fixture(scope="module")
def us_east_1() -> RegionPrices:
    return load_table().region("us-east-1")


def _only(function: ManagedFunction) -> Inventory:
    unit = LaunchType(KEY, ("M",), 1, True, managed_function=function)
    return Inventory(Network(0, 0, 0, 0), (), (), 0, {unit.launch_type: unit})


def _steady(rps: float, duration_ms: float) -> TrafficProfile:
    return TrafficProfile("steady", rps * 730 * 3600, duration_ms, 1)


def test_environments_follow_the_cpu_time_or_the_requests_in_flight() -> None:
    level = LoadLevel(1.0, 100)
    # 100 requests a second of 200 ms: 20 in flight, 8 to an environment: 3 (2.5 rounded up);
    # a quarter of each on CPU: 5 CPU-seconds a second, 1 vCPU an environment: 5. CPU decides.
    assert lmi.environments_at(FUNCTION, level, _steady(100, 200), 0.25) == 5
    # All of it on CPU: 20 environments.
    assert lmi.environments_at(FUNCTION, level, _steady(100, 200), 1.0) == 20
    # Half a vCPU an environment (4 GiB per vCPU): the CPU time needs twice as many.
    half = dataclasses.replace(FUNCTION, memory_gib_per_vcpu=4)
    assert lmi.environments_at(half, level, _steady(100, 200), 0.25) == 10
    # Little CPU: the requests in flight decide, 20 / 8 rounded up.
    one = dataclasses.replace(FUNCTION, min_environments=1)
    assert lmi.environments_at(one, level, _steady(100, 200), 0.01) == 3
    single = dataclasses.replace(FUNCTION, concurrency_per_environment=1, min_environments=1)
    assert lmi.environments_at(single, level, _steady(100, 200), 0.01) == 20
    # Exactly 4 in flight on 4 a piece is one environment, not two; none below the minimum.
    four = dataclasses.replace(single, concurrency_per_environment=4)
    assert lmi.environments_at(four, LoadLevel(1.0, 20), _steady(20, 200), 0.0) == 1
    assert lmi.environments_at(FUNCTION, LoadLevel(1.0, 0), _steady(0, 200), 0.25) == 3


def test_instances_hold_as_many_environments_as_their_cpu_and_memory_allow(
    us_east_1: RegionPrices,
) -> None:
    # 400 requests a second of 200 ms, a quarter on CPU: 20 environments of 1 vCPU / 2 GiB,
    # two per c7g.large: 10 instances, past the three Lambda keeps.
    found = estimate(_only(FUNCTION), KEY, us_east_1, _steady(400, 200), Assumptions())
    assert found.sizing["environments_by_level"] == [20]
    assert found.sizing["environments_per_instance"] == 2
    assert found.sizing["instances_by_level"] == [10]
    assert found.sizing["instance_hours"] == 7300.0
    ec2 = 10 * HOURS * C7G_LARGE
    [instances] = [i for i in found.items if i.kind == "EC2 instances"]
    assert instances.name == "EC2 c7g.large (2 vCPU, 4 GiB, 2 environments each)"
    assert (instances.quantity, instances.usd) == (10 * HOURS, ec2)
    [fee] = [i for i in found.items if i.kind == "Lambda Managed Instances management fee"]
    assert (fee.quantity, fee.usd) == (ec2, ec2 * Decimal("0.15"))
    [requests] = [i for i in found.items if i.kind == "Lambda requests"]
    assert requests.quantity == Decimal(str(400 * 730 * 3600))
    assert requests.usd == Decimal("0.20") * Decimal(400 * 730 * 3600) / 1_000_000
    assert found.warnings == []
    # Memory bounds them too: 3 GiB environments (1.5 vCPU) fit one to a c7g.large.
    wide = dataclasses.replace(FUNCTION, memory_mb=3072)
    found = estimate(_only(wide), KEY, us_east_1, _steady(400, 200), Assumptions())
    assert found.sizing["environments_per_instance"] == 1
    # CPU time 20 / 1.5 vCPU = 13.3: 14 environments, one per instance.
    assert found.sizing["instances_by_level"] == [14]


def test_a_load_past_the_functions_maximum_is_priced_and_said(us_east_1: RegionPrices) -> None:
    found = estimate(_only(FUNCTION), KEY, us_east_1, _steady(1000, 200), Assumptions())
    assert found.sizing["environments_by_level"] == [50]
    assert found.warnings == [
        "the load needs 50 execution environments but the function allows at most 40: priced at 50"
    ]
    exactly = dataclasses.replace(FUNCTION, max_environments=50)
    found = estimate(_only(exactly), KEY, us_east_1, _steady(1000, 200), Assumptions())
    assert found.warnings == []


def test_an_environment_larger_than_the_instance_is_one_clear_error(
    us_east_1: RegionPrices,
) -> None:
    big = dataclasses.replace(FUNCTION, memory_mb=8192)
    with pytest.raises(LaunchlabError) as error:
        estimate(_only(big), KEY, us_east_1, _steady(1, 200), Assumptions())
    assert str(error.value) == (
        "an execution environment of 8192 MB does not fit on c7g.large (2 vCPU, 4 GiB)"
    )
