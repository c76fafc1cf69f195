"""`launchlab down`'s scan, report and destroy, called directly against moto on 127.0.0.1: one
world with a leftover of each kind the scan looks for (and things it must not report), each
expected with its kind, identifier, finder, price and detail.

These are the quick tests of `make mutate` (tests/mutate.py): the world is built once per moto
server and only read, each other test has an account of its own (tests/moto_server.py), and
no test goes through the CLI. The CLI's own paths are tested in test_aws_down_paths.py.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber
from rich.console import Console

from launchlab.aws import down as down_module
from launchlab.aws import teardown
from launchlab.aws.costs import hourly_prices
from launchlab.aws.down import (
    HELD,
    TERMINATING,
    Leftover,
    down,
    release_held_instances,
    report_leftovers,
    scan,
)
from launchlab.aws.sandbox import Sandbox
from launchlab.errors import LaunchlabError
from stacks import launch_types, names
from tests import moto_server as fixtures
from tests.moto_server import (
    REGION,
    Account,
    Claim,
    PartlyStubbed,
    calls,
    new_account_id,
    use_account,
    write_fake_cdk,
)

moto_claim = fixtures.moto_claim
moto_account = fixtures.moto_account

PROJECT = [{"Key": names.TAG_PROJECT, "Value": names.PROJECT}]
ECS_MANAGED = [{"Key": "AmazonECSManaged", "Value": "true"}]
IMAGE = "ami-12c6146b"  # one of moto's
MIB = 1024**2
PRICES = hourly_prices(REGION)
ALB_HOUR = PRICES.per_hour("elb.alb_hour")
IPV4_HOUR = PRICES.per_hour("vpc.public_ipv4_hour")


def _tags(kind: str, tags: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": tags}]


def _build_world(account: Account) -> dict[str, Any]:
    """A leftover of each kind, and next to them the same kinds that are not the project's;
    returns the identifiers AWS (moto) gave them."""
    ids: dict[str, Any] = {"account": account.id}
    ec2 = account.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags("vpc", PROJECT))
    ids["vpc"] = vpc = vpc["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"{REGION}{z}")
        for n, z in ((1, "a"), (2, "b"))
    ]
    subnet = subnets[0]["Subnet"]["SubnetId"]
    default_subnets = sorted(
        (s for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz")),
        key=lambda s: s["AvailabilityZone"],
    )
    elbv2 = account.client("elbv2")
    elbv2.create_load_balancer(  # not the project's, and listed before its ALBs
        Name="Aaa-Other", Subnets=[s["SubnetId"] for s in default_subnets[:2]],
        Scheme="internal", Type="application", Tags=[{"Key": "team", "Value": "other"}],
    )  # fmt: skip
    ids["alb"] = elbv2.create_load_balancer(
        Name="Launchl-Alb-1", Subnets=[s["Subnet"]["SubnetId"] for s in subnets],
        Scheme="internet-facing", Type="application", Tags=PROJECT,
    )["LoadBalancers"][0]["LoadBalancerArn"]  # fmt: skip
    # Tagged, but in the default VPC: found by its tag alone; internal, so no public IPv4.
    ids["internal_alb"] = elbv2.create_load_balancer(
        Name="Launchl-Internal", Subnets=[s["SubnetId"] for s in default_subnets[:2]],
        Scheme="internal", Type="application", Tags=PROJECT,
    )["LoadBalancers"][0]["LoadBalancerArn"]  # fmt: skip
    # Not the project's: another project's value, and our value under another key.
    for name, tags in (
        ("Other-Value", [{"Key": names.TAG_PROJECT, "Value": "other"}]),
        ("Other-Key", [{"Key": "project", "Value": names.PROJECT}]),
    ):
        elbv2.create_load_balancer(
            Name=name, Subnets=[s["SubnetId"] for s in default_subnets[:2]],
            Scheme="internal", Type="application", Tags=tags,
        )  # fmt: skip
    ids["express_alb"] = elbv2.create_load_balancer(
        Name="ecs-express-gateway-alb-1", Subnets=[s["Subnet"]["SubnetId"] for s in subnets],
        Scheme="internet-facing", Type="application", Tags=ECS_MANAGED,
    )["LoadBalancers"][0]["LoadBalancerArn"]  # fmt: skip
    ids["target_group"] = elbv2.create_target_group(
        Name="ecs-gateway-tg-1", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
        Tags=ECS_MANAGED,
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    ids["target_group_plain"] = elbv2.create_target_group(
        Name="plain-tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    ids["security_group"] = ec2.create_security_group(
        GroupName="LaunchlabFargate-Sg", Description="tasks", VpcId=vpc,
        TagSpecifications=_tags("security-group", PROJECT),
    )["GroupId"]  # fmt: skip
    ec2.create_security_group(GroupName="someone-elses", Description="default VPC")
    ids["express_group"] = ec2.create_security_group(
        GroupName="ecs-express-gateway-alb-1", Description="Express ALB", VpcId=vpc,
        TagSpecifications=_tags("security-group", ECS_MANAGED),
    )["GroupId"]  # fmt: skip

    def run(kind: str, subnet_id: str, tags: list[dict[str, str]]) -> str:
        instance = ec2.run_instances(
            ImageId=IMAGE, MinCount=1, MaxCount=1, InstanceType=kind, SubnetId=subnet_id,
            TagSpecifications=_tags("instance", tags),
        )["Instances"][0]  # fmt: skip
        return str(instance["InstanceId"])

    ids["instance"] = run("t3.small", subnet, PROJECT)
    ids["unpriced_instance"] = run("c5n.18xlarge", subnet, ECS_MANAGED)
    # In a default subnet, so with a public IPv4; stopped, so only the address bills.
    ids["stopped_instance"] = run("t3.small", default_subnets[0]["SubnetId"], PROJECT)
    ec2.stop_instances(InstanceIds=[ids["stopped_instance"]])
    ids["terminated_instance"] = terminated = run("t3.small", subnet, PROJECT)
    ec2.terminate_instances(InstanceIds=[terminated])
    ids["eni"] = ec2.create_network_interface(SubnetId=subnet, Description="left by ECS")[
        "NetworkInterface"
    ]["NetworkInterfaceId"]
    ids["public_eni"] = ec2.create_network_interface(
        SubnetId=default_subnets[0]["SubnetId"], Description="tagged, with an address",
        TagSpecifications=_tags("network-interface", PROJECT),
    )["NetworkInterface"]["NetworkInterfaceId"]  # fmt: skip
    attached = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", PROJECT))
    ec2.associate_address(
        AllocationId=attached["AllocationId"], NetworkInterfaceId=ids["public_eni"]
    )
    ids["attached_eip"] = (attached["AllocationId"], attached["PublicIp"])
    loose = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", PROJECT))
    ids["loose_eip"] = (loose["AllocationId"], loose["PublicIp"])
    for key, size, kind in (("gp3_volume", 30, "gp3"), ("io1_volume", 8, "io1")):
        ids[key] = ec2.create_volume(
            AvailabilityZone=f"{REGION}a", Size=size, VolumeType=kind, Iops=3000,
            TagSpecifications=_tags("volume", PROJECT),
        )["VolumeId"]  # fmt: skip
    ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=100, VolumeType="gp3")  # not ours

    ecr = account.client("ecr")
    ecr.create_repository(repositoryName="a-team/app")  # listed before ours
    ids["repository"] = ecr.create_repository(repositoryName="launchlab/node-app")["repository"][
        "repositoryArn"
    ]
    ecr.create_repository(repositoryName="other/app")
    # moto 5.2.5 gives an image the size its manifest gives its config: 3.5501 MiB here.
    layers = [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
               "size": 1000, "digest": "sha256:" + "b" * 64}]  # fmt: skip
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 3_722_544, "digest": "sha256:" + "a" * 64},
        "layers": layers,
    }  # fmt: skip
    ecr.put_image(
        repositoryName="launchlab/node-app", imageManifest=json.dumps(manifest), imageTag="v1"
    )

    logs = account.client("logs")
    for name in (
        "/aws/lambda/LaunchlabLambda-Function",
        "/aws/ecs/containerinsights/LaunchlabEcsEc2-Cluster/performance",
        "LaunchlabFargate-AppLogs",
        "Other-logs",
    ):
        logs.create_log_group(logGroupName=name)
    # Tagged too: the tagging API's ARN has no ":*", the direct look's has; one leftover.
    logs.create_log_group(
        logGroupName="LaunchlabLambda-Tagged", tags={names.TAG_PROJECT: names.PROJECT}
    )
    # 1.75 MiB stored (moto counts the messages' bytes).
    logs.create_log_stream(logGroupName="LaunchlabFargate-AppLogs", logStreamName="app")
    logs.put_log_events(
        logGroupName="LaunchlabFargate-AppLogs", logStreamName="app",
        logEvents=[{"timestamp": int(time.time() * 1000) + n, "message": "x" * (MIB // 4)}
                   for n in range(7)],
    )  # fmt: skip
    # The tagging API's lag after a deletion, as down sees it: a tagged log group that no
    # direct look covers.
    logs.create_log_group(
        logGroupName="/gone/LaunchlabFargate-AppLogs", tags={names.TAG_PROJECT: names.PROJECT}
    )
    gone_group = "log-group:/gone/LaunchlabFargate-AppLogs"
    # What ECS leaves for Express or Managed Instances, named after the project's cluster; the
    # same tag on another team's group is not ours.
    for name in ("/aws/ecs/LaunchlabExpress-Cluster-Xyz/express", "/aws/ecs/other-cluster/x"):
        logs.create_log_group(logGroupName=name, tags={"AmazonECSManaged": "true"})
    ids["gone_log_group"] = f"arn:aws:logs:{REGION}:{account.id}:{gone_group}"

    # Its Elastic IP untagged (created outside the project): the gateway carries its charge.
    nat_address = ec2.allocate_address(Domain="vpc")
    ids["nat"] = ec2.create_nat_gateway(
        SubnetId=subnet, AllocationId=nat_address["AllocationId"],
        TagSpecifications=_tags("natgateway", PROJECT),
    )["NatGateway"]["NatGatewayId"]  # fmt: skip
    ids["nat_ip"] = nat_address["PublicIp"]
    # The egress the network may have instead: a NAT instance (source/destination check off),
    # an interface endpoint in two AZs (tagged, as the stack tags it) and a gateway endpoint.
    ids["nat_instance"] = run("t3.micro", subnet, PROJECT)
    ec2.modify_instance_attribute(InstanceId=ids["nat_instance"], SourceDestCheck={"Value": False})
    ids["interface_endpoint"] = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.ecr.dkr", VpcEndpointType="Interface",
        SubnetIds=[s["Subnet"]["SubnetId"] for s in subnets],
        TagSpecifications=_tags("vpc-endpoint", PROJECT),
    )["VpcEndpoint"]["VpcEndpointId"]  # fmt: skip
    ids["gateway_endpoint"] = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway"
    )["VpcEndpoint"]["VpcEndpointId"]

    autoscaling = account.client("autoscaling")
    template = ec2.create_launch_template(
        LaunchTemplateName="LaunchlabEcsEc2-Template",
        LaunchTemplateData={"ImageId": IMAGE, "InstanceType": "t3.micro"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="LaunchlabEcsEc2-Capacity",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        MinSize=0, MaxSize=2, DesiredCapacity=1, VPCZoneIdentifier=default_subnets[1]["SubnetId"],
        Tags=[{**tag, "PropagateAtLaunch": True} for tag in PROJECT],
    )  # fmt: skip
    group = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    ids["group"] = group["AutoScalingGroupARN"]
    ids["group_instance"] = group["Instances"][0]["InstanceId"]

    cloudformation = account.client("cloudformation")
    handle = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
    body = json.dumps({"Resources": {"Handle": handle}})
    cloudformation.create_stack(StackName=names.NETWORK_STACK, TemplateBody=body)
    cloudformation.create_stack(StackName=names.LAMBDA_STACK, TemplateBody=body)
    cloudformation.create_stack(StackName="SomeoneElses", TemplateBody=body)
    cloudformation.create_stack(StackName=names.FARGATE_STACK, TemplateBody=body)
    cloudformation.delete_stack(StackName=names.FARGATE_STACK)

    ecs = account.client("ecs")
    task_tags = [{"key": names.TAG_PROJECT, "value": names.PROJECT}]
    definition = {"containerDefinitions": [{"name": "app", "image": "x", "memory": 512}]}
    gone = ecs.register_task_definition(family="LaunchlabFargateTask", tags=task_tags, **definition)
    ids["inactive_task_definition"] = gone["taskDefinition"]["taskDefinitionArn"]
    ecs.deregister_task_definition(taskDefinition=ids["inactive_task_definition"])
    ids["task_definition"] = ecs.register_task_definition(
        family="LaunchlabEcsEc2Task", tags=task_tags, **definition
    )["taskDefinition"]["taskDefinitionArn"]

    cloudwatch = account.client("cloudwatch")
    for cluster in ("LaunchlabExpress-Cluster-Xyz", "someone-elses-cluster"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"{cluster}-rollback", MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
            Threshold=1, ComparisonOperator="GreaterThanThreshold",
            Dimensions=[{"Name": "ServiceName", "Value": "LaunchlabExpress-svc"},
                        {"Name": "ClusterName", "Value": cluster}],
        )  # fmt: skip
    alarm = cloudwatch.describe_alarms(AlarmNamePrefix="LaunchlabExpress")["MetricAlarms"][0]
    ids["alarm"] = alarm["AlarmArn"]
    acm = account.client("acm")
    acm.request_certificate(DomainName="api.example.com")  # not Express's, listed first
    ids["certificate"] = acm.request_certificate(
        DomainName=f"ls-1a2b.ecs.{REGION}.on.aws", Tags=ECS_MANAGED
    )["CertificateArn"]
    acm.request_certificate(DomainName=f"mine.ecs.{REGION}.on.aws")  # not ECS's
    acm.request_certificate(DomainName="www.example.com", Tags=ECS_MANAGED)  # not Express's
    # What the instances and the NAT gateway attached in the project VPC.
    in_vpc = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    ids["vpc_enis"] = {
        eni["NetworkInterfaceId"]: [eni["Status"], eni.get("Association", {}).get("PublicIp")]
        for eni in in_vpc["NetworkInterfaces"]
    }
    return ids


@dataclass(frozen=True)
class World:
    account: Account
    ids: dict[str, Any]


@pytest.fixture(scope="session")
def world(moto_claim: Claim) -> World:
    """The world, built once per moto server (make mutate keeps its servers for the whole run)
    in an account of its own; tests only read it."""
    if "down" not in moto_claim.worlds:
        account = use_account(new_account_id(), moto_claim.url)
        moto_claim.worlds["down"] = _build_world(account)
    ids = moto_claim.worlds["down"]
    return World(Account(ids["account"], moto_claim.url), ids)


@pytest.fixture
def in_world(world: World, moto_claim: Claim) -> World:
    use_account(world.account.id, world.account.url)
    # Every moto server in this process shares moto's one state, so the `aws` fixture's reset
    # (tests/moto_server.py) wipes a world built here by an earlier test: build it again.
    vpcs = world.account.client("ec2").describe_vpcs()["Vpcs"]
    if world.ids["vpc"] not in {vpc["VpcId"] for vpc in vpcs}:
        rebuilt = _build_world(world.account)
        moto_claim.worlds["down"] = rebuilt
        world.ids.clear()
        world.ids.update(rebuilt)
    return world


def _expected_leftovers(ids: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(kind, identifier, found by, $/hour to 10 places, detail) of each leftover in the world,
    by hand from us-east-1's list prices (launchlab/prices/aws.yaml): ALB $0.0225/h, public
    IPv4 $0.005/h, NAT gateway $0.045/h, t3.small $0.0208/h, t3.micro $0.0104/h, EBS gp3
    $0.08 and ECR $0.10 per GB-month, CloudWatch Logs storage $0.03 per GB-month, 730 h a
    month."""
    arn = f"arn:aws:{{}}:{REGION}:{ids['account']}:{{}}"
    both = "tagging API + tag filter"
    here = "in the project VPC"
    free = "0.0000000000"
    attached, loose = ids["attached_eip"], ids["loose_eip"]
    # Each public IPv4 billed once: the NAT gateway's ENI holds the gateway's address.
    assert [ip for _, ip in ids["vpc_enis"].values() if ip] == [ids["nat_ip"]]
    enis = [
        ("ec2:network-interface", eni, here, free,
         f"{status}, public IP {ip} (billed on {ids['nat']})" if ip else status)
        for eni, (status, ip) in ids["vpc_enis"].items()
    ]  # fmt: skip
    found = [
        ("acm:certificate", ids["certificate"], "AmazonECSManaged tag, used by nothing", free,
         f"ls-1a2b.ecs.{REGION}.on.aws (public certificates are free)"),
        ("autoscaling:autoScalingGroup", ids["group"], "tag filter", free,
         "LaunchlabEcsEc2-Capacity: 1 instance(s)"),
        ("cloudformation:stack", names.LAMBDA_STACK, "name", free, "CREATE_COMPLETE"),
        ("cloudformation:stack", names.NETWORK_STACK, "name", free, "CREATE_COMPLETE"),
        ("cloudwatch:alarm", ids["alarm"], "cluster name", free,
         "LaunchlabExpress-Cluster-Xyz-rollback on LaunchlabExpress-Cluster-Xyz "
         "(no alarm price in the table)"),
        ("ec2:elastic-ip", attached[0], "tag filter", "0.0050000000", f"{attached[1]}, associated"),
        ("ec2:elastic-ip", loose[0], "tag filter", "0.0050000000", f"{loose[1]}, not associated"),
        ("ec2:instance", ids["instance"], f"tagging API + tag filter + {here}", "0.0208000000",
         "t3.small, running"),
        ("ec2:instance", ids["stopped_instance"], both, free, "t3.small, stopped"),
        # The group's, in a default subnet: t3.micro and its public IPv4.
        ("ec2:instance", ids["group_instance"], both, "0.0154000000", "t3.micro, running"),
        ("ec2:instance", ids["unpriced_instance"], here, free,
         "c5n.18xlarge, running (no price for this type)"),
        # $0.045 and its public IPv4.
        ("ec2:natgateway", ids["nat"], both, "0.0500000000",
         f"available, public IP {ids['nat_ip']}"),
        *enis,
        # Its address is the Elastic IP's, billed there.
        ("ec2:network-interface", ids["public_eni"], both, free,
         f"available, public IP {attached[1]} (billed on {attached[0]})"),
        ("ec2:security-group", ids["security_group"], f"tagging API + {here}", free,
         "LaunchlabFargate-Sg"),
        ("ec2:security-group", ids["express_group"], here, free,
         "ecs-express-gateway-alb-1 (AmazonECSManaged: created by ECS)"),
        ("ec2:volume", ids["io1_volume"], both, "0.0008767123",
         "8 GiB io1, available (priced as gp3: no io1 price)"),
        ("ec2:volume", ids["gp3_volume"], both, "0.0032876712", "30 GiB gp3, available"),
        ("ec2:vpc", ids["vpc"], "tagging API + tag filter", free, "the project's network"),
        ("ec2:instance", ids["nat_instance"], f"tagging API + tag filter + {here}",
         "0.0104000000", "t3.micro, running, NAT instance"),
        # $0.01 an hour in each of its two AZs.
        ("ec2:vpc-endpoint", ids["interface_endpoint"], f"tag filter + {here}", "0.0200000000",
         f"com.amazonaws.{REGION}.ecr.dkr: interface in 2 AZ(s), available"),
        ("ec2:vpc-endpoint", ids["gateway_endpoint"], here, free,
         f"com.amazonaws.{REGION}.s3: gateway, available"),
        # 3,722,544 B / 1024**3 x $0.10 / 730
        ("ecr:repository", ids["repository"], "name", "0.0000004749",
         "launchlab/node-app: 1 image(s), 3.6 MiB"),
        ("ecs:task-definition", ids["task_definition"], "tagging API", free, ""),
        ("elasticloadbalancing:loadbalancer", ids["alb"], f"{both} + {here}", "0.0325000000",
         "Launchl-Alb-1 (internet-facing)"),
        ("elasticloadbalancing:loadbalancer", ids["internal_alb"], both, "0.0225000000",
         "Launchl-Internal (internal)"),
        ("elasticloadbalancing:loadbalancer", ids["express_alb"], here, "0.0325000000",
         "ecs-express-gateway-alb-1 (internet-facing) (AmazonECSManaged: created by ECS)"),
        ("elasticloadbalancing:targetgroup", ids["target_group"], here, free,
         "ecs-gateway-tg-1 (AmazonECSManaged: created by ECS)"),
        ("elasticloadbalancing:targetgroup", ids["target_group_plain"], here, free, "plain-tg"),
    ]  # fmt: skip
    for name, by, stored, usd in (
        ("/aws/ecs/containerinsights/LaunchlabEcsEc2-Cluster/performance", "name", "0.0", free),
        ("/aws/lambda/LaunchlabLambda-Function", "name", "0.0", free),
        ("LaunchlabFargate-AppLogs", "name", "1.8", "0.0000000702"),
        ("LaunchlabLambda-Tagged", "tagging API + name", "0.0", free),
        ("/aws/ecs/LaunchlabExpress-Cluster-Xyz/express", "AmazonECSManaged tag", "0.0", free),
    ):
        group = arn.format("logs", f"log-group:{name}:*")
        found.append(("logs:log-group", group, by, usd, f"{name}: {stored} MiB stored"))
    return sorted(found, key=lambda row: (row[0], row[1]))


def test_scan_finds_each_leftover_with_its_price_and_who_found_it(in_world: World) -> None:
    ids = in_world.ids
    leftovers, unconfirmed = scan(in_world.account.sandbox())
    assert [
        (item.kind, item.identifier, item.found_by, f"{item.usd_per_hour:.10f}", item.detail)
        for item in leftovers
    ] == _expected_leftovers(ids)
    # What the tagging API still lists but no direct look finds (AWS's lags a deletion):
    # the terminated instance, a log group under a name no look covers.
    terminated = f"arn:aws:ec2:{REGION}:{ids['account']}:instance/{ids['terminated_instance']}"
    assert unconfirmed == [
        Leftover("ec2:instance", terminated, "tagging API", Decimal(0), certain=True),
        Leftover("logs:log-group", ids["gone_log_group"], "tagging API", Decimal(0), certain=True),
    ]
    # Not certainly the project's (the module's docstring in launchlab/aws/down.py): found by
    # a name, a cluster name or an untagged place in the VPC only. Everything else carries the
    # project's tag, or ECS's in the project's VPC.
    arn = f"arn:aws:logs:{REGION}:{ids['account']}:log-group:{{}}:*"
    assert sorted(item.identifier for item in leftovers if not item.certain) == sorted([
        ids["certificate"], names.LAMBDA_STACK, names.NETWORK_STACK, ids["alarm"],
        *ids["vpc_enis"],
        ids["gateway_endpoint"], ids["repository"], ids["target_group_plain"],
        *(arn.format(name) for name in (
            "/aws/ecs/containerinsights/LaunchlabEcsEc2-Cluster/performance",
            "/aws/lambda/LaunchlabLambda-Function", "LaunchlabFargate-AppLogs")),
    ])  # fmt: skip


# Each direct look of the scan alone, with what it finds itself (in the scan, an entry found by
# several looks says so in its "found by"): the finder's label, and the kinds it reports.
LOOKS = {
    "_stacks": ("name", {"cloudformation:stack"}),
    "_repositories": ("name", {"ecr:repository"}),
    "_log_groups": ("name", {"logs:log-group"}),
    "_volumes": ("tag filter", {"ec2:volume"}),
    "_network_interfaces": ("tag filter", {"ec2:network-interface"}),
    "_load_balancers": ("tag filter", {"elasticloadbalancing:loadbalancer"}),
    "_instances": ("tag filter", {"ec2:instance"}),
    "_groups": ("tag filter", {"autoscaling:autoScalingGroup"}),
    "_elastic_ips": ("tag filter", {"ec2:elastic-ip"}),
    "_nat_gateways": ("tag filter", {"ec2:natgateway"}),
    "_vpc_endpoints": ("tag filter", {"ec2:vpc-endpoint"}),
    "_vpcs": ("tag filter", {"ec2:vpc"}),
    "_ecs_managed_log_groups": ("AmazonECSManaged tag", {"logs:log-group"}),
    "_in_project_vpcs": (
        "in the project VPC",
        {
            "elasticloadbalancing:loadbalancer",
            "elasticloadbalancing:targetgroup",
            "ec2:security-group",
            "ec2:instance",
            "ec2:network-interface",
            "ec2:vpc-endpoint",
        },
    ),
    "_express_outside_the_vpc": (
        None,
        {"cloudwatch:alarm", "acm:certificate"},
    ),
}


@pytest.mark.parametrize("look", LOOKS)
def test_each_direct_look_finds_its_own_kinds(in_world: World, look: str) -> None:
    label, kinds = LOOKS[look]
    sandbox = in_world.account.sandbox()
    function = getattr(down_module, look)
    found = (
        function(sandbox)
        if look in ("_stacks", "_groups", "_express_outside_the_vpc", "_vpcs")
        else (function(sandbox, PRICES))
    )
    rows = sorted(
        (item.kind, item.identifier, item.found_by, f"{item.usd_per_hour:.10f}", item.detail)
        for item in found
    )
    assert rows == [
        (kind, identifier, label or by, *_before_billing_once(usd, detail))
        for kind, identifier, by, usd, detail in _expected_leftovers(in_world.ids)
        if kind in kinds and (label is None or label in by.split(" + "))
    ]


def _before_billing_once(usd: str, detail: str) -> tuple[str, str]:
    """A leftover's price and detail as one look sees it: with the public IPv4 that the scan
    then bills on another leftover holding the same address."""
    if " (billed on " not in detail:
        return usd, detail
    return f"{Decimal(usd) + IPV4_HOUR:.10f}", detail.split(" (billed on ")[0]


def test_the_tagging_api_look_prices_what_it_can_tell_from_the_arn(in_world: World) -> None:
    ids = in_world.ids
    arn = f"arn:aws:{{}}:{REGION}:{ids['account']}:{{}}"
    free = Decimal(0)
    expected = [
        *(("ec2:instance", arn.format("ec2", f"instance/{ids[key]}"), free)
          for key in ("instance", "stopped_instance", "terminated_instance", "group_instance",
                      "nat_instance")),
        # A NAT gateway bills its hours and its public IPv4: $0.045 + $0.005.
        ("ec2:natgateway", arn.format("ec2", f"natgateway/{ids['nat']}"), Decimal("0.050")),
        ("ec2:network-interface", arn.format("ec2", f"network-interface/{ids['public_eni']}"),
         free),
        ("ec2:security-group", arn.format("ec2", f"security-group/{ids['security_group']}"),
         free),
        *(("ec2:volume", arn.format("ec2", f"volume/{ids[key]}"), free)
          for key in ("gp3_volume", "io1_volume")),
        ("ec2:vpc", arn.format("ec2", f"vpc/{ids['vpc']}"), free),
        ("ecs:task-definition", ids["task_definition"], free),
        ("ecs:task-definition", ids["inactive_task_definition"], free),
        # An application load balancer's hour, $0.0225, whatever its addresses.
        ("elasticloadbalancing:loadbalancer", ids["alb"], Decimal("0.0225")),
        ("elasticloadbalancing:loadbalancer", ids["internal_alb"], Decimal("0.0225")),
        ("logs:log-group", ids["gone_log_group"], free),
        ("logs:log-group", arn.format("logs", "log-group:LaunchlabLambda-Tagged"), free),
    ]  # fmt: skip
    found = down_module._tagged(in_world.account.sandbox(), PRICES)
    assert sorted(
        (item.kind, item.identifier, item.usd_per_hour, item.found_by, item.detail)
        for item in found
    ) == sorted((kind, identifier, usd, "tagging API", "") for kind, identifier, usd in expected)


def _rows(out: str) -> list[list[str]]:
    lines = [line for line in out.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in lines]


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=400), out


def test_the_report_lists_each_leftover_and_what_they_cost_an_hour(
    in_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = in_world.ids
    console, out = _console()
    assert report_leftovers(in_world.account.sandbox(), console) == 1
    text = out.getvalue()
    terminated = f"arn:aws:ec2:{REGION}:{ids['account']}:instance/{ids['terminated_instance']}"
    assert text.startswith(
        "note: the tagging API still lists 2 resource(s) that no direct look finds (it can lag "
        f"a deletion by hours): {terminated}, {ids['gone_log_group']}\n"
    )
    assert f"still there in {REGION} after destroy" in text
    assert "┃ kind " in text and "┃ resource " in text and "┃ found by " in text
    assert "┃ $/hour " in text and "┃ detail " in text
    rows = _rows(text)
    expected = _expected_leftovers(ids)
    assert rows == [
        [kind, identifier, by, f"{Decimal(usd):.4f}", detail]
        for kind, identifier, by, usd, detail in expected
    ]
    assert text.endswith(f"prices: {PRICES.source}\n")
    # Public IPv4 8 x $0.005, each address once (2 Elastic IPs, 2 ALBs' 2, the t3.micro's, the
    # NAT gateway's; not again on the ENIs that hold an Elastic IP's and the gateway's); ALBs
    # 3 x $0.0225; NAT $0.045; t3.small $0.0208, t3.micro $0.0104; EBS, ECR and logs
    # $0.0041649286; the NAT instance (t3.micro) $0.0104 and the interface endpoint 2 x
    # $0.01: $0.2182649286.
    assert capsys.readouterr().err == (
        f"launchlab: {len(expected)} resource(s) of launchlab remain in {REGION}, costing about "
        "$0.2183/hour: `.venv/bin/launchlab down --delete-leftovers` deletes the 23 that are "
        "certainly launchlab's, the rest are yours to check (listed above), or run "
        "`.venv/bin/launchlab down` again once a stuck stack deletion is fixed\n"
    )
    # On an 80-column terminal long ARNs fold onto more lines instead of being cut short.
    narrow = Console(file=io.StringIO(), width=80)
    report_leftovers(in_world.account.sandbox(), narrow)
    folded = narrow.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in folded
    # Each resource whole, in order: the resource column's pieces, line after line.
    pieces = "".join(row[1] for row in _rows(folded))
    assert pieces == "".join(identifier for _, identifier, *_ in expected)


def test_an_account_without_leftovers_reports_nothing_left(moto_account: Account) -> None:
    console, out = _console()
    assert report_leftovers(moto_account.sandbox(), console) == 0
    assert out.getvalue() == f"nothing of launchlab is left in {REGION}\n"


def _fake_cdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exits: str) -> Path:
    cdk, record = write_fake_cdk(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_CDK", str(cdk))
    monkeypatch.setenv("FAKE_CDK_EXIT", exits)
    return record


def _group_with_an_instance(account: Account, name: str = "LaunchlabEcsEc2-Capacity") -> str:
    ec2 = account.client("ec2")
    template = ec2.create_launch_template(
        LaunchTemplateName=f"{name}-Template",
        LaunchTemplateData={"ImageId": IMAGE, "InstanceType": "t3.small"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    subnet = next(s for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz"))
    account.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
        MinSize=0, MaxSize=2, DesiredCapacity=1, VPCZoneIdentifier=subnet["SubnetId"],
        Tags=[{**tag, "PropagateAtLaunch": True} for tag in PROJECT],
    )  # fmt: skip
    return name


def test_down_with_no_stack_here_says_so_then_scans(
    moto_account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = _fake_cdk(tmp_path, monkeypatch, "0")
    console, out = _console()
    context = {"launchTypes": "all", "imageTag": "v1"}
    assert down(moto_account.sandbox(), context, console) == 0
    assert calls(record) == []  # the CDK CLI is not needed to delete stacks
    assert out.getvalue() == (
        "note: down finds the deployed stacks itself; -c is not needed and was not used "
        "(launchTypes=all, imageTag=v1)\n"
        f"deleting every launchlab stack in account {moto_account.id}, {REGION}\n"
        f"no launchlab stack in {REGION}\n"
        f"nothing of launchlab is left in {REGION}\n"
    )


def test_down_scan_only_deletes_nothing(moto_account: Account) -> None:
    _group_with_an_instance(moto_account)
    body = json.dumps(
        {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    )
    moto_account.client("cloudformation").create_stack(
        StackName=names.LAMBDA_STACK, TemplateBody=body
    )
    console, out = _console()
    assert down(moto_account.sandbox(), {}, console, scan_only=True) == 1
    assert [row[0] for row in _rows(out.getvalue())] == [
        "autoscaling:autoScalingGroup",
        "cloudformation:stack",
        "ec2:instance",
    ]
    assert "deleting" not in out.getvalue()


def test_delete_leftovers_deletes_what_is_certainly_ours_and_lists_the_rest(
    moto_account: Account,
) -> None:
    """Tagged by the project: the group (with its instance), a volume, a log group, deleted.
    Named like the project only: a log group and a repository, left for the user. Held by a
    stack still there: left for `down` to delete with its stack."""
    group = _group_with_an_instance(moto_account)
    ec2 = moto_account.client("ec2")
    volume = ec2.create_volume(
        AvailabilityZone=f"{REGION}a", Size=8, TagSpecifications=_tags("volume", PROJECT)
    )["VolumeId"]
    logs = moto_account.client("logs")
    logs.create_log_group(
        logGroupName="LaunchlabFargate-Tagged", tags={names.TAG_PROJECT: names.PROJECT}
    )
    logs.create_log_group(logGroupName="LaunchlabFargate-Named")
    repository = moto_account.client("ecr").create_repository(repositoryName="launchlab/python-app")
    template = {"Resources": {"Kept": {"Type": "AWS::Logs::LogGroup", "Properties": {
        "LogGroupName": "LaunchlabLambda-InAStack", "Tags": PROJECT}}}}  # fmt: skip
    moto_account.client("cloudformation").create_stack(
        StackName=names.LAMBDA_STACK, TemplateBody=json.dumps(template)
    )
    console, out = _console()
    assert down(moto_account.sandbox(), {}, console, scan_only=True, delete_leftovers=True) == 1
    text = out.getvalue()
    done = {row[1]: row[2] for row in _rows(text.split("still there in")[0])}
    arn = f"arn:aws:logs:{REGION}:{moto_account.id}:log-group:{{}}:*"
    assert done[volume] == "deleted"
    assert done[arn.format("LaunchlabFargate-Tagged")] == "deleted"
    assert done[next(k for k in done if k.endswith(f"/{group}"))] == "deleted"
    assert done[arn.format("LaunchlabFargate-Named")] == (
        "left for you: found by name only, not certainly launchlab's"
    )
    assert done[repository["repository"]["repositoryArn"]] == (
        "left for you: found by name only, not certainly launchlab's"
    )
    assert done[arn.format("LaunchlabLambda-InAStack")] == (
        f"left: part of stack {names.LAMBDA_STACK}, which goes with it"
    )
    assert done[names.LAMBDA_STACK] == "left: `.venv/bin/launchlab down` deletes stacks (see above)"
    left = {row[1] for row in _rows(text.split("still there in")[1])}
    assert volume not in left and arn.format("LaunchlabFargate-Tagged") not in left
    assert arn.format("LaunchlabFargate-Named") in left
    assert (
        moto_account.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] == []
    )


def test_an_aws_failure_while_deleting_stacks_still_ends_with_the_scan(
    moto_account: Account,
) -> None:
    """CloudFormation refusing to even list the stacks (AccessDenied; moto allows everything,
    so a Stubber answers for CloudFormation): one line saying the deletion stopped, then the
    scan all the same, exit 2."""
    cloudformation = _offline("cloudformation")
    sandbox = PartlyStubbed(moto_account.sandbox(), {"cloudformation": cloudformation})
    console, out = _console()
    with Stubber(cloudformation) as stub:
        stub.add_client_error("describe_stacks", "AccessDenied", "not allowed")
        for _ in range(len(names.SHARED_STACKS) + len(launch_types.BY_STACK)):  # the scan's
            stub.add_client_error(
                "describe_stacks", "ValidationError", "Stack with id X does not exist"
            )
        assert down(sandbox, {}, console) == 2
    assert out.getvalue().endswith(f"nothing of launchlab is left in {REGION}\n")


# ---- what moto cannot show -----------------------------------------------------------------
# moto 5.2.5 never holds an instance in Terminating:Wait and has no CompleteLifecycleAction
# (test_aws_down_paths.py), and its instances carry no Operator: these two tests give the
# code AWS's answers instead, as documented for those calls (botocore's Stubber checks each
# request and answer against the service's model, as test_report.py does for the Price List).


def _group(name: str, *instances: tuple[str, str]) -> dict[str, Any]:
    return {
        "AutoScalingGroupName": name, "MinSize": 0, "MaxSize": 2, "DesiredCapacity": 1,
        "DefaultCooldown": 300, "AvailabilityZones": [f"{REGION}a"], "HealthCheckType": "EC2",
        "CreatedTime": datetime(2026, 11, 29, tzinfo=UTC),
        "Instances": [
            {"InstanceId": instance, "AvailabilityZone": f"{REGION}a", "LifecycleState": state,
             "HealthStatus": "Healthy", "ProtectedFromScaleIn": False}
            for instance, state in instances
        ],
    }  # fmt: skip


def _offline(service: str) -> Any:
    return boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION
    ).client(service)


PROJECT_FILTER = {"Filters": [{"Name": f"tag:{names.TAG_PROJECT}", "Values": [names.PROJECT]}]}
DRAIN_HOOK = "ecs-managed-draining-termination-hook"


def test_release_completes_the_termination_hooks_of_held_instances_only() -> None:
    autoscaling = _offline("autoscaling")
    name, other = "LaunchlabEcsEc2-Capacity", "LaunchlabEcsMi-Capacity"
    groups = [
        _group("LaunchlabEcsEc2-Quiet", ("i-other", "InService")),  # nothing held: skipped
        _group(name, ("i-held1", HELD), ("i-serving", "InService"), ("i-held2", HELD),
               ("i-held3", HELD)),
        {**_group(other, ("i-held4", HELD))},
        {k: v for k, v in _group("LaunchlabEmpty").items() if k != "Instances"},  # AWS may omit
    ]  # fmt: skip
    action = {"LifecycleHookName": DRAIN_HOOK, "LifecycleActionResult": "CONTINUE"}
    with Stubber(autoscaling) as stub:
        stub.add_response(
            "describe_auto_scaling_groups", {"AutoScalingGroups": groups}, PROJECT_FILTER
        )
        stub.add_response(
            "describe_lifecycle_hooks",
            {"LifecycleHooks": [
                {"LifecycleHookName": "warm-up",
                 "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"},
                {"LifecycleHookName": DRAIN_HOOK, "LifecycleTransition": TERMINATING},
            ]},
            {"AutoScalingGroupName": name},
        )  # fmt: skip
        stub.add_response(
            "complete_lifecycle_action", {},
            {**action, "AutoScalingGroupName": name, "InstanceId": "i-held1"},
        )  # fmt: skip
        # Released meanwhile (or another hook's): AWS answers ValidationError, "No active
        # Lifecycle Action found"; the next instance is still released.
        stub.add_client_error(
            "complete_lifecycle_action", "ValidationError", "No active Lifecycle Action found",
            expected_params={**action, "AutoScalingGroupName": name, "InstanceId": "i-held2"},
        )  # fmt: skip
        stub.add_response(
            "complete_lifecycle_action", {},
            {**action, "AutoScalingGroupName": name, "InstanceId": "i-held3"},
        )  # fmt: skip
        stub.add_response("describe_lifecycle_hooks", {}, {"AutoScalingGroupName": other})
        assert release_held_instances(autoscaling) == [f"{name}/i-held1", f"{name}/i-held3"]
        stub.assert_no_pending_responses()
        # Any other refusal is not swallowed.
        stub.add_response(
            "describe_auto_scaling_groups", {"AutoScalingGroups": [_group(name, ("i-3", HELD))]}
        )
        stub.add_response(
            "describe_lifecycle_hooks",
            {"LifecycleHooks": [{"LifecycleHookName": "h", "LifecycleTransition": TERMINATING}]},
        )
        stub.add_client_error("complete_lifecycle_action", "AccessDenied", "not allowed")
        with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
            release_held_instances(autoscaling)


def test_force_delete_takes_each_group_with_its_instances() -> None:
    # moto deletes a group's instances with it, ForceDelete or not; AWS needs ForceDelete.
    autoscaling = _offline("autoscaling")
    groups = {"AutoScalingGroups": [_group("LaunchlabA"), _group("LaunchlabB")]}
    with Stubber(autoscaling) as stub:
        stub.add_response("describe_auto_scaling_groups", groups, PROJECT_FILTER)  # release
        stub.add_response("describe_auto_scaling_groups", groups, PROJECT_FILTER)
        for name in ("LaunchlabA", "LaunchlabB"):
            stub.add_response(
                "delete_auto_scaling_group", {},
                {"AutoScalingGroupName": name, "ForceDelete": True},
            )  # fmt: skip
        assert down_module.force_delete_groups(autoscaling) == ["LaunchlabA", "LaunchlabB"]
        stub.assert_no_pending_responses()


def test_elb_tags_are_asked_20_arns_at_a_time() -> None:
    # DescribeTags takes at most 20 ARNs (moto takes any number); an answer may leave out a
    # resource's Tags, or the whole list.
    elbv2 = _offline("elbv2")
    arns = [
        f"arn:aws:elasticloadbalancing:{REGION}:123456789012:targetgroup/tg{n}/{n:016x}"
        for n in range(21)
    ]
    tagged = [{"Key": "AmazonECSManaged", "Value": "true"}]
    with Stubber(elbv2) as stub:
        stub.add_response(
            "describe_tags",
            {"TagDescriptions": [
                {"ResourceArn": arns[0], "Tags": tagged},
                *({"ResourceArn": arn} for arn in arns[1:20]),
            ]},
            {"ResourceArns": arns[:20]},
        )  # fmt: skip
        stub.add_response(
            "describe_tags",
            {"TagDescriptions": [{"ResourceArn": arns[20], "Tags": tagged}]},
            {"ResourceArns": arns[20:]},
        )
        found = down_module._elb_tags(elbv2, arns)
        stub.assert_no_pending_responses()
        assert found == {arn: [] for arn in arns[1:20]} | {
            arns[0]: tagged,
            arns[20]: tagged,
        }
        stub.add_response("describe_tags", {}, {"ResourceArns": arns[:1]})
        assert down_module._elb_tags(elbv2, arns[:1]) == {}


def test_an_instance_a_service_manages_says_which() -> None:
    # DescribeInstances' Operator (EC2 API reference, OperatorResponse): a Lambda Managed
    # Instances instance is managed by scaler.lambda.amazonaws.com.
    instance = {
        "InstanceId": "i-0123456789abcdef0", "InstanceType": "m7g.large",
        "State": {"Name": "running"}, "PublicIpAddress": "203.0.113.7",
        "Operator": {"Managed": True, "Principal": "scaler.lambda.amazonaws.com"},
    }  # fmt: skip
    found = down_module._instance_leftover(instance, PRICES, "in the project VPC")
    assert found == Leftover(
        "ec2:instance", "i-0123456789abcdef0", "in the project VPC",
        PRICES.instance_per_hour("m7g.large") + IPV4_HOUR,
        "m7g.large, running, managed by scaler.lambda.amazonaws.com", "203.0.113.7",
    )  # fmt: skip
    unmanaged = {**instance, "Operator": {"Managed": False}}
    assert down_module._instance_leftover(unmanaged, PRICES, "x").detail == "m7g.large, running"


def test_a_load_balancer_node_leaves_its_address_to_the_load_balancer() -> None:
    # What EC2 lists for an ALB's node in a zone (moto makes none): "ELB app/<name>/<id>".
    node = {
        "NetworkInterfaceId": "eni-0123456789abcdef0", "Status": "in-use",
        "Description": "ELB app/Launchl-Alb-1/50dc6c495c0c9188",
        "Association": {"PublicIp": "198.51.100.7", "IpOwnerId": "amazon-elb"},
    }  # fmt: skip
    found = down_module._eni_leftover(node, PRICES, "in the project VPC")
    assert found == Leftover(
        "ec2:network-interface", "eni-0123456789abcdef0", "in the project VPC", Decimal(0),
        "in-use, public IP 198.51.100.7 (billed on its load balancer)", "",
    )  # fmt: skip
    other = down_module._eni_leftover({**node, "Description": "left by ECS"}, PRICES, "x")
    assert (other.usd_per_hour, other.public_ip) == (IPV4_HOUR, "198.51.100.7")
    # An internal load balancer's node has no public address: nothing to bill anywhere.
    internal = {key: value for key, value in node.items() if key != "Association"}
    found = down_module._eni_leftover(internal, PRICES, "in the project VPC")
    assert (found.usd_per_hour, found.public_ip, found.detail) == (0, "", "in-use")


def test_each_address_is_billed_on_one_holder_the_others_say_where() -> None:
    """An Elastic IP associated with an instance, seen also on the instance's ENI: the charge
    stays on the Elastic IP, the others drop it and name where it is billed."""
    ip = "198.51.100.8"
    eip = Leftover("ec2:elastic-ip", "eipalloc-1", "tag filter", IPV4_HOUR, f"{ip}, associated", ip)
    hourly = PRICES.instance_per_hour("t3.small")
    assert hourly is not None
    instance = Leftover(
        "ec2:instance", "i-1", "tag filter", hourly + IPV4_HOUR, "t3.small, running", ip
    )
    eni = Leftover("ec2:network-interface", "eni-1", "x", IPV4_HOUR, f"in-use, public IP {ip}", ip)
    alone = Leftover("ec2:network-interface", "eni-2", "x", IPV4_HOUR, "in-use", "198.51.100.9")
    found = {item.identifier: item for item in (eni, instance, alone, eip)}
    assert down_module._bill_each_address_once(found, PRICES) == {
        "eni-1": Leftover(
            "ec2:network-interface", "eni-1", "x", Decimal(0),
            f"in-use, public IP {ip} (billed on eipalloc-1)", "",
        ),
        "i-1": Leftover(
            "ec2:instance", "i-1", "tag filter", hourly, "t3.small, running (billed on eipalloc-1)",
            "",
        ),
        "eni-2": alone,
        "eipalloc-1": eip,
    }  # fmt: skip


def test_nat_gateways_are_asked_for_by_the_project_tag() -> None:
    # DescribeNatGateways takes tag:<key> filters (EC2 API reference); moto 5.2.5 ignores them
    # (it filters on nat-gateway-id, vpc-id, subnet-id and state only) and lists every team's.
    ec2 = _offline("ec2")
    sandbox = _StubbedSandbox(boto3.Session(), REGION, {"ec2": ec2})
    address = {"AllocationId": "eipalloc-0123456789abcdef0", "PublicIp": "198.51.100.9"}
    gateway = {
        "NatGatewayId": "nat-0123456789abcdef0", "State": "available",
        "NatGatewayAddresses": [address],
    }  # fmt: skip
    gone = {"NatGatewayId": "nat-0fedcba9876543210", "State": "deleted"}
    # A private NAT gateway has a private address only; one being made may list none yet.
    private = {
        "NatGatewayId": "nat-0aaaaaaaaaaaaaaaa", "State": "available",
        "ConnectivityType": "private", "NatGatewayAddresses": [{"PrivateIp": "10.0.1.9"}],
    }  # fmt: skip
    pending = {"NatGatewayId": "nat-0bbbbbbbbbbbbbbbb", "State": "pending"}
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_nat_gateways", {"NatGateways": [gone, gateway, private, pending]},
            {"Filter": PROJECT_FILTER["Filters"]},
        )  # fmt: skip
        found = list(down_module._nat_gateways(sandbox, PRICES))
    assert found == [
        Leftover(
            "ec2:natgateway", "nat-0123456789abcdef0", "tag filter",
            PRICES.per_hour("vpc.nat_hour") + IPV4_HOUR,
            "available, public IP 198.51.100.9", "198.51.100.9",
        ),
        Leftover(
            "ec2:natgateway", "nat-0aaaaaaaaaaaaaaaa", "tag filter",
            PRICES.per_hour("vpc.nat_hour"), "available",
        ),
        Leftover(
            "ec2:natgateway", "nat-0bbbbbbbbbbbbbbbb", "tag filter",
            PRICES.per_hour("vpc.nat_hour"), "pending",
        ),
    ]  # fmt: skip


@dataclass(frozen=True)
class _StubbedSandbox(Sandbox):
    """A Sandbox whose clients answer from a botocore Stubber."""

    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.clients[service]


def test_a_group_with_instances_held_by_a_lifecycle_hook_says_how_many() -> None:
    autoscaling = _offline("autoscaling")
    held = {
        **_group("LaunchlabEcsEc2-Capacity", ("i-1", HELD), ("i-2", "InService"), ("i-3", HELD)),
        "AutoScalingGroupARN": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
        "0f0e0d0c-1111-2222-3333-444455556666:autoScalingGroupName/LaunchlabEcsEc2-Capacity",
    }
    sandbox = _StubbedSandbox(boto3.Session(), REGION, {"autoscaling": autoscaling})
    with Stubber(autoscaling) as stub:
        stub.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [held]})
        [found] = down_module._groups(sandbox)
    assert found.detail == (
        "LaunchlabEcsEc2-Capacity: 3 instance(s), 2 held in Terminating:Wait by a lifecycle hook"
    )


def test_a_scan_aws_refuses_says_so_in_one_line_naming_the_region() -> None:
    tagging = _offline("resourcegroupstaggingapi")
    sandbox = _StubbedSandbox(boto3.Session(), REGION, {"resourcegroupstaggingapi": tagging})
    with Stubber(tagging) as stub, pytest.raises(LaunchlabError) as error:
        stub.add_client_error("get_resources", "AccessDeniedException", "not allowed")
        scan(sandbox)
    assert str(error.value) == (
        f"AWS denied GetResources in {REGION} (AccessDeniedException): use credentials allowed "
        "to read the sandbox account"
    )


def test_the_vpc_waits_for_instances_a_service_manages_and_asks_ec2_to_show_them() -> None:
    """EC2 hides instances a service manages unless DescribeInstances is given
    IncludeManagedResources, and says so in Operator (moto 5.2.5 has neither): the network's
    wait asks with it, and waits for Lambda's instance and ECS's (its tag), not for the NAT
    instance that the network stack itself holds."""
    ec2 = _offline("ec2")
    sandbox = _StubbedSandbox(boto3.Session(), REGION, {"ec2": ec2})
    vpc = "vpc-0123456789abcdef0"

    def instance(name: str, **extra: Any) -> dict[str, Any]:
        return {"InstanceId": name, "State": {"Name": "running"}, **extra}

    reservations = {"Reservations": [{"Instances": [
        instance("i-lambda",
                 Operator={"Managed": True, "Principal": "scaler.lambda.amazonaws.com"}),
        instance("i-ecs", Tags=[{"Key": "AmazonECSManaged", "Value": "true"}]),
        instance("i-nat", SourceDestCheck=False, Tags=PROJECT),
    ]}]}  # fmt: skip
    in_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    with Stubber(ec2) as stub:
        stub.add_response("describe_vpcs", {"Vpcs": [{"VpcId": vpc}]}, PROJECT_FILTER)
        stub.add_response(
            "describe_instances", reservations,
            {"Filters": [*in_vpc, {"Name": "instance-state-name", "Values": teardown.LIVE}],
             "IncludeManagedResources": True},
        )  # fmt: skip
        found = list(teardown._managed_instances_in_the_vpc(sandbox))
        stub.assert_no_pending_responses()
    assert found == ["managed instance i-lambda (running)", "managed instance i-ecs (running)"]


def test_a_capacity_providers_instances_are_asked_for_managed_ones_included() -> None:
    ec2 = _offline("ec2")
    sandbox = _StubbedSandbox(boto3.Session(), REGION, {"ec2": ec2})
    filters = [
        *PROJECT_FILTER["Filters"],
        {"Name": f"tag:{names.TAG_LAUNCH_TYPE}", "Values": ["lambda-managed-instances"]},
        {"Name": "instance-state-name", "Values": teardown.LIVE},
    ]
    answer = {"Reservations": [{"Instances": [
        {"InstanceId": "i-0a", "State": {"Name": "shutting-down"}}]}]}  # fmt: skip
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_instances", answer, {"Filters": filters, "IncludeManagedResources": True}
        )
        assert teardown.instances_of("lambda-managed-instances", sandbox) == [
            "instance i-0a (shutting-down)"
        ]


def test_an_express_certificate_in_use_is_not_a_leftover() -> None:
    """ACM's InUseBy names the load balancer still serving it (moto 5.2.5 leaves it empty):
    while a live Express service uses its certificate, the certificate is not left over."""
    acm, tagging, cloudwatch = (
        _offline("acm"),
        _offline("resourcegroupstaggingapi"),
        _offline("cloudwatch"),
    )
    sandbox = _StubbedSandbox(
        boto3.Session(), REGION,
        {"acm": acm, "resourcegroupstaggingapi": tagging, "cloudwatch": cloudwatch},
    )  # fmt: skip
    arn = f"arn:aws:acm:{REGION}:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666"
    summary = {"CertificateArn": arn, "DomainName": f"ls-1a2b.ecs.{REGION}.on.aws"}
    used = {
        "Certificate": {
            "CertificateArn": arn,
            "InUseBy": [
                f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/app/ecs-express/1"
            ],
        }
    }
    with Stubber(acm) as acm_stub, Stubber(tagging) as tag_stub, Stubber(cloudwatch) as cw_stub:
        tag_stub.add_response("get_resources", {"ResourceTagMappingList": []})
        cw_stub.add_response("describe_alarms", {"MetricAlarms": []})
        acm_stub.add_response("list_certificates", {"CertificateSummaryList": [summary]})
        acm_stub.add_response(
            "list_tags_for_certificate", {"Tags": [{"Key": "AmazonECSManaged", "Value": "true"}]}
        )
        acm_stub.add_response("describe_certificate", used)
        assert list(down_module._express_outside_the_vpc(sandbox)) == []
