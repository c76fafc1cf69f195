"""Log groups every stack owns: a retention period, and deleted with the stack.

https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct


def retained_log_group(
    scope: Construct, construct_id: str, *, retention_days: int
) -> logs.LogGroup:
    """A log group with a retention period, deleted with its stack."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention(retention_days),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a number of days the config has validated."""
    return logs.RetentionDays[_RETENTION[days]]


_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
    30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
    150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS", 1827: "FIVE_YEARS",
    2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip
