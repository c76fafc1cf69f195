"""ECS on EC2's capacity over its whole life: a destroy that never waits for the draining
hook, an instance-type switch across CPU architectures, and the CPU-credit mode.

The teardown's handler runs for real against moto in server mode (127.0.0.1), and answers
CloudFormation on a local HTTP server standing in for the pre-signed response URL.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

from launchlab.assembly import Assembly
from launchlab.report.cost import Assumptions, estimate
from launchlab.report.inventory import read_inventory
from launchlab.report.prices import load_table
from launchlab.report.profile import TrafficProfile
from stacks import names
from stacks.constructs.asg_teardown import RESOURCE_TYPE
from stacks.constructs.handlers import asg_teardown_handler as handler_module
from tests import moto_server as fixtures
from tests.conftest import HASH_64, Synthesized, _shared, cdk_context
from tests.moto_server import MotoServer, an_image

aws = fixtures.aws
moto_server = fixtures.moto_server

GRAVITON_CONTEXT = {"ec2InstanceType": "t4g.small", "ec2CpuCredits": "unlimited"}
DRAINING_HOOK = "ecs-managed-draining-termination-hook"


@pytest.fixture(scope="session")
def graviton(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Only the instance type switched to Graviton (t3 -> t4g), images built from source, and
    unlimited CPU credits: what a user gets from -c ec2InstanceType=t4g.small."""
    return _shared(tmp_path_factory, "cdk.out.graviton", cdk_context(**GRAVITON_CONTEXT))


def _resources(synth: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return synth.resources(names.ECS_EC2_STACK, kind)


# --- destroy --------------------------------------------------------------------------------


@pytest.mark.slow
def test_stack_delete_force_deletes_the_group_after_the_associations(synth: Synthesized) -> None:
    resources = synth.template(names.ECS_EC2_STACK)["Resources"]
    (group_id,) = _resources(synth, "AWS::AutoScaling::AutoScalingGroup")
    ((teardown_id, teardown),) = _resources(synth, RESOURCE_TYPE).items()
    assert teardown["Properties"]["AutoScalingGroupName"] == {"Ref": group_id}
    # CloudFormation deletes dependents first: services, then the associations, then the
    # teardown (the group is force-deleted), then the capacity provider and the group.
    (association,) = _resources(synth, "AWS::ECS::ClusterCapacityProviderAssociations").values()
    assert teardown_id in association["DependsOn"]
    (service,) = _resources(synth, "AWS::ECS::Service").values()
    assert teardown_id not in service.get("DependsOn", [])  # only through the associations
    # The handler answers within CloudFormation's wait for it.
    function_id = teardown["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    function = resources[function_id]["Properties"]
    assert function["Timeout"] < int(teardown["Properties"]["ServiceTimeout"]) <= 3600
    assert "ForceDelete=True" in function["Code"]["ZipFile"]
    assert function["Runtime"].startswith("python3.")
    # Its logs go to a group the stack owns, kept 30 days, deleted with the stack.
    log_group = resources[function["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["DeletionPolicy"] == "Delete"
    assert log_group["Properties"]["RetentionInDays"] == 30
    # Its role may delete this group and no other, and read only this stack.
    role_id = function["Role"]["Fn::GetAtt"][0]
    allowed = {
        action: statement["Resource"]
        for policy in _resources(synth, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert set(allowed) == {
        "autoscaling:DeleteAutoScalingGroup",
        "autoscaling:DescribeAutoScalingGroups",
        "cloudformation:DescribeStacks",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert allowed["autoscaling:DeleteAutoScalingGroup"]["Fn::Join"][1][-1] == {"Ref": group_id}
    assert allowed["cloudformation:DescribeStacks"] == {"Ref": "AWS::StackId"}


class _ResponseURL:
    """CloudFormation's pre-signed response URL, on 127.0.0.1: keeps each body PUT to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/response?signed"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def response_url() -> Iterator[_ResponseURL]:
    server = _ResponseURL()
    yield server
    server.close()


class _Context:
    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def _group_with_draining_hook(name: str) -> None:
    """An Auto Scaling group with one instance and ECS's draining hook, as ECS leaves it."""
    ec2 = boto3.client("ec2")
    image = an_image()
    ec2.create_launch_template(
        LaunchTemplateName=f"{name}-template",
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.small"},
    )
    autoscaling = boto3.client("autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateName": f"{name}-template", "Version": "$Latest"},
        MinSize=1,
        MaxSize=2,
        AvailabilityZones=["us-east-1a"],
    )
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName=name,
        LifecycleHookName=DRAINING_HOOK,
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout=3600,
    )


def _stack(status: str) -> str:
    """A CloudFormation stack in moto, left in ``status`` (CREATE_COMPLETE or DELETE_COMPLETE)."""
    cloudformation = boto3.client("cloudformation")
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    stack_id = cloudformation.create_stack(
        StackName=names.ECS_EC2_STACK, TemplateBody=json.dumps(template)
    )["StackId"]
    if status.startswith("DELETE_"):
        cloudformation.delete_stack(StackName=stack_id)
    return str(stack_id)


def _event(request_type: str, stack_id: str, group: str, url: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": stack_id,
        "RequestId": "request-1",
        "LogicalResourceId": "AsgTeardownAF8951BC",
        "PhysicalResourceId": group,
        "ResourceType": RESOURCE_TYPE,
        "ResourceProperties": {"ServiceToken": "arn", "AutoScalingGroupName": group},
    }


def _groups() -> list[str]:
    found = boto3.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    return [group["AutoScalingGroupName"] for group in found]


@pytest.mark.slow
def test_handler_force_deletes_the_group_when_the_stack_goes(
    aws: MotoServer, response_url: _ResponseURL
) -> None:
    _group_with_draining_hook("launchlab-instances")
    stack_id = _stack("DELETE_COMPLETE")

    handler_module.handler(
        _event("Delete", stack_id, "launchlab-instances", response_url.url), _Context(60)
    )

    assert _groups() == []
    (body,) = response_url.bodies
    assert body["Status"] == "SUCCESS"
    assert body["Reason"] == "force-deleted launchlab-instances"
    assert body["PhysicalResourceId"] == "launchlab-instances"
    assert (body["StackId"], body["RequestId"]) == (stack_id, "request-1")

    # A retried delete finds nothing left and still succeeds.
    handler_module.handler(
        _event("Delete", stack_id, "launchlab-instances", response_url.url), _Context(60)
    )
    assert response_url.bodies[-1]["Reason"] == "launchlab-instances is already gone"


@pytest.mark.slow
@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_handler_leaves_the_group_alone_unless_the_stack_goes(
    aws: MotoServer, response_url: _ResponseURL, request_type: str
) -> None:
    """A Delete while the stack lives (this resource replaced or removed in an update) must
    not take the live instances with it; Create and Update do nothing."""
    _group_with_draining_hook("launchlab-instances")
    stack_id = _stack("CREATE_COMPLETE")

    handler_module.handler(
        _event(request_type, stack_id, "launchlab-instances", response_url.url), _Context(60)
    )

    assert _groups() == ["launchlab-instances"]
    (body,) = response_url.bodies
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "launchlab-instances"


@pytest.mark.slow
def test_handler_never_fails_a_delete(aws: MotoServer, response_url: _ResponseURL) -> None:
    """An error (here: a stack CloudFormation does not know) is reported, and the delete goes
    on: CloudFormation's own delete of the group follows, as without the teardown."""
    _group_with_draining_hook("launchlab-instances")
    missing = "arn:aws:cloudformation:us-east-1:123456789012:stack/gone/0"

    handler_module.handler(
        _event("Delete", missing, "launchlab-instances", response_url.url), _Context(60)
    )

    (body,) = response_url.bodies
    assert body["Status"] == "SUCCESS"
    assert body["Reason"].startswith("force delete of launchlab-instances failed: ")
    assert _groups() == ["launchlab-instances"]


# --- instance type and architecture ---------------------------------------------------------


def _task_definition(synth: Synthesized) -> dict[str, Any]:
    return synth.only(names.ECS_EC2_STACK, "AWS::ECS::TaskDefinition")["Properties"]


def test_tasks_are_pinned_to_the_instances_architecture(synth: Synthesized) -> None:
    task_definition = _task_definition(synth)
    assert task_definition["RuntimePlatform"] == {
        "CpuArchitecture": "X86_64",
        "OperatingSystemFamily": "LINUX",
    }
    assert task_definition["PlacementConstraints"] == [
        {"Type": "memberOf", "Expression": "attribute:ecs.cpu-architecture == x86_64"}
    ]


@pytest.mark.slow
def test_switching_t3_to_t4g_makes_everything_arm64(
    synth: Synthesized, graviton: Synthesized
) -> None:
    # The AMI parameter, the task definition and the image build all follow the instance type.
    data = graviton.only(names.ECS_EC2_STACK, "AWS::EC2::LaunchTemplate")["Properties"][
        "LaunchTemplateData"
    ]
    assert data["InstanceType"] == "t4g.small"
    parameter = graviton.template(names.ECS_EC2_STACK)["Parameters"][data["ImageId"]["Ref"]]
    assert parameter["Default"] == (
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
    )
    task_definition = _task_definition(graviton)
    assert task_definition["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    assert task_definition["PlacementConstraints"] == [
        {"Type": "memberOf", "Expression": "attribute:ecs.cpu-architecture == arm64"}
    ]
    (tag,) = HASH_64.findall(json.dumps(task_definition["ContainerDefinitions"][0]["Image"]))
    assets = json.loads((graviton.outdir / f"{names.REGISTRY_STACK}.assets.json").read_text())
    platforms = {
        image["source"]["platform"]
        for asset_hash, image in assets["dockerImages"].items()
        if asset_hash == tag
    }
    assert platforms == {"linux/arm64"}
    # The switch is an update of the same group: the instances are replaced one at a time,
    # one kept in service, rather than left running the old type.
    for synthesized in (synth, graviton):
        group = synthesized.only(names.ECS_EC2_STACK, "AWS::AutoScaling::AutoScalingGroup")
        assert group["UpdatePolicy"]["AutoScalingRollingUpdate"] == {
            "MaxBatchSize": 1,
            "MinInstancesInService": 1,
            "SuspendProcesses": [
                "HealthCheck",
                "ReplaceUnhealthy",
                "AZRebalance",
                "AlarmNotification",
                "ScheduledActions",
                "InstanceRefresh",
            ],
        }
    old = synth.only(names.ECS_EC2_STACK, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    new = graviton.only(names.ECS_EC2_STACK, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    assert old["LaunchTemplate"] == new["LaunchTemplate"]  # same template, a new version


# --- CPU credits ----------------------------------------------------------------------------


def _credits(synth: Synthesized) -> Any:
    data = synth.only(names.ECS_EC2_STACK, "AWS::EC2::LaunchTemplate")["Properties"][
        "LaunchTemplateData"
    ]
    return data.get("CreditSpecification")


@pytest.mark.slow
def test_burstable_instances_run_standard_credits_unless_asked(
    synth: Synthesized, graviton: Synthesized
) -> None:
    assert _credits(synth) == {"CpuCredits": "standard"}
    assert _credits(graviton) == {"CpuCredits": "unlimited"}


def _ec2_estimate(synth: Synthesized, requests_per_month: float) -> Any:
    inventory = read_inventory(Assembly(outdir=synth.outdir, templates=synth.templates))
    profile = TrafficProfile("busy", requests_per_month, avg_duration_ms=100, payload_kb=5)
    prices = load_table().region("us-east-1")
    return inventory, estimate(inventory, "ecs-ec2", prices, profile, Assumptions())


@pytest.mark.slow
def test_the_report_prices_surplus_credits_read_from_the_template(
    synth: Synthesized, graviton: Synthesized
) -> None:
    """The credit mode comes from the synthesized launch template, never from cdk.json: the
    default synth bills no credits; the unlimited one prices the surplus and says why."""
    inventory, standard = _ec2_estimate(synth, 1_000_000_000)
    assert inventory.launch_types["ecs-ec2"].instances.cpu_credits == "standard"
    assert [i for i in standard.items if i.kind == "EC2 CPU credits"] == []
    assert not any("CPU-credit" in warning for warning in standard.warnings)

    inventory, unlimited = _ec2_estimate(graviton, 1_000_000_000)
    assert inventory.launch_types["ecs-ec2"].instances.cpu_credits == "unlimited"
    (credits,) = [item for item in unlimited.items if item.kind == "EC2 CPU credits"]
    # 1 G requests x 100 ms x 0.25 CPU share = 6944 vCPU-hours of CPU a month; the
    # instances' baseline covers 20% of each of 2 vCPUs for every instance-hour.
    instance_hours = Decimal(str(unlimited.sizing["instance_hours"]))
    used = Decimal(1_000_000_000) * Decimal("0.1") * Decimal("0.25") / 3600
    surplus = used - instance_hours * 2 * Decimal("0.2")
    assert surplus > 0
    assert abs(credits.quantity - surplus) < Decimal("0.01")
    assert credits.unit == "vCPU-hour"
    assert credits.price is not None and credits.price.key == "ec2.cpu_credits.arm64"
    assert abs(credits.usd - credits.quantity * Decimal("0.04")) < Decimal("0.01")
    assert any(
        "t4g.small runs in unlimited CPU-credit mode" in warning for warning in unlimited.warnings
    )
    # A quiet month stays within the baseline: the mode is named, nothing is billed.
    _, quiet = _ec2_estimate(graviton, 1_000_000)
    (quiet_credits,) = [item for item in quiet.items if item.kind == "EC2 CPU credits"]
    assert quiet_credits.quantity == 0
