"""Custom resource handler: on stack delete, wait until what a managed launch type runs outside
CloudFormation is gone, so the rest of the delete (a security group, a role, the VPC) does not
fail on it or strand it; see stacks/constructs/delete_waiter.py for where each waits.

What it waits for, by the properties it is given:

- ``SecurityGroupId``: no instance (those a service manages included) and no network
  interface uses the group any more.
- ``VpcId`` (ECS Express Mode): no load balancer, target group or security group tagged
  ``AmazonECSManaged`` is left in the VPC: ECS deletes them after the service has drained,
  with the infrastructure role, which must outlive the wait.

Acts only while the stack itself goes, as asg_teardown_handler does; never fails a delete:
what is still there when the wait runs out is reported, and CloudFormation carries on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions

try:  # in Lambda the asset's root is on the path; in the tests, the project's
    from asg_teardown_handler import (  # type: ignore[import-not-found]
        respond,
        stack_is_going,
        stack_status,
    )
except ImportError:  # pragma: no cover - the tests import the package
    from stacks.constructs.handlers.asg_teardown_handler import (
        respond,
        stack_is_going,
        stack_status,
    )

POLL_SECONDS = 10.0
MARGIN_SECONDS = 30.0
ECS_MANAGED_TAG = "AmazonECSManaged"
# Instances in these states still hold the group (and bill, but for stopped ones' volumes).
LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]


def handler(event: dict[str, Any], context: Any) -> None:
    props = event["ResourceProperties"]
    physical_id = event.get("PhysicalResourceId") or event["LogicalResourceId"]
    reason = ""
    if event["RequestType"] == "Delete":
        seconds = context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
        try:
            status = stack_status(boto3.client("cloudformation"), event["StackId"])
            if stack_is_going(status):
                reason = wait_for_teardown(props, time.monotonic() + seconds)
            else:
                reason = f"stack is {status}: nothing to wait for"
        except Exception as error:  # best effort, see the module docstring
            reason = f"waiting failed: {error}"
        print(reason)
    respond(event, physical_id, reason)


def wait_for_teardown(
    props: dict[str, Any], deadline: float, clients: Callable[[str], Any] = boto3.client
) -> str:
    """Everything ``props`` asks for, in order, until ``deadline``; what happened, in words."""
    NOTES.clear()  # a warm Lambda environment keeps the module between invocations
    said: list[str] = []
    group = props.get("SecurityGroupId")
    if group:
        ec2 = clients("ec2")
        said.append(
            wait_until_gone(
                lambda: in_security_group(ec2, group), deadline, f"security group {group}"
            )
        )
    vpc = props.get("VpcId")
    if vpc:
        elbv2, ec2 = clients("elbv2"), clients("ec2")
        said.append(
            wait_until_gone(
                lambda: ecs_managed_in_vpc(elbv2, ec2, vpc), deadline, f"ECS-managed in {vpc}"
            )
        )
    said += NOTES
    return "; ".join(said) or "nothing to wait for"


def wait_until_gone(remaining: Callable[[], list[str]], deadline: float, where: str) -> str:
    left = remaining()
    while left and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        left = remaining()
    if left:
        return f"{where}: still there when the wait ran out: {', '.join(sorted(left))}"
    return f"{where}: nothing left"


def in_security_group(ec2: Any, group: str) -> list[str]:
    """Instances and network interfaces that still use ``group``."""
    found = []
    instances = _pages(
        ec2,
        "describe_instances",
        "Reservations",
        Filters=[
            {"Name": "instance.group-id", "Values": [group]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ],
        # Lambda's and ECS's instances are hidden from a plain describe (EC2 API reference,
        # DescribeInstances, IncludeManagedResources).
        IncludeManagedResources=True,
    )
    for reservation in instances:
        found += [str(i["InstanceId"]) for i in reservation.get("Instances", [])]
    interfaces = _pages(
        ec2,
        "describe_network_interfaces",
        "NetworkInterfaces",
        Filters=[{"Name": "group-id", "Values": [group]}],
        IncludeManagedResources=True,
    )
    found += [str(eni["NetworkInterfaceId"]) for eni in interfaces]
    return found


def ecs_managed_in_vpc(elbv2: Any, ec2: Any, vpc: str) -> list[str]:
    """Load balancers, target groups and security groups ECS created in ``vpc``."""
    arns = [
        str(lb["LoadBalancerArn"])
        for lb in _pages(elbv2, "describe_load_balancers", "LoadBalancers")
        if lb.get("VpcId") == vpc
    ]
    arns += [
        str(group["TargetGroupArn"])
        for group in _pages(elbv2, "describe_target_groups", "TargetGroups")
        if group.get("VpcId") == vpc
    ]
    found = []
    for start in range(0, len(arns), 20):  # describe_tags takes at most 20 ARNs
        answer = elbv2.describe_tags(ResourceArns=arns[start : start + 20])
        for description in answer.get("TagDescriptions", []):
            if any(tag.get("Key") == ECS_MANAGED_TAG for tag in description.get("Tags", [])):
                found.append(str(description["ResourceArn"]))
    groups = _pages(
        ec2,
        "describe_security_groups",
        "SecurityGroups",
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "tag-key", "Values": [ECS_MANAGED_TAG]},
        ],
    )
    found += [str(group["GroupId"]) for group in groups]
    return found


# What the reason should say besides the waits' outcome.
NOTES: list[str] = []


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    try:
        pages = client.get_paginator(operation).paginate(**kwargs)
        return [item for page in pages for item in page.get(key, [])]
    except botocore.exceptions.ParamValidationError:
        # An SDK in the runtime older than IncludeManagedResources: ask without it, and say
        # so, since an account that hides managed resources then shows none of them.
        note = f"{operation} without IncludeManagedResources (the runtime's SDK lacks it)"
        if note not in NOTES:
            NOTES.append(note)
        kwargs.pop("IncludeManagedResources", None)
        pages = client.get_paginator(operation).paginate(**kwargs)
        return [item for page in pages for item in page.get(key, [])]
