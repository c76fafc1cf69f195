"""The one place checkov findings are skipped: each on a resource, with a reason.

checkov reads skips from each resource's ``Metadata.checkov.skip`` in the template, so the
reason travels with the resource. Like the cdk-nag acknowledgements, a reason says why the
finding is acceptable for a sandbox that compares launch types; a skip whose path no longer
exists fails synth. Skips that depend on the config (HTTPS, Container Insights, reserved
concurrency, NAT, the Lambda front door) are only written when the finding can occur.

The skips are data, as nag's suppressions are: (construct path below the stack, check,
reason), by stack, plus one table of config conditions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import aws_cdk as cdk
from constructs import IConstruct

from stacks import names
from stacks.config import LaunchlabConfig
from stacks.constructs.paths import StackTree, find_path, resource_type

Skip = tuple[str, str, str]  # (construct path below the stack, checkov check id, reason)

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
_URL_INVOKED_NO_DLQ = (
    "CKV_AWS_116",
    "Invoked synchronously through its URL: the caller gets every error, so a dead-letter "
    "queue (for asynchronous invokes) would stay empty.",
)
_IMAGE_COPY_POLICY = (
    "cdk-ecr-deployment adds this policy itself to copy images from the CDK asset repository "
    "into ours during deploys, and offers no way to narrow it."
)

# Each managed launch type's delete waiter (stacks/constructs/delete_waiter.py).
_DELETE_WAITER = [
    ("DeleteWaiter/Logs/Resource", *_LOG_KMS),
    (
        "DeleteWaiter/Handler/Resource",
        "CKV_AWS_115",
        "Runs once on create and once on stack delete: a concurrency limit would add nothing.",
    ),
    (
        "DeleteWaiter/Handler/Resource",
        "CKV_AWS_116",
        "A custom-resource handler: CloudFormation calls it synchronously and it reports "
        "every outcome itself, so a dead-letter queue would stay empty.",
    ),
    (
        "DeleteWaiter/Handler/Resource",
        "CKV_AWS_117",
        "Calls only AWS APIs (EC2, ELB, ECS, CloudFormation); in the VPC it would need NAT or "
        "endpoints for nothing, and would hold an interface in the VPC it waits to delete.",
    ),
]

_REPOSITORY = [
    (
        "CKV_AWS_51",
        "Tags are immutable except cdk-<content hash>, which the deploy writes and may write "
        "again (ECR refuses even an identical push to an immutable tag); such a tag can only "
        "name the same image. See stacks/registry_stack.py.",
    ),
    (
        "CKV_AWS_136",
        "Encrypted at rest with AES-256 (ECR's own keys); a customer KMS key would cost $1 a "
        "month per sandbox and outlive it by its deletion window.",
    ),
]
_ALB_SERVICE: list[Skip] = [
    ("AppLogs/Resource", *_LOG_KMS),
    (
        "Alb/LoadBalancer/Resource",
        "CKV_AWS_91",
        "ALB access logs need an S3 bucket that outlives the sandbox; the comparison reads "
        "request counts from CloudWatch metrics instead.",
    ),
    (
        "Alb/SecurityGroup/Resource",
        "CKV_AWS_260",
        "A public demo endpoint: port 80 is open to the internet on the ALB only (it redirects "
        "to HTTPS when a certificate is configured).",
    ),
]

_BY_STACK: dict[str, list[Skip]] = {
    names.REGISTRY_STACK: [
        (f"{repository}/Resource", check, reason)
        for repository in ("NodeApp", "PythonApp")
        for check, reason in _REPOSITORY
    ],
    names.ECS_EC2_STACK: [
        *_ALB_SERVICE,
        ("AsgTeardown/Logs/Resource", *_LOG_KMS),
        (
            "AsgTeardown/Handler/Resource",
            "CKV_AWS_115",
            "Runs once on create and once on stack delete (stacks/constructs/asg_teardown.py): "
            "a concurrency limit would add nothing.",
        ),
        (
            "AsgTeardown/Handler/Resource",
            "CKV_AWS_116",
            "A custom-resource handler: CloudFormation calls it synchronously and it reports "
            "every outcome itself, so a dead-letter queue would stay empty.",
        ),
        (
            "AsgTeardown/Handler/Resource",
            "CKV_AWS_117",
            "Calls only the Auto Scaling and CloudFormation APIs; in a VPC it would need NAT or "
            "endpoints for nothing.",
        ),
        (
            "InstanceRole/DefaultPolicy/Resource",
            "CKV_AWS_111",
            "CDK's ECS agent policy: the write actions (ecs:Submit*, logs) are scoped to this "
            "cluster; only actions with no resource scope use '*'.",
        ),
    ],
    names.FARGATE_STACK: _ALB_SERVICE,
    names.LAMBDA_STACK: [
        ("FunctionLogs/Resource", *_LOG_KMS),
        ("Function/Resource", *_URL_INVOKED_NO_DLQ),
        (
            "Function/Resource",
            "CKV_AWS_117",
            "The app calls no AWS or private service; in a VPC it would need NAT or endpoints "
            "for nothing.",
        ),
        (
            "Function/Resource",
            "CKV_AWS_173",
            "The only variable is APP_VERSION (the image tag), not a secret; Lambda encrypts "
            "variables at rest with its own key.",
        ),
    ],
    # --- opt-in launch types ---
    names.ECS_MANAGED_INSTANCES_STACK: [*_ALB_SERVICE, *_DELETE_WAITER],
    # Express Mode's ALB is ECS's, outside the template (HTTPS only, with its own certificate).
    names.EXPRESS_STACK: [("AppLogs/Resource", *_LOG_KMS), *_DELETE_WAITER],
    names.LAMBDA_MANAGED_INSTANCES_STACK: [
        *_DELETE_WAITER,
        ("FunctionLogs/Resource", *_LOG_KMS),
        ("CapacityProviderLogs/Resource", *_LOG_KMS),
        ("Function/Resource", *_URL_INVOKED_NO_DLQ),
        (
            "Function/Resource",
            "CKV_AWS_117",
            "Runs on the capacity provider's instances, which are in our VPC; a managed "
            "instances function takes no VPC configuration of its own.",
        ),
        (
            "Function/Resource",
            "CKV_AWS_115",
            "Concurrency is bounded by the capacity provider instead: at most lmiMaxVcpus vCPUs "
            "and lmiMaxEnvironments environments of lmiMaxConcurrency requests each.",
        ),
        (
            "Function/Resource",
            "CKV_AWS_173",
            "The only variable is APP_VERSION (a hash of the code), not a secret; Lambda "
            "encrypts variables at rest with its own key.",
        ),
        (
            "Live/FunctionUrl/Resource",
            "CKV_AWS_258",
            "A public demo endpoint, like the ALBs; the capacity provider's vCPU ceiling caps "
            "what anonymous traffic can cost.",
        ),
    ],
}

_NO_CERTIFICATE = (
    "No certificate is configured (-c certificateArn=... turns on HTTPS with TLS 1.2+ and "
    "redirects port 80): a sandbox has no domain."
)
_ALB_STACKS = (names.ECS_EC2_STACK, names.FARGATE_STACK, names.ECS_MANAGED_INSTANCES_STACK)
_CLUSTER_STACKS = (*_ALB_STACKS, names.EXPRESS_STACK)

# Skips for findings that only some configs produce: (when, in which stacks, skips).
_WHEN: list[tuple[Callable[[LaunchlabConfig], bool], tuple[str, ...], list[Skip]]] = [
    (
        lambda config: config.certificate_arn is None,
        _ALB_STACKS,
        [
            ("Alb/LoadBalancer/Http/Resource", "CKV_AWS_2", _NO_CERTIFICATE),
            ("Alb/LoadBalancer/Http/Resource", "CKV_AWS_103", _NO_CERTIFICATE),
        ],
    ),
    (
        lambda config: not config.container_insights,
        _CLUSTER_STACKS,
        [
            (
                "Cluster/Resource",
                "CKV_AWS_65",
                "Container Insights bills per metric, so it is off to keep the idle sandbox "
                "cheap; -c containerInsights=true turns it on.",
            )
        ],
    ),
    (
        lambda config: config.network.nat_gateways == 0,
        (names.ECS_EC2_STACK,),
        [
            (
                "LaunchTemplate/Resource",
                "CKV_AWS_88",
                "Without NAT (the cheap default) instances need a public IP to reach ECR and "
                "ECS; their security group admits only the ALB.",
            )
        ],
    ),
    (
        lambda config: config.network.nat_instance,
        (names.NETWORK_STACK,),
        [
            (
                "Vpc/publicSubnet1/NatInstance/Resource",
                "CKV_AWS_88",
                "A NAT instance forwards from its own public IP: that is its job. Its security "
                "group admits only the VPC's CIDR.",
            )
        ],
    ),
    (
        lambda config: config.lambda_.reserved_concurrency is None,
        (names.LAMBDA_STACK,),
        [
            (
                "Function/Resource",
                "CKV_AWS_115",
                "Unreserved by default: new accounts have a concurrency quota of 10 and cannot "
                "reserve any; -c lambdaReservedConcurrency=N sets a cap.",
            )
        ],
    ),
    (
        lambda config: config.lambda_.front_door == "http-api",
        (names.LAMBDA_STACK,),
        [("HttpApiAccessLogs/Resource", *_LOG_KMS)],
    ),
    (
        lambda config: config.lambda_.front_door == "function-url",
        (names.LAMBDA_STACK,),
        [
            (
                "Function/FunctionUrl/Resource",
                "CKV_AWS_258",
                "A public demo endpoint, like the ALBs; -c lambdaReservedConcurrency caps what "
                "anonymous traffic can cost.",
            )
        ],
    ),
]

# CDK's and cdk-ecr-deployment's own custom-resource functions, the log groups that
# stacks/lambda_log_groups.py gives them, and the image copier's fixed policy. CDK names these
# stack-level singletons itself (cdk-ecr-deployment's id carries a hash), so they are found by
# a marker in that id, then by resource type.
_HELPER_SKIPS = {
    "AWS::Lambda::Function": _HELPER_LAMBDA,
    "AWS::Logs::LogGroup": [_LOG_KMS],
}
_HELPERS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "CustomResourceProvider": _HELPER_SKIPS,
    "Custom::CDKECRDeployment": {
        **_HELPER_SKIPS,
        "AWS::IAM::Policy": [
            ("CKV_AWS_108", _IMAGE_COPY_POLICY),
            ("CKV_AWS_111", _IMAGE_COPY_POLICY),
        ],
    },
}


def skips_for(stack_id: str, config: LaunchlabConfig) -> list[Skip]:
    """The skips a stack carries with this config, helpers aside."""
    skips = list(_BY_STACK.get(stack_id, []))
    for when, stack_ids, entries in _WHEN:
        if stack_id in stack_ids and when(config):
            skips += entries
    return skips


def apply_checkov_skips(tree: StackTree, config: LaunchlabConfig) -> None:
    by_path: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, check, reason in skips_for(tree.id, config):
        by_path[path].append((check, reason))
    for path, entries in by_path.items():
        _skip(_resource(tree.find(path, what="checkov skip")), entries)
    for marker, by_type in _HELPERS.items():
        for node in tree.helper_resources(marker):
            skips = by_type.get(resource_type(node))
            if skips:
                _skip(node, skips)


def _find(scope: IConstruct, path: str) -> cdk.CfnResource:
    return _resource(find_path(scope, path, what="checkov skip"))


def _resource(node: IConstruct) -> cdk.CfnResource:
    if not isinstance(node, cdk.CfnResource):
        raise LookupError(f"checkov skip for {node.node.path}: not a CloudFormation resource")
    return node


def _skip(resource: cdk.CfnResource, entries: list[tuple[str, str]]) -> None:
    resource.add_metadata(
        "checkov", {"skip": [{"id": check, "comment": reason} for check, reason in entries]}
    )
