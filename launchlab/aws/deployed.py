"""What is deployed, read back from the stacks' outputs through CloudFormation."""

from __future__ import annotations

from dataclasses import dataclass

from launchlab.aws.sandbox import Sandbox, require, stack_outputs
from stacks import names


@dataclass(frozen=True)
class Endpoint:
    stack: str
    launch_type: str  # what GET / must answer: ecs-ec2, fargate or lambda
    url: str
    cluster: str | None = None
    service: str | None = None
    function: str | None = None


def endpoints(sandbox: Sandbox) -> list[Endpoint]:
    """The three endpoints, with what runs behind each; any stack missing is an error."""
    found = []
    for stack, launch_type in (
        (names.ECS_EC2_STACK, names.LAUNCH_TYPE_ECS_EC2),
        (names.FARGATE_STACK, names.LAUNCH_TYPE_FARGATE),
    ):
        outputs = stack_outputs(sandbox, stack)
        url, cluster, service = require(outputs, stack, "EndpointUrl", "ClusterName", "ServiceName")
        found.append(Endpoint(stack, launch_type, url, cluster=cluster, service=service))
    outputs = stack_outputs(sandbox, names.LAMBDA_STACK)
    url, function = require(outputs, names.LAMBDA_STACK, "EndpointUrl", "FunctionName")
    found.append(Endpoint(names.LAMBDA_STACK, names.LAUNCH_TYPE_LAMBDA, url, function=function))
    return found
