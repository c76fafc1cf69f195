"""The managed launch types' stack deletes wait for what AWS removes after them
(stacks/constructs/delete_waiter.py): in the templates, each waiter sits between the resource
that starts the teardown and what must outlive it; its handler runs for real against moto in
server mode (127.0.0.1) and answers CloudFormation on a local stand-in for the response URL.

What moto cannot show: ECS and Lambda terminating the instances by themselves. The tests
terminate them (or not) and check that the wait sees it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest

from stacks import names
from stacks.constructs.delete_waiter import RESOURCE_TYPE
from stacks.constructs.handlers import delete_waiter_handler as waiter
from tests import moto_server as fixtures
from tests import test_ec2_capacity as custom_resources
from tests.conftest import Synthesized
from tests.moto_server import MotoServer, an_image
from tests.test_ec2_capacity import _Context, _ResponseURL

aws = fixtures.aws
moto_server = fixtures.moto_server
response_url = custom_resources.response_url


def _depends_on(resource: dict[str, Any]) -> set[str]:
    found = resource.get("DependsOn", [])
    return set([found] if isinstance(found, str) else found)


def _only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, r) for k, r in template["Resources"].items() if r["Type"] == kind]
    return found


def _waiter(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _only(template, RESOURCE_TYPE)


def _role_of(template: dict[str, Any], kind: str, attribute: str) -> str:
    """The role logical id that resource ``kind`` references in ``attribute``."""
    props = _only(template, kind)[1]["Properties"]
    for part in attribute.split("."):
        props = props[part]
    return str(props["Fn::GetAtt"][0])


@pytest.mark.slow
def test_each_managed_launch_type_waits_between_what_starts_and_what_outlives_the_teardown(
    opt_in_synth: Synthesized,
) -> None:
    # ECS Managed Instances: the service goes first; the capacity provider (scoped to the
    # cluster: no association resource), the instances' security group and ECS's
    # infrastructure role last.
    template = opt_in_synth.template(names.ECS_MANAGED_INSTANCES_STACK)
    waiter_id, resource = _waiter(template)
    _, service = _only(template, "AWS::ECS::Service")
    assert waiter_id in _depends_on(service)
    provider_id, provider = _only(template, "AWS::ECS::CapacityProvider")
    launch = provider["Properties"]["ManagedInstancesProvider"]["InstanceLaunchTemplate"]
    (group,) = launch["NetworkConfiguration"]["SecurityGroups"]
    role = provider["Properties"]["ManagedInstancesProvider"]["InfrastructureRoleArn"]
    outlive = {provider_id, group["Fn::GetAtt"][0], role["Fn::GetAtt"][0]}
    assert outlive <= _depends_on(resource)
    assert resource["Properties"]["SecurityGroupId"] == group
    assert set(resource["Properties"]) == {"ServiceToken", "ServiceTimeout", "SecurityGroupId"}
    # An idle instance goes 300 s after its last task, so after the service's delete the
    # instances are gone within the waiter's 14 minutes (ECS's default is undocumented).
    optimization = provider["Properties"]["ManagedInstancesProvider"]["InfrastructureOptimization"]
    assert optimization == {"ScaleInAfter": 300}

    # Express: the service first, the infrastructure role (ECS deletes its ALB with it) last.
    template = opt_in_synth.template(names.EXPRESS_STACK)
    waiter_id, resource = _waiter(template)
    _, service = _only(template, "AWS::ECS::ExpressGatewayService")
    assert waiter_id in _depends_on(service)
    infrastructure = _role_of(template, "AWS::ECS::ExpressGatewayService", "InfrastructureRoleArn")
    assert infrastructure in _depends_on(resource)
    assert "Fn::ImportValue" in resource["Properties"]["VpcId"]
    assert set(resource["Properties"]) == {"ServiceToken", "ServiceTimeout", "VpcId"}
    # ... and waits for its cluster's FARGATE capacity provider association (the race
    # after_capacity_providers closes for the other services), which on delete outlives the
    # wait: the draining tasks still use FARGATE after the service resource is gone.
    association_id, _ = _only(template, "AWS::ECS::ClusterCapacityProviderAssociations")
    assert association_id in _depends_on(service)
    assert association_id in _depends_on(resource)

    # Lambda Managed Instances: the capacity provider first; its security group and the
    # operator role Lambda terminates the instances with last.
    template = opt_in_synth.template(names.LAMBDA_MANAGED_INSTANCES_STACK)
    waiter_id, resource = _waiter(template)
    provider_id, provider = _only(template, "AWS::Lambda::CapacityProvider")
    assert waiter_id in _depends_on(provider)
    (group,) = provider["Properties"]["VpcConfig"]["SecurityGroupIds"]
    operator = provider["Properties"]["PermissionsConfig"]["CapacityProviderOperatorRoleArn"]
    assert {group["Fn::GetAtt"][0], operator["Fn::GetAtt"][0]} <= _depends_on(resource)
    assert resource["Properties"]["SecurityGroupId"] == group


@pytest.mark.slow
def test_the_waiter_runs_within_cloudformations_wait_from_its_own_asset(
    opt_in_synth: Synthesized,
) -> None:
    template = opt_in_synth.template(names.LAMBDA_MANAGED_INSTANCES_STACK)
    _, resource = _waiter(template)
    function_id = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    function = template["Resources"][function_id]["Properties"]
    assert function["Timeout"] < int(resource["Properties"]["ServiceTimeout"]) <= 3600
    assert function["Handler"] == "delete_waiter_handler.handler"
    # The asset holds the handler and the module it imports, and nothing compiled.
    asset = opt_in_synth.outdir / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
    shipped = sorted(p.name for p in asset.iterdir())
    assert "delete_waiter_handler.py" in shipped and "asg_teardown_handler.py" in shipped
    assert not [name for name in shipped if name.endswith(".pyc") or name == "__pycache__"]


# --- the handler against moto ------------------------------------------------------------------


def _stack(status: str) -> str:
    cloudformation = boto3.client("cloudformation")
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    stack_id = cloudformation.create_stack(
        StackName=names.LAMBDA_MANAGED_INSTANCES_STACK, TemplateBody=json.dumps(template)
    )["StackId"]
    if status.startswith("DELETE_"):
        cloudformation.delete_stack(StackName=stack_id)
    return str(stack_id)


def _event(request_type: str, stack_id: str, url: str, **props: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": stack_id,
        "RequestId": "request-1",
        "LogicalResourceId": "DeleteWaiterA1B2C3D4",
        "PhysicalResourceId": "waiter-1",
        "ResourceType": RESOURCE_TYPE,
        "ResourceProperties": {"ServiceToken": "arn", **props},
    }


def _instance_in_a_group() -> tuple[str, str, str]:
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.4.0/22")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="instances", Description="x", VpcId=vpc)["GroupId"]
    (instance,) = ec2.run_instances(
        ImageId=an_image(), MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group]
    )["Instances"]
    return vpc, group, str(instance["InstanceId"])


@pytest.mark.slow
def test_the_handler_waits_for_the_group_to_empty_and_says_what_is_left(
    aws: MotoServer, response_url: _ResponseURL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wait that runs out names what is still there and still answers SUCCESS (the delete
    goes on); once the instance and its interface are gone, it says nothing is left."""
    monkeypatch.setattr(waiter, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(waiter, "MARGIN_SECONDS", 0.0)
    _, group, instance = _instance_in_a_group()
    stack_id = _stack("DELETE_COMPLETE")

    waiter.handler(_event("Delete", stack_id, response_url.url, SecurityGroupId=group), _Context(1))
    (body,) = response_url.bodies
    assert body["Status"] == "SUCCESS"
    assert body["Reason"].startswith(f"security group {group}: still there when the wait ran out")
    assert instance in body["Reason"]
    assert (body["PhysicalResourceId"], body["StackId"]) == ("waiter-1", stack_id)

    ec2 = boto3.client("ec2")
    # A stopped instance keeps its interface, and so the group.
    ec2.stop_instances(InstanceIds=[instance])
    waiter.handler(_event("Delete", stack_id, response_url.url, SecurityGroupId=group), _Context(1))
    assert instance in response_url.bodies[-1]["Reason"]
    ec2.terminate_instances(InstanceIds=[instance])
    # AWS deletes a terminated instance's primary interface with it; moto keeps it.
    for eni in ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": [group]}])[
        "NetworkInterfaces"
    ]:
        ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    waiter.handler(_event("Delete", stack_id, response_url.url, SecurityGroupId=group), _Context(5))
    assert response_url.bodies[-1]["Reason"] == f"security group {group}: nothing left"


@pytest.mark.slow
def test_the_handler_waits_for_what_ecs_made_in_the_vpc_and_nothing_else(
    aws: MotoServer, response_url: _ResponseURL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Express's load balancer and security group (tagged AmazonECSManaged) hold the wait;
    a load balancer of ours in the same VPC does not."""
    monkeypatch.setattr(waiter, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(waiter, "MARGIN_SECONDS", 0.0)
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate(("us-east-1a", "us-east-1b"))
    ]
    managed = [{"Key": waiter.ECS_MANAGED_TAG, "Value": "true"}]
    group = ec2.create_security_group(
        GroupName="ecs-express", Description="x", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": managed}],
    )["GroupId"]  # fmt: skip
    balancer = elbv2.create_load_balancer(Name="ecs-express", Subnets=subnets, Tags=managed)[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    elbv2.create_load_balancer(Name="ours", Subnets=subnets)
    # More than the 20 ARNs one DescribeTags call takes.
    target_groups = [
        elbv2.create_target_group(
            Name=f"ecs-express-{i}", Protocol="HTTP", Port=8080, VpcId=vpc, Tags=managed
        )["TargetGroups"][0]["TargetGroupArn"]
        for i in range(24)
    ]
    # Express in another VPC of the account (the default one, say) is not this stack's.
    other_vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    elsewhere = ec2.create_security_group(
        GroupName="ecs-express", Description="x", VpcId=other_vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": managed}],
    )["GroupId"]  # fmt: skip
    stack_id = _stack("DELETE_COMPLETE")
    event = _event("Delete", stack_id, response_url.url, VpcId=vpc)

    waiter.handler(event, _Context(1))
    reason = response_url.bodies[-1]["Reason"]
    assert reason.startswith(f"ECS-managed in {vpc}: still there when the wait ran out")
    assert balancer in reason and group in reason and "ours" not in reason
    assert [arn for arn in target_groups if arn not in reason] == []
    assert elsewhere not in reason

    elbv2.delete_load_balancer(LoadBalancerArn=balancer)
    ec2.delete_security_group(GroupId=group)
    for arn in target_groups:
        elbv2.delete_target_group(TargetGroupArn=arn)
    waiter.handler(event, _Context(5))
    assert response_url.bodies[-1]["Reason"] == f"ECS-managed in {vpc}: nothing left"


@pytest.mark.slow
@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_the_handler_does_nothing_unless_the_stack_goes(
    aws: MotoServer, response_url: _ResponseURL, request_type: str
) -> None:
    """A Delete while the stack lives (the waiter replaced in an update) must not wait 14
    minutes for live instances; Create and Update do nothing either."""
    _, group, _ = _instance_in_a_group()
    stack_id = _stack("CREATE_COMPLETE")
    event = _event(request_type, stack_id, response_url.url, SecurityGroupId=group)
    waiter.handler(event, _Context(60))
    (body,) = response_url.bodies
    assert body["Status"] == "SUCCESS"
    if request_type == "Delete":
        assert body["Reason"] == "stack is CREATE_COMPLETE: nothing to wait for"


@pytest.mark.slow
def test_the_handler_never_fails_a_delete(aws: MotoServer, response_url: _ResponseURL) -> None:
    missing = "arn:aws:cloudformation:us-east-1:123456789012:stack/gone/0"
    waiter.handler(_event("Delete", missing, response_url.url, VpcId="vpc-1"), _Context(60))
    (body,) = response_url.bodies
    assert body["Status"] == "SUCCESS"
    assert body["Reason"].startswith("waiting failed: ")


def test_the_wait_ends_at_the_first_look_that_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing left: no poll, whatever time is left (a wait that always ran to its deadline
    would hold every stack delete for 14 minutes)."""
    monkeypatch.setattr(waiter, "POLL_SECONDS", 0.05)
    looks: list[int] = []

    def remaining() -> list[str]:
        looks.append(1)
        return [] if len(looks) > 1 else ["eni-1"]

    assert waiter.wait_until_gone(remaining, time.monotonic() + 2, "group") == "group: nothing left"
    assert len(looks) == 2


@pytest.mark.slow
def test_the_wait_ends_before_lambda_stops_the_handler(
    aws: MotoServer, response_url: _ResponseURL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler must answer CloudFormation before its own timeout: a handler stopped
    mid-wait answers nothing, and the stack delete fails once the service timeout runs out.
    The wait ends MARGIN_SECONDS early, more than one poll, the most a last look overruns."""
    deadlines: list[float] = []

    def wait(props: dict[str, Any], deadline: float) -> str:
        deadlines.append(deadline - time.monotonic())
        return "waited"

    monkeypatch.setattr(waiter, "wait_for_teardown", wait)
    event = _event("Delete", _stack("DELETE_IN_PROGRESS"), response_url.url, VpcId="vpc-1")
    waiter.handler(event, _Context(120))
    (left,) = deadlines
    assert left <= 120 - waiter.MARGIN_SECONDS
    assert waiter.MARGIN_SECONDS > waiter.POLL_SECONDS
    assert response_url.bodies[-1]["Reason"] == "waited"


def _recording(calls: set[str]) -> Callable[[str], Any]:
    """boto3.client, noting each API call as an IAM action (service prefix:Operation)."""

    def client(name: str) -> Any:
        made = boto3.client(name)

        def note(model: Any, **_: Any) -> None:
            calls.add(f"{model.service_model.signing_name}:{model.name}")

        made.meta.events.register("before-call.*.*", note)
        return made

    return client


def _allowed(template: dict[str, Any], role_id: str) -> set[str]:
    """The actions the policies attached to ``role_id`` allow."""
    found = set()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in props.get("Roles", []):
            for statement in props["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Allow":
                    actions = statement["Action"]
                    found |= {actions} if isinstance(actions, str) else set(actions)
    return found


@pytest.mark.slow
def test_the_waiter_role_allows_every_call_its_handler_makes(
    opt_in_synth: Synthesized, aws: MotoServer
) -> None:
    """Each stack's waiter, run against moto with that stack's properties (something to
    find for each), calls only what its role allows: a call it may not make fails, and the
    handler, which never fails a delete, stops waiting at once."""
    vpc, group, _ = _instance_in_a_group()
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate(("us-east-1a", "us-east-1b"))
    ]
    elbv2.create_load_balancer(Name="ecs-express", Subnets=subnets)
    values = {"SecurityGroupId": group, "VpcId": vpc}
    for stack in (
        names.ECS_MANAGED_INSTANCES_STACK,
        names.EXPRESS_STACK,
        names.LAMBDA_MANAGED_INSTANCES_STACK,
    ):
        template = opt_in_synth.template(stack)
        _, resource = _waiter(template)
        given = set(resource["Properties"]) - {"ServiceToken", "ServiceTimeout"}
        calls = {"cloudformation:DescribeStacks"}  # the handler's own, before the wait
        waiter.wait_for_teardown(
            {key: values[key] for key in given}, time.monotonic(), _recording(calls)
        )
        function_id = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
        role_id = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert calls - _allowed(template, role_id) == set(), stack
        assert len(calls) > 2, calls  # it found something to look at


class _OldSdk:
    """A client from an SDK that predates IncludeManagedResources: botocore refuses the
    parameter before sending anything, and answers the same call without it. (moto ignores the
    parameter, so only a stand-in reaches this path.)"""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> Any:
        outer = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                outer.asked.append({"operation": operation, **kwargs})
                if "IncludeManagedResources" in kwargs:
                    raise botocore.exceptions.ParamValidationError(report="unknown parameter")
                return [{"Reservations": [], "NetworkInterfaces": []}]

        return Paginator()


def test_an_sdk_without_managed_resources_is_said_in_the_reason() -> None:
    """Without IncludeManagedResources an account that hides managed instances shows none, and
    the wait would end at once while they run: the reason says what it could not ask."""
    client = _OldSdk()
    reason = waiter.wait_for_teardown(
        {"SecurityGroupId": "sg-1"}, time.monotonic() + 5, lambda _: client
    )
    assert reason == (
        "security group sg-1: nothing left; describe_instances without IncludeManagedResources "
        "(the runtime's SDK lacks it); describe_network_interfaces without "
        "IncludeManagedResources (the runtime's SDK lacks it)"
    )
    # It asked with the parameter first, then without it, for both kinds.
    assert [("IncludeManagedResources" in a, a["operation"]) for a in client.asked] == [
        (True, "describe_instances"),
        (False, "describe_instances"),
        (True, "describe_network_interfaces"),
        (False, "describe_network_interfaces"),
    ]
    # A later wait in the same (warm) environment starts with no notes of its own.
    assert waiter.wait_for_teardown({}, time.monotonic(), lambda _: client) == (
        "nothing to wait for"
    )
