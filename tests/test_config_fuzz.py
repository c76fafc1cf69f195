"""Property-based tests over the config (hypothesis): every value either fails with the
config's own one-line message, or synthesizes templates that pass cdk-nag and cfn-lint. Never
a traceback from inside CDK.

Bounded: the first property never synthesizes; the second synthesizes a whole set of
generated configs in one app (one Stage each) and lints them in one cfn-lint run (kept by
the templates' bytes, launchlab.kept).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from launchlab import checks
from stacks import names
from stacks.config import (
    APPS,
    ARCHITECTURES,
    CONTEXT_KEYS,
    FARGATE_TASK_SIZES,
    LAMBDA_FRONT_DOORS,
    LOG_RETENTION_DAYS,
    SCALING_METRICS,
    ConfigError,
    LaunchlabConfig,
)
from stacks.launchlab_app import build_stacks
from tests.conftest import cdk_context

MESSAGE = re.compile(r"^config key '(?P<key>\w+)' has value .+; allowed: .+$")
# Configs synthesized together in the one synth example (a synth costs seconds).
EXAMPLES = 3
INSTANCE_TYPES = ("t3.micro", "t3.small", "t3.medium", "t4g.small", "m7g.large", "c6i.large")

# Anything at all, for keys whose type is wrong as often as right.
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
)


def plausible(key: str) -> st.SearchStrategy[Any]:
    """Values a user might really pass for ``key``, valid or not, as JSON or as -c strings."""
    numbers = st.integers(min_value=-10, max_value=20000)
    choices: dict[str, st.SearchStrategy[Any]] = {
        "ec2App": st.sampled_from([*APPS, "ruby", ""]),
        "fargateApp": st.sampled_from([*APPS, "Node"]),
        "fargateArchitecture": st.sampled_from([*ARCHITECTURES, "aarch64"]),
        "lambdaArchitecture": st.sampled_from([*ARCHITECTURES, "amd64"]),
        "lambdaFrontDoor": st.sampled_from([*LAMBDA_FRONT_DOORS, "alb"]),
        "scalingMetric": st.sampled_from([*SCALING_METRICS, "memory"]),
        "logRetentionDays": st.sampled_from([*LOG_RETENTION_DAYS, 31, 0]),
        "ec2InstanceType": st.sampled_from([*INSTANCE_TYPES, "big", "t3."]),
        "fargateCpu": st.sampled_from([*FARGATE_TASK_SIZES, 300]),
        "containerInsights": st.sampled_from([True, False, "true", "false", "yes"]),
        "fargateSpot": st.sampled_from([True, False, "true", "no"]),
    }
    value = choices.get(key, numbers)
    return st.one_of(value, value.map(str), junk)


@st.composite
def overrides(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(CONTEXT_KEYS), max_size=6, unique=True))
    return {key: draw(plausible(key)) for key in keys}


@settings(max_examples=200, deadline=None)
@given(overrides())
@example({"natGateways": "0\x1f"})  # found by this test: Unicode \s let int() see it
@example({"lambdaMemory": "\u0661\u0662\u0668"})  # Arabic-Indic digits: \d without re.ASCII
def test_every_value_loads_or_fails_with_one_clear_line(changes: dict[str, Any]) -> None:
    context = cdk_context(**changes)
    try:
        LaunchlabConfig.from_context(context.get)
    except ConfigError as error:
        match = MESSAGE.match(str(error))
        assert match, str(error)
        assert match["key"] in CONTEXT_KEYS
        assert "\n" not in str(error)


@st.composite
def valid_config(draw: st.DrawFn) -> dict[str, Any]:
    """A config that loads: drawn from the allowed values, then checked by the loader."""
    cpu = draw(st.sampled_from([256, 512, 1024, 2048]))
    front_door = draw(st.sampled_from(LAMBDA_FRONT_DOORS))
    min_tasks = draw(st.integers(1, 3))
    return {
        "natGateways": draw(st.integers(0, 2)),
        "containerInsights": draw(st.booleans()),
        "scalingMetric": draw(st.sampled_from(SCALING_METRICS)),
        "scalingTarget": draw(st.integers(10, 90)),
        "ec2App": draw(st.sampled_from(APPS)),
        "ec2InstanceType": draw(st.sampled_from(INSTANCE_TYPES)),
        "ec2TaskCpu": draw(st.sampled_from([128, 256, 512])),
        "ec2TaskMemory": draw(st.sampled_from([256, 512])),
        "ec2MinInstances": draw(st.integers(0, 1)),
        "ec2MinTasks": min_tasks,
        "ec2MaxTasks": draw(st.integers(min_tasks, 6)),
        "fargateApp": draw(st.sampled_from(APPS)),
        "fargateCpu": cpu,
        "fargateMemory": draw(st.sampled_from(FARGATE_TASK_SIZES[cpu])),
        "fargateArchitecture": draw(st.sampled_from(ARCHITECTURES)),
        "fargateSpot": draw(st.booleans()),
        "lambdaMemory": draw(st.integers(128, 10240)),
        "lambdaTimeoutSeconds": draw(st.integers(1, 30 if front_door == "http-api" else 900)),
        "lambdaArchitecture": draw(st.sampled_from(ARCHITECTURES)),
        "lambdaReservedConcurrency": draw(st.one_of(st.just(""), st.integers(1, 50))),
        "lambdaFrontDoor": front_door,
        "imageTag": draw(st.sampled_from(["", "v1.2.3"])),
        "logRetentionDays": draw(st.sampled_from(LOG_RETENTION_DAYS)),
    }


@pytest.mark.slow
@settings(
    max_examples=1,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(configs=st.lists(valid_config(), min_size=EXAMPLES, max_size=EXAMPLES))
def test_valid_configs_synthesize_clean_templates(
    configs: list[dict[str, Any]], tmp_path: Path
) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context=cdk_context())
    for number, changes in enumerate(configs):
        stage = cdk.Stage(app, f"Example{number}")
        build_stacks(stage, LaunchlabConfig.from_context(cdk_context(**changes).get))
    assembly = app.synth()  # cdk-nag runs here: an unacknowledged finding raises
    templates = [
        stack.template_full_path
        for nested in (
            assembly.get_nested_assembly(f"assembly-Example{n}") for n in range(EXAMPLES)
        )
        for stack in nested.stacks
    ]
    assert len(templates) == EXAMPLES * len(names.DEFAULT_STACKS)
    # The product's lint (its output kept by the templates' bytes: unchanged examples are
    # not linted again in the next session), over every nested assembly's templates at once.
    verdict = checks.cfn_lint(tmp_path / "cdk.out", [Path(path) for path in templates])
    assert verdict.findings == (), (configs, verdict.findings)
    assert verdict.passed, (configs, verdict.detail)
    assert verdict.detail == f"{len(templates)} templates: 0 errors, 0 warnings"
