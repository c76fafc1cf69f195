"""SIGTERM on each app process: in-flight requests finish, new connections are refused, exit 0."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import time

import pytest
from launchlab_servers import TARGETS, Server

BODY = json.dumps({"message": "in flight during SIGTERM"}).encode()
HEAD = (
    b"POST /echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\n\r\n" % len(BODY)
)


def open_request_midway(server: Server) -> socket.socket:
    """A request whose headers and half of whose body have arrived: in flight, not finished."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.sendall(HEAD + BODY[:10])
    time.sleep(0.2)  # let the server read the head and start the request
    return sock


def wait_until_refused(port: int, within: float = 3.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except ConnectionRefusedError:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"port {port} still accepted connections {within} s after SIGTERM")


@pytest.mark.parametrize("name", list(TARGETS))
def test_sigterm_drains_in_flight_request_then_exits_0(launch_server, name: str) -> None:
    server = launch_server(name)
    sock = open_request_midway(server)
    server.proc.send_signal(signal.SIGTERM)
    wait_until_refused(server.port)
    assert server.proc.poll() is None, "exited before the in-flight request finished"

    sock.sendall(BODY[10:])
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = json.loads(response.read())
    assert response.status == 200
    assert body["message"] == "in flight during SIGTERM"
    assert sock.recv(1) == b"", "the server kept the connection open after draining it"
    sock.close()
    assert server.proc.wait(timeout=10) == 0
    assert "SIGTERM" in server.output() or "Shutting down" in server.output()


@pytest.mark.parametrize("name", list(TARGETS))
def test_sigterm_bound_ends_a_stuck_request_and_exits_0(launch_server, name: str) -> None:
    # A client that never finishes its body must not hold the process past the bound.
    server = launch_server(name, SHUTDOWN_TIMEOUT_S="1")
    sock = open_request_midway(server)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=5) == 0
    assert 0.9 <= time.monotonic() - started < 3
    sock.close()


@pytest.mark.parametrize("name", list(TARGETS))
def test_sigterm_with_idle_keepalive_connection_exits_promptly(launch_server, name: str) -> None:
    server = launch_server(name)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/health")
    assert conn.getresponse().read() == b'{"status":"ok"}'  # connection now idle, kept alive
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=5) == 0
    assert time.monotonic() - started < 2
    conn.close()
