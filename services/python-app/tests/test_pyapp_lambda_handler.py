"""The Lambda handler fed Function URL and API Gateway HTTP API (payload 2.0) events directly."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from typing import Any

import pytest
from launchlab_app import contract
from launchlab_app.function_url_shim import LambdaContext


@pytest.fixture(scope="module")
def handler():
    # What the Lambda runtime sets; undone after the module so no other test sees it.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_LAMBDA_FUNCTION_NAME", "launchlab-test")
        env.setattr(contract, "_launch", None)
        from launchlab_app.lambda_handler import handler

        yield handler


def function_url_event(
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict | None = None,
    query: str = "",
    base64_body: bool = False,
) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    headers = {
        "host": "abc123.lambda-url.us-east-1.on.aws",
        "x-forwarded-proto": "https",
        **(headers or {}),
    }
    if body is not None:
        headers.setdefault("content-length", str(len(body)))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc123",
            "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "t",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2025:06:00:00 +0000",
            "timeEpoch": 1764309600000,
        },
        "isBase64Encoded": base64_body,
    }
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
    return event


def http_api_event(
    method: str, path: str, body: bytes | None = None, headers: dict | None = None, **kwargs: Any
) -> dict[str, Any]:
    """An HTTP API event ($default stage, payload 2.0): account, API id and host differ."""
    event = function_url_event(method, path, body, headers, **kwargs)
    event["routeKey"] = "$default"
    event["requestContext"].update(
        accountId="123456789012",
        apiId="a1b2c3d4e5",
        domainName="a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        domainPrefix="a1b2c3d4e5",
        stage="$default",
    )
    event["headers"]["host"] = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    return event


EVENTS = {"function-url": function_url_event, "http-api": http_api_event}


def invoke(handler, event: dict[str, Any]) -> tuple[int, dict[str, str], Any, LambdaContext]:
    context = LambdaContext(str(uuid.uuid4()))
    result = handler(event, context)
    assert result["isBase64Encoded"] is False
    headers = {k.lower(): v for k, v in result["headers"].items()}
    return result["statusCode"], headers, json.loads(result["body"]), context


@pytest.mark.parametrize("kind", list(EVENTS))
def test_info_reports_lambda_and_the_request_id(handler, kind: str) -> None:
    status, headers, body, context = invoke(handler, EVENTS[kind]("GET", "/", query="x=1"))
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body["app"] == "python-app"
    assert body["launch_type"] == "lambda"
    assert body["instance_id"] == context.aws_request_id
    assert isinstance(body["cold"], bool)


def test_serves_after_asyncio_run_left_the_thread_without_an_event_loop(handler) -> None:
    # asyncio.run() ends by unsetting the thread's loop (the load runner in the same process,
    # another test in the same worker): the next invoke must still be served.
    asyncio.run(asyncio.sleep(0))
    status, _, body, _ = invoke(handler, function_url_event("GET", "/health"))
    assert (status, body) == (200, {"status": "ok"})


def test_cold_only_on_the_first_request_of_the_environment(handler) -> None:
    # Earlier invocations in this module used it up: every later one is warm.
    invoke(handler, function_url_event("GET", "/"))
    assert invoke(handler, function_url_event("GET", "/"))[2]["cold"] is False


@pytest.mark.parametrize("kind", list(EVENTS))
@pytest.mark.parametrize("base64_body", [False, True], ids=["text-body", "base64-body"])
def test_compute(handler, kind: str, base64_body: bool) -> None:
    raw = json.dumps({"payload": "lambda ✓", "rounds": 42}).encode()
    event = EVENTS[kind](
        "POST", "/compute", raw, {"content-type": "application/json"}, base64_body=base64_body
    )
    status, _, body, _ = invoke(handler, event)
    expected = hashlib.sha256("lambda ✓".encode()).digest()
    for _ in range(42):
        expected = hashlib.sha256(expected).digest()
    assert status == 200
    assert body["digest"] == expected.hex()


@pytest.mark.parametrize("kind", list(EVENTS))
def test_echo(handler, kind: str) -> None:
    raw = json.dumps({"message": "hi", "tags": ["a", "b"]}).encode()
    status, _, body, _ = invoke(
        handler, EVENTS[kind]("POST", "/echo", raw, {"content-type": "application/json"})
    )
    assert status == 200
    assert body["message"] == "hi" and body["tags"] == ["a", "b"]
    assert body["received_at"].endswith("Z")


@pytest.mark.parametrize("kind", list(EVENTS))
@pytest.mark.parametrize(
    ("method", "path", "raw", "content_type", "status", "code"),
    [
        ("GET", "/missing", None, None, 404, "not_found"),
        ("DELETE", "/echo", None, None, 405, "method_not_allowed"),
        ("POST", "/echo", b"{nope", "application/json", 400, "invalid_json"),
        ("POST", "/echo", b'{"message":"hi","x":1}', "application/json", 422, "validation_error"),
        ("POST", "/echo", b'{"message":"hi"}', "text/plain", 415, "unsupported_media_type"),
        ("POST", "/echo", b"x" * (1024 * 1024 + 1), "application/json", 413, "payload_too_large"),
    ],
)
def test_errors(handler, kind, method, path, raw, content_type, status, code) -> None:
    headers = {"content-type": content_type} if content_type else {}
    got_status, got_headers, body, _ = invoke(handler, EVENTS[kind](method, path, raw, headers))
    assert got_status == status
    assert body == {"error": {"status": status, "code": code, "message": body["error"]["message"]}}
    assert got_headers["content-type"] == "application/json"
    if status == 405:
        assert got_headers["allow"] == "POST"


def test_body_over_limit_without_content_length_is_413(handler) -> None:
    event = function_url_event(
        "POST", "/echo", b"y" * (1024 * 1024 + 10), {"content-type": "application/json"}
    )
    del event["headers"]["content-length"]
    assert invoke(handler, event)[0] == 413


def test_head_and_cookies_and_query_do_not_confuse_routing(handler) -> None:
    event = function_url_event("GET", "/health", query="probe=1&probe=2")
    event["cookies"] = ["session=abc", "theme=dark"]
    status, _, body, _ = invoke(handler, event)
    assert (status, body) == (200, {"status": "ok"})
