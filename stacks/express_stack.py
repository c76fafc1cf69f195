"""ExpressServiceStack: the sample app as an ECS Express Mode service (image in, HTTPS URL out).

One ``AWS::ECS::ExpressGatewayService`` on Fargate, in this project's VPC and cluster.

ECS itself creates, outside this template, an HTTPS ALB (shared by the Express services
of the account that fit it), a listener rule and target groups, security groups, an ACM
certificate for a generated ``*.ecs.<region>.on.aws`` name, target-tracking scaling and
CloudWatch alarms; deleting the service deletes them. This stack keeps what it can:

- its own cluster, so ECS never creates a ``default`` one outside CloudFormation;
- the app's log group, with the project's retention, deleted with the stack;
- separate execution (image pull, log writes, nothing else), task (no permissions) and
  infrastructure roles; the infrastructure role outlives the service on delete (the
  service depends on it), so ECS can still remove what it created;
- the service name left to CloudFormation: ECS holds on to deleted Express service
  names, so a fixed name would block the next deploy after a destroy.

Express offers no settings for the container's user or a read-only root filesystem: the
image itself runs as the non-root user 10001.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import EXPRESS_SCALING_METRICS, ExpressConfig, LaunchlabConfig
from stacks.constructs.delete_waiter import DeleteWaiter
from stacks.constructs.ecs_service import after_capacity_providers, ecs_cluster
from stacks.constructs.logs import retained_log_group
from stacks.constructs.placement import ServicePlacement
from stacks.images import ImageRef, ImageRequest
from stacks.launch_types import LaunchTypeSpec
from stacks.names import TAG_APP
from stacks.workloads import CONTAINER_PORT, HEALTH_PATH, WORKLOADS

# The AWS managed policy that lets ECS create and delete the ALB, listener rules, target
# groups, security groups, certificate, scaling policies and alarms of Express services.
# Source: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonECSInfrastructureRoleforExpressGatewayServices.html
INFRASTRUCTURE_POLICY = "service-role/AmazonECSInfrastructureRoleforExpressGatewayServices"


def image_for(config: LaunchlabConfig) -> ImageRequest:
    # Express Mode runs on Fargate and offers no choice of CPU architecture: x86_64.
    return ImageRequest(WORKLOADS[config.opt_in.express.app], "x86_64")


def build(
    scope: Construct,
    spec: LaunchTypeSpec,
    *,
    config: LaunchlabConfig,
    image: ImageRef,
    placement: ServicePlacement,
) -> cdk.Stack:
    return ExpressServiceStack(
        scope,
        spec.stack_id,
        config=config.opt_in.express,
        image=image,
        description="launchlab: the sample app as an ECS Express Mode service",
        placement=placement,
    )


class ExpressServiceStack(cdk.Stack):
    """One ``AWS::ECS::ExpressGatewayService`` on Fargate, in this project's VPC and cluster.
    (What it builds and why: the module docstring.)"""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: ServicePlacement,
        config: ExpressConfig,
        image: ImageRef,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        workload = WORKLOADS[config.app]
        self.cluster = ecs_cluster(
            self, vpc=placement.vpc, container_insights=placement.container_insights, fargate=True
        )
        log_group = retained_log_group(self, "AppLogs", retention_days=placement.log_retention_days)
        execution_role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Express service tasks: pull the app image, write the app's logs",
        )
        image.repository.grant_pull(execution_role)
        log_group.grant_write(execution_role)
        task_role = iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Express service app: calls no AWS API, so it may do nothing",
        )
        infrastructure_role = iam.Role(
            self,
            "InfrastructureRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            description="ECS Express Mode: the ALB, certificate, scaling and alarms it manages",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(INFRASTRUCTURE_POLICY)
            ],
        )
        scaling = config.scaling
        self.service = ecs.CfnExpressGatewayService(
            self,
            "Service",
            cluster=self.cluster.cluster_name,
            infrastructure_role_arn=infrastructure_role.role_arn,
            execution_role_arn=execution_role.role_arn,
            task_role_arn=task_role.role_arn,
            cpu=str(config.cpu),
            memory=str(config.memory_mib),
            health_check_path=HEALTH_PATH,
            network_configuration=ecs.CfnExpressGatewayService.ExpressGatewayServiceNetworkConfigurationProperty(
                # Always the public subnets: ECS makes the ALB internet-facing only when the
                # service's subnets are public (internal in private ones), and puts the tasks
                # there too, with no public IP. They reach ECR, S3 and CloudWatch Logs through
                # the network stack's VPC endpoints (launch_types network "endpoints"; the
                # sources are in docs/deploy.md).
                subnets=[subnet.subnet_id for subnet in placement.public_subnets()],
            ),
            primary_container=ecs.CfnExpressGatewayService.ExpressGatewayContainerProperty(
                image=image.repository.repository_uri_for_tag(image.tag),
                container_port=CONTAINER_PORT,
                environment=[
                    ecs.CfnExpressGatewayService.KeyValuePairProperty(
                        name="PORT", value=str(CONTAINER_PORT)
                    ),
                    ecs.CfnExpressGatewayService.KeyValuePairProperty(
                        name="APP_VERSION", value=image.tag
                    ),
                ],
                aws_logs_configuration=ecs.CfnExpressGatewayService.ExpressGatewayServiceAwsLogsConfigurationProperty(
                    log_group=log_group.log_group_name, log_stream_prefix=workload.name
                ),
            ),
            scaling_target=ecs.CfnExpressGatewayService.ExpressGatewayScalingTargetProperty(
                min_task_count=scaling.min_count,
                max_task_count=scaling.max_count,
                auto_scaling_metric=EXPRESS_SCALING_METRICS[scaling.metric],
                auto_scaling_target_value=scaling.target,
            ),
        )
        cdk.Tags.of(self.service).add(TAG_APP, workload.name)
        # The roles' policies must be in place before ECS uses them, and must outlive the
        # service on delete (a Ref alone would not wait for a DefaultPolicy).
        self.service.node.add_dependency(execution_role, infrastructure_role)
        # The cluster's FARGATE capacity provider must be associated before the service asks
        # for Fargate capacity, and on delete must outlive it.
        after_capacity_providers(self.service, self.cluster)
        # Deleting the service only starts ECS's own teardown (DRAINING): its tasks stop, then
        # the load balancer, target groups and security groups it made go, with the
        # infrastructure role. The role, the cluster's FARGATE association (which cannot be
        # removed while the draining tasks still use it), and so the stack and then the VPC,
        # wait for them.
        DeleteWaiter(
            self,
            "DeleteWaiter",
            before=self.service,
            after=[infrastructure_role],
            log_retention_days=placement.log_retention_days,
            vpc=placement.vpc,
            cluster=self.cluster,
        )

        cdk.CfnOutput(
            self,
            "EndpointUrl",
            value=cdk.Fn.join("", ["https://", self.service.attr_endpoint]),
        )
        cdk.CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        # The service ARN ends in <cluster>/<service name>.
        cdk.CfnOutput(
            self,
            "ServiceName",
            value=cdk.Fn.select(2, cdk.Fn.split("/", self.service.attr_service_arn)),
        )
        cdk.CfnOutput(self, "ServiceArn", value=self.service.attr_service_arn)
        cdk.CfnOutput(
            self,
            "ManagedLoadBalancerArn",
            value=self.service.attr_ecs_managed_resource_arns_ingress_path_load_balancer_arn,
            description="The ALB ECS created for this service, outside CloudFormation",
        )
