"""Delete every launchlab stack in the account and region through CloudFormation: importers
before exporters, independent stacks at once, a stack that fails to delete given the remedy for
its known stuck deletion and one more try, and the others carried on past it.

Not `cdk destroy --all`: the CDK CLI knows only the stacks of the app it synthesizes with the
context it is given (a plain destroy after `up -c launchTypes=all` left the opt-in stacks, and
the network and registry then failed under their imports), and it stops at the first stack that
fails. DeleteStack needs no synth: "once the call completes successfully, stack deletion
starts", and CloudFormation deletes with "the role that was previously associated with the
stack" (the CDK bootstrap's execution role) when the call names none (CloudFormation API
reference, DeleteStack: docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/
API_DeleteStack.html).

What must go first comes from two places, both kept:

- the account's real exports and imports (ListExports, ListImports): they also name a stack
  outside the project that imports one of ours, which CloudFormation would refuse to let go
  ("Export ... cannot be deleted as it is in use by ..."); such an exporter is reported as
  kept, not attempted;
- the known order: the shared stacks (network, registry) after every launch type's stack, so
  the order holds even where ListImports lags or a stack reads a shared one without an import
  (a launch type's managed resources in the network's VPC).

The remedies are safe to run after the stacks' own delete-time custom resources did the same
work: each acts on what is still there and waits only for what still exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import botocore.exceptions
from rich.console import Console

from launchlab.aws.down import (
    ECS_MANAGED_TAG,
    MANAGED_TOO,
    TAG_FILTER,
    _elb_tags,
    _pages,
    _project_vpcs,
    force_delete_groups,
    release_held_instances,
)
from launchlab.aws.sandbox import Sandbox
from stacks import launch_types, names

# How often the stacks being deleted are looked at (a stack takes minutes to delete).
POLL_S = 10.0
# A deletion still in progress after this long gets its stack's remedy (the part that is safe
# while CloudFormation works), once: ECS on EC2's group otherwise waits out its lifecycle hook
# (an hour) and the cluster's capacity provider association its instances.
STALL_AFTER_S = 15 * 60.0
# The longest a remedy waits for what a service deletes by itself after its resource is gone
# (Express's load balancer and certificate, a capacity provider's instances).
SETTLE_S = 20 * 60.0
# Stacks that can be deleted, in the order every message lists them.
STACKS = (*names.SHARED_STACKS, *launch_types.BY_STACK)
GONE = "DELETE_COMPLETE"
NOT_IMPORTED = "is not imported by any stack"
# ECS's reserved capacity providers (DeleteCapacityProvider: they "can't be deleted").
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
# EC2 instance states that still hold capacity (and an ENI in the VPC).
LIVE = ["pending", "running", "stopping", "stopped", "shutting-down"]


@dataclass
class Teardown:
    """What `down` found and what became of each stack."""

    found: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # stack -> why it is still there
    failed: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)


@dataclass
class _Deletion:
    stack_id: str
    started: float
    attempts: int
    remedied_stall: bool = False


def _say(console: Console, text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def find_stacks(cloudformation: Any) -> dict[str, dict[str, Any]]:
    """Every registry stack (and shared stack) that exists here, by name, in STACKS order."""
    found = {}
    for name in STACKS:
        try:
            stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except botocore.exceptions.ClientError as error:
            if "does not exist" in str(error):
                continue
            raise
        for stack in stacks:
            if stack.get("StackStatus") != GONE:
                found[name] = dict(stack)
    return found


def importers(cloudformation: Any, export_name: str) -> list[str]:
    """The stacks that import ``export_name``; ListImports answers a ValidationError "Export
    '<name>' is not imported by any stack." rather than an empty list."""
    try:
        return [
            str(name)
            for name in _pages(cloudformation, "list_imports", "Imports", ExportName=export_name)
        ]
    except botocore.exceptions.ClientError as error:
        if NOT_IMPORTED in str(error.response.get("Error", {}).get("Message", "")):
            return []
        raise


def dependencies(
    cloudformation: Any, found: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, set[str]], dict[str, list[tuple[str, str]]]]:
    """(stack -> the found stacks that must be deleted before it, stack -> (export, importer)
    for each importer that is not a launchlab stack)."""
    after: dict[str, set[str]] = {name: set() for name in found}
    outside: dict[str, list[tuple[str, str]]] = {name: [] for name in found}
    by_id = {str(stack["StackId"]): name for name, stack in found.items()}
    for export in _pages(cloudformation, "list_exports", "Exports"):
        exporter = by_id.get(str(export.get("ExportingStackId")))
        if exporter is None:
            continue
        for importer in importers(cloudformation, str(export["Name"])):
            if importer == exporter:
                continue
            if importer in found:
                after[exporter].add(importer)
            else:
                outside[exporter].append((str(export["Name"]), importer))
    launch_type_stacks = {name for name in found if name in launch_types.BY_STACK}
    for shared in names.SHARED_STACKS:
        if shared in found:
            after[shared] |= launch_type_stacks
    return after, outside


def _failure_reason(cloudformation: Any, stack_id: str) -> str:
    """What CloudFormation said about the failed deletion: the resources' own errors first."""
    events = cloudformation.describe_stack_events(StackName=stack_id).get("StackEvents", [])
    reasons: list[str] = []
    for event in events:  # newest first
        if event.get("ResourceStatus") == "DELETE_IN_PROGRESS" and event.get("ResourceType") == (
            "AWS::CloudFormation::Stack"
        ):
            break  # the start of this deletion
        reason = str(event.get("ResourceStatusReason") or "")
        if event.get("ResourceStatus") == "DELETE_FAILED" and reason and reason not in reasons:
            reasons.append(reason)
    return "; ".join(reversed(reasons[:3])) or "no reason given in the stack's events"


def delete_stacks(
    sandbox: Sandbox, console: Console, *, clock: Callable[[], float] = time.monotonic
) -> Teardown:
    """Delete every launchlab stack found here; what became of each."""
    cloudformation = sandbox.client("cloudformation")
    found = find_stacks(cloudformation)
    result = Teardown(found=list(found))
    remedies = _remedies()
    # Waited for before the first try too: nothing is lost when nothing is there.
    settle_first = {names.NETWORK_STACK: remedies[names.NETWORK_STACK]}
    if not found:
        _say(console, f"no {names.PROJECT} stack in {sandbox.region}")
        return result
    listed = ", ".join(f"{name} ({stack.get('StackStatus')})" for name, stack in found.items())
    _say(console, f"found {len(found)} {names.PROJECT} stack(s) in {sandbox.region}: {listed}")
    after, outside = dependencies(cloudformation, found)
    waiting = [name for name in found]
    running: dict[str, _Deletion] = {}
    for name, stack in found.items():
        if stack.get("StackStatus") == "DELETE_IN_PROGRESS":  # an earlier run's, still going
            running[name] = _Deletion(str(stack["StackId"]), clock(), 1)
            waiting.remove(name)
    autoscaling = sandbox.client("autoscaling")

    def start(name: str, attempt: int) -> None:
        stack_id = str(found[name]["StackId"])
        _say(console, f"deleting {name}" + (" again" if attempt > 1 else ""))
        try:
            cloudformation.delete_stack(StackName=stack_id)
        except botocore.exceptions.ClientError as error:
            message = str(error.response.get("Error", {}).get("Message", error))
            failed(name, _Deletion(stack_id, clock(), attempt), f"DeleteStack refused: {message}")
            return
        running[name] = _Deletion(stack_id, clock(), attempt)

    def failed(name: str, deletion: _Deletion, reason: str) -> None:
        running.pop(name, None)
        if deletion.attempts >= 2:
            result.failed[name] = reason
            _say(console, f"{name} failed to delete again: {reason}")
            return
        _say(console, f"{name} failed to delete: {reason}")
        remedy = remedies.get(name)
        if remedy is not None:
            _say(console, f"{name}: {remedy.known}")
            remedy.apply(sandbox, console, name, clock=clock)
        start(name, deletion.attempts + 1)

    def start_what_can_start() -> None:
        """Start every waiting stack whose predecessors are deleted; keep those whose
        predecessors are still there. Again until nothing changes: a refused start settles a
        stack at once."""
        changed = True
        while changed:
            changed = False
            for name in list(waiting):
                before = after[name] - set(result.deleted)
                still_there = sorted(before & (set(result.failed) | set(result.kept)))
                if outside[name]:
                    export, importer = outside[name][0]
                    result.kept[name] = (
                        f"its export {export} is imported by {importer}, which is not a "
                        f"{names.PROJECT} stack: delete {importer} (or its import) first"
                    )
                elif still_there:
                    result.kept[name] = f"{', '.join(still_there)} must be deleted first"
                elif before:
                    continue
                else:
                    if name in settle_first:
                        settle_first[name].settle(sandbox, console, name, clock=clock)
                    waiting.remove(name)
                    start(name, 1)
                    changed = True
                    continue
                waiting.remove(name)
                _say(console, f"kept {name}: {result.kept[name]}")
                changed = True

    try:
        while waiting or running:
            _release_held(autoscaling, console)
            start_what_can_start()
            if waiting and not running:  # nothing to wait for: a cycle, which CDK never makes
                for name in waiting:
                    result.kept[name] = f"waits for {', '.join(sorted(after[name]))}"
                waiting.clear()
            for name, deletion in list(running.items()):
                status = _status(cloudformation, name)
                if status == GONE:
                    del running[name]
                    result.deleted.append(name)
                    _say(console, f"deleted {name} ({clock() - deletion.started:.0f} s)")
                elif status == "DELETE_FAILED":
                    failed(name, deletion, _failure_reason(cloudformation, deletion.stack_id))
                elif (
                    not deletion.remedied_stall
                    and clock() - deletion.started > STALL_AFTER_S
                    and name in remedies
                ):
                    deletion.remedied_stall = True
                    _say(console, f"{name} is still deleting after {STALL_AFTER_S / 60:.0f} min")
                    remedies[name].unstick(sandbox, console, name)
            if running:
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        if running:
            _say(
                console,
                f"stopped; CloudFormation goes on deleting {', '.join(running)}: run "
                "`.venv/bin/launchlab down` again to finish and look for leftovers",
            )
        raise
    return result


def _status(cloudformation: Any, name: str) -> str:
    """The stack's status; by name, under which a deleted stack "does not exist" ("Deleted
    stacks do not show up in the DescribeStacks API if the deletion has been completed
    successfully", CloudFormation API reference, DeleteStack). (By id, moto 5.2.5 answers for
    a deleted stack by building its outputs' resources anew.)"""
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except botocore.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return GONE
        raise
    return str(stacks[0].get("StackStatus")) if stacks else GONE


def _release_held(autoscaling: Any, console: Console) -> None:
    """ECS managed draining's lifecycle hook holds an instance in Terminating:Wait, billed, once
    the capacity provider that would complete it is gone (aws/aws-cdk#18179): let it go."""
    try:
        released = release_held_instances(autoscaling)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return  # best effort: the deletion's own result and the scan still count
    if released:
        _say(
            console,
            f"released {len(released)} instance(s) held in Terminating:Wait by a termination "
            f"lifecycle hook: {', '.join(released)}",
        )


# ---- remedies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Remedy:
    """What unsticks one stack's known stuck deletion: ``act`` is safe while CloudFormation
    deletes the stack (applied to a stall too); ``wait_for`` lists what must be gone before
    the next try."""

    known: str  # the stuck deletion, and where it is reported
    act: Callable[[Sandbox, str], list[str]] | None = None
    wait_for: Callable[[Sandbox], list[str]] | None = None

    def unstick(self, sandbox: Sandbox, console: Console, stack: str) -> None:
        if self.act is not None:
            for line in self.act(sandbox, stack):
                _say(console, f"{stack}: {line}")

    def settle(
        self, sandbox: Sandbox, console: Console, stack: str, *, clock: Callable[[], float]
    ) -> None:
        if self.wait_for is None:
            return
        left = wait_until_gone(partial(self.wait_for, sandbox), console, stack, clock=clock)
        if left:
            _say(
                console,
                f"{stack}: still there after {SETTLE_S / 60:.0f} min: {', '.join(left)}; "
                "trying anyway",
            )

    def apply(
        self, sandbox: Sandbox, console: Console, stack: str, *, clock: Callable[[], float]
    ) -> None:
        self.unstick(sandbox, console, stack)
        self.settle(sandbox, console, stack, clock=clock)


def wait_until_gone(
    find: Callable[[], list[str]],
    console: Console,
    stack: str,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Poll ``find`` until it lists nothing or SETTLE_S has passed; what is still there."""
    deadline = clock() + SETTLE_S
    left = find()
    if not left:
        return left
    _say(
        console,
        f"{stack}: waiting up to {SETTLE_S / 60:.0f} min for {len(left)} resource(s) that AWS "
        f"deletes by itself: {', '.join(left)}",
    )
    while clock() < deadline:
        time.sleep(POLL_S)
        left = find()
        if not left:
            break
    return left


def _errors(what: str, call: Callable[..., Any], **kwargs: Any) -> str | None:
    """None when ``call(**kwargs)`` succeeds; else one line naming what failed and why."""
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as error:
        detail = error.response.get("Error", {})
        return f"could not {what}: {detail.get('Code')}: {detail.get('Message')}"
    return None


def _force_delete_groups(launch_type: str, sandbox: Sandbox, stack: str) -> list[str]:
    deleted = force_delete_groups(sandbox.client("autoscaling"), launch_type=launch_type)
    if not deleted:
        return ["no Auto Scaling group of it is left"]
    return [f"force-deleted Auto Scaling group(s) {', '.join(deleted)} with their instances"]


def _stack_resources(sandbox: Sandbox, stack: str, kind: str) -> list[str]:
    cloudformation = sandbox.client("cloudformation")
    summaries = _pages(
        cloudformation, "list_stack_resources", "StackResourceSummaries", StackName=stack
    )
    return [
        str(summary["PhysicalResourceId"])
        for summary in summaries
        if summary.get("ResourceType") == kind
        and summary.get("PhysicalResourceId")
        and summary.get("ResourceStatus") != GONE
    ]


def _take_the_provider_off_the_cluster(sandbox: Sandbox, stack: str) -> list[str]:
    """ECS Managed Instances: the capacity provider fails to delete while its instances are
    registered, and the instances cannot be terminated by hand (aws/aws-cdk#36071). Scale the
    stack's services to zero and delete them: ECS then terminates the idle instances (after
    the provider's ScaleInAfter, 300 s in the stack). Any provider still listed on the cluster
    is taken off it ("only capacity providers that aren't associated with a cluster can be
    deleted": ECS API reference, DeleteCapacityProvider); a Managed Instances provider, scoped
    to its cluster, may be refused by that API (hashicorp/terraform-provider-aws#44783), and
    the refusal is reported, not fatal."""
    ecs = sandbox.client("ecs")
    lines = []
    clusters = _stack_resources(sandbox, stack, "AWS::ECS::Cluster")
    for service in _stack_resources(sandbox, stack, "AWS::ECS::Service"):
        for cluster in clusters:
            described = ecs.describe_services(cluster=cluster, services=[service])
            if not any(s.get("status") == "ACTIVE" for s in described.get("services", [])):
                continue
            problem = _errors(
                f"scale {service} to 0", ecs.update_service,
                cluster=cluster, service=service, desiredCount=0,
            ) or _errors(
                f"delete {service}", ecs.delete_service,
                cluster=cluster, service=service, force=True,
            )  # fmt: skip
            lines.append(problem or f"scaled service {service} to 0 and deleted it")
    for cluster in clusters:
        described = ecs.describe_clusters(clusters=[cluster]).get("clusters", [])
        if not described or described[0].get("status") != "ACTIVE":
            continue
        attached = [str(p) for p in described[0].get("capacityProviders", [])]
        # The cluster is the stack's own, so every EC2 provider on it is the stack's; Fargate's
        # hold no instances.
        keep = [p for p in attached if p in FARGATE_PROVIDERS]
        if keep == attached:
            continue
        problem = _errors(
            f"take the capacity provider off {cluster}", ecs.put_cluster_capacity_providers,
            cluster=cluster, capacityProviders=keep, defaultCapacityProviderStrategy=[],
        )  # fmt: skip
        gone = ", ".join(sorted(set(attached) - set(keep)))
        lines.append(problem or f"took capacity provider {gone} off cluster {cluster}")
    return lines or ["its services and capacity provider are already gone"]


def instances_of(launch_type: str, sandbox: Sandbox) -> list[str]:
    """The launch type's instances still holding capacity, managed ones included: a capacity
    provider's instances carry its tags, the project's and the launch type's."""
    filters = [
        TAG_FILTER,
        {"Name": f"tag:{names.TAG_LAUNCH_TYPE}", "Values": [launch_type]},
        {"Name": "instance-state-name", "Values": LIVE},
    ]
    reservations = _pages(
        sandbox.client("ec2"), "describe_instances", "Reservations", Filters=filters,
        **MANAGED_TOO,
    )  # fmt: skip
    return [
        f"instance {instance['InstanceId']} ({instance.get('State', {}).get('Name')})"
        for reservation in reservations
        for instance in reservation.get("Instances", [])
    ]


def ecs_managed_in_the_vpc(sandbox: Sandbox) -> list[str]:
    """What ECS Express Mode created in the project's VPC and deletes by itself after the
    service (its load balancer, target groups, security groups: tagged AmazonECSManaged)."""
    vpcs = _project_vpcs(sandbox)
    if not vpcs:
        return []
    elbv2 = sandbox.client("elbv2")
    left = []
    balancers = [
        str(lb["LoadBalancerArn"])
        for lb in _pages(elbv2, "describe_load_balancers", "LoadBalancers")
        if lb.get("VpcId") in vpcs
    ]
    groups = [
        str(group["TargetGroupArn"])
        for group in _pages(elbv2, "describe_target_groups", "TargetGroups")
        if group.get("VpcId") in vpcs
    ]
    tags = _elb_tags(elbv2, balancers + groups)
    for arn in balancers + groups:
        if any(tag.get("Key") == ECS_MANAGED_TAG for tag in tags.get(arn, [])):
            kind = "load balancer" if ":loadbalancer/" in arn else "target group"
            left.append(f"{kind} {arn.rsplit(':', 1)[-1]}")
    filters = [{"Name": "vpc-id", "Values": vpcs}, {"Name": "tag-key", "Values": [ECS_MANAGED_TAG]}]
    ec2 = sandbox.client("ec2")
    for sg in _pages(ec2, "describe_security_groups", "SecurityGroups", Filters=filters):
        left.append(f"security group {sg['GroupId']}")
    return left


def _managed_instances_in_the_vpc(sandbox: Sandbox) -> Iterator[str]:
    vpcs = _project_vpcs(sandbox)
    if not vpcs:
        return
    filters = [{"Name": "vpc-id", "Values": vpcs}, {"Name": "instance-state-name", "Values": LIVE}]
    ec2 = sandbox.client("ec2")
    for reservation in _pages(
        ec2, "describe_instances", "Reservations", Filters=filters, **MANAGED_TOO
    ):
        for instance in reservation.get("Instances", []):
            managed = instance.get("Operator", {}).get("Managed") or any(
                tag.get("Key") == ECS_MANAGED_TAG for tag in instance.get("Tags", [])
            )
            if managed:
                state = instance.get("State", {}).get("Name")
                yield f"managed instance {instance['InstanceId']} ({state})"


def what_services_leave_in_the_vpc(sandbox: Sandbox) -> list[str]:
    """Everything a service created in the project's VPC outside CloudFormation and deletes by
    itself, which would keep the VPC's subnets and security groups from being deleted."""
    return [*ecs_managed_in_the_vpc(sandbox), *_managed_instances_in_the_vpc(sandbox)]


def _remedies() -> dict[str, Remedy]:
    """The remedy for each stack with a known stuck deletion, built when a teardown starts."""
    stack = {spec.key: spec.stack_id for spec in launch_types.REGISTRY}
    return {
        stack["ecs-ec2"]: Remedy(
            known=(
                "ECS managed draining's lifecycle hook can hold the group's instances for an "
                "hour after its capacity provider is gone (aws/aws-cdk#18179, #14732)"
            ),
            act=partial(_force_delete_groups, "ecs-ec2"),
        ),
        stack["ecs-managed-instances"]: Remedy(
            known=(
                "the capacity provider cannot leave the cluster while its instances are "
                "registered (aws/aws-cdk#36071)"
            ),
            act=_take_the_provider_off_the_cluster,
            wait_for=partial(instances_of, "ecs-managed-instances"),
        ),
        stack["express"]: Remedy(
            known=(
                "ECS deletes the service's load balancer, target groups, security groups and "
                "certificate after the service, asynchronously"
            ),
            wait_for=ecs_managed_in_the_vpc,
        ),
        stack["lambda-managed-instances"]: Remedy(
            known="Lambda terminates the capacity provider's instances after the provider",
            wait_for=partial(instances_of, "lambda-managed-instances"),
        ),
        names.NETWORK_STACK: Remedy(
            known=(
                "the VPC cannot go while anything is in it: what ECS and Lambda create there "
                "outside CloudFormation goes after their resources, asynchronously"
            ),
            wait_for=what_services_leave_in_the_vpc,
        ),
    }
