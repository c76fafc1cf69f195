"""Give every Lambda function in a stack a log group that the stack owns.

CDK's own helper functions (the custom resources that empty ECR repositories, restrict the
VPC's default security group, and copy images into ECR) let Lambda create
``/aws/lambda/<name>`` on first invocation. Such a group never expires and outlives
``cdk destroy``. Declaring the group in the template, with retention and a DESTROY removal
policy, fixes both; every custom resource in the stack waits for these groups, so each helper
logs into its own group from the first event to the last (on delete the groups go after the
custom resources that write to them).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
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
    return groups


def _resolved_name(stack: cdk.Stack, name: str) -> str:
    return json.dumps(stack.resolve(name), sort_keys=True)


def _needs_log_group(node: IConstruct) -> bool:
    if not isinstance(node, cdk.CfnResource) or resource_type(node) != "AWS::Lambda::Function":
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
