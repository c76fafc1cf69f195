"""Run each selected launch type's workload on 127.0.0.1 the way AWS runs it, with no Docker.

The command and environment come from the final stage of each Dockerfile (CMD and ENV), so
the local run cannot drift from the image. Which app stands in for which launch type comes
from the synthesized templates (the ``launchlab:app`` tag). A function's handler (named by its
template, or by the Lambda image's CMD) runs behind the Function URL shim, which turns each
HTTP request into a Function URL event, as the Lambda service would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockerfile_parse import DockerfileParser

from launchlab import processes
from launchlab.assembly import Assembly
from launchlab.errors import LaunchlabError
from stacks import launch_types, names
from stacks.workloads import CONTAINER_PORT, CONTAINER_USER, SERVICES_DIR

# The image's environment is kept but for PATH, which points at the image's own layout.
_IMAGE_ONLY_ENV = {"PATH"}
# Settings of this machine that would make an app believe it runs on AWS.
_AWS_ENV_PREFIXES = ("AWS_", "ECS_", "_HANDLER", "LAMBDA_")
# Tests only: a stand-in for the docker CLI (tests/fakes/docker.py); no engine runs here.
DOCKER_OVERRIDE_ENV = "LAUNCHLAB_DOCKER"
# Stand-ins for the ports start() picks, in commands and environment values.
PORT = "<port>"
SIDECAR_PORT = "<sidecar-port>"
# Lambda sets it only for functions on managed instances; the app reads it to know where it runs
# (services/python-app/launchlab_app/contract.py).
LAMBDA_MANAGED_INSTANCES_VARIABLE = "AWS_LAMBDA_MAX_CONCURRENCY"
# The invoke API of the runtime interface emulator inside the Lambda base image.
RIE_INVOKE_URL = f"http://127.0.0.1:{SIDECAR_PORT}/2015-03-31/functions/function/invocations"


@dataclass(frozen=True)
class Workload:
    """One workload as the image would run it, labelled with the launch type it stands in for."""

    launch_type: str  # the registry key of the launch type it stands in for
    app: str  # node-app or python-app
    command: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    # What GET / reports locally: "local" for the ECS images (no task metadata endpoint
    # here); behind the shim (it sets the Lambda environment) what it reports on AWS.
    reported_launch_type: str
    # Started first and stopped last (with --docker: the Lambda image, behind the shim).
    sidecar: tuple[str, ...] = ()
    # Answered once the workload can serve; behind the shim with --docker only an invocation
    # proves the image is up.
    ready_path: str = "/health"
    # Run after it is stopped, whatever happened (with --docker: remove the containers, in
    # case a client was killed before its container exited).
    cleanup: tuple[tuple[str, ...], ...] = ()

    @property
    def label(self) -> str:
        return f"{launch_types.label(self.launch_type)} ({self.app})"


@dataclass
class Running:
    workload: Workload
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    exit_code: int | None = field(default=None)
    sidecar: subprocess.Popen[bytes] | None = None
    sidecar_port: int = 0
    # Seconds from starting the process to its first answer on the ready path: the app's own
    # start, measured here (the demo shows it beside the modelled timelines, as local).
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


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
        return processes.node_binary()
    if program in ("python", "python3"):
        return sys.executable
    raise LaunchlabError(f"no local stand-in for the image program {program!r}")


def _tags(resource: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


def stand_in(app: str, *, lambda_image: bool = False) -> tuple[tuple[str, ...], dict[str, str]]:
    """How ``app``'s image runs, as a local process in ``SERVICES_DIR / app``: the command and
    environment of its Dockerfile's final stage; the Lambda image's handler behind the Function
    URL shim."""
    directory = SERVICES_DIR / app
    if lambda_image:
        handler_cmd, env = image_command(directory / "Dockerfile.lambda")
        shim = (sys.executable, "-m", "launchlab_app.function_url_shim")
        return shim, {**env, "_HANDLER": handler_cmd[0]}
    cmd, env = image_command(directory / "Dockerfile")
    return (_interpreter(cmd[0]), *cmd[1:]), env


# bench/ and the contract tests start each image by these short names.
STAND_INS = {
    "node": ("node-app", False),
    "python": ("python-app", False),
    "lambda": ("python-app", True),
}


def workloads_from(assembly: Assembly) -> list[Workload]:
    """A workload for each launch type the synthesized app deploys, in registry order."""
    found = []
    for launch_type in assembly.launch_types:
        spec = launch_types.spec(launch_type)
        stack_name = spec.stack_id
        # The workload is the resource tagged with its app (a stack may hold helper functions).
        tagged = [
            resource
            for resource in assembly.resources(stack_name, spec.workload_resource)
            if names.TAG_APP in _tags(resource)
        ]
        app = _tags(tagged[0])[names.TAG_APP] if len(tagged) == 1 else None
        if app not in ("node-app", "python-app"):
            raise LaunchlabError(f"{stack_name}: no {names.TAG_APP} tag; synthesize this app again")
        directory = SERVICES_DIR / app
        if spec.stand_in == "function-url":
            command, _ = stand_in(app, lambda_image=True)
            env = _function_environment(tagged[0]["Properties"], directory)
            # The shim sets the Lambda environment, so the app answers as it does on AWS.
            reported = spec.reports_as
        else:
            command, env = stand_in(app)
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


def _function_environment(function: Mapping[str, Any], directory: Path) -> dict[str, str]:
    """What the Lambda runtime would give the function's handler: the handler the template
    names (a .zip function), else the image's CMD and ENV (a container-image function); and
    on a capacity provider (Lambda Managed Instances), AWS_LAMBDA_MAX_CONCURRENCY, which
    Lambda sets only there."""
    handler = function.get("Handler")
    if isinstance(handler, str):
        env = {"_HANDLER": handler}
    else:
        handler_cmd, env = image_command(directory / "Dockerfile.lambda")
        env = {**env, "_HANDLER": handler_cmd[0]}
    managed = function.get("CapacityProviderConfig", {}).get(
        "LambdaManagedInstancesCapacityProviderConfig"
    )
    if managed is not None:
        # The shim serves one invocation at a time, as one runtime worker does.
        concurrency = managed.get("PerExecutionEnvironmentMaxConcurrency", 1)
        env[LAMBDA_MANAGED_INSTANCES_VARIABLE] = str(concurrency)
    return env


def local_environment(image_env: Mapping[str, str]) -> dict[str, str]:
    """This machine's environment without what would make an app believe it runs on AWS, then
    the image's ENV, on 127.0.0.1 only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_AWS_ENV_PREFIXES)}
    return {**env, "APP_VERSION": "local", **image_env, "HOST": "127.0.0.1"}


def start_stand_in(name: str, log_dir: Path, **env: str) -> processes.Started:
    """One image (a STAND_INS name) as a local process on a free port, with ``env`` on top of
    its image's; returned once it answers /health."""
    app, lambda_image = STAND_INS[name]
    command, image_env = stand_in(app, lambda_image=lambda_image)
    return processes.start(
        name,
        command,
        cwd=SERVICES_DIR / app,
        env=local_environment({**image_env, **env}),
        log_dir=log_dir,
    )


def _environment(workload: Workload, ports: Mapping[str, int]) -> dict[str, str]:
    env = local_environment({k: _with_ports(v, ports) for k, v in workload.env.items()})
    return {**env, "PORT": str(ports[PORT])}


def _with_ports(text: str, ports: Mapping[str, int]) -> str:
    for placeholder, port in ports.items():
        text = text.replace(placeholder, str(port))
    return text


def _spawn(
    command: tuple[str, ...], workload: Workload, ports: Mapping[str, int], log: Path
) -> subprocess.Popen[bytes]:
    return processes.spawn(
        [_with_ports(part, ports) for part in command],
        cwd=workload.cwd,
        env=_environment(workload, ports),
        stdout=log,
    )


def start(workload: Workload, log_dir: Path, *, ready_seconds: float = 60.0) -> Running:
    """Start one workload (and its sidecar) and wait until it answers its ready path."""
    ports = {PORT: processes.free_port(), SIDECAR_PORT: processes.free_port()}
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{workload.launch_type}-{workload.app}.log"
    sidecar = None
    began = time.perf_counter()
    if workload.sidecar:
        sidecar = _spawn(workload.sidecar, workload, ports, log_path.with_suffix(".sidecar.log"))
    process = _spawn(workload.command, workload, ports, log_path)
    running = Running(
        workload, process, ports[PORT], log_path, sidecar=sidecar, sidecar_port=ports[SIDECAR_PORT]
    )
    children = [process] if sidecar is None else [process, sidecar]
    try:
        processes.wait_ready(f"{running.url}{workload.ready_path}", children, seconds=ready_seconds)
        running.start_seconds = time.perf_counter() - began
    except processes.NotReady as error:
        stop(running)
        logs = [log_path] if sidecar is None else [log_path, log_path.with_suffix(".sidecar.log")]
        tail = "".join(log.read_text(errors="replace") for log in logs)[-400:]
        raise LaunchlabError(f"{workload.label} {error}: {tail}") from None
    except BaseException:  # Ctrl-C or another stop signal while it starts: it is not left
        stop(running)
        raise
    return running


def stop(running: Running) -> int:
    """SIGTERM, as ECS sends it; SIGKILL only if it has not exited in time (processes.stop).

    The workload's exit code; its sidecar, if any, is stopped after it the same way."""
    running.exit_code = processes.stop(running.process)
    if running.sidecar is not None:
        sidecar_code = processes.stop(running.sidecar)
        running.exit_code = running.exit_code or sidecar_code
    ports = {PORT: running.port, SIDECAR_PORT: running.sidecar_port}
    for command in running.workload.cleanup:
        subprocess.run(
            [_with_ports(part, ports) for part in command], capture_output=True, check=False
        )
    return running.exit_code


def docker_cli() -> str:
    """`docker`, or for the tests a stand-in named by LAUNCHLAB_DOCKER."""
    return os.environ.get(DOCKER_OVERRIDE_ENV) or "docker"


def docker_ready(docker: str | None = None) -> None:
    """Fail in one line unless a Docker engine answers."""
    docker = docker or docker_cli()
    if shutil.which(docker) is None:
        raise LaunchlabError(
            "--docker needs Docker, and `docker` is not on PATH: install Docker, or run "
            "`.venv/bin/launchlab demo` without --docker"
        )
    result = subprocess.run(
        [docker, "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise LaunchlabError(
            f"--docker needs a running Docker engine ({reason}): start Docker, or run "
            "`.venv/bin/launchlab demo` without --docker"
        )


def in_docker(
    workloads: list[Workload], log_dir: Path, docker: str | None = None
) -> list[Workload]:
    """The same workloads as their real images: built here, run read-only as in the stacks.

    Each container publishes its port on 127.0.0.1 only, runs as the stacks' user with a
    read-only root filesystem and a writable /tmp, and gets SIGTERM through the docker client
    (which proxies signals to the container). The Lambda image runs its runtime interface
    emulator, which speaks the invoke API; the Function URL shim sits in front of it."""
    docker = docker or docker_cli()
    log_dir.mkdir(parents=True, exist_ok=True)
    converted = []
    for workload in workloads:
        lambda_image = launch_types.spec(workload.launch_type).stand_in == "function-url"
        dockerfile = "Dockerfile.lambda" if lambda_image else "Dockerfile"
        tag = f"launchlab-demo/{workload.app}:{'lambda' if lambda_image else 'ecs'}"
        build_log = log_dir / f"docker-build-{workload.launch_type}.log"
        with build_log.open("wb") as output:
            built = subprocess.run(
                [docker, "build", "--file", dockerfile, "--tag", tag, "."],
                cwd=workload.cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if built.returncode != 0:
            raise LaunchlabError(f"docker build of {tag} failed: see {build_log}")
        port = SIDECAR_PORT if lambda_image else PORT
        name = f"launchlab-demo-{workload.launch_type}-{port}"
        # What Lambda would set on managed instances reaches the app inside the container.
        lambda_env = tuple(
            part
            for key in (LAMBDA_MANAGED_INSTANCES_VARIABLE,)
            if lambda_image and key in workload.env
            for part in ("--env", f"{key}={workload.env[key]}")
        )
        container = (
            docker, "run", "--rm", "--name", name, "--read-only", "--tmpfs", "/tmp",
            "--user", CONTAINER_USER, "--env", "APP_VERSION=local", *lambda_env,
            "--publish", f"127.0.0.1:{port}:{CONTAINER_PORT}", tag,
        )  # fmt: skip
        cleanup = ((docker, "rm", "--force", name),)
        if lambda_image:
            converted.append(
                replace(
                    workload,
                    sidecar=container,
                    env={**workload.env, "LAMBDA_INVOKE_URL": RIE_INVOKE_URL},
                    ready_path="/",
                    cleanup=cleanup,
                )
            )
        else:
            converted.append(replace(workload, command=container, env={}, cleanup=cleanup))
    return converted


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
