"""`launchlab bench`: bounded load against every deployed endpoint, written as JSON the cost
report can read; optionally the real usage CloudWatch recorded over the last hours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from launchlab.aws.deployed import Endpoint, endpoints
from launchlab.aws.sandbox import Sandbox, aws_errors
from launchlab.errors import LaunchlabError
from launchlab.limits import (
    BENCH_MAX_CONCURRENCY,
    BENCH_MAX_HOURS,
    BENCH_MAX_REQUESTS,
    BENCH_MAX_SECONDS,
)
from launchlab.load import LoadResult, run_load

SCHEMA = "launchlab-bench"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class BenchSettings:
    requests: int
    concurrency: int
    seconds: float
    path: str = "/"

    def __post_init__(self) -> None:
        for flag, value, cap in (
            ("--requests", self.requests, BENCH_MAX_REQUESTS),
            ("--concurrency", self.concurrency, BENCH_MAX_CONCURRENCY),
            ("--seconds", self.seconds, BENCH_MAX_SECONDS),
        ):
            if not 0 < value <= cap:
                raise LaunchlabError(f"{flag} {value} is outside 1..{cap:g}: pick a smaller value")


def cold_start_share(result: LoadResult) -> float:
    ok = result.completed - result.errors
    return round(result.cold_responses / ok, 4) if ok > 0 else 0.0


def bench(
    sandbox: Sandbox,
    settings: BenchSettings,
    out: Path,
    console: Console,
    cloudwatch_hours: int | None = None,
) -> int:
    found = endpoints(sandbox)
    results: dict[str, dict[str, Any]] = {}
    table = Table(title=f"{settings.requests} requests, {settings.concurrency} at a time, "
                  f"at most {settings.seconds:g} s per endpoint")  # fmt: skip
    for column in ("stack", "launch type", "done", "errors", "req/s", "p50 ms", "p90 ms",
                   "p99 ms", "max ms", "cold"):  # fmt: skip
        table.add_column(column)
    for endpoint in found:
        result = run_load(
            endpoint.url,
            requests=settings.requests,
            concurrency=settings.concurrency,
            seconds=settings.seconds,
            path=settings.path,
        )
        share = cold_start_share(result)
        results[endpoint.stack] = {
            "launch_type": endpoint.launch_type,
            **result.as_dict(),
            "cold_start_share": share,
        }
        table.add_row(
            endpoint.stack, endpoint.launch_type, f"{result.completed}/{result.requested}",
            str(result.errors), f"{result.requests_per_second:g}", f"{result.p50_ms:g}",
            f"{result.p90_ms:g}", f"{result.p99_ms:g}", f"{result.max_ms:g}", f"{share:.1%}",
        )  # fmt: skip
    console.print(table)

    document: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "region": sandbox.region,
        "settings": {
            "requests": settings.requests,
            "concurrency": settings.concurrency,
            "seconds": settings.seconds,
            "path": settings.path,
        },
        "endpoints": results,
    }
    if cloudwatch_hours is not None:
        if not 1 <= cloudwatch_hours <= BENCH_MAX_HOURS:
            raise LaunchlabError(f"--hours {cloudwatch_hours} is outside 1..{BENCH_MAX_HOURS}")
        usage = cloudwatch_usage(sandbox, found, cloudwatch_hours)
        document["cloudwatch"] = usage
        console.print(f"CloudWatch, last {cloudwatch_hours} h: {json.dumps(usage['metrics'])}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"wrote {out}")

    failing = [stack for stack, r in results.items() if r["errors"] > 0]
    if failing:
        Console(stderr=True).print(
            f"launchlab: errors from {', '.join(failing)} during the bench (see 'errors' in "
            f"{out}): run `.venv/bin/launchlab verify` to see what is wrong",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 1
    return 0


def _load_balancer_dimension(sandbox: Sandbox, stack: str) -> str | None:
    """CloudWatch names an ALB by the tail of its ARN: app/<name>/<id>."""
    with aws_errors(sandbox.region):
        resources = sandbox.client("cloudformation").describe_stack_resources(StackName=stack)
    for resource in resources.get("StackResources", []):
        if resource.get("ResourceType") == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            arn = str(resource.get("PhysicalResourceId", ""))
            return arn.split(":loadbalancer/", 1)[1] if ":loadbalancer/" in arn else None
    return None


def cloudwatch_usage(sandbox: Sandbox, found: list[Endpoint], hours: int) -> dict[str, Any]:
    """Sums over the last ``hours``, one query for all; Lambda's average duration is its
    Duration Sum over its Invocations Sum in that window."""
    queries: list[dict[str, Any]] = []

    def metric(key: str, namespace: str, name: str, dims: dict[str, str], stat: str) -> None:
        queries.append({
            "Id": f"m{len(queries)}",
            "Label": key,
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                },
                "Period": 3600,
                "Stat": stat,
            },
            "ReturnData": True,
        })  # fmt: skip

    for endpoint in found:
        if endpoint.cluster and endpoint.service:
            alb = _load_balancer_dimension(sandbox, endpoint.stack)
            if alb:
                metric(f"{endpoint.stack}.alb_request_count", "AWS/ApplicationELB",
                       "RequestCount", {"LoadBalancer": alb}, "Sum")  # fmt: skip
            metric(f"{endpoint.stack}.ecs_cpu_utilization_avg", "AWS/ECS", "CPUUtilization",
                   {"ClusterName": endpoint.cluster, "ServiceName": endpoint.service},
                   "Average")  # fmt: skip
        if endpoint.function:
            dims = {"FunctionName": endpoint.function}
            metric(f"{endpoint.stack}.lambda_invocations", "AWS/Lambda", "Invocations", dims, "Sum")
            metric(f"{endpoint.stack}.lambda_duration_ms_sum", "AWS/Lambda", "Duration", dims,
                   "Sum")  # fmt: skip

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours + 1)
    values: dict[str, list[float]] = {}
    client = sandbox.client("cloudwatch")
    with aws_errors(sandbox.region):
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start,
                                      "EndTime": end}  # fmt: skip
            if token:
                kwargs["NextToken"] = token
            answer = client.get_metric_data(**kwargs)
            for series in answer.get("MetricDataResults", []):
                values.setdefault(str(series["Label"]), []).extend(
                    float(v) for v in series.get("Values", [])
                )
            token = answer.get("NextToken")
            if not token:
                break
    metrics: dict[str, float | None] = {}
    for query in queries:
        key = str(query["Label"])
        points = values.get(key, [])
        if not points:
            metrics[key] = None  # no datapoints: nothing ran, or the metric is not published
        elif key.endswith("_avg"):  # a utilisation: each hour weighs the same
            metrics[key] = round(sum(points) / len(points), 3)
        else:
            metrics[key] = round(sum(points), 3)
    for endpoint in found:
        if endpoint.function:
            # Over the whole window, not a mean of hourly Averages: an hour of one slow call
            # would weigh as much as an hour of thousands of fast ones.
            duration = sum(values.get(f"{endpoint.stack}.lambda_duration_ms_sum", []))
            invocations = sum(values.get(f"{endpoint.stack}.lambda_invocations", []))
            metrics[f"{endpoint.stack}.lambda_duration_ms_avg"] = (
                round(duration / invocations, 3) if invocations > 0 else None
            )
    return {
        "hours": hours,
        "start": start.isoformat(timespec="seconds"),
        "end": end.isoformat(timespec="seconds"),
        "metrics": metrics,
    }
