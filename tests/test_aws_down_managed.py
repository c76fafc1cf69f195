"""`launchlab down --scan-only` against moto: what ECS Express Mode and the two managed-instance
capacity providers create outside CloudFormation, left behind after a destroy.

moto 5.2.5 has no ECS Express Mode, no ECS or Lambda capacity providers and no EC2 "managed
resources" (the Operator field, IncludeManagedResources is accepted and ignored), so each test
creates what AWS would leave, with the names and tags AWS gives it, through the plain APIs."""

from __future__ import annotations

import boto3
import pytest

from launchlab.aws.costs import hourly_prices
from launchlab.aws.down import ECS_MANAGED_TAG
from launchlab.cli import main
from stacks import names
from tests import moto_server as fixtures
from tests.moto_server import MotoServer, an_image

aws = fixtures.aws
moto_server = fixtures.moto_server

PROJECT = [{"Key": names.TAG_PROJECT, "Value": names.PROJECT}]
ECS_MANAGED = [{"Key": ECS_MANAGED_TAG, "Value": "true"}]
REGION = "us-east-1"


def _vpc(tags: list[dict[str, str]]) -> tuple[str, str]:
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(
        CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
    )["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
    return vpc, subnet["Subnet"]["SubnetId"]


def _what_express_and_the_providers_leave(vpc: str, subnet: str, suffix: str) -> None:
    """Express's ALB, target group and security group, tagged by ECS and not by us; an ECS
    Managed Instances instance (ECS's tag only) and its volume; an ENI nobody tagged."""
    elbv2 = boto3.client("elbv2")
    elbv2.create_load_balancer(
        Name=f"ecs-express-gateway-alb-{suffix}",
        Subnets=[subnet],
        Scheme="internet-facing",
        Tags=ECS_MANAGED,
    )
    elbv2.create_target_group(
        Name=f"ecs-gateway-tg-{suffix}", Protocol="HTTP", Port=8080, VpcId=vpc,
        TargetType="ip", Tags=ECS_MANAGED,
    )  # fmt: skip
    ec2 = boto3.client("ec2")
    ec2.create_security_group(
        GroupName=f"ecs-express-gateway-alb-{suffix}", Description="Express ALB", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": ECS_MANAGED}],
    )  # fmt: skip
    ec2.run_instances(
        ImageId=an_image("arm64"), MinCount=1, MaxCount=1, InstanceType="m7g.large",
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": ECS_MANAGED}],
    )  # fmt: skip
    ec2.create_network_interface(SubnetId=subnet, Description="left by a capacity provider")


def _rows(out: str) -> list[list[str]]:
    rows = [line for line in out.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]


def test_down_finds_what_express_and_managed_instances_leave_in_the_project_vpc(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    vpc, subnet = _vpc(PROJECT)
    _what_express_and_the_providers_leave(vpc, subnet, "a1b2c3d4")
    # The same kinds in someone else's VPC are not ours to report.
    other_vpc, other_subnet = _vpc([{"Key": "team", "Value": "other"}])
    _what_express_and_the_providers_leave(other_vpc, other_subnet, "ffff0000")

    assert main(["down", "--scan-only"]) == 1
    captured = capsys.readouterr()
    cells = _rows(captured.out)
    assert "ffff0000" not in captured.out
    by_kind: dict[str, list[list[str]]] = {}
    for row in cells:
        by_kind.setdefault(row[0], []).append(row)
    assert sorted(by_kind) == [
        "ec2:instance",
        "ec2:network-interface",
        "ec2:security-group",
        "ec2:vpc",
        "elasticloadbalancing:loadbalancer",
        "elasticloadbalancing:targetgroup",
    ]
    [alb] = by_kind["elasticloadbalancing:loadbalancer"]
    assert alb[2] == "in the project VPC"
    assert (
        alb[4]
        == "ecs-express-gateway-alb-a1b2c3d4 (internet-facing) (AmazonECSManaged: created by ECS)"
    )
    prices = hourly_prices(REGION)
    one_az = prices.per_hour("elb.alb_hour") + prices.per_hour("vpc.public_ipv4_hour")
    assert alb[3] == f"{one_az:.4f}" == "0.0275"
    [group] = by_kind["elasticloadbalancing:targetgroup"]
    assert group[4] == "ecs-gateway-tg-a1b2c3d4 (AmazonECSManaged: created by ECS)"
    [sg] = by_kind["ec2:security-group"]
    assert sg[4].startswith("ecs-express-gateway-alb-a1b2c3d4")
    [instance] = by_kind["ec2:instance"]
    assert instance[4].startswith("m7g.large, running")
    assert instance[3] == f"{prices.instance_per_hour('m7g.large'):.4f}"
    # The instance's own ENI and the one nobody tagged.
    assert len(by_kind["ec2:network-interface"]) == 2
    assert all(row[2] == "in the project VPC" for row in by_kind["ec2:network-interface"])


def test_down_finds_express_alarms_and_an_unused_certificate_outside_the_vpc(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudwatch = boto3.client("cloudwatch")
    for cluster in ("LaunchlabExpress-ClusterEB0386A7-Xyz", "someone-elses-cluster"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"{cluster}-rollback", MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
            Threshold=1, ComparisonOperator="GreaterThanThreshold", Tags=ECS_MANAGED,
            Dimensions=[{"Name": "ClusterName", "Value": cluster},
                        {"Name": "ServiceName", "Value": "svc"}],
        )  # fmt: skip
    acm = boto3.client("acm")
    left = acm.request_certificate(DomainName=f"ls-1a2b.ecs.{REGION}.on.aws", Tags=ECS_MANAGED)[
        "CertificateArn"
    ]
    acm.request_certificate(DomainName=f"mine.ecs.{REGION}.on.aws")  # not ECS's
    acm.request_certificate(DomainName="www.example.com", Tags=ECS_MANAGED)

    assert main(["down", "--scan-only"]) == 1
    cells = _rows(capsys.readouterr().out)
    assert sorted((row[0], row[2]) for row in cells) == [
        ("acm:certificate", "AmazonECSManaged tag, used by nothing"),
        ("cloudwatch:alarm", "cluster name + AmazonECSManaged tag"),
    ]
    certificate = next(row for row in cells if row[0] == "acm:certificate")
    assert certificate[1] == left
    alarm = next(row for row in cells if row[0] == "cloudwatch:alarm")
    assert alarm[4].startswith("LaunchlabExpress-ClusterEB0386A7-Xyz-rollback on ")
