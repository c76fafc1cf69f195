"""The three Dockerfiles: hadolint-clean, and the properties the ECS and Lambda setups rely on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

SERVICES = Path(__file__).resolve().parent.parent
HADOLINT = Path(sys.executable).parent / "hadolint"
DOCKERFILES = {
    "node-app": SERVICES / "node-app" / "Dockerfile",
    "python-app": SERVICES / "python-app" / "Dockerfile",
    "python-lambda": SERVICES / "python-app" / "Dockerfile.lambda",
}
ECS_IMAGES = ["node-app", "python-app"]
# registry/repository:version; a version has digits, never `latest`.
PINNED = re.compile(r"^public\.ecr\.aws/[a-z0-9./_-]+:(?!latest)[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def base_images(steps: list[tuple[str, str]]) -> list[str]:
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    stages, images = set(), []
    for keyword, rest in steps:
        if keyword != "FROM":
            continue
        words = [w for w in rest.split() if not w.startswith("--")]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
        if image not in stages and image not in images:
            images.append(image)
        if len(words) == 3 and words[1].upper() == "AS":
            stages.add(words[2])
    return images


@pytest.mark.parametrize("name", list(DOCKERFILES))
def test_hadolint_reports_nothing(name: str) -> None:
    result = subprocess.run(
        [str(HADOLINT), "--format", "json", "--failure-threshold", "style", str(DOCKERFILES[name])],
        capture_output=True,
        text=True,
        cwd=DOCKERFILES[name].parent,
        timeout=60,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], findings
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", list(DOCKERFILES))
def test_base_images_are_public_ecr_and_pinned(name: str) -> None:
    steps = instructions(DOCKERFILES[name])
    images = base_images(steps)
    assert images, "no FROM"
    for image in images:
        assert PINNED.match(image), image
    assert sum(1 for k, _ in steps if k == "FROM") >= 2, "expected a multi-stage build"


@pytest.mark.parametrize("name", list(DOCKERFILES))
def test_final_stage_is_non_root_with_healthcheck_and_exec_form_cmd(name: str) -> None:
    steps = instructions(DOCKERFILES[name])
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    final = steps[last_from:]
    users = [a for k, a in final if k == "USER"]
    assert users, "no USER in the final stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, users[-1]
    if name in ECS_IMAGES:
        assert users[-1] == "10001:10001"
    (healthcheck,) = [a for k, a in final if k == "HEALTHCHECK"]
    assert "CMD [" in healthcheck and not healthcheck.upper().startswith("NONE")
    (cmd,) = [a for k, a in final if k == "CMD"]
    assert isinstance(json.loads(cmd), list), "CMD must be exec form"
    assert not [a for k, a in final if k == "ENTRYPOINT" and not a.startswith("[")]


@pytest.mark.parametrize("name", ECS_IMAGES)
def test_ecs_images_expose_8080_and_default_port(name: str) -> None:
    final = instructions(DOCKERFILES[name])
    assert ("EXPOSE", "8080") in final
    env = " ".join(a for k, a in final if k == "ENV")
    assert re.search(r"\bPORT=8080\b", env)
    assert name == "node-app" or "PYTHONDONTWRITEBYTECODE=1" in env


def test_commands_match_what_the_tests_run() -> None:
    # The contract tests start exactly these; an image that ran something else would be untested.
    cmds = {
        n: json.loads([a for k, a in instructions(p) if k == "CMD"][-1])
        for n, p in DOCKERFILES.items()
    }
    assert cmds["node-app"] == ["node", "src/server.js"]
    assert cmds["python-app"] == ["python", "-m", "launchlab_app"]
    assert cmds["python-lambda"] == ["launchlab_app.lambda_handler.handler"]


def test_lambda_image_is_the_pinned_lambda_python_313_base() -> None:
    (image,) = base_images(instructions(DOCKERFILES["python-lambda"]))
    assert re.match(r"^public\.ecr\.aws/lambda/python:3\.13\.\d{4}\.\d{2}\.\d{2}\.\d{2}$", image)


@pytest.mark.parametrize("name", list(DOCKERFILES))
def test_dockerignore_keeps_the_context_small(name: str) -> None:
    ignore = (DOCKERFILES[name].parent / ".dockerignore").read_text().splitlines()
    assert "*" in ignore  # allow-list: nothing but what the image needs


def test_compose_runs_ecs_images_read_only_with_tmpfs() -> None:
    compose = yaml.safe_load((SERVICES / "compose.yaml").read_text())
    services = compose["services"]
    for name in ("node-app", "python-app"):
        assert services[name]["read_only"] is True
        assert any(t.startswith("/tmp") for t in services[name]["tmpfs"])
    assert services["lambda"]["build"]["dockerfile"] == "Dockerfile.lambda"
    assert "127.0.0.1:9000:8080" in services["lambda"]["ports"]


def test_requirements_are_pinned_and_match_the_venv() -> None:
    from importlib.metadata import version

    lines = (SERVICES / "python-app" / "requirements.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert {"starlette", "uvicorn", "mangum"} <= pins.keys()
    for name, pinned in pins.items():
        assert version(name) == pinned, name


def test_openapi_document_is_valid_openapi_3_1() -> None:
    spec = yaml.safe_load((SERVICES / "openapi.yaml").read_text())
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    assert set(spec["paths"]) == {"/", "/health", "/compute", "/echo"}


@pytest.mark.parametrize("name", ECS_IMAGES)
def test_ecs_images_declare_tmp_as_their_volume(name: str) -> None:
    """The stacks mount a task volume at /tmp under a read-only root filesystem; only a
    declared VOLUME makes ECS seed it with the image's /tmp (mode 1777) instead of a
    root-owned directory user 10001 cannot write to (Fargate bind mounts)."""
    steps = instructions(DOCKERFILES[name])
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    assert ("VOLUME", '["/tmp"]') in steps[last_from:]
