"""`launchlab up`'s preflight, one rule at a time, without an account: what each launch type
needs of each vCPU quota, read from hand-made templates as the synthesized ones write it (a
service's MaximumPercent, an Auto Scaling group's rolling update, a capacity provider's
MaxVCpuCount), and which instances already running count against the standard quota.

EC2 and IAM are botocore clients answered by a Stubber (no network): it checks each request
against the service model, which is how the scan's `IncludeManagedResources=True` is seen to
be sent (moto accepts the parameter and ignores it: it has no managed instances), and it answers
what AWS documents for instances moto cannot make (Spot, scheduled, CpuOptions)."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal
from typing import Any

import pytest
from botocore.stub import Stubber
from rich.console import Console

from launchlab import assembly
from launchlab.aws import preflight
from launchlab.aws.preflight import EC2_STANDARD, FARGATE, FARGATE_SPOT, Need
from launchlab.errors import LaunchlabError
from launchlab.report.inventory import Instances, LaunchType, ManagedFunction, Scaling, Tasks
from stacks import names
from tests.conftest import Synthesized
from tests.moto_server import OfflineSandbox as _Sandbox
from tests.moto_server import offline_client

REGION = "us-east-1"
TASK = Tasks(256, 512, "x86_64", False, 1, 4, False, 20, Scaling("cpu", 60, 60), 60)


def _service(maximum_percent: int | None = None) -> dict[str, Any]:
    config = {} if maximum_percent is None else {"MaximumPercent": maximum_percent}
    return {"Type": "AWS::ECS::Service", "Properties": {"DeploymentConfiguration": config}}


def _template(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {f"R{index}": resource for index, resource in enumerate(resources)}}


def _group(max_batch: int | None) -> dict[str, Any]:
    rolling = {} if max_batch is None else {"MaxBatchSize": max_batch}
    return {
        "Type": "AWS::AutoScaling::AutoScalingGroup",
        "UpdatePolicy": {"AutoScalingRollingUpdate": rolling or {"MinInstancesInService": 1}},
    }


def _ec2(kind: str = "t3.small", max_count: int = 4) -> LaunchType:
    instances = Instances(kind, 1, max_count, 30, "gp3", False)
    return LaunchType("ecs-ec2", ("E",), 1, False, instances=instances, tasks=TASK)


def _sizing(instances: int, tasks: int, per: int) -> dict[str, object]:
    return {
        "instances_by_level": [instances],
        "tasks_by_level": [tasks],
        "tasks_per_instance": per,
    }


def test_an_ecs_service_rolls_out_at_its_maximum_percent() -> None:
    """Three tasks kept, two to a t3.small (2 vCPUs): two instances; at 150% a rollout runs
    five tasks (4.5 rounded up): three instances; at the default 200%, six: three too; at
    300%, nine: five."""
    unit = _ec2(max_count=10)
    template = _template({"Type": "AWS::ECS::Cluster"}, _service(150))
    [need] = preflight._need(unit, _sizing(2, 3, 2), template)
    assert need == Need(
        "ecs-ec2", EC2_STANDARD, Decimal(4), Decimal(6),
        "2 x t3.small kept, 3 during a rollout (5 task(s) at 150%, 2 per instance)",
    )  # fmt: skip
    [need] = preflight._need(unit, _sizing(2, 3, 2), _template(_service(300)))
    assert (need.rollout, need.how) == (
        Decimal(10),
        "2 x t3.small kept, 5 during a rollout (9 task(s) at 300%, 2 per instance)",
    )
    # A service without a deployment configuration: ECS's default, 200%.
    bare = {"Type": "AWS::ECS::Service", "Properties": {}}
    [need] = preflight._need(unit, _sizing(2, 3, 2), _template(bare))
    assert need.how == "2 x t3.small kept, 3 during a rollout (6 task(s) at 200%, 2 per instance)"
    assert not need.estimated


def test_a_rolling_update_adds_its_batch_up_to_the_groups_maximum() -> None:
    unit = _ec2(max_count=4)
    # One instance kept, one task on it; the rolling update adds two instances: three.
    [need] = preflight._need(unit, _sizing(1, 1, 1), _template(_service(), _group(2)))
    assert (need.kept, need.rollout) == (Decimal(2), Decimal(6))
    assert need.how == (
        "1 x t3.small kept, 3 during a rollout (2 task(s) at 200%, 1 per instance; a rolling "
        "update adds 2)"
    )
    # A batch unsaid is one instance; the group's maximum caps what the batch adds.
    [need] = preflight._need(unit, _sizing(1, 1, 2), _template(_service(), _group(None)))
    assert need.rollout == Decimal(4)
    [need] = preflight._need(_ec2(max_count=2), _sizing(1, 1, 2), _template(_group(5)))
    assert need.rollout == Decimal(4)
    # The tasks of a rollout can need more instances than the batch: two tasks at 300% on
    # one a piece, six instances, capped at the group's four.
    [need] = preflight._need(unit, _sizing(2, 2, 1), _template(_service(300), _group(1)))
    assert need.rollout == Decimal(8)


def test_fargate_tasks_count_against_their_own_quota() -> None:
    unit = LaunchType("fargate", ("F",), 1, False, tasks=TASK)
    [need] = preflight._need(unit, {"tasks_by_level": [3]}, _template(_service(150)))
    assert need == Need(
        "fargate", FARGATE, Decimal("0.75"), Decimal("1.25"),
        "3 task(s) of 0.25 vCPU kept, 5 during a rollout at 150%",
    )  # fmt: skip
    spot = LaunchType("fargate", ("F",), 1, False, tasks=Tasks(**{**TASK.__dict__, "spot": True}))
    [need] = preflight._need(spot, {"tasks_by_level": [1]}, _template(_service()))
    assert need.quota == FARGATE_SPOT
    # No ECS service in the template (Express Mode's is ECS's own): 200% assumed, and said.
    [need] = preflight._need(unit, {"tasks_by_level": [2]}, _template())
    assert (need.rollout, need.estimated) == (Decimal(1), True)
    assert need.how == (
        "2 task(s) of 0.25 vCPU kept, 4 during a rollout at 200% (assumed: the template states "
        "no deployment configuration)"
    )


def test_lambda_managed_instances_may_grow_to_the_providers_max_vcpu_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    function = ManagedFunction(2048, "arm64", 30, "c7g.large", 3, 40, 8, 2)
    unit = LaunchType("lambda-managed-instances", ("M",), 1, True, managed_function=function)
    provider = {
        "Type": "AWS::Lambda::CapacityProvider",
        "Properties": {"CapacityProviderScalingConfig": {"MaxVCpuCount": 30}},
    }
    [need] = preflight._need(unit, {"instances_by_level": [3]}, _template(provider))
    assert need == Need(
        "lambda-managed-instances", EC2_STANDARD, Decimal(6), Decimal(30),
        "3 x c7g.large kept; up to 30 vCPUs, the capacity provider's MaxVCpuCount",
    )  # fmt: skip
    # No MaxVCpuCount, or one below what is kept: what is kept.
    unbounded = {"Type": "AWS::Lambda::CapacityProvider", "Properties": {}}
    [need] = preflight._need(unit, {"instances_by_level": [3]}, _template(unbounded))
    assert (need.rollout, need.how) == (
        Decimal(6),
        "3 x c7g.large kept; up to 6 vCPUs, the capacity provider's MaxVCpuCount",
    )
    provider["Properties"]["CapacityProviderScalingConfig"]["MaxVCpuCount"] = 4
    [need] = preflight._need(unit, {"instances_by_level": [3]}, _template(provider))
    assert need.rollout == Decimal(6)
    # A family the standard quota does not count (none is in the instance facts today) is
    # named, not checked.
    monkeypatch.setattr(preflight, "_vcpus", lambda kind: 4)
    gpu = LaunchType(
        "lambda-managed-instances", ("M",), 1, True,
        managed_function=ManagedFunction(2048, "x86_64", 30, "g5.xlarge", 1, 4, 8, 2),
    )  # fmt: skip
    [need] = preflight._need(gpu, {"instances_by_level": [1]}, _template())
    assert need.quota == preflight.Quota("ec2", "", "the quota of g5.xlarge's family (not checked)")


def test_vcpu_counts_are_written_as_people_write_them() -> None:
    assert [preflight._n(v) for v in (Decimal("5.0"), Decimal("0.250"), Decimal(10), 3)] == [
        "5", "0.25", "10", "3",
    ]  # fmt: skip


_ids = itertools.count(1)


def _instance(kind: str, **extra: Any) -> dict[str, Any]:
    return {"InstanceId": f"i-{next(_ids):017x}", "InstanceType": kind, **extra}


def test_only_others_on_demand_standard_instances_use_the_quota() -> None:
    """Counted: someone else's t3.small (2 vCPUs, from the facts), a c7i.xlarge and an
    m7g.large by their CpuOptions (2 cores of 2 threads: 4; 3 cores, one thread each unless
    said: 3). Not counted: the project's own, Spot and scheduled instances, a GPU type, a type
    the facts lack and no CpuOptions name. Managed instances (ECS's, Lambda's) are asked for
    too: they run on the same quota."""
    ec2 = offline_client("ec2")
    project = [{"Key": names.TAG_PROJECT, "Value": names.PROJECT}]
    page = {
        "Reservations": [
            {"Instances": [_instance("t3.small", Tags=[{"Key": "team", "Value": "a"}])]},
            {"Instances": [
                _instance("c7i.xlarge", CpuOptions={"CoreCount": 2, "ThreadsPerCore": 2}),
                _instance("m7g.large", CpuOptions={"CoreCount": 3}),
                _instance("t3.large", Tags=project),
                _instance("t3.large", InstanceLifecycle="spot"),
                _instance("t3.large", InstanceLifecycle="scheduled"),
                _instance("g5.xlarge"),
                _instance("t3.unknown"),
            ]},
        ]
    }  # fmt: skip
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_instances",
            page,
            {
                "Filters": [{"Name": "instance-state-name", "Values": ["pending", "running"]}],
                "IncludeManagedResources": True,
            },
        )
        assert preflight._used_by_others(_Sandbox({"ec2": ec2})) == Decimal(2 + 4 + 3)
        stub.assert_no_pending_responses()


def _quota(quota: preflight.Quota, value: float) -> dict[str, Any]:
    return {"Quota": {"ServiceCode": quota.service, "QuotaCode": quota.code, "Value": value}}


def test_a_quota_aws_will_not_read_is_named_with_its_code_and_message() -> None:
    quotas = offline_client("service-quotas")
    with Stubber(quotas) as stub:
        stub.add_client_error(
            "get_service_quota", "AccessDeniedException", "not for you",
            expected_params={"ServiceCode": "fargate", "QuotaCode": "L-3032A538"},
        )  # fmt: skip
        stub.add_response("get_service_quota", _quota(FARGATE, 6.5))
        sandbox = _Sandbox({"service-quotas": quotas})
        assert preflight._quota_value(sandbox, FARGATE) == "AccessDeniedException: not for you"
        assert preflight._quota_value(sandbox, FARGATE) == Decimal("6.5")


def _cells(text: str) -> list[list[str]]:
    """The rows of a rich table as printed: its heading and body cells, stripped."""
    return [
        [cell.strip() for cell in line.strip()[1:-1].split(line.strip()[0])]
        for line in text.splitlines()
        if line.strip()[:1] in ("┃", "│")
    ]


STANDARD_LINE = (
    "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (ec2 L-1216C47A): {} "
    "vCPUs, 2 used by other instances; the selection needs 2 kept, 4 during a rollout"
)
FARGATE_LINE = (
    "Fargate On-Demand vCPU resource count (fargate L-3032A538): 6 vCPUs, 0 used by other "
    "instances; the selection needs 0.25 kept, 0.5 during a rollout"
)
SHORT = (
    "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (L-1216C47A) is 5 vCPUs "
    "in us-east-1 (2 used by other instances) and the selection needs 2 kept, 4 during a "
    "rollout: request 6 with `aws service-quotas request-service-quota-increase --service-code "
    "ec2 --quota-code L-1216C47A --desired-value 6 --region us-east-1`"
)


def _check(
    app: assembly.Assembly, standard: float, *, terminal: bool = False, **options: bool
) -> str:
    """check_quotas with the standard quota at ``standard`` vCPUs, Fargate's at 6, and one
    t3.small of someone else's running; printed to a log, or to a colour ``terminal`` narrower
    than its lines."""
    ec2, quotas = offline_client("ec2"), offline_client("service-quotas")
    other = {"Reservations": [{"Instances": [_instance("t3.small")]}]}
    out = io.StringIO()
    with Stubber(ec2) as ec2_stub, Stubber(quotas) as quota_stub:
        quota_stub.add_response("get_service_quota", _quota(EC2_STANDARD, standard))
        quota_stub.add_response("get_service_quota", _quota(FARGATE, 6.0))
        ec2_stub.add_response("describe_instances", other)
        sandbox = _Sandbox({"ec2": ec2, "service-quotas": quotas})
        try:
            console = (
                Console(file=out, width=120, force_terminal=True, color_system="standard")
                if terminal
                else Console(file=out, width=200)
            )
            preflight.check_quotas(sandbox, app, console, **options)
        finally:
            print(out.getvalue())
        quota_stub.assert_no_pending_responses()
    return out.getvalue()


def test_the_quota_check_prints_each_need_and_each_quota(synth: Synthesized) -> None:
    app = assembly.load(synth.outdir)
    text = _check(app, 10.0)
    assert text.splitlines()[0].strip() == "vCPUs the selected launch types need in us-east-1"
    assert _cells(text) == [
        ["launch type", "quota", "kept", "rollout", "how"],
        [
            "ECS on EC2", "L-1216C47A", "2", "4",
            "1 x t3.small kept, 2 during a rollout (2 task(s) at 200%, 3 per instance; a "
            "rolling update adds 1)",
        ],
        [
            "ECS on Fargate", "L-3032A538", "0.25", "0.5",
            "1 task(s) of 0.25 vCPU kept, 2 during a rollout at 200%",
        ],
    ]  # fmt: skip
    assert text.splitlines()[-2:] == [STANDARD_LINE.format(10), FARGATE_LINE]
    # Exactly enough: the 2 of someone else's and the 4 of a rollout.
    assert _check(app, 6.0).splitlines()[-2:] == [STANDARD_LINE.format(6), FARGATE_LINE]


def test_a_short_quota_names_what_to_request_or_is_noted_when_ignored(
    synth: Synthesized,
) -> None:
    app = assembly.load(synth.outdir)
    with pytest.raises(LaunchlabError) as short:
        _check(app, 5.0)
    assert str(short.value) == (
        f"{SHORT}, or deploy anyway with `.venv/bin/launchlab up --ignore-quotas`"
    )
    # On a colour terminal the lines come out whole and as written (the table above is styled).
    text = _check(app, 5.0, ignore=True, terminal=True)
    assert text.splitlines()[-3:] == [
        STANDARD_LINE.format(5),
        FARGATE_LINE,
        f"note: {SHORT}; deploying anyway (--ignore-quotas)",
    ]


def test_a_rollout_figure_that_rests_on_an_assumption_is_marked(opt_in_synth: Synthesized) -> None:
    text = _check(assembly.load(opt_in_synth.outdir), 100.0, ignore=True)
    [express] = [row for row in _cells(text) if row[0] == "ECS Express Mode"]
    assert express[2:4] == ["0.25", "0.5 (est.)"]
    assert [row[3] for row in _cells(text)[1:] if row[0] != "ECS Express Mode"] == [
        "2", "12", "2",
    ]  # fmt: skip


def _created(service: str, name: str) -> dict[str, Any]:
    return {
        "Role": {
            "Path": f"/aws-service-role/{service}/", "RoleName": name, "RoleId": "AROA" + "X" * 16,
            "Arn": f"arn:aws:iam::123456789012:role/aws-service-role/{service}/{name}",
            "CreateDate": "2026-01-01T00:00:00Z",
        }
    }  # fmt: skip


def test_each_service_linked_role_is_made_once_and_a_refusal_says_what_to_run() -> None:
    """ECS Managed Instances and Express Mode need ECS's role (made, named once for both), the
    compute role (refused: these credentials lack IAM rights, as the CDK's own roles deploy),
    ELB's (IAM's answer when it exists: InvalidInput, "has been taken") and Application Auto
    Scaling's (moto's: EntityAlreadyExists). Another failure stops `up`, naming the region."""
    iam = offline_client("iam")
    out = io.StringIO()
    with Stubber(iam) as stub:
        stub.add_response(
            "create_service_linked_role",
            _created("ecs.amazonaws.com", "AWSServiceRoleForECS"),
            {"AWSServiceName": "ecs.amazonaws.com"},
        )
        stub.add_client_error(
            "create_service_linked_role", "AccessDenied", "no iam:CreateServiceLinkedRole",
            expected_params={"AWSServiceName": "ecs-compute.amazonaws.com"},
        )  # fmt: skip
        stub.add_client_error(
            "create_service_linked_role", "InvalidInput",
            "Service role name AWSServiceRoleForElasticLoadBalancing has been taken in this "
            "account, please try a different suffix.",
        )  # fmt: skip
        stub.add_client_error("create_service_linked_role", "EntityAlreadyExists", "exists")
        created = preflight.ensure_service_linked_roles(
            _Sandbox({"iam": iam}),
            Console(file=out, width=120, force_terminal=True, color_system="standard"),
            ["ecs-managed-instances", "express", "lambda"],
        )  # fmt: skip
        stub.assert_no_pending_responses()
    assert created == ["AWSServiceRoleForECS"]
    assert out.getvalue().splitlines() == [
        "created the service-linked role AWSServiceRoleForECS, which ECS Managed Instances, ECS "
        "Express Mode need(s)",
        "note: could not create AWSServiceRoleForECSCompute (AccessDenied), which ECS Managed "
        'Instances need(s); if the deploy fails with "Unable to assume the service linked '
        'role", run `aws iam create-service-linked-role --aws-service-name '
        "ecs-compute.amazonaws.com` and `.venv/bin/launchlab up` again",
    ]
    with Stubber(iam) as stub:
        stub.add_client_error("create_service_linked_role", "Throttling", "slow down")
        with pytest.raises(LaunchlabError) as refused:
            preflight.ensure_service_linked_roles(
                _Sandbox({"iam": iam}), Console(file=io.StringIO()), ["fargate"]
            )
    assert str(refused.value) == (
        "AWS refused CreateServiceLinkedRole in us-east-1: Throttling: slow down"
    )
