"""What the synthesized app would deploy, per stack, read from its templates."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from launchlab.assembly import Assembly
from stacks import names


@dataclass(frozen=True)
class StackSummary:
    stack_name: str
    launch_type: str
    resource_count: int
    highlights: list[str]


def summarise(assembly: Assembly) -> list[StackSummary]:
    summaries = []
    for stack_name in assembly.stack_names:
        resources = assembly.templates[stack_name]["Resources"]
        kinds = Counter(r["Type"] for r in resources.values())
        summaries.append(
            StackSummary(
                stack_name=stack_name,
                launch_type=_launch_type(resources.values()),
                resource_count=len(resources),
                highlights=_highlights(assembly, stack_name, kinds),
            )
        )
    return summaries


def _launch_type(resources: Any) -> str:
    for resource in resources:
        for tag in resource.get("Properties", {}).get("Tags", []) or []:
            if isinstance(tag, dict) and tag.get("Key") == names.TAG_LAUNCH_TYPE:
                return str(tag["Value"])
    return "?"


def _highlights(assembly: Assembly, stack_name: str, kinds: Counter[str]) -> list[str]:
    out: list[str] = []
    if kinds["AWS::EC2::VPC"]:
        out.append(f"{kinds['AWS::EC2::Subnet']} subnets, {kinds['AWS::EC2::NatGateway']} NAT")
    if kinds["AWS::ECR::Repository"]:
        repos = assembly.resources(stack_name, "AWS::ECR::Repository")
        out.append("repos " + ", ".join(r["Properties"]["RepositoryName"] for r in repos))
        out.append(f"{kinds['Custom::CDKECRDeployment']} images built and copied on deploy")
    for template in assembly.resources(stack_name, "AWS::EC2::LaunchTemplate"):
        out.append(f"instances {template['Properties']['LaunchTemplateData']['InstanceType']}")
    for group in assembly.resources(stack_name, "AWS::AutoScaling::AutoScalingGroup"):
        out.append(f"{group['Properties']['MinSize']}..{group['Properties']['MaxSize']} instances")
    for task in assembly.resources(stack_name, "AWS::ECS::TaskDefinition"):
        props = task["Properties"]
        container = props["ContainerDefinitions"][0]
        if "Cpu" in props:
            arch = props.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64")
            out.append(f"task {props['Cpu']} cpu / {props['Memory']} MiB {arch.lower()}")
        else:
            out.append(f"task {container['Cpu']} cpu / {container['Memory']} MiB")
    for target in assembly.resources(stack_name, "AWS::ApplicationAutoScaling::ScalableTarget"):
        props = target["Properties"]
        out.append(f"{props['MinCapacity']}..{props['MaxCapacity']} tasks")
    if kinds["AWS::ElasticLoadBalancingV2::LoadBalancer"]:
        out.append(f"{kinds['AWS::ElasticLoadBalancingV2::LoadBalancer']} ALB")
    for function in assembly.resources(stack_name, "AWS::Lambda::Function"):
        props = function["Properties"]
        if props.get("PackageType") == "Image":
            arch = props.get("Architectures", ["x86_64"])[0]
            out.append(f"function {props['MemorySize']} MB {arch}, {props['Timeout']} s")
    if kinds["AWS::Lambda::Url"]:
        out.append("Function URL")
    if kinds["AWS::ApiGatewayV2::Api"]:
        out.append("HTTP API")
    return out


def as_json(summaries: list[StackSummary]) -> str:
    return json.dumps([s.__dict__ for s in summaries], indent=2)
