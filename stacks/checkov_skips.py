"""The one place checkov findings are skipped: each on a resource, with a reason.

checkov reads skips from each resource's ``Metadata.checkov.skip`` in the template, so the
reason travels with the resource. Like the cdk-nag acknowledgements, a reason says why the
finding is acceptable for a sandbox that compares launch types; a skip whose path no longer
exists fails synth. Skips that depend on the config (HTTPS, Container Insights, reserved
concurrency, NAT) are only written when the finding can occur.
"""

from __future__ import annotations

from collections import defaultdict

import aws_cdk as cdk
from constructs import IConstruct

from stacks import names
from stacks.config import LaunchlabConfig
from stacks.constructs.paths import find_path

_LOG_KMS = (
    "CKV_AWS_158",
    "CloudWatch Logs encrypts every log group at rest with its own keys; a customer KMS key "
    "would cost $1 a month per sandbox and outlive it by its 7-day deletion window.",
)
_HELPER_LAMBDA = [
    (
        "CKV_AWS_115",
        "A CDK-provided custom-resource handler that runs only during deploys, once per "
        "resource: a concurrency limit would add nothing.",
    ),
    (
        "CKV_AWS_116",
        "A CDK-provided custom-resource handler: CloudFormation calls it synchronously and "
        "reports its failures itself, so a dead-letter queue would stay empty.",
    ),
    (
        "CKV_AWS_117",
        "A CDK-provided custom-resource handler that calls only AWS APIs; outside a VPC it needs "
        "no NAT gateway or endpoints (see the network stack's design).",
    ),
]


def apply_checkov_skips(stack: cdk.Stack, config: LaunchlabConfig) -> None:
    skips: dict[str, list[tuple[str, str]]] = defaultdict(list)
    name = stack.node.id  # not stack_name: inside a Stage that carries the stage's name
    if name == names.REGISTRY_STACK:
        for repository in ("NodeApp", "PythonApp"):
            skips[f"{repository}/Resource"] += [
                (
                    "CKV_AWS_51",
                    "Tags are immutable except cdk-<content hash>, which the deploy writes and "
                    "may write again (ECR refuses even an identical push to an immutable tag); "
                    "such a tag can only name the same image. See stacks/registry_stack.py.",
                ),
                (
                    "CKV_AWS_136",
                    "Encrypted at rest with AES-256 (ECR's own keys); a customer KMS key would "
                    "cost $1 a month per sandbox and outlive it by its deletion window.",
                ),
            ]
    if name in (names.ECS_EC2_STACK, names.FARGATE_STACK):
        skips["AppLogs/Resource"].append(_LOG_KMS)
        skips["Alb/LoadBalancer/Resource"].append(
            (
                "CKV_AWS_91",
                "ALB access logs need an S3 bucket that outlives the sandbox; the comparison "
                "reads request counts from CloudWatch metrics instead.",
            )
        )
        skips["Alb/SecurityGroup/Resource"].append(
            (
                "CKV_AWS_260",
                "A public demo endpoint: port 80 is open to the internet on the ALB only (it "
                "redirects to HTTPS when a certificate is configured).",
            )
        )
        if config.certificate_arn is None:
            for check in ("CKV_AWS_2", "CKV_AWS_103"):
                skips["Alb/LoadBalancer/Http/Resource"].append(
                    (
                        check,
                        "No certificate is configured (-c certificateArn=... turns on HTTPS "
                        "with TLS 1.2+ and redirects port 80): a sandbox has no domain.",
                    )
                )
        if not config.container_insights:
            skips["Cluster/Resource"].append(
                (
                    "CKV_AWS_65",
                    "Container Insights bills per metric, so it is off to keep the idle "
                    "sandbox cheap; -c containerInsights=true turns it on.",
                )
            )
    if name == names.ECS_EC2_STACK:
        skips["InstanceRole/DefaultPolicy/Resource"].append(
            (
                "CKV_AWS_111",
                "CDK's ECS agent policy: the write actions (ecs:Submit*, logs) are scoped to "
                "this cluster; only actions with no resource scope use '*'.",
            )
        )
        if config.network.nat_gateways == 0:
            skips["LaunchTemplate/Resource"].append(
                (
                    "CKV_AWS_88",
                    "Without NAT (the cheap default) instances need a public IP to reach ECR "
                    "and ECS; their security group admits only the ALB.",
                )
            )
    if name == names.LAMBDA_STACK:
        skips["FunctionLogs/Resource"].append(_LOG_KMS)
        function = [
            (
                "CKV_AWS_116",
                "Invoked synchronously through its URL: the caller gets every error, so a "
                "dead-letter queue (for asynchronous invokes) would stay empty.",
            ),
            (
                "CKV_AWS_117",
                "The app calls no AWS or private service; in a VPC it would need NAT or "
                "endpoints for nothing.",
            ),
            (
                "CKV_AWS_173",
                "The only variable is APP_VERSION (the image tag), not a secret; Lambda "
                "encrypts variables at rest with its own key.",
            ),
        ]
        if config.lambda_.reserved_concurrency is None:
            function.append(
                (
                    "CKV_AWS_115",
                    "Unreserved by default: new accounts have a concurrency quota of 10 and "
                    "cannot reserve any; -c lambdaReservedConcurrency=N sets a cap.",
                )
            )
        skips["Function/Resource"].extend(function)
        if config.lambda_.front_door == "http-api":
            skips["HttpApiAccessLogs/Resource"].append(_LOG_KMS)
        if config.lambda_.front_door == "function-url":
            skips["Function/FunctionUrl/Resource"].append(
                (
                    "CKV_AWS_258",
                    "A public demo endpoint, like the ALBs; -c lambdaReservedConcurrency caps "
                    "what anonymous traffic can cost.",
                )
            )
    for path, entries in skips.items():
        _skip(_find(stack, path), entries)
    _skip_cdk_helpers(stack)


def _skip_cdk_helpers(stack: cdk.Stack) -> None:
    """CDK's and cdk-ecr-deployment's own custom-resource functions, their log groups (which
    stacks/lambda_log_groups.py adds) and the image copier's fixed policy."""
    for node in stack.node.find_all():
        if not isinstance(node, cdk.CfnResource):
            continue
        path = node.node.path
        helper = "CustomResourceProvider" in path or "Custom::CDKECRDeployment" in path
        if not helper:
            continue
        kind = node.cfn_resource_type
        if kind == "AWS::Lambda::Function":
            _skip(node, _HELPER_LAMBDA)
        elif kind == "AWS::Logs::LogGroup":
            _skip(node, [_LOG_KMS])
        elif kind == "AWS::IAM::Policy" and "Custom::CDKECRDeployment" in path:
            reason = (
                "cdk-ecr-deployment adds this policy itself to copy images from the CDK asset "
                "repository into ours during deploys, and offers no way to narrow it."
            )
            _skip(node, [("CKV_AWS_108", reason), ("CKV_AWS_111", reason)])


def _find(scope: IConstruct, path: str) -> cdk.CfnResource:
    node = find_path(scope, path, what="checkov skip")
    if not isinstance(node, cdk.CfnResource):
        raise LookupError(f"checkov skip for {node.node.path}: not a CloudFormation resource")
    return node


def _skip(resource: cdk.CfnResource, entries: list[tuple[str, str]]) -> None:
    resource.add_metadata(
        "checkov", {"skip": [{"id": check, "comment": reason} for check, reason in entries]}
    )
