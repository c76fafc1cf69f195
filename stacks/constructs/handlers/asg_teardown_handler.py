"""Custom resource handler: on stack delete, force-delete the ECS capacity Auto Scaling group.

Shipped inline (ZipFile), so standard library and boto3 only; see asg_teardown.py for why.
Acts only while the stack itself goes (a delete, or the rollback of its creation): a Delete
that only replaces this resource in an update must leave the live group alone. Never fails:
if anything goes wrong, CloudFormation's own delete of the group follows as before.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import boto3

POLL_SECONDS = 5.0
# Left for the response when the wait for the group to go runs out.
MARGIN_SECONDS = 30.0


def handler(event: dict[str, Any], context: Any) -> None:
    name = event["ResourceProperties"]["AutoScalingGroupName"]
    reason = ""
    if event["RequestType"] == "Delete":
        seconds = context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
        try:
            status = stack_status(boto3.client("cloudformation"), event["StackId"])
            if stack_is_going(status):
                deadline = time.monotonic() + seconds
                reason = force_delete(boto3.client("autoscaling"), name, deadline)
            else:
                reason = f"stack is {status}: {name} stays"
        except Exception as error:  # best effort, see the module docstring
            reason = f"force delete of {name} failed: {error}"
        print(reason)
    respond(event, name, reason)


def stack_status(client: Any, stack_id: str) -> str:
    (stack,) = client.describe_stacks(StackName=stack_id)["Stacks"]
    return str(stack["StackStatus"])


def stack_is_going(status: str) -> bool:
    return status.startswith("DELETE_") or status == "ROLLBACK_IN_PROGRESS"


def force_delete(client: Any, name: str, deadline: float) -> str:
    """ForceDelete drops the group's pending lifecycle actions (ECS's draining hook among
    them) and terminates its instances at once; wait until the group is gone, so that
    CloudFormation's own delete of it finds nothing left to do."""
    if not _exists(client, name):
        return f"{name} is already gone"
    client.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    while time.monotonic() < deadline:
        if not _exists(client, name):
            return f"force-deleted {name}"
        time.sleep(POLL_SECONDS)
    return f"force-deleting {name}; still going when the wait ran out"


def _exists(client: Any, name: str) -> bool:
    found = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return bool(found["AutoScalingGroups"])


def respond(event: dict[str, Any], physical_id: str, reason: str) -> None:
    """Report SUCCESS to CloudFormation's pre-signed URL (what cfn-response does)."""
    body = json.dumps(
        {
            "Status": "SUCCESS",
            "Reason": reason or "nothing to do",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
