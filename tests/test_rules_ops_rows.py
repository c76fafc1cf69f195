"""Each launch type's rules (launchlab/report/rules/*.py), the ops half: the row of the ops
table each writes for the six launch types at cdk.json's defaults (the session's all-six synth),
every column whole, with what the owner patches and what AWS patches; and each rule's refusal of
a template that lacks the part it prices, naming the stack and the part."""

from __future__ import annotations

import dataclasses

import pytest

from launchlab.assembly import Assembly
from launchlab.errors import LaunchlabError
from launchlab.report.cost import Assumptions, Estimate, estimate
from launchlab.report.inventory import LaunchType, Scaling, Tasks, read_inventory
from launchlab.report.ops import OpsRow, ops_rows
from launchlab.report.prices import load_table
from launchlab.report.profile import PRESETS
from stacks import launch_types
from tests.conftest import Synthesized

FARGATE_DOCS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-fargate.html"
TASKS = Tasks(256, 512, "x86_64", False, 1, 4, False, 20, Scaling("cpu", 60, 60), 60)
RUNTIME_DOCS = "https://docs.aws.amazon.com/lambda/latest/dg/runtime-management-shared.html"
# Every column but the resource count (the templates' own): launch type -> (you manage,
# scaling unit, longest request, cold starts, smallest billed unit, costs at zero traffic,
# what AWS patches, what the owner patches).
ROWS = {
    "ecs-ec2": (
        "ECS-optimized AMI (latest at deploy; redeploy or refresh instances to patch), t3.small "
        "instances 1..2 and their 30 GiB volumes, cluster capacity (managed scaling), task "
        "scaling (1..4 tasks, cpu 60%), the image",
        "a task while the instances have room; an instance (boot + ECS agent registration) "
        "when they do not (how long: the timelines)",
        "60 s (ALB idle timeout)",
        "none per request: the template keeps 1 task(s) running",
        "instance per second, 60 s minimum (Linux)",
        "EC2 instances, EBS volumes, Public IPv4, ALB hours, ECR storage",
        "nothing on the instances: the AMI, its OS and the ECS agent are yours",
        ["ECS-optimized AMI (al2023)", "base image node:24-bookworm-slim"],
    ),
    "fargate": (
        "task scaling (1..4 tasks, cpu 60%), the image and its OS packages; AWS patches the "
        "hosts (platform version LATEST)",
        "a task (capacity and ENI, image pull, health checks; how long: the timelines)",
        "60 s (ALB idle timeout)",
        "none per request: the template keeps 1 task(s) running",
        "task per second, 60 s minimum (Linux)",
        "Fargate vCPU, Fargate memory, Public IPv4, ALB hours, ECR storage",
        f"the hosts, platform version LATEST ({FARGATE_DOCS})",
        ["base image python:3.13-slim-bookworm"],
    ),
    "lambda": (
        "the image and its base-image patches, no reserved concurrency (shares the account's "
        "1,000 default quota), memory size (512 MB)",
        "one execution environment per concurrent request, in seconds; up to 1,000 more per "
        "10 s per function",
        "10 s (function timeout; Function URL allows up to 900 s)",
        "yes: the first request on each new environment waits for its init",
        "1 ms of duration, per request",
        "ECR storage",
        f"the hosts; the runtime in a container image is yours to rebuild ({RUNTIME_DOCS})",
        ["base image lambda/python:3.13"],
    ),
    "ecs-managed-instances": (
        "task scaling (1..4 tasks, cpu 60%), the image; ECS picks, launches, patches and "
        "replaces the t4g.small instances (no AMI or Auto Scaling group of yours)",
        "a task on an instance with room; ECS adds an instance when none has room (how long: "
        "the timelines)",
        "60 s (ALB idle timeout)",
        "none per request: the template keeps 1 task(s) running",
        "instance per second, 60 s minimum, plus its management fee",
        "EC2 instances, EBS volumes, Public IPv4, ECS Managed Instances management fee, ALB "
        "hours, ECR storage",
        "the instances: ECS drains and replaces each within 14-21 days of its launch "
        "(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-"
        "patching.html)",
        ["base image python:3.13-slim-bookworm"],
    ),
    "express": (
        "the image and its OS packages, task size and scaling (1..4 tasks, cpu 60%); ECS "
        "creates and runs the ALB, HTTPS certificate, security groups and alarms (outside your "
        "stack: `.venv/bin/launchlab down` looks for them after destroy)",
        "a Fargate task (ENI, image pull, health checks; how long: the timelines)",
        "60 s (ALB idle timeout)",
        "none per request: the service keeps 1 task(s) running",
        "task per second, 60 s minimum (Fargate), plus the shared ALB",
        "Fargate vCPU, Fargate memory, ALB hours, Public IPv4, Interface VPC endpoints, ECR "
        "storage",
        f"the Fargate hosts ({FARGATE_DOCS}) and the ALB, certificate and alarms",
        ["base image python:3.13-slim-bookworm"],
    ),
    "lambda-managed-instances": (
        "the code and its runtime's packages, the capacity provider (c7g.large, 3..6 "
        "environments of 2048 MB, 16 requests each); Lambda launches, patches and replaces the "
        "instances",
        "execution environment on running instances in seconds; a new instance in minutes",
        "10 s (function timeout)",
        "none per request while environments are warm (a minimum is always kept); a new "
        "environment initialises before it takes requests",
        "instance per second (3 kept), plus requests",
        "EC2 instances, Lambda Managed Instances management fee, NAT instance hours, EBS "
        "volumes, Public IPv4",
        f"the managed runtime (automatic runtime updates) and the instances ({RUNTIME_DOCS})",
        [],
    ),
}


@pytest.fixture(scope="module")
def rows(all_synth: Synthesized) -> dict[str, OpsRow]:
    inventory = read_inventory(Assembly(outdir=all_synth.outdir, templates=all_synth.templates))
    prices = load_table().region("us-east-1")
    profile, assumptions = PRESETS["steady-small-business"], Assumptions()
    at = {lt: estimate(inventory, lt, prices, profile, assumptions) for lt in ROWS}
    idle = {
        lt: estimate(inventory, lt, prices, profile.with_requests(0), assumptions) for lt in ROWS
    }
    return {row.launch_type: row for row in ops_rows(inventory, idle, at, assumptions)}


@pytest.mark.parametrize("launch_type", ROWS)
def test_each_launch_types_ops_row_whole(rows: dict[str, OpsRow], launch_type: str) -> None:
    row = rows[launch_type]
    assert row.patching is not None
    found = (
        row.you_manage, row.scaling_unit, row.max_request_duration, row.cold_starts,
        row.min_billable_unit, row.costs_at_zero_traffic, row.patching.aws,
        [patch.what for patch in row.patching.yours],
    )  # fmt: skip
    assert found == ROWS[launch_type]
    stack = launch_types.spec(launch_type).stack_id
    assert row.resources.startswith(f"{row.resources.split()[0]} in {stack} (+")
    assert set(row.timelines) >= {"scale_out_step", "deploy", "rollback", "cold_start"}


# The part each rule prices and describes first (Express's compute is priced by Fargate's rule).
PARTS = {
    "ecs-ec2": ("ECS service", "ECS service"),
    "fargate": ("ECS service", "ECS service"),
    "lambda": ("image function", "image function"),
    "ecs-managed-instances": ("ECS service", "ECS service"),
    "express": ("ECS service", "Express service"),
    "lambda-managed-instances": ("function on a capacity provider",) * 2,
}


@pytest.mark.parametrize("launch_type", PARTS)
def test_a_template_without_the_part_a_rule_prices_is_refused_by_name(launch_type: str) -> None:
    rules = launch_types.spec(launch_type).rules()
    empty = LaunchType(launch_type, ("LaunchlabX",), 1, False)
    priced_part, described_part = PARTS[launch_type]
    prices = load_table().region("us-east-1")
    with pytest.raises(LaunchlabError) as priced:
        result = Estimate(launch_type, PRESETS["idle"])
        rules.price(empty, prices, PRESETS["idle"], Assumptions(), result)
    assert str(priced.value) == f"LaunchlabX: the template has no {priced_part} to price"
    with pytest.raises(LaunchlabError) as described:
        rules.ops(empty, None)
    assert str(described.value) == f"LaunchlabX: the template has no {described_part} to price"
    # A rule that prices two parts names the second when only the first is there.
    if launch_type in ("ecs-ec2", "ecs-managed-instances"):
        second = (
            "Auto Scaling group"
            if launch_type == "ecs-ec2"
            else ("Managed Instances capacity provider")
        )
        half = dataclasses.replace(empty, tasks=TASKS)
        with pytest.raises(LaunchlabError) as priced:
            rules.price(half, prices, PRESETS["idle"], Assumptions(), result)
        assert str(priced.value) == f"LaunchlabX: the template has no {second} to price"
        with pytest.raises(LaunchlabError) as described:
            rules.ops(half, None)
        assert str(described.value) == f"LaunchlabX: the template has no {second} to price"


def test_the_variants_ops_rows_say_what_their_options_ask(variant: Synthesized) -> None:
    """Fargate partly on Spot, Lambda behind the HTTP API with reserved concurrency."""
    inventory = read_inventory(Assembly(outdir=variant.outdir, templates=variant.templates))
    prices = load_table().region("us-east-1")
    profile, assumptions = PRESETS["steady-small-business"], Assumptions()
    keys = ("fargate", "lambda")
    at = {lt: estimate(inventory, lt, prices, profile, assumptions) for lt in keys}
    rows = {row.launch_type: row for row in ops_rows(inventory, at, at, assumptions)}
    assert rows["fargate"].you_manage.endswith(
        "AWS patches the hosts (platform version LATEST); Spot interruptions (2-minute notice)"
    )
    assert rows["lambda"].you_manage == (
        "the image and its base-image patches, reserved concurrency 5, memory size (1024 MB)"
    )
    # A 20 s timeout under the HTTP API's 30 s cap.
    assert rows["lambda"].max_request_duration == "20 s (timeout 20 s, HTTP API cap 30 s)"
    capped = dataclasses.replace(
        inventory.launch_types["lambda"],
        function=dataclasses.replace(inventory.launch_types["lambda"].function, timeout_s=60),  # type: ignore[arg-type]
    )
    inventory = dataclasses.replace(inventory, launch_types={"lambda": capped})
    [row] = ops_rows(inventory, {"lambda": at["lambda"]}, {"lambda": at["lambda"]}, assumptions)
    assert row.max_request_duration == "30 s (timeout 60 s, HTTP API cap 30 s)"
