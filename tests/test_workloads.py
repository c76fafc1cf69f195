"""The task definitions agree with the images they run: each ECS container's health-check
command, user and port are the ones its Dockerfile's final stage declares (HEALTHCHECK, USER,
EXPOSE), read with dockerfile-parse, never from stacks/workloads.py, which states them too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

from stacks import names
from tests.conftest import ROOT, Synthesized


def final_stage(dockerfile: str) -> dict[str, str]:
    """The last value of each instruction after the Dockerfile's last FROM."""
    structure = DockerfileParser(str(ROOT / "services" / dockerfile)).structure
    last_from = max(i for i, line in enumerate(structure) if line["instruction"] == "FROM")
    return {line["instruction"]: line["value"] for line in structure[last_from:]}


def healthcheck_command(dockerfile: str) -> list[str]:
    """HEALTHCHECK's exec-form command as a task definition spells it: ["CMD", arg, ...]."""
    value = final_stage(dockerfile)["HEALTHCHECK"]
    options, _, command = value.partition(" CMD ")
    assert options.startswith("--") and command, value
    return ["CMD", *json.loads(command)]


def container(synthesized: Synthesized, stack: str) -> dict[str, Any]:
    task_definition = synthesized.only(stack, "AWS::ECS::TaskDefinition")["Properties"]
    (found,) = task_definition["ContainerDefinitions"]
    return dict(found)


def test_the_dockerfiles_are_read_as_written() -> None:
    # Literal values, so a parsing slip cannot make both sides of the next test agree on nothing.
    assert healthcheck_command("node-app/Dockerfile") == [
        "CMD",
        "node",
        "/app/src/healthcheck.js",
    ]
    assert healthcheck_command("python-app/Dockerfile") == [
        "CMD",
        "python",
        "-m",
        "launchlab_app.healthcheck",
    ]


# The default runs the Node app on EC2 and the Python app on Fargate; the variant swaps them.
@pytest.mark.parametrize(
    ("which", "stack", "dockerfile"),
    [
        ("synth", names.ECS_EC2_STACK, "node-app/Dockerfile"),
        ("synth", names.FARGATE_STACK, "python-app/Dockerfile"),
        ("variant", names.ECS_EC2_STACK, "python-app/Dockerfile"),
        ("variant", names.FARGATE_STACK, "node-app/Dockerfile"),
    ],
)
def test_task_definition_runs_its_image_as_the_dockerfile_says(
    which: str, stack: str, dockerfile: str, request: pytest.FixtureRequest
) -> None:
    synthesized: Synthesized = request.getfixturevalue(which)
    found = container(synthesized, stack)
    stage = final_stage(dockerfile)
    assert found["HealthCheck"]["Command"] == healthcheck_command(dockerfile)
    assert found["User"] == stage["USER"]
    assert [m["ContainerPort"] for m in found["PortMappings"]] == [int(stage["EXPOSE"])]
