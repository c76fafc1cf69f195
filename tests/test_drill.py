"""`launchlab drill` against the app deployed in moto (server mode, 127.0.0.1), each endpoint
leading to its local stand-in on 127.0.0.1.

What moto cannot do, and how these tests stand in for it: moto runs no tasks, no health checks,
no deployment circuit breaker and no Application Auto Scaling. A service updated to a new task
definition is steady at once, and nothing ever scales out or rolls back by itself. So a thread
of the test plays ECS's part with UpdateService: it raises the desired count once the drill's
deploy is done (the scale-out the load would cause) and puts the service back on its good
revision once the drill has deployed the failing one (the circuit breaker's rollback). moto's
Lambda ignores an ImageConfig update and never runs the function: the endpoint is the stand-in,
which keeps answering, so the drill's "requests fail" wait ends by its bound. Every wait is
bounded by --wait, and the load by bench's bounds, small here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from launchlab.cli import main
from stacks import names
from tests import moto_server as fixtures
from tests.conftest import ROOT, Synthesized
from tests.moto_server import MotoServer, deploy_app, start_apps

aws = fixtures.aws
moto_server = fixtures.moto_server

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 100,
            "digest": "sha256:" + "b" * 64,
        },
        "layers": [],
    }
)


def _outputs(stack: str) -> dict[str, str]:
    found = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in found["Outputs"]}


def _service(stack: str) -> tuple[str, str]:
    outputs = _outputs(stack)
    return outputs["ClusterName"], outputs["ServiceName"]


def _describe(stack: str) -> dict[str, Any]:
    cluster, service = _service(stack)
    found = boto3.client("ecs").describe_services(cluster=cluster, services=[service])
    return found["services"][0]  # type: ignore[no-any-return]


def _push_images() -> list[str]:
    """What the deployed task definitions and the function run, put into moto's ECR (a deploy
    without Docker has none): the image URIs."""
    ecr, ecs = boto3.client("ecr"), boto3.client("ecs")
    images = []
    for stack in (names.ECS_EC2_STACK, names.FARGATE_STACK):
        definition = ecs.describe_task_definition(taskDefinition=_describe(stack)["taskDefinition"])
        images.append(definition["taskDefinition"]["containerDefinitions"][0]["image"])
    function = _outputs(names.LAMBDA_STACK)["FunctionName"]
    images.append(boto3.client("lambda").get_function(FunctionName=function)["Code"]["ImageUri"])
    for image in images:
        repository, tag = image.split("/", 1)[1].rsplit(":", 1)
        ecr.put_image(repositoryName=repository, imageManifest=MANIFEST, imageTag=tag)
    return images


class PlaysEcs:
    """A thread that does for the drill what ECS would: scales the service out once its deploy
    is done, and rolls the failing revision back to the good one."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.good = _describe(stack)["taskDefinition"]
        self.stop = threading.Event()
        self.scaled = False
        self.rolled_back = False
        self.roll_back = True  # False: the circuit breaker never acts
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PlaysEcs:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        ecs = boto3.client("ecs")
        cluster, service = _service(self.stack)
        completed = self.good  # the last revision the service was steady on
        while not self.stop.wait(0.1):
            current = _describe(self.stack)["taskDefinition"]
            if current == self.good:
                continue
            container = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"][
                "containerDefinitions"
            ][0]
            port = {e["name"]: e["value"] for e in container.get("environment", [])}.get("PORT")
            if port == "8081":
                if not self.roll_back:
                    continue
                time.sleep(0.3)
                ecs.update_service(cluster=cluster, service=service, taskDefinition=completed)
                self.rolled_back = True
                continue
            completed = current
            if not self.scaled and ":drill-" in container["image"]:
                time.sleep(0.3)
                ecs.update_service(cluster=cluster, service=service, desiredCount=2)
                self.scaled = True


@pytest.fixture
def drilled_app(aws: MotoServer, synth: Synthesized, tmp_path: Path) -> Iterator[list[str]]:
    """The default app deployed in this test's account, each endpoint leading to a stand-in
    started for this test; the images it runs in moto's ECR."""
    servers = start_apps(tmp_path / "apps")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # moto's "not supported" warnings
            deploy_app(
                synth.templates, synth.outdir, {s: server.url for s, server in servers.items()}
            )
        yield _push_images()
    finally:
        for server in servers.values():
            server.stop()


DRILL = ["drill", "--requests", "20", "--concurrency", "4", "--seconds", "5", "--idle", "0"]


@pytest.mark.slow
def test_drill_times_each_step_and_leaves_the_service_on_its_good_revision(
    drilled_app: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "drill.json"
    with PlaysEcs(names.FARGATE_STACK) as ecs:
        code = main(
            [*DRILL, "--wait", "2", "--poll", "0.1", "--only", "fargate", "--only", "lambda",
             "--out", str(out)]
        )  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert ecs.scaled and ecs.rolled_back
    document = json.loads(out.read_text())
    assert document["schema"] == "launchlab-drill" and document["complete"] is True
    assert document["settings"]["requests"] == 20
    fargate = document["launch_types"]["fargate"]["steps"]
    assert set(fargate) == {"cold_start", "deploy", "scale_out", "rollback"}
    assert fargate["cold_start"]["unit"] == "ms" and fargate["cold_start"]["value"] > 0
    assert fargate["deploy"]["value"] is not None and "steady" in fargate["deploy"]["note"]
    # The scale-out the thread played: one task more than before the load.
    assert fargate["scale_out"]["value"] is not None
    assert fargate["scale_out"]["note"].startswith("2 tasks running (was 1)")
    # Not before the thread rolled back, 0.3 s after it saw the failing revision.
    assert fargate["rollback"]["value"] >= 0.3
    assert fargate["rollback"]["note"].startswith("back on ")
    lambda_ = document["launch_types"]["lambda"]["steps"]
    assert lambda_["deploy"]["value"] is not None
    assert (
        "LastUpdateStatus Successful" in lambda_["deploy"]["note"]
        or "200" in (lambda_["deploy"]["note"])
    )
    assert lambda_["scale_out"]["value"] > 0  # the slowest response under the load
    assert "no automatic rollback" in lambda_["rollback"]["note"]
    # Everything the drill made is gone again; the service is where it was.
    assert _describe(names.FARGATE_STACK)["taskDefinition"] == ecs.good
    _assert_cleaned(drilled_app)
    function = _outputs(names.LAMBDA_STACK)["FunctionName"]
    image = boto3.client("lambda").get_function(FunctionName=function)["Code"]["ImageUri"]
    assert ":drill-" not in image and image in drilled_app


def _assert_cleaned(images: list[str]) -> None:
    ecr, ecs = boto3.client("ecr"), boto3.client("ecs")
    for image in images:
        repository = image.split("/", 1)[1].rsplit(":", 1)[0]
        tags = {
            tag
            for found in ecr.describe_images(repositoryName=repository)["imageDetails"]
            for tag in found.get("imageTags", [])
        }
        assert not [tag for tag in tags if tag.startswith("drill-")], tags
    family = ecs.describe_task_definition(
        taskDefinition=_describe(names.FARGATE_STACK)["taskDefinition"]
    )["taskDefinition"]["family"]
    active = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
    assert active == [_describe(names.FARGATE_STACK)["taskDefinition"]]


@pytest.mark.slow
def test_drill_interrupted_while_it_waits_for_the_rollback_restores_the_good_revision(
    drilled_app: list[str], aws: MotoServer, tmp_path: Path
) -> None:
    """SIGTERM (as `timeout` or CI sends) during the wait for a rollback that never comes (moto
    has no circuit breaker): the service goes back on its good revision and the drill's
    revisions and tags are removed before the command exits 143."""
    good = _describe(names.FARGATE_STACK)["taskDefinition"]
    out = tmp_path / "drill.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "launchlab", *DRILL, "--wait", "60", "--poll", "0.1",
         "--only", "fargate", "--out", str(out)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    seen = []
    try:
        with PlaysEcs(names.FARGATE_STACK) as ecs:
            ecs.roll_back = False  # it scales out, and never rolls back
            deadline = time.monotonic() + 60
            assert process.stdout is not None
            for line in process.stdout:
                seen.append(line)
                if "the circuit breaker to roll back" in line:
                    break
                assert time.monotonic() < deadline, "".join(seen)
            assert _describe(names.FARGATE_STACK)["taskDefinition"] != good  # the failing one
            process.send_signal(signal.SIGTERM)
            rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = "".join(seen) + rest
    assert process.returncode == 128 + signal.SIGTERM, text
    assert "launchlab: stopped by SIGTERM" in text
    assert f"restored {_service(names.FARGATE_STACK)[1]}" in text
    assert _describe(names.FARGATE_STACK)["taskDefinition"] == good
    _assert_cleaned(drilled_app[1:2])
    document = json.loads(out.read_text())
    assert document["complete"] is False
    assert "rollback" not in document["launch_types"]["fargate"]["steps"]
    assert document["launch_types"]["fargate"]["restored"]


def test_drill_help_and_its_bounds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["drill", "--help"])
    assert done.value.code == 0
    assert "reports/drill.json" in capsys.readouterr().out
    for flags, message in (
        (["--requests", "5001"], "--requests 5001 is outside 1..5000"),
        (["--idle", "3601"], "--idle 3601 is outside 0..3600"),
        (["--wait", "0"], "--wait 0 is outside 1..1800"),
        (["--only", "ecs"], "--only ecs: not a launch type"),
    ):
        assert main(["drill", *flags]) == 2
        assert capsys.readouterr().err.startswith(f"launchlab: {message}")
