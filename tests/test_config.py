"""Bad config values fail synth with a message naming the key, the value and what is allowed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stacks.config import CONTEXT_KEYS, ConfigError, LaunchlabConfig, check_context_keys
from tests.conftest import ROOT, cdk_context


def config(**overrides: Any) -> LaunchlabConfig:
    return LaunchlabConfig.from_context(cdk_context(**overrides).get)


def test_defaults_in_cdk_json() -> None:
    loaded = config()
    assert loaded.network.nat_gateways == 0
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
    settings = {key for key in context if not key.startswith("@")}
    read: list[str] = []

    def recording_get(key: str) -> object:
        read.append(key)
        return context.get(key)

    LaunchlabConfig.from_context(recording_get)
    assert set(read) == settings == set(CONTEXT_KEYS)


def test_command_line_strings_are_converted() -> None:
    loaded = config(fargateCpu="1024", fargateMemory="3072", fargateSpot="true", natGateways="2")
    assert (loaded.fargate.cpu, loaded.fargate.memory_mib, loaded.fargate.spot) == (
        1024,
        3072,
        True,
    )
    assert loaded.network.nat_gateways == 2


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        ({"fargateCpu": 256, "fargateMemory": 4096}, "fargateMemory", "512, 1024, 2048"),
        ({"fargateCpu": 300}, "fargateCpu", "256, 512, 1024, 2048, 4096, 8192, 16384"),
        ({"fargateCpu": "1024", "fargateMemory": "1024"}, "fargateMemory", "2048, 3072"),
        ({"lambdaMemory": 64}, "lambdaMemory", "128..10240"),
        ({"lambdaMemory": 10241}, "lambdaMemory", "128..10240"),
        ({"lambdaMemory": "lots"}, "lambdaMemory", "a whole number (128..10240)"),
        ({"lambdaTimeoutSeconds": 901}, "lambdaTimeoutSeconds", "1..900"),
        (
            {"lambdaFrontDoor": "http-api", "lambdaTimeoutSeconds": 60},
            "lambdaTimeoutSeconds",
            "1..30 with lambdaFrontDoor=http-api",
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
        ({"ec2MinInstances": -1}, "ec2MinInstances", ">= 0"),
        ({"fargateMinTasks": 0}, "fargateMinTasks", ">= 1"),
        ({"ecrKeepImages": 0}, "ecrKeepImages", "1..1000"),
        ({"lambdaReservedConcurrency": -5}, "lambdaReservedConcurrency", "1..10000"),
        ({"logRetentionDays": 31}, "logRetentionDays", "14, 30, 60"),
        ({"scalingMetric": "memory"}, "scalingMetric", "cpu, requests"),
        ({"scalingTarget": 150}, "scalingTarget", "1..100 (percent CPU)"),
        ({"ec2InstanceType": "big"}, "ec2InstanceType", "t3.small or t4g.small"),
        ({"ec2CpuCredits": "burst"}, "ec2CpuCredits", "standard, unlimited"),
        ({"fargateSpot": "yes"}, "fargateSpot", "true or false"),
        ({"containerInsights": 1}, "containerInsights", "true or false"),
        ({"imageTag": "-bad"}, "imageTag", "an ECR tag"),
        ({"imageTag": "cdk-1234"}, "imageTag", "reserved for the images `cdk deploy` builds"),
        ({"certificateArn": "arn:aws:iam::1:cert"}, "certificateArn", "an ACM certificate ARN"),
        ({"stage": ""}, "stage", "a non-empty string"),
        ({"stage": "a" * 129}, "stage", "1-128 letters"),
        ({"ec2TaskMemory": None}, "ec2TaskMemory", "set it in cdk.json or with -c key=value"),
        ({"ec2TaskMemory": 2048}, "ec2TaskMemory", "at most 1843 MiB on t3.small (2 GiB"),
        ({"ec2TaskCpu": 4096}, "ec2TaskCpu", "at most 2048 on t3.small (2 vCPU)"),
    ],
)
def test_bad_value_names_key_value_and_allowed(
    overrides: dict[str, Any], key: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config(**overrides)
    assert error.value.key == key
    message = str(error.value)
    assert message.startswith(f"config key '{key}' has value ")
    assert repr(error.value.value) in message
    assert allowed in message


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
    """Through the real CLI: exit non-zero, the reason on stderr, no traceback."""
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
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
