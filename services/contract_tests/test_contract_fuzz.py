"""Contract fuzzing: schemathesis drives services/openapi.yaml against node-app, python-app and
the Lambda handler behind its Function URL shim, each started on 127.0.0.1 by this module.

Every operation gets schemathesis's coverage cases (boundary values, missing, extra and
wrong-typed fields, undeclared methods, other media types) and Hypothesis-generated valid and
invalid requests. Every response must pass schemathesis's checks: no 5xx; a status code, content
type, headers and body the contract documents for that operation; valid data accepted with 200,
invalid data rejected with one of the contract's 4xx; 405 with an Allow header for an undeclared
method. Bounded (fixed examples per operation, derandomized, a deadline, no example database) so
CI is cheap and repeatable. After each operation's run the process must still be serving.

schemathesis.pytest.from_fixture would give one item per target, but schemathesis 4.32.5 uses
`Function._nodeid`, which pytest 9.2 no longer has; hence a schema loaded at import, one item
per operation and target, and the base URL given to every call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import settings
from launchlab_servers import OPENAPI, Server
from schemathesis import Case

# Hypothesis examples per operation in the fuzzing phase, valid and invalid together (a GET
# with no inputs needs one). The coverage phase adds its own fixed cases whatever this is:
# 9 per GET, 38 for /compute, 48 for /echo; 126 requests per target in all.
MAX_EXAMPLES = 10
# The longest one example may take (rounds=100000 takes 80-200 ms here) before the run fails.
DEADLINE_MS = 2000

# What the contract answers. Tighter than schemathesis's defaults, which also take 401, 403,
# 404, 409, 429 and 5xx; 413 (a body over 1 MiB) is the contract's and not in the defaults.
ACCEPTED = ["200"]
REJECTED = ["400", "405", "413", "415", "422"]

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.positive_data_acceptance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.unsupported_method,
    schemathesis.checks.allow_header_conformance,
]

CONFIG = {
    "seed": 20260101,
    "request-timeout": DEADLINE_MS / 1000,
    "generation": {
        "mode": "all",  # positive and negative (invalid) data
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",  # no example database written into the repo
    },
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        # The contract has no links between operations: nothing for a stateful phase to chain.
        "stateful": {"enabled": False},
    },
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ACCEPTED},
        "negative_data_rejection": {"expected-statuses": REJECTED},
    },
}

contract = schemathesis.openapi.from_path(OPENAPI, config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture
def still_serving(server: Server) -> Iterator[None]:
    """After the operation's whole run: the process survived it and still answers."""
    yield
    assert server.alive(), server.output()
    health = server.client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json() == {"status": "ok"}


@contract.parametrize()
@settings(deadline=DEADLINE_MS)
@pytest.mark.usefixtures("still_serving")  # not an argument: it runs once, not per example
def test_contract_fuzz(case: Case, server: Server) -> None:
    response = case.call_and_validate(base_url=server.url, checks=CHECKS)
    # The schema's `servers` entry is never used: every request goes to this module's server.
    assert response.request.url.startswith(f"{server.url}/"), response.request.url
