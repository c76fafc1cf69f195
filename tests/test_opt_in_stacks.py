"""The three opt-in launch types: ECS Managed Instances, ECS Express Mode and Lambda
Managed Instances, each built on a bare ``cdk.Stack``, and in the real app selected with
``-c launchTypes=...`` beside the network and registry stacks, with cdk-nag and cfn-lint
over the result (checkov scans them with the default app's templates, in one run:
tests/test_checks.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from launchlab import checks
from stacks import names
from stacks.config import (
    ConfigError,
    LaunchlabConfig,
    OptInLaunchTypesConfig,
)
from stacks.constructs.placement import ServicePlacement
from stacks.constructs.python_zip import runtime_pins
from stacks.ecs_managed_instances_stack import EcsManagedInstancesStack
from stacks.express_stack import ExpressServiceStack
from stacks.images import ImageRef
from stacks.lambda_managed_instances_stack import HANDLER, LambdaManagedInstancesStack
from stacks.workloads import CONTAINER_PORT, HEALTH_PATH
from tests.conftest import OPT_IN_STACKS, Synthesized, cdk_context


def config(**overrides: Any) -> LaunchlabConfig:
    return LaunchlabConfig.from_context(cdk_context(**overrides).get)


def opt_in(**overrides: Any) -> OptInLaunchTypesConfig:
    return config(**overrides).opt_in


# --- each stack on a bare cdk.Stack --------------------------------------------------------


def bare_placement(stack: cdk.Stack) -> tuple[ServicePlacement, ImageRef]:
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    placement = ServicePlacement(
        vpc=vpc,
        workload_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        public_ip=True,
        private_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        log_retention_days=14,
        container_insights=False,
        certificate_arn=None,
    )
    repository = ecr.Repository.from_repository_name(stack, "Repo", "launchlab/python-app")
    return placement, ImageRef(repository=repository, tag="v9")


def bare(kind: type[cdk.Stack], **overrides: Any) -> Template:
    """One opt-in stack alone in an app, on a VPC and repository of a bare cdk.Stack."""
    app = cdk.App()
    base = cdk.Stack(app, "Base")
    placement, image = bare_placement(base)
    cfg = opt_in(**overrides)
    if kind is EcsManagedInstancesStack:
        stack: cdk.Stack = EcsManagedInstancesStack(
            app, "Subject", placement=placement, config=cfg.ecs_managed_instances, image=image
        )
    elif kind is ExpressServiceStack:
        stack = ExpressServiceStack(
            app, "Subject", placement=placement, config=cfg.express, image=image
        )
    else:
        code = lambda_.Code.from_inline("def handler(event, context): pass")
        stack = LambdaManagedInstancesStack(
            app,
            "Subject",
            placement=placement,
            config=cfg.lambda_managed_instances,
            code=code,
            app_version="v9",
        )
    return Template.from_stack(stack)


def test_ecs_managed_instances_capacity_is_one_pinned_type_and_tagged() -> None:
    template = bare(EcsManagedInstancesStack)
    template.has_resource_properties(
        "AWS::ECS::CapacityProvider",
        {
            "ManagedInstancesProvider": {
                "InfrastructureRoleArn": Match.any_value(),
                "InstanceLaunchTemplate": Match.object_like(
                    {
                        "InstanceRequirements": {
                            # The cheapest type that holds the default task (cdk.json).
                            "AllowedInstanceTypes": ["t4g.small"],
                            "BurstablePerformance": "included",
                            "VCpuCount": {"Min": 2, "Max": 2},
                            "MemoryMiB": {"Min": 2048, "Max": 2048},
                        },
                        "StorageConfiguration": {"StorageSizeGiB": 30},
                    }
                ),
                "PropagateTags": "CAPACITY_PROVIDER",
            }
        },
    )
    # The infrastructure role is ECS's, with AWS's policy for managed instances only.
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "ecs.amazonaws.com"}})]}
            ),
            "ManagedPolicyArns": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/AmazonECSInfrastructureRolePolicyForManagedInstances",
                        ],
                    ]
                }
            ],
        },
    )
    # ECS passes only instance profiles named ecsInstanceRole* under AWS's policy.
    template.has_resource_properties(
        "AWS::IAM::InstanceProfile",
        {"InstanceProfileName": Match.string_like_regexp("^ecsInstanceRole")},
    )


def test_ecs_managed_instances_tasks_are_awsvpc_hardened_behind_the_alb() -> None:
    template = bare(EcsManagedInstancesStack)
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "RequiresCompatibilities": ["MANAGED_INSTANCES"],
            "NetworkMode": "awsvpc",
            "Cpu": "256",
            "Memory": "512",
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "User": "10001:10001",
                        "ReadonlyRootFilesystem": True,
                        "PortMappings": [Match.object_like({"ContainerPort": CONTAINER_PORT})],
                    }
                )
            ],
        },
    )
    service = template.find_resources("AWS::ECS::Service")
    ((logical_id, resource),) = service.items()
    props = resource["Properties"]
    assert "LaunchType" not in props and "PlatformVersion" not in props
    assert props["CapacityProviderStrategy"] == [
        {
            "CapacityProvider": {"Ref": _logical_id(template, "AWS::ECS::CapacityProvider")},
            "Weight": 1,
        }
    ]
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    assert props["LoadBalancers"][0]["ContainerPort"] == CONTAINER_PORT
    # Waits for the cluster (its capacity provider), or create and destroy race it.
    assert _logical_id(template, "AWS::ECS::Cluster") in resource["DependsOn"], logical_id


def test_express_service_in_our_cluster_subnets_and_log_group() -> None:
    template = bare(ExpressServiceStack)
    template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 0)
    template.has_resource_properties(
        "AWS::ECS::ExpressGatewayService",
        {
            "Cluster": {"Ref": _logical_id(template, "AWS::ECS::Cluster")},
            "Cpu": "256",
            "Memory": "512",
            "HealthCheckPath": HEALTH_PATH,
            "NetworkConfiguration": {
                "Subnets": [
                    {"Fn::ImportValue": Match.string_like_regexp("publicSubnet1")},
                    {"Fn::ImportValue": Match.string_like_regexp("publicSubnet2")},
                ]
            },
            "PrimaryContainer": Match.object_like(
                {
                    "ContainerPort": CONTAINER_PORT,
                    "AwsLogsConfiguration": {
                        "LogGroup": {
                            "Ref": _logical_id(template, "AWS::Logs::LogGroup", workload=True)
                        },
                        "LogStreamPrefix": "python-app",
                    },
                    "Image": Match.any_value(),
                }
            ),
            "ScalingTarget": {
                "MinTaskCount": 1,
                "MaxTaskCount": 4,
                "AutoScalingMetric": "AVERAGE_CPU",
                "AutoScalingTargetValue": 60,
            },
        },
    )
    service = next(iter(template.find_resources("AWS::ECS::ExpressGatewayService").values()))
    # A CloudFormation-generated name: ECS keeps deleted Express names, so a fixed one
    # would block the next deploy after a destroy.
    assert "ServiceName" not in service["Properties"]
    roles = template.find_resources("AWS::IAM::Role")
    for role_arn in ("InfrastructureRoleArn", "ExecutionRoleArn", "TaskRoleArn"):
        (role_id, _) = service["Properties"][role_arn]["Fn::GetAtt"]
        assert role_id in roles
        # Deleted only after the service, so ECS can still remove what it created.
        assert role_id in service["DependsOn"] or role_arn == "TaskRoleArn"
    template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 14}, "DeletionPolicy": "Delete"},
    )
    endpoint = template.find_outputs("EndpointUrl")["EndpointUrl"]["Value"]
    service_id = _logical_id(template, "AWS::ECS::ExpressGatewayService")
    assert endpoint == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [service_id, "Endpoint"]}]]}


def test_express_scales_on_requests_when_asked() -> None:
    template = bare(ExpressServiceStack, scalingMetric="requests", scalingTarget="500")
    template.has_resource_properties(
        "AWS::ECS::ExpressGatewayService",
        {"ScalingTarget": Match.object_like({"AutoScalingMetric": "REQUEST_COUNT_PER_TARGET"})},
    )


def test_lambda_managed_instances_function_runs_on_the_capacity_provider() -> None:
    template = bare(LambdaManagedInstancesStack)
    template.has_resource_properties(
        "AWS::Lambda::CapacityProvider",
        {
            "InstanceRequirements": {
                "Architectures": ["arm64"],
                # C family: 2 GiB per vCPU, the ratio the functions run at.
                "AllowedInstanceTypes": ["c7g.large"],
            },
            "CapacityProviderScalingConfig": Match.object_like({"MaxVCpuCount": 12}),
            "VpcConfig": Match.object_like({"SubnetIds": Match.any_value()}),
            # Its system logs go to a group the stack owns, not one Lambda would leave behind.
            "TelemetryConfig": {
                "LoggingConfig": {
                    "LogGroup": {"Ref": Match.string_like_regexp("^CapacityProviderLogs")}
                }
            },
            "PropagateTags": Match.any_value(),
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Handler": HANDLER,
            "Architectures": ["arm64"],
            "MemorySize": 2048,
            "PublishToLatestPublished": False,
            "CapacityProviderConfig": {
                "LambdaManagedInstancesCapacityProviderConfig": {
                    "CapacityProviderArn": Match.any_value(),
                    "PerExecutionEnvironmentMaxConcurrency": 16,
                    "ExecutionEnvironmentMemoryGiBPerVCpu": 2,
                }
            },
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
        },
    )
    # The published version keeps three environments warm, and goes when it is replaced.
    template.has_resource(
        "AWS::Lambda::Version",
        {
            "Properties": Match.object_like(
                {
                    "FunctionScalingConfig": {
                        "MinExecutionEnvironments": 3,
                        "MaxExecutionEnvironments": 6,
                    }
                }
            ),
            "DeletionPolicy": "Delete",
        },
    )
    # The URL is on the alias of that version, open like the classic function's.
    template.has_resource_properties(
        "AWS::Lambda::Url",
        {
            "AuthType": "NONE",
            "Qualifier": "live",
            "TargetFunctionArn": {
                "Fn::GetAtt": [
                    _logical_id(template, "AWS::Lambda::Function", workload=True),
                    "Arn",
                ]
            },
        },
    )


def test_lambda_managed_instances_instances_get_the_stack_tags(
    opt_in_synth: Synthesized,
) -> None:
    provider = opt_in_synth.only(
        names.LAMBDA_MANAGED_INSTANCES_STACK, "AWS::Lambda::CapacityProvider"
    )
    assert provider["Properties"]["PropagateTags"] == {
        "Mode": "Explicit",
        "ExplicitTags": [
            {"Key": names.TAG_LAUNCH_TYPE, "Value": "lambda-managed-instances"},
            {"Key": names.TAG_PROJECT, "Value": names.PROJECT},
            {"Key": names.TAG_STAGE, "Value": "sandbox"},
        ],
    }


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        (
            {"ecsMiInstanceType": "x9.huge"},
            "ecsMiInstanceType",
            "a type stacks/instance_types.yaml lists",
        ),
        ({"ecsMiTaskMemory": 2000}, "ecsMiTaskMemory", "at most 1843 MiB on t4g.small"),
        ({"ecsMiTaskCpu": 4096}, "ecsMiTaskCpu", "at most 2048 on t4g.small"),
        ({"ecsMiStorageGiB": 10}, "ecsMiStorageGiB", "30..16384"),
        ({"ecsMiMinTasks": 5}, "ecsMiMinTasks", "at most ecsMiMaxTasks (4)"),
        ({"expressCpu": 300}, "expressCpu", "256, 512, 1024"),
        ({"expressMemory": 4096}, "expressMemory", "with expressCpu 256: 512, 1024, 2048"),
        ({"lmiInstanceType": "t4g.small"}, "lmiInstanceType", "a C, M or R instance"),
        ({"lmiInstanceType": "c7g.medium"}, "lmiInstanceType", "of size large or bigger"),
        ({"lmiMemory": 1024}, "lmiMemory", "2048..32768"),
        ({"lmiMemoryPerVcpu": 3}, "lmiMemoryPerVcpu", "2, 4, 8"),
        ({"lmiMaxConcurrency": 0}, "lmiMaxConcurrency", "1..1600"),
        ({"lmiMaxVcpus": 6}, "lmiMaxVcpus", "12..15000"),
        ({"lmiMinEnvironments": 7}, "lmiMinEnvironments", "at most lmiMaxEnvironments (6)"),
    ],
)
def test_bad_opt_in_value_names_key_value_and_allowed(
    overrides: dict[str, Any], key: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config(**overrides)
    assert error.value.key == key
    assert allowed in error.value.allowed
    assert "\n" not in str(error.value)


# --- the .zip the managed runtime runs ------------------------------------------------------


def test_zip_holds_the_app_and_its_pinned_runtime_dependencies_only(
    opt_in_synth: Synthesized,
) -> None:
    bundle = _zip_asset(opt_in_synth)
    top = {path.name for path in bundle.iterdir()}
    assert {"launchlab_app", "starlette", "mangum", "anyio", "idna", "typing_extensions.py"} <= top
    # The HTTP server stays out; so do bytecode and the installer's records of this machine.
    assert not top & {"uvicorn", "click", "h11"}
    assert not list(bundle.rglob("__pycache__")) and not list(bundle.rglob("RECORD"))
    assert set(runtime_pins()) == {"starlette", "mangum", "anyio", "idna", "typing_extensions"}


def test_zip_serves_the_health_check_through_the_lambda_handler(opt_in_synth: Synthesized) -> None:
    """The bundle alone (no site-packages) answers a Function URL event for /health."""
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": HEALTH_PATH,
        "rawQueryString": "",
        "headers": {"host": "example.lambda-url.us-east-1.on.aws"},
        "requestContext": {
            "http": {"method": "GET", "path": HEALTH_PATH, "sourceIp": "127.0.0.1"},
            "domainName": "example.lambda-url.us-east-1.on.aws",
            "requestId": "test",
        },
        "isBase64Encoded": False,
    }
    module, _, attribute = HANDLER.rpartition(".")
    bundle = _zip_asset(opt_in_synth)
    script = (
        f"import json, sys, importlib; sys.path.insert(0, {str(bundle)!r}); "
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r}); "
        "print(json.dumps(handler(json.loads(sys.argv[1]), None)))"
    )
    # -B: -I ignores PYTHONDONTWRITEBYTECODE, and bytecode written into the session's shared
    # bundle fails the zip test above whenever this one runs first.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", script, json.dumps(event)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout.splitlines()[-1])  # the app logs a line first
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


# --- the test app: every checker --------------------------------------------------------------


# The opt-in three at cdk.json's defaults and away from them, all six together, and Lambda
# Managed Instances with each egress other than the default NAT instance.
CHECKED = ["opt_in_synth", "opt_in_variant", "all_synth", "egress_nat_gateway", "egress_endpoints"]


@pytest.mark.slow
@pytest.mark.parametrize("which", CHECKED)
def test_cdk_nag_acknowledges_every_finding_by_path(
    which: str, request: pytest.FixtureRequest
) -> None:
    synthesized: Synthesized = request.getfixturevalue(which)
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []
    acknowledged = {
        finding["acknowledgedAt"].split("/")[0]
        for finding in nag["suppressedViolations"]
        if finding["acknowledgedAt"].split("/")[0] in OPT_IN_STACKS
    }
    # Each new stack really had findings, each acknowledged on its resource with a reason.
    assert acknowledged == set(OPT_IN_STACKS) & set(synthesized.templates)
    for finding in nag["suppressedViolations"]:
        assert finding["acknowledgedAt"].count("/") >= 2
        assert len(finding["reason"]) > 60


@pytest.mark.slow
@pytest.mark.parametrize("which", CHECKED)
def test_cfn_lint_finds_nothing(which: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(which)
    verdict = checks.cfn_lint(synthesized.outdir)
    assert verdict.findings == (), "\n".join(verdict.findings)
    assert verdict.detail == f"{len(synthesized.templates)} templates: 0 errors, 0 warnings"


def test_default_and_variant_differ_where_the_config_says(
    opt_in_synth: Synthesized, opt_in_variant: Synthesized
) -> None:
    # Burstable x86 capacity for ECS Managed Instances, an x86 capacity provider for Lambda.
    provider = opt_in_variant.only(names.ECS_MANAGED_INSTANCES_STACK, "AWS::ECS::CapacityProvider")
    requirements = provider["Properties"]["ManagedInstancesProvider"]["InstanceLaunchTemplate"][
        "InstanceRequirements"
    ]
    assert requirements["AllowedInstanceTypes"] == ["t3.small"]
    assert requirements["BurstablePerformance"] == "included"
    task = opt_in_variant.only(names.ECS_MANAGED_INSTANCES_STACK, "AWS::ECS::TaskDefinition")
    assert task["Properties"]["RuntimePlatform"]["CpuArchitecture"] == "X86_64"
    lmi = opt_in_variant.only(names.LAMBDA_MANAGED_INSTANCES_STACK, "AWS::Lambda::CapacityProvider")
    assert lmi["Properties"]["InstanceRequirements"]["Architectures"] == ["x86_64"]

    # With NAT gateways ECS Managed Instances moves to the private subnets; Express stays in
    # the public ones (in private ones its ALB would be internal); Lambda Managed Instances
    # runs in private subnets either way (launchlab.reachability follows each way out).
    def subnets(synthesized: Synthesized, stack: str, kind: str) -> str:
        props = synthesized.only(stack, kind)["Properties"]
        found = (
            props.get("NetworkConfiguration", {}).get("Subnets")
            or props.get("VpcConfig", {}).get("SubnetIds")
            or props["ManagedInstancesProvider"]["InstanceLaunchTemplate"]["NetworkConfiguration"][
                "Subnets"
            ]
        )
        return json.dumps(found)

    where = {
        (names.ECS_MANAGED_INSTANCES_STACK, "AWS::ECS::CapacityProvider"): ("public", "private"),
        (names.EXPRESS_STACK, "AWS::ECS::ExpressGatewayService"): ("public", "public"),
        (names.LAMBDA_MANAGED_INSTANCES_STACK, "AWS::Lambda::CapacityProvider"): (
            "private",
            "private",
        ),
    }
    for (stack, kind), expected in where.items():
        for synthesized, subnet in zip((opt_in_synth, opt_in_variant), expected, strict=True):
            found = subnets(synthesized, stack, kind)
            assert f"Vpc{subnet}Subnet1" in found and f"Vpc{subnet}Subnet2" in found, found


def test_every_taggable_new_resource_carries_project_launch_type_and_stage(
    opt_in_synth: Synthesized,
) -> None:
    expected = {
        names.ECS_MANAGED_INSTANCES_STACK: "ecs-managed-instances",
        names.EXPRESS_STACK: "express",
        names.LAMBDA_MANAGED_INSTANCES_STACK: "lambda-managed-instances",
    }
    for stack, launch_type in expected.items():
        for kind in ("AWS::ECS::CapacityProvider", "AWS::ECS::ExpressGatewayService",
                     "AWS::Lambda::CapacityProvider", "AWS::Lambda::Function"):  # fmt: skip
            for resource in opt_in_synth.resources(stack, kind).values():
                tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
                assert tags.get(names.TAG_LAUNCH_TYPE) == launch_type, (stack, kind)
                assert tags.get(names.TAG_PROJECT) == names.PROJECT


def test_outputs_name_the_endpoint_and_what_down_must_find(opt_in_synth: Synthesized) -> None:
    wanted = {
        names.ECS_MANAGED_INSTANCES_STACK: {
            "EndpointUrl", "ClusterName", "ServiceName", "CapacityProviderName"
        },
        names.EXPRESS_STACK: {
            "EndpointUrl", "ClusterName", "ServiceName", "ServiceArn", "ManagedLoadBalancerArn"
        },
        names.LAMBDA_MANAGED_INSTANCES_STACK: {
            "EndpointUrl", "FunctionName", "CapacityProviderName"
        },
    }  # fmt: skip
    for stack, outputs in wanted.items():
        assert set(opt_in_synth.template(stack)["Outputs"]) >= outputs, stack


def _logical_id(template: Template, resource_type: str, *, workload: bool = False) -> str:
    """The one resource of ``resource_type``; with ``workload``, the one that is not the
    stack's delete waiter's (its handler function, its log group)."""
    found = [
        logical_id
        for logical_id in template.find_resources(resource_type)
        if not (workload and logical_id.startswith("DeleteWaiter"))
    ]
    (logical_id,) = found
    return logical_id


def _zip_asset(synthesized: Synthesized) -> Path:
    (function,) = [
        resource
        for resource in synthesized.resources(
            names.LAMBDA_MANAGED_INSTANCES_STACK, "AWS::Lambda::Function"
        ).values()
        if "CapacityProviderConfig" in resource["Properties"]
    ]
    # The code's S3 key is its asset hash; cdk.out stages the bundle under that hash.
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    return synthesized.outdir / f"asset.{asset_hash}"
