"""EcsManagedInstancesStack: the sample app on ECS Managed Instances, behind its own ALB.

An ECS service on EC2 capacity that ECS itself launches, patches and scales.

Compared with ECS on EC2 there is no Auto Scaling group, launch template or AMI here: the
Managed Instances capacity provider picks instances that meet the requirements (pinned to
one instance type, so the bill is predictable and the report can price it), replaces them
for patching, and drains them itself. ECS adds a management fee per instance-hour on top
of the EC2 price.

- An infrastructure role lets ECS manage the instances; the instance profile (its name
  starts with ``ecsInstanceRole``, which the AWS managed policy may pass) carries the ECS
  agent's permissions.
- Tasks run in awsvpc mode with their own ENI and security group, which admits only the
  ALB on the container port; instances carry the capacity provider's tags (the project,
  launch type and stage), so Cost Explorer and ``launchlab down`` can find them.
- The per-instance task volume is sized down from ECS's 80 GiB default: the sample image
  is small and the volume is billed as EBS.

The service gets the hardening every ECS service here gets, listed where it is built:
stacks/constructs/ecs_service.py (the container, the rollout, the ALB, the scaling).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import EcsManagedInstancesConfig, LaunchlabConfig, instance_size
from stacks.constructs.delete_waiter import DeleteWaiter
from stacks.constructs.ecs_service import (
    PublicLoadBalancer,
    add_app_container,
    after_capacity_providers,
    autoscale,
    ecs_cluster,
    linux_platform,
    service_rollout,
)
from stacks.constructs.instances import instance_architecture, is_burstable
from stacks.constructs.placement import ServicePlacement
from stacks.images import ImageRef, ImageRequest
from stacks.launch_types import LaunchTypeSpec
from stacks.workloads import WORKLOADS

# Seconds an idle instance is kept before ECS terminates it: 0..3600, or ECS's default when
# unset (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_InfrastructureOptimization.html).
SCALE_IN_AFTER_S = 300
# The AWS managed policy ECS needs to launch, patch and terminate the instances for us.
# Source: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonECSInfrastructureRolePolicyForManagedInstances.html
INFRASTRUCTURE_POLICY = "AmazonECSInfrastructureRolePolicyForManagedInstances"


def image_for(config: LaunchlabConfig) -> ImageRequest:
    mi = config.opt_in.ecs_managed_instances
    return ImageRequest(WORKLOADS[mi.app], instance_architecture(mi.instance_type))


def build(
    scope: Construct,
    spec: LaunchTypeSpec,
    *,
    config: LaunchlabConfig,
    image: ImageRef,
    placement: ServicePlacement,
) -> cdk.Stack:
    return EcsManagedInstancesStack(
        scope,
        spec.stack_id,
        config=config.opt_in.ecs_managed_instances,
        image=image,
        description="launchlab: the sample app on ECS Managed Instances behind an ALB",
        placement=placement,
    )


class EcsManagedInstancesStack(cdk.Stack):
    """An ECS service on EC2 capacity that ECS itself launches, patches and scales. (What it
    builds and why: the module docstring.)"""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: ServicePlacement,
        config: EcsManagedInstancesConfig,
        image: ImageRef,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = placement.vpc
        workload = WORKLOADS[config.app]
        architecture = instance_architecture(config.instance_type)
        vcpus, memory_gib = instance_size(config.instance_type)

        self.cluster = ecs_cluster(self, vpc=vpc, container_insights=placement.container_insights)
        instance_security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=vpc,
            description="ECS Managed Instances: no inbound; tasks have their own security group",
            # The ECS agent, image pulls, SSM (patching) and CloudWatch Logs go out over HTTPS.
            allow_all_outbound=True,
        )
        infrastructure_role = iam.Role(
            self,
            "InfrastructureRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            description="ECS Managed Instances: launch, patch and terminate this stack's instances",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(INFRASTRUCTURE_POLICY)
            ],
        )
        self.capacity_provider = ecs.ManagedInstancesCapacityProvider(
            self,
            "CapacityProvider",
            infrastructure_role=infrastructure_role,
            subnets=placement.subnets(),
            security_groups=[instance_security_group],
            instance_requirements=ec2.InstanceRequirementsConfig(
                v_cpu_count_min=vcpus,
                v_cpu_count_max=vcpus,
                memory_min=cdk.Size.mebibytes(int(memory_gib * 1024)),
                memory_max=cdk.Size.mebibytes(int(memory_gib * 1024)),
                allowed_instance_types=[config.instance_type],
                burstable_performance=(
                    ec2.BurstablePerformance.INCLUDED
                    if is_burstable(config.instance_type)
                    else ec2.BurstablePerformance.EXCLUDED
                ),
            ),
            propagate_tags=ecs.PropagateManagedInstancesTags.CAPACITY_PROVIDER,
            task_volume_storage=cdk.Size.gibibytes(config.storage_gib),
        )
        self.cluster.add_managed_instances_capacity_provider(self.capacity_provider)
        # An idle instance goes after SCALE_IN_AFTER_S instead of ECS's undocumented default
        # ("null - Uses the default optimization behavior"): it stops billing soon after its
        # last task, and on delete the instances are gone before the provider is deleted (the
        # delete waiter below). CDK's construct has no setting for it yet.
        provider = self.capacity_provider.node.default_child
        assert isinstance(provider, ecs.CfnCapacityProvider)
        provider.add_property_override(
            "ManagedInstancesProvider.InfrastructureOptimization.ScaleInAfter", SCALE_IN_AFTER_S
        )

        task_definition = ecs.TaskDefinition(
            self,
            "TaskDefinition",
            compatibility=ecs.Compatibility.MANAGED_INSTANCES,
            network_mode=ecs.NetworkMode.AWS_VPC,
            cpu=str(config.task_cpu),
            memory_mib=str(config.task_memory_mib),
            runtime_platform=linux_platform(architecture),
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
            description="ECS Managed Instances tasks: inbound only from the ALB",
            allow_all_outbound=True,
        )
        # CDK models a service on Managed Instances as a FargateService with a task definition
        # of MANAGED_INSTANCES compatibility and the provider in its strategy (aws-cdk-lib's
        # own example); the strategy replaces any launch type.
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=task_definition,
            vpc_subnets=placement.workload_subnets,
            # awsvpc tasks on EC2 capacity get no public IP of their own; the instance pulls
            # images and ships logs through its own network interface.
            assign_public_ip=False,
            security_groups=[self.security_group],
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(
                    capacity_provider=self.capacity_provider.capacity_provider_name, weight=1
                )
            ],
            **service_rollout(),
        )
        after_capacity_providers(self.service, self.cluster)
        # On delete: the service, then the wait until its idle instances are gone (ECS scales
        # them in after SCALE_IN_AFTER_S; a provider whose instances are still registered
        # fails to delete, aws/aws-cdk#36071), then the provider, which is scoped to the
        # cluster (no association to take it off), its security group and the role ECS
        # terminates the instances with.
        DeleteWaiter(
            self,
            "DeleteWaiter",
            before=self.service.node.default_child,
            after=[self.capacity_provider, instance_security_group, infrastructure_role],
            log_retention_days=placement.log_retention_days,
            security_group=instance_security_group,
        )
        self.load_balancer = PublicLoadBalancer(
            self, "Alb", vpc=vpc, certificate_arn=placement.certificate_arn
        )
        target_group = self.load_balancer.route_to(self.service)
        autoscale(self.service, scaling=config.scaling, target_group=target_group)

        cdk.CfnOutput(self, "EndpointUrl", value=self.load_balancer.url)
        cdk.CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        cdk.CfnOutput(self, "ServiceName", value=self.service.service_name)
        cdk.CfnOutput(
            self,
            "CapacityProviderName",
            value=self.capacity_provider.capacity_provider_name,
            description="ECS launches this provider's instances outside CloudFormation",
        )
