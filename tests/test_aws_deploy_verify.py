"""The synthesized templates deployed into moto (server mode, 127.0.0.1), and `launchlab verify`
reading their outputs through CloudFormation and checking the real apps they point at."""

from __future__ import annotations

import warnings
from collections import Counter

import boto3
import pytest

from launchlab.cli import main
from stacks import names
from tests import moto_server as fixtures
from tests.conftest import VARIANT_CONTEXT, Synthesized
from tests.moto_server import DOWN_URL, Deployed, MotoServer, deploy_app

# The shared fixtures, by the names the tests take them as.
aws = fixtures.aws
deployed_app = fixtures.deployed_app
local_apps = fixtures.local_apps
miswired_app = fixtures.miswired_app
moto_server = fixtures.moto_server

# What moto 5.2.5's CloudFormation cannot create, found by deploying the templates: these it
# skips with a warning (the stack still completes without them).
MOTO_SKIPS = {
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::ECS::CapacityProvider",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::Lambda::Url",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Stage",
}


def _types(synth: Synthesized) -> set[str]:
    return {r["Type"] for t in synth.templates.values() for r in t["Resources"].values()}


def test_moto_models_every_type_but_the_known_gaps(
    synth: Synthesized, variant: Synthesized
) -> None:
    from moto.cloudformation.parsing import get_model_map  # 1.5 s to import: only here

    types = _types(synth) | _types(variant)
    unmodelled = {t for t in types if t not in get_model_map() and not t.startswith("Custom::")}
    # AWS::CDK::Metadata is not emitted by these synths (versionReporting off).
    assert unmodelled == MOTO_SKIPS


def test_default_app_deploys_into_moto_without_its_custom_resources(
    deployed_app: Deployed,
) -> None:
    # The Function URL is not modelled, so the output naming it points at a local app instead.
    deployed = deployed_app
    removed = {stack: [r.split(" (")[1].rstrip(")") for r in items]
               for stack, items in deployed.removed.items()}  # fmt: skip
    assert removed == {
        names.NETWORK_STACK: ["Custom::VpcRestrictDefaultSG"],
        names.REGISTRY_STACK: ["Custom::CDKECRDeployment"] * 3,
        names.ECS_EC2_STACK: ["Custom::AsgTeardown"],
        names.FARGATE_STACK: [],
        names.LAMBDA_STACK: ["AWS::Lambda::Url"],
    }
    registry = deployed.stacks[names.REGISTRY_STACK]
    assert registry["NodeAppRepositoryUri"].endswith("/launchlab/node-app")
    assert registry["PythonAppRepositoryUri"].endswith("/launchlab/python-app")
    # The cross-stack imports resolved: the services run in the clusters the stacks output.
    ecs = boto3.client("ecs")
    for stack in (names.ECS_EC2_STACK, names.FARGATE_STACK):
        outputs = deployed.stacks[stack]
        found = ecs.describe_services(
            cluster=outputs["ClusterName"], services=[outputs["ServiceName"]]
        )
        assert [s["status"] for s in found["services"]] == ["ACTIVE"]
    function = boto3.client("lambda").get_function(
        FunctionName=deployed.stacks[names.LAMBDA_STACK]["FunctionName"]
    )
    # moto reports PackageType Zip for a CloudFormation-made image function; the code is right.
    assert function["Code"]["ImageUri"].split("/", 1)[1].startswith("launchlab/python-app:")
    assert function["Configuration"]["State"] == "Active"
    # The custom resources' handler functions were created from the staged asset zips: the
    # VPC's default-SG rule remover, the image copy, the group teardown; and the app's function.
    functions = boto3.client("lambda").list_functions()["Functions"]
    assert sorted(f["FunctionName"].split("-")[0] for f in functions) == sorted(
        [names.NETWORK_STACK, names.REGISTRY_STACK, names.ECS_EC2_STACK, names.LAMBDA_STACK]
    ), [f["FunctionName"] for f in functions]
    tagged = boto3.client("ecr").list_tags_for_resource(
        resourceArn=boto3.client("ecr").describe_repositories()["repositories"][0]["repositoryArn"]
    )["tags"]
    assert {"Key": names.TAG_PROJECT, "Value": names.PROJECT} in tagged


def test_variant_app_deploys_with_only_the_vpc_and_teardown_custom_resources_removed(
    aws: MotoServer, variant: Synthesized
) -> None:
    # The variant's ACM certificate is made up; moto's ELB refuses a listener without a real one.
    certificate = boto3.client("acm").request_certificate(DomainName="launchlab.example.com")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        deployed = deploy_app(
            variant.templates,
            variant.outdir,
            {names.LAMBDA_STACK: "http://x"},
            replace={VARIANT_CONTEXT["certificateArn"]: certificate["CertificateArn"]},
        )
    assert Counter(r.split(" (")[1] for items in deployed.removed.values() for r in items) == {
        "Custom::VpcRestrictDefaultSG)": 1,
        "Custom::AsgTeardown)": 1,
    }
    assert len(boto3.client("ec2").describe_nat_gateways()["NatGateways"]) == 1
    listeners = [
        listener
        for lb in boto3.client("elbv2").describe_load_balancers()["LoadBalancers"]
        for listener in boto3.client("elbv2").describe_listeners(
            LoadBalancerArn=lb["LoadBalancerArn"]
        )["Listeners"]
    ]
    assert sorted(listener["Port"] for listener in listeners) == [80, 80, 443, 443]


def _deploy(synth: Synthesized, urls: dict[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        deploy_app(synth.templates, synth.outdir, urls)


def test_verify_passes_against_the_real_apps(
    deployed_app: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "all 3 endpoints verified in us-east-1" in out
    assert "launch type ecs-ec2 (expected ecs-ec2)" in out
    assert "launch type fargate (expected fargate)" in out
    assert "launch type lambda (expected lambda)" in out
    assert out.count("running 1 of desired 1") == 2
    assert out.count("1 deployment(s), primary rollout COMPLETED") == 2
    assert "State Active, LastUpdateStatus Successful" in out
    assert "FAIL" not in out


def test_verify_fails_while_ecs_services_are_not_steady(
    aws: MotoServer,
    synth: Synthesized,
    local_apps: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Services created with no task running yet: moto reports the deployment IN_PROGRESS.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "0")
    _deploy(synth, local_apps)
    assert main(["verify"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    for line, stack in zip(err, (names.ECS_EC2_STACK, names.FARGATE_STACK), strict=True):
        assert line.startswith(
            f"launchlab: {stack}: ECS tasks running: running 0 of desired 1; "
            "ECS deployment complete: 1 deployment(s), primary rollout IN_PROGRESS: "
            f"look at service {stack}-Service"
        ), line


def test_verify_catches_an_endpoint_on_the_wrong_launch_type_and_one_that_is_down(
    miswired_app: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    # The EC2 app behind Fargate's URL, nothing behind Lambda's.
    assert main(["verify"]) == 1
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert len(err) == 2, err
    assert (
        err[0].startswith("launchlab: LaunchlabFargate: identity: node-app on node")
        and "launch type ecs-ec2 (expected fargate)" in err[0]
    )
    assert err[1].startswith(
        f"launchlab: LaunchlabLambda: endpoint {DOWN_URL} is not answering (ConnectError): "
        "look at function LaunchlabLambda-Function"
    )
    assert "Traceback" not in captured.out + captured.err


def test_verify_says_which_stack_is_not_deployed(
    aws: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify"]) == 2
    assert capsys.readouterr().err.strip() == (
        "launchlab: stack LaunchlabEcsEc2 is not deployed in us-east-1: run "
        "`.venv/bin/launchlab up` (or set AWS_REGION)"
    )


def test_verify_in_another_region_than_the_deployment(
    deployed_app: Deployed,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert main(["verify"]) == 2
    assert "stack LaunchlabEcsEc2 is not deployed in eu-west-1" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["verify", "bench", "down"])
def test_missing_credentials_is_one_line(
    aws: MotoServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    assert main([command]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "launchlab: no AWS credentials found: set AWS_PROFILE or run `aws configure`\n"
    )


def test_aws_region_alone_names_the_region_as_for_the_cdk_cli(
    deployed_app: Deployed,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AWS_REGION is what the README exports and what the CDK CLI deploys to; botocore alone
    would ignore it (it reads AWS_DEFAULT_REGION) and look somewhere else."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert main(["verify"]) == 2
    assert "stack LaunchlabEcsEc2 is not deployed in eu-west-1" in capsys.readouterr().err
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # AWS_REGION wins, as in the CLI
    assert main(["verify"]) == 0, capsys.readouterr().err


def test_missing_region_is_one_line(
    aws: MotoServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert main(["verify"]) == 2
    assert capsys.readouterr().err.startswith("launchlab: no AWS region set: export AWS_REGION=")


def test_unknown_region_is_one_line_without_a_custom_endpoint(
    aws: MotoServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # nothing is sent: the region is refused first
    monkeypatch.setenv("AWS_REGION", "us-east-7")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-7")
    assert main(["verify"]) == 2
    assert capsys.readouterr().err.startswith("launchlab: unknown AWS region 'us-east-7'")
