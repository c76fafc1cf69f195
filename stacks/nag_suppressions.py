"""The one place cdk-nag findings are acknowledged: each on a construct path, with a reason.

A reason says why the finding is acceptable for a sandbox that compares launch types, and what
a production deployment would do instead. A path that no longer exists fails synth, so a
suppression cannot outlive the resource it was written for.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from constructs import IConstruct

from stacks import names
from stacks.config import LaunchlabConfig
from stacks.constructs.paths import StackTree, find_path

_NAG = "AwsSolutions::AwsSolutions-"

_ALB = [
    (
        "Alb/LoadBalancer/Resource",
        "ELB2",
        "ALB access logs need an S3 bucket that outlives the sandbox; the comparison reads "
        "request counts from CloudWatch metrics instead. Production: log to a central bucket.",
    ),
    (
        "Alb/SecurityGroup/Resource",
        "EC23",
        "A public demo endpoint: 0.0.0.0/0 may reach the listener port and nothing else; the "
        "tasks behind the ALB admit only the ALB's security group.",
    ),
]
_TASK_DEFINITION = [
    (
        "TaskDefinition/Resource",
        "ECS2",
        "The only environment variables are PORT and APP_VERSION, neither of them secret; the "
        "apps read no credentials.",
    ),
    (
        "TaskDefinition/ExecutionRole/DefaultPolicy/Resource",
        "IAM5[Resource::*]",
        "ecr:GetAuthorizationToken supports only Resource '*'; the image pull itself is scoped "
        "to our repository and log writes to the service's own log group.",
    ),
]
_NO_INSIGHTS = [
    (
        "Cluster/Resource",
        "ECS4",
        "Container Insights bills per metric, so it is off to keep the idle sandbox cheap; "
        "turn it on with -c containerInsights=true.",
    ),
]

# The delete waiter of each managed launch type (stacks/constructs/delete_waiter.py).
_DELETE_WAITER = [
    (
        "DeleteWaiter/Role/DefaultPolicy/Resource",
        "IAM5[Resource::*]",
        "EC2's and Elastic Load Balancing's Describe actions support no resource scope; the "
        "waiter only reads, and changes nothing but its own cluster's capacity providers.",
    ),
]

_BY_STACK: dict[str, list[tuple[str, str, str]]] = {
    names.NETWORK_STACK: [
        (
            "Vpc/Resource",
            "VPC7",
            "The VPC carries only ALB-to-task traffic of demo services; flow logs would bill "
            "CloudWatch ingestion for traffic nobody inspects. Production: enable flow logs.",
        ),
    ],
    names.ECS_EC2_STACK: [
        *_ALB,
        *_TASK_DEFINITION,
        (
            "InstanceRole/Resource",
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
            "AWS's policy for Session Manager, which replaces SSH on the instances; AWS keeps it "
            "in step with what the SSM agent needs.",
        ),
        (
            "InstanceRole/DefaultPolicy/Resource",
            "IAM5[Action::ecs:Submit*]",
            "CDK's ECS agent policy: ecs:Submit* reports task and container state, scoped to "
            "this cluster's ARN.",
        ),
        (
            "InstanceRole/DefaultPolicy/Resource",
            "IAM5[Resource::*]",
            "CDK's ECS agent policy: ecr:GetAuthorizationToken and ecs:DiscoverPollEndpoint "
            "support no resource scope, and ecs:Poll is conditioned on this cluster.",
        ),
        (
            "AsgTeardown/Role/DefaultPolicy/Resource",
            "IAM5[Resource::*]",
            "autoscaling:DescribeAutoScalingGroups supports no resource scope (the handler "
            "only polls for the group to be gone); the delete is scoped to this stack's group.",
        ),
        (
            "AsgTeardown/Role/DefaultPolicy/Resource",
            "IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:"
            "autoScalingGroup:*:autoScalingGroupName/<{Instances/ASG}>]",
            "An Auto Scaling group's ARN carries a UUID that exists only once the group does; "
            "the group name pins the delete to this stack's own group.",
        ),
        (
            "Instances/ASG",
            "AS3",
            "The ECS capacity provider drives this group and ECS events record its scaling; "
            "nobody reads scaling notifications in a sandbox. Production: notify an SNS topic.",
        ),
    ],
    names.FARGATE_STACK: [*_ALB, *_TASK_DEFINITION],
    # --- opt-in launch types ---
    names.ECS_MANAGED_INSTANCES_STACK: [
        *_DELETE_WAITER,
        *_ALB,
        *_TASK_DEFINITION,
        (
            "InfrastructureRole/Resource",
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AmazonECSInfrastructureRolePolicyForManagedInstances]",
            "AWS's policy for ECS Managed Instances, which AWS keeps in step with what ECS needs "
            "to launch, patch and terminate the instances; it may pass only instance profiles "
            "named ecsInstanceRole*.",
        ),
        (
            "CapacityProvider/InstanceRole/Resource",
            "IAM5[Resource::*]",
            "CDK's ECS agent policy for managed instances: ecs:DiscoverPollEndpoint supports no "
            "resource scope; registration and state changes are scoped to this cluster.",
        ),
        (
            "CapacityProvider/InstanceRole/Resource",
            "IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:"
            "container-instance/*]",
            "CDK's ECS agent policy: container instance ARNs are only known once ECS launches "
            "them, so polling and telemetry name this account's and region's instances.",
        ),
    ],
    names.EXPRESS_STACK: [
        *_DELETE_WAITER,
        (
            "ExecutionRole/DefaultPolicy/Resource",
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken supports only Resource '*'; the image pull itself is "
            "scoped to our repository and log writes to the service's own log group.",
        ),
        (
            "InfrastructureRole/Resource",
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonECSInfrastructureRoleforExpressGatewayServices]",
            "AWS's policy for Express Mode: ECS creates and deletes the ALB, certificate, "
            "scaling and alarms with it, and AWS keeps it in step with what Express Mode needs.",
        ),
    ],
    names.LAMBDA_MANAGED_INSTANCES_STACK: [
        *_DELETE_WAITER,
        (
            "CapacityProvider/OperatorRole/Resource",
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator]",
            "AWS's policy for Lambda Managed Instances: Lambda launches and terminates the "
            "capacity provider's instances with it, and AWS keeps it in step with the service.",
        ),
    ],
}
_HTTP_API = [
    (
        "HttpApi/DefaultRoute/Resource",
        "APIG4",
        "A public demo endpoint, like the Function URL it replaces (auth type NONE); the "
        "function's reserved concurrency caps what anonymous traffic can cost. Production: "
        "an IAM or JWT authorizer.",
    ),
]

# A mixed-instances group (ec2SpotShare above 0) names its launch template inside
# MixedInstancesPolicy, where cdk-nag's EC26 rule does not look: the rule throws ("Cannot read
# properties of undefined (reading 'launchTemplateName')") instead of judging it.
_SPOT_GROUP = [
    (
        "Instances/ASG",
        "EC26",
        "The group's launch template encrypts its only EBS volume (encrypted=True on the root "
        "device); EC26 cannot read a launch template inside a mixed-instances policy and throws.",
    ),
]

_IMAGE_COPY = [
    (
        "ServiceRole/Resource",
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "cdk-ecr-deployment's own handler role; it runs only during deploys, logging to a "
        "group this stack owns and deletes.",
    ),
    (
        "ServiceRole/DefaultPolicy/Resource",
        "IAM5[Resource::*]",
        "cdk-ecr-deployment adds this policy itself (it copies between the CDK asset "
        "repository and ours, and GetAuthorizationToken has no resource scope); it offers no "
        "way to narrow it.",
    ),
]


# The NAT instance (`-c egress=nat-instance`, when Lambda Managed Instances is selected).
_NAT_INSTANCE = [
    (
        "Vpc/publicSubnet1/NatInstance/Resource",
        "EC28",
        "Detailed monitoring bills per metric; the NAT instance's 5-minute basic metrics are "
        "enough for a sandbox. Production: a NAT gateway (-c egress=nat-gateway).",
    ),
    (
        "Vpc/publicSubnet1/NatInstance/Resource",
        "EC29",
        "Termination protection would stop `cdk destroy`; a redeploy replaces the instance "
        "(a new AL2023 image each time), so it needs none.",
    ),
]


def apply_suppressions(tree: StackTree, config: LaunchlabConfig) -> None:
    """Acknowledge the findings this stack is known to carry, by path."""
    name = tree.id
    entries = list(_BY_STACK.get(name, []))
    if not config.container_insights and name in (
        names.ECS_EC2_STACK,
        names.FARGATE_STACK,
        names.ECS_MANAGED_INSTANCES_STACK,
        names.EXPRESS_STACK,
    ):
        entries += _NO_INSIGHTS
    if name == names.LAMBDA_STACK and config.lambda_.front_door == "http-api":
        entries += _HTTP_API
    if name == names.NETWORK_STACK and config.network.nat_instance:
        entries += _NAT_INSTANCE
    if name == names.ECS_EC2_STACK and config.ecs_ec2.spot_share > 0:
        entries += _SPOT_GROUP
    for path, rule, reason in entries:
        _acknowledge(tree.find(path, what="nag suppression"), _with_logical_ids(tree, rule), reason)
    # cdk-ecr-deployment's handler is a singleton whose construct id carries a version hash;
    # it exists only when the images are built during deploy.
    for child_id, child in tree.children.items():
        if child_id.startswith("Custom::CDKECRDeployment"):
            for path, rule, reason in _IMAGE_COPY:
                _acknowledge(find_path(child, path, what="nag suppression"), rule, reason)


# In a rule, "{Instances/ASG}" stands for the logical id CloudFormation gives the resource at
# that construct path, which cdk-nag writes into the finding it raises (a hash of the path).
_PATH_IN_RULE = re.compile(r"\{([A-Za-z0-9/]+)\}")


def _with_logical_ids(tree: StackTree, rule: str) -> str:
    def logical_id(match: re.Match[str]) -> str:
        node = tree.find(f"{match.group(1)}", what="nag suppression's resource")
        resource = node if isinstance(node, cdk.CfnElement) else node.node.default_child
        assert isinstance(resource, cdk.CfnElement), match.group(1)
        return str(tree.stack.resolve(tree.stack.get_logical_id(resource)))

    return _PATH_IN_RULE.sub(logical_id, rule)


def _acknowledge(node: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(node).acknowledge(cdk.Acknowledgment(id=f"{_NAG}{rule}", reason=reason))
