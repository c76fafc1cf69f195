"""`launchlab down` deleting the stacks themselves, rehearsed against moto on 127.0.0.1.

moto cannot create the opt-in launch types' resources, so every stack of the registry is a
stand-in (tests/moto_server.py stand_in_templates): its real name and tags, importing exactly
the exports its synthesized template imports (read from the session's synths, default and
opt-in), from stand-ins of the network and the registry that export them. The moto server runs
with AWS's behaviour on the paths down takes (deletes_stacks_as_aws_does: a stack that fails to
delete stays DELETE_FAILED, an exporter whose export is imported is refused, ListImports
answers), and a stuck deletion moto cannot make is given to a stand-in through STUCK.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

from launchlab.aws import teardown
from launchlab.cli import main
from stacks import launch_types, names
from tests import moto_server as fixtures
from tests.conftest import ROOT, Synthesized
from tests.moto_server import (
    STUCK,
    MotoServer,
    aws_env,
    current_account,
    deploy_stand_ins,
    real_imports,
    stand_in_templates,
)

aws = fixtures.aws
moto_server = fixtures.moto_server

ALL_STACKS = [*names.SHARED_STACKS, *launch_types.BY_STACK]
OPT_IN_STACKS = [spec.stack_id for spec in launch_types.REGISTRY if not spec.default]
PROJECT_FILTER = {"Name": f"tag:{names.TAG_PROJECT}", "Values": [names.PROJECT]}


@pytest.fixture
def stand_ins(synth: Synthesized, opt_in_synth: Synthesized) -> dict[str, dict[str, Any]]:
    templates = stand_in_templates(real_imports(synth.templates, opt_in_synth.templates))
    assert sorted(templates) == sorted(ALL_STACKS)
    return templates


@pytest.fixture(autouse=True)
def quick_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stacks delete at once in moto; a wait for what AWS deletes by itself ends in seconds."""
    monkeypatch.setattr(teardown, "POLL_S", 0.05)
    monkeypatch.setattr(teardown, "SETTLE_S", 5.0)


def _statuses() -> dict[str, str]:
    cloudformation = boto3.client("cloudformation")
    found = {}
    for name in [*ALL_STACKS, "SomeoneElses"]:
        try:
            found[name] = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        except cloudformation.exceptions.ClientError:
            found[name] = "gone"
    return found


def _rows(out: str) -> list[list[str]]:
    lines = [line for line in out.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in lines]


def test_the_stand_ins_import_what_the_real_stacks_import(
    stand_ins: dict[str, dict[str, Any]],
) -> None:
    """Every opt-in stack reads the network's or the registry's exports, as deployed: what
    made the shared stacks fail to delete under a plain `cdk destroy`."""
    imports = real_imports(stand_ins)
    for stack in OPT_IN_STACKS:
        assert any(e.startswith(f"{names.NETWORK_STACK}:") for e in imports[stack]), stack
    assert imports[names.NETWORK_STACK] == imports[names.REGISTRY_STACK] == []


def test_plain_down_finds_every_stack_and_deletes_importers_before_exporters(
    aws: MotoServer, stand_ins: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """What `up -c launchTypes=all` deployed, removed by `down` with no -c: the opt-in stacks
    too, each before the network and registry it imports from (moto, like AWS, refuses an
    exporter whose export is still imported)."""
    deploy_stand_ins(stand_ins)
    assert set(_statuses().values()) == {"CREATE_COMPLETE", "gone"}
    assert main(["down"]) == 0
    out = capsys.readouterr().out
    assert _statuses() == dict.fromkeys([*ALL_STACKS, "SomeoneElses"], "gone")
    found = re.search(r"found 8 launchlab stack\(s\) in us-east-1: (.*)", out)
    assert found is not None, out
    assert found[1] == ", ".join(f"{name} (CREATE_COMPLETE)" for name in ALL_STACKS)
    deleted = re.findall(r"^deleted (\w+) \(", out, re.MULTILINE)
    assert sorted(deleted) == sorted(ALL_STACKS)
    last_launch_type = max(deleted.index(stack) for stack in launch_types.BY_STACK)
    assert min(deleted.index(stack) for stack in names.SHARED_STACKS) > last_launch_type
    assert "not deleted" not in out
    assert out.endswith("nothing of launchlab is left in us-east-1\n")


def test_a_failed_stack_stops_neither_the_others_nor_the_scan(
    aws: MotoServer, stand_ins: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The network's VPC holds a subnet made outside the stack (its deletion fails twice), and a
    stack outside the project imports one of the registry's exports (kept, not attempted): every
    launch type's stack still goes, and the scan lists the two left with their cost."""
    deploy_stand_ins(stand_ins)
    cloudformation = boto3.client("cloudformation")
    vpc = next(
        r["PhysicalResourceId"]
        for r in cloudformation.list_stack_resources(StackName=names.NETWORK_STACK)[
            "StackResourceSummaries"
        ]
        if r["ResourceType"] == "AWS::EC2::VPC"
    )
    boto3.client("ec2").create_subnet(VpcId=vpc, CidrBlock="10.0.9.0/24")
    export = next(
        e["Name"] for e in cloudformation.list_exports()["Exports"]
        if e["Name"].startswith(f"{names.REGISTRY_STACK}:")
    )  # fmt: skip
    cloudformation.create_stack(
        StackName="SomeoneElses",
        TemplateBody=json.dumps({"Resources": {"Reads": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/someone/else", "Type": "String",
                           "Value": {"Fn::ImportValue": export}}}}}),
    )  # fmt: skip
    assert main(["down"]) == 1
    captured = capsys.readouterr()
    statuses = _statuses()
    assert {name: statuses[name] for name in launch_types.BY_STACK} == dict.fromkeys(
        launch_types.BY_STACK, "gone"
    )
    assert statuses[names.NETWORK_STACK] == "DELETE_FAILED"
    assert statuses[names.REGISTRY_STACK] == "CREATE_COMPLETE"  # never attempted
    assert statuses["SomeoneElses"] == "CREATE_COMPLETE"
    out = captured.out
    has_dependencies = f"The vpc '{vpc}' has dependencies and cannot be deleted."
    assert f"{names.NETWORK_STACK} failed to delete: {has_dependencies}" in out
    assert f"deleting {names.NETWORK_STACK} again" in out  # after its remedy, once
    assert out.count(f"deleting {names.NETWORK_STACK}") == 2
    assert f"not deleted: {names.NETWORK_STACK} (failed to delete: {has_dependencies})" in out
    assert (
        f"not deleted: {names.REGISTRY_STACK} (kept: its export {export} is imported by "
        "SomeoneElses, which is not a launchlab stack: delete SomeoneElses (or its import) "
        "first)"
    ) in out
    rows = {(row[0], row[1]): row for row in _rows(out)}
    assert rows[("cloudformation:stack", names.NETWORK_STACK)][4] == "DELETE_FAILED"
    assert rows[("cloudformation:stack", names.REGISTRY_STACK)][4] == "CREATE_COMPLETE"
    assert rows[("ec2:vpc", vpc)][2] == "tagging API + tag filter"
    assert captured.err.splitlines()[-1].startswith(
        f"launchlab: {len(rows)} resource(s) of launchlab remain in us-east-1, costing about $"
    )


def test_a_stuck_stack_gets_its_remedy_then_one_more_try(
    aws: MotoServer,
    stand_ins: dict[str, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ECS on EC2's stack fails to delete while its Auto Scaling group is there (on AWS, the
    group's instances held in Terminating:Wait by ECS's draining hook: aws/aws-cdk#18179; moto
    cannot hold one, so STUCK says it): down force-deletes the launch type's group, tries once
    more, and the stack goes."""
    deploy_stand_ins({k: v for k, v in stand_ins.items() if k in (
        names.NETWORK_STACK, names.REGISTRY_STACK, names.ECS_EC2_STACK)})  # fmt: skip
    group = _group("LaunchlabEcsEc2-Capacity", "ecs-ec2")
    other = _group("LaunchlabOther-Capacity", "fargate")  # another launch type's: kept

    def group_there() -> str | None:
        from moto.autoscaling.models import autoscaling_backends

        groups = autoscaling_backends[current_account()]["us-east-1"].autoscaling_groups
        return f"{group} held by its lifecycle hook" if group in groups else None

    monkeypatch.setitem(STUCK, names.ECS_EC2_STACK, group_there)
    assert main(["down"]) == 1  # the other launch type's group is a leftover
    out = capsys.readouterr().out
    assert f"{names.ECS_EC2_STACK} failed to delete: {group} held by its lifecycle hook" in out
    assert (
        f"{names.ECS_EC2_STACK}: force-deleted Auto Scaling group(s) {group} with their "
        "instances" in out
    )
    assert f"deleted {names.ECS_EC2_STACK} (" in out
    assert _statuses()[names.ECS_EC2_STACK] == "gone"
    remaining = boto3.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert [g["AutoScalingGroupName"] for g in remaining] == [other]


def _group(name: str, launch_type: str) -> str:
    ec2 = boto3.client("ec2")
    template = ec2.create_launch_template(
        LaunchTemplateName=f"{name}-Template",
        LaunchTemplateData={"ImageId": fixtures.an_image(), "InstanceType": "t3.small"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    subnet = next(s for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz"))
    tags = [
        {"Key": names.TAG_PROJECT, "Value": names.PROJECT, "PropagateAtLaunch": True},
        {"Key": names.TAG_LAUNCH_TYPE, "Value": launch_type, "PropagateAtLaunch": True},
    ]
    boto3.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        MinSize=0, MaxSize=1, DesiredCapacity=1, VPCZoneIdentifier=subnet["SubnetId"], Tags=tags,
    )  # fmt: skip
    return name


def test_down_still_accepts_c_and_says_it_is_not_needed(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["down", "-c", "launchTypes=all"]) == 0
    out = capsys.readouterr().out
    assert (
        "note: down finds the deployed stacks itself; -c is not needed and was not used "
        "(launchTypes=all)\n"
    ) in out
    assert "no launchlab stack in us-east-1\n" in out


def test_the_known_order_holds_without_an_import(aws: MotoServer) -> None:
    """A launch type's stack that imports nothing (its managed resources sit in the VPC all the
    same) still goes before the shared stacks."""
    cloudformation = boto3.client("cloudformation")
    bare = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    deploy_stand_ins({name: bare for name in (names.NETWORK_STACK, names.LAMBDA_STACK)})
    found = teardown.find_stacks(cloudformation)
    after, outside = teardown.dependencies(cloudformation, found)
    assert after == {names.NETWORK_STACK: {names.LAMBDA_STACK}, names.LAMBDA_STACK: set()}
    assert outside == {names.NETWORK_STACK: [], names.LAMBDA_STACK: []}


# ---- remedies, on their own ------------------------------------------------------------------


class _AfterTheFirstLook:
    """teardown's clock: what AWS does by itself (``then``) happens while down waits, after
    its first look has found it still there."""

    def __init__(self, then: Any) -> None:
        self.then = then
        self.monotonic = time.monotonic

    def sleep(self, seconds: float) -> None:
        if self.then is not None:
            self.then()
            self.then = None
        time.sleep(seconds)


def test_the_vpc_settles_before_the_network_goes(
    aws: MotoServer,
    stand_ins: dict[str, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Express's security group, which ECS deletes by itself after the service (tagged
    AmazonECSManaged), would keep the network's VPC: down waits for it before deleting the
    network, and the network goes once it has."""
    deploy_stand_ins({k: v for k, v in stand_ins.items() if k in (
        names.NETWORK_STACK, names.REGISTRY_STACK, names.EXPRESS_STACK)})  # fmt: skip
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[PROJECT_FILTER])["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(
        GroupName="ecs-express-gateway-alb-1", Description="Express ALB", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "AmazonECSManaged", "Value": "true"}]}],
    )["GroupId"]  # fmt: skip
    # ECS deleting it while down waits (as AWS does, minutes after the service).
    account = current_account()
    monkeypatch.setattr(teardown, "time", _AfterTheFirstLook(lambda: _delete_group(account, group)))
    assert main(["down"]) == 0
    out = capsys.readouterr().out
    assert (
        f"{names.NETWORK_STACK}: waiting up to 0 min for 1 resource(s) that AWS deletes by "
        f"itself: security group {group}"
    ) in out
    assert f"deleted {names.NETWORK_STACK} (" in out
    assert "failed to delete" not in out  # waited for before its first try, not after


def _delete_group(account: str, group: str) -> None:
    from moto.ec2.models import ec2_backends

    ec2_backends[account]["us-east-1"].delete_security_group(group_id=group)


def test_ecs_managed_instances_remedy_takes_the_provider_off_the_cluster(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stack's service scaled to 0 and deleted, its cluster's capacity provider taken off
    (aws/aws-cdk#36071); run again, as after the stack's own delete-time resource did the
    same, it finds nothing to do. (moto has no Managed Instances capacity provider: an Auto
    Scaling one stands in, created outside the stand-in stack as moto skips the resource.)"""
    ecs = boto3.client("ecs")
    template = {"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "ContainerDefinitions": [{"Name": "app", "Image": "x", "Memory": 512}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "Task"},
            "DesiredCount": 1}},
    }}  # fmt: skip
    stack = names.ECS_MANAGED_INSTANCES_STACK
    deploy_stand_ins({stack: template})
    resources = boto3.client("cloudformation").list_stack_resources(StackName=stack)
    physical = {
        r["ResourceType"]: r["PhysicalResourceId"] for r in resources["StackResourceSummaries"]
    }
    cluster = physical["AWS::ECS::Cluster"]
    group = _group("LaunchlabEcsManagedInstances-Capacity", "ecs-managed-instances")
    arn = boto3.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
        "AutoScalingGroups"
    ][0]["AutoScalingGroupARN"]
    provider = ecs.create_capacity_provider(
        name="LaunchlabEcsManagedInstances-Provider",
        autoScalingGroupProvider={"autoScalingGroupArn": arn},
    )["capacityProvider"]["name"]
    ecs.put_cluster_capacity_providers(
        cluster=cluster, capacityProviders=[provider, "FARGATE"],
        defaultCapacityProviderStrategy=[],
    )  # fmt: skip
    sandbox = fixtures.Account(current_account(), aws.url).sandbox()
    lines = teardown._take_the_provider_off_the_cluster(sandbox, stack)
    service = physical["AWS::ECS::Service"]
    assert lines == [
        f"scaled service {service} to 0 and deleted it",
        f"took capacity provider {provider} off cluster {cluster}",
    ]
    described = ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    assert described["capacityProviders"] == ["FARGATE"]
    assert (
        ecs.describe_services(cluster=cluster, services=[service])["services"][0]["status"]
        != "ACTIVE"
    )
    assert teardown._take_the_provider_off_the_cluster(sandbox, stack) == [
        "its services and capacity provider are already gone"
    ]


def test_a_managed_instances_wait_ends_when_the_instances_are_gone(
    aws: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda terminates a capacity provider's instances after the provider: the remedy waits
    for the launch type's instances (their tags come from the provider) and stops waiting once
    they are gone; another launch type's instance is not waited for."""
    ec2 = boto3.client("ec2")

    def run(launch_type: str) -> str:
        tags = [{"Key": names.TAG_PROJECT, "Value": names.PROJECT},
                {"Key": names.TAG_LAUNCH_TYPE, "Value": launch_type}]  # fmt: skip
        return str(ec2.run_instances(
            ImageId=fixtures.an_image("arm64"), MinCount=1, MaxCount=1, InstanceType="m7g.large",
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )["Instances"][0]["InstanceId"])  # fmt: skip

    mine, other = run("lambda-managed-instances"), run("ecs-managed-instances")
    sandbox = fixtures.Account(current_account(), aws.url).sandbox()
    find = teardown._remedies()[names.LAMBDA_MANAGED_INSTANCES_STACK].wait_for
    assert find is not None
    assert find(sandbox) == [f"instance {mine} (running)"]
    monkeypatch.setattr(
        teardown, "time", _AfterTheFirstLook(lambda: ec2.terminate_instances(InstanceIds=[mine]))
    )
    out = io.StringIO()
    console = Console(file=out, width=400)
    left = teardown.wait_until_gone(lambda: find(sandbox), console, "LaunchlabX")
    assert left == []
    assert out.getvalue() == (
        f"LaunchlabX: waiting up to 0 min for 1 resource(s) that AWS deletes by itself: "
        f"instance {mine} (running)\n"
    )
    assert other not in out.getvalue()


# ---- a stop signal while down waits ------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_while_down_waits_ends_it_at_once_with_nothing_left_running(
    aws: MotoServer, stand_ins: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """`launchlab down` in a process of its own, waiting for an Express security group that
    never goes (its real wait, up to 20 min): SIGTERM ends it within seconds, exit 143, with
    the stacks whose deletion CloudFormation goes on with named, and no process of its own
    left behind (down starts none: the CDK CLI is no longer part of it)."""
    deploy_stand_ins({k: v for k, v in stand_ins.items() if k in (
        names.NETWORK_STACK, names.REGISTRY_STACK, names.EXPRESS_STACK)})  # fmt: skip
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[PROJECT_FILTER])["Vpcs"][0]["VpcId"]
    ec2.create_security_group(
        GroupName="ecs-express-gateway-alb-2", Description="Express ALB", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "AmazonECSManaged", "Value": "true"}]}],
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAUNCHLAB_"))}
    env |= aws_env(aws.url) | {"COLUMNS": "200"}
    log = tmp_path / "down.out"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "launchlab", "down"], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "waiting up to 20 min" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 128 + signal.SIGTERM
        assert time.monotonic() - sent < 5
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text()
    assert text.rstrip().endswith("launchlab: stopped by SIGTERM"), text
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # its process group is empty: nothing of it runs on
    assert f"deleted {names.EXPRESS_STACK} (" in text


def test_a_stack_importing_another_launch_types_export_goes_first(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Between launch types the known order says nothing: the account's real imports do. A
    launch type's stack exporting a value another launch type's stack imports waits for it
    (moto, like AWS, refuses an exporter whose export is still imported)."""
    export = f"{names.FARGATE_STACK}:ExportsOutputRefCluster"
    handle = {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}
    deploy_stand_ins({
        names.FARGATE_STACK: {"Resources": handle, "Outputs": {"Cluster": {
            "Value": "cluster", "Export": {"Name": export}}}},
        names.LAMBDA_STACK: {"Resources": {**handle, "Reads": {
            "Type": "AWS::SSM::Parameter", "Properties": {
                "Name": "/launchlab-stand-in/reads", "Type": "String",
                "Value": {"Fn::ImportValue": export}}}}},
    })  # fmt: skip
    assert main(["down"]) == 0
    deleted = re.findall(r"^deleted (\w+) \(", capsys.readouterr().out, re.MULTILINE)
    assert deleted == [names.LAMBDA_STACK, names.FARGATE_STACK]
