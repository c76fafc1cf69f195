"""Framework-free parts of the contract: body rules, validation, the digest, launch type.

Mirrors services/node-app/src/app.js so both apps answer the same input the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
from collections.abc import Mapping
from typing import Any

APP_NAME = "python-app"
RUNTIME = "python {}.{}.{}".format(*sys.version_info[:3])
MAX_BODY_BYTES = 1024 * 1024
METADATA_TIMEOUT_S = 1.0
ALLOW = {"/health": "GET, HEAD", "/": "GET, HEAD", "/compute": "POST", "/echo": "POST"}


class ApiError(Exception):
    """An error response in the contract's shape: {"error": {status, code, message}}."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "code": self.code, "message": self.message}}


def invalid(field: str, problem: str) -> ApiError:
    return ApiError(422, "validation_error", f"{field}: {problem}")


def too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")


def declared_too_large(content_length: str | None) -> bool:
    if content_length is None:
        return False
    try:
        return int(content_length) > MAX_BODY_BYTES
    except ValueError:
        return False  # the HTTP server rejects a bad Content-Length before we run


def is_json_content_type(value: str | None) -> bool:
    if not value:
        return False
    media_type, *params = value.split(";")
    if media_type.strip().lower() != "application/json":
        return False
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').lower() != "utf-8":
            return False
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")  # a BOM stays in and makes json.loads fail, as JSON.parse does
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "request body is not valid UTF-8") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "invalid_json", "request body is nested too deeply") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None


def _check_object(body: Any, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    for key in body:
        if key not in allowed:
            raise invalid(key, "is not an allowed property")
    for key in required:
        if key not in body:
            raise invalid(key, "is required")
    return body


def _check_string(field: str, value: Any, low: int, high: int) -> str:
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(field, "must be well-formed Unicode (no lone surrogates)") from None
    if not low <= len(value) <= high:  # code points, as JSON Schema counts
        raise invalid(field, f"must be {low} to {high} characters long")
    return value


def validate_compute(body: Any) -> tuple[str, int]:
    body = _check_object(body, ("payload", "rounds"), ("payload", "rounds"))
    payload = _check_string("payload", body["payload"], 0, 4096)
    rounds = body["rounds"]
    # JSON Schema's integer: 5.0 counts, true does not (bool is an int in Python).
    if isinstance(rounds, float) and rounds.is_integer():
        rounds = int(rounds)
    if isinstance(rounds, bool) or not isinstance(rounds, int):
        raise invalid("rounds", "must be an integer")
    if not 1 <= rounds <= 100000:
        raise invalid("rounds", "must be between 1 and 100000")
    return payload, rounds


def validate_echo(body: Any) -> dict[str, Any]:
    body = _check_object(body, ("message", "tags"), ("message",))
    out: dict[str, Any] = {"message": _check_string("message", body["message"], 1, 1024)}
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list):
            raise invalid("tags", "must be an array")
        if len(tags) > 10:
            raise invalid("tags", "must have at most 10 items")
        for i, tag in enumerate(tags):
            _check_string(f"tags[{i}]", tag, 1, 64)
        out["tags"] = tags
    return out


def iterated_sha256(payload: str, rounds: int) -> str:
    """h0 = sha256(utf8(payload)); h(i+1) = sha256(h(i)); returns hex(h(rounds))."""
    sha256 = hashlib.sha256
    digest = sha256(payload.encode("utf-8")).digest()
    for _ in range(rounds):
        digest = sha256(digest).digest()
    return digest.hex()


# ---- launch type ------------------------------------------------------------------------

# Task metadata LaunchType -> what GET / answers. ECS Managed Instances tasks report
# MANAGED_INSTANCES (docs.aws.amazon.com/AmazonECS/latest/developerguide/
# task-metadata-endpoint-v4-managed-instances-response.html); Express Mode runs on Fargate.
_ECS_LAUNCH_TYPES = {
    "EC2": "ecs-ec2",
    "FARGATE": "fargate",
    "MANAGED_INSTANCES": "ecs-managed-instances",
}
# Lambda sets this only for functions on a Lambda Managed Instances capacity provider (how
# many invocations one execution environment takes at once; github.com/aws/aws-lambda-go/pull/600).
LAMBDA_MANAGED_INSTANCES_VARIABLE = "AWS_LAMBDA_MAX_CONCURRENCY"
_EXECUTION_ENVS = {"AWS_ECS_EC2": "ecs-ec2", "AWS_ECS_FARGATE": "fargate"}
_launch: tuple[str, str] | None = None
_launch_lock = threading.Lock()


def _task_metadata(uri: str) -> dict[str, Any]:
    # http.client, not urllib.request: a fraction of the import time, and this runs once.
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(f"{uri.rstrip('/')}/task")
    conn = http.client.HTTPConnection(
        parts.hostname or "", parts.port or 80, timeout=METADATA_TIMEOUT_S
    )
    try:
        conn.request("GET", parts.path)
        response = conn.getresponse()
        if response.status != 200:
            raise OSError(f"task metadata answered {response.status}")
        task = json.loads(response.read())
    finally:
        conn.close()
    if not isinstance(task, dict):
        raise ValueError("task metadata is not an object")
    return task


def detect_launch(env: Mapping[str, str]) -> tuple[str, str]:
    """(launch_type, instance_id) of this process; never raises."""
    local_id = f"{socket.gethostname()}:{os.getpid()}"
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):
        if env.get(LAMBDA_MANAGED_INSTANCES_VARIABLE):
            return "lambda-managed-instances", local_id
        return "lambda", local_id
    from_exec_env = _EXECUTION_ENVS.get(env.get("AWS_EXECUTION_ENV", ""))
    uri = env.get("ECS_CONTAINER_METADATA_URI_V4")
    if not uri:
        return from_exec_env or "local", local_id
    try:
        task = _task_metadata(uri)
    except Exception:  # unreachable, slow or odd metadata must never fail a request
        # Fargate always sets AWS_EXECUTION_ENV, so ECS without either signal is EC2.
        return from_exec_env or "ecs-ec2", local_id
    launch_type = _ECS_LAUNCH_TYPES.get(task.get("LaunchType")) or from_exec_env or "ecs-ec2"
    task_arn = task.get("TaskARN")
    return launch_type, task_arn if isinstance(task_arn, str) and task_arn else local_id


def cached_launch() -> tuple[str, str] | None:
    return _launch


def launch_needs_network(env: Mapping[str, str]) -> bool:
    """True when detect_launch() will call the ECS task metadata endpoint."""
    return not env.get("AWS_LAMBDA_FUNCTION_NAME") and bool(
        env.get("ECS_CONTAINER_METADATA_URI_V4")
    )


def launch() -> tuple[str, str]:
    """detect_launch() once per process (the first caller fetches, the others wait)."""
    global _launch
    with _launch_lock:
        if _launch is None:
            _launch = detect_launch(os.environ)
        return _launch
