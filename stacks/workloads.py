"""What the stacks need to know about each sample app under services/.

One place for the facts the Dockerfiles and the apps themselves also state (port, health path,
user, health-check command), so the ECS task definitions and the Lambda function agree with the
images they run. tests/test_workloads.py checks these against the Dockerfiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"

CONTAINER_PORT = 8080
HEALTH_PATH = "/health"
# Both ECS images create this numeric user; ECS enforces it again in the task definition.
CONTAINER_USER = "10001:10001"
# The apps finish in-flight requests within 10 s of SIGTERM; ECS waits this long before SIGKILL.
STOP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, kw_only=True)
class SampleApp:
    name: str  # also the ECR repository's name suffix
    directory: Path
    dockerfile: str
    health_command: tuple[str, ...]


WORKLOADS = {
    "node": SampleApp(
        name="node-app",
        directory=SERVICES_DIR / "node-app",
        dockerfile="Dockerfile",
        health_command=("CMD", "node", "/app/src/healthcheck.js"),
    ),
    "python": SampleApp(
        name="python-app",
        directory=SERVICES_DIR / "python-app",
        dockerfile="Dockerfile",
        health_command=("CMD", "python", "-m", "launchlab_app.healthcheck"),
    ),
}

# The Lambda image runs the Python app through an ASGI adapter; it lives in the python-app
# repository under its own tags.
LAMBDA_WORKLOAD = SampleApp(
    name="python-app",
    directory=SERVICES_DIR / "python-app",
    dockerfile="Dockerfile.lambda",
    health_command=(),
)
