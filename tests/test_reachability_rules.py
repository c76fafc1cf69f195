"""The network reachability check's rules (launchlab/reachability.py), each on a small VPC
written here as CloudFormation writes it: a public and a private subnet, what the private one's
default route leads to (a NAT gateway, a NAT instance, nothing), and endpoints. Each rule is
taken one step away from working (a private NAT gateway, a NAT instance that checks source and
destination, an endpoint whose security group refuses HTTPS from the VPC, ...) and the check
must name what breaks. tests/test_reachability.py runs the check over every synthesized app."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from launchlab import reachability
from launchlab.assembly import Assembly
from launchlab.reachability import Placement, WayOut

NET = "LaunchlabNetwork"
APP = "LaunchlabFargate"
REF = {"Ref": "Private"}


def _resource(kind: str, **props: Any) -> dict[str, Any]:
    return {"Type": kind, "Properties": props}


def _network(private_route: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A VPC (10.0.0.0/16) with an attached internet gateway, a public subnet routed to it
    and a private subnet whose default route is ``private_route`` (none if None)."""
    resources = {
        "Vpc": _resource("AWS::EC2::VPC", CidrBlock="10.0.0.0/16"),
        "Igw": _resource("AWS::EC2::InternetGateway"),
        "Attach": _resource(
            "AWS::EC2::VPCGatewayAttachment", VpcId={"Ref": "Vpc"}, InternetGatewayId={"Ref": "Igw"}
        ),
        "Public": _resource("AWS::EC2::Subnet", MapPublicIpOnLaunch=True),
        "PublicTable": _resource("AWS::EC2::RouteTable"),
        "PublicAssoc": _resource(
            "AWS::EC2::SubnetRouteTableAssociation",
            SubnetId={"Ref": "Public"}, RouteTableId={"Ref": "PublicTable"},
        ),
        "PublicDefault": _resource(
            "AWS::EC2::Route", DestinationCidrBlock="0.0.0.0/0",
            RouteTableId={"Ref": "PublicTable"}, GatewayId={"Ref": "Igw"},
        ),
        "Private": _resource("AWS::EC2::Subnet", MapPublicIpOnLaunch=False),
        "PrivateTable": _resource("AWS::EC2::RouteTable"),
        "PrivateAssoc": _resource(
            "AWS::EC2::SubnetRouteTableAssociation",
            SubnetId={"Ref": "Private"}, RouteTableId={"Ref": "PrivateTable"},
        ),
        **extra,
    }  # fmt: skip
    if private_route is not None:
        resources["PrivateDefault"] = _resource(
            "AWS::EC2::Route",
            DestinationCidrBlock="0.0.0.0/0",
            RouteTableId={"Ref": "PrivateTable"},
            **private_route,
        )
    return {"Resources": resources}


def _fargate(subnet: str = "Private", public: str = "DISABLED") -> dict[str, Any]:
    return _resource(
        "AWS::ECS::Service",
        LaunchType="FARGATE",
        NetworkConfiguration={
            "AwsvpcConfiguration": {"Subnets": [{"Ref": subnet}], "AssignPublicIp": public}
        },
    )


def _ways(network: dict[str, Any], **workloads: Any) -> list[WayOut]:
    """Every way out of the workloads, placed in the network's own template."""
    template = copy.deepcopy(network)
    template["Resources"].update(workloads)
    return reachability.ways_out(Assembly(outdir=Path("x"), templates={NET: template}))


def _one(network: dict[str, Any], **workloads: Any) -> WayOut:
    [way] = _ways(network, **workloads)
    return way


NAT_GATEWAY = _resource(
    "AWS::EC2::NatGateway", AllocationId={"Fn::GetAtt": ["Eip", "AllocationId"]},
    SubnetId={"Ref": "Public"},
)  # fmt: skip
NAT_INSTANCE = _resource(
    "AWS::EC2::Instance", SourceDestCheck=False, SubnetId={"Ref": "Public"},
)  # fmt: skip


def test_a_private_subnet_goes_out_through_a_nat_gateway_with_an_address_in_a_public_one() -> None:
    way = _one(_network({"NatGatewayId": {"Ref": "Nat"}}, Nat=NAT_GATEWAY), Svc=_fargate())
    assert way.ok and way.routes == dict.fromkeys(reachability.PULL_AND_LOG, "NAT gateway Nat")
    assert way.via == {"Nat"} and not way.public_subnet
    assert way.describe() == (f"{NET}/Svc (Fargate tasks) in {NET}/Private: NAT gateway Nat")
    broken = {
        "private connectivity": {**NAT_GATEWAY["Properties"], "ConnectivityType": "private"},
        "no Elastic IP": {"SubnetId": {"Ref": "Public"}},
        "in the private subnet": {**NAT_GATEWAY["Properties"], "SubnetId": {"Ref": "Private"}},
        "in no subnet": {"AllocationId": "eipalloc-1"},
    }
    for why, props in broken.items():
        nat = {"Type": "AWS::EC2::NatGateway", "Properties": props}
        way = _one(_network({"NatGatewayId": {"Ref": "Nat"}}, Nat=nat), Svc=_fargate())
        assert way.routes == {} and not way.ok, why
        assert way.describe() == (
            f"{NET}/Svc (Fargate tasks) in {NET}/Private: no way to reach ecr.api, ecr.dkr, "
            "logs, s3"
        ), why
    # A route to a NAT gateway the templates do not hold.
    assert _one(_network({"NatGatewayId": {"Ref": "Gone"}}), Svc=_fargate()).routes == {}


def test_a_nat_instance_must_forward_and_have_a_public_address() -> None:
    route = {"InstanceId": {"Ref": "Nat"}}
    way = _one(_network(route, Nat=NAT_INSTANCE), Svc=_fargate())
    assert way.ok and set(way.routes.values()) == {"NAT instance Nat"}
    # Its own public IP setting on its interface, and its subnet named there too.
    on_interface = _resource(
        "AWS::EC2::Instance", SourceDestCheck=False,
        NetworkInterfaces=[{"SubnetId": {"Ref": "Public"}, "AssociatePublicIpAddress": True}],
    )  # fmt: skip
    assert _one(_network(route, Nat=on_interface), Svc=_fargate()).ok
    refused = copy.deepcopy(on_interface)
    refused["Properties"]["NetworkInterfaces"][0]["AssociatePublicIpAddress"] = False
    assert not _one(_network(route, Nat=refused), Svc=_fargate()).ok
    # The public subnet's default decides when the instance says nothing; no default, no IP.
    quiet = _network(route, Nat=NAT_INSTANCE)
    quiet["Resources"]["Public"]["Properties"]["MapPublicIpOnLaunch"] = False
    assert not _one(quiet, Svc=_fargate()).ok
    broken = {
        "checks source and destination": {"SubnetId": {"Ref": "Public"}},
        "in the private subnet": {"SourceDestCheck": False, "SubnetId": {"Ref": "Private"}},
        "in no subnet": {"SourceDestCheck": False},
    }
    for why, props in broken.items():
        nat = {"Type": "AWS::EC2::Instance", "Properties": props}
        assert _one(_network(route, Nat=nat), Svc=_fargate()).routes == {}, why
    assert _one(_network(route), Svc=_fargate()).routes == {}  # not in the templates


def test_a_public_subnet_needs_an_attached_gateway_and_a_public_ip() -> None:
    network = _network()
    public = _one(network, Svc=_fargate("Public", "ENABLED"))
    assert public.ok and public.public_subnet and public.via == frozenset()
    assert set(public.routes.values()) == {"internet gateway"}
    assert not _one(network, Svc=_fargate("Public", "DISABLED")).ok
    detached = _network()
    del detached["Resources"]["Attach"]
    assert not _one(detached, Svc=_fargate("Public", "ENABLED")).ok
    # The private subnet with no default route, and a subnet with no route table at all.
    assert not _one(network, Svc=_fargate()).public_subnet
    lone = _network(Lone=_resource("AWS::EC2::Subnet", MapPublicIpOnLaunch=True))
    assert _one(lone, Svc=_fargate("Lone", "ENABLED")).routes == {}


def _endpoint(service: str, **props: Any) -> dict[str, Any]:
    written = {
        "ServiceName": {
            "Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, f".{service}"]]
        },
        "VpcEndpointType": "Interface",
        "PrivateDnsEnabled": True,
        "SecurityGroupIds": [{"Fn::GetAtt": ["EndpointGroup", "GroupId"]}],
    }
    return _resource("AWS::EC2::VPCEndpoint", **{**written, **props})


def _group(*rules: dict[str, Any]) -> dict[str, Any]:
    return _resource("AWS::EC2::SecurityGroup", SecurityGroupIngress=list(rules))


HTTPS_FROM_VPC = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}


def _endpoints(group: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    found = {
        f"Ep{index}": _endpoint(service)
        for index, service in enumerate(("ecr.api", "ecr.dkr", "logs"))
    }
    found["S3"] = _resource(
        "AWS::EC2::VPCEndpoint", ServiceName="com.amazonaws.us-east-1.s3",
        RouteTableIds=[{"Ref": "PrivateTable"}],
    )  # fmt: skip
    return {**found, "EndpointGroup": group, **overrides}


def test_endpoints_serve_their_one_service_when_they_admit_https_from_the_vpc() -> None:
    way = _one(_network(**_endpoints(_group(HTTPS_FROM_VPC))), Svc=_fargate())
    assert way.ok
    assert way.routes == {
        "ecr.api": "endpoint Ep0", "ecr.dkr": "endpoint Ep1", "logs": "endpoint Ep2",
        "s3": "endpoint S3",
    }  # fmt: skip
    assert way.via == {"Ep0", "Ep1", "Ep2", "S3"}
    admitted = [
        {"IpProtocol": "-1", "CidrIp": "10.0.0.0/8"},
        {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIp": "10.0.0.0/16"},
        {"IpProtocol": "tcp", "CidrIp": "0.0.0.0/0"},  # no ports: all of them
        {"IpProtocol": "tcp", "FromPort": 443, "CidrIp": "10.0.0.0/16"},
        {"IpProtocol": "tcp", "ToPort": 443, "CidrIp": "10.0.0.0/16"},
    ]
    for rule in admitted:
        # A rule from another group comes first: it is skipped, not the end of the look.
        other = {"IpProtocol": "-1", "SourceSecurityGroupId": "sg-1"}
        assert _one(_network(**_endpoints(_group(other, rule))), Svc=_fargate()).ok, rule
    refused = [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "10.0.0.0/16"},
        {"IpProtocol": "tcp", "FromPort": 444, "ToPort": 8443, "CidrIp": "10.0.0.0/16"},
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 442, "CidrIp": "10.0.0.0/16"},
        {"IpProtocol": "udp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.1.0/24"},
        {"IpProtocol": "-1", "SourceSecurityGroupId": "sg-1"},
    ]
    for rule in refused:
        way = _one(_network(**_endpoints(_group(rule))), Svc=_fargate())
        assert way.missing == ("ecr.api", "ecr.dkr", "logs"), rule
    # Private DNS off, a group the templates lack, S3 on another route table.
    dark = _endpoints(_group(HTTPS_FROM_VPC), Ep2=_endpoint("logs", PrivateDnsEnabled=False))
    assert _one(_network(**dark), Svc=_fargate()).missing == ("logs",)
    lost = _endpoints(_group(HTTPS_FROM_VPC), Ep2=_endpoint("logs", SecurityGroupIds=["sg-x"]))
    assert _one(_network(**lost), Svc=_fargate()).missing == ("logs",)
    elsewhere = _endpoints(_group(HTTPS_FROM_VPC))
    elsewhere["S3"]["Properties"]["RouteTableIds"] = [{"Ref": "PublicTable"}]
    assert _one(_network(**elsewhere), Svc=_fargate()).missing == ("s3",)


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("com.amazonaws.us-east-1.ecr.dkr", "ecr.dkr"),
        ("com.amazonaws.us-east-1.s3", "s3"),
        ({"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".ecr.api"]]}, "ecr.api"),
        ({"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}]]}, ""),
        ({"Fn::Join": ["", []]}, ""),
        ({"Fn::Sub": "com.amazonaws.${AWS::Region}.logs"}, ""),
        ("amazonaws.s3", ""),
        (None, ""),
    ],
)
def test_an_endpoints_service_is_read_as_written(name: Any, suffix: str) -> None:
    assert reachability.service_suffix(name) == suffix


def test_each_kind_of_workload_needs_what_aws_says_and_gets_the_ip_it_is_given() -> None:
    network = _network(
        LaunchTemplate=_resource(
            "AWS::EC2::LaunchTemplate",
            LaunchTemplateData={"NetworkInterfaces": [{"AssociatePublicIpAddress": True}]},
        ),
        Bare=_resource("AWS::EC2::LaunchTemplate", LaunchTemplateData={}),
    )
    workloads = {
        "OnSpot": _resource(
            "AWS::ECS::Service",
            CapacityProviderStrategy=[{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}],
            NetworkConfiguration={"AwsvpcConfiguration": {"Subnets": [REF]}},
        ),
        "OnEc2": _resource(
            "AWS::ECS::Service",
            NetworkConfiguration={"AwsvpcConfiguration": {"Subnets": [REF]}},
        ),
        "Bridge": _resource("AWS::ECS::Service", NetworkConfiguration={}),
        "Group": _resource(
            "AWS::AutoScaling::AutoScalingGroup",
            VPCZoneIdentifier=[REF],
            LaunchTemplate={"LaunchTemplateId": {"Ref": "LaunchTemplate"}},
        ),
        "Plain": _resource(
            "AWS::AutoScaling::AutoScalingGroup",
            VPCZoneIdentifier=[REF],
            LaunchTemplate={"LaunchTemplateName": {"Ref": "Bare"}},
        ),
        "Express": _resource(
            "AWS::ECS::ExpressGatewayService", NetworkConfiguration={"Subnets": [REF]}
        ),
        "Managed": _resource(
            "AWS::ECS::CapacityProvider",
            ManagedInstancesProvider={
                "InstanceLaunchTemplate": {"NetworkConfiguration": {"Subnets": [REF]}}
            },
        ),
        "Classic": _resource("AWS::ECS::CapacityProvider", AutoScalingGroupProvider={}),
        "Provider": _resource("AWS::Lambda::CapacityProvider", VpcConfig={"SubnetIds": [REF]}),
        "Function": _resource("AWS::Lambda::Function", VpcConfig={"SubnetIds": [REF]}),
        "Outside": _resource("AWS::Lambda::Function"),
    }
    found = {
        p.logical_id: p
        for p in reachability.placements(
            Assembly(outdir=Path("x"), templates={APP: {"Resources": workloads}, NET: network})
        )
    }
    subnets = (reachability._refs([REF])[0],)
    agent, pull = reachability.ECS_AGENT, reachability.PULL_AND_LOG
    expected = {
        "OnSpot": ("Fargate tasks", False, pull),
        "OnEc2": ("tasks on instances (awsvpc)", False, frozenset()),
        "Group": ("Auto Scaling group instances", None, agent),
        "Plain": ("Auto Scaling group instances", None, agent),
        "Express": ("Express service", False, pull),
        "Managed": ("ECS managed instances", None, agent),
        "Provider": ("Lambda capacity provider", False, reachability.LAMBDA_MANAGED_INSTANCES),
        "Function": ("function in the VPC", False, frozenset()),
    }
    assert found == {
        name: Placement(APP, name, kind, subnets, public, needs, name == "Express")
        for name, (kind, public, needs) in expected.items()
    }
    assert found["OnSpot"].launch_type == "fargate"
    # The group's launch template in the same template as the group says True.
    [group] = [
        p
        for p in reachability.placements(
            Assembly(outdir=Path("x"), templates={NET: {**network, "Resources": {
                **network["Resources"], "Group": workloads["Group"]}}})
        )
    ]  # fmt: skip
    assert group.public_ip is True and group.launch_type == "shared"


def test_a_subnet_in_another_stack_is_followed_through_its_export() -> None:
    network = _network({"NatGatewayId": {"Ref": "Nat"}}, Nat=NAT_GATEWAY)
    network["Outputs"] = {
        "PrivateSubnet": {"Value": {"Ref": "Private"}, "Export": {"Name": f"{NET}:PrivateSubnet"}},
        "Other": {"Value": "subnet-literal", "Export": {"Name": f"{NET}:Literal"}},
    }

    def service(subnet: Any) -> dict[str, Any]:
        return {
            "Resources": {
                "Svc": _resource(
                    "AWS::ECS::Service",
                    LaunchType="FARGATE",
                    NetworkConfiguration={"AwsvpcConfiguration": {"Subnets": [subnet]}},
                )
            }
        }

    def ways(subnet: Any) -> list[WayOut]:
        templates = {NET: network, APP: service(subnet)}
        return reachability.ways_out(Assembly(outdir=Path("x"), templates=templates))

    [imported] = ways({"Fn::ImportValue": f"{NET}:PrivateSubnet"})
    assert imported.ok and imported.subnet == f"{NET}/Private"
    [output] = ways({"Fn::GetStackOutput": {"StackName": NET, "OutputName": "PrivateSubnet"}})
    assert output.ok and output.subnet == f"{NET}/Private"
    for lost in (
        {"Fn::ImportValue": f"{NET}:Literal"},
        {"Fn::ImportValue": f"{NET}:Nothing"},
        {"Fn::GetStackOutput": {"StackName": NET, "OutputName": "Other"}},
        {"Fn::GetStackOutput": {"StackName": NET, "OutputName": "Nothing"}},
        "subnet-0123",
    ):
        [way] = ways(lost)
        reference = reachability._refs([lost])[0]
        assert (way.subnet, way.problems) == (reference, (f"subnet {reference} not found",))
        assert way.describe() == (
            f"{APP}/Svc (Fargate tasks) in {reference}: subnet {reference} not found; no way "
            "to reach ecr.api, ecr.dkr, logs, s3"
        )
    assert reachability.problems(Assembly(outdir=Path("x"), templates={NET: network})) == []


def test_express_in_a_private_subnet_is_told_its_load_balancer_would_be_internal() -> None:
    express = _resource("AWS::ECS::ExpressGatewayService", NetworkConfiguration={"Subnets": [REF]})
    network = _network({"NatGatewayId": {"Ref": "Nat"}}, Nat=NAT_GATEWAY)
    way = _one(network, Express=express)
    assert way.missing == () and not way.ok
    assert way.describe() == (
        f"{NET}/Express (Express service) in {NET}/Private: not a public subnet: ECS would make "
        "the service's load balancer internal, unreachable from the internet"
    )
    public = copy.deepcopy(express)
    public["Properties"]["NetworkConfiguration"]["Subnets"] = [{"Ref": "Public"}]
    endpoints = _endpoints(_group(HTTPS_FROM_VPC))
    endpoints["S3"]["Properties"]["RouteTableIds"].append({"Ref": "PublicTable"})
    assert _one(_network(**endpoints), Express=public).ok
