"""Figures measured against a real deployment (`launchlab bench`), read back for the report.

`launchlab bench` writes reports/bench.json: bounded load against each deployed endpoint
and, with --cloudwatch, the requests and Lambda durations CloudWatch recorded. The report
shows the first beside its projected costs, labelled with where and when it was measured, and
can price the second as the traffic profile ("what would the traffic my sandbox actually
served cost on each launch type").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from launchlab.errors import LaunchlabError
from launchlab.report.prices import HOURS_PER_MONTH
from stacks.launch_types import BY_STACK

BENCH_SCHEMA = "launchlab-bench"
DRILL_SCHEMA = "launchlab-drill"  # launchlab/aws/drill.py writes it


def read_bench(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise LaunchlabError(
            f"cannot read {path}: {error.strerror}; run `.venv/bin/launchlab bench` first"
        ) from None
    except (ValueError, RecursionError):
        raise LaunchlabError(f"{path} is not JSON: run `.venv/bin/launchlab bench` again") from None
    if not isinstance(document, dict) or document.get("schema") != BENCH_SCHEMA:
        raise LaunchlabError(
            f"{path} is not a result of `.venv/bin/launchlab bench` (schema {BENCH_SCHEMA})"
        )
    return document


def measured_figures(bench: dict[str, Any]) -> dict[str, Any]:
    """The bench's load figures in the report's `measured` shape, one row per launch type."""
    launch_types = {}
    for stack, figures in bench.get("endpoints", {}).items():
        launch_type = figures.get("launch_type") or (
            spec.key if (spec := BY_STACK.get(stack)) else stack
        )
        launch_types[launch_type] = {
            "label": f"{stack}, cold starts {figures.get('cold_start_share', 0):.1%}",
            "completed": figures["completed"],
            "requests_per_second": figures["requests_per_second"],
            "p50_ms": figures["p50_ms"],
            "p99_ms": figures["p99_ms"],
            "errors": figures["errors"],
        }
    return {
        "measured_where": f"on AWS in {bench.get('region')} at {bench.get('measured_at')} "
        "(launchlab bench)",
        "launch_types": launch_types,
    }


def traffic_from_cloudwatch(bench: dict[str, Any]) -> dict[str, str]:
    """Profile overrides from the usage CloudWatch recorded: every endpoint's requests over
    the window, scaled to a month, and Lambda's average duration."""
    usage = bench.get("cloudwatch")
    if not isinstance(usage, dict):
        raise LaunchlabError(
            "the bench result has no CloudWatch usage: run `.venv/bin/launchlab bench --cloudwatch`"
        )
    metrics: dict[str, float | None] = usage.get("metrics", {})
    hours = float(usage.get("hours") or 0)
    requests = sum(
        value or 0.0
        for key, value in metrics.items()
        if key.endswith((".alb_request_count", ".lambda_invocations"))
    )
    if hours <= 0 or requests <= 0:
        raise LaunchlabError(
            "CloudWatch recorded no requests in the bench's window: send traffic, then run "
            "`.venv/bin/launchlab bench --cloudwatch` again"
        )
    monthly = requests / hours * float(HOURS_PER_MONTH)
    overrides = {"requests_per_month": f"{monthly:.0f}"}
    durations = [v for k, v in metrics.items() if k.endswith(".lambda_duration_ms_avg") and v]
    if durations:
        overrides["avg_duration_ms"] = f"{max(durations):.1f}"
    return overrides


def read_drill(path: Path) -> dict[str, Any]:
    """reports/drill.json as `launchlab drill` wrote it; anything else is a one-line error."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise LaunchlabError(
            f"cannot read {path}: {error.strerror}; run `.venv/bin/launchlab drill` first"
        ) from None
    except (ValueError, RecursionError):
        raise LaunchlabError(f"{path} is not JSON: run `.venv/bin/launchlab drill` again") from None
    if not isinstance(document, dict) or document.get("schema") != DRILL_SCHEMA:
        raise LaunchlabError(
            f"{path} is not a result of `.venv/bin/launchlab drill` (schema {DRILL_SCHEMA})"
        )
    return document


def drill_where(drill: Mapping[str, Any]) -> str:
    partial = "" if drill.get("complete", True) else ", interrupted: partial"
    return (
        f"on AWS in {drill.get('region')} at {drill.get('measured_at')} (launchlab drill{partial})"
    )
