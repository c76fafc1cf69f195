"""EcsEc2Stack: the sample app on ECS with EC2 capacity, behind its own ALB.

An ECS cluster whose capacity is an Auto Scaling group of ECS-optimized instances.

- The AMI is the ECS-optimized Amazon Linux 2023 image, resolved at deploy time from its
  public SSM parameter: synth needs no account, and each deploy picks up the latest AMI.
- Instances require IMDSv2 with a hop limit of 1, so containers in bridge mode cannot reach
  the instance role's credentials; they have encrypted gp3 root volumes and are reached
  through SSM Session Manager, never SSH (no key pair, no port 22).
- The capacity provider scales instances to fit tasks (managed scaling) and drains an
  instance's tasks before it goes (managed draining). Managed termination protection is
  off: with it on, instances running tasks cannot be terminated and ``cdk destroy`` hangs.
  On stack delete the group is force-deleted (AsgTeardown), so managed draining's
  lifecycle hook cannot hold an instance, billed, for an hour.
- A change of launch template (instance type, AMI) replaces the instances one at a time
  (a rolling update), and the task definition names its CPU architecture, so a switch
  between x86_64 and Graviton never places a task on an instance of the other kind.
- Burstable (t-family) instances run in the CPU-credit mode the config names: standard by
  default, so a sustained load is throttled at the baseline instead of billed as surplus
  credits (T3 and T4g launch as unlimited unless told otherwise).
- Tasks use bridge networking with dynamic host ports; the instances' security group
  admits only the ALB, and only on the ephemeral port range.
- With ``availability=multi-az`` the group keeps two or more instances, which it balances
  over the two zones' subnets, and the service spreads its tasks across zones first
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/strategy-examples.html).
- With ``ec2SpotShare`` above 0 the group is a mixed-instances group: that percent of the
  instances above an on-demand base of one (none at 100) are Spot, allocated
  price-capacity-optimized. Interruptions are handled: ECS drains an instance on its
  two-minute Spot notice (ECS_ENABLE_SPOT_INSTANCE_DRAINING,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/spot-instance-draining-linux-container.html),
  and Capacity Rebalancing launches a replacement when EC2 signals an elevated risk
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/enable-capacity-rebalancing-console-cli.html),
  whose termination managed draining then drains, since ECS gets no notice of it.

The service gets the hardening every ECS service here gets, listed where it is built:
stacks/constructs/ecs_service.py (the container, the rollout, the ALB, the scaling).
Managed draining: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/enable-managed-instance-draining.html
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import EcsEc2Config, LaunchlabConfig
from stacks.constructs.asg_teardown import AsgTeardown
from stacks.constructs.ecs_service import (
    PublicLoadBalancer,
    add_app_container,
    after_capacity_providers,
    autoscale,
    ecs_cluster,
    service_rollout,
)
from stacks.constructs.instances import instance_architecture, is_burstable
from stacks.constructs.placement import ServicePlacement
from stacks.images import ImageRef, ImageRequest
from stacks.launch_types import LaunchTypeSpec
from stacks.workloads import WORKLOADS


def image_for(config: LaunchlabConfig) -> ImageRequest:
    """The image this launch type runs: the configured app, built for the instances' CPU."""
    ecs_ec2 = config.ecs_ec2
    return ImageRequest(WORKLOADS[ecs_ec2.app], instance_architecture(ecs_ec2.instance_type))


def build(
    scope: Construct,
    spec: LaunchTypeSpec,
    *,
    config: LaunchlabConfig,
    image: ImageRef,
    placement: ServicePlacement,
) -> cdk.Stack:
    return EcsEc2Stack(
        scope,
        spec.stack_id,
        config=config.ecs_ec2,
        image=image,
        description="launchlab: the sample app on ECS with EC2 capacity behind an ALB",
        placement=placement,
    )


class EcsEc2Stack(cdk.Stack):
    """An ECS cluster whose capacity is an Auto Scaling group of ECS-optimized instances. (What
    it builds and why: the module docstring.)"""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: ServicePlacement,
        config: EcsEc2Config,
        image: ImageRef,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = placement.vpc
        workload = WORKLOADS[config.app]
        architecture = instance_architecture(config.instance_type)

        self.cluster = ecs_cluster(self, vpc=vpc, container_insights=placement.container_insights)

        instance_security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=vpc,
            description="ECS container instances: inbound only from the ALB",
            # The ECS agent, image pulls, SSM and CloudWatch Logs all go out over HTTPS.
            allow_all_outbound=True,
        )
        instance_role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="ECS container instances (the ECS agent's permissions are added by CDK)",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")
            ],
        )
        user_data = ec2.UserData.for_linux()
        spot = config.spot_share > 0
        if spot:
            # The agent drains the instance on its two-minute Spot notice. CDK's own option
            # (add_asg_capacity_provider's spot_instance_draining) only writes this for a group
            # with a Spot price, not for a mixed-instances one.
            user_data.add_commands(
                "echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config"
            )
        launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            instance_type=ec2.InstanceType(config.instance_type),
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(
                hardware_type=(
                    ecs.AmiHardwareType.ARM
                    if architecture == "arm64"
                    else ecs.AmiHardwareType.STANDARD
                )
            ),
            user_data=user_data,
            role=instance_role,
            security_group=instance_security_group,
            associate_public_ip_address=placement.public_ip,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            cpu_credits=(
                ec2.CpuCredits(config.cpu_credits.upper())
                if is_burstable(config.instance_type)
                else None
            ),
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        config.root_volume_gib,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        purchase: dict[str, Any] = {"launch_template": launch_template}
        if spot:
            purchase = {
                "mixed_instances_policy": autoscaling.MixedInstancesPolicy(
                    launch_template=launch_template,
                    instances_distribution=autoscaling.InstancesDistribution(
                        on_demand_base_capacity=0 if config.spot_share == 100 else 1,
                        on_demand_percentage_above_base_capacity=100 - config.spot_share,
                        spot_allocation_strategy=(
                            autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED
                        ),
                    ),
                ),
                "capacity_rebalance": True,
            }
        self.auto_scaling_group = autoscaling.AutoScalingGroup(
            self,
            "Instances",
            vpc=vpc,
            vpc_subnets=placement.workload_subnets,
            **purchase,
            min_capacity=config.min_instances,
            max_capacity=config.max_instances,
            new_instances_protected_from_scale_in=False,
            # A new launch template version (instance type, AMI) replaces the instances one at
            # a time, a new one in service before an old one goes, and managed draining moves
            # the old one's tasks (AWS's capacity-provider pattern does the same). Not a
            # replacing update: a new group would need a new capacity provider, which the
            # cluster cannot swap while the service still names the old one.
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=1,
                min_instances_in_service=min(config.min_instances, config.max_instances - 1),
            ),
        )
        capacity_provider = ecs.AsgCapacityProvider(
            self,
            "CapacityProvider",
            auto_scaling_group=self.auto_scaling_group,
            enable_managed_scaling=True,
            enable_managed_draining=True,
            enable_managed_termination_protection=False,
            target_capacity_percent=100,
        )
        self.cluster.add_asg_capacity_provider(capacity_provider)
        AsgTeardown(
            self,
            "AsgTeardown",
            auto_scaling_group=self.auto_scaling_group,
            cluster=self.cluster,
            log_retention_days=placement.log_retention_days,
        )

        # The image is built for the instances' architecture; a task of it must never be
        # placed on an instance of the other kind (an exec format error, then the circuit
        # breaker's rollback), e.g. while a switch from t3 to t4g replaces the instances.
        # ecs.cpu-architecture is a built-in container instance attribute (x86_64 | arm64).
        task_definition = ecs.Ec2TaskDefinition(
            self,
            "TaskDefinition",
            network_mode=ecs.NetworkMode.BRIDGE,
            placement_constraints=[
                ecs.PlacementConstraint.member_of(
                    f"attribute:ecs.cpu-architecture == {architecture}"
                )
            ],
        )
        cfn_task_definition = task_definition.node.default_child
        assert isinstance(cfn_task_definition, ecs.CfnTaskDefinition)
        # CDK's L2 refuses a runtime platform unless the task is Fargate-compatible, but ECS
        # takes it for Linux tasks on EC2 too (CloudFormation's RuntimePlatform: "available
        # for tasks that run on Linux Amazon EC2 instance"), so it is set on the L1.
        cfn_task_definition.runtime_platform = ecs.CfnTaskDefinition.RuntimePlatformProperty(
            cpu_architecture=architecture.upper(), operating_system_family="LINUX"
        )
        add_app_container(
            task_definition,
            workload=workload,
            image=image,
            log_retention_days=placement.log_retention_days,
            dynamic_host_port=True,
            cpu=config.task_cpu,
            memory_limit_mib=config.task_memory_mib,
        )
        self.service = ecs.Ec2Service(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=task_definition,
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(
                    capacity_provider=capacity_provider.capacity_provider_name, weight=1
                )
            ],
            placement_strategies=[
                *(
                    [ecs.PlacementStrategy.spread_across(ecs.BuiltInAttributes.AVAILABILITY_ZONE)]
                    if config.spread_zones
                    else []
                ),
                ecs.PlacementStrategy.spread_across_instances(),
                ecs.PlacementStrategy.packed_by_memory(),
            ],
            **service_rollout(),
        )

        after_capacity_providers(self.service, self.cluster)
        self.load_balancer = PublicLoadBalancer(
            self, "Alb", vpc=vpc, certificate_arn=placement.certificate_arn
        )
        target_group = self.load_balancer.route_to(self.service)
        # Bridge-mode tasks have no security group of their own: admit the ALB to the
        # instances on Docker's dynamic host-port range, and nothing else.
        instance_security_group.connections.allow_from(
            self.load_balancer.security_group,
            ec2.Port.tcp_range(32768, 65535),
            "ALB to tasks on dynamic host ports",
        )
        autoscale(self.service, scaling=config.scaling, target_group=target_group)

        cdk.CfnOutput(self, "EndpointUrl", value=self.load_balancer.url)
        cdk.CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        cdk.CfnOutput(self, "ServiceName", value=self.service.service_name)
        cdk.CfnOutput(
            self, "AutoScalingGroupName", value=self.auto_scaling_group.auto_scaling_group_name
        )
