"""What the ECS launch types share: the hardened app container, safe rollouts, the public ALB in
front of a service, its autoscaling, and the cluster.

ECS on EC2, Fargate and ECS Managed Instances differ in capacity and networking only;
everything a user would check when comparing them is built here once, so they cannot drift
apart (ECS Express Mode takes the cluster; ECS builds the rest of it itself):

- the container (add_app_container): runs as the non-root user 10001 with a read-only root
  filesystem, only /tmp writable (a task volume); a container health check on the image's own
  check command (every 10 s, 3 retries, 15 s start period); ECS's SIGTERM followed by SIGKILL
  30 s later, more than the 10 s the apps take to finish in-flight requests; awslogs in
  non-blocking mode to a log group of the stack's, kept for the configured days;
- the rollout (service_rollout): the deployment circuit breaker with rollback, 100% minimum and
  200% maximum healthy (a new task starts before an old one stops), a 60 s health-check grace
  period, the service's tags propagated to its tasks, ECS-managed tags on;
- the ALB (PublicLoadBalancer): internet-facing, invalid header fields dropped, HTTP or, with a
  certificate, HTTPS with AWS's recommended TLS policy and a redirect; health checks on
  /health every 10 s (2 to pass, 3 to fail) and a 15 s deregistration delay;
- scaling (autoscale): target tracking on CPU or ALB requests per target, 60 s cooldowns.

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html
"""

from __future__ import annotations

from typing import TypedDict

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from stacks.config import TaskScaling
from stacks.constructs.logs import retained_log_group
from stacks.images import ImageRef
from stacks.names import TAG_APP
from stacks.workloads import (
    CONTAINER_PORT,
    CONTAINER_USER,
    HEALTH_PATH,
    STOP_TIMEOUT_SECONDS,
    SampleApp,
)

APP_CONTAINER = "app"


# Targets leave the ALB this long before ECS sends SIGTERM; requests here finish in well under
# a second, so 15 s drains them (Copilot's bar is 60 s or less; ours is 30 s or less).
DEREGISTRATION_DELAY = cdk.Duration.seconds(15)
HEALTH_CHECK_INTERVAL = cdk.Duration.seconds(10)
SCALING_COOLDOWN = cdk.Duration.seconds(60)


def ecs_cluster(
    scope: Construct, *, vpc: ec2.IVpc, container_insights: bool, fargate: bool = False
) -> ecs.Cluster:
    """The cluster both ECS stacks use; Container Insights only when the config asks for it."""
    return ecs.Cluster(
        scope,
        "Cluster",
        vpc=vpc,
        enable_fargate_capacity_providers=fargate,
        container_insights_v2=(
            ecs.ContainerInsights.ENABLED if container_insights else ecs.ContainerInsights.DISABLED
        ),
    )


def linux_platform(architecture: str) -> ecs.RuntimePlatform:
    """Linux on "x86_64" or "arm64": what a task definition declares it runs on."""
    return ecs.RuntimePlatform(
        operating_system_family=ecs.OperatingSystemFamily.LINUX,
        cpu_architecture=(
            ecs.CpuArchitecture.ARM64 if architecture == "arm64" else ecs.CpuArchitecture.X86_64
        ),
    )


def after_capacity_providers(service: Construct, cluster: ecs.Cluster) -> None:
    """Make ``service`` (an ECS service, or an Express service) wait for its cluster's
    capacity provider associations.

    A capacity provider strategy names providers that must already be associated with the
    cluster, or CloudFormation fails to create the service; and on delete the association
    must outlive the service, or ``cdk destroy`` fails on a provider still in use. CDK adds
    no such dependency itself, and creates the associations only at synth (by an aspect), so
    the dependency is on the whole cluster construct, resolved after aspects have run.
    """
    service.node.add_dependency(cluster)


def add_app_container(
    task_definition: ecs.TaskDefinition,
    *,
    workload: SampleApp,
    image: ImageRef,
    log_retention_days: int,
    dynamic_host_port: bool,
    cpu: int | None = None,
    memory_limit_mib: int | None = None,
) -> ecs.ContainerDefinition:
    """Add the sample app as a non-root container with a read-only root filesystem.

    Only ``/tmp`` is writable (a task-scoped volume). The container health check runs the
    image's own check command; ECS stops the container ``STOP_TIMEOUT_SECONDS`` after SIGTERM,
    more than the 10 s the apps take to finish in-flight requests. Its logs go to a group of
    the stack's own, kept ``log_retention_days`` and deleted with the stack.
    """
    log_group = retained_log_group(
        cdk.Stack.of(task_definition), "AppLogs", retention_days=log_retention_days
    )
    container = task_definition.add_container(
        APP_CONTAINER,
        image=ecs.ContainerImage.from_ecr_repository(image.repository, image.tag),
        essential=True,
        user=CONTAINER_USER,
        readonly_root_filesystem=True,
        cpu=cpu,
        memory_limit_mib=memory_limit_mib,
        environment={"PORT": str(CONTAINER_PORT), "APP_VERSION": image.tag},
        port_mappings=[
            ecs.PortMapping(
                container_port=CONTAINER_PORT,
                # Bridge mode on EC2: Docker picks a free host port, so several tasks fit on
                # one instance and the ALB finds each through the target group.
                host_port=0 if dynamic_host_port else CONTAINER_PORT,
                protocol=ecs.Protocol.TCP,
            )
        ],
        health_check=ecs.HealthCheck(
            command=list(workload.health_command),
            interval=cdk.Duration.seconds(10),
            timeout=cdk.Duration.seconds(5),
            retries=3,
            start_period=cdk.Duration.seconds(15),
        ),
        stop_timeout=cdk.Duration.seconds(STOP_TIMEOUT_SECONDS),
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix=workload.name,
            log_group=log_group,
            # A slow CloudWatch must not block the app's stdout.
            mode=ecs.AwsLogDriverMode.NON_BLOCKING,
            max_buffer_size=cdk.Size.mebibytes(25),
        ),
    )
    cdk.Tags.of(task_definition).add(TAG_APP, workload.name)
    task_definition.add_volume(name="tmp")
    container.add_mount_points(
        ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
    )
    return container


class ServiceRollout(TypedDict):
    """The keyword arguments of :func:`service_rollout`, typed so that ``**`` checks them."""

    circuit_breaker: ecs.DeploymentCircuitBreaker
    min_healthy_percent: int
    max_healthy_percent: int
    health_check_grace_period: cdk.Duration
    propagate_tags: ecs.PropagatedTagSource
    enable_ecs_managed_tags: bool


def service_rollout() -> ServiceRollout:
    """Keyword arguments every ECS service takes: safe, quick rolling deploys."""
    return {
        "circuit_breaker": ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        "min_healthy_percent": 100,
        "max_healthy_percent": 200,
        "health_check_grace_period": cdk.Duration.seconds(60),
        "propagate_tags": ecs.PropagatedTagSource.SERVICE,
        "enable_ecs_managed_tags": True,
    }


class PublicLoadBalancer(Construct):
    """An internet-facing ALB whose security group is the only way in to the service.

    HTTP on port 80 by default. With a certificate ARN it serves HTTPS on 443 with a modern TLS
    policy and redirects HTTP to it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        certificate_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Internet to the ALB; the ALB only to its targets",
            allow_all_outbound=False,
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=self.security_group,
            drop_invalid_header_fields=True,
        )
        if certificate_arn is None:
            self.listener = self.load_balancer.add_listener(
                "Http", port=80, protocol=elbv2.ApplicationProtocol.HTTP, open=True
            )
            scheme = "http"
        else:
            self.listener = self.load_balancer.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=True,
            )
            self.load_balancer.add_redirect(source_port=80, target_port=443)
            scheme = "https"
        self.url = f"{scheme}://{self.load_balancer.load_balancer_dns_name}"

    def route_to(self, service: ecs.BaseService) -> elbv2.ApplicationTargetGroup:
        """Send every request to the service's app container, health-checked on /health."""
        return self.listener.add_targets(
            "Service",
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[
                service.load_balancer_target(
                    container_name=APP_CONTAINER, container_port=CONTAINER_PORT
                )
            ],
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH,
                # The port each target was registered with: on EC2 that is Docker's dynamic one.
                port="traffic-port",
                healthy_http_codes="200",
                interval=HEALTH_CHECK_INTERVAL,
                timeout=cdk.Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
            deregistration_delay=DEREGISTRATION_DELAY,
        )


def autoscale(
    service: ecs.BaseService,
    *,
    scaling: TaskScaling,
    target_group: elbv2.ApplicationTargetGroup,
) -> None:
    """Target-tracking scaling between the configured task counts."""
    scalable = service.auto_scale_task_count(
        min_capacity=scaling.min_count, max_capacity=scaling.max_count
    )
    if scaling.metric == "cpu":
        scalable.scale_on_cpu_utilization(
            "CpuTracking",
            target_utilization_percent=scaling.target,
            scale_in_cooldown=SCALING_COOLDOWN,
            scale_out_cooldown=SCALING_COOLDOWN,
        )
    else:
        scalable.scale_on_request_count(
            "RequestTracking",
            requests_per_target=scaling.target,
            target_group=target_group,
            scale_in_cooldown=SCALING_COOLDOWN,
            scale_out_cooldown=SCALING_COOLDOWN,
        )
