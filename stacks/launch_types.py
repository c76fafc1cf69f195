"""The launch-type registry: each way of running the sample app is declared here, once.

A declaration names the launch type's stack, its key (config, the ``launchlab:launch-type``
tag, reports), its label and chart colour, its local stand-in, what its app answers on AWS,
and the two modules that make up its unit. (Which app an ECS launch type runs is a setting,
`ec2App`, `fargateApp`, ... in cdk.json, so that ``-c`` can change it; the Lambda ones run the
Python app. Each stack tags what it runs with ``launchlab:app``.)

- ``stack_module`` (infrastructure, under ``stacks/``) defines ``image_for(config)``, the image
  the launch type runs, and ``build(scope, spec, *, config, image, placement)``, its stack;
- ``rules_module`` (the toolkit, under ``launchlab/report/rules/``) defines ``price(...)`` and
  ``ops(...)``, its cost and operational-burden rules.

Synth, the demo, the report and the AWS commands read this list; none keeps its own. Both
halves name the modules as strings so that synth never imports the toolkit and the toolkit
never imports aws_cdk (jsii start-up costs about a second) to read a label. This module
imports nothing heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

# How the demo runs a launch type on 127.0.0.1: the ECS image's own CMD, or the Lambda image's
# handler behind the local Function URL shim.
StandIn = Literal["container", "function-url"]

# How a launch type's compute reaches ECR, S3 and CloudWatch Logs (and, for a function, the
# Lambda service) when the VPC has no NAT gateways (`-c natGateways=0`, the default):
# - "public-ip": in the public subnets with a public IPv4 address of its own (a Fargate task's
#   AssignPublicIp, an EC2 or ECS Managed Instances instance's subnet default);
# - "endpoints": in the public subnets, where its load balancer must be to face the internet,
#   but with no public IP: VPC endpoints (ECS Express Mode, whose tasks get none);
# - "private": in private subnets, out through the configured egress (`-c egress=...`): its
#   network interfaces never get a public IP (Lambda Managed Instances);
# - "outside-vpc": runs in the Lambda service's own network.
# The network stack creates private subnets, NAT and endpoints only for what the selected
# launch types need; docs/deploy.md gives the sources.
NetworkNeed = Literal["public-ip", "endpoints", "private", "outside-vpc"]


@dataclass(frozen=True, kw_only=True)
class LaunchTypeSpec:
    key: str
    stack_id: str
    label: str
    colour: str  # a matplotlib colour, the same in every chart
    default: bool  # deployed without ``-c launchTypes=...``
    stand_in: StandIn
    network: NetworkNeed
    # What the app's GET / answers on AWS (its ``launch_type``; services/openapi.yaml), which
    # `launchlab verify` and the demo's Lambda stand-ins expect: the key, unless the launch type
    # runs on another's compute (Express Mode runs its tasks on Fargate).
    reports_as: str
    # The resource that carries the ``launchlab:app`` tag: what the demo reads to know which
    # app stands in for this launch type.
    workload_resource: str
    # Stack outputs besides ``EndpointUrl`` that `launchlab verify` and `bench` read.
    outputs: tuple[str, ...]
    stack_module: str
    rules_module: str

    def stack(self) -> ModuleType:
        return importlib.import_module(self.stack_module)

    def rules(self) -> ModuleType:
        return importlib.import_module(self.rules_module)


REGISTRY: tuple[LaunchTypeSpec, ...] = (
    LaunchTypeSpec(
        key="ecs-ec2",
        stack_id="LaunchlabEcsEc2",
        label="ECS on EC2",
        colour="tab:blue",
        default=True,
        stand_in="container",
        network="public-ip",
        reports_as="ecs-ec2",
        workload_resource="AWS::ECS::TaskDefinition",
        outputs=("ClusterName", "ServiceName"),
        stack_module="stacks.ecs_ec2_stack",
        rules_module="launchlab.report.rules.ecs_ec2",
    ),
    LaunchTypeSpec(
        key="fargate",
        stack_id="LaunchlabFargate",
        label="ECS on Fargate",
        colour="tab:orange",
        default=True,
        stand_in="container",
        network="public-ip",
        reports_as="fargate",
        workload_resource="AWS::ECS::TaskDefinition",
        outputs=("ClusterName", "ServiceName"),
        stack_module="stacks.fargate_stack",
        rules_module="launchlab.report.rules.fargate",
    ),
    LaunchTypeSpec(
        key="lambda",
        stack_id="LaunchlabLambda",
        label="Lambda",
        colour="tab:green",
        default=True,
        stand_in="function-url",
        network="outside-vpc",
        reports_as="lambda",
        workload_resource="AWS::Lambda::Function",
        outputs=("FunctionName",),
        stack_module="stacks.lambda_stack",
        rules_module="launchlab.report.rules.lambda_",
    ),
    LaunchTypeSpec(
        key="ecs-managed-instances",
        stack_id="LaunchlabEcsManagedInstances",
        label="ECS Managed Instances",
        colour="tab:purple",
        default=False,
        stand_in="container",
        network="public-ip",
        reports_as="ecs-managed-instances",
        workload_resource="AWS::ECS::TaskDefinition",
        outputs=("ClusterName", "ServiceName", "CapacityProviderName"),
        stack_module="stacks.ecs_managed_instances_stack",
        rules_module="launchlab.report.rules.ecs_managed_instances",
    ),
    LaunchTypeSpec(
        key="express",
        stack_id="LaunchlabExpress",
        label="ECS Express Mode",
        colour="tab:brown",
        default=False,
        stand_in="container",
        network="endpoints",
        reports_as="fargate",
        workload_resource="AWS::ECS::ExpressGatewayService",
        outputs=("ClusterName", "ServiceName", "ServiceArn", "ManagedLoadBalancerArn"),
        stack_module="stacks.express_stack",
        rules_module="launchlab.report.rules.express",
    ),
    LaunchTypeSpec(
        key="lambda-managed-instances",
        stack_id="LaunchlabLambdaManagedInstances",
        label="Lambda Managed Instances",
        colour="tab:olive",
        default=False,
        stand_in="function-url",
        network="private",
        reports_as="lambda-managed-instances",
        workload_resource="AWS::Lambda::Function",
        outputs=("FunctionName", "CapacityProviderName"),
        stack_module="stacks.lambda_managed_instances_stack",
        rules_module="launchlab.report.rules.lambda_managed_instances",
    ),
)

BY_KEY = {spec.key: spec for spec in REGISTRY}
BY_STACK = {spec.stack_id: spec for spec in REGISTRY}
KEYS = tuple(BY_KEY)
DEFAULT_KEYS = tuple(spec.key for spec in REGISTRY if spec.default)

# The value of the launch-type tag on the stacks every launch type shares (VPC, ECR).
SHARED = "shared"


def spec(key: str) -> LaunchTypeSpec:
    return BY_KEY[key]


def label(key: str) -> str:
    """The launch type's name for people; a key the registry lacks is shown as it is."""
    found = BY_KEY.get(key)
    return found.label if found else key


def in_order(keys: Iterable[str]) -> tuple[str, ...]:
    """``keys`` in registry order (the order of every table, chart and list)."""
    wanted = set(keys)
    return tuple(key for key in KEYS if key in wanted)
