"""What the report reads from the templates (launchlab/report/inventory.py), whole: every field
of every launch type's inventory, for six synths that between them set every option away from
its default. A wrong key, default or comparison in the reading moves a price or a timeline
without failing the synth, so the whole inventory is pinned here, and the values that decide a
rollout, a health check and a rolling deploy are checked against the template itself.

After an intended change, update the snapshots with
    .venv/bin/python -m pytest tests/test_inventory_values.py --snapshot-update
and read the diff: each changed value is one the report now prices or times differently.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from launchlab.assembly import Assembly
from launchlab.report.inventory import Inventory, read_inventory
from tests.conftest import Synthesized, normalise

SYNTHS = (
    "synth",
    "variant",
    "all_synth",
    "opt_in_variant",
    "egress_nat_gateway",
    "egress_endpoints",
)


def _inventory(synthesized: Synthesized) -> Inventory:
    return read_inventory(Assembly(outdir=synthesized.outdir, templates=synthesized.templates))


def _plain(value: Any) -> Any:
    """The inventory as JSON has it: tuples as lists, mappings as dicts."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@pytest.mark.parametrize("name", SYNTHS)
def test_the_inventory_read_from_each_synth(
    name: str, request: pytest.FixtureRequest, snapshot: SnapshotAssertion
) -> None:
    inventory = _inventory(request.getfixturevalue(name))
    assert normalise(_plain(dataclasses.asdict(inventory))) == snapshot.use_extension(
        JSONSnapshotExtension
    )


def _services(synthesized: Synthesized) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each stack's one ECS service with a task definition: stack -> (stack, service, template)."""
    found = {}
    for stack, template in synthesized.templates.items():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::ECS::Service" and "TaskDefinition" in resource.get(
                "Properties", {}
            ):
                found[stack] = (stack, resource["Properties"], template)
    return found


@pytest.mark.parametrize("name", ["synth", "variant", "all_synth"])
def test_each_rolling_deploy_is_read_as_its_template_sets_it(
    name: str, request: pytest.FixtureRequest
) -> None:
    synthesized = request.getfixturevalue(name)
    inventory = _inventory(synthesized)
    rollouts = {
        stack: lt.tasks.rollout
        for lt in inventory.launch_types.values()
        for stack in lt.stacks
        if lt.tasks is not None and lt.tasks.rollout is not None
    }
    services = _services(synthesized)
    assert sorted(rollouts) == sorted(services)  # each ECS service, Express's aside
    for stack, (_, service, template) in services.items():
        rollout = rollouts[stack]
        config = service["DeploymentConfiguration"]
        breaker = config["DeploymentCircuitBreaker"]
        assert (rollout.min_healthy_percent, rollout.max_percent) == (
            config.get("MinimumHealthyPercent", 100),
            config.get("MaximumPercent", 200),
        ), stack
        # launchlab turns the breaker and its rollback on everywhere: both are read as True.
        assert (rollout.circuit_breaker, rollout.rollback) == (True, True), stack
        assert (breaker["Enable"], breaker["Rollback"]) == (True, True), stack
        definition = template["Resources"][service["TaskDefinition"]["Ref"]]["Properties"]
        (container,) = definition["ContainerDefinitions"]
        assert rollout.stop_timeout_s == container.get("StopTimeout", 30), stack
        check = container["HealthCheck"]
        health = rollout.container_health
        assert health is not None, stack
        assert (health.interval_s, health.retries, health.start_period_s, health.timeout_s) == (
            check.get("Interval", 30),
            check.get("Retries", 3),
            check.get("StartPeriod", 0),
            check.get("Timeout", 5),
        ), stack
        (balancer,) = service["LoadBalancers"]
        group = template["Resources"][balancer["TargetGroupArn"]["Ref"]]["Properties"]
        target = rollout.target_group
        assert target is not None, stack
        attributes = {a["Key"]: a["Value"] for a in group.get("TargetGroupAttributes", [])}
        assert target.deregistration_delay_s == int(
            attributes.get("deregistration_delay.timeout_seconds", 300)
        ), stack
        assert (
            target.interval_s,
            target.timeout_s,
            target.healthy_threshold,
            target.unhealthy_threshold,
        ) == (
            group.get("HealthCheckIntervalSeconds", 30),
            group.get("HealthCheckTimeoutSeconds", 5),
            group.get("HealthyThresholdCount", 5),
            group.get("UnhealthyThresholdCount", 2),
        ), stack
