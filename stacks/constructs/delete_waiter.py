"""DeleteWaiter: a stack delete that waits for what a managed launch type leaves running.

ECS Managed Instances, ECS Express Mode and Lambda Managed Instances each create resources
outside CloudFormation (instances, their network interfaces; a load balancer, target groups,
security groups) and remove them after CloudFormation has deleted the resource that made
them, asynchronously, with a role of the stack's own:

- DeleteExpressGatewayService returns while the service is DRAINING; ECS then deletes the ALB,
  target groups and security groups it made (API reference, DeleteExpressGatewayService),
  with the infrastructure role. A role deleted first strands them (a service left DRAINING is
  the known symptom: aws/aws-cli#1334), and their security groups keep the VPC from going.
- A Lambda capacity provider's deletion is accepted (202) and its instances terminated after
  (API reference, DeleteCapacityProvider), with the operator role; their interfaces keep the
  security group, and the subnets, in use.
- An ECS Managed Instances capacity provider fails to delete while its instances are
  registered (aws/aws-cdk#36071); ECS terminates idle ones (after the provider's ScaleInAfter)
  with the infrastructure role.

The waiter is a custom resource ordered between the resource that starts the teardown (it
depends on the waiter, so it goes first) and what must outlive it (the waiter depends on them:
the role, the security group, the capacity provider's cluster association), so CloudFormation
deletes those only once the waiter has seen the teardown finish or waited 14 minutes (then
`launchlab down` carries on where it stopped). On create and update it does nothing.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from stacks.constructs.asg_teardown import HANDLER_TIMEOUT, SERVICE_TIMEOUT
from stacks.constructs.logs import retained_log_group

HANDLERS = Path(__file__).resolve().parent / "handlers"
RESOURCE_TYPE = "Custom::DeleteWaiter"


class DeleteWaiter(Construct):
    """On stack delete, after ``before`` is deleted and before ``after`` is: wait for the
    instances and interfaces in ``security_group`` and the ECS-managed resources in ``vpc``
    (whichever are given). ``cluster``'s capacity provider associations are deleted after the
    wait."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        before: IConstruct | None,
        after: list[IConstruct],
        log_retention_days: int,
        security_group: ec2.ISecurityGroup | None = None,
        vpc: ec2.IVpc | None = None,
        cluster: ecs.Cluster | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        log_group = retained_log_group(self, "Logs", retention_days=log_retention_days)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="launchlab: wait on stack delete for what AWS removes after it",
        )
        log_group.grant_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"], resources=[cdk.Aws.STACK_ID]
            )
        )
        properties: dict[str, str] = {}
        describe = []
        if security_group is not None:
            properties["SecurityGroupId"] = security_group.security_group_id
            describe += ["ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"]
        if vpc is not None:
            properties["VpcId"] = vpc.vpc_id
            describe += [
                "ec2:DescribeSecurityGroups",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTags",
            ]
        if describe:
            role.add_to_policy(
                iam.PolicyStatement(actions=describe, resources=["*"])  # no resource scope
            )
        handler = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="delete_waiter_handler.handler",
            code=lambda_.Code.from_asset(str(HANDLERS), exclude=["__pycache__", "*.pyc"]),
            timeout=HANDLER_TIMEOUT,
            memory_size=128,
            role=role,
            log_group=log_group,
            description="launchlab: wait on stack delete for what AWS removes after it",
        )
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=handler.function_arn,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=SERVICE_TIMEOUT,
        )
        # Its policy must exist while it runs on delete: the resource goes before its role's.
        self.resource.node.add_dependency(role)
        assert before is not None, "the resource whose delete starts the teardown"
        before.node.add_dependency(self.resource)
        for construct in after:
            self.resource.node.add_dependency(construct)
        if cluster is not None:
            # CDK creates the cluster's capacity provider associations at synth, in an aspect.
            cdk.Aspects.of(cluster).add(_AssociationsOutlive(self.resource))


@jsii.implements(cdk.IAspect)
class _AssociationsOutlive:
    """The cluster's capacity provider associations go after the waiter."""

    def __init__(self, waiter: cdk.CustomResource) -> None:
        self._waiter = waiter

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, ecs.CfnClusterCapacityProviderAssociations):
            waiter = self._waiter.node.default_child
            assert isinstance(waiter, cdk.CfnResource)
            waiter.add_dependency(node)
