"""The shared walk of a stack (stacks/constructs/paths.py) on a bare stack: it must answer
exactly what the per-pass lookups it replaced answered, with the same failure messages."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs.paths import StackTree, find_path, resource_type


def _stack() -> tuple[cdk.Stack, Construct]:
    stack = cdk.Stack(cdk.App(), "Walk")
    sqs.Queue(stack, "Queue", enforce_ssl=True)
    # Shaped like CDK's singleton helpers: a stack-level construct whose id carries a marker,
    # holding generic CfnResources (their class does not say their type).
    helper = Construct(stack, "Custom::DemoCustomResourceProvider")
    cdk.CfnResource(helper, "Handler", type="AWS::Lambda::Function")
    cdk.CfnResource(stack, "Waiter", type="Custom::Waiter")
    return stack, helper


def test_find_returns_what_find_path_does_and_fails_with_its_message() -> None:
    stack, _ = _stack()
    tree = StackTree(stack)
    found = tree.find("Queue/Resource", what="nag suppression")
    assert isinstance(found, sqs.CfnQueue)
    assert (
        found.node.path
        == find_path(stack, "Queue/Resource", what="x").node.path
        == ("Walk/Queue/Resource")
    )
    assert tree.find("Queue/Resource", what="nag suppression") is found  # looked up once
    for path in ("Queue/Gone", "Gone/Resource", "Queue/Gone/Deeper"):
        with pytest.raises(LookupError) as from_tree:
            tree.find(path, what="checkov skip")
        with pytest.raises(LookupError) as from_path:
            find_path(stack, path, what="checkov skip")
        assert (
            str(from_tree.value)
            == str(from_path.value)
            == (f"checkov skip for Walk/{path}: no such construct; remove or update the skip")
        )


def test_resource_type_is_each_resources_own() -> None:
    stack, _ = _stack()
    tree = StackTree(stack)
    kinds = {node.node.path: resource_type(node) for node in tree.resources}
    assert kinds == {node.node.path: node.cfn_resource_type for node in tree.resources}
    assert kinds["Walk/Queue/Resource"] == "AWS::SQS::Queue"
    assert kinds["Walk/Custom::DemoCustomResourceProvider/Handler"] == "AWS::Lambda::Function"
    assert kinds["Walk/Queue/Policy/Resource"] == "AWS::SQS::QueuePolicy"
    assert kinds["Walk/Waiter"] == "Custom::Waiter"


def test_helper_resources_are_found_by_marker_including_ones_added_after_the_walk() -> None:
    stack, helper = _stack()
    tree = StackTree(stack)
    logs.CfnLogGroup(helper, "HandlerLogGroup")  # as stacks/lambda_log_groups.py adds one
    found = {node.node.path for node in tree.helper_resources("CustomResourceProvider")}
    assert found == {
        "Walk/Custom::DemoCustomResourceProvider/Handler",
        "Walk/Custom::DemoCustomResourceProvider/HandlerLogGroup",
    }
    assert tree.helper_resources("Custom::CDKECRDeployment") == []
