"""Give every Lambda function in a stack a log group that the stack owns.

CDK's own helper functions (the custom resources that empty ECR repositories, restrict the
VPC's default security group, and copy images into ECR) let Lambda create
``/aws/lambda/<name>`` on first invocation. Such a group never expires and outlives
``cdk destroy``. Declaring the group in the template, with retention and a DESTROY removal
policy, fixes both; every custom resource in the stack waits for these groups, so each helper
logs into its own group from the first event to the last (on delete the groups go after the
custom resources that write to them).

Owning the group is not enough: a role that may ``logs:CreateLogGroup`` (CDK's helper roles
carry AWSLambdaBasicExecutionRole) lets a handler's last log lines recreate the group, with no
retention, after CloudFormation deleted it (aws/aws-cdk#31487, #32689). So every function's
role gets an explicit Deny of that action, in a policy the function depends on: it exists
before the first invocation and is deleted only after the function.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from stacks.constructs.paths import StackTree, resource_type


def own_lambda_log_groups(tree: StackTree, *, retention_days: int) -> list[logs.CfnLogGroup]:
    """Make sure each Lambda function in the stack logs to a group the stack owns and expires.

    A function with a log group of its own in its logging config is left alone. A group that
    a construct already declares under the function's default name (cdk-ecr-deployment keeps
    one for two years and retains it) gets our retention and is deleted with the stack.
    Every other function gets a new group. Returns the groups this stack now owns this way.
    """
    stack, resources = tree.stack, tree.resources
    declared = {
        _resolved_name(stack, node.log_group_name): node
        for node in resources
        if isinstance(node, logs.CfnLogGroup) and node.log_group_name is not None
    }
    groups = []
    for function in filter(_needs_log_group, resources):
        name = cdk.Fn.join("", ["/aws/lambda/", function.ref])
        group = declared.get(_resolved_name(stack, name))
        if group is None:
            parent = function.node.scope
            assert isinstance(parent, Construct)
            group = logs.CfnLogGroup(parent, f"{function.node.id}LogGroup", log_group_name=name)
        group.retention_in_days = retention_days
        group.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        groups.append(group)
    for resource in resources:
        if _is_custom_resource(resource):
            for group in groups:
                resource.add_resource_dependency(group, "logs into a group the stack owns")
    roles = {
        _resolved_name(stack, node.logical_id): node
        for node in resources
        if resource_type(node) == "AWS::IAM::Role"
    }
    denials: dict[str, iam.CfnPolicy] = {}  # one per role: a policy name is unique per role
    for function in filter(_is_function, resources):
        role = _role_of(stack, function, roles)
        deny = denials.get(role.node.path)
        if deny is None:
            deny = denials[role.node.path] = _deny_creating_log_groups(stack, role)
        function.add_resource_dependency(deny, "denied logs:CreateLogGroup before its first run")
    return groups


DENY_CREATE_LOG_GROUP = "DenyCreateLogGroup"


def _role_of(
    stack: cdk.Stack, function: cdk.CfnResource, roles: dict[str, cdk.CfnResource]
) -> cdk.CfnResource:
    role_arn = stack.resolve(
        function.role
        if isinstance(function, lambda_.CfnFunction)
        else function._cfn_properties.get("Role")
    )
    role_id = role_arn.get("Fn::GetAtt", [None])[0] if isinstance(role_arn, dict) else None
    role = roles.get(json.dumps(role_id))
    if role is None:
        raise LookupError(
            f"{function.node.path}: its role is not a role of this stack ({role_arn!r}); "
            "cannot deny it logs:CreateLogGroup"
        )
    return role


def _deny_creating_log_groups(stack: cdk.Stack, role: cdk.CfnResource) -> iam.CfnPolicy:
    # At the stack's root, named after the role: not inside a helper's own construct, whose
    # findings and skips (stacks/checkov_skips.py) are about the helper's Allow policies.
    return iam.CfnPolicy(
        stack,
        f"{stack.resolve(role.logical_id)}{DENY_CREATE_LOG_GROUP}",
        policy_name=DENY_CREATE_LOG_GROUP,
        roles=[role.ref],
        policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "LogGroupsBelongToTheStack",
                    "Effect": "Deny",
                    "Action": "logs:CreateLogGroup",
                    "Resource": "*",
                }
            ],
        },
    )


def _resolved_name(stack: cdk.Stack, name: str) -> str:
    return json.dumps(stack.resolve(name), sort_keys=True)


def _is_function(node: IConstruct) -> bool:
    return isinstance(node, cdk.CfnResource) and resource_type(node) == "AWS::Lambda::Function"


def _needs_log_group(node: IConstruct) -> bool:
    if not isinstance(node, cdk.CfnResource) or not _is_function(node):
        return False
    if isinstance(node, lambda_.CfnFunction):
        logging_config = node.logging_config
        if isinstance(logging_config, lambda_.CfnFunction.LoggingConfigProperty):
            return logging_config.log_group is None
        return logging_config is None
    return True


def _is_custom_resource(node: cdk.CfnResource) -> bool:
    kind = resource_type(node)
    return kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"
