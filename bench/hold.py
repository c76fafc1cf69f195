"""Load held: each app under fixed concurrency for a bounded run, then its RSS against warm-up.

For node-app, python-app and the Lambda handler (behind the Function URL shim): a warm-up of
the same request mix, VmRSS, a held run of every route and error path (bench/loadgen.MIXED)
over keep-alive connections, VmRSS again. Prints errors, throughput, latency and RSS growth;
figures, never pass/fail (services/contract_tests/test_contract_load.py holds the same load,
smaller, and asserts on errors and RSS growth only).

Usage: .venv/bin/python -m bench.hold [--requests N] [--concurrency C] [--duration S]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.loadgen import MIXED, hold

# The apps started exactly as the load test starts them.
from launchlab.local import start_stand_in

RSS_GROWTH_TARGET = 1.20


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=60000, help="held requests per app")
    parser.add_argument("--warmup", type=int, default=5000, help="warm-up requests per app")
    parser.add_argument("--concurrency", type=int, default=64, help="open connections")
    parser.add_argument("--duration", type=float, default=60.0, help="time bound per run, s")
    parser.add_argument("--only", default="node,python,lambda", help="comma-separated apps")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    print(
        f"# launchlab load hold: {len(MIXED)}-request mix of every route and error path, "
        f"{args.concurrency} keep-alive connections, {args.warmup} warm-up + {args.requests} "
        f"held requests (bound {args.duration:.0f} s per run) per app"
    )
    print(
        f"{'app':<8}{'requests':>9}{'errors':>7}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'RSS warm':>10}{'RSS after':>10}{'growth':>8}"
    )
    figures = {}
    with tempfile.TemporaryDirectory(prefix="launchlab-hold-") as tmp_name:
        tmp = Path(tmp_name)
        for kind in args.only.split(","):
            server = start_stand_in(kind, tmp)
            try:
                result = hold(
                    server.port,
                    server.process.pid,
                    warmup=args.warmup,
                    total=args.requests,
                    concurrency=args.concurrency,
                    deadline_s=args.duration,
                )
            finally:
                server.stop()
            run = result.run
            verdict = (
                "met" if result.rss_growth <= RSS_GROWTH_TARGET and not run.errors else "MISSED"
            )
            print(
                f"{kind:<8}{run.requests:>9}{run.errors:>7}{run.rps:>8.0f}{run.p50_ms:>8.2f}"
                f"{run.p99_ms:>8.2f}{result.warm_rss_mib:>10.1f}{result.after_rss_mib:>10.1f}"
                f"{result.rss_growth:>7.2f}x  (0 errors, growth <= {RSS_GROWTH_TARGET:.2f}x: "
                f"{verdict})"
            )
            for detail in run.first_errors:
                print(f"    {detail}")
            figures[kind] = {
                "requests": run.requests,
                "errors": run.errors,
                "rps": run.rps,
                "p50_ms": run.p50_ms,
                "p99_ms": run.p99_ms,
                "warm_rss_mib": result.warm_rss_mib,
                "after_rss_mib": result.after_rss_mib,
                "rss_growth": result.rss_growth,
            }
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
