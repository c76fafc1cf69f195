"""`launchlab up`, `bench` and `down` against moto on 127.0.0.1, with a stand-in `cdk`
(LAUNCHLAB_CDK, tests only) since a real deploy needs an AWS account."""

from __future__ import annotations

import json
import shutil
import warnings
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from launchlab import assembly
from launchlab.aws import costs
from launchlab.aws.costs import hourly_prices, idle_cost_per_hour
from launchlab.cli import main
from stacks import names
from tests import moto_server as fixtures
from tests.conftest import Synthesized
from tests.moto_server import (
    DOWN_URL,
    Deployed,
    MotoServer,
    call_regions,
    calls,
    current_account,
    deploy_app,
    start_apps,
    write_fake_cdk,
)

# The shared fixtures, by the names the tests take them as.
aws = fixtures.aws
deployed_app = fixtures.deployed_app
local_apps = fixtures.local_apps
miswired_app = fixtures.miswired_app
moto_server = fixtures.moto_server

TAGS = [{"Key": names.TAG_PROJECT, "Value": names.PROJECT}]


def _deploy(synth: Synthesized, urls: dict[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # moto's "not supported" warnings
        deploy_app(synth.templates, synth.outdir, urls)


# ---- up --------------------------------------------------------------------------------


def test_up_deploys_every_stack_then_prints_endpoints_and_idle_cost(
    aws: MotoServer,
    synth: Synthesized,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outdir = tmp_path / "cdk.out"
    shutil.copytree(synth.outdir, outdir)
    cdk, record = write_fake_cdk(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_CDK", str(cdk))
    # A profile default elsewhere must not split the deploy from the checks that follow it.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("FAKE_CDK_OUTPUTS", json.dumps({
        names.ECS_EC2_STACK: {"EndpointUrl": "http://ec2-alb.example"},
        names.FARGATE_STACK: {"EndpointUrl": "http://fargate-alb.example"},
        names.LAMBDA_STACK: {"EndpointUrl": "https://abc.lambda-url.us-east-1.on.aws/"},
    }))  # fmt: skip
    assert main(["up", "--cdk-out", str(outdir), "-c", "stage=ci", "-c", "owner=me"]) == 0
    # Synthesized first, so the preflight reads what is deployed; then that assembly deployed.
    assert calls(record) == [
        ["synth", "--quiet", "-o", str(outdir), "-c", "stage=ci", "-c", "owner=me"],
        ["deploy", "--app", str(outdir), "--all", "--require-approval", "never",
         "--outputs-file", str(outdir / "outputs.json")],
    ]  # fmt: skip
    assert call_regions(record) == ["us-east-1", "us-east-1"]
    # A later command without -c must not take this synth for cdk.json's config.
    assert assembly.synthesized_with(outdir) == {"stage": "ci", "owner": "me"}
    out = capsys.readouterr().out
    assert f"deploying every stack to account {current_account()} in us-east-1" in out
    assert "http://fargate-alb.example" in out
    assert "https://abc.lambda-url.us-east-1.on.aws/" in out
    # README's figure at the defaults: 2 ALBs, 6 public IPv4, 1 t3.small + 30 GiB gp3,
    # 1 Fargate task of 0.25 vCPU / 0.5 GB.
    assert "idle total: $0.1117/hour (~$82/month)" in out
    assert "EC2 t3.small" in out and "aws.yaml" in out


def test_idle_cost_follows_the_templates(synth: Synthesized, variant: Synthesized) -> None:
    default = idle_cost_per_hour(assembly.load(synth.outdir), "us-east-1")
    storage = sum(line.usd_per_hour for line in default.lines if line.item.startswith("ECR"))
    # By hand, us-east-1 list prices: 2 ALBs, 6 public IPv4 (2 per ALB, the instance, the
    # task), one t3.small with 30 GiB gp3, one 0.25 vCPU / 0.5 GB Fargate task.
    by_hand = 2 * 0.0225 + 6 * 0.005 + 0.0208 + 30 * 0.08 / 730 + 0.25 * 0.04048 + 0.5 * 0.004445
    assert abs(float(default.total - storage) - by_hand) < 1e-9
    assert 0 < storage < 0.001
    # Two repositories, each counted once although Fargate and Lambda share python-app's.
    assert sorted(line.item for line in default.lines if line.item.startswith("ECR")) == [
        "ECR storage (launchlab/node-app, 10 images)",
        "ECR storage (launchlab/python-app, 10 images)",
    ]
    changed = idle_cost_per_hour(assembly.load(variant.outdir), "us-east-1")
    items = {line.item for line in changed.lines}
    nat = [line for line in changed.lines if line.item.startswith("NAT gateway hours")]
    assert len(nat) == 1 and nat[0].stack == "shared", nat
    assert any("t4g.small" in item for item in items), items
    # The variant mixes Spot in above one on-demand task (fargateSpotShare=50): idle, that one
    # task runs on demand.
    assert any("Fargate" in item and item.endswith("arm64)") for item in items), items


def test_up_stops_at_a_failed_synth_or_deploy_in_one_line(
    aws: MotoServer,
    synth: Synthesized,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outdir = tmp_path / "cdk.out"
    cdk, record = write_fake_cdk(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_CDK", str(cdk))
    monkeypatch.setenv("FAKE_CDK_EXIT", "1")
    assert main(["up", "--cdk-out", str(outdir)]) == 2
    assert capsys.readouterr().err == (
        "launchlab: cdk synth failed (exit 1): fix what the synth says above, then run "
        "`.venv/bin/launchlab up` again\n"
    )
    assert len(calls(record)) == 1  # no deploy after a failed synth
    shutil.copytree(synth.outdir, outdir)
    monkeypatch.setenv("FAKE_CDK_EXIT", "0,0,1")
    assert main(["up", "--cdk-out", str(outdir)]) == 2
    assert capsys.readouterr().err.startswith("launchlab: cdk deploy failed (exit 1): read the ")


def test_up_checks_credentials_before_running_cdk(
    aws: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cdk, record = write_fake_cdk(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_CDK", str(cdk))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    assert main(["up"]) == 2
    assert calls(record) == []
    assert "no AWS credentials found" in capsys.readouterr().err


# ---- bench -----------------------------------------------------------------------------


def test_bench_measures_every_endpoint_and_writes_json(
    aws: MotoServer,
    synth: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Fresh processes, so exactly one response each is the cold one.
    servers = start_apps(tmp_path)
    try:
        _deploy(synth, {stack: server.url for stack, server in servers.items()})
        out = tmp_path / "reports" / "bench.json"
        args = ["bench", "--requests", "40", "--concurrency", "4", "--seconds", "20"]
        assert main([*args, "--out", str(out)]) == 0
    finally:
        for server in servers.values():
            server.stop()
    document = json.loads(out.read_text())
    assert document["schema"] == "launchlab-bench" and document["region"] == "us-east-1"
    assert document["settings"] == {"requests": 40, "concurrency": 4, "seconds": 20.0, "path": "/"}
    endpoints = document["endpoints"]
    assert {s: e["launch_type"] for s, e in endpoints.items()} == {
        names.ECS_EC2_STACK: "ecs-ec2",
        names.FARGATE_STACK: "fargate",
        names.LAMBDA_STACK: "lambda",
    }
    for result in endpoints.values():
        assert (result["completed"], result["errors"], result["cold_responses"]) == (40, 0, 1)
        assert result["cold_start_share"] == 0.025
        assert 0 < result["p50_ms"] <= result["p90_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert "cloudwatch" not in document
    assert f"wrote {out}" in capsys.readouterr().out


def test_bench_reports_errors_from_an_endpoint_that_is_down(
    miswired_app: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert miswired_app.stacks[names.LAMBDA_STACK]["EndpointUrl"] == DOWN_URL
    out = tmp_path / "bench.json"
    assert main(["bench", "--requests", "5", "--seconds", "5", "--out", str(out)]) == 1
    errors = {s: e["errors"] for s, e in json.loads(out.read_text())["endpoints"].items()}
    assert errors == {names.ECS_EC2_STACK: 0, names.FARGATE_STACK: 0, names.LAMBDA_STACK: 5}
    assert capsys.readouterr().err.startswith(
        "launchlab: errors from LaunchlabLambda during the bench"
    )


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--requests", "5001", "--requests 5001 is outside 1..5000"),
        ("--concurrency", "65", "--concurrency 65 is outside 1..64"),
        ("--seconds", "121", "--seconds 121.0 is outside 1..120"),
    ],
)
def test_bench_caps_the_load(
    aws: MotoServer, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    assert main(["bench", flag, value]) == 2
    assert capsys.readouterr().err.startswith(f"launchlab: {message}")


def test_bench_reads_usage_from_cloudwatch(deployed_app: Deployed, tmp_path: Path) -> None:
    # The only test that publishes metrics, in the shared deployment's account.
    cloudformation = boto3.client("cloudformation")
    alb_arn = next(
        r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=names.FARGATE_STACK)[
            "StackResources"
        ]
        if r.get("ResourceType") == "AWS::ElasticLoadBalancingV2::LoadBalancer"
    )
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName=names.LAMBDA_STACK)["Stacks"][0][
            "Outputs"
        ]
    }
    now = datetime.now(UTC)
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[{
        "MetricName": "RequestCount", "Timestamp": now, "Value": 1234,
        "Dimensions": [{"Name": "LoadBalancer", "Value": alb_arn.split(":loadbalancer/")[1]}],
    }])  # fmt: skip
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Invocations", "Timestamp": now, "Value": value,
         "Dimensions": [{"Name": "FunctionName", "Value": outputs["FunctionName"]}]}
        for value in (10, 32)
    ])  # fmt: skip
    out = tmp_path / "bench.json"
    assert (
        main(["bench", "--requests", "3", "--out", str(out), "--cloudwatch", "--hours", "2"]) == 0
    )
    usage = json.loads(out.read_text())["cloudwatch"]
    assert usage["hours"] == 2
    metrics = usage["metrics"]
    assert metrics[f"{names.FARGATE_STACK}.alb_request_count"] == 1234
    assert metrics[f"{names.LAMBDA_STACK}.lambda_invocations"] == 42
    assert metrics[f"{names.ECS_EC2_STACK}.alb_request_count"] is None  # nothing published
    assert metrics[f"{names.ECS_EC2_STACK}.ecs_cpu_utilization_avg"] is None


# ---- down ------------------------------------------------------------------------------


def _leave_things_behind() -> None:
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="launchlab/node-app", tags=TAGS)
    ecr.put_image(
        repositoryName="launchlab/node-app",
        imageManifest=json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": 100,
                    "digest": "sha256:" + "a" * 64,
                },
                "layers": [],
            }
        ),
        imageTag="v1",
    )
    ecr.create_repository(repositoryName="someone-else/app")  # not ours: never reported
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/LaunchlabLambda-Function76856677-X")
    logs.create_log_group(logGroupName="/other/team")
    boto3.client("ec2").create_volume(
        AvailabilityZone="us-east-1a", Size=30, VolumeType="gp3",
        TagSpecifications=[{"ResourceType": "volume", "Tags": TAGS}],
    )  # fmt: skip


def test_down_destroys_then_reports_each_leftover_with_its_cost(
    aws: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cdk, record = write_fake_cdk(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_CDK", str(cdk))
    _leave_things_behind()
    assert main(["down", "-c", "stage=ci"]) == 1
    assert calls(record) == []  # stacks are deleted through CloudFormation, not the CDK CLI
    captured = capsys.readouterr()
    rows = [line for line in captured.out.splitlines() if line.startswith("│")]
    cells = [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]
    by_kind = {row[0]: row for row in cells}
    assert set(by_kind) == {"ec2:volume", "ecr:repository", "logs:log-group"}
    assert by_kind["ec2:volume"][3] == "0.0033"  # 30 GiB x $0.08 per GB-month / 730 h
    assert by_kind["ec2:volume"][2] == "tagging API + tag filter"
    assert by_kind["ecr:repository"][4].startswith("launchlab/node-app: 1 image(s)")
    assert "/aws/lambda/LaunchlabLambda-Function76856677-X" in by_kind["logs:log-group"][4]
    assert "someone-else" not in captured.out and "/other/team" not in captured.out
    assert captured.err.startswith(
        "launchlab: 3 resource(s) of launchlab remain in us-east-1, costing about $0.0033/hour"
    )


def test_down_exits_zero_when_nothing_is_left(
    aws: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cdk, record = write_fake_cdk(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_CDK", str(cdk))
    boto3.client("ecr").create_repository(repositoryName="someone-else/app")
    assert main(["down"]) == 0
    assert calls(record) == []
    assert "nothing of launchlab is left in us-east-1" in capsys.readouterr().out


def test_down_after_a_real_deploy_finds_the_stacks_and_tagged_resources(
    deployed_app: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a destroy that never ran leaves: every stack and what it tagged.
    assert main(["down", "--scan-only"]) == 1
    captured = capsys.readouterr()
    rows = [line for line in captured.out.splitlines() if line.startswith("│")]
    cells = [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]
    stacks = sorted(row[1] for row in cells if row[0] == "cloudformation:stack")
    assert stacks == sorted(names.DEFAULT_STACKS)
    # moto's Auto Scaling launched the group's instance, tagged through the launch template.
    instances = [row for row in cells if row[0] == "ec2:instance"]
    assert len(instances) == 1 and instances[0][4].startswith("t3.small, running")
    assert float(instances[0][3]) >= 0.0208
    repositories = sorted(row[4].split(":")[0] for row in cells if row[0] == "ecr:repository")
    assert repositories == ["launchlab/node-app", "launchlab/python-app"]
    log_groups = [row[1] for row in cells if row[0] == "logs:log-group"]
    assert sum("AppLogs" in name for name in log_groups) == 2
    assert captured.err.startswith(f"launchlab: {len(cells)} resource(s) of launchlab remain")


def test_a_region_without_prices_is_priced_as_us_east_1_and_says_so(
    synth: Synthesized, aws: MotoServer
) -> None:
    """The commands work in any region; a region the table lacks is priced from the Price List
    API (tests/test_regions.py), and, where that has nothing (moto has no Price List API),
    from us-east-1's prices, labelled."""
    costs.priced_table.cache_clear()
    elsewhere = idle_cost_per_hour(assembly.load(synth.outdir), "ap-southeast-2")
    home = idle_cost_per_hour(assembly.load(synth.outdir), "us-east-1")
    assert elsewhere.total == home.total
    assert "(us-east-1 prices: the table has none for ap-southeast-2" in elsewhere.source
    assert hourly_prices("ap-southeast-2").region == "ap-southeast-2"
    assert hourly_prices("ap-southeast-2").per_hour("elb.alb_hour") == Decimal("0.0225")
