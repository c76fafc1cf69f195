"""A raw-socket HTTP/1.1 load generator for loopback runs, shared by bench/ and the load tests.

asyncio protocols in the calling process, one keep-alive connection per unit of concurrency,
each sending the next request of a fixed mix as soon as the previous answer is in. Every answer
is checked against the status the mix expects for it; a wrong status, a connection the server
drops with a request outstanding and a request still unanswered at the deadline are errors.
Cheap enough per request (no HTTP library) that the generator is not the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
# How long after the time bound unanswered requests are waited for before they count as errors.
GRACE_S = 10.0


@dataclass(frozen=True)
class Request:
    """One request of a mix: its bytes on the wire and the status it must get."""

    name: str
    raw: bytes
    expect: int


def get(path: str, expect: int = 200) -> Request:
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: launchlab-load\r\n\r\n"
    return Request(f"GET {path}", raw.encode(), expect)


def post(path: str, body: Any, expect: int = 200, *, raw_body: bytes | None = None) -> Request:
    data = raw_body if raw_body is not None else json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: launchlab-load\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return Request(f"POST {path} -> {expect}", head.encode() + data, expect)


# GET / only: the throughput benchmark's request.
ROOT_ONLY = (get("/"),)

# Every route and the error paths, so a leak anywhere in the app shows in its RSS.
MIXED = (
    get("/"),
    get("/health"),
    post("/compute", {"payload": "hold", "rounds": 50}),
    post("/echo", {"message": "held under load", "tags": ["a", "b"]}),
    get("/missing", 404),
    post("/compute", None, 400, raw_body=b'{"payload": "x", "rounds": '),
    post("/echo", {"message": ""}, 422),
)


class _Connection(asyncio.Protocol):
    def __init__(self, run: LoadRun) -> None:
        self.run = run
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.outstanding: Request | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.run.connections.add(self)
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        request = self.run.take()
        if request is None:
            self.transport.close()
            return
        self.outstanding = request
        self.sent_at = time.perf_counter()
        self.transport.write(request.raw)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.outstanding is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = _content_length(head)
            if length is None:  # chunked or unframed: not something these apps send
                self.run.fail(self.outstanding, "response without content-length")
                self.outstanding = None
                assert self.transport is not None
                self.transport.close()
                return
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            status = int(head[9:12]) if head.startswith(b"http/1.1 ") else 0
            del self.buffer[:total]
            request, self.outstanding = self.outstanding, None
            self.run.record(request, time.perf_counter() - self.sent_at, status)
            if b"\r\nconnection: close" in head:
                self.run.reconnect()
                assert self.transport is not None
                self.transport.close()
                return
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.outstanding is not None:
            self.run.fail(self.outstanding, f"connection lost: {exc or 'closed by the server'}")
            self.outstanding = None
        self.run.closed(self)


def _content_length(head: bytes) -> int | None:
    start = head.find(b"\r\ncontent-length:")
    if start < 0:
        return None
    end = head.find(b"\r\n", start + 2)
    return int(head[start + 17 : end if end > 0 else None])


@dataclass(frozen=True)
class LoadResult:
    requests: int  # answered
    errors: int  # wrong status, dropped or unanswered
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    server_cpu: float  # share of one core the server used during the run
    client_cpu: float  # share of one core the load generator used
    first_errors: tuple[str, ...]  # the first few, for a message


class LoadRun:
    def __init__(self, port: int, mix: Sequence[Request], total: int, deadline_s: float) -> None:
        self.port = port
        self.mix = mix
        self.remaining = total
        self.issued = 0
        self.deadline = time.perf_counter() + deadline_s
        self.latencies: list[float] = []
        self.errors = 0
        self.error_details: list[str] = []
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.open = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def take(self) -> Request | None:
        if self.remaining <= 0 or time.perf_counter() > self.deadline:
            return None
        self.remaining -= 1
        request = self.mix[self.issued % len(self.mix)]
        self.issued += 1
        return request

    def record(self, request: Request, latency: float, status: int) -> None:
        self.latencies.append(latency)
        if status != request.expect:
            self.fail(request, f"status {status}, expected {request.expect}")

    def fail(self, request: Request, why: str) -> None:
        self.errors += 1
        if len(self.error_details) < 5:
            self.error_details.append(f"{request.name}: {why}")

    def reconnect(self) -> None:
        """The server closed a keep-alive connection after an answer: a new one takes over."""
        if self.remaining > 0 and time.perf_counter() < self.deadline:
            self.open += 1  # before the old connection's close is counted
            task = asyncio.get_running_loop().create_task(self._reconnect())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _reconnect(self) -> None:
        try:
            await self._connect()
        except OSError as error:
            self.errors += 1
            self.error_details.append(f"reconnect: {error}")
            self.open -= 1
            if self.open <= 0 and not self.done.done():
                self.done.set_result(None)

    def closed(self, connection: _Connection) -> None:
        self.connections.discard(connection)
        self.open -= 1
        if self.open <= 0 and not self.done.done():
            self.done.set_result(None)

    async def _connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.get_running_loop().create_connection(lambda: _Connection(self), sock=sock)

    async def go(self, concurrency: int) -> None:
        self.open = concurrency
        for _ in range(concurrency):
            await self._connect()
        remaining = self.deadline - time.perf_counter() + GRACE_S
        try:
            await asyncio.wait_for(asyncio.shield(self.done), max(0.0, remaining))
        except TimeoutError:
            for connection in list(self.connections):
                if connection.outstanding is not None:
                    self.fail(connection.outstanding, "no answer by the deadline")
                    connection.outstanding = None
                assert connection.transport is not None
                connection.transport.abort()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, RssAnon) of ``pid`` in MiB: all resident pages, and its own (not file-backed)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["RssAnon"].split()[0]) / 1024


def load(
    port: int,
    pid: int,
    *,
    total: int,
    concurrency: int,
    deadline_s: float,
    mix: Sequence[Request] = ROOT_ONLY,
) -> LoadResult:
    """``total`` requests of ``mix`` over ``concurrency`` connections, stopping at
    ``deadline_s`` whatever is left; the server's CPU is read from /proc/``pid``."""

    async def main() -> LoadRun:
        run = LoadRun(port, mix, total, deadline_s)
        await run.go(concurrency)
        return run

    server_before = cpu_seconds(pid)
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    run = asyncio.run(main())
    seconds = time.perf_counter() - started
    client_after = resource.getrusage(resource.RUSAGE_SELF)
    latencies = sorted(run.latencies) or [0.0]
    n = len(run.latencies)
    client_cpu = (client_after.ru_utime + client_after.ru_stime) - (
        client_before.ru_utime + client_before.ru_stime
    )
    return LoadResult(
        requests=n,
        errors=run.errors,
        seconds=seconds,
        rps=n / seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        server_cpu=(cpu_seconds(pid) - server_before) / seconds,
        client_cpu=client_cpu / seconds,
        first_errors=tuple(run.error_details),
    )


@dataclass(frozen=True)
class HoldResult:
    """A load held for a bounded run after a warm-up, and the server's RSS around it."""

    warm_rss_mib: float  # after the warm-up, before the held run
    after_rss_mib: float  # after the held run
    run: LoadResult
    warmup: LoadResult

    @property
    def rss_growth(self) -> float:
        """RSS after the run relative to after warm-up (1.0 = no growth)."""
        return self.after_rss_mib / self.warm_rss_mib


def hold(
    port: int,
    pid: int,
    *,
    warmup: int,
    total: int,
    concurrency: int,
    deadline_s: float,
    mix: Sequence[Request] = MIXED,
) -> HoldResult:
    """Warm up with ``warmup`` requests, read RSS, hold ``total`` requests at ``concurrency``,
    read RSS again. Both reads come after a short pause, so they see the settled process."""

    def run_for(requests: int) -> LoadResult:
        return load(
            port, pid, total=requests, concurrency=concurrency, deadline_s=deadline_s, mix=mix
        )

    warm_run = run_for(warmup)
    time.sleep(0.2)
    warm, _ = rss_mib(pid)
    run = run_for(total)
    time.sleep(0.2)
    after, _ = rss_mib(pid)
    return HoldResult(warm, after, run, warm_run)
