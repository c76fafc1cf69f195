"""Check that an endpoint serves the launchlab contract and runs where it claims to.

The same checks serve `launchlab demo` (the apps on 127.0.0.1) and `launchlab verify` (the
deployed endpoints): health, identity and launch type, a compute result checked against a
digest computed here, an echo round trip, two bad requests that must get the contract's JSON
error, and health again afterwards, so a bad request that kills the process is caught.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import httpx

from launchlab import tls

COMPUTE_BODY = {"payload": "launchlab verify", "rounds": 1000}


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class EndpointReport:
    label: str
    url: str
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


def iterated_sha256(payload: str, rounds: int) -> str:
    """The contract's /compute digest: h0 = sha256(payload), then `rounds` more hashes."""
    digest = hashlib.sha256(payload.encode()).digest()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def verify_endpoint(
    label: str, url: str, *, expected_launch_type: str, timeout: float = 10.0
) -> EndpointReport:
    """Run every check against ``url``; a check that cannot connect fails, it never raises."""
    checks: list[Check] = []
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout, verify=tls.context()) as client:

        def check(name: str, method: str, path: str, expect: Any, **kwargs: Any) -> None:
            try:
                response = client.request(method, path, **kwargs)
                checks.append(expect(name, response))
            except httpx.HTTPError as error:
                checks.append(Check(name, False, f"{method} {path}: {type(error).__name__}"))

        check("health", "GET", "/health", _health)
        check("identity", "GET", "/", lambda n, r: _identity(n, r, expected_launch_type))
        check("compute", "POST", "/compute", _compute, json=COMPUTE_BODY)
        check("echo", "POST", "/echo", _echo, json={"message": "hello", "tags": ["verify"]})
        check(
            "malformed JSON gets 400",
            "POST",
            "/echo",
            lambda n, r: _error(n, r, 400, "invalid_json"),
            content="{not json",
            headers={"content-type": "application/json"},
        )
        check(
            "unknown route gets 404",
            "GET",
            "/no-such-route",
            lambda n, r: _error(n, r, 404, "not_found"),
        )
        check("still serving", "GET", "/health", _health)
    return EndpointReport(label=label, url=url, checks=checks)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _health(name: str, response: httpx.Response) -> Check:
    ok = response.status_code == 200 and _json(response) == {"status": "ok"}
    return Check(name, ok, f"{response.status_code} {response.text[:80]}")


def _identity(name: str, response: httpx.Response, expected: str) -> Check:
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict):
        return Check(name, False, f"{response.status_code} {response.text[:80]}")
    launch_type = body.get("launch_type")
    fields = {"app", "runtime", "version", "launch_type", "instance_id", "cold"} <= set(body)
    ok = fields and launch_type == expected and isinstance(body.get("cold"), bool)
    return Check(
        name,
        bool(ok),
        f"{body.get('app')} on {body.get('runtime')}, launch type {launch_type} "
        f"(expected {expected}), instance {body.get('instance_id')}",
    )


def _compute(name: str, response: httpx.Response) -> Check:
    body = _json(response)
    expected = iterated_sha256(COMPUTE_BODY["payload"], COMPUTE_BODY["rounds"])  # type: ignore[arg-type]
    ok = response.status_code == 200 and isinstance(body, dict) and body.get("digest") == expected
    return Check(name, ok, f"{response.status_code} digest {'matches' if ok else 'differs'}")


def _echo(name: str, response: httpx.Response) -> Check:
    body = _json(response)
    ok = (
        response.status_code == 200
        and isinstance(body, dict)
        and body.get("message") == "hello"
        and body.get("tags") == ["verify"]
        and "received_at" in body
    )
    return Check(name, ok, f"{response.status_code}")


def _error(name: str, response: httpx.Response, status: int, code: str) -> Check:
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    ok = (
        response.status_code == status
        and isinstance(error, dict)
        and error.get("status") == status
        and error.get("code") == code
        and isinstance(error.get("message"), str)
    )
    return Check(name, ok, f"{response.status_code} {response.text[:80]}")
