"""Benchmark the sample workloads on loopback: figures, never pass/fail.

For node-app, python-app and the Lambda handler (behind the Function URL shim), each next to
a bare baseline started the same way in the same run:
  - requests/s and p99 latency of GET / under fixed concurrency (HTTP/1.1 keep-alive),
  - the server's CPU use during the run (about 100% = the single-threaded server is the
    bottleneck, not the load generator),
  - idle RSS (VmRSS) after warm-up,
and the Lambda handler's cold init (fresh interpreter: import + first invoke), median of 5.

Usage: .venv/bin/python -m bench.apps [--requests N] [--concurrency C] [--duration S]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.loadgen import ROOT_ONLY, LoadResult, load, rss_mib
from launchlab import local, processes

NUMERIC_FIELDS = [f for f in LoadResult.__annotations__ if f != "first_errors"]

TARGETS = {
    "node": (60.0, None),
    "python": (80.0, None),
    "lambda": (80.0, 300.0),
}  # RSS MiB, cold ms


BARE_NODE = """
const http = require('node:http');
const body = JSON.stringify({ok: true});
http.createServer((req, res) => {
  const headers = {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)};
  res.writeHead(200, headers);
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
"""

# A raw ASGI app served by the very function that serves python-app (same uvicorn settings).
BARE_ASGI = """
import sys
from launchlab_app.serving import serve
BODY = b'{"ok":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"11")]
async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
sys.exit(serve(app, "bare-asgi"))
"""

# A bare Lambda handler behind the same Function URL shim.
BARE_HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": '{"ok":true}', "isBase64Encoded": False}
"""

COLD_INIT = """
import time
t0 = time.perf_counter()
from launchlab_app.lambda_handler import handler
t1 = time.perf_counter()
class Context:
    aws_request_id = "cold-init"
    function_name = "launchlab-bench"
event = {"version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
         "headers": {"host": "bench.lambda-url.us-east-1.on.aws"},
         "requestContext": {"http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1",
                                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
                            "requestId": "cold-init", "routeKey": "$default", "stage": "$default",
                            "domainName": "bench.lambda-url.us-east-1.on.aws", "apiId": "bench",
                            "accountId": "anonymous", "timeEpoch": 0, "time": "x"},
         "isBase64Encoded": False}
response = handler(event, Context())
t2 = time.perf_counter()
assert response["statusCode"] == 200, response
print(f"{(t1 - t0) * 1000:.3f} {(t2 - t0) * 1000:.3f}")
"""


# ---- servers ----------------------------------------------------------------------------


class Server:
    """One target started the way the toolkit starts its workloads (launchlab.processes)."""

    def __init__(self, name: str, command: list[str], cwd: Path, log_dir: Path, **env: str) -> None:
        full_env = local.local_environment({"PYTHONDONTWRITEBYTECODE": "1", **env})
        self.started = processes.start(
            name, command, cwd=cwd, env=full_env, log_dir=log_dir, ready_path="/"
        )
        self.port = self.started.port
        self.pid = self.started.process.pid

    def rss(self) -> tuple[float, float]:
        return rss_mib(self.pid)

    def stop(self) -> None:
        self.started.stop()


def servers(tmp: Path) -> dict[str, tuple[list[str], Path, dict[str, str]]]:
    """Each app as its image runs it, beside a bare server started the same way."""
    (tmp / "bare_handler.py").write_text(BARE_HANDLER)
    found = {}
    for kind, (app, lambda_image) in local.STAND_INS.items():
        command, env = local.stand_in(app, lambda_image=lambda_image)
        found[f"{kind}:app"] = (list(command), local.SERVICES_DIR / app, env)
    node_app, python_app = local.SERVICES_DIR / "node-app", local.SERVICES_DIR / "python-app"
    shim, shim_env = local.stand_in("python-app", lambda_image=True)
    found["node:bare"] = ([processes.node_binary(), "-e", BARE_NODE], node_app, {})
    found["python:bare"] = ([sys.executable, "-c", textwrap.dedent(BARE_ASGI)], python_app, {})
    found["lambda:bare"] = (
        list(shim),
        python_app,
        {**shim_env, "_HANDLER": "bare_handler.handler", "PYTHONPATH": str(tmp)},
    )
    return found


def cold_init(runs: int) -> tuple[list[float], list[float], list[float]]:
    """(import ms, import + first invoke ms, whole process ms) per fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECS_"))}
    env.update(AWS_LAMBDA_FUNCTION_NAME="launchlab-bench")
    imports, inits, wall = [], [], []
    for i in range(runs + 1):  # the first run warms the page cache and bytecode; not counted
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD_INIT],
            cwd=local.SERVICES_DIR / "python-app",
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        elapsed = (time.perf_counter() - started) * 1000
        if i:
            a, b = map(float, out.strip().splitlines()[-1].split())  # after the request log line
            imports.append(a)
            inits.append(b)
            wall.append(elapsed)
    return imports, inits, wall


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=20000, help="requests per target (default 20000)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="open connections (default 32)")
    parser.add_argument(
        "--duration", type=float, default=15.0, help="time bound per target, s (default 15)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating bare/app rounds (default 3)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1000, help="warm-up requests per target (default 1000)"
    )
    parser.add_argument(
        "--cold-runs", type=int, default=5, help="fresh interpreters for cold init (default 5)"
    )
    parser.add_argument("--only", default="node,python,lambda", help="comma-separated kinds to run")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    print(
        f"# launchlab apps benchmark: GET /, {args.concurrency} keep-alive connections, "
        f"{args.requests} requests (bound {args.duration:.0f} s) per target, {os.cpu_count()} CPUs"
    )
    print(f"# python {sys.version.split()[0]}; load generator: asyncio protocols in this process")
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="launchlab-bench-") as tmp_name:
        tmp = Path(tmp_name)
        kinds = args.only.split(",")
        specs = servers(tmp)
        for kind in kinds:
            # Bare and app are up together and measured in alternation, round after round, so
            # noise from anything else on the machine lands on both; medians are reported.
            pair = {}
            try:
                for name in (f"{kind}:bare", f"{kind}:app"):
                    command, cwd, env = specs[name]
                    pair[name] = Server(name.replace(":", "-"), command, cwd, tmp, **env)
                runs: dict[str, list[LoadResult]] = {name: [] for name in pair}
                bounds = {"concurrency": args.concurrency, "deadline_s": args.duration}
                for server in pair.values():
                    load(server.port, server.pid, total=args.warmup, mix=ROOT_ONLY, **bounds)
                time.sleep(0.5)
                idle = {name: server.rss() for name, server in pair.items()}
                for _ in range(args.rounds):
                    for name, server in pair.items():
                        runs[name].append(
                            load(
                                server.port,
                                server.pid,
                                total=args.requests,
                                mix=ROOT_ONLY,
                                **bounds,
                            )
                        )
                for name, results in runs.items():
                    figures[name] = {
                        field: statistics.median(getattr(r, field) for r in results)
                        for field in NUMERIC_FIELDS
                    }
                    figures[name]["rps_runs"] = [round(r.rps) for r in results]
                    figures[name]["idle_rss_mib"], figures[name]["idle_anon_mib"] = idle[name]
                    figures[name]["ratio_runs"] = []
                app_runs, bare_runs = runs[f"{kind}:app"], runs[f"{kind}:bare"]
                figures[f"{kind}:app"]["ratio_runs"] = [
                    a.rps / b.rps for a, b in zip(app_runs, bare_runs, strict=True)
                ]
            finally:
                for server in pair.values():
                    server.stop()
        imports, inits, wall = cold_init(args.cold_runs if "lambda" in kinds else 1)

    print(
        f"{'target':<13}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
        f"{'srv CPU':>8}{'gen CPU':>8}"
        f"{'idle RSS':>10}{'(anon)':>8}   req/s per round"
    )
    for name, f in figures.items():
        print(
            f"{name:<13}{f['rps']:>8.0f}{f['p50_ms']:>8.2f}{f['p99_ms']:>8.2f}{f['errors']:>7.0f}"
            f"{f['server_cpu']:>8.0%}{f['client_cpu']:>8.0%}{f['idle_rss_mib']:>10.1f}{f['idle_anon_mib']:>8.1f}"
            f"   {f['rps_runs']}"
        )
    print()
    print("app vs bare baseline (same run; throughput ratio = median of per-round ratios):")
    for kind in kinds:
        app, bare = figures[f"{kind}:app"], figures[f"{kind}:bare"]
        rss_target, _ = TARGETS[kind]
        ratio = statistics.median(app["ratio_runs"])
        rounds = ", ".join(f"{r:.2f}" for r in app["ratio_runs"])
        tp_verdict = "met" if ratio >= 0.9 else "MISSED"
        rss_verdict = "met" if app["idle_rss_mib"] <= rss_target else "MISSED"
        print(
            f"  {kind:<7} throughput {ratio:.2f}x [{rounds}] (target >= 0.90x: {tp_verdict}), "
            f"p99 {app['p99_ms'] / bare['p99_ms']:.2f}x, idle RSS {app['idle_rss_mib']:.1f} MiB "
            f"(target <= {rss_target:.0f}: {rss_verdict}; bare {bare['idle_rss_mib']:.1f} MiB; "
            f"anon app {app['idle_anon_mib']:.1f} / bare {bare['idle_anon_mib']:.1f})"
        )
    med_init = statistics.median(inits)
    print(
        f"lambda cold init (fresh interpreter, import + first invoke), median of {len(inits)}: "
        f"{med_init:.1f} ms (import {statistics.median(imports):.1f} ms; whole process incl. "
        f"interpreter start {statistics.median(wall):.1f} ms) "
        f"(target <= 300 ms: {'met' if med_init <= 300 else 'MISSED'})"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "targets": figures,
                    "cold_init_ms": inits,
                    "cold_import_ms": imports,
                    "cold_process_ms": wall,
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
