"""Real processes on real sockets: each target is started with the very command its image runs.

A uniquely named module (not conftest) so test modules can import it without clashing with
another directory's conftest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from launchlab import local, processes, tls

SERVICES = Path(__file__).resolve().parent.parent
OPENAPI = SERVICES / "openapi.yaml"


@dataclass(frozen=True)
class Target:
    name: str
    app: str
    launch_type: str  # what GET / reports locally


# Each started with the very command and environment its image runs (its Dockerfile's).
TARGETS = {
    name: Target(name, app, "lambda" if lambda_image else "local")
    for name, (app, lambda_image) in local.STAND_INS.items()
}


def iterated_sha256(payload: str, rounds: int) -> str:
    """What POST /compute must answer: SHA-256 of the UTF-8 payload, then ``rounds`` more."""
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


@dataclass
class Server(processes.Started):
    target: Target = field(kw_only=True)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=10, verify=tls.context())

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def stop(self, *, grace: float = 0) -> int:
        """Killed at once unless given a grace: the SIGTERM tests send their own SIGTERM."""
        self.client.close()
        return super().stop(grace=grace)


def start_server(target: Target, log_dir: Path, **env: str) -> Server:
    started = local.start_stand_in(
        target.name, log_dir, PYTHONDONTWRITEBYTECODE="1", APP_VERSION="contract-test", **env
    )
    return Server(**vars(started), target=target)
