"""The three opt-in launch types priced from their templates: each figure by hand from the
price table's us-east-1 prices, and each moves when the template's size does."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from launchlab.assembly import Assembly
from launchlab.report.cost import Assumptions, Estimate, estimate
from launchlab.report.inventory import EXPRESS_ALB, express_load_balancer, read_inventory
from launchlab.report.model import build_report, to_json
from launchlab.report.prices import RegionPrices, load_table
from launchlab.report.profile import PRESETS, TrafficProfile
from stacks import names
from tests.conftest import Synthesized
from tests.test_report import SCHEMA

HOURS = Decimal(730)
IDLE = PRESETS["idle"]
HOBBY = PRESETS["hobby"]


@pytest.fixture(scope="module")
def us_east_1() -> RegionPrices:
    return load_table().region("us-east-1")


def _priced(
    templates: dict[str, Any], launch_type: str, prices: RegionPrices, profile: TrafficProfile
) -> Estimate:
    inventory = read_inventory(Assembly(outdir=Path("edited"), templates=templates))
    return estimate(inventory, launch_type, prices, profile, Assumptions())


def _templates(app: Synthesized) -> dict[str, Any]:
    return copy.deepcopy(app.templates)


def _resource(templates: dict[str, Any], stack: str, kind: str) -> dict[str, Any]:
    (found,) = [r for r in templates[stack]["Resources"].values() if r["Type"] == kind]
    return found["Properties"]  # type: ignore[no-any-return]


def _line(found: Estimate, kind: str) -> Decimal:
    return sum((item.usd for item in found.items if item.kind == kind), Decimal(0))


def test_ecs_managed_instances_price_follows_the_pinned_instance_type(
    opt_in_synth: Synthesized, us_east_1: RegionPrices
) -> None:
    templates = _templates(opt_in_synth)
    default = _priced(templates, "ecs-managed-instances", us_east_1, IDLE)
    # One t4g.small for the one task: 730 h x $0.0168 (EC2 on-demand, us-east-1).
    assert _line(default, "EC2 instances") == HOURS * Decimal("0.0168")
    # Its 30 GiB task volume, gp3 at $0.08/GB-month.
    assert _line(default, "EBS volumes") == 30 * Decimal("0.08")
    # AWS publishes no management fee for t4g.small: estimated at 12% of on-demand, and the
    # total says it holds an estimate.
    fee = _line(default, "ECS Managed Instances management fee")
    assert fee == HOURS * Decimal("0.0168") * Decimal("0.12")
    assert default.basis == "estimate"
    assert default.estimated_items() == ["ECS Managed Instances management fee"]
    provider = _resource(templates, names.ECS_MANAGED_INSTANCES_STACK, "AWS::ECS::CapacityProvider")
    requirements = provider["ManagedInstancesProvider"]["InstanceLaunchTemplate"][
        "InstanceRequirements"
    ]
    requirements["AllowedInstanceTypes"] = ["m7g.xlarge"]
    bigger = _priced(templates, "ecs-managed-instances", us_east_1, IDLE)
    assert _line(bigger, "EC2 instances") == HOURS * Decimal("0.1632")


def test_express_prices_fargate_tasks_and_one_alb(
    opt_in_synth: Synthesized, us_east_1: RegionPrices
) -> None:
    templates = _templates(opt_in_synth)
    default = _priced(templates, "express", us_east_1, IDLE)
    # One 0.25 vCPU / 0.5 GB x86 task: Fargate's $0.04048/vCPU-h and $0.004445/GB-h.
    assert _line(default, "Fargate vCPU") == HOURS * Decimal("0.25") * Decimal("0.04048")
    assert _line(default, "Fargate memory") == HOURS * Decimal("0.5") * Decimal("0.004445")
    # ECS's own ALB, not in the template: 730 h x $0.0225, and its two public IPv4 addresses.
    assert _line(default, "ALB hours") == HOURS * Decimal("0.0225")
    alb_ips = [i for i in default.items if i.name.startswith("Public IPv4 (ALB")]
    assert [i.quantity for i in alb_ips] == [HOURS * 2]
    service = _resource(templates, names.EXPRESS_STACK, "AWS::ECS::ExpressGatewayService")
    service["Cpu"], service["Memory"] = "1024", "2048"
    bigger = _priced(templates, "express", us_east_1, IDLE)
    assert _line(bigger, "Fargate vCPU") == HOURS * Decimal("0.04048")
    assert _line(bigger, "Fargate memory") == HOURS * 2 * Decimal("0.004445")
    # A second Express service shares the first one's ALB: still one ALB-hours line.
    templates[names.EXPRESS_STACK]["Resources"]["Second"] = copy.deepcopy(
        next(
            r
            for r in templates[names.EXPRESS_STACK]["Resources"].values()
            if r["Type"] == "AWS::ECS::ExpressGatewayService"
        )
    )
    (alb,) = express_load_balancer(templates[names.EXPRESS_STACK])
    assert alb.logical_id == EXPRESS_ALB and alb.rules == 2 and alb.public_ipv4 == 2


def test_lambda_managed_instances_keep_three_instances_and_bill_no_duration(
    opt_in_synth: Synthesized, us_east_1: RegionPrices
) -> None:
    templates = _templates(opt_in_synth)
    hobby = HOBBY
    default = _priced(templates, "lambda-managed-instances", us_east_1, hobby)
    # Three c7g.large (2 GiB per vCPU, the C family's ratio) kept for AZ resiliency whatever
    # the traffic, 15% on top, $0.20 per 1M requests, and no duration line.
    ec2 = 3 * HOURS * Decimal("0.0725")
    assert _line(default, "EC2 instances") == ec2
    assert _line(default, "Lambda Managed Instances management fee") == ec2 * Decimal("0.15")
    assert _line(default, "Lambda requests") == Decimal("0.20")
    assert not [i for i in default.items if "duration" in i.name.lower()]
    # Eight warm environments of 1 vCPU / 2 GB, two per c7g.large (2 vCPU, 4 GiB): four.
    version = _resource(templates, names.LAMBDA_MANAGED_INSTANCES_STACK, "AWS::Lambda::Version")
    version["FunctionScalingConfig"]["MinExecutionEnvironments"] = 8
    version["FunctionScalingConfig"]["MaxExecutionEnvironments"] = 8
    bigger = _priced(templates, "lambda-managed-instances", us_east_1, hobby)
    assert _line(bigger, "EC2 instances") == 4 * HOURS * Decimal("0.0725")
    assert bigger.sizing["environments_per_instance"] == 2


@pytest.mark.slow
def test_a_report_over_the_opt_in_launch_types_follows_the_schema(
    opt_in_synth: Synthesized,
) -> None:
    app = Assembly(outdir=opt_in_synth.outdir, templates=opt_in_synth.templates)
    report = build_report(
        str(app.outdir), read_inventory(app), load_table(), "us-east-1", HOBBY, Assumptions()
    )
    document = to_json(report)
    jsonschema.validate(document, SCHEMA)
    assert [lt["launch_type"] for lt in document["launch_types"]] == [
        "ecs-managed-instances",
        "express",
        "lambda-managed-instances",
    ]
    # ECS Managed Instances (one t4g.small, its estimated fee, the ALB) is the cheapest of the
    # three at hobby traffic: Express pays for its VPC endpoints; Lambda Managed Instances'
    # three warm instances cost the most.
    totals = {lt["launch_type"]: lt["monthly_usd"] for lt in document["launch_types"]}
    assert min(totals, key=totals.__getitem__) == "ecs-managed-instances"
    assert max(totals, key=totals.__getitem__) == "lambda-managed-instances"


SERVICES = ("ecr.api", "ecr.dkr", "logs")


def _egress_lines(found: Estimate) -> dict[str, Decimal]:
    return {
        item.name: item.usd
        for item in found.items
        if "NAT" in item.name or item.name.startswith("Interface VPC endpoint")
    }


def test_egress_is_priced_to_the_launch_types_that_route_through_it(
    all_synth: Synthesized,
    egress_nat_gateway: Synthesized,
    egress_endpoints: Synthesized,
    us_east_1: RegionPrices,
) -> None:
    """What a launch type needs to reach ECR and its logs is part of what it costs: Express its
    endpoints (3 services x 2 zones x 730 h x $0.01), Lambda Managed Instances its NAT instance
    (t4g.nano, 10 GiB gp3, a public IPv4), or with -c egress=... a NAT gateway and its address
    or the endpoints and EC2's; the launch types with public IPs of their own pay nothing."""
    templates = _templates(all_synth)
    express = _priced(templates, "express", us_east_1, IDLE)
    assert _egress_lines(express) == {
        **{f"Interface VPC endpoint {s} (2 AZs)": 2 * HOURS * Decimal("0.01") for s in SERVICES},
        "Interface VPC endpoint data (logs)": Decimal(0),
    }
    # Its tasks get no public IP: no address to pay for but the ALB's.
    assert [i.name for i in express.items if i.kind == "Public IPv4"] == [
        "Public IPv4 (ALB, 2 AZs)"
    ]
    lmi = _priced(templates, "lambda-managed-instances", us_east_1, IDLE)
    assert _egress_lines(lmi) == {
        "NAT instance (t4g.nano)": HOURS * Decimal("0.0042"),
        "NAT instance volume (10 GiB gp3)": 10 * Decimal("0.08"),
        "Public IPv4 (NAT instance)": HOURS * Decimal("0.005"),
    }
    for launch_type in ("ecs-ec2", "fargate", "lambda", "ecs-managed-instances"):
        assert _egress_lines(_priced(templates, launch_type, us_east_1, IDLE)) == {}, launch_type

    gateway = _priced(_templates(egress_nat_gateway), "lambda-managed-instances", us_east_1, IDLE)
    assert _egress_lines(gateway) == {
        "NAT gateway hours (shared VPC)": HOURS * Decimal("0.045"),
        "NAT gateway data (logs)": Decimal(0),
        "Public IPv4 (NAT, 1 Elastic IPs)": HOURS * Decimal("0.005"),
    }
    endpoints = _priced(_templates(egress_endpoints), "lambda-managed-instances", us_east_1, IDLE)
    assert _egress_lines(endpoints) == {
        **{
            f"Interface VPC endpoint {s} (2 AZs)": 2 * HOURS * Decimal("0.01")
            for s in ("ec2", *SERVICES)
        },
        "Interface VPC endpoint data (logs)": Decimal(0),
    }


def _logs_gb(found: Estimate) -> Decimal:
    """What the launch type's log groups take in a month, as its logs ingestion lines say."""
    return sum(
        (item.quantity for item in found.items if item.kind == "CloudWatch Logs ingestion"),
        Decimal(0),
    )


def test_with_traffic_the_logs_leave_through_the_egress_and_pay_its_per_gb_price(
    all_synth: Synthesized, egress_nat_gateway: Synthesized, us_east_1: RegionPrices
) -> None:
    """At hobby traffic every GB the log groups take in passes the NAT gateway ($0.045/GB) or
    the logs endpoint ($0.01/GB); the hours and addresses are the shared VPC's (paid once by
    what runs, launchlab up), the data the launch type's own. The inventory says what each
    routes through, S3's free gateway endpoint included."""
    express = _priced(_templates(all_synth), "express", us_east_1, HOBBY)
    shipped = _logs_gb(express)
    assert shipped > 0
    (endpoint_data,) = [i for i in express.items if i.kind == "Interface VPC endpoint data"]
    assert endpoint_data.quantity == shipped
    assert endpoint_data.usd == shipped * Decimal("0.01")

    gateway = _priced(_templates(egress_nat_gateway), "lambda-managed-instances", us_east_1, HOBBY)
    (nat_data,) = [i for i in gateway.items if i.kind == "NAT gateway data"]
    assert nat_data.quantity == _logs_gb(gateway) > 0
    assert nat_data.usd == _logs_gb(gateway) * Decimal("0.045")

    lmi = _priced(_templates(all_synth), "lambda-managed-instances", us_east_1, HOBBY)
    shared = {
        item.name: item.shared
        for estimate in (express, gateway, lmi)
        for item in estimate.items
        if "NAT" in item.name or item.name.startswith("Interface VPC endpoint")
    }
    assert shared == {
        **{f"Interface VPC endpoint {s} (2 AZs)": True for s in SERVICES},
        "Interface VPC endpoint data (logs)": False,
        "NAT gateway hours (shared VPC)": True,
        "NAT gateway data (logs)": False,
        "Public IPv4 (NAT, 1 Elastic IPs)": True,
        "NAT instance (t4g.nano)": True,
        "NAT instance volume (10 GiB gp3)": True,
        "Public IPv4 (NAT instance)": True,
    }

    inventory = read_inventory(Assembly(outdir=all_synth.outdir, templates=all_synth.templates))
    egress = {key: unit.egress for key, unit in inventory.launch_types.items()}
    assert (egress["express"].gateway_endpoints, egress["express"].endpoint_services) == (
        1,
        ("ecr.api", "ecr.dkr", "logs"),
    )
    assert egress["lambda-managed-instances"].gateway_endpoints == 0
    assert [n.instance_type for n in egress["lambda-managed-instances"].nat_instances] == [
        "t4g.nano"
    ]


def test_a_nat_gateway_per_zone_is_priced_per_gateway(
    egress_nat_gateway: Synthesized, us_east_1: RegionPrices
) -> None:
    """The templates as CDK writes them for two NAT gateways (one per zone, each private
    subnet routed to its own): two gateways' hours and addresses, read from the routes."""
    templates = _templates(egress_nat_gateway)
    network = templates[names.NETWORK_STACK]["Resources"]
    ((first_id, first),) = [
        (k, r) for k, r in network.items() if r["Type"] == "AWS::EC2::NatGateway"
    ]
    (zone_2,) = [
        k
        for k, r in network.items()
        if r["Type"] == "AWS::EC2::Subnet" and k.startswith("VpcpublicSubnet2")
    ]
    second = copy.deepcopy(first)
    second["Properties"]["SubnetId"] = {"Ref": zone_2}
    network["VpcpublicSubnet2NATGateway"] = second
    (route,) = [
        r
        for k, r in network.items()
        if r["Type"] == "AWS::EC2::Route" and k.startswith("VpcprivateSubnet2")
    ]
    assert route["Properties"]["NatGatewayId"] == {"Ref": first_id}
    route["Properties"]["NatGatewayId"] = {"Ref": "VpcpublicSubnet2NATGateway"}
    found = _priced(templates, "lambda-managed-instances", us_east_1, IDLE)
    assert _egress_lines(found) == {
        "NAT gateway hours (shared VPC)": 2 * HOURS * Decimal("0.045"),
        "NAT gateway data (logs)": Decimal(0),
        "Public IPv4 (NAT, 2 Elastic IPs)": 2 * HOURS * Decimal("0.005"),
    }
