"""Fixtures for the contract tests: servers started as real subprocesses, the OpenAPI schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from launchlab_servers import OPENAPI, TARGETS, Server, start_server
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


@pytest.fixture(scope="module", params=list(TARGETS))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Each target, started once for the module that asks (under xdist, once per worker)."""
    srv = start_server(TARGETS[request.param], tmp_path_factory.mktemp(request.param))
    yield srv
    srv.stop()


@pytest.fixture
def launch_server(tmp_path: Path) -> Iterator:
    """Factory: start a target with extra environment; its servers are killed after the test."""
    started: list[Server] = []
    log_dir = tmp_path

    def launch(name: str, **env: str) -> Server:
        server = start_server(TARGETS[name], log_dir, **env)
        started.append(server)
        return server

    yield launch
    for server in started:
        server.stop()


# ---- the contract -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def openapi() -> dict:
    return yaml.safe_load(OPENAPI.read_text())


@pytest.fixture(scope="session")
def schema(openapi: dict):
    """schema("Info").validate(instance): validate against components.schemas of openapi.yaml."""
    registry = Registry().with_resource(
        "urn:launchlab", Resource.from_contents(openapi, default_specification=DRAFT202012)
    )

    def for_name(name: str) -> OAS31Validator:
        return OAS31Validator(
            {"$ref": f"urn:launchlab#/components/schemas/{name}"},
            registry=registry,
            format_checker=OAS31Validator.FORMAT_CHECKER,
        )

    return for_name
