"""Bad config values fail synth with a message naming the key, the value and what is allowed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stacks.config import (
    CONTEXT_KEYS,
    EGRESS_KINDS,
    ConfigError,
    LaunchlabConfig,
    check_context_keys,
)
from tests.conftest import ROOT, cdk_context


def config(**overrides: Any) -> LaunchlabConfig:
    return LaunchlabConfig.from_context(cdk_context(**overrides).get)


def test_defaults_in_cdk_json() -> None:
    loaded = config()
    assert loaded.network.nat_gateways == 0
    # The default three need nothing of the VPC but public subnets: no private subnets, NAT
    # or endpoints, whatever the egress setting.
    assert (loaded.network.private_subnets, loaded.network.endpoints) == (False, False)
    assert loaded.network.egress == "nat-instance" and not loaded.network.nat_instance
    assert loaded.ecs_ec2.app == "node" and loaded.ecs_ec2.instance_type == "t3.small"
    assert (loaded.fargate.app, loaded.fargate.cpu, loaded.fargate.memory_mib) == (
        "python",
        256,
        512,
    )
    assert loaded.lambda_.memory_mib == 512 and loaded.lambda_.front_door == "function-url"
    assert loaded.lambda_.reserved_concurrency is None
    assert loaded.registry.image_tag is None
    assert loaded.log_retention_days == 30


def test_the_config_reads_every_key_of_cdk_json_and_nothing_else() -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    # The CDK's own keys: feature flags, and the CLI's telemetry switch.
    settings = {key for key in context if not key.startswith("@") and key != "cli-telemetry"}
    read: list[str] = []

    def recording_get(key: str) -> object:
        read.append(key)
        return context.get(key)

    LaunchlabConfig.from_context(recording_get)
    assert set(read) == settings == set(CONTEXT_KEYS)


def test_a_number_from_the_command_line_is_shown_as_a_number() -> None:
    # -c fargateMemory=4096 arrives as the string "4096": named as cdk.json would hold it.
    with pytest.raises(ConfigError) as error:
        config(fargateCpu="256", fargateMemory="4096")
    assert str(error.value) == (
        "config key 'fargateMemory' has value 4096; allowed: with fargateCpu 256: 512, 1024, 2048"
    )


def test_command_line_strings_are_converted() -> None:
    loaded = config(fargateCpu="1024", fargateMemory="3072", fargateSpot="true", natGateways="2")
    assert loaded.network.private_subnets and not loaded.network.nat_instance
    assert (loaded.fargate.cpu, loaded.fargate.memory_mib, loaded.fargate.spot) == (
        1024,
        3072,
        True,
    )
    assert loaded.network.nat_gateways == 2


def test_optional_and_boolean_values_in_any_case() -> None:
    loaded = config(
        owner="platform-team", lambdaReservedConcurrency=" NONE ", fargateSpot=" False ",
        containerInsights="TRUE", certificateArn="  ",
    )  # fmt: skip
    assert loaded.owner == "platform-team"
    assert loaded.lambda_.reserved_concurrency is None
    assert (loaded.fargate.spot, loaded.container_insights) == (False, True)
    assert loaded.certificate_arn is None
    assert config(owner="").owner is None
    assert config(lambdaReservedConcurrency="").lambda_.reserved_concurrency is None
    assert config(lambdaReservedConcurrency="7").lambda_.reserved_concurrency == 7
    assert config(fargateSpot=True).fargate.spot is True


def test_launch_types_by_set_or_list_in_the_registry_order() -> None:
    assert config(launchTypes="default").launch_types == ("ecs-ec2", "fargate", "lambda")
    every = config(launchTypes="all").launch_types
    assert every[:3] == ("ecs-ec2", "fargate", "lambda") and len(every) == 6
    assert config(launchTypes=" lambda , fargate").launch_types == ("fargate", "lambda")
    assert config(launchTypes="express").launch_types == ("express",)


def test_values_at_the_edge_of_what_is_allowed_are_accepted_and_kept() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666"
    loaded = config(
        scalingTarget="100", ec2MinInstances="2", ec2MaxInstances="2", ec2TaskCpu="128",
        ec2TaskMemory="128", ec2RootVolumeGiB="16384", lambdaFrontDoor="http-api",
        lambdaTimeoutSeconds="30", certificateArn=arn, imageTag="v1.2.3",
    )  # fmt: skip
    assert loaded.ecs_ec2.scaling.target == 100
    assert (loaded.ecs_ec2.min_instances, loaded.ecs_ec2.max_instances) == (2, 2)
    assert (loaded.ecs_ec2.task_cpu, loaded.ecs_ec2.task_memory_mib) == (128, 128)
    assert loaded.ecs_ec2.root_volume_gib == 16384
    assert loaded.lambda_.timeout_seconds == 30
    assert (loaded.certificate_arn, loaded.registry.image_tag) == (arn, "v1.2.3")
    # A function URL has no 30 s cap; requests-per-target targets go past 100.
    roomy = config(lambdaTimeoutSeconds="60", scalingMetric="requests", scalingTarget="1")
    assert roomy.lambda_.timeout_seconds == 60 and roomy.fargate.scaling.target == 1
    highest = config(ec2TaskCpu="2048", ec2RootVolumeGiB="30", ec2MaxInstances="1")
    assert (highest.ecs_ec2.task_cpu, highest.ecs_ec2.max_instances) == (2048, 1)


def test_a_task_may_fill_its_instance_exactly() -> None:
    # t3.small: 2 vCPU = 2048 cpu units, 2 GiB of which ECS leaves 90%: 1843 MiB.
    loaded = config(ec2TaskCpu=2048, ec2TaskMemory=1843)
    assert (loaded.ecs_ec2.task_cpu, loaded.ecs_ec2.task_memory_mib) == (2048, 1843)


def test_opt_in_launch_types_read_each_of_their_keys() -> None:
    loaded = config(
        ecsMiApp="node", ecsMiInstanceType="m6i.xlarge", ecsMiTaskCpu="4096",
        ecsMiTaskMemory="14745", ecsMiStorageGiB="40", ecsMiMinTasks="2", ecsMiMaxTasks="5",
        expressApp="node", expressCpu="512", expressMemory="1024", expressMinTasks="3",
        expressMaxTasks="3", lmiInstanceType="r7g.large", lmiMemory="4096",
        lmiMemoryPerVcpu="8", lmiMaxConcurrency="32", lmiMinEnvironments="6",
        lmiMaxEnvironments="6", lmiMaxVcpus="24", lmiTimeoutSeconds="60",
        scalingMetric="requests", scalingTarget="500",
    ).opt_in  # fmt: skip
    requests = ("requests", 500)
    mi = loaded.ecs_managed_instances
    # m6i.xlarge: 4 vCPU, 16 GiB; the task may have all of its CPU and 90% of its memory.
    assert (mi.app, mi.instance_type, mi.task_cpu, mi.task_memory_mib, mi.storage_gib) == (
        "node", "m6i.xlarge", 4096, 14745, 40,
    )  # fmt: skip
    assert (mi.scaling.min_count, mi.scaling.max_count) == (2, 5)
    assert (mi.scaling.metric, mi.scaling.target) == requests
    express = loaded.express
    assert (express.app, express.cpu, express.memory_mib) == ("node", 512, 1024)
    assert (express.scaling.min_count, express.scaling.max_count) == (3, 3)
    assert (express.scaling.metric, express.scaling.target) == requests
    lmi = loaded.lambda_managed_instances
    assert (lmi.instance_type, lmi.memory_mib, lmi.memory_per_vcpu_gib) == ("r7g.large", 4096, 8)
    assert (lmi.max_concurrency, lmi.min_environments, lmi.max_environments) == (32, 6, 6)
    assert (lmi.max_vcpus, lmi.timeout_seconds) == (24, 60)
    # The C family too, and the smallest sizes allowed.
    smallest = config(lmiInstanceType="c7g.large", lmiMemory="2048", lmiMaxVcpus="12").opt_in
    assert smallest.lambda_managed_instances.instance_type == "c7g.large"
    assert smallest.lambda_managed_instances.memory_mib == 2048


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        (
            {"fargateCpu": 256, "fargateMemory": 4096},
            "fargateMemory",
            "with fargateCpu 256: 512, 1024, 2048",
        ),
        ({"fargateCpu": 300}, "fargateCpu", "256, 512, 1024, 2048, 4096, 8192, 16384"),
        (
            {"fargateCpu": "1024", "fargateMemory": "1024"},
            "fargateMemory",
            "with fargateCpu 1024: 2048, 3072",
        ),
        ({"lambdaMemory": 64}, "lambdaMemory", "128..10240"),
        ({"lambdaMemory": 10241}, "lambdaMemory", "128..10240"),
        ({"lambdaMemory": "lots"}, "lambdaMemory", "a whole number (128..10240)"),
        ({"lambdaTimeoutSeconds": 901}, "lambdaTimeoutSeconds", "1..900"),
        (
            {"lambdaFrontDoor": "http-api", "lambdaTimeoutSeconds": 60},
            "lambdaTimeoutSeconds",
            "1..30 with lambdaFrontDoor=http-api (API Gateway's integration timeout)",
        ),
        ({"lambdaFrontDoor": "alb"}, "lambdaFrontDoor", "function-url, http-api"),
        ({"lambdaArchitecture": "arm"}, "lambdaArchitecture", "x86_64, arm64"),
        ({"fargateArchitecture": "aarch64"}, "fargateArchitecture", "x86_64, arm64"),
        ({"ec2App": "ruby"}, "ec2App", "node, python"),
        ({"fargateApp": "java"}, "fargateApp", "node, python"),
        ({"ec2MinTasks": 5, "ec2MaxTasks": 2}, "ec2MinTasks", "at most ec2MaxTasks (2)"),
        ({"fargateMinTasks": 3, "fargateMaxTasks": 1}, "fargateMinTasks", "at most"),
        ({"ec2MinInstances": 3, "ec2MaxInstances": 2}, "ec2MinInstances", "at most"),
        ({"natGateways": -1}, "natGateways", "0..2"),
        ({"natGateways": 3}, "natGateways", "0..2"),
        ({"egress": "nat"}, "egress", "nat-instance, nat-gateway, endpoints"),
        ({"ec2MinInstances": -1}, "ec2MinInstances", ">= 0"),
        ({"fargateMinTasks": 0}, "fargateMinTasks", ">= 1"),
        ({"ecrKeepImages": 0}, "ecrKeepImages", "1..1000"),
        ({"lambdaReservedConcurrency": -5}, "lambdaReservedConcurrency", "1..10000"),
        ({"logRetentionDays": 31}, "logRetentionDays", "1, 3, 5, 7, 14, 30, 60"),
        ({"scalingMetric": "memory"}, "scalingMetric", "cpu, requests"),
        ({"scalingTarget": 101}, "scalingTarget", "1..100 (percent CPU) when scalingMetric=cpu"),
        ({"ec2InstanceType": "big"}, "ec2InstanceType", "an EC2 instance type such as t3.small"),
        ({"ec2CpuCredits": "burst"}, "ec2CpuCredits", "standard, unlimited"),
        ({"fargateSpot": "yes"}, "fargateSpot", "true or false"),
        ({"containerInsights": 1}, "containerInsights", "true or false"),
        (
            {"imageTag": "-bad"},
            "imageTag",
            "empty (build from source) or an ECR tag: 1-128 of A-Z a-z 0-9 _ . - not starting "
            "with . or -",
        ),
        (
            {"imageTag": "cdk-1234"},
            "imageTag",
            "a tag not starting with 'cdk-' (reserved for the images `cdk deploy` builds)",
        ),
        (
            {"certificateArn": "arn:aws:iam::1:cert"},
            "certificateArn",
            "empty (HTTP only) or an ACM certificate ARN "
            "arn:aws:acm:<region>:<account>:certificate/<id>",
        ),
        ({"stage": ""}, "stage", "a non-empty string"),
        ({"stage": "a" * 129}, "stage", "1-128 letters"),
        ({"ec2TaskMemory": None}, "ec2TaskMemory", "a value: set it in cdk.json or with -c"),
        (
            {"ec2TaskMemory": 1844},
            "ec2TaskMemory",
            "at most 1843 MiB on t3.small (2 GiB, of which ECS keeps about a tenth for the OS "
            "and its agent)",
        ),
        ({"ec2TaskCpu": 2049}, "ec2TaskCpu", "at most 2048 on t3.small (2 vCPU)"),
        ({"fargateCpu": "lots"}, "fargateCpu", "256, 512, 1024, 2048, 4096, 8192, 16384"),
        ({"fargateMemory": "lots"}, "fargateMemory", "with fargateCpu 256: 512, 1024, 2048"),
        ({"scalingTarget": 0}, "scalingTarget", ">= 1"),
        ({"ec2MaxTasks": 0}, "ec2MaxTasks", ">= 1"),
        ({"ec2MaxInstances": 0}, "ec2MaxInstances", ">= 1"),
        ({"ec2TaskCpu": 127}, "ec2TaskCpu", "128..10240"),
        ({"ec2TaskCpu": 10241}, "ec2TaskCpu", "128..10240"),
        ({"ec2TaskMemory": 127}, "ec2TaskMemory", "128..1048576"),
        ({"ec2TaskMemory": 1_048_577}, "ec2TaskMemory", "128..1048576"),
        ({"ec2RootVolumeGiB": 29}, "ec2RootVolumeGiB", "30..16384"),
        ({"ec2RootVolumeGiB": 16385}, "ec2RootVolumeGiB", "30..16384"),
        # A control character is not white space to int(): refused in one line, not a traceback.
        ({"natGateways": "\x1f1"}, "natGateways", "a whole number (0..2)"),
        # The opt-in launch types (-c launchTypes=...), read whether selected or not.
        (
            {"ecsMiInstanceType": "t9.huge"},
            "ecsMiInstanceType",
            "a type stacks/instance_types.yaml lists: ",
        ),
        ({"ecsMiTaskCpu": 127}, "ecsMiTaskCpu", "128..10240"),
        ({"ecsMiTaskCpu": 10241}, "ecsMiTaskCpu", "128..10240"),
        ({"ecsMiTaskMemory": 127}, "ecsMiTaskMemory", "128..1048576"),
        ({"ecsMiTaskMemory": 1_048_577}, "ecsMiTaskMemory", "128..1048576"),
        ({"ecsMiTaskCpu": 4096}, "ecsMiTaskCpu", "at most 2048 on t4g.small (2 vCPU)"),
        ({"ecsMiTaskMemory": 1844}, "ecsMiTaskMemory", "at most 1843 MiB on t4g.small (2 GiB"),
        (
            {"ecsMiInstanceType": "t4g.micro"},
            "ecsMiInstanceType",
            "a type ECS Managed Instances launches: no nano",
        ),
        ({"ecsMiApp": "ruby"}, "ecsMiApp", "node, python"),
        ({"ecsMiStorageGiB": 29}, "ecsMiStorageGiB", "30..16384"),
        ({"ecsMiStorageGiB": 16385}, "ecsMiStorageGiB", "30..16384"),
        ({"ecsMiMinTasks": 5, "ecsMiMaxTasks": 4}, "ecsMiMinTasks", "at most ecsMiMaxTasks (4)"),
        ({"expressCpu": 256, "expressMemory": 4096}, "expressMemory", "with expressCpu 256: 512"),
        ({"expressCpu": 300}, "expressCpu", "256, 512, 1024"),
        ({"expressApp": "go"}, "expressApp", "node, python"),
        ({"expressMinTasks": 2, "expressMaxTasks": 1}, "expressMinTasks", "at most express"),
        ({"lmiInstanceType": "t3.large"}, "lmiInstanceType", "a C, M or R instance of size large"),
        ({"lmiInstanceType": "m7g.medium"}, "lmiInstanceType", "a C, M or R instance of size"),
        ({"lmiInstanceType": "m7g"}, "lmiInstanceType", "a C, M or R instance"),
        ({"lmiMinEnvironments": 0}, "lmiMinEnvironments", "1..15000"),
        ({"lmiMaxEnvironments": 15001}, "lmiMaxEnvironments", "1..15000"),
        ({"lmiMinEnvironments": 7}, "lmiMinEnvironments", "at most lmiMaxEnvironments (6)"),
        ({"lmiMemory": 2047}, "lmiMemory", "2048..32768"),
        ({"lmiMemory": 32769}, "lmiMemory", "2048..32768"),
        ({"lmiMemoryPerVcpu": 3}, "lmiMemoryPerVcpu", "2, 4, 8"),
        ({"lmiMaxConcurrency": 0}, "lmiMaxConcurrency", "1..1600"),
        ({"lmiMaxConcurrency": 1601}, "lmiMaxConcurrency", "1..1600"),
        ({"lmiMaxVcpus": 11}, "lmiMaxVcpus", "12..15000"),
        ({"lmiMaxVcpus": 15001}, "lmiMaxVcpus", "12..15000"),
        ({"lmiTimeoutSeconds": 0}, "lmiTimeoutSeconds", "1..900"),
        ({"lmiTimeoutSeconds": 901}, "lmiTimeoutSeconds", "1..900"),
        (
            {"launchTypes": "fargate,ec2"},
            "launchTypes",
            "default or all, or a comma-separated "
            "list of ecs-ec2, fargate, lambda, ecs-managed-instances, express, "
            "lambda-managed-instances",
        ),
        ({"certificateArn": 5}, "certificateArn", "a string, or empty for none"),
        ({"owner": "a<b"}, "owner", "1-128 letters, digits, spaces and _ . : / = + - @"),
        ({"logRetentionDays": "x"}, "logRetentionDays", "1, 3, 5, 7, 14, 30, 60"),
    ],
)
def test_bad_value_names_key_value_and_allowed(
    overrides: dict[str, Any], key: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config(**overrides)
    assert error.value.key == key
    # The value as given (a number from a string counts as that number).
    assert str(error.value.value) == str(overrides.get(key, error.value.value))
    assert error.value.allowed.startswith(allowed)
    assert str(error.value) == (
        f"config key '{key}' has value {error.value.value!r}; allowed: {error.value.allowed}"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("fargatecpu", "config key 'fargatecpu' has value '(unknown key)'; allowed: did you "
         "mean 'fargateCpu'? one of the keys in cdk.json"),
        ("nosuchThing", "config key 'nosuchThing' has value '(unknown key)'; allowed: one of "
         "the keys in cdk.json"),
    ],
)  # fmt: skip
def test_an_unknown_key_is_refused_with_the_closest_known_one(key: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        check_context_keys([*cdk_context(), key, "aws:cdk:enable-path-metadata"])
    assert str(error.value) == message


def test_every_key_cdk_json_and_the_cli_pass_is_accepted() -> None:
    check_context_keys([*cdk_context(), "aws:cdk:version-reporting", "@aws-cdk/core:x"])


@pytest.mark.slow
def test_bad_value_fails_cdk_synth_with_one_clear_line(tmp_path: Path) -> None:
    """Through the real CLI: exit non-zero, the reason on stderr, no traceback. And nothing
    for CDK's telemetry: from CLI 2.1100.0 every command, a failed one too, writes its events
    to $TMPDIR/cdk-telemetry-*.json and leaves a detached sender behind to post them to AWS
    (https://docs.aws.amazon.com/cdk/v2/guide/cli-telemetry.html); cdk.json's
    "cli-telemetry": false turns that off for every CLI run in this project."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp),
    }
    result = subprocess.run(
        [
            str(ROOT / "node_modules" / ".bin" / "cdk"),
            "synth",
            "--quiet",
            "--no-notices",
            "-o",
            str(tmp_path / "cdk.out"),
            "-c",
            "fargateCpu=256",
            "-c",
            "fargateMemory=4096",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert (
        "launchlab: config key 'fargateMemory' has value 4096; "
        "allowed: with fargateCpu 256: 512, 1024, 2048"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cdk.out" / "manifest.json").exists()
    assert sorted(path.name for path in tmp.glob("cdk-telemetry-*")) == []


@pytest.mark.parametrize(
    ("launch_types_", "egress", "private", "nat_instance", "endpoints"),
    [
        # Express needs endpoints whatever the egress (its tasks have no public IP and stay in
        # the public subnets); Lambda Managed Instances needs private subnets and the egress.
        ("express", "nat-instance", False, False, True),
        ("lambda-managed-instances", "nat-instance", True, True, False),
        ("lambda-managed-instances", "nat-gateway", True, False, False),
        ("lambda-managed-instances", "endpoints", True, False, True),
        ("all", "nat-instance", True, True, True),
        ("ecs-managed-instances", "endpoints", False, False, False),
    ],
)
def test_the_network_holds_what_the_selected_launch_types_need(
    launch_types_: str, egress: str, private: bool, nat_instance: bool, endpoints: bool
) -> None:
    network = config(launchTypes=launch_types_, egress=egress).network
    assert (network.private_subnets, network.nat_instance, network.endpoints) == (
        private,
        nat_instance,
        endpoints,
    )


@pytest.mark.parametrize("egress", EGRESS_KINDS)
def test_nat_gateways_serve_the_private_subnets_whatever_the_egress(egress: str) -> None:
    """With natGateways 1 or 2 the private subnets go out through the NAT gateways: no NAT
    instance beside them, and no endpoints for Lambda Managed Instances alone (Express's are
    its own: they serve its public subnets)."""
    network = config(launchTypes="lambda-managed-instances", egress=egress, natGateways="1").network
    assert (network.private_subnets, network.nat_instance, network.endpoints) == (
        True,
        False,
        False,
    )
    network = config(launchTypes="express", egress=egress, natGateways="1").network
    assert (network.private_subnets, network.nat_instance, network.endpoints) == (True, False, True)
