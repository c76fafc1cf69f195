"""LambdaManagedInstancesStack: the Python app as a Lambda function on managed EC2 instances.

A function on a Lambda capacity provider: EC2 instances in our VPC that Lambda
launches, patches (it replaces instances at least every 14 days) and scales on CPU.

- Packaged as a .zip for the managed Python runtime: the runtimes AWS lists for
  managed instances are the managed ones, so the function does not depend on container
  image support (stacks/constructs/python_zip.py builds it).
- Each execution environment serves up to ``max_concurrency`` requests at once (Python
  runs them in separate processes); Lambda keeps ``min_environments`` warm, so there are
  no cold starts but there is a cost at zero traffic.
- Published as a version behind the ``live`` alias, which carries the Function URL; old
  versions are deleted on update so their environments do not stay warm. No
  ``$LATEST.PUBLISHED`` version: it would keep a second set of environments warm.
- The instances' security group admits nothing; instances carry the capacity provider's
  tags (the project, launch type and stage) so Cost Explorer and ``launchlab down`` can
  find them.
- It runs in private subnets, out through the network stack's egress (its instances'
  interfaces get no public IP), and its delete waits for Lambda to terminate the instances.

https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-runtimes.html,
https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-scaling.html
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import LambdaManagedInstancesConfig, LaunchlabConfig
from stacks.constructs.delete_waiter import DeleteWaiter
from stacks.constructs.instances import instance_architecture
from stacks.constructs.logs import retained_log_group
from stacks.constructs.placement import ServicePlacement
from stacks.constructs.python_zip import python_app_code
from stacks.images import ImageRef, ImageRequest
from stacks.launch_types import LaunchTypeSpec
from stacks.names import PROJECT, TAG_APP, TAG_PROJECT
from stacks.workloads import LAMBDA_WORKLOAD

# The same ASGI entry point the container-image function runs.
HANDLER = "launchlab_app.lambda_handler.handler"
# Lambda Managed Instances supports Python 3.13 and later; the newest the pinned CDK knows.
# Source: https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-runtimes.html
RUNTIME = lambda_.Runtime.PYTHON_3_14


def image_for(config: LaunchlabConfig) -> ImageRequest | None:
    """No image: the function is a .zip for the managed runtime (constructs/python_zip.py)."""
    return None


def build(
    scope: Construct,
    spec: LaunchTypeSpec,
    *,
    config: LaunchlabConfig,
    image: ImageRef | None,
    placement: ServicePlacement,
) -> cdk.Stack:
    code, app_version = python_app_code(RUNTIME)
    return LambdaManagedInstancesStack(
        scope,
        spec.stack_id,
        config=config.opt_in.lambda_managed_instances,
        code=code,
        app_version=app_version,
        description="launchlab: the Python app as a Lambda function on Lambda Managed Instances",
        placement=placement,
    )


class LambdaManagedInstancesStack(cdk.Stack):
    """A function on a Lambda capacity provider: EC2 instances in our VPC that Lambda launches,
    patches and scales. (What it builds and why: the module docstring.)"""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: ServicePlacement,
        config: LambdaManagedInstancesConfig,
        code: lambda_.Code,
        app_version: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        architecture = (
            lambda_.Architecture.ARM_64
            if instance_architecture(config.instance_type) == "arm64"
            else lambda_.Architecture.X86_64
        )
        security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=placement.vpc,
            description="Lambda Managed Instances: no inbound; Lambda routes requests itself",
            allow_all_outbound=True,
        )
        # Lambda would otherwise create /aws/lambda/capacity-provider/<name> itself, kept forever
        # and left behind by `cdk destroy`.
        system_logs = retained_log_group(
            self, "CapacityProviderLogs", retention_days=placement.log_retention_days
        )
        self.capacity_provider = lambda_.CapacityProvider(
            self,
            "CapacityProvider",
            log_group=system_logs,
            # Private subnets, out through the configured egress: the instances' network
            # interfaces get no public IP (launch_types network "private").
            subnets=placement.private(),
            security_groups=[security_group],
            architectures=[architecture],
            instance_type_filter=lambda_.InstanceTypeFilter.allow(
                [ec2.InstanceType(config.instance_type)]
            ),
            max_v_cpu_count=config.max_vcpus,
            propagate_tags=lambda_.PropagateTags.explicit({TAG_PROJECT: PROJECT}),
        )
        # Deleting the provider starts Lambda's termination of its instances (202, async) with
        # the operator role; their interfaces hold the security group and the subnets. The
        # group and the role wait until they are gone.
        DeleteWaiter(
            self,
            "DeleteWaiter",
            # The provider resource itself: the construct also holds the operator role.
            before=self.capacity_provider.node.default_child,
            # Its log group too: Lambda would recreate it, kept forever, while it terminates.
            after=[
                security_group,
                self.capacity_provider.node.find_child("OperatorRole"),
                system_logs,
            ],
            log_retention_days=placement.log_retention_days,
            security_group=security_group,
        )
        # Lambda copies only tags it is given explicitly: give it the provider's own (the
        # project, launch type, stage and owner the app tags every resource with), read once
        # the app's tagging aspects have run.
        provider = self.capacity_provider.node.default_child
        assert isinstance(provider, lambda_.CfnCapacityProvider)
        provider.add_property_override(
            "PropagateTags.ExplicitTags", cdk.Lazy.any(_ResourceTags(provider))
        )
        log_group = retained_log_group(
            self, "FunctionLogs", retention_days=placement.log_retention_days
        )
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="launchlab Lambda Managed Instances: write its own logs, nothing else",
        )
        log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            handler=HANDLER,
            code=code,
            architecture=architecture,
            memory_size=config.memory_mib,
            timeout=cdk.Duration.seconds(config.timeout_seconds),
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={"APP_VERSION": app_version},
            description="launchlab python-app on Lambda Managed Instances",
            current_version_options=lambda_.VersionOptions(
                removal_policy=cdk.RemovalPolicy.DESTROY,
                min_execution_environments=config.min_environments,
                max_execution_environments=config.max_environments,
            ),
        )
        cdk.Tags.of(self.function).add(TAG_APP, LAMBDA_WORKLOAD.name)
        self.capacity_provider.add_function(
            self.function,
            per_execution_environment_max_concurrency=config.max_concurrency,
            execution_environment_memory_gib_per_v_cpu=config.memory_per_vcpu_gib,
            publish_to_latest_published=False,
        )
        self.alias = lambda_.Alias(
            self, "Live", alias_name="live", version=self.function.current_version
        )
        function_url = self.alias.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)

        cdk.CfnOutput(self, "EndpointUrl", value=function_url.url)
        cdk.CfnOutput(self, "FunctionName", value=self.function.function_name)
        cdk.CfnOutput(
            self,
            "CapacityProviderName",
            value=self.capacity_provider.capacity_provider_name,
            description="Lambda launches this provider's instances outside CloudFormation",
        )


@jsii.implements(cdk.IStableAnyProducer)
class _ResourceTags:
    def __init__(self, resource: lambda_.CfnCapacityProvider) -> None:
        self._resource = resource

    def produce(self) -> Any:
        tags = self._resource.cdk_tag_manager.tag_values() or {TAG_PROJECT: PROJECT}
        return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
