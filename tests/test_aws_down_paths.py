"""`launchlab down`'s harder paths against moto on 127.0.0.1: an Auto Scaling group left behind,
the tagging API's lag, INACTIVE task definitions, and what each leftover costs; and `launchlab
up` creating the ECS service-linked role a brand-new account lacks.

moto 5.2.5 has DescribeAutoScalingGroups (with tag filters), Put/Describe/DeleteLifecycleHook and
DeleteAutoScalingGroup (which always takes the instances with it, ForceDelete or not), but no
CompleteLifecycleAction (its server answers HTTP 500 "not implemented") and never holds an
instance in Terminating:Wait: the release of held instances cannot run here; the force-delete
of a stuck stack's groups can (test_aws_down_stacks.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest

from launchlab.aws.down import HELD
from launchlab.aws.preflight import ECS_ROLE
from launchlab.cli import main
from stacks import names
from tests import moto_server as fixtures
from tests.conftest import Synthesized
from tests.moto_server import MotoServer, an_image, calls, current_account, write_fake_cdk

aws = fixtures.aws
moto_server = fixtures.moto_server

TAGS = [{"Key": names.TAG_PROJECT, "Value": names.PROJECT}]
ECS_HOOK = "ecs-managed-draining-termination-hook"  # the name ECS gives its hook


def _rows(out: str) -> list[list[str]]:
    lines = [line for line in out.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in lines]


def _default_subnets() -> list[dict[str, str]]:
    subnets = boto3.client("ec2").describe_subnets()["Subnets"]
    by_zone = {s["AvailabilityZone"]: s for s in subnets if s.get("DefaultForAz")}
    return [by_zone[zone] for zone in sorted(by_zone)]


def _group_held_by_ecs_hook() -> str:
    """What LaunchlabEcsEc2 leaves when its capacity provider is gone before its group: a
    tagged group with a running instance and ECS's draining hook on termination."""
    ec2 = boto3.client("ec2")
    image = an_image()
    template = ec2.create_launch_template(
        LaunchTemplateName="LaunchlabEcsEc2-Template",
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.small"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling = boto3.client("autoscaling")
    name = "LaunchlabEcsEc2-Capacity-ABC"
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        MinSize=0, MaxSize=2, DesiredCapacity=1,
        VPCZoneIdentifier=_default_subnets()[0]["SubnetId"],
        Tags=[{**tag, "PropagateAtLaunch": True} for tag in TAGS],
    )  # fmt: skip
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName=name,
        LifecycleHookName=ECS_HOOK,
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout=3600,
        DefaultResult="CONTINUE",
    )
    return name


def _running_project_instances() -> list[str]:
    reservations = boto3.client("ec2").describe_instances(
        Filters=[
            {"Name": f"tag:{names.TAG_PROJECT}", "Values": [names.PROJECT]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )["Reservations"]
    return [i["InstanceId"] for r in reservations for i in r["Instances"]]


# ---- a group left behind -------------------------------------------------------------


def test_the_scan_lists_a_group_left_behind(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = _group_held_by_ecs_hook()
    assert main(["down", "--scan-only"]) == 1
    rows = {row[0]: row for row in _rows(capsys.readouterr().out)}
    group = rows["autoscaling:autoScalingGroup"]
    assert group[1].startswith(
        f"arn:aws:autoscaling:us-east-1:{current_account()}:autoScalingGroup:"
    )
    assert group[1].endswith(f"/{name}")
    assert group[4] == f"{name}: 1 instance(s)"
    assert HELD not in group[4]  # moto never holds one (see the module's docstring)
    assert float(rows["ec2:instance"][3]) >= 0.0208  # the instance is priced on its own row


# ---- the tagging API's lag, INACTIVE task definitions, cost per leftover -----------------


def test_a_tagging_api_hit_no_direct_look_confirms_is_a_note_not_a_leftover(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # moto's tagging API never lags a deletion. What down sees when AWS's does (a tagged ARN
    # of a kind it looks at directly, which no direct look returns) is made here with a tagged
    # log group under a name no direct look covers.
    logs = boto3.client("logs")
    logs.create_log_group(
        logGroupName="/gone/LaunchlabFargate-AppLogs", tags={names.TAG_PROJECT: names.PROJECT}
    )
    arn = f"arn:aws:logs:us-east-1:{current_account()}:log-group:/gone/LaunchlabFargate-AppLogs"
    assert main(["down", "--scan-only"]) == 0
    out = capsys.readouterr().out
    assert (
        "note: the tagging API still lists 1 resource(s) that no direct look finds (it can lag "
        f"a deletion by hours): {arn}"
    ) in out.replace("\n", "")
    assert _rows(out) == []
    assert "nothing of launchlab is left in us-east-1" in out


def test_inactive_task_definitions_are_not_leftovers_active_ones_are(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs = boto3.client("ecs")
    tags = [{"key": t["Key"], "value": t["Value"]} for t in TAGS]
    definition = {"containerDefinitions": [{"name": "app", "image": "x", "memory": 512}]}
    gone = ecs.register_task_definition(family="LaunchlabFargateTask", tags=tags, **definition)
    kept = ecs.register_task_definition(family="LaunchlabEcsEc2Task", tags=tags, **definition)
    # What deleting a stack does to its task definitions: deregistered, tags kept.
    ecs.deregister_task_definition(taskDefinition=gone["taskDefinition"]["taskDefinitionArn"])
    assert main(["down", "--scan-only"]) == 1
    rows = _rows(capsys.readouterr().out)
    assert [(row[0], row[1], row[3]) for row in rows] == [
        ("ecs:task-definition", kept["taskDefinition"]["taskDefinitionArn"], "0.0000")
    ]


def test_each_leftover_is_priced_alb_with_its_public_ipv4_and_an_elastic_ip(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    subnets = _default_subnets()[:2]
    elbv2 = boto3.client("elbv2")
    alb = elbv2.create_load_balancer(
        Name="Launchl-Alb-1", Subnets=[s["SubnetId"] for s in subnets],
        Scheme="internet-facing", Type="application", Tags=TAGS,
    )["LoadBalancers"][0]  # fmt: skip
    ec2 = boto3.client("ec2")
    address = ec2.allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": TAGS}]
    )
    assert main(["down", "--scan-only"]) == 1
    captured = capsys.readouterr()
    rows = {row[0]: row for row in _rows(captured.out)}
    # us-east-1 list prices (launchlab/prices/aws.yaml): ALB $0.0225/h, public IPv4 $0.005/h
    # each, one per availability zone the ALB is in.
    balancer = rows["elasticloadbalancing:loadbalancer"]
    assert (balancer[1], balancer[3]) == (alb["LoadBalancerArn"], "0.0325")
    assert balancer[4] == "Launchl-Alb-1 (internet-facing)"
    elastic = rows["ec2:elastic-ip"]
    assert (elastic[1], elastic[3]) == (address["AllocationId"], "0.0050")
    assert elastic[4] == f"{address['PublicIp']}, not associated"
    assert captured.err.startswith(
        "launchlab: 2 resource(s) of launchlab remain in us-east-1, costing about $0.0375/hour"
    )


def test_each_public_ipv4_is_billed_once_whoever_holds_it(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An instance's public IP is on its ENI too, and an Elastic IP on whatever it is
    associated with: each address bills once (its Elastic IP's row, else the instance's)."""
    ec2 = boto3.client("ec2")
    subnet = _default_subnets()[0]["SubnetId"]  # a default subnet: public IPs at launch

    def launch() -> dict[str, Any]:
        instance = ec2.run_instances(
            ImageId=an_image(), MinCount=1, MaxCount=1, InstanceType="t3.small",
            SubnetId=subnet, TagSpecifications=[{"ResourceType": "instance", "Tags": TAGS}],
        )["Instances"][0]  # fmt: skip
        # As a launch template's network-interface tags do (moto 5.2.5 drops them at launch).
        ec2.create_tags(
            Resources=[instance["NetworkInterfaces"][0]["NetworkInterfaceId"]], Tags=TAGS
        )
        return dict(instance)

    plain, with_eip = launch(), launch()
    address = ec2.allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": TAGS}]
    )
    ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=with_eip["InstanceId"])
    described = {
        i["InstanceId"]: i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
    }
    plain_ip = described[plain["InstanceId"]]["PublicIpAddress"]
    assert described[with_eip["InstanceId"]]["PublicIpAddress"] == address["PublicIp"]
    assert main(["down", "--scan-only"]) == 1
    captured = capsys.readouterr()
    rows = {row[1]: row for row in _rows(captured.out)}
    eni = {
        i["InstanceId"]: i["NetworkInterfaces"][0]["NetworkInterfaceId"] for i in (plain, with_eip)
    }
    # us-east-1: t3.small $0.0208/h, public IPv4 $0.005/h.
    assert (rows[plain["InstanceId"]][3], rows[plain["InstanceId"]][4]) == (
        "0.0258",
        "t3.small, running",
    )
    assert (rows[eni[plain["InstanceId"]]][3], rows[eni[plain["InstanceId"]]][4]) == (
        "0.0000",
        f"in-use, public IP {plain_ip} (billed on {plain['InstanceId']})",
    )
    assert (rows[with_eip["InstanceId"]][3], rows[with_eip["InstanceId"]][4]) == (
        "0.0208",
        f"t3.small, running (billed on {address['AllocationId']})",
    )
    assert rows[eni[with_eip["InstanceId"]]][3] == "0.0000"
    assert (rows[address["AllocationId"]][3], rows[address["AllocationId"]][4]) == (
        "0.0050",
        f"{address['PublicIp']}, associated",
    )
    # Two instances, two addresses: 2 x $0.0208 + 2 x $0.005.
    assert captured.err.startswith(
        "launchlab: 5 resource(s) of launchlab remain in us-east-1, costing about $0.0516/hour"
    )


def test_a_nat_gateway_leaves_its_address_to_its_listed_elastic_ip(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The project's NAT gateway on the project's (tagged) Elastic IP, as a VPC with
    natGateways=1 deploys it: the address bills once, on the Elastic IP. (moto 5.2.5 ignores
    DescribeNatGateways' tag filter: test_aws_down_scan.py checks that one with a Stubber.)"""
    ec2 = boto3.client("ec2")
    subnet = _default_subnets()[0]["SubnetId"]
    address = ec2.allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": TAGS}]
    )
    gateway = ec2.create_nat_gateway(
        SubnetId=subnet, AllocationId=address["AllocationId"],
        TagSpecifications=[{"ResourceType": "natgateway", "Tags": TAGS}],
    )["NatGateway"]["NatGatewayId"]  # fmt: skip
    assert main(["down", "--scan-only"]) == 1
    captured = capsys.readouterr()
    # us-east-1: NAT gateway $0.045/h, public IPv4 $0.005/h.
    assert [(row[0], row[1], row[3], row[4]) for row in _rows(captured.out)] == [
        ("ec2:elastic-ip", address["AllocationId"], "0.0050",
         f"{address['PublicIp']}, associated"),
        ("ec2:natgateway", gateway, "0.0450",
         f"available, public IP {address['PublicIp']} (billed on {address['AllocationId']})"),
    ]  # fmt: skip
    assert captured.err.startswith(
        "launchlab: 2 resource(s) of launchlab remain in us-east-1, costing about $0.0500/hour"
    )


def test_a_deleted_nat_gateway_is_not_a_leftover(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ec2 = boto3.client("ec2")
    gateway = ec2.create_nat_gateway(
        SubnetId=_default_subnets()[0]["SubnetId"],
        AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"],
        TagSpecifications=[{"ResourceType": "natgateway", "Tags": TAGS}],
    )["NatGateway"]["NatGatewayId"]
    ec2.delete_nat_gateway(NatGatewayId=gateway)
    [described] = ec2.describe_nat_gateways(NatGatewayIds=[gateway])["NatGateways"]
    assert described["State"] == "deleted"  # still listed, as EC2 does for a while
    assert main(["down", "--scan-only"]) == 0
    assert capsys.readouterr().out.endswith("nothing of launchlab is left in us-east-1\n")


# ---- the ECS service-linked role before the first deploy ---------------------------------


def test_up_creates_the_ecs_service_linked_role_before_deploying_and_only_once(
    aws: MotoServer,
    synth: Synthesized,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outdir = tmp_path / "cdk.out"
    shutil.copytree(synth.outdir, outdir)  # what the stand-in cdk's synth leaves
    cdk, record = write_fake_cdk(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_CDK", str(cdk))
    # Synth, then a deploy that fails: the role must exist anyway. Then synth and deploy again.
    monkeypatch.setenv("FAKE_CDK_EXIT", "0,1,0,0")
    iam = boto3.client("iam")

    def linked_roles() -> list[dict[str, Any]]:
        return list(iam.list_roles(PathPrefix=f"/aws-service-role/{ECS_ROLE.service}/")["Roles"])

    assert linked_roles() == []  # a brand-new account
    assert main(["up", "--cdk-out", str(outdir)]) == 2
    [role] = linked_roles()
    # AWS names it AWSServiceRoleForECS; moto 5.2.5 keeps the service's case: ...Forecs.
    assert role["RoleName"].lower() == ECS_ROLE.name.lower()
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": [ECS_ROLE.service]}
    first = capsys.readouterr()
    assert (
        f"created the service-linked role {role['RoleName']}, which ECS on EC2, ECS on Fargate "
        "need(s)\n"
    ) in first.out
    assert [call[0] for call in calls(record)] == ["synth", "deploy"]
    # Again, with the role there (IAM answers "has been taken", moto EntityAlreadyExists).
    assert main(["up", "--cdk-out", str(outdir)]) == 2  # no outputs file
    second = capsys.readouterr()
    assert "service-linked role" not in second.out + second.err
    assert len(linked_roles()) == 1
    assert second.err.startswith("launchlab: cdk deploy wrote no readable outputs")
    assert [call[0] for call in calls(record)] == ["synth", "deploy"] * 2
