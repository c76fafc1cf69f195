"""`launchlab up`'s preflight: the vCPUs the selected launch types need of each quota, read from
the session's synthesized templates; the quota check (Service Quotas answered by a botocore
Stubber: moto 5.2.5's Service Quotas knows only the vpc service's quotas, and answers
NoSuchResourceException for ec2 and fargate); the service-linked roles, created in moto."""

from __future__ import annotations

import io
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console

from launchlab import assembly
from launchlab.aws import preflight, up
from launchlab.aws.preflight import EC2_STANDARD, FARGATE, SERVICE_LINKED_ROLES, is_standard
from launchlab.errors import LaunchlabError
from stacks import launch_types, names
from tests import moto_server as fixtures
from tests.conftest import Synthesized
from tests.moto_server import MotoServer, PartlyStubbed, calls, current_account, write_fake_cdk

aws = fixtures.aws
moto_server = fixtures.moto_server
REGION = "us-east-1"


def _table(app: assembly.Assembly) -> list[tuple[str, str, Decimal, Decimal]]:
    return [
        (need.launch_type, need.quota.code, need.kept, need.rollout)
        for need in preflight.needs(app, REGION)
    ]


def test_the_default_three_need_a_few_vcpus(synth: Synthesized) -> None:
    """At cdk.json's defaults: one t3.small kept (2 vCPUs), two during a rollout (the group's
    rolling update adds one, as two tasks at 200% do); one 0.25 vCPU Fargate task, two
    during a rollout; Lambda none."""
    assert _table(assembly.load(synth.outdir)) == [
        ("ecs-ec2", EC2_STANDARD.code, 2, 4),
        ("fargate", FARGATE.code, Decimal("0.25"), Decimal("0.5")),
    ]


def test_all_six_need_about_ten_vcpus_of_on_demand_standard_instances(
    synth: Synthesized, opt_in_synth: Synthesized
) -> None:
    """About 10 vCPUs kept for the compute itself, from the templates: ECS on EC2's t3.small
    (2), ECS Managed Instances' t4g.small (2; two tasks at 200% still fit on it), Lambda Managed
    Instances' three c7g.large (6; up to its MaxVCpuCount, 12); and 2 for the network's NAT
    instance (t4g.nano, the default egress of Lambda Managed Instances)."""
    needs = [
        *preflight.needs(assembly.load(synth.outdir), REGION),
        *preflight.needs(assembly.load(opt_in_synth.outdir), REGION),
    ]
    by_type = {n.launch_type: n for n in needs if not n.how.startswith("the network's")}
    # Lambda (the plain one) runs on no capacity of the account's: no need, no row.
    assert sorted(by_type) == sorted(key for key in launch_types.KEYS if key != "lambda")
    ec2 = [need for need in needs if need.quota == EC2_STANDARD]
    assert sum(n.kept for n in ec2) == 12
    assert sum(n.rollout for n in ec2) == 20
    nat = next(n for n in ec2 if n.how.startswith("the network's NAT instance"))
    assert (nat.launch_type, nat.kept, nat.rollout) == ("lambda-managed-instances", 2, 2)
    assert (by_type["ecs-managed-instances"].kept, by_type["ecs-managed-instances"].rollout) == (
        2,
        2,
    )
    lmi = by_type["lambda-managed-instances"]
    assert (lmi.kept, lmi.rollout) == (6, 12)
    assert lmi.how == "3 x c7g.large kept; up to 12 vCPUs, the capacity provider's MaxVCpuCount"
    express = by_type["express"]
    assert (express.quota, express.kept, express.rollout, express.estimated) == (
        FARGATE,
        Decimal("0.25"),
        Decimal("0.5"),
        True,
    )


def test_the_standard_quota_counts_the_families_its_name_lists() -> None:
    for kind in ("t3.small", "m7g.large", "c7g.large", "r7i.large", "i4i.large", "z1d.large"):
        assert is_standard(kind), kind
    for kind in ("g5.xlarge", "p5.48xlarge", "x2idn.16xlarge", "inf2.xlarge", "dl1.24xlarge",
                 "hpc7g.16xlarge", "trn1.2xlarge", "f1.2xlarge"):  # fmt: skip
        assert not is_standard(kind), kind


def test_every_launch_type_says_which_service_linked_roles_it_needs() -> None:
    assert sorted(SERVICE_LINKED_ROLES) == sorted(launch_types.KEYS)


def _offline_quotas() -> Any:
    return boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION
    ).client("service-quotas")


def _quota(quota: preflight.Quota, value: float) -> dict[str, Any]:
    return {"Quota": {"ServiceCode": quota.service, "QuotaCode": quota.code,
                      "QuotaName": quota.name, "Value": value}}  # fmt: skip


def _instance(tags: list[dict[str, str]]) -> str:
    ec2 = boto3.client("ec2")
    return str(ec2.run_instances(
        ImageId=fixtures.an_image(), MinCount=1, MaxCount=1, InstanceType="t3.small",
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}] if tags else [],
    )["Instances"][0]["InstanceId"])  # fmt: skip


def test_a_short_quota_stops_the_deploy_in_one_line_naming_what_to_request(
    aws: MotoServer, synth: Synthesized, opt_in_synth: Synthesized
) -> None:
    """A fresh account's 5 vCPUs, 2 of them used by an instance of someone else's (counted),
    one of the project's own (not counted: this deploy keeps or replaces it)."""
    _instance([{"Key": "team", "Value": "other"}])
    _instance([{"Key": names.TAG_PROJECT, "Value": names.PROJECT}])
    quotas = _offline_quotas()
    sandbox = PartlyStubbed(
        fixtures.Account(current_account(), aws.url).sandbox(), {"service-quotas": quotas}
    )
    app = assembly.load(opt_in_synth.outdir)
    out = io.StringIO()
    with Stubber(quotas) as stub:
        params = {"ServiceCode": "ec2", "QuotaCode": "L-1216C47A"}
        stub.add_response("get_service_quota", _quota(EC2_STANDARD, 5.0), params)
        params = {"ServiceCode": "fargate", "QuotaCode": "L-3032A538"}
        stub.add_response("get_service_quota", _quota(FARGATE, 6.0), params)
        with pytest.raises(LaunchlabError) as short:
            preflight.check_quotas(sandbox, app, Console(file=out, width=400))
        stub.assert_no_pending_responses()
    # ECS Managed Instances 2 + Lambda Managed Instances 6 + its NAT instance 2 kept; 2 + 12 +
    # 2 during a rollout.
    assert str(short.value) == (
        "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (L-1216C47A) is 5 "
        "vCPUs in us-east-1 (2 used by other instances) and the selection needs 10 kept, 16 "
        "during a rollout: request 18 with `aws service-quotas request-service-quota-increase "
        "--service-code ec2 --quota-code L-1216C47A --desired-value 18 --region us-east-1`, or "
        "deploy anyway with `.venv/bin/launchlab up --ignore-quotas`"
    )
    text = out.getvalue()
    assert (
        "Fargate On-Demand vCPU resource count (fargate L-3032A538): 6 vCPUs, 0 used by other "
        "instances; the selection needs 0.25 kept, 0.5 during a rollout"
    ) in text
    # With --ignore-quotas: said, and on.
    with Stubber(quotas) as stub:
        stub.add_response("get_service_quota", _quota(EC2_STANDARD, 5.0))
        stub.add_response("get_service_quota", _quota(FARGATE, 6.0))
        out = io.StringIO()
        preflight.check_quotas(sandbox, app, Console(file=out, width=400), ignore=True)
    assert "; deploying anyway (--ignore-quotas)" in out.getvalue()
    # 17 would be enough for the selection alone, not with the other instance's 2 vCPUs.
    with Stubber(quotas) as stub:
        stub.add_response("get_service_quota", _quota(EC2_STANDARD, 17.0))
        stub.add_response("get_service_quota", _quota(FARGATE, 6.0))
        with pytest.raises(LaunchlabError, match=r"is 17 vCPUs in us-east-1 \(2 used by other"):
            preflight.check_quotas(sandbox, app, Console(file=io.StringIO(), width=400))
    # Enough (18 = 2 + 16): nothing to say but the figures.
    with Stubber(quotas) as stub:
        stub.add_response("get_service_quota", _quota(EC2_STANDARD, 18.0))
        stub.add_response("get_service_quota", _quota(FARGATE, 6.0))
        preflight.check_quotas(sandbox, app, Console(file=io.StringIO(), width=400))


def test_up_stops_before_deploying_when_a_quota_is_short(
    aws: MotoServer,
    opt_in_synth: Synthesized,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outdir = tmp_path / "cdk.out"
    shutil.copytree(opt_in_synth.outdir, outdir)  # what the stand-in cdk's synth leaves
    cdk, record = write_fake_cdk(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_CDK", str(cdk))
    quotas = _offline_quotas()
    sandbox = PartlyStubbed(
        fixtures.Account(current_account(), aws.url).sandbox(), {"service-quotas": quotas}
    )
    with Stubber(quotas) as stub:
        stub.add_response("get_service_quota", _quota(EC2_STANDARD, 5.0))
        stub.add_response("get_service_quota", _quota(FARGATE, 6.0))
        with pytest.raises(LaunchlabError, match=r"^Running On-Demand Standard .* is 5 vCPUs"):
            up.up(sandbox, outdir, {}, Console(file=io.StringIO()))
    assert [call[0] for call in calls(record)] == ["synth"]  # no deploy
    iam = boto3.client("iam")
    assert iam.list_roles(PathPrefix="/aws-service-role/")["Roles"] == []  # nothing touched


def test_a_quota_that_cannot_be_read_is_a_note_not_a_stop(
    aws: MotoServer, synth: Synthesized
) -> None:
    """moto answers NoSuchResourceException for ec2's and fargate's quotas, as AWS may to
    credentials without servicequotas:GetServiceQuota (AccessDenied): said, and on."""
    out = io.StringIO()
    sandbox = fixtures.Account(current_account(), aws.url).sandbox()
    needs = preflight.check_quotas(
        sandbox, assembly.load(synth.outdir), Console(file=out, width=400)
    )
    assert len(needs) == 2
    assert (
        "note: could not read Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances "
        "(ec2 L-1216C47A): NoSuchResourceException: "
    ) in out.getvalue()
    assert "the selection needs 4 vCPUs of it during a rollout" in out.getvalue()


def test_the_service_linked_roles_of_every_launch_type_are_created_once(aws: MotoServer) -> None:
    out = io.StringIO()
    sandbox = fixtures.Account(current_account(), aws.url).sandbox()
    created = preflight.ensure_service_linked_roles(
        sandbox, Console(file=out, width=400), launch_types.KEYS
    )
    services = {role.service for roles in SERVICE_LINKED_ROLES.values() for role in roles}
    assert len(created) == len(services) == 5
    iam = boto3.client("iam")
    paths = {role["Path"] for role in iam.list_roles(PathPrefix="/aws-service-role/")["Roles"]}
    assert paths == {f"/aws-service-role/{service}/" for service in services}
    assert "which ECS Managed Instances need(s)" in out.getvalue()  # the compute role's line
    assert (
        preflight.ensure_service_linked_roles(sandbox, Console(file=out), launch_types.KEYS) == []
    )
