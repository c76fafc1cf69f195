"""SIGTERM on each app process: in-flight requests finish, new connections are refused, exit 0."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import time
from pathlib import Path

import pytest
from launchlab_servers import TARGETS, Server, iterated_sha256

from stacks.workloads import STOP_TIMEOUT_SECONDS

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
    server.process.send_signal(signal.SIGTERM)
    wait_until_refused(server.port)
    assert server.process.poll() is None, "exited before the in-flight request finished"

    sock.sendall(BODY[10:])
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = json.loads(response.read())
    assert response.status == 200
    assert body["message"] == "in flight during SIGTERM"
    assert sock.recv(1) == b"", "the server kept the connection open after draining it"
    sock.close()
    assert server.process.wait(timeout=10) == 0
    assert "SIGTERM" in server.output() or "Shutting down" in server.output()


@pytest.mark.parametrize("name", list(TARGETS))
def test_sigterm_bound_ends_a_stuck_request_and_exits_0(launch_server, name: str) -> None:
    # A client that never finishes its body must not hold the process past the bound.
    server = launch_server(name, SHUTDOWN_TIMEOUT_S="1")
    sock = open_request_midway(server)
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=5) == 0
    assert 0.9 <= time.monotonic() - started < 3
    sock.close()


@pytest.mark.parametrize("name", list(TARGETS))
def test_sigterm_with_idle_keepalive_connection_exits_promptly(launch_server, name: str) -> None:
    server = launch_server(name)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/health")
    assert conn.getresponse().read() == b'{"status":"ok"}'  # connection now idle, kept alive
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=5) == 0
    assert time.monotonic() - started < 2
    conn.close()


# ---- under concurrent load ----------------------------------------------------------------

IN_FLIGHT = 64
COMPUTE_ROUNDS = 20_000  # tens of ms each: some still computing, some queued at the signal


def server_side_queues(port: int) -> tuple[int, list[int]]:
    """From /proc/net/tcp{,6}: the listener's accept-queue length, and the unread bytes of each
    established connection the server holds on ``port``."""
    backlog, unread = 0, []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port != port:
                continue
            state, queued = fields[3], int(fields[4].split(":")[1], 16)
            if state == "0A":  # LISTEN: rx_queue is the accept queue
                backlog += queued
            elif state == "01":  # ESTABLISHED
                unread.append(queued)
    return backlog, unread


def wait_until_server_read_everything(port: int, connections: int, within: float = 10) -> None:
    """Every connection accepted and every byte sent so far read by the app: each request is
    in the app's hands (started), not waiting in a kernel queue."""
    deadline = time.monotonic() + within
    while True:
        backlog, unread = server_side_queues(port)
        if backlog == 0 and len(unread) >= connections and not any(unread):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"accept queue {backlog}, unread bytes per connection {unread}")
        time.sleep(0.02)


def compute_request(payload: str) -> bytes:
    body = json.dumps({"payload": payload, "rounds": COMPUTE_ROUNDS}).encode()
    head = (
        b"POST /compute HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % len(body)
    )
    return head + body


@pytest.mark.parametrize("name", list(TARGETS))
def test_sigterm_under_concurrent_load_drops_nothing(launch_server, name: str) -> None:
    # What an ECS rolling deploy does to a task: requests in flight on many connections (half
    # still sending their body, half computing or queued), then SIGTERM. Every one of them must
    # get its 2xx, new connections must be refused, and the process must exit 0 well inside the
    # stop timeout the task definitions set.
    server = launch_server(name)
    echoes, computes = [], []
    for i in range(IN_FLIGHT):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=STOP_TIMEOUT_SECONDS)
        if i % 2:
            sock.sendall(compute_request(f"load-{i}"))
            computes.append((sock, f"load-{i}"))
        else:
            sock.sendall(HEAD + BODY[:10])
            echoes.append(sock)
    wait_until_server_read_everything(server.port, IN_FLIGHT)

    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    wait_until_refused(server.port)
    assert server.process.poll() is None, "exited with requests in flight"

    for sock in echoes:
        sock.sendall(BODY[10:])
    for sock in echoes:
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200
        assert json.loads(response.read())["message"] == "in flight during SIGTERM"
    for sock, payload in computes:
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200
        assert json.loads(response.read())["digest"] == iterated_sha256(payload, COMPUTE_ROUNDS)
    assert server.process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0
    assert time.monotonic() - signalled < STOP_TIMEOUT_SECONDS
    for sock in echoes + [sock for sock, _ in computes]:
        sock.close()
