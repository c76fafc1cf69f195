"""Bounded load against one endpoint: a fixed number of requests and a time limit, never more.

Used by `launchlab demo` on 127.0.0.1 and by `launchlab bench` against deployed endpoints
(HTTPS included), so it is built on httpx rather than raw sockets; bench/apps.py keeps its own
raw-socket generator because there the generator must not be the bottleneck.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from launchlab import processes, tls
from launchlab.limits import LOAD_MAX_REQUESTS, LOAD_MAX_SECONDS


@dataclass(frozen=True)
class LoadResult:
    url: str
    path: str
    requested: int
    completed: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cold_responses: int  # responses whose body said "cold": true (a new process served them)
    stopped_by_time_limit: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=1000, method="inclusive")[
        min(998, max(0, round(fraction * 1000) - 1))
    ]


def run_load(
    url: str,
    *,
    requests: int,
    concurrency: int,
    seconds: float,
    path: str = "/",
) -> LoadResult:
    """Send ``requests`` GETs to ``url + path`` over ``concurrency`` connections, stopping at
    ``seconds`` whatever is left. Errors are non-2xx answers and failed connections."""
    if not 1 <= requests <= LOAD_MAX_REQUESTS:
        raise ValueError(f"requests must be 1..{LOAD_MAX_REQUESTS}, got {requests}")
    if not 0 < seconds <= LOAD_MAX_SECONDS:
        raise ValueError(f"seconds must be in (0, {LOAD_MAX_SECONDS}], got {seconds}")
    concurrency = max(1, min(concurrency, requests))
    stop = _Stop()
    # Ctrl-C (or SIGTERM, SIGHUP) sets a flag every worker checks; asyncio.run then installs
    # no handler of its own, and the signal is raised once the workers are done.
    with processes.deferred_stop(stop.on_signal) as request:
        try:
            result = asyncio.run(_run(url.rstrip("/"), path, requests, concurrency, seconds, stop))
        except asyncio.CancelledError:
            request.raise_if_stopped()
            raise
    request.raise_if_stopped()
    return result


class _Stop:
    """Set by a stop signal: workers finish the request in hand and send no more."""

    def __init__(self) -> None:
        self.interrupted = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def on_signal(self) -> None:
        self.interrupted.set()
        if self.loop is not None and not self.loop.is_closed():
            # Prompt, not relied on: httpx/anyio can swallow a task's cancellation and carry on
            # (a Ctrl-C once left the demo loading for minutes), which the flag still stops.
            self.loop.call_soon_threadsafe(lambda: [task.cancel() for task in self.tasks])


async def _run(
    url: str, path: str, requests: int, concurrency: int, seconds: float, stop: _Stop
) -> LoadResult:
    stop.loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    cold = 0
    issued = 0
    started = time.perf_counter()
    deadline = started + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(min(30.0, seconds))

    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=timeout, verify=tls.context()
    ) as client:

        async def worker() -> None:
            nonlocal issued, errors, cold
            while (
                issued < requests
                and time.perf_counter() < deadline
                and not stop.interrupted.is_set()
            ):
                issued += 1
                sent = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.HTTPError:
                    # Includes a cancellation httpx turned into a transport error
                    # (encode/httpx#2381): the loop's flag check ends the worker either way.
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - sent) * 1000)
                if not response.is_success:
                    errors += 1
                elif b'"cold":true' in response.content.replace(b" ", b""):
                    cold += 1

        stop.tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.gather(*stop.tasks)
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    completed = len(ordered)
    return LoadResult(
        url=url,
        path=path,
        requested=requests,
        completed=completed,
        errors=errors,
        seconds=round(elapsed, 3),
        requests_per_second=round(completed / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(ordered, 0.50), 2),
        p90_ms=round(percentile(ordered, 0.90), 2),
        p99_ms=round(percentile(ordered, 0.99), 2),
        max_ms=round(ordered[-1], 2) if ordered else 0.0,
        cold_responses=cold,
        stopped_by_time_limit=issued < requests,
    )
