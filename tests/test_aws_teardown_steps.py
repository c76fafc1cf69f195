"""`launchlab down`'s stack deletion (launchlab/aws/teardown.py), one step at a time, with
botocore clients a Stubber answers. Each request is checked against the service model and the
parameters it must carry: the instance looks ask for managed instances too
(`IncludeManagedResources=True`, which moto accepts and ignores: it has no managed instances,
which a plain DescribeInstances hides). The answers are AWS's documented ones for what moto
cannot make (instances ECS or Lambda manages, a deletion that fails with CloudFormation's
events, ListImports' error for an export nobody imports). tests/test_aws_down_stacks.py runs
the whole deletion against moto in server mode."""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.stub import Stubber
from rich.console import Console

from launchlab.aws import teardown
from tests.moto_server import OfflineSandbox as _Sandbox
from tests.moto_server import offline_client

REGION = "us-east-1"
VPC = "vpc-0123456789abcdef0"
PROJECT_VPCS = {"Filters": [{"Name": "tag:launchlab:project", "Values": ["launchlab"]}]}
LIVE = ["pending", "running", "stopping", "stopped", "shutting-down"]
MANAGED = [{"Key": "AmazonECSManaged", "Value": "true"}]


def _stubbed(*services: str) -> tuple[dict[str, Any], dict[str, Stubber]]:
    clients = {service: offline_client(service) for service in services}
    return clients, {service: Stubber(client) for service, client in clients.items()}


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:elasticloadbalancing:{REGION}:123456789012:{kind}/{name}"


def test_what_express_leaves_in_the_vpc_is_what_ecs_tagged_there() -> None:
    ours = _arn("loadbalancer", "app/ecs-express/1")
    theirs = _arn("loadbalancer", "app/team/2")
    elsewhere = _arn("loadbalancer", "app/ecs-elsewhere/3")
    group = _arn("targetgroup", "ecs-tg/4")
    clients, stubs = _stubbed("ec2", "elbv2")
    stubs["ec2"].add_response("describe_vpcs", {"Vpcs": [{"VpcId": VPC}]}, PROJECT_VPCS)
    stubs["elbv2"].add_response(
        "describe_load_balancers",
        {"LoadBalancers": [{"LoadBalancerArn": a, "VpcId": v} for a, v in
                           ((ours, VPC), (theirs, VPC), (elsewhere, "vpc-other"))]},
    )  # fmt: skip
    stubs["elbv2"].add_response(
        "describe_target_groups", {"TargetGroups": [{"TargetGroupArn": group, "VpcId": VPC}]}
    )
    stubs["elbv2"].add_response(
        "describe_tags",
        {
            "TagDescriptions": [
                {"ResourceArn": ours, "Tags": MANAGED},
                {"ResourceArn": theirs, "Tags": [{"Key": "team", "Value": "web"}]},
                {"ResourceArn": group, "Tags": MANAGED},
            ]
        },
        {"ResourceArns": [ours, theirs, group]},
    )
    stubs["ec2"].add_response(
        "describe_security_groups",
        {"SecurityGroups": [{"GroupId": "sg-1"}]},
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [VPC]},
                {"Name": "tag-key", "Values": ["AmazonECSManaged"]},
            ]
        },
    )
    with stubs["ec2"], stubs["elbv2"]:
        assert teardown.ecs_managed_in_the_vpc(_Sandbox(clients)) == [
            "load balancer loadbalancer/app/ecs-express/1",
            "target group targetgroup/ecs-tg/4",
            "security group sg-1",
        ]
        # No project VPC: nothing to look for.
        stubs["ec2"].add_response("describe_vpcs", {"Vpcs": []}, PROJECT_VPCS)
        assert teardown.ecs_managed_in_the_vpc(_Sandbox(clients)) == []
        stubs["ec2"].assert_no_pending_responses()
        stubs["elbv2"].assert_no_pending_responses()


def test_managed_instances_in_the_vpc_are_asked_for_and_named_with_their_state() -> None:
    clients, stubs = _stubbed("ec2", "elbv2")
    instances = {
        "Reservations": [
            {
                "Instances": [
                    {"InstanceId": "i-lambda", "State": {"Name": "running"},
                     "Operator": {"Managed": True, "Principal": "lambda.amazonaws.com"}},
                    {"InstanceId": "i-ecs", "State": {"Name": "stopping"}, "Tags": MANAGED},
                    {"InstanceId": "i-mine", "State": {"Name": "running"},
                     "Tags": [{"Key": "team", "Value": "web"}]},
                    {"InstanceId": "i-bare", "State": {"Name": "running"}},
                ]
            }
        ]
    }  # fmt: skip
    stubs["ec2"].add_response("describe_vpcs", {"Vpcs": [{"VpcId": VPC}]}, PROJECT_VPCS)
    stubs["elbv2"].add_response("describe_load_balancers", {"LoadBalancers": []})
    stubs["elbv2"].add_response("describe_target_groups", {"TargetGroups": []})
    stubs["ec2"].add_response("describe_security_groups", {"SecurityGroups": []})
    stubs["ec2"].add_response("describe_vpcs", {"Vpcs": [{"VpcId": VPC}]}, PROJECT_VPCS)
    stubs["ec2"].add_response(
        "describe_instances",
        instances,
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [VPC]},
                {"Name": "instance-state-name", "Values": LIVE},
            ],
            "IncludeManagedResources": True,
        },
    )
    with stubs["ec2"], stubs["elbv2"]:
        assert teardown.what_services_leave_in_the_vpc(_Sandbox(clients)) == [
            "managed instance i-lambda (running)",
            "managed instance i-ecs (stopping)",
        ]
        stubs["ec2"].add_response("describe_vpcs", {"Vpcs": []}, PROJECT_VPCS)
        assert list(teardown._managed_instances_in_the_vpc(_Sandbox(clients))) == []
        stubs["ec2"].assert_no_pending_responses()


def test_a_launch_types_instances_are_found_by_its_tags_managed_ones_included() -> None:
    clients, stubs = _stubbed("ec2")
    stubs["ec2"].add_response(
        "describe_instances",
        {"Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": "pending"}}]},
                          {"Instances": [{"InstanceId": "i-2", "State": {"Name": "stopped"}}]}]},
        {
            "Filters": [
                {"Name": "tag:launchlab:project", "Values": ["launchlab"]},
                {"Name": "tag:launchlab:launch-type", "Values": ["lambda-managed-instances"]},
                {"Name": "instance-state-name", "Values": LIVE},
            ],
            "IncludeManagedResources": True,
        },
    )  # fmt: skip
    with stubs["ec2"]:
        found = teardown.instances_of("lambda-managed-instances", _Sandbox(clients))
    assert found == ["instance i-1 (pending)", "instance i-2 (stopped)"]


def _resources(*rows: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "StackResourceSummaries": [
            {"LogicalResourceId": f"R{index}", "ResourceType": kind, "PhysicalResourceId": pid,
             "ResourceStatus": status, "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"}
            for index, (kind, pid, status) in enumerate(rows)
        ]
    }  # fmt: skip


def test_the_provider_comes_off_after_the_services_go_to_zero_and_are_deleted() -> None:
    stack = "LaunchlabEcsManagedInstances"
    clients, stubs = _stubbed("cloudformation", "ecs")
    listing = _resources(
        ("AWS::ECS::Cluster", "cluster-1", "CREATE_COMPLETE"),
        ("AWS::ECS::Service", "svc-active", "CREATE_COMPLETE"),
        ("AWS::ECS::Service", "svc-draining", "CREATE_COMPLETE"),
        ("AWS::ECS::Service", "svc-gone", "DELETE_COMPLETE"),
        ("AWS::ECS::Cluster", "", "CREATE_FAILED"),
    )
    cfn, ecs = stubs["cloudformation"], stubs["ecs"]
    cfn.add_response("list_stack_resources", listing, {"StackName": stack})
    cfn.add_response("list_stack_resources", listing, {"StackName": stack})
    ecs.add_response(
        "describe_services",
        {"services": [{"serviceName": "svc-active", "status": "ACTIVE"}]},
        {"cluster": "cluster-1", "services": ["svc-active"]},
    )
    ecs.add_response(
        "update_service", {}, {"cluster": "cluster-1", "service": "svc-active", "desiredCount": 0}
    )
    ecs.add_response(
        "delete_service", {}, {"cluster": "cluster-1", "service": "svc-active", "force": True}
    )
    ecs.add_response(
        "describe_services",
        {"services": [{"serviceName": "svc-draining", "status": "DRAINING"}]},
        {"cluster": "cluster-1", "services": ["svc-draining"]},
    )
    ecs.add_response(
        "describe_clusters",
        {"clusters": [{"clusterName": "cluster-1", "status": "ACTIVE",
                       "capacityProviders": ["FARGATE", "mi-provider"]}]},
        {"clusters": ["cluster-1"]},
    )  # fmt: skip
    ecs.add_response(
        "put_cluster_capacity_providers",
        {},
        {"cluster": "cluster-1", "capacityProviders": ["FARGATE"],
         "defaultCapacityProviderStrategy": []},
    )  # fmt: skip
    with cfn, ecs:
        lines = teardown._take_the_provider_off_the_cluster(_Sandbox(clients), stack)
        ecs.assert_no_pending_responses()
    assert lines == [
        "scaled service svc-active to 0 and deleted it",
        "took capacity provider mi-provider off cluster cluster-1",
    ]


def test_a_refusal_while_taking_the_provider_off_is_said_not_raised() -> None:
    stack = "LaunchlabEcsManagedInstances"
    clients, stubs = _stubbed("cloudformation", "ecs")
    listing = _resources(
        ("AWS::ECS::Cluster", "c1", "CREATE_COMPLETE"),
        ("AWS::ECS::Service", "svc", "CREATE_COMPLETE"),
    )
    cfn, ecs = stubs["cloudformation"], stubs["ecs"]
    cfn.add_response("list_stack_resources", listing)
    cfn.add_response("list_stack_resources", listing)
    ecs.add_response("describe_services", {"services": [{"status": "ACTIVE"}]})
    ecs.add_client_error("update_service", "AccessDeniedException", "no ecs:UpdateService")
    ecs.add_response(
        "describe_clusters",
        {"clusters": [{"status": "ACTIVE", "capacityProviders": ["mi"]}]},
    )
    ecs.add_client_error(
        "put_cluster_capacity_providers", "ResourceInUseException", "instances registered"
    )
    with cfn, ecs:
        lines = teardown._take_the_provider_off_the_cluster(_Sandbox(clients), stack)
    assert lines == [
        "could not scale svc to 0: AccessDeniedException: no ecs:UpdateService",
        "could not take the capacity provider off c1: ResourceInUseException: instances registered",
    ]
    # Nothing left to act on: said so. A cluster with Fargate's providers only is left alone.
    cfn.add_response("list_stack_resources", _resources())
    cfn.add_response("list_stack_resources", _resources())
    with cfn:
        assert teardown._take_the_provider_off_the_cluster(_Sandbox(clients), stack) == [
            "its services and capacity provider are already gone"
        ]
    only = _resources(("AWS::ECS::Cluster", "c1", "CREATE_COMPLETE"))
    cfn.add_response("list_stack_resources", only)
    cfn.add_response("list_stack_resources", only)
    ecs.add_response(
        "describe_clusters", {"clusters": [{"status": "ACTIVE", "capacityProviders": ["FARGATE"]}]}
    )
    ecs.add_response("describe_clusters", {"clusters": [{"status": "INACTIVE"}]})
    with cfn, ecs:
        sandbox = _Sandbox(clients)
        assert teardown._take_the_provider_off_the_cluster(sandbox, stack) == [
            "its services and capacity provider are already gone"
        ]
        cfn.add_response("list_stack_resources", only)
        cfn.add_response("list_stack_resources", only)
        assert teardown._take_the_provider_off_the_cluster(sandbox, stack) == [
            "its services and capacity provider are already gone"
        ]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [0.0]
    monkeypatch.setattr(teardown.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    return now


def test_a_wait_for_what_aws_deletes_by_itself_looks_every_poll_until_the_settle_time(
    clock: list[float],
) -> None:
    out = io.StringIO()
    console = Console(file=out, width=400)
    answers = iter([["lb-1", "sg-1"], ["sg-1"], []])
    left = teardown.wait_until_gone(lambda: next(answers), console, "S", clock=lambda: clock[0])
    assert (left, clock[0]) == ([], 2 * teardown.POLL_S)
    assert out.getvalue() == (
        "S: waiting up to 20 min for 2 resource(s) that AWS deletes by itself: lb-1, sg-1\n"
    )
    # Still there after 20 minutes: what is left, after 120 looks.
    left = teardown.wait_until_gone(lambda: ["sg-1"], console, "S", clock=lambda: clock[0])
    assert left == ["sg-1"] and clock[0] == 2 * teardown.POLL_S + teardown.SETTLE_S
    # Nothing there: no wait, no words.
    out.truncate(0)
    out.seek(0)
    assert teardown.wait_until_gone(list, console, "S", clock=lambda: clock[0]) == []
    assert out.getvalue() == ""


def test_a_remedy_says_what_it_did_and_what_is_still_there(clock: list[float]) -> None:
    out = io.StringIO()
    # A colour terminal narrower than the lines: each still comes out whole and as written,
    # numbers unstyled and AWS's bracketed words kept (never read as rich markup).
    console = Console(file=out, width=30, force_terminal=True, color_system="standard")
    did = ["took [ecs-mi] off cluster c-1 (2 tasks, 3 instances)", "did two"]
    remedy = teardown.Remedy(known="k", act=lambda sandbox, stack: did, wait_for=lambda s: ["x-1"])
    remedy.apply(_Sandbox({}), console, "S", clock=lambda: clock[0])
    assert out.getvalue().splitlines() == [
        "S: took [ecs-mi] off cluster c-1 (2 tasks, 3 instances)",
        "S: did two",
        "S: waiting up to 20 min for 1 resource(s) that AWS deletes by itself: x-1",
        "S: still there after 20 min: x-1; trying anyway",
    ]
    out.truncate(0)
    out.seek(0)
    teardown.Remedy(known="k").apply(_Sandbox({}), console, "S", clock=lambda: clock[0])
    assert out.getvalue() == ""


def test_an_export_nobody_imports_has_no_importers_and_other_errors_go_on() -> None:
    clients, stubs = _stubbed("cloudformation")
    cfn = stubs["cloudformation"]
    cfn.add_response("list_imports", {"Imports": ["LaunchlabFargate"]}, {"ExportName": "e1"})
    cfn.add_client_error(
        "list_imports", "ValidationError", "Export 'e2' is not imported by any stack."
    )
    cfn.add_client_error("list_imports", "Throttling", "Rate exceeded")
    client = clients["cloudformation"]
    with cfn:
        assert teardown.importers(client, "e1") == ["LaunchlabFargate"]
        assert teardown.importers(client, "e2") == []
        with pytest.raises(Exception, match="Rate exceeded"):
            teardown.importers(client, "e3")


def _stack(name: str) -> dict[str, Any]:
    return {
        "StackName": name,
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{name}/1",
        "StackStatus": "CREATE_COMPLETE",
        "CreationTime": "2026-01-01T00:00:00Z",
    }


def test_importers_go_first_and_an_outside_importer_keeps_its_exporter() -> None:
    stacks = ("LaunchlabNetwork", "LaunchlabRegistry", "LaunchlabFargate", "LaunchlabLambda")
    found = {name: _stack(name) for name in stacks}
    clients, stubs = _stubbed("cloudformation")
    cfn = stubs["cloudformation"]
    exports = [
        {"ExportingStackId": found["LaunchlabNetwork"]["StackId"], "Name": "vpc"},
        {"ExportingStackId": found["LaunchlabRegistry"]["StackId"], "Name": "repo"},
        {"ExportingStackId": "arn:aws:cloudformation:::stack/Other/1", "Name": "theirs"},
    ]
    cfn.add_response("list_exports", {"Exports": exports})
    cfn.add_response("list_imports", {"Imports": ["LaunchlabFargate", "LaunchlabNetwork"]},
                     {"ExportName": "vpc"})  # fmt: skip
    cfn.add_response("list_imports", {"Imports": ["TeamService"]}, {"ExportName": "repo"})
    with cfn:
        after, outside = teardown.dependencies(clients["cloudformation"], found)
    launch_type_stacks = {"LaunchlabFargate", "LaunchlabLambda"}
    assert after == {
        "LaunchlabNetwork": launch_type_stacks,
        "LaunchlabRegistry": launch_type_stacks,
        "LaunchlabFargate": set(),
        "LaunchlabLambda": set(),
    }
    assert outside == {
        "LaunchlabNetwork": [],
        "LaunchlabRegistry": [("repo", "TeamService")],
        "LaunchlabFargate": [],
        "LaunchlabLambda": [],
    }


def test_a_failed_deletion_says_the_resources_own_errors_of_this_deletion() -> None:
    clients, stubs = _stubbed("cloudformation")
    cfn = stubs["cloudformation"]

    def event(status: str, reason: str = "", kind: str = "AWS::EC2::SecurityGroup") -> dict:
        return {"StackId": "s", "EventId": status + reason, "StackName": "S",
                "Timestamp": "2026-01-01T00:00:00Z", "ResourceType": kind,
                "ResourceStatus": status, "ResourceStatusReason": reason}  # fmt: skip

    events = [  # newest first
        event("DELETE_FAILED", "stack failed", "AWS::CloudFormation::Stack"),
        event("DELETE_FAILED", "sg in use"),
        event("DELETE_FAILED", "subnet in use"),
        event("DELETE_FAILED", "sg in use"),
        event("DELETE_IN_PROGRESS", "", "AWS::EC2::SecurityGroup"),
        event("DELETE_FAILED", "role in use"),
        event("DELETE_FAILED", "x"),
        event("DELETE_IN_PROGRESS", "User Initiated", "AWS::CloudFormation::Stack"),
        event("DELETE_FAILED", "an earlier deletion's"),
    ]
    cfn.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": "s"})
    cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": "s"})
    with cfn:
        assert teardown._failure_reason(clients["cloudformation"], "s") == (
            "subnet in use; sg in use; stack failed"
        )
        assert teardown._failure_reason(clients["cloudformation"], "s") == (
            "no reason given in the stack's events"
        )


def test_a_stack_is_gone_when_cloudformation_no_longer_knows_its_name() -> None:
    clients, stubs = _stubbed("cloudformation")
    cfn = stubs["cloudformation"]
    deleting = {**_stack("S"), "StackStatus": "DELETE_IN_PROGRESS"}
    cfn.add_response("describe_stacks", {"Stacks": [deleting]}, {"StackName": "S"})
    cfn.add_client_error("describe_stacks", "ValidationError", "Stack with id S does not exist")
    cfn.add_response("describe_stacks", {"Stacks": []})
    cfn.add_client_error("describe_stacks", "Throttling", "Rate exceeded")
    client = clients["cloudformation"]
    with cfn:
        assert teardown._status(client, "S") == "DELETE_IN_PROGRESS"
        assert teardown._status(client, "S") == teardown.GONE
        assert teardown._status(client, "S") == teardown.GONE
        with pytest.raises(Exception, match="Rate exceeded"):
            teardown._status(client, "S")


def _missing(stub: Stubber, name: str) -> None:
    stub.add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {name} does not exist",
        expected_params={"StackName": name},
    )  # fmt: skip


def _event(status: str, reason: str = "", kind: str = "AWS::EC2::SecurityGroup") -> dict[str, Any]:
    return {"StackId": "s", "EventId": f"{status}-{reason}", "StackName": "S",
            "Timestamp": "2026-01-01T00:00:00Z", "ResourceType": kind,
            "ResourceStatus": status, "ResourceStatusReason": reason}  # fmt: skip


class _Clock:
    """Ten seconds on for each look at it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 10
        return self.now


def test_the_deletion_goes_importers_first_tries_a_failed_stack_again_and_says_each_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three stacks: the network (its VPC imported by Fargate's stack), Fargate's and
    Lambda's, which an earlier run left deleting. Lambda's is followed, not started again;
    Fargate's goes first, fails once (a security group in use) and goes on the second try; the
    network waits for both, and for what services leave in its VPC (nothing), then goes."""
    monkeypatch.setattr(teardown.time, "sleep", lambda seconds: None)
    clients, stubs = _stubbed("cloudformation", "autoscaling", "ec2", "elbv2")
    cfn, groups, ec2 = stubs["cloudformation"], stubs["autoscaling"], stubs["ec2"]
    network, fargate = _stack("LaunchlabNetwork"), _stack("LaunchlabFargate")
    lambda_ = _stack("LaunchlabLambda")
    lambda_["StackStatus"] = "DELETE_IN_PROGRESS"
    for name in teardown.STACKS:
        found = {"LaunchlabNetwork": network, "LaunchlabFargate": fargate,
                 "LaunchlabLambda": lambda_}.get(name)  # fmt: skip
        if found is None:
            _missing(cfn, name)
        else:
            cfn.add_response("describe_stacks", {"Stacks": [found]}, {"StackName": name})
    export = {"ExportingStackId": network["StackId"], "Name": "LaunchlabNetwork:Vpc"}
    cfn.add_response("list_exports", {"Exports": [export]})
    cfn.add_response(
        "list_imports", {"Imports": ["LaunchlabFargate"]}, {"ExportName": "LaunchlabNetwork:Vpc"}
    )
    no_groups = {"Filters": [teardown.TAG_FILTER]}
    # The first round: Fargate's starts; Lambda's is gone; Fargate's failed, and starts again.
    groups.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": []}, no_groups)
    cfn.add_response("delete_stack", {}, {"StackName": fargate["StackId"]})
    _missing(cfn, "LaunchlabLambda")
    failed = {**fargate, "StackStatus": "DELETE_FAILED"}
    cfn.add_response("describe_stacks", {"Stacks": [failed]}, {"StackName": "LaunchlabFargate"})
    cfn.add_response(
        "describe_stack_events",
        {"StackEvents": [
            _event("DELETE_FAILED", "sg-1 has a dependent object"),
            _event("DELETE_IN_PROGRESS", "User Initiated", "AWS::CloudFormation::Stack"),
            _event("DELETE_FAILED", "an earlier deletion's"),
        ]},
        {"StackName": fargate["StackId"]},
    )  # fmt: skip
    cfn.add_response("delete_stack", {}, {"StackName": fargate["StackId"]})
    # The second: Fargate's is gone.
    groups.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": []}, no_groups)
    _missing(cfn, "LaunchlabFargate")
    # The third: nothing left in the VPC; the network starts and is gone.
    groups.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": []}, no_groups)
    ec2.add_response("describe_vpcs", {"Vpcs": []}, PROJECT_VPCS)
    ec2.add_response("describe_vpcs", {"Vpcs": []}, PROJECT_VPCS)
    cfn.add_response("delete_stack", {}, {"StackName": network["StackId"]})
    _missing(cfn, "LaunchlabNetwork")
    out = io.StringIO()
    with cfn, groups, ec2:
        result = teardown.delete_stacks(
            _Sandbox(clients), Console(file=out, width=400), clock=_Clock()
        )
        for stub in (cfn, groups, ec2):
            stub.assert_no_pending_responses()
    assert result == teardown.Teardown(
        found=["LaunchlabNetwork", "LaunchlabFargate", "LaunchlabLambda"],
        deleted=["LaunchlabLambda", "LaunchlabFargate", "LaunchlabNetwork"],
    )
    assert out.getvalue().splitlines() == [
        "found 3 launchlab stack(s) in us-east-1: LaunchlabNetwork (CREATE_COMPLETE), "
        "LaunchlabFargate (CREATE_COMPLETE), LaunchlabLambda (DELETE_IN_PROGRESS)",
        "deleting LaunchlabFargate",
        "deleted LaunchlabLambda (20 s)",
        "LaunchlabFargate failed to delete: sg-1 has a dependent object",
        "deleting LaunchlabFargate again",
        "deleted LaunchlabFargate (10 s)",
        "deleting LaunchlabNetwork",
        "deleted LaunchlabNetwork (10 s)",
    ]


def _find(cfn: Stubber, *found: dict[str, Any]) -> None:
    by_name = {stack["StackName"]: stack for stack in found}
    for name in teardown.STACKS:
        if name in by_name:
            cfn.add_response("describe_stacks", {"Stacks": [by_name[name]]}, {"StackName": name})
        else:
            _missing(cfn, name)


NO_GROUPS = {"AutoScalingGroups": []}


def test_a_stack_that_fails_twice_keeps_what_it_imports_and_an_outside_importer_keeps_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ECS on EC2's stack: DeleteStack refused; its remedy (force-delete the project's groups of
    it) and one more try, refused again: failed. The network waits for it: kept. The registry's
    export is imported by a stack that is not the project's: kept, not attempted."""
    monkeypatch.setattr(teardown.time, "sleep", lambda seconds: None)
    clients, stubs = _stubbed("cloudformation", "autoscaling")
    cfn, asg = stubs["cloudformation"], stubs["autoscaling"]
    network, registry = _stack("LaunchlabNetwork"), _stack("LaunchlabRegistry")
    ec2_stack, fargate = _stack("LaunchlabEcsEc2"), _stack("LaunchlabFargate")
    _find(cfn, network, registry, ec2_stack, fargate)
    export = {"ExportingStackId": registry["StackId"], "Name": "LaunchlabRegistry:Repo"}
    cfn.add_response("list_exports", {"Exports": [export]})
    cfn.add_response("list_imports", {"Imports": ["TeamService"]})
    asg.add_response("describe_auto_scaling_groups", NO_GROUPS, {"Filters": [teardown.TAG_FILTER]})
    cfn.add_client_error("delete_stack", "ValidationError", "role cannot be assumed",
                         expected_params={"StackName": ec2_stack["StackId"]})  # fmt: skip
    asg.add_response("describe_auto_scaling_groups", NO_GROUPS)
    group = {
        "AutoScalingGroupName": "lt-ec2", "MinSize": 0, "MaxSize": 2, "DesiredCapacity": 0,
        "DefaultCooldown": 300, "AvailabilityZones": ["us-east-1a"], "HealthCheckType": "EC2",
        "CreatedTime": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    asg.add_response(
        "describe_auto_scaling_groups",
        {"AutoScalingGroups": [group]},
        {"Filters": [teardown.TAG_FILTER,
                     {"Name": "tag:launchlab:launch-type", "Values": ["ecs-ec2"]}]},
    )  # fmt: skip
    asg.add_response(
        "delete_auto_scaling_group", {}, {"AutoScalingGroupName": "lt-ec2", "ForceDelete": True}
    )
    cfn.add_client_error("delete_stack", "ValidationError", "role cannot be assumed")
    cfn.add_response("delete_stack", {}, {"StackName": fargate["StackId"]})
    _missing(cfn, "LaunchlabFargate")
    out = io.StringIO()
    with cfn, asg:
        result = teardown.delete_stacks(
            _Sandbox(clients), Console(file=out, width=400), clock=_Clock()
        )
        cfn.assert_no_pending_responses()
        asg.assert_no_pending_responses()
    outside = (
        "its export LaunchlabRegistry:Repo is imported by TeamService, which is not a launchlab "
        "stack: delete TeamService (or its import) first"
    )
    assert result == teardown.Teardown(
        found=["LaunchlabNetwork", "LaunchlabRegistry", "LaunchlabEcsEc2", "LaunchlabFargate"],
        deleted=["LaunchlabFargate"],
        failed={"LaunchlabEcsEc2": "DeleteStack refused: role cannot be assumed"},
        kept={
            "LaunchlabRegistry": outside,
            "LaunchlabNetwork": "LaunchlabEcsEc2 must be deleted first",
        },
    )
    assert out.getvalue().splitlines() == [
        "found 4 launchlab stack(s) in us-east-1: LaunchlabNetwork (CREATE_COMPLETE), "
        "LaunchlabRegistry (CREATE_COMPLETE), LaunchlabEcsEc2 (CREATE_COMPLETE), "
        "LaunchlabFargate (CREATE_COMPLETE)",
        f"kept LaunchlabRegistry: {outside}",
        "deleting LaunchlabEcsEc2",
        "LaunchlabEcsEc2 failed to delete: DeleteStack refused: role cannot be assumed",
        f"LaunchlabEcsEc2: {teardown._remedies()['LaunchlabEcsEc2'].known}",
        "LaunchlabEcsEc2: force-deleted Auto Scaling group(s) lt-ec2 with their instances",
        "deleting LaunchlabEcsEc2 again",
        "LaunchlabEcsEc2 failed to delete again: DeleteStack refused: role cannot be assumed",
        "deleting LaunchlabFargate",
        "kept LaunchlabNetwork: LaunchlabEcsEc2 must be deleted first",
        "deleted LaunchlabFargate (10 s)",
    ]


def test_a_stalled_deletion_gets_its_remedy_once_and_ctrl_c_says_what_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ECS on EC2's stack still deleting past 15 minutes: its remedy, once; Ctrl-C then stops
    the wait and says what CloudFormation goes on deleting."""
    clients, stubs = _stubbed("cloudformation", "autoscaling")
    cfn, asg = stubs["cloudformation"], stubs["autoscaling"]
    ec2_stack = {**_stack("LaunchlabEcsEc2"), "StackStatus": "DELETE_IN_PROGRESS"}
    _find(cfn, ec2_stack)
    cfn.add_response("list_exports", {"Exports": []})
    for _ in range(3):  # three rounds: the remedy comes in the second only
        asg.add_response("describe_auto_scaling_groups", NO_GROUPS)
        cfn.add_response(
            "describe_stacks", {"Stacks": [ec2_stack]}, {"StackName": "LaunchlabEcsEc2"}
        )
    asg.add_response("describe_auto_scaling_groups", NO_GROUPS)  # the remedy's release
    asg.add_response("describe_auto_scaling_groups", NO_GROUPS)  # and its groups: none
    rounds = iter([None, None, KeyboardInterrupt])

    def sleep(seconds: float) -> None:
        if (stop := next(rounds)) is not None:
            raise stop()

    monkeypatch.setattr(teardown.time, "sleep", sleep)
    times = iter([0.0, teardown.STALL_AFTER_S, teardown.STALL_AFTER_S + 1, 2000.0, 3000.0])
    out = io.StringIO()
    with cfn, asg, pytest.raises(KeyboardInterrupt):
        teardown.delete_stacks(
            _Sandbox(clients), Console(file=out, width=400), clock=lambda: next(times)
        )
    assert out.getvalue().splitlines()[1:] == [
        "LaunchlabEcsEc2 is still deleting after 15 min",
        "LaunchlabEcsEc2: no Auto Scaling group of it is left",
        "stopped; CloudFormation goes on deleting LaunchlabEcsEc2: run `.venv/bin/launchlab "
        "down` again to finish and look for leftovers",
    ]


def test_no_stack_here_is_said_and_nothing_is_asked_further() -> None:
    clients, stubs = _stubbed("cloudformation")
    _find(stubs["cloudformation"])
    out = io.StringIO()
    with stubs["cloudformation"]:
        result = teardown.delete_stacks(_Sandbox(clients), Console(file=out, width=400))
    assert result == teardown.Teardown()
    assert out.getvalue() == "no launchlab stack in us-east-1\n"


def test_each_known_stuck_deletion_has_its_remedy_and_its_source() -> None:
    from stacks import names

    remedies = teardown._remedies()
    assert sorted(remedies) == sorted(
        [
            names.ECS_EC2_STACK,
            names.ECS_MANAGED_INSTANCES_STACK,
            names.EXPRESS_STACK,
            names.LAMBDA_MANAGED_INSTANCES_STACK,
            names.NETWORK_STACK,
        ]
    )
    ec2 = remedies[names.ECS_EC2_STACK]
    assert (ec2.act.func, ec2.act.args, ec2.wait_for) == (  # type: ignore[union-attr]
        teardown._force_delete_groups,
        ("ecs-ec2",),
        None,
    )
    assert ec2.known == (
        "ECS managed draining's lifecycle hook can hold the group's instances for an hour "
        "after its capacity provider is gone (aws/aws-cdk#18179, #14732)"
    )
    mi = remedies[names.ECS_MANAGED_INSTANCES_STACK]
    assert mi.act is teardown._take_the_provider_off_the_cluster
    assert (mi.wait_for.func, mi.wait_for.args) == (  # type: ignore[union-attr]
        teardown.instances_of,
        ("ecs-managed-instances",),
    )
    assert mi.known == (
        "the capacity provider cannot leave the cluster while its instances are registered "
        "(aws/aws-cdk#36071)"
    )
    express = remedies[names.EXPRESS_STACK]
    assert (express.act, express.wait_for) == (None, teardown.ecs_managed_in_the_vpc)
    assert express.known == (
        "ECS deletes the service's load balancer, target groups, security groups and "
        "certificate after the service, asynchronously"
    )
    lmi = remedies[names.LAMBDA_MANAGED_INSTANCES_STACK]
    assert lmi.act is None
    assert (lmi.wait_for.func, lmi.wait_for.args) == (  # type: ignore[union-attr]
        teardown.instances_of,
        ("lambda-managed-instances",),
    )
    assert lmi.known == "Lambda terminates the capacity provider's instances after the provider"
    network = remedies[names.NETWORK_STACK]
    assert (network.act, network.wait_for) == (None, teardown.what_services_leave_in_the_vpc)
    assert network.known == (
        "the VPC cannot go while anything is in it: what ECS and Lambda create there outside "
        "CloudFormation goes after their resources, asynchronously"
    )
