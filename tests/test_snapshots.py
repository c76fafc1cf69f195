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
