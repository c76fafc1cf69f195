"""launch_type and instance_id from a real ECS task metadata endpoint (a local HTTP server
speaking the v4 `/task` API on 127.0.0.1), from AWS_EXECUTION_ENV, and when it is unreachable."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from launchlab.processes import free_port

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/launchlab/0123456789abcdef0123456789abcdef"


class MetadataEndpoint(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, launch_type: str, delay_s: float = 0.0) -> None:
        self.launch_type = launch_type
        self.delay_s = delay_s
        self.hits: list[str] = []
        super().__init__(("127.0.0.1", 0), MetadataHandler)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v4/container-id"


class MetadataHandler(BaseHTTPRequestHandler):
    server: MetadataEndpoint

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        time.sleep(self.server.delay_s)
        if self.path != "/v4/container-id/task":
            self.send_error(404)
            return
        body = json.dumps(
            {"Cluster": "launchlab", "TaskARN": TASK_ARN, "LaunchType": self.server.launch_type}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        # The slow-endpoint test's client gives up first, as it should.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve_metadata(launch_type: str, delay_s: float = 0.0) -> Iterator[MetadataEndpoint]:
    endpoint = MetadataEndpoint(launch_type, delay_s)
    thread = threading.Thread(target=endpoint.serve_forever, daemon=True)
    thread.start()
    yield endpoint
    endpoint.shutdown()
    endpoint.server_close()


APPS = ["node", "python"]


@pytest.mark.parametrize("name", APPS)
@pytest.mark.parametrize(
    ("ecs_launch_type", "expected"),
    [("FARGATE", "fargate"), ("EC2", "ecs-ec2"), ("MANAGED_INSTANCES", "ecs-managed-instances")],
)
def test_task_metadata_gives_launch_type_and_task_arn_once(
    launch_server, name, ecs_launch_type, expected
) -> None:
    for endpoint in serve_metadata(ecs_launch_type):
        server = launch_server(name, ECS_CONTAINER_METADATA_URI_V4=endpoint.uri)
        assert endpoint.hits == []  # fetched at first use, not at start
        infos = [server.client.get("/").json() for _ in range(3)]
        assert [i["launch_type"] for i in infos] == [expected] * 3
        assert [i["instance_id"] for i in infos] == [TASK_ARN] * 3
        assert endpoint.hits == ["/v4/container-id/task"]  # once, then cached


@pytest.mark.parametrize("name", APPS)
def test_unreachable_metadata_falls_back_to_execution_env(launch_server, name) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v4/gone"
    server = launch_server(
        name, ECS_CONTAINER_METADATA_URI_V4=closed, AWS_EXECUTION_ENV="AWS_ECS_FARGATE"
    )
    info = server.client.get("/").json()
    assert info["launch_type"] == "fargate"
    assert info["instance_id"] == f"{socket.gethostname()}:{server.process.pid}"


@pytest.mark.parametrize("name", APPS)
def test_slow_metadata_is_bounded_near_1s(launch_server, name) -> None:
    for endpoint in serve_metadata("FARGATE", delay_s=4):
        server = launch_server(
            name, ECS_CONTAINER_METADATA_URI_V4=endpoint.uri, AWS_EXECUTION_ENV="AWS_ECS_EC2"
        )
        started = time.monotonic()
        response = server.client.get("/")
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert response.json()["launch_type"] == "ecs-ec2"
        assert 0.9 <= elapsed < 2.5
        assert server.client.get("/health").status_code == 200


@pytest.mark.parametrize("name", APPS)
def test_lambda_variable_wins(launch_server, name) -> None:
    server = launch_server(name, AWS_LAMBDA_FUNCTION_NAME="fn", AWS_EXECUTION_ENV="AWS_ECS_EC2")
    assert server.client.get("/").json()["launch_type"] == "lambda"


@pytest.mark.parametrize("name", APPS)
def test_lambda_managed_instances_variable_names_lambda_managed_instances(
    launch_server, name
) -> None:
    server = launch_server(name, AWS_LAMBDA_FUNCTION_NAME="fn", AWS_LAMBDA_MAX_CONCURRENCY="16")
    assert server.client.get("/").json()["launch_type"] == "lambda-managed-instances"
