"""Lambda: a container-image function; you pay per request and per GB-second of duration."""

from __future__ import annotations

from launchlab.report.cost import (
    HTTP_API_MAX_SECONDS,
    Assumptions,
    Estimate,
    price_function,
    required,
)
from launchlab.report.inventory import LaunchType
from launchlab.report.ops import Common, OpsRow, extras
from launchlab.report.patching import LAMBDA_RUNTIME_PATCHING
from launchlab.report.prices import RegionPrices
from launchlab.report.profile import TrafficProfile


def price(
    unit: LaunchType,
    prices: RegionPrices,
    profile: TrafficProfile,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    price_function(
        required(unit.function, "image function", unit), profile, prices, assumptions, result
    )


def ops(unit: LaunchType, common: Common) -> OpsRow:
    function = required(unit.function, "image function", unit)
    limit = (
        f"reserved concurrency {function.reserved_concurrency}"
        if function.reserved_concurrency is not None
        else "no reserved concurrency (shares the account's 1,000 default quota)"
    )
    if function.front_door == "http-api":
        capped = min(function.timeout_s, HTTP_API_MAX_SECONDS)
        duration = f"{capped} s (timeout {function.timeout_s} s, HTTP API cap 30 s)"
    else:
        duration = f"{function.timeout_s} s (function timeout; Function URL allows up to 900 s)"
    return OpsRow(
        launch_type=unit.launch_type,
        resources=common.resources,
        you_manage=(
            f"the image and its base-image patches, {limit}, memory size ({function.memory_mb} MB)"
        ),
        scaling_unit=(
            "one execution environment per concurrent request, in seconds; "
            "up to 1,000 more per 10 s per function"
        ),
        max_request_duration=duration,
        cold_starts="yes: the first request on each new environment waits for its init",
        min_billable_unit="1 ms of duration, per request",
        costs_at_zero_traffic=common.zero_traffic,
        **extras(
            unit,
            common,
            kind="lambda",
            patches=("lambda-image",),
            aws="the hosts; the runtime in a container image is yours to rebuild "
            f"({LAMBDA_RUNTIME_PATCHING})",
        ),
    )
