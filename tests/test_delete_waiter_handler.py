"""The delete waiters' handler (stacks/constructs/handlers/delete_waiter_handler.py), one step at
a time, with botocore clients a Stubber answers: each request is checked against the service
model and the parameters it must carry, which is how `IncludeManagedResources=True` is seen to
be sent (moto accepts the parameter and ignores it: it has no managed instances, which a plain
DescribeInstances hides), and the answers are AWS's documented ones for what moto cannot make
(instances ECS or Lambda manages). The wait's clock is the test's. tests/test_delete_waiter.py
runs the same handler against moto in server mode."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from botocore.stub import Stubber

from stacks.constructs.handlers import delete_waiter_handler as waiter
from tests.moto_server import offline_client

REGION = "us-east-1"
VPC = "vpc-0123456789abcdef0"
GROUP = "sg-0123456789abcdef0"
LIVE = ["pending", "running", "shutting-down", "stopping", "stopped"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """time.monotonic as the handler sees it; each sleep moves it on by what was slept."""
    now = [1000.0]
    monkeypatch.setattr(waiter.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(waiter.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    return now


def test_the_wait_looks_again_every_poll_until_nothing_is_left(clock: list[float]) -> None:
    answers = iter([["i-1", "eni-1"], ["i-1"], []])
    said = waiter.wait_until_gone(lambda: next(answers), clock[0] + 60, "security group sg-1")
    assert said == "security group sg-1: nothing left"
    assert clock[0] == 1000 + 2 * waiter.POLL_SECONDS


def test_what_is_left_when_the_wait_runs_out_is_named_in_order(clock: list[float]) -> None:
    said = waiter.wait_until_gone(lambda: ["i-2", "eni-1"], clock[0] + 25, "security group sg-1")
    assert said == "security group sg-1: still there when the wait ran out: eni-1, i-2"
    assert clock[0] == 1030  # three polls: 1010 and 1020 were before the deadline, 1030 after
    # Past the deadline already: one look, no sleep.
    said = waiter.wait_until_gone(lambda: ["i-3"], clock[0] - 1, "x")
    assert (said, clock[0]) == ("x: still there when the wait ran out: i-3", 1030)


def test_a_security_group_is_in_use_by_instances_managed_ones_too_and_interfaces() -> None:
    ec2 = offline_client("ec2")
    instances = {
        "Reservations": [
            {"Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}]},
            {"Instances": [{"InstanceId": "i-3"}]},
        ]
    }
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_instances",
            instances,
            {
                "Filters": [
                    {"Name": "instance.group-id", "Values": [GROUP]},
                    {"Name": "instance-state-name", "Values": LIVE},
                ],
                "IncludeManagedResources": True,
            },
        )
        stub.add_response(
            "describe_network_interfaces",
            {"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1"}]},
            {"Filters": [{"Name": "group-id", "Values": [GROUP]}], "IncludeManagedResources": True},
        )
        assert waiter.in_security_group(ec2, GROUP) == ["i-1", "i-2", "i-3", "eni-1"]
        stub.assert_no_pending_responses()


class _OldSdk:
    """A client of an SDK older than IncludeManagedResources: it refuses the parameter."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> _OldSdk:
        return self

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.asked.append(kwargs)
        if "IncludeManagedResources" in kwargs:
            raise botocore.exceptions.ParamValidationError(report="Unknown parameter")
        yield {"Reservations": [{"Instances": [{"InstanceId": "i-1"}]}], "NetworkInterfaces": []}
        yield {"Reservations": [{"Instances": [{"InstanceId": "i-2"}]}]}


def test_an_older_sdk_is_asked_again_without_managed_resources() -> None:
    old = _OldSdk()
    assert waiter.in_security_group(old, GROUP) == ["i-1", "i-2"]
    assert [sorted(kwargs) for kwargs in old.asked] == [
        ["Filters", "IncludeManagedResources"], ["Filters"],
        ["Filters", "IncludeManagedResources"], ["Filters"],
    ]  # fmt: skip


def _arn(kind: str, index: int) -> str:
    name = f"app/lb-{index}/0123456789abcdef" if kind == "loadbalancer" else f"tg-{index}/0123"
    return f"arn:aws:elasticloadbalancing:{REGION}:123456789012:{kind}/{name}"


def test_what_ecs_made_in_the_vpc_is_tagged_by_it_and_asked_20_arns_at_a_time() -> None:
    """21 load balancers and target groups in the VPC (one elsewhere): their tags in two asks,
    20 and 1; those tagged AmazonECSManaged, and the VPC's security groups with that tag."""
    elbv2, ec2 = offline_client("elbv2"), offline_client("ec2")
    balancers = [{"LoadBalancerArn": _arn("loadbalancer", i), "VpcId": VPC} for i in range(11)]
    balancers.append({"LoadBalancerArn": _arn("loadbalancer", 99), "VpcId": "vpc-other"})
    groups = [{"TargetGroupArn": _arn("targetgroup", i), "VpcId": VPC} for i in range(10)]
    arns = [b["LoadBalancerArn"] for b in balancers[:11]] + [g["TargetGroupArn"] for g in groups]
    managed = [{"Key": "AmazonECSManaged", "Value": "true"}]

    def tags(chunk: list[str]) -> dict[str, Any]:
        """ECS's tag on the first and the last; another tag, or none at all, on the rest."""
        other = [{"Key": "team", "Value": "web"}]
        return {
            "TagDescriptions": [
                {"ResourceArn": arn, "Tags": managed if arn in (arns[0], arns[20]) else other}
                if index % 2 == 0 or arn in (arns[0], arns[20])
                else {"ResourceArn": arn}
                for index, arn in enumerate(chunk)
            ]
        }

    with Stubber(elbv2) as elb_stub, Stubber(ec2) as ec2_stub:
        elb_stub.add_response("describe_load_balancers", {"LoadBalancers": balancers}, {})
        elb_stub.add_response("describe_target_groups", {"TargetGroups": groups}, {})
        elb_stub.add_response("describe_tags", tags(arns[:20]), {"ResourceArns": arns[:20]})
        elb_stub.add_response("describe_tags", tags(arns[20:]), {"ResourceArns": arns[20:]})
        ec2_stub.add_response(
            "describe_security_groups",
            {"SecurityGroups": [{"GroupId": GROUP}]},
            {
                "Filters": [
                    {"Name": "vpc-id", "Values": [VPC]},
                    {"Name": "tag-key", "Values": ["AmazonECSManaged"]},
                ]
            },
        )
        assert waiter.ecs_managed_in_vpc(elbv2, ec2, VPC) == [arns[0], arns[20], GROUP]
        elb_stub.assert_no_pending_responses()


class _Clients:
    """clients(service) for wait_for_teardown: what each step asked for, in order."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, service: str) -> Any:
        self.asked.append(service)
        return self.answers[service]


def test_each_wait_runs_in_order_and_says_what_it_found(
    clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    monkeypatch.setattr(waiter, "in_security_group", lambda ec2, group: steps.append(group) or [])
    monkeypatch.setattr(
        waiter, "ecs_managed_in_vpc", lambda elbv2, ec2, vpc: steps.append(vpc) or ["lb-1"]
    )
    clients = _Clients(ec2="ec2", elbv2="elbv2")
    props = {"SecurityGroupId": GROUP, "VpcId": VPC}
    said = waiter.wait_for_teardown(props, clock[0] + 5, clients)
    assert said == (
        f"security group {GROUP}: nothing left; "
        f"ECS-managed in {VPC}: still there when the wait ran out: lb-1"
    )
    assert steps == [GROUP, VPC, VPC]
    assert clients.asked == ["ec2", "elbv2", "ec2"]
    # Nothing asked: nothing to do.
    assert waiter.wait_for_teardown({}, clock[0], clients) == "nothing to wait for"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("DELETE_IN_PROGRESS", "security group sg-0123456789abcdef0: nothing left"),
        ("ROLLBACK_IN_PROGRESS", "security group sg-0123456789abcdef0: nothing left"),
        ("UPDATE_COMPLETE", "stack is UPDATE_COMPLETE: nothing to wait for"),
    ],
)
def test_the_handler_waits_only_while_its_stack_goes_and_always_answers(
    status: str, reason: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answered: list[tuple[str, str]] = []
    deadlines: list[float] = []
    monkeypatch.setattr(waiter.boto3, "client", lambda service: service)
    monkeypatch.setattr(waiter, "stack_status", lambda client, stack: status)
    monkeypatch.setattr(waiter.time, "monotonic", lambda: 100.0)

    def wait(props: dict[str, Any], deadline: float) -> str:
        deadlines.append(deadline)
        return f"security group {props['SecurityGroupId']}: nothing left"

    monkeypatch.setattr(waiter, "wait_for_teardown", wait)
    monkeypatch.setattr(waiter, "respond", lambda event, pid, said: answered.append((pid, said)))
    event = {
        "RequestType": "Delete",
        "ResourceProperties": {"SecurityGroupId": GROUP},
        "LogicalResourceId": "Waiter",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1",
    }
    waiter.handler(event, _Context(120_000))
    assert answered == [("Waiter", reason)]
    assert capsys.readouterr().out == reason + "\n"
    # It waits until 30 s before Lambda's own timeout: 120 s left, so 90 s from now.
    assert deadlines == ([100.0 + 90] if status != "UPDATE_COMPLETE" else [])


def test_the_handler_never_fails_the_delete_and_never_waits_on_create(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answered: list[tuple[str, str]] = []
    monkeypatch.setattr(waiter.boto3, "client", lambda service: service)
    monkeypatch.setattr(waiter, "respond", lambda event, pid, said: answered.append((pid, said)))

    def broken(client: Any, stack: str) -> str:
        raise RuntimeError("no network")

    monkeypatch.setattr(waiter, "stack_status", broken)
    event = {"RequestType": "Delete", "ResourceProperties": {}, "LogicalResourceId": "W",
             "PhysicalResourceId": "waiter-1", "StackId": "s"}  # fmt: skip
    waiter.handler(event, _Context(60_000))
    assert answered == [("waiter-1", "waiting failed: no network")]
    waiter.handler({**event, "RequestType": "Create"}, _Context(60_000))
    assert answered[-1] == ("waiter-1", "")


class _Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis
