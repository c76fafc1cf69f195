"""Hard caps on the load the toolkit sends. They live apart from the code that sends it so
that the CLI's flags can state them in --help without importing httpx, asyncio or boto3."""

# `launchlab demo`'s load step, against the workloads on 127.0.0.1 (launchlab.load).
LOAD_MAX_REQUESTS = 100_000
LOAD_MAX_SECONDS = 300.0
LOAD_MAX_CONCURRENCY = 256
# `launchlab bench` against deployed endpoints: a sandbox bench must never turn into a bill or
# a load test of someone's account.
BENCH_MAX_REQUESTS = 5_000
BENCH_MAX_CONCURRENCY = 64
BENCH_MAX_SECONDS = 120.0
BENCH_MAX_HOURS = 72
# `launchlab drill`: how long it stays idle before the first request, and waits for any one
# change (a deployment, a scale-out, a rollback) before it says it did not happen.
DRILL_MAX_IDLE_SECONDS = 3600
DRILL_MAX_WAIT_SECONDS = 1800
