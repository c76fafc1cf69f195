"""boto3 sessions for the sandbox account, and AWS failures turned into one line each.

A handler wrapped in :func:`aws_errors` never lets a botocore exception out: missing
credentials or region, rejected credentials, an unknown region, a stack that is not deployed
and any other refusal each become a :class:`LaunchlabError` saying what to do next.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import boto3
import botocore.exceptions
from botocore.config import Config

from launchlab.errors import LaunchlabError

P = ParamSpec("P")
R = TypeVar("R")

# A sandbox user waits for a human-readable failure, not for botocore's 4 retries x 60 s.
_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30
)
_BAD_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


@dataclass(frozen=True)
class Sandbox:
    """One boto3 session pinned to one region; clients share its credentials."""

    session: boto3.Session
    region: str

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, config=_CONFIG)


def open_sandbox() -> Sandbox:
    """The caller's session (AWS_PROFILE, AWS_REGION, ...), refused early without a region,
    or with one AWS has never heard of (a typo would otherwise surface as a DNS error)."""
    # The CDK CLI deploys to AWS_REGION first; botocore reads only AWS_DEFAULT_REGION and the
    # config file. Take the CLI's order, so both always look at the same region.
    region = os.environ.get("AWS_REGION") or boto3.Session().region_name
    session = boto3.Session(region_name=region)
    if not region:
        raise LaunchlabError(
            "no AWS region set: export AWS_REGION=us-east-1 (or the region you deploy to), "
            "or run `aws configure`"
        )
    known = set(session.get_available_regions("cloudformation"))
    known |= set(session.get_available_regions("cloudformation", "aws-cn"))
    known |= set(session.get_available_regions("cloudformation", "aws-us-gov"))
    if region not in known and not os.environ.get("AWS_ENDPOINT_URL"):
        raise LaunchlabError(
            f"unknown AWS region {region!r}: set AWS_REGION to a region such as us-east-1 "
            "or eu-west-1"
        )
    return Sandbox(session=session, region=region)


def describe(error: Exception, region: str | None = None) -> str:
    """One line for a botocore failure: what is wrong and what to do next."""
    where = f" in {region}" if region else ""
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or run `aws configure`"
    if isinstance(error, botocore.exceptions.PartialCredentialsError):
        return f"incomplete AWS credentials ({error}): set AWS_PROFILE or run `aws configure`"
    if isinstance(error, botocore.exceptions.NoRegionError):
        return "no AWS region set: export AWS_REGION=us-east-1 or run `aws configure`"
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return (
            f"cannot reach AWS at {error.kwargs.get('endpoint_url', '?')}: check AWS_REGION, "
            "AWS_ENDPOINT_URL and the network"
        )
    if isinstance(error, botocore.exceptions.ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", ""))
        operation = error.operation_name
        if code == "ValidationError" and "does not exist" in message:
            stack = _stack_in(message)
            return f"stack {stack} is not deployed{where}: run `launchlab up` (or set AWS_REGION)"
        if code in _BAD_CREDENTIALS:
            return (
                f"AWS rejected the credentials ({code}): refresh them "
                "(`aws sso login` or `aws configure`) and check AWS_PROFILE"
            )
        if code in _DENIED:
            return (
                f"AWS denied {operation}{where} ({code}): use credentials allowed to "
                "read the sandbox account"
            )
        return f"AWS refused {operation}{where}: {code}: {message}"
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return f"AWS call failed: {error}"
    return f"unexpected error talking to AWS: {type(error).__name__}: {error}"


def _stack_in(message: str) -> str:
    # CloudFormation says "Stack with id LaunchlabFargate does not exist".
    words = message.split()
    if "id" in words and words.index("id") + 1 < len(words):
        return words[words.index("id") + 1]
    return "?"


@contextmanager
def aws_errors(region: str | None = None) -> Iterator[None]:
    try:
        yield
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise LaunchlabError(describe(error, region)) from None


def translated(handler: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command handler so no botocore exception escapes as a traceback."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with aws_errors():
            return handler(*args, **kwargs)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def stack_outputs(sandbox: Sandbox, stack_name: str) -> Mapping[str, str]:
    """The outputs of one deployed stack; a stack that is not deployed is a LaunchlabError."""
    cloudformation = sandbox.client("cloudformation")
    with aws_errors(sandbox.region):
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    stack = stacks[0]
    status = str(stack.get("StackStatus", ""))
    if status.endswith("_FAILED") or status.startswith("ROLLBACK") or status.startswith("DELETE"):
        raise LaunchlabError(
            f"stack {stack_name} is in state {status} in {sandbox.region}: "
            "fix it in the CloudFormation console, then run `launchlab up`"
        )
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def require(outputs: Mapping[str, str], stack_name: str, *keys: str) -> list[str]:
    missing = [key for key in keys if not outputs.get(key)]
    if missing:
        raise LaunchlabError(
            f"stack {stack_name} has no output {', '.join(missing)}: it was deployed from an "
            "older launchlab; run `launchlab up` to update it"
        )
    return [outputs[key] for key in keys]
