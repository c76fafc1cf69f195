"""One syrupy snapshot per stack, asset hashes normalised.

After an intended change, update them with
    .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from stacks import launch_types, names
from tests.conftest import OPT_IN_STACKS, Synthesized, normalise


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


# The opt-in launch types' stacks, and the network and registry as all six make them (the NAT
# instance and endpoints appear only with Express or Lambda Managed Instances selected).
ALL_STACKS = (*names.SHARED_STACKS, *(spec.stack_id for spec in launch_types.REGISTRY))


@pytest.mark.parametrize(
    "stack_name",
    [s for s in ALL_STACKS if s not in names.DEFAULT_STACKS or s in names.SHARED_STACKS],
)
def test_all_launch_types_stack_snapshot(
    all_synth: Synthesized, stack_name: str, snapshot_json: SnapshotAssertion
) -> None:
    assert normalise(all_synth.template(stack_name)) == snapshot_json


@pytest.mark.parametrize("stack_name", [*names.SHARED_STACKS, *OPT_IN_STACKS])
def test_opt_in_variant_stack_snapshot(
    opt_in_variant: Synthesized, stack_name: str, snapshot_json: SnapshotAssertion
) -> None:
    """The opt-in three away from their defaults (tests/conftest.py OPT_IN_VARIANT): NAT
    gateways, HTTPS, x86 and burstable capacity, request-count scaling."""
    assert normalise(opt_in_variant.template(stack_name)) == snapshot_json
