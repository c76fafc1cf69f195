"""services/openapi.yaml over the wire, against node-app, python-app and the Lambda handler
behind the Function URL shim. One server per target for the whole module."""

from __future__ import annotations

import http.client
import json
import socket
import time
from datetime import UTC, datetime

import pytest
from launchlab_servers import TARGETS, Server, iterated_sha256

MIB = 1024 * 1024
CHUNKED_COMPUTE_HEAD = (
    b"POST /compute HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def raw_exchange(
    port: int, head: bytes, chunks: list[bytes] = ()
) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client-side framing help) and parse the one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in chunks:
            sock.sendall(chunk)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def assert_still_serving(server: Server) -> None:
    assert server.alive(), server.output()
    assert server.client.get("/health").json() == {"status": "ok"}


def assert_error(
    schema, status: int, content_type: str | None, body: bytes, expected: int, code: str
) -> dict:
    assert status == expected, body
    assert content_type is not None and content_type.split(";")[0] == "application/json"
    document = json.loads(body)
    schema("Error").validate(document)
    assert document["error"]["status"] == expected
    assert document["error"]["code"] == code
    return document["error"]


# A process of its own: the module's shared server has answered whatever other tests ran on
# it first (under xdist's worksteal, a worker may run this module's tests in any order).
@pytest.mark.parametrize("name", list(TARGETS))
def test_info_is_cold_once_then_warm(launch_server, name: str, schema) -> None:
    server = launch_server(name)
    first = server.client.get("/")
    second = server.client.get("/")
    assert first.status_code == second.status_code == 200
    for response in (first, second):
        schema("Info").validate(response.json())
        assert response.headers["content-type"] == "application/json"
    info = first.json()
    assert info["cold"] is True
    assert second.json()["cold"] is False
    assert info["app"] == server.target.app
    assert info["runtime"].split()[0] == {"node-app": "node", "python-app": "python"}[info["app"]]
    assert info["version"] == "contract-test"
    assert info["launch_type"] == server.target.launch_type
    if server.target.launch_type == "lambda":
        # The Lambda request id: a new one per invocation.
        assert info["instance_id"] != second.json()["instance_id"]
    else:
        assert info["instance_id"] == f"{socket.gethostname()}:{server.process.pid}"


def test_health(server: Server, schema) -> None:
    response = server.client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}
    schema("Health").validate(response.json())
    head = server.client.head("/health")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    ("payload", "rounds"),
    [
        ("", 1),
        ("hello", 1),
        ("héllo ✓ 😀 \u0000", 1000),
        ("x" * 4096, 3),
        ("😀" * 4096, 2),
        ("a", 100000),
    ],
    ids=["empty", "ascii", "unicode", "max-ascii", "max-astral", "max-rounds"],
)
def test_compute_digest_matches_hashlib(server: Server, schema, payload: str, rounds: int) -> None:
    response = server.client.post("/compute", json={"payload": payload, "rounds": rounds})
    assert response.status_code == 200, response.text
    body = response.json()
    schema("ComputeResponse").validate(body)
    assert body["digest"] == iterated_sha256(payload, rounds)
    assert body["rounds"] == rounds
    assert body["elapsed_ms"] >= 0


def test_compute_accepts_integral_float_and_utf8_charset(server: Server) -> None:
    response = server.client.post(
        "/compute",
        content=b'{"rounds": 5.0, "payload": "z"}',
        headers={"content-type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["digest"] == iterated_sha256("z", 5)


@pytest.mark.parametrize(
    "body",
    [
        {"message": "hi"},
        {"message": "m" * 1024, "tags": ["t" * 64] * 10},
        {"message": "ünï ✓", "tags": []},
    ],
    ids=["message-only", "at-limits", "unicode-empty-tags"],
)
def test_echo_returns_body_with_received_at(server: Server, schema, body: dict) -> None:
    before = datetime.now(UTC)
    response = server.client.post("/echo", json=body)
    assert response.status_code == 200, response.text
    echoed = response.json()
    schema("EchoResponse").validate(echoed)
    received_at = datetime.fromisoformat(echoed.pop("received_at").replace("Z", "+00:00"))
    assert echoed == body
    assert abs((received_at - before).total_seconds()) < 5


JSON = {"content-type": "application/json"}

# (method, path, headers, raw body) -> (status, code, field the message must start with)
BAD_INPUTS = {
    "truncated-json": ("POST", "/echo", JSON, b'{"message":', 400, "invalid_json", None),
    "empty-body": ("POST", "/compute", JSON, b"", 400, "invalid_json", None),
    "nan-literal": (
        "POST",
        "/compute",
        JSON,
        b'{"payload":"a","rounds":NaN}',
        400,
        "invalid_json",
        None,
    ),
    "invalid-utf8": ("POST", "/echo", JSON, b'{"message":"\xff\xfe"}', 400, "invalid_json", None),
    "utf8-bom": ("POST", "/echo", JSON, b'\xef\xbb\xbf{"message":"hi"}', 400, "invalid_json", None),
    "body-not-object": ("POST", "/echo", JSON, b'["message"]', 422, "validation_error", "body"),
    "body-null": ("POST", "/compute", JSON, b"null", 422, "validation_error", "body"),
    "missing-message": (
        "POST",
        "/echo",
        JSON,
        b'{"tags":["a"]}',
        422,
        "validation_error",
        "message",
    ),
    "empty-message": ("POST", "/echo", JSON, b'{"message":""}', 422, "validation_error", "message"),
    "long-message": (
        "POST",
        "/echo",
        JSON,
        json.dumps({"message": "m" * 1025}).encode(),
        422,
        "validation_error",
        "message",
    ),
    "message-number": (
        "POST",
        "/echo",
        JSON,
        b'{"message":42}',
        422,
        "validation_error",
        "message",
    ),
    "lone-surrogate": (
        "POST",
        "/echo",
        JSON,
        b'{"message":"a\\ud800"}',
        422,
        "validation_error",
        "message",
    ),
    "extra-property": (
        "POST",
        "/echo",
        JSON,
        b'{"message":"hi","extra":1}',
        422,
        "validation_error",
        "extra",
    ),
    "tags-not-array": (
        "POST",
        "/echo",
        JSON,
        b'{"message":"hi","tags":"a"}',
        422,
        "validation_error",
        "tags",
    ),
    "too-many-tags": (
        "POST",
        "/echo",
        JSON,
        json.dumps({"message": "hi", "tags": ["t"] * 11}).encode(),
        422,
        "validation_error",
        "tags",
    ),
    "empty-tag": (
        "POST",
        "/echo",
        JSON,
        b'{"message":"hi","tags":["ok",""]}',
        422,
        "validation_error",
        "tags[1]",
    ),
    "long-tag": (
        "POST",
        "/echo",
        JSON,
        json.dumps({"message": "hi", "tags": ["t" * 65]}).encode(),
        422,
        "validation_error",
        "tags[0]",
    ),
    "tag-not-string": (
        "POST",
        "/echo",
        JSON,
        b'{"message":"hi","tags":[1]}',
        422,
        "validation_error",
        "tags[0]",
    ),
    "rounds-zero": (
        "POST",
        "/compute",
        JSON,
        b'{"payload":"a","rounds":0}',
        422,
        "validation_error",
        "rounds",
    ),
    "rounds-over": (
        "POST",
        "/compute",
        JSON,
        b'{"payload":"a","rounds":100001}',
        422,
        "validation_error",
        "rounds",
    ),
    "rounds-string": (
        "POST",
        "/compute",
        JSON,
        b'{"payload":"a","rounds":"5"}',
        422,
        "validation_error",
        "rounds",
    ),
    "rounds-fraction": (
        "POST",
        "/compute",
        JSON,
        b'{"payload":"a","rounds":1.5}',
        422,
        "validation_error",
        "rounds",
    ),
    "rounds-bool": (
        "POST",
        "/compute",
        JSON,
        b'{"payload":"a","rounds":true}',
        422,
        "validation_error",
        "rounds",
    ),
    "missing-rounds": (
        "POST",
        "/compute",
        JSON,
        b'{"payload":"a"}',
        422,
        "validation_error",
        "rounds",
    ),
    "payload-null": (
        "POST",
        "/compute",
        JSON,
        b'{"payload":null,"rounds":1}',
        422,
        "validation_error",
        "payload",
    ),
    "long-payload": (
        "POST",
        "/compute",
        JSON,
        json.dumps({"payload": "p" * 4097, "rounds": 1}).encode(),
        422,
        "validation_error",
        "payload",
    ),
    "text-plain": (
        "POST",
        "/echo",
        {"content-type": "text/plain"},
        b'{"message":"hi"}',
        415,
        "unsupported_media_type",
        None,
    ),
    "no-content-type": (
        "POST",
        "/compute",
        {},
        b'{"payload":"a","rounds":1}',
        415,
        "unsupported_media_type",
        None,
    ),
    "latin1-charset": (
        "POST",
        "/echo",
        {"content-type": "application/json; charset=latin-1"},
        b'{"message":"hi"}',
        415,
        "unsupported_media_type",
        None,
    ),
    "unknown-route": ("GET", "/nope", {}, b"", 404, "not_found", None),
    "unknown-post": ("POST", "/nope", JSON, b"{}", 404, "not_found", None),
    "trailing-slash": ("GET", "/health/", {}, b"", 404, "not_found", None),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_error_shape(server: Server, schema, case: str) -> None:
    method, path, headers, body, status, code, field = BAD_INPUTS[case]
    response = server.client.request(method, path, headers=headers, content=body)
    error = assert_error(
        schema,
        response.status_code,
        response.headers.get("content-type"),
        response.content,
        status,
        code,
    )
    if field is not None:
        assert error["message"].startswith(f"{field}: "), error
    assert_still_serving(server)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/health", {"GET", "HEAD"}),
        ("POST", "/", {"GET", "HEAD"}),
        ("GET", "/compute", {"POST"}),
        ("PUT", "/echo", {"POST"}),
    ],
)
def test_wrong_method_is_405_with_allow(
    server: Server, schema, method: str, path: str, allow: set[str]
) -> None:
    response = server.client.request(method, path)
    assert_error(
        schema,
        response.status_code,
        response.headers.get("content-type"),
        response.content,
        405,
        "method_not_allowed",
    )
    assert {m.strip() for m in response.headers["allow"].split(",")} == allow
    assert_still_serving(server)


def test_body_of_exactly_1_mib_is_read(server: Server) -> None:
    # Valid JSON of exactly the limit: it is read and validated (422), not refused (413).
    filler = MIB - len(b'{"message":""}')
    body = b'{"message":"' + b"m" * filler + b'"}'
    assert len(body) == MIB
    response = server.client.post("/echo", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("message: ")


def test_declared_content_length_over_1_mib_is_413(server: Server, schema) -> None:
    body = b"x" * (2 * MIB)
    head = (
        "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    status, headers, content = raw_exchange(server.port, head.encode(), [body])
    assert_error(schema, status, headers.get("content-type"), content, 413, "payload_too_large")
    assert_still_serving(server)


def test_chunked_body_over_1_mib_is_413(server: Server, schema) -> None:
    # No Content-Length: the limit must hold while the body streams in.
    chunk = b"y" * (64 * 1024)
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(17)] + [b"0\r\n\r\n"]
    head = CHUNKED_COMPUTE_HEAD
    status, headers, content = raw_exchange(server.port, head, chunks)
    assert_error(schema, status, headers.get("content-type"), content, 413, "payload_too_large")
    assert_still_serving(server)


def test_chunked_body_under_limit_is_accepted(server: Server) -> None:
    payload = json.dumps({"payload": "chunked", "rounds": 7}).encode()
    head = CHUNKED_COMPUTE_HEAD
    chunks = [b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:10], payload[10:])] + [
        b"0\r\n\r\n"
    ]
    status, _, content = raw_exchange(server.port, head, chunks)
    assert status == 200
    assert json.loads(content)["digest"] == iterated_sha256("chunked", 7)


def test_unparseable_http_is_400_in_the_error_shape(server: Server, schema) -> None:
    status, headers, content = raw_exchange(server.port, b"THIS IS NOT HTTP\r\n\r\n")
    assert_error(schema, status, headers.get("content-type"), content, 400, "bad_request")
    assert_still_serving(server)


def test_one_json_log_line_per_request(server: Server) -> None:
    marker = f"/log-check-{time.monotonic_ns()}"
    assert server.client.get(marker).status_code == 404
    assert server.client.post("/compute", json={"payload": "log", "rounds": 1}).status_code == 200
    # The line is written once the response is sent, so the client can see the response first:
    # wait for both lines (the marker's and the compute after it), not just the first.
    deadline = time.monotonic() + 5
    while True:
        lines = server.log_lines()  # every stdout line parses as JSON
        request_lines = [line for line in lines if "path" in line]
        paths = [line["path"] for line in request_lines]
        after_marker = paths[paths.index(marker) + 1 :] if marker in paths else []
        if "/compute" in after_marker or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    (line,) = [line for line in request_lines if line["path"] == marker]
    assert line["method"] == "GET"
    assert line["status"] == 404
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    compute_lines = request_lines[request_lines.index(line) + 1 :]
    assert any(
        entry["path"] == "/compute" and entry["method"] == "POST" and entry["status"] == 200
        for entry in compute_lines
    )
