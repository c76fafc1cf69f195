"""FargateServiceStack: the sample app on Fargate, behind its own ALB.

A Fargate service in awsvpc mode: each task has its own ENI and security group.

Without NAT the tasks sit in public subnets with public IPs (to reach ECR and CloudWatch
Logs); their security group admits only the ALB, on the container port. Fargate Spot runs
the same tasks for up to 70% less, at the risk of a two-minute interruption notice: all of
them with ``fargateSpot``, or ``fargateSpotShare`` percent of those above one on-demand
task (a capacity provider strategy's base and weights,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html).

The service gets the hardening every ECS service here gets, listed where it is built:
stacks/constructs/ecs_service.py (the container, the rollout, the ALB, the scaling).
"""

from __future__ import annotations

import math
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from stacks.config import FargateConfig, LaunchlabConfig
from stacks.constructs.ecs_service import (
    PublicLoadBalancer,
    add_app_container,
    after_capacity_providers,
    autoscale,
    ecs_cluster,
    linux_platform,
    service_rollout,
)
from stacks.constructs.placement import ServicePlacement
from stacks.images import ImageRef, ImageRequest
from stacks.launch_types import LaunchTypeSpec
from stacks.workloads import WORKLOADS


def capacity_strategy(config: FargateConfig) -> list[ecs.CapacityProviderStrategy]:
    """All on Fargate, all on Fargate Spot, or a base of one on Fargate and the rest split by
    weight: ``spot_share`` percent on Spot (weights reduced, 50% is 1:1)."""
    if config.spot:
        return [ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)]
    if config.spot_share == 0:
        return [ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1)]
    if config.spot_share == 100:
        return [ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)]
    common = math.gcd(config.spot_share, 100 - config.spot_share)
    return [
        ecs.CapacityProviderStrategy(
            capacity_provider="FARGATE", base=1, weight=(100 - config.spot_share) // common
        ),
        ecs.CapacityProviderStrategy(
            capacity_provider="FARGATE_SPOT", weight=config.spot_share // common
        ),
    ]


def image_for(config: LaunchlabConfig) -> ImageRequest:
    return ImageRequest(WORKLOADS[config.fargate.app], config.fargate.architecture)


def build(
    scope: Construct,
    spec: LaunchTypeSpec,
    *,
    config: LaunchlabConfig,
    image: ImageRef,
    placement: ServicePlacement,
) -> cdk.Stack:
    return FargateServiceStack(
        scope,
        spec.stack_id,
        config=config.fargate,
        image=image,
        description="launchlab: the sample app on Fargate behind an ALB",
        placement=placement,
    )


class FargateServiceStack(cdk.Stack):
    """A Fargate service in awsvpc mode: each task has its own ENI and security group. (What it
    builds and why: the module docstring.)"""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: ServicePlacement,
        config: FargateConfig,
        image: ImageRef,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = placement.vpc
        workload = WORKLOADS[config.app]
        self.cluster = ecs_cluster(
            self, vpc=vpc, container_insights=placement.container_insights, fargate=True
        )
        task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=config.cpu,
            memory_limit_mib=config.memory_mib,
            runtime_platform=linux_platform(config.architecture),
        )
        add_app_container(
            task_definition,
            workload=workload,
            image=image,
            log_retention_days=placement.log_retention_days,
            dynamic_host_port=False,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "TaskSecurityGroup",
            vpc=vpc,
            description="Fargate tasks: inbound only from the ALB",
            allow_all_outbound=True,
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=task_definition,
            platform_version=ecs.FargatePlatformVersion.LATEST,
            vpc_subnets=placement.workload_subnets,
            assign_public_ip=placement.public_ip,
            security_groups=[self.security_group],
            capacity_provider_strategies=capacity_strategy(config),
            **service_rollout(),
        )
        after_capacity_providers(self.service, self.cluster)
        self.load_balancer = PublicLoadBalancer(
            self, "Alb", vpc=vpc, certificate_arn=placement.certificate_arn
        )
        target_group = self.load_balancer.route_to(self.service)
        autoscale(self.service, scaling=config.scaling, target_group=target_group)

        cdk.CfnOutput(self, "EndpointUrl", value=self.load_balancer.url)
        cdk.CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        cdk.CfnOutput(self, "ServiceName", value=self.service.service_name)
