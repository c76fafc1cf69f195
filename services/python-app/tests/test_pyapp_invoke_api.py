"""The shim's forward mode: HTTP in, Function URL events out to a Lambda invoke API.

`launchlab demo --docker` runs the real Lambda image, whose runtime interface emulator speaks
the invoke API (POST /2015-03-31/functions/function/invocations). Here a stand-in for that
API runs on 127.0.0.1 and calls the real handler; the shim runs as its own process."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from launchlab_app import contract
from launchlab_app.function_url_shim import LambdaContext

APP_DIR = Path(__file__).resolve().parent.parent
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def invoke_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An invoke API on loopback that runs the real handler, and the events it received."""
    received: list[dict[str, Any]] = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_LAMBDA_FUNCTION_NAME", "launchlab-rie")
        env.setattr(contract, "_launch", None)
        from launchlab_app.lambda_handler import handler

        class Invoke(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                assert self.path == INVOKE_PATH
                event = json.loads(self.rfile.read(int(self.headers["content-length"])))
                received.append(event)
                result = handler(event, LambdaContext(event["requestContext"]["requestId"]))
                body = json.dumps(result).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        # One invocation at a time on one thread with an event loop, as the Lambda runtime
        # runs the handler (Mangum drives the ASGI app on that loop).
        server = HTTPServer(("127.0.0.1", 0), Invoke)

        def serve() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            server.serve_forever()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}{INVOKE_PATH}", received
        finally:
            server.shutdown()


def start_shim(invoke_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PORT=str(port), HOST="127.0.0.1", LAMBDA_INVOKE_URL=invoke_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "launchlab_app.function_url_shim"],
        cwd=APP_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    with httpx.Client(timeout=1) as client:  # one TLS context, not one per poll
        while time.monotonic() < deadline:
            try:
                client.get(f"{url}/health")
                return process, url
            except httpx.TransportError:
                time.sleep(0.05)
    process.kill()
    raise AssertionError("the shim did not start")


def test_requests_reach_the_invoke_api_as_function_url_events(
    invoke_api: tuple[str, list[dict[str, Any]]],
) -> None:
    invoke_url, received = invoke_api
    process, url = start_shim(invoke_url)
    try:
        info = httpx.get(f"{url}/?probe=1", timeout=10)
        assert info.status_code == 200
        assert info.json()["launch_type"] == "lambda"
        event = received[-1]
        assert event["version"] == "2.0"
        assert event["rawPath"] == "/" and event["rawQueryString"] == "probe=1"
        assert event["requestContext"]["http"]["method"] == "GET"
        echo = httpx.post(f"{url}/echo", json={"message": "via the invoke API"}, timeout=10)
        assert echo.status_code == 200 and echo.json()["message"] == "via the invoke API"
        bad = httpx.post(
            f"{url}/echo", content=b"{oops", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


def test_an_unreachable_invoke_api_is_a_502_json_error_and_the_shim_keeps_serving() -> None:
    process, url = start_shim(f"http://127.0.0.1:{free_port()}{INVOKE_PATH}")
    try:
        response = httpx.get(f"{url}/", timeout=10)
        assert response.status_code == 502
        assert response.json()["error"] == {
            "status": 502,
            "code": "lambda_error",
            "message": "the function raised an error",
        }
        assert httpx.get(f"{url}/", timeout=10).status_code == 502
        assert process.poll() is None
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0
