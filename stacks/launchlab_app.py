"""Builds the whole launchlab app from its config: the one place the stacks are wired."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks import launch_types, names
from stacks.checkov_skips import apply_checkov_skips
from stacks.config import LaunchlabConfig, check_context_keys
from stacks.constructs.paths import StackTree
from stacks.constructs.placement import ServicePlacement
from stacks.lambda_log_groups import own_lambda_log_groups
from stacks.nag_suppressions import apply_suppressions
from stacks.network_stack import NetworkStack
from stacks.registry_stack import RegistryStack


@dataclass(frozen=True)
class LaunchlabStacks:
    network: NetworkStack
    registry: RegistryStack
    # launch-type key -> its stack, in registry order: only the selected launch types.
    launch_types: Mapping[str, cdk.Stack]

    def all(self) -> list[cdk.Stack]:
        return [self.network, self.registry, *self.launch_types.values()]


def build_stacks(app: cdk.Stage, config: LaunchlabConfig) -> LaunchlabStacks:
    """Create every stack in ``app`` (the App, or a Stage of it) and attach the checks that run
    on each synth: the shared network and registry, then each selected launch type's unit."""
    selected = [launch_types.spec(key) for key in config.launch_types]
    units = {spec.key: spec.stack() for spec in selected}
    # A launch type that runs no image (Lambda Managed Instances runs a .zip) asks for None.
    requested = {key: unit.image_for(config) for key, unit in units.items()}
    images = {key: request for key, request in requested.items() if request is not None}

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
        images=list(images.values()),
        description="launchlab: ECR repositories and the images the services run",
    )
    placement = ServicePlacement(
        vpc=network.vpc,
        workload_subnets=network.workload_subnets,
        public_ip=config.network.nat_gateways == 0,
        private_subnets=network.private_subnets,
        log_retention_days=config.log_retention_days,
        container_insights=config.container_insights,
        certificate_arn=config.certificate_arn,
    )
    built = {
        spec.key: units[spec.key].build(
            app,
            spec,
            config=config,
            image=registry.image(images[spec.key]) if spec.key in images else None,
            placement=placement,
        )
        for spec in selected
    }
    stacks = LaunchlabStacks(network, registry, built)

    tagged = {network: launch_types.SHARED, registry: launch_types.SHARED}
    tagged.update({stack: key for key, stack in built.items()})
    for stack, launch_type in tagged.items():
        cdk.Tags.of(stack).add(names.TAG_PROJECT, names.PROJECT)
        cdk.Tags.of(stack).add(names.TAG_LAUNCH_TYPE, launch_type)
        cdk.Tags.of(stack).add(names.TAG_STAGE, config.stage)
        if config.owner is not None:
            cdk.Tags.of(stack).add(names.TAG_OWNER, config.owner)
        tree = StackTree(stack)  # one walk for the three passes: each question is a round trip
        own_lambda_log_groups(tree, retention_days=config.log_retention_days)
        apply_suppressions(tree, config)
        apply_checkov_skips(tree, config)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return stacks


def create_app(
    *,
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    builtin_validation: bool = False,
) -> tuple[cdk.App, LaunchlabStacks]:
    """A new App with every stack; context given here adds to what the CDK CLI passes.

    CDK's built-in CloudFormation validation is off by default: it takes most of a synth's time
    (BENCHMARKS.md, "Synth") and only warns, while cfn-lint, which fails on errors, runs over
    every template in the tests and in `launchlab demo`. The tests' default synth turns it on
    and requires it to find nothing.
    """
    app = cdk.App(
        context=dict(context) if context else None,
        outdir=outdir,
        builtin_cloud_formation_validation=builtin_validation,
    )
    check_context_keys(app.node.get_all_context())
    config = LaunchlabConfig.from_context(app.node.try_get_context)
    return app, build_stacks(app, config)
