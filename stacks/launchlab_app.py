"""Builds the whole launchlab app from its config: the one place the stacks are wired."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks import names
from stacks.checkov_skips import apply_checkov_skips
from stacks.config import LaunchlabConfig, check_context_keys
from stacks.constructs.ecs_service import ServicePlacement
from stacks.ecs_ec2_stack import EcsEc2Stack, instance_architecture
from stacks.fargate_stack import FargateServiceStack
from stacks.lambda_log_groups import own_lambda_log_groups
from stacks.lambda_stack import LambdaStack
from stacks.nag_suppressions import apply_suppressions
from stacks.network_stack import NetworkStack
from stacks.registry_stack import ImageRequest, RegistryStack
from stacks.workloads import LAMBDA_WORKLOAD, WORKLOADS


@dataclass(frozen=True)
class LaunchlabStacks:
    network: NetworkStack
    registry: RegistryStack
    ecs_ec2: EcsEc2Stack
    fargate: FargateServiceStack
    lambda_: LambdaStack

    def all(self) -> list[cdk.Stack]:
        return [self.network, self.registry, self.ecs_ec2, self.fargate, self.lambda_]


def build_stacks(app: cdk.Stage, config: LaunchlabConfig) -> LaunchlabStacks:
    """Create every stack in ``app`` (the App, or a Stage of it) and attach the checks that run
    on each synth."""
    ec2_image = ImageRequest(
        WORKLOADS[config.ecs_ec2.app], instance_architecture(config.ecs_ec2.instance_type)
    )
    fargate_image = ImageRequest(WORKLOADS[config.fargate.app], config.fargate.architecture)
    lambda_image = ImageRequest(LAMBDA_WORKLOAD, config.lambda_.architecture, lambda_image=True)

    network = NetworkStack(
        app,
        names.NETWORK_STACK,
        network=config.network,
        description="launchlab: the VPC shared by all launch types",
    )
    registry = RegistryStack(
        app,
        names.REGISTRY_STACK,
        registry=config.registry,
        images=[ec2_image, fargate_image, lambda_image],
        description="launchlab: ECR repositories and the images the services run",
    )
    placement = ServicePlacement(
        vpc=network.vpc,
        workload_subnets=network.workload_subnets,
        public_ip=not network.has_private_subnets,
        log_retention_days=config.log_retention_days,
        container_insights=config.container_insights,
        certificate_arn=config.certificate_arn,
    )
    ecs_ec2 = EcsEc2Stack(
        app,
        names.ECS_EC2_STACK,
        config=config.ecs_ec2,
        image=registry.image(ec2_image),
        description="launchlab: the sample app on ECS with EC2 capacity behind an ALB",
        placement=placement,
    )
    fargate = FargateServiceStack(
        app,
        names.FARGATE_STACK,
        config=config.fargate,
        image=registry.image(fargate_image),
        description="launchlab: the sample app on Fargate behind an ALB",
        placement=placement,
    )
    lambda_stack = LambdaStack(
        app,
        names.LAMBDA_STACK,
        config=config.lambda_,
        image=registry.image(lambda_image),
        log_retention_days=config.log_retention_days,
        description="launchlab: the sample app as a container-image Lambda function",
    )
    stacks = LaunchlabStacks(network, registry, ecs_ec2, fargate, lambda_stack)

    launch_types = {
        network: names.LAUNCH_TYPE_SHARED,
        registry: names.LAUNCH_TYPE_SHARED,
        ecs_ec2: names.LAUNCH_TYPE_ECS_EC2,
        fargate: names.LAUNCH_TYPE_FARGATE,
        lambda_stack: names.LAUNCH_TYPE_LAMBDA,
    }
    for stack, launch_type in launch_types.items():
        cdk.Tags.of(stack).add(names.TAG_PROJECT, names.PROJECT)
        cdk.Tags.of(stack).add(names.TAG_LAUNCH_TYPE, launch_type)
        cdk.Tags.of(stack).add(names.TAG_STAGE, config.stage)
        if config.owner is not None:
            cdk.Tags.of(stack).add(names.TAG_OWNER, config.owner)
        own_lambda_log_groups(stack, retention_days=config.log_retention_days)
        apply_suppressions(stack, config)
        apply_checkov_skips(stack, config)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return stacks


def create_app(
    *,
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    builtin_validation: bool = False,
) -> tuple[cdk.App, LaunchlabStacks]:
    """A new App with every stack; context given here adds to what the CDK CLI passes.

    CDK's built-in CloudFormation validation is off by default: measured, it takes about 90%
    of this app's synth (5-6 s of 6.5 s on 2 cores) and only warns, while cfn-lint, which
    fails on errors, runs over every template in the tests and in `launchlab demo`. The
    tests' default synth turns it on and requires it to find nothing.
    """
    app = cdk.App(
        context=dict(context) if context else None,
        outdir=outdir,
        builtin_cloud_formation_validation=builtin_validation,
    )
    check_context_keys(app.node.get_all_context())
    config = LaunchlabConfig.from_context(app.node.try_get_context)
    return app, build_stacks(app, config)
