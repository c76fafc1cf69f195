"""One syrupy snapshot per stack, asset hashes normalised.

After an intended change, update them with
    .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stacks import names
from tests.conftest import Synthesized, normalise


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_name", names.DEFAULT_STACKS)
def test_stack_snapshot(
    synth: Synthesized, stack_name: str, snapshot_json: SnapshotAssertion
) -> None:
    assert normalise(synth.template(stack_name)) == snapshot_json


@pytest.mark.parametrize("stack_name", names.DEFAULT_STACKS)
def test_variant_stack_snapshot(
    variant: Synthesized, stack_name: str, snapshot_json: SnapshotAssertion
) -> None:
    """Every option away from its default (tests/conftest.py VARIANT_CONTEXT): the HTTPS
    listener and its TLS policy, Container Insights, NAT and private subnets, the HTTP API,
    Fargate Spot on arm64 and the rest exist only in this synth."""
    assert normalise(variant.template(stack_name)) == snapshot_json
