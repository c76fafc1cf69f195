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

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from launchlab.assembly import Assembly
from launchlab.report.inventory import Inventory, LaunchType, read_inventory
from tests.conftest import Synthesized, normalise

SYNTHS = (
    "synth",
    "variant",
    "all_synth",
    "opt_in_variant",
    "egress_nat_gateway",
    "egress_endpoints",
    "team_lead",  # multi-az: instances and tasks spread across zones
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


# ---- a fork's template: what launchlab's own templates always set, left out or set otherwise ----


def _props(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def _edited(
    synthesized: Synthesized, stack: str, edit: Callable[[dict[str, Any]], None], key: str
) -> LaunchType:
    """The launch type ``key`` read from the synth with ``stack``'s template edited."""
    templates = dict(synthesized.templates)
    template = copy.deepcopy(templates[stack])
    edit(template)
    templates[stack] = template
    return read_inventory(Assembly(outdir=synthesized.outdir, templates=templates)).launch_types[
        key
    ]


def _bare(template: dict[str, Any]) -> None:
    """Every property the reader has a documented default for, left out."""
    for service in _props(template, "AWS::ECS::Service"):
        for key in ("DeploymentConfiguration", "HealthCheckGracePeriodSeconds", "DesiredCount"):
            service.pop(key, None)
    for task in _props(template, "AWS::ECS::TaskDefinition"):
        task.get("RuntimePlatform", {}).pop("CpuArchitecture", None)
        for container in task["ContainerDefinitions"]:
            container.pop("StopTimeout", None)
            container["HealthCheck"] = {"Command": container["HealthCheck"]["Command"]}
    for group in _props(template, "AWS::ElasticLoadBalancingV2::TargetGroup"):
        for key in (
            "HealthCheckIntervalSeconds",
            "HealthCheckTimeoutSeconds",
            "HealthyThresholdCount",
            "UnhealthyThresholdCount",
            "TargetGroupAttributes",
        ):
            group.pop(key, None)
    for balancer in _props(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        for key in ("Type", "Scheme", "LoadBalancerAttributes"):
            balancer.pop(key, None)
    for policy in _props(template, "AWS::ApplicationAutoScaling::ScalingPolicy"):
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        for key in ("TargetValue", "ScaleOutCooldown", "ScaleInCooldown"):
            config.pop(key, None)


def test_what_a_template_leaves_out_is_read_as_aws_documents_its_default(
    synth: Synthesized,
) -> None:
    fargate = _edited(synth, "LaunchlabFargate", _bare, "fargate")
    tasks = fargate.tasks
    assert tasks is not None and tasks.rollout is not None
    rollout = tasks.rollout
    # ECS: a rolling update at 100/200%, no circuit breaker, a 30 s stop timeout; a container
    # health check every 30 s, 3 retries, no start period, 5 s timeout.
    assert (rollout.min_healthy_percent, rollout.max_percent) == (100, 200)
    assert (rollout.circuit_breaker, rollout.rollback, rollout.stop_timeout_s) == (False, False, 30)
    assert rollout.container_health is not None
    assert dataclasses.astuple(rollout.container_health) == (30, 3, 0, 5)
    # ELB: a target group checked every 30 s, 5 s timeout, 5 healthy / 2 unhealthy, 300 s of
    # deregistration delay; an internet-facing application load balancer, 60 s idle timeout.
    assert rollout.target_group is not None
    assert dataclasses.astuple(rollout.target_group) == (30, 5, 5, 2, 300)
    [balancer] = fargate.load_balancers
    assert (balancer.public_ipv4, balancer.idle_timeout_s) == (2, 60)
    # Application Auto Scaling: no cooldowns; the task's platform x86_64, no grace period.
    assert (tasks.scaling.target, tasks.scaling.scale_out_cooldown_s) == (100.0, 0)
    assert tasks.scaling.scale_in_cooldown_s == 0
    assert (tasks.architecture, tasks.health_check_grace_s, tasks.ephemeral_gib) == (
        "x86_64",
        0,
        20,
    )


def _forked(template: dict[str, Any]) -> None:
    """A fork's choices: a log router beside the app, a tighter rollout, memory scaling, more
    disk, an internal load balancer behind a network one, a target group listed second."""
    [service] = _props(template, "AWS::ECS::Service")
    service["DeploymentConfiguration"] = {
        "MinimumHealthyPercent": 50,
        "MaximumPercent": 150,
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": False},
    }
    service["LoadBalancers"] = [
        {"ContainerName": "x", "ContainerPort": 1, "TargetGroupArn": {"Ref": "Nowhere"}},
        *service["LoadBalancers"],
    ]
    [task] = _props(template, "AWS::ECS::TaskDefinition")
    [app] = task["ContainerDefinitions"]
    app.pop("Essential", None)  # essential unless it says otherwise
    app["StopTimeout"] = 90
    app["HealthCheck"] = {**app["HealthCheck"], "Interval": 15, "Retries": 4, "Timeout": 3}
    router = {
        "Name": "log-router",
        "Image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
        "Essential": False,
        "StopTimeout": 120,
        "HealthCheck": {"Command": ["CMD", "true"], "Interval": 60, "Retries": 9},
    }
    task["ContainerDefinitions"] = [router, app]
    task["EphemeralStorage"] = {"SizeInGiB": 50}
    [policy] = _props(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"] = {
        "PredefinedMetricType": "ECSServiceAverageMemoryUtilization"
    }
    [balancer] = _props(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    balancer["Scheme"] = "internal"
    balancer["LoadBalancerAttributes"] = [
        *balancer.get("LoadBalancerAttributes", []),
        {"Key": "idle_timeout.timeout_seconds", "Value": "120"},
    ]
    resources = copy.deepcopy(template["Resources"])
    nlb = {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {"Type": "network", "Scheme": "internet-facing", "Subnets": ["a", "b"]},
    }
    template["Resources"] = {"NetworkLoadBalancer": nlb, **resources}


def test_a_forks_settings_are_read_from_its_template(synth: Synthesized) -> None:
    fargate = _edited(synth, "LaunchlabFargate", _forked, "fargate")
    tasks = fargate.tasks
    assert tasks is not None and tasks.rollout is not None
    rollout = tasks.rollout
    assert (rollout.min_healthy_percent, rollout.max_percent) == (50, 150)
    assert (rollout.circuit_breaker, rollout.rollback) == (True, False)
    # The essential container's stop timeout and health check, not the log router's.
    assert rollout.stop_timeout_s == 90
    assert rollout.container_health is not None
    assert dataclasses.astuple(rollout.container_health)[:2] == (15, 4)
    assert rollout.container_health.timeout_s == 3
    # The target group the service really registers with, past the entry that names none.
    assert rollout.target_group is not None and rollout.target_group.interval_s == 10
    assert tasks.scaling.metric == "memory" and tasks.ephemeral_gib == 50
    # Only the application load balancer is priced as one; internal: no public address.
    [balancer] = fargate.load_balancers
    assert (balancer.public_ipv4, balancer.idle_timeout_s) == (0, 120)


def _ec2_forked(template: dict[str, Any]) -> None:
    """ECS on EC2 as a fork might write it: a second, untyped data volume; containers sized by
    a soft memory reservation; a group in one subnet."""
    [launch] = _props(template, "AWS::EC2::LaunchTemplate")
    devices = launch["LaunchTemplateData"]["BlockDeviceMappings"]
    devices.append({"DeviceName": "/dev/xvdb", "Ebs": {"VolumeSize": 8}})
    [task] = _props(template, "AWS::ECS::TaskDefinition")
    [app] = task["ContainerDefinitions"]
    app.pop("Memory")
    app["MemoryReservation"] = 384
    [group] = _props(template, "AWS::AutoScaling::AutoScalingGroup")
    group.pop("VPCZoneIdentifier")


def test_a_forks_instances_are_read_from_its_template(synth: Synthesized) -> None:
    ec2 = _edited(synth, "LaunchlabEcsEc2", _ec2_forked, "ecs-ec2")
    assert ec2.instances is not None and ec2.tasks is not None
    # Both volumes are billed; one with no type is EBS's default, gp2 (priced at gp3's rate
    # with a warning).
    assert (ec2.instances.volume_gib, ec2.instances.volume_type) == (38, "gp2")
    assert (ec2.instances.zones, ec2.instances.spot_share) == (1, 0.0)
    assert (ec2.tasks.cpu_units, ec2.tasks.memory_mib) == (256, 384)


@pytest.mark.parametrize(
    ("stack", "kind", "path", "what"),
    [
        ("LaunchlabFargate", "AWS::ApplicationAutoScaling::ScalableTarget", ["MinCapacity"],
         "MinCapacity"),
        ("LaunchlabFargate", "AWS::ApplicationAutoScaling::ScalableTarget", ["MaxCapacity"],
         "MaxCapacity"),
        ("LaunchlabFargate", "AWS::ECS::Service", ["DeploymentConfiguration", "MaximumPercent"],
         "MaximumPercent"),
        ("LaunchlabFargate", "AWS::ApplicationAutoScaling::ScalingPolicy",
         ["TargetTrackingScalingPolicyConfiguration", "ScaleInCooldown"], "ScaleInCooldown"),
        ("LaunchlabFargate", "AWS::ApplicationAutoScaling::ScalingPolicy",
         ["TargetTrackingScalingPolicyConfiguration", "ScaleOutCooldown"], "ScaleOutCooldown"),
        ("LaunchlabFargate", "AWS::ECS::Service", ["HealthCheckGracePeriodSeconds"], "grace"),
    ],
)  # fmt: skip
def test_a_value_the_template_leaves_to_deploy_time_is_named_not_guessed(
    synth: Synthesized, stack: str, kind: str, path: list[str], what: str
) -> None:
    from launchlab.errors import LaunchlabError

    def unresolved(template: dict[str, Any]) -> None:
        [props] = _props(template, kind)
        for key in path[:-1]:
            props = props[key]
        props[path[-1]] = {"Ref": "SomeParameter"}

    with pytest.raises(LaunchlabError) as error:
        _edited(synth, stack, unresolved, "fargate")
    assert str(error.value) == (
        f'cannot size {what} from the template: {{"Ref": "SomeParameter"}} is not a number'
    )
