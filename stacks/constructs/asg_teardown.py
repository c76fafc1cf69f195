"""AsgTeardown: `cdk destroy` of an ECS capacity Auto Scaling group that never waits an hour.

With managed draining on, ECS adds the lifecycle hook ``ecs-managed-draining-termination-hook``
(3600 s) to the group, outside CloudFormation. On stack delete CloudFormation removes the
capacity provider, then scales the group to zero: an instance can sit in Terminating:Wait,
billed, until the hook times out, and the stack may end DELETE_FAILED (aws/aws-cdk#18179,
#14732, #19275). AWS's own capacity-provider pattern (aws-samples/container-patterns,
pattern/ecs-ec2-capacity-provider-scaling, "CustomAsgDestroyer") answers this with a custom
resource that force-deletes the group on teardown, ordered after the cluster's capacity
provider association; this is that resource. DeleteAutoScalingGroup with ForceDelete also
deletes the group's outstanding lifecycle actions and does not wait for its instances
(AutoScaling API reference), so no hook is left for anyone to complete.

Why not turn managed draining off instead: then nothing drains an instance's tasks before it
goes on a scale-in or an instance replacement (the rolling update in ecs_ec2_stack.py), and
requests in flight on it are cut. The teardown keeps draining for the life of the stack and
costs a Lambda function that runs once on create and once on delete (free tier).

Compared with AWS's sample, the handler also waits until the group is gone (so CloudFormation's
own delete finds nothing left), acts only when the stack itself is going (a Delete sent because
this resource was replaced or removed in an update must not delete the live group), logs to a
group the stack owns, and its role may delete this one group and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from stacks.constructs.logs import retained_log_group

HANDLER_SOURCE = Path(__file__).resolve().parent / "handlers" / "asg_teardown_handler.py"
RESOURCE_TYPE = "Custom::AsgTeardown"
# A force delete with one or two instances takes a few minutes; the handler stops waiting
# 30 s before its timeout, and CloudFormation gives up on a silent handler soon after.
HANDLER_TIMEOUT = cdk.Duration.minutes(14)
SERVICE_TIMEOUT = cdk.Duration.minutes(15)


class AsgTeardown(Construct):
    """Force-deletes ``auto_scaling_group`` when its stack is deleted, after the cluster's
    capacity provider associations are gone."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        auto_scaling_group: autoscaling.AutoScalingGroup,
        cluster: ecs.Cluster,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        log_group = retained_log_group(self, "Logs", retention_days=log_retention_days)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="launchlab: force-delete the ECS instances' group on stack delete",
        )
        log_group.grant_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["autoscaling:DeleteAutoScalingGroup"],
                resources=[auto_scaling_group.auto_scaling_group_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["autoscaling:DescribeAutoScalingGroups"],
                resources=["*"],  # the action has no resource scope
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"], resources=[cdk.Aws.STACK_ID]
            )
        )
        handler = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER_SOURCE.read_text()),
            timeout=HANDLER_TIMEOUT,
            memory_size=128,
            role=role,
            log_group=log_group,
            description="launchlab: force-delete the ECS instances' group on stack delete",
        )
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=handler.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={"AutoScalingGroupName": auto_scaling_group.auto_scaling_group_name},
            service_timeout=SERVICE_TIMEOUT,
        )
        # CDK creates the associations at synth, in an aspect of the cluster's own.
        cdk.Aspects.of(cluster).add(_AssociationsWaitFor(self.resource))


@jsii.implements(cdk.IAspect)
class _AssociationsWaitFor:
    """The cluster's capacity provider associations depend on the teardown, so on delete the
    services go, then the associations, then the group is force-deleted (AWS's order)."""

    def __init__(self, teardown: cdk.CustomResource) -> None:
        self._teardown = teardown

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, ecs.CfnClusterCapacityProviderAssociations):
            teardown = self._teardown.node.default_child
            assert isinstance(teardown, cdk.CfnResource)
            node.add_resource_dependency(teardown, "the group goes after the associations")
