"""Every workload the synthesized app places in the VPC can reach what it must (an image
registry, its logs), followed from its subnets through route tables to an internet gateway, a
NAT device or VPC endpoints (launchlab.reachability): what a first deploy would otherwise find
out the slow way, a task failing with ResourceInitializationError while the stack waits.

Run over every synth the tests make (the default three, every option away from its default,
the opt-in three, all six, and Lambda Managed Instances with each egress), then over copies of
the templates broken the ways a deploy breaks: each must be caught."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from launchlab import checks, reachability
from launchlab.assembly import Assembly
from stacks import launch_types, names
from tests.conftest import Synthesized

SYNTHS = [
    "synth",
    "variant",
    "opt_in_synth",
    "opt_in_variant",
    "all_synth",
    "egress_nat_gateway",
    "egress_endpoints",
]
PULL_AND_LOG = {"ecr.api", "ecr.dkr", "logs", "s3"}


def _app(synthesized: Synthesized) -> Assembly:
    return Assembly(outdir=synthesized.outdir, templates=synthesized.templates)


def _carriers(app: Assembly) -> dict[str, set[str]]:
    """launch type -> what carries its workloads' traffic, without logical ids' hashes."""
    found: dict[str, set[str]] = {}
    for way in reachability.ways_out(app):
        for service, route in way.routes.items():
            kind = route if route == "internet gateway" else route.rsplit(" ", 1)[0]
            label = f"{kind} {service}" if kind == "endpoint" else kind
            found.setdefault(way.placement.launch_type, set()).add(label)
    return found


@pytest.mark.parametrize("which", SYNTHS)
def test_every_workload_has_a_way_out(which: str, request: pytest.FixtureRequest) -> None:
    app = _app(request.getfixturevalue(which))
    ways = reachability.ways_out(app)
    assert [way.describe() for way in ways if not way.ok] == []
    in_vpc = {key for key in app.launch_types if launch_types.spec(key).network != "outside-vpc"}
    # Each launch type in the VPC was found and followed, every subnet of it (two zones).
    assert {way.placement.launch_type for way in ways} == in_vpc
    for key in in_vpc:
        assert len({w.subnet for w in ways if w.placement.launch_type == key}) == 2, key
    assert checks.network(app).passed


def test_the_default_three_go_out_through_their_own_public_ips(synth: Synthesized) -> None:
    """The default deploy has no NAT, no private subnets and no endpoints: every workload that
    pulls an image has a public IP in a subnet routed to the internet gateway."""
    app = _app(synth)
    assert _carriers(app) == {"ecs-ec2": {"internet gateway"}, "fargate": {"internet gateway"}}
    network = synth.template(names.NETWORK_STACK)["Resources"]
    kinds = {resource["Type"] for resource in network.values()}
    assert not kinds & {"AWS::EC2::NatGateway", "AWS::EC2::Instance", "AWS::EC2::VPCEndpoint"}
    subnets = [r for r in network.values() if r["Type"] == "AWS::EC2::Subnet"]
    assert [s["Properties"]["MapPublicIpOnLaunch"] for s in subnets] == [True, True]


def test_all_six_express_through_endpoints_lmi_through_a_nat_instance(
    all_synth: Synthesized,
) -> None:
    """Express stays in the public subnets (its ALB faces the internet only from there) and
    reaches ECR, S3 and CloudWatch Logs through endpoints, its tasks having no public IP;
    Lambda Managed Instances runs in private subnets behind one NAT instance; the default
    three and ECS Managed Instances keep their public IPs."""
    app = _app(all_synth)
    assert _carriers(app) == {
        "ecs-ec2": {"internet gateway"},
        "fargate": {"internet gateway"},
        "ecs-managed-instances": {"internet gateway"},
        "express": {f"endpoint {service}" for service in PULL_AND_LOG},
        "lambda-managed-instances": {"NAT instance"},
    }
    express = [w for w in reachability.ways_out(app) if w.placement.launch_type == "express"]
    assert all(way.public_subnet for way in express)
    lmi = [w for w in reachability.ways_out(app) if w.placement.kind == "Lambda capacity provider"]
    assert not any(way.public_subnet for way in lmi)


def test_nat_gateways_serve_every_private_workload_but_express(
    opt_in_variant: Synthesized, variant: Synthesized
) -> None:
    """With -c natGateways=1 every workload moves behind the NAT gateway, except Express, which
    would get an internal load balancer there: it keeps the public subnets and the endpoints."""
    assert _carriers(_app(opt_in_variant)) == {
        "ecs-managed-instances": {"NAT gateway"},
        "express": {f"endpoint {service}" for service in PULL_AND_LOG},
        "lambda-managed-instances": {"NAT gateway"},
    }
    assert _carriers(_app(variant)) == {"ecs-ec2": {"NAT gateway"}, "fargate": {"NAT gateway"}}


def test_each_egress_setting_gives_lambda_managed_instances_its_way_out(
    egress_nat_gateway: Synthesized, egress_endpoints: Synthesized
) -> None:
    assert _carriers(_app(egress_nat_gateway)) == {"lambda-managed-instances": {"NAT gateway"}}
    assert _carriers(_app(egress_endpoints)) == {
        "lambda-managed-instances": {
            f"endpoint {service}" for service in ("ec2", "ecr.api", "ecr.dkr", "logs", "s3")
        }
    }
    # Endpoints only: isolated private subnets, no NAT of any kind, no route to anywhere.
    network = egress_endpoints.template(names.NETWORK_STACK)["Resources"]
    kinds = [resource["Type"] for resource in network.values()]
    assert "AWS::EC2::NatGateway" not in kinds and "AWS::EC2::Instance" not in kinds
    defaults = [
        r
        for r in network.values()
        if r["Type"] == "AWS::EC2::Route" and r["Properties"].get("GatewayId") is None
    ]
    assert defaults == []


def test_the_nat_instance_is_locked_down(all_synth: Synthesized) -> None:
    """Only the VPC may send it traffic (CDK's default admits the whole internet), IMDSv2 only,
    an encrypted volume that goes with it, standard credits, a public IP to forward from, and
    CDK's iptables install retried (it sometimes fails on Amazon Linux 2023: aws/aws-cdk#36717)."""
    resources = all_synth.template(names.NETWORK_STACK)["Resources"]
    (instance,) = [r for r in resources.values() if r["Type"] == "AWS::EC2::Instance"]
    props = instance["Properties"]
    assert props["InstanceType"] == "t4g.nano"
    assert props["SourceDestCheck"] is False
    assert props["CreditSpecification"] == {"CPUCredits": "standard"}
    assert props["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True
    assert props["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "DeleteOnTermination": True,
                "Encrypted": True,
                "VolumeSize": 10,
                "VolumeType": "gp3",
            },
        }
    ]
    (group_id,) = [g["Fn::GetAtt"][0] for g in props["NetworkInterfaces"][0]["GroupSet"]]
    ingress = resources[group_id]["Properties"]["SecurityGroupIngress"]
    assert ingress == [
        {"CidrIp": "10.40.0.0/16", "Description": "forwarded for the VPC", "IpProtocol": "-1"}
    ]
    template_id = props["LaunchTemplate"]["Version"]["Fn::GetAtt"][0]
    data = resources[template_id]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"] == {"HttpTokens": "required"}
    script = props["UserData"]["Fn::Base64"].splitlines()
    assert script[:3] == [
        "#!/bin/bash",
        "for attempt in $(seq 60); do yum install iptables-services -y && break; sleep 5; done",
        "systemctl enable iptables",
    ]
    assert "-j MASQUERADE" in script[-3]


# --- the check catches each way a deploy breaks -----------------------------------------------


def _broken(
    synthesized: Synthesized, change: Callable[[dict[str, dict[str, Any]]], None]
) -> Assembly:
    templates = copy.deepcopy(synthesized.templates)
    change(templates)
    return Assembly(outdir=synthesized.outdir, templates=templates)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _drop_endpoints(templates: dict[str, dict[str, Any]]) -> None:
    network = templates[names.NETWORK_STACK]
    for logical_id in _of_type(network, "AWS::EC2::VPCEndpoint"):
        del network["Resources"][logical_id]


def _subnet_exports(templates: dict[str, dict[str, Any]], kind: str) -> list[dict[str, str]]:
    """Imports of the network stack's ``kind`` ("public"/"private") subnets, as CDK writes them."""
    outputs = templates[names.NETWORK_STACK]["Outputs"].values()
    return [
        {"Fn::ImportValue": output["Export"]["Name"]}
        for output in outputs
        if "Export" in output and f"Vpc{kind}Subnet" in output["Value"].get("Ref", "")
    ]


def _lmi_in_public_subnets(templates: dict[str, dict[str, Any]]) -> None:
    stack = templates[names.LAMBDA_MANAGED_INSTANCES_STACK]
    (provider,) = _of_type(stack, "AWS::Lambda::CapacityProvider").values()
    provider["Properties"]["VpcConfig"]["SubnetIds"] = _subnet_exports(templates, "public")


def _express_in_private_subnets(templates: dict[str, dict[str, Any]]) -> None:
    stack = templates[names.EXPRESS_STACK]
    (service,) = _of_type(stack, "AWS::ECS::ExpressGatewayService").values()
    service["Properties"]["NetworkConfiguration"]["Subnets"] = _subnet_exports(templates, "private")


def _nat_instance_without_public_ip(templates: dict[str, dict[str, Any]]) -> None:
    (instance,) = _of_type(templates[names.NETWORK_STACK], "AWS::EC2::Instance").values()
    instance["Properties"]["NetworkInterfaces"][0]["AssociatePublicIpAddress"] = False


def _nat_instance_checking_source(templates: dict[str, dict[str, Any]]) -> None:
    (instance,) = _of_type(templates[names.NETWORK_STACK], "AWS::EC2::Instance").values()
    instance["Properties"]["SourceDestCheck"] = True


def _endpoints_refuse_https(templates: dict[str, dict[str, Any]]) -> None:
    network = templates[names.NETWORK_STACK]
    for group in _of_type(network, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            if rule.get("FromPort") == 443:
                rule["FromPort"] = rule["ToPort"] = 80


def _endpoints_admit_one_subnet(templates: dict[str, dict[str, Any]]) -> None:
    """HTTPS to the endpoints from one /24 inside the VPC that none of its subnets use: a rule
    narrower than the VPC admits none of them."""
    network = templates[names.NETWORK_STACK]
    for group in _of_type(network, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            if rule.get("FromPort") == 443:
                rule["CidrIp"] = "10.40.255.0/24"


def _s3_endpoint_off_public_tables(templates: dict[str, dict[str, Any]]) -> None:
    network = templates[names.NETWORK_STACK]
    for endpoint in _of_type(network, "AWS::EC2::VPCEndpoint").values():
        tables = endpoint["Properties"].get("RouteTableIds")
        if tables:
            endpoint["Properties"]["RouteTableIds"] = [
                t for t in tables if "public" not in t["Ref"]
            ]


def _fargate_without_public_ip(templates: dict[str, dict[str, Any]]) -> None:
    (service,) = _of_type(templates[names.FARGATE_STACK], "AWS::ECS::Service").values()
    service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] = (
        "DISABLED"
    )


def _no_internet_gateway_attachment(templates: dict[str, dict[str, Any]]) -> None:
    network = templates[names.NETWORK_STACK]
    for logical_id in _of_type(network, "AWS::EC2::VPCGatewayAttachment"):
        del network["Resources"][logical_id]


EXPRESS, LMI = {"express"}, {"lambda-managed-instances"}


@pytest.mark.parametrize(
    ("change", "stranded", "expected", "which"),
    [
        # Express as the stack first had it: public subnets, no public IP, nothing else.
        (_drop_endpoints, EXPRESS, "no way to reach ecr.api, ecr.dkr, logs, s3", "all_synth"),
        # Lambda Managed Instances likewise: its ENIs in public subnets get no public IP; all
        # six put Express's endpoints in the VPC, which serve it all but EC2.
        (_lmi_in_public_subnets, LMI, "no way to reach ec2", "all_synth"),
        # Express given private subnets (as it was with -c natGateways=1): an internal ALB.
        (_express_in_private_subnets, EXPRESS, "load balancer internal", "all_synth"),
        (_nat_instance_without_public_ip, LMI, "no way to reach", "all_synth"),
        (_nat_instance_checking_source, LMI, "no way to reach", "all_synth"),
        (_endpoints_refuse_https, EXPRESS, "no way to reach ecr.api, ecr.dkr, logs", "all_synth"),
        (
            _endpoints_admit_one_subnet,
            EXPRESS,
            "no way to reach ecr.api, ecr.dkr, logs",
            "all_synth",
        ),
        (_s3_endpoint_off_public_tables, EXPRESS, "no way to reach s3", "all_synth"),
        # The default deploy has no endpoints: a Fargate task without a public IP is stranded
        # (beside Express's endpoints it would not be: they serve the whole VPC).
        (_fargate_without_public_ip, {"fargate"}, "no way to reach ecr.api", "synth"),
        # No internet gateway: public IPs lead nowhere.
        (_no_internet_gateway_attachment, {"ecs-ec2", "fargate"}, "no way to reach", "synth"),
    ],
)
def test_a_broken_template_is_caught(
    change: Callable[[dict[str, dict[str, Any]]], None],
    stranded: set[str],
    expected: str,
    which: str,
    request: pytest.FixtureRequest,
) -> None:
    app = _broken(request.getfixturevalue(which), change)
    failing = [way for way in reachability.ways_out(app) if not way.ok]
    assert {way.placement.launch_type for way in failing} == stranded
    assert all(expected in way.describe() for way in failing), failing[0].describe()
    verdict = checks.network(app)
    assert not verdict.passed
    assert verdict.findings == tuple(way.describe() for way in failing)
    assert reachability.problems(app) == list(verdict.findings)


def test_endpoints_open_to_a_wider_range_than_the_vpc_serve_it(all_synth: Synthesized) -> None:
    """A rule that admits more than the VPC (0.0.0.0/0) admits the VPC too."""

    def wider(templates: dict[str, dict[str, Any]]) -> None:
        network = templates[names.NETWORK_STACK]
        for group in _of_type(network, "AWS::EC2::SecurityGroup").values():
            for rule in group["Properties"].get("SecurityGroupIngress", []):
                if rule.get("FromPort") == 443:
                    rule["CidrIp"] = "0.0.0.0/0"

    app = _broken(all_synth, wider)
    assert reachability.problems(app) == []
    assert _carriers(app)["express"] == {f"endpoint {service}" for service in PULL_AND_LOG}


def test_each_launch_type_is_placed_as_the_registry_declares(all_synth: Synthesized) -> None:
    """stacks/launch_types.py's ``network`` decides what the network stack creates (private
    subnets, NAT, endpoints); the templates must place each launch type that way: "public-ip"
    in public subnets out through the internet gateway, "endpoints" in public subnets out
    through endpoints only, "private" in subnets with no route to the internet gateway."""
    app = _app(all_synth)
    placed: dict[str, set[str]] = {}
    for way in reachability.ways_out(app):
        if not way.routes:
            continue  # nothing to reach (awsvpc tasks on instances)
        if not way.public_subnet:
            kind = "private"
        elif set(way.routes.values()) == {"internet gateway"}:
            kind = "public-ip"
        elif all(route.startswith("endpoint ") for route in way.routes.values()):
            kind = "endpoints"
        else:
            kind = f"mixed: {sorted(set(way.routes.values()))}"
        placed.setdefault(way.placement.launch_type, set()).add(kind)
    declared = {
        key: {launch_types.spec(key).network}
        for key in app.launch_types
        if launch_types.spec(key).network != "outside-vpc"
    }
    assert placed == declared
