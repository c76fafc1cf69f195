"""`launchlab bench --cloudwatch`: what it reads from CloudWatch (moto on 127.0.0.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from launchlab.aws.bench_deployed import cloudwatch_usage
from launchlab.aws.deployed import Endpoint
from launchlab.aws.sandbox import Sandbox
from tests import moto_server as fixtures
from tests.moto_server import REGION, MotoServer

aws = fixtures.aws
moto_server = fixtures.moto_server


def test_lambda_average_duration_weighs_each_invocation_alike(aws: MotoServer) -> None:
    """Two hours: one call of 1,000 ms, then 99 calls of 10 ms. The average call took
    (1,000 + 99 x 10) / 100 = 19.9 ms; the mean of the two hourly averages would say 505."""
    now = datetime.now(UTC)
    dims = [{"Name": "FunctionName", "Value": "launchlab-fn"}]
    cloudwatch = boto3.client("cloudwatch")
    for when, durations in ((now - timedelta(hours=2), [1000.0]), (now, [10.0] * 99)):
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                *({"MetricName": "Duration", "Timestamp": when, "Value": ms, "Dimensions": dims,
                   "Unit": "Milliseconds"} for ms in durations),
                {"MetricName": "Invocations", "Timestamp": when, "Value": len(durations),
                 "Dimensions": dims, "Unit": "Count"},
            ],
        )  # fmt: skip
    function = Endpoint("LaunchlabLambda", "lambda", "https://example", function="launchlab-fn")
    usage = cloudwatch_usage(Sandbox(boto3.Session(), REGION), [function], hours=3)
    metrics = usage["metrics"]
    assert metrics["LaunchlabLambda.lambda_invocations"] == 100
    assert metrics["LaunchlabLambda.lambda_duration_ms_sum"] == 1990
    assert metrics["LaunchlabLambda.lambda_duration_ms_avg"] == 19.9


def test_lambda_average_duration_without_invocations_is_unknown(aws: MotoServer) -> None:
    function = Endpoint("LaunchlabLambda", "lambda", "https://example", function="idle-fn")
    usage = cloudwatch_usage(Sandbox(boto3.Session(), REGION), [function], hours=1)
    assert usage["metrics"]["LaunchlabLambda.lambda_duration_ms_avg"] is None
    assert usage["metrics"]["LaunchlabLambda.lambda_invocations"] is None
