"""Load held: each app under 64 keep-alive connections of every route (and its error paths)
answers every request as the contract says, and its RSS after the run stays within 20% of its
RSS after warm-up (no leak). Bounded by request count, not time; the figures live in
bench/hold.py, nothing here is timed."""

from __future__ import annotations

import pytest
from launchlab_servers import TARGETS

from bench.loadgen import MIXED, hold

CONCURRENCY = 64
WARMUP = 1000
HELD = 3000
MAX_RSS_GROWTH = 1.20


@pytest.mark.parametrize("name", list(TARGETS))
def test_load_held_without_errors_or_rss_growth(launch_server, name: str) -> None:
    server = launch_server(name)
    result = hold(
        server.port,
        server.process.pid,
        warmup=WARMUP,
        total=HELD,
        concurrency=CONCURRENCY,
        deadline_s=60,
        mix=MIXED,
    )
    assert result.warmup.errors == 0, result.warmup.first_errors
    assert result.run.errors == 0, result.run.first_errors
    assert result.run.requests == HELD
    assert result.rss_growth <= MAX_RSS_GROWTH, (
        f"{name}: RSS {result.warm_rss_mib:.1f} MiB after warm-up, "
        f"{result.after_rss_mib:.1f} MiB after {HELD} more requests"
    )
    assert server.alive()
    assert server.client.get("/health").json() == {"status": "ok"}
