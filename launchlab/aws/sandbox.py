"""boto3 sessions for the sandbox account, and AWS failures turned into one line each.

A handler wrapped in :func:`aws_errors` never lets a botocore exception out: missing
credentials or region, rejected credentials, an unknown region, a stack that is not deployed,
an endpoint that never answers or is not AWS at all, and any other refusal each become a
:class:`LaunchlabError` saying what to do next. Every client is made here, with bounded
timeouts and retries, so no command can sit silent for minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.config import Config
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

from launchlab.errors import LaunchlabError

# A sandbox user waits for a one-line failure, not for botocore's defaults (60 s per read,
# several attempts: 121 s of silence against an endpoint that accepts and never answers). Every
# call the toolkit makes is a small describe/list that AWS answers in well under a second, so
# an endpoint silent for READ_TIMEOUT_S is broken, and one retry (after at most 1 s of
# standard-mode backoff) covers a dropped connection or a throttle: a dead endpoint fails in
# about ATTEMPTS x READ_TIMEOUT_S + 1 = 13 s.
CONNECT_TIMEOUT_S = 4
READ_TIMEOUT_S = 6
ATTEMPTS = 2
_CONFIG = Config(
    retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
)
# The variables through which boto3 (and the CDK CLI) take a custom endpoint.
ENDPOINT_ENV = "AWS_ENDPOINT_URL"


def _fix_endpoint() -> str:
    if any(key.startswith(ENDPOINT_ENV) for key in os.environ):
        return (
            f"check {ENDPOINT_ENV} (unset it to use AWS; for moto, http://127.0.0.1:PORT of a "
            "running moto server) and the network"
        )
    return "check the network and the AWS Health Dashboard, then run the command again"


_BAD_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
}
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


@dataclass(frozen=True)
class Sandbox:
    """One boto3 session pinned to one region; clients share its credentials. One client per
    service, made on first use: botocore takes some 2-15 ms of CPU to make one (more for the
    first of a service), and down's scan asks for EC2's in seven places. Clients are
    thread-safe, making them from the session is not: ask for a client in the thread that
    opened the sandbox before another thread uses it."""

    session: boto3.Session
    region: str
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._new_client(service)
        return self._clients[service]

    def _new_client(self, service: str) -> Any:
        try:
            client = self.session.client(service, region_name=self.region, config=_CONFIG)
        except ValueError as error:  # botocore: "Invalid endpoint: ..." (e.g. from a profile)
            raise LaunchlabError(f"{error}: {_fix_endpoint()}") from None
        endpoint = str(client.meta.endpoint_url)

        def refuse_html(response_dict: dict[str, Any], operation_model: Any, **_: Any) -> None:
            # Any other web server answers with a page, which botocore would misparse into a
            # KeyError, a ResponseParserError, or an "error" whose message is the page itself.
            # The body decides, not the content type: moto labels some JSON text/html.
            body = response_dict.get("body")
            if operation_model.has_streaming_output or not isinstance(body, bytes):
                return
            if body.lstrip()[:20].lower().startswith((b"<!doctype html", b"<html")):
                raise NotAws(endpoint=endpoint, status=response_dict["status_code"])

        client.meta.events.register("before-parse", refuse_html)
        return client


class NotAws(botocore.exceptions.BotoCoreError):  # type: ignore[misc]
    """An endpoint that answered with an HTML page: some web server, not AWS or moto."""

    fmt = "{endpoint} answered with a web page (HTTP {status}), not an AWS API response"


def _check_endpoint_variables() -> None:
    """AWS_ENDPOINT_URL and its per-service forms must be URLs; botocore would only say
    ValueError, with a traceback, on the first client."""
    for key, value in sorted(os.environ.items()):
        if key != ENDPOINT_ENV and not key.startswith(f"{ENDPOINT_ENV}_"):
            continue
        if not (is_valid_endpoint_url(value) or is_valid_ipv6_endpoint_url(value)):
            raise LaunchlabError(
                f"{key}={value!r} is not a URL: set it to http(s)://HOST[:PORT] "
                "(e.g. http://127.0.0.1:5000 for a moto server) or unset it to use AWS"
            )


def open_sandbox() -> Sandbox:
    """The caller's session (AWS_PROFILE, AWS_REGION, ...), refused early without a region,
    or with one AWS has never heard of (a typo would otherwise surface as a DNS error)."""
    # The CDK CLI deploys to AWS_REGION first; botocore reads only AWS_DEFAULT_REGION and the
    # config file. Take the CLI's order, so both always look at the same region.
    _check_endpoint_variables()
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
    if region not in known and not os.environ.get(ENDPOINT_ENV):
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
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        profile = str(error.kwargs.get("profile", "?"))
        return (
            f"no AWS profile named {profile!r} (AWS_PROFILE): set AWS_PROFILE to one in "
            f"~/.aws/config, or create it with `aws configure --profile {profile}`"
        )
    if isinstance(error, botocore.exceptions.NoRegionError):
        return "no AWS region set: export AWS_REGION=us-east-1 or run `aws configure`"
    if isinstance(error, botocore.exceptions.ReadTimeoutError):
        return (
            f"{error.kwargs.get('endpoint_url', 'AWS')} accepted the connection but did not "
            f"answer within {READ_TIMEOUT_S} s ({ATTEMPTS} tries): {_fix_endpoint()}"
        )
    if isinstance(error, botocore.exceptions.ConnectionClosedError):
        return (
            f"{error.kwargs.get('endpoint_url', 'AWS')} closed the connection without an "
            f"answer ({ATTEMPTS} tries): {_fix_endpoint()}"
        )
    if isinstance(error, NotAws):
        return f"{error}: {_fix_endpoint()}"
    if isinstance(error, botocore.parsers.ResponseParserError):
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return (
            f"the endpoint answered something that is not an AWS response ({first[:80]}): "
            f"{_fix_endpoint()}"
        )
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
            return (
                f"stack {stack} is not deployed{where}: run `.venv/bin/launchlab up` "
                "(or set AWS_REGION)"
            )
        if code in _BAD_CREDENTIALS:
            return (
                f"AWS rejected the credentials ({code}): refresh them "
                "(`aws sso login` or `aws configure`) and check AWS_PROFILE"
            )
        if code in DENIED:
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


# ResponseParserError is not a BotoCoreError: a non-AWS answer botocore cannot parse.
_AWS_FAILURES = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    botocore.parsers.ResponseParserError,
)


@contextmanager
def aws_errors(region: str | None = None) -> Iterator[None]:
    try:
        yield
    except _AWS_FAILURES as error:
        raise LaunchlabError(describe(error, region)) from None


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
            "fix it in the CloudFormation console, then run `.venv/bin/launchlab up`"
        )
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def require(outputs: Mapping[str, str], stack_name: str, *keys: str) -> list[str]:
    missing = [key for key in keys if not outputs.get(key)]
    if missing:
        raise LaunchlabError(
            f"stack {stack_name} has no output {', '.join(missing)}: it was deployed from an "
            "older launchlab; run `.venv/bin/launchlab up` to update it"
        )
    return [outputs[key] for key in keys]
