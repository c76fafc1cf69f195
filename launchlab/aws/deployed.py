"""What is deployed, read back from the stacks' outputs through CloudFormation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from launchlab.aws.sandbox import Sandbox, aws_errors, require, stack_outputs
from stacks import launch_types


@dataclass(frozen=True)
class Endpoint:
    stack: str
    launch_type: str  # the registry key (GET / answers its spec's reports_as)
    url: str
    cluster: str | None = None
    service: str | None = None
    function: str | None = None


def deployed_launch_types(sandbox: Sandbox) -> tuple[str, ...]:
    """The launch types whose stacks CloudFormation holds (in any state but deleted); the
    default ones when there are none, so that the caller says which stack is missing."""
    cloudformation = sandbox.client("cloudformation")
    with aws_errors(sandbox.region):
        pages = cloudformation.get_paginator("list_stacks").paginate()
        present = {
            str(summary["StackName"])
            for page in pages
            for summary in page.get("StackSummaries", [])
            if summary.get("StackStatus") != "DELETE_COMPLETE"
        }
    found = tuple(spec.key for spec in launch_types.REGISTRY if spec.stack_id in present)
    return found or launch_types.DEFAULT_KEYS


def endpoints(sandbox: Sandbox, keys: Iterable[str] | None = None) -> list[Endpoint]:
    """The endpoints of the launch types ``keys`` (default: those deployed), with what runs
    behind each; a stack that is missing or has no endpoint is an error."""
    found = []
    for key in launch_types.in_order(deployed_launch_types(sandbox) if keys is None else keys):
        spec = launch_types.spec(key)
        outputs = stack_outputs(sandbox, spec.stack_id)
        url, *named = require(outputs, spec.stack_id, "EndpointUrl", *spec.outputs)
        extra = dict(zip(spec.outputs, named, strict=True))
        found.append(
            Endpoint(
                spec.stack_id,
                key,
                url,
                cluster=extra.get("ClusterName"),
                service=extra.get("ServiceName"),
                function=extra.get("FunctionName"),
            )
        )
    return found
