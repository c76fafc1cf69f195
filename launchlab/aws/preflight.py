"""Before `launchlab up` deploys: does the account let the selected launch types run?

What a fresh sandbox account often lacks, checked against the synthesized templates (the
report's own inventory and idle sizing; no second copy of the settings):

- vCPU quotas. EC2 instances (ECS on EC2's Auto Scaling group, ECS Managed Instances' and
  Lambda Managed Instances' capacity providers, the network's NAT instance) count against
  "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", service ec2, quota
  L-1216C47A, counted in vCPUs (AWS CLI
  service-quotas examples, get-aws-default-service-quota: its usage metric's Resource is
  vCPU, a new account's default 5 in that example:
  docs.aws.amazon.com/cli/latest/userguide/cli_service-quotas_code_examples.html); "Amazon
  ECS Managed Instances follow the Amazon EC2 quotas"
  (docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html). Fargate tasks
  (ECS on Fargate, Express Mode) count against "Fargate On-Demand vCPU resource count"
  (aws.amazon.com/blogs/containers/migrating-fargate-service-quotas-to-vcpu-based-quotas/),
  service fargate, quota L-3032A538, and Fargate Spot against L-36FBB829 (the codes as
  Service Quotas lists them; AWS's prose pages name the quotas only).
- Service-linked roles (see SERVICE_LINKED_ROLES): created when missing, as up always did for
  ECS's, because a first deploy may not wait for the service to make its own.

Each launch type's need is counted twice: kept running with no traffic (the report's idle
sizing) and during a rollout, the most a new version or a replaced instance adds (the
service's MaximumPercent, 200 by default, of the tasks; one more instance in an Auto Scaling
group's rolling update; Lambda Managed Instances up to its capacity provider's MaxVCpuCount).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import botocore.exceptions
from rich.console import Console
from rich.table import Table

from launchlab.assembly import Assembly
from launchlab.aws.costs import idle_estimates
from launchlab.aws.sandbox import DENIED, Sandbox, aws_errors
from launchlab.errors import LaunchlabError
from launchlab.report.inventory import LaunchType
from stacks import instance_types, launch_types, names


@dataclass(frozen=True)
class Quota:
    service: str
    code: str
    name: str


EC2_STANDARD = Quota(
    "ec2", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"
)
FARGATE = Quota("fargate", "L-3032A538", "Fargate On-Demand vCPU resource count")
FARGATE_SPOT = Quota("fargate", "L-36FBB829", "Fargate Spot vCPU resource count")
# The instance families EC2_STANDARD counts (its name), less the multi-letter families that
# start with one of those letters and have quotas of their own (DL, HPC, Inf, Trn, Mac).
STANDARD_FAMILIES = frozenset("acdhimrtz")
OTHER_FAMILIES = frozenset({"dl", "hpc", "inf", "trn", "mac"})
# ECS's default for a REPLICA service's maximumPercent when the template states none
# (ECS API reference, DeploymentConfiguration).
DEFAULT_MAXIMUM_PERCENT = 200


@dataclass(frozen=True)
class Need:
    """vCPUs one launch type needs of one quota."""

    launch_type: str
    quota: Quota
    kept: Decimal  # running with no traffic
    rollout: Decimal  # the most during a rollout
    how: str
    estimated: bool = False  # the rollout figure rests on an assumption, said in ``how``


def _n(value: Decimal | int) -> str:
    """A vCPU count as people write it: 5, 0.25, 10 (not 5.0, 0.250, 1E+1)."""
    return format(Decimal(value).normalize(), "f")


def is_standard(instance_type: str) -> bool:
    """Whether ``instance_type`` counts against EC2_STANDARD."""
    family = re.match(r"[a-z]+", instance_type)
    letters = family.group() if family else ""
    return letters[:1] in STANDARD_FAMILIES and letters not in OTHER_FAMILIES


def _vcpus(instance_type: str) -> int:
    return instance_types.load()[instance_type].vcpu


def _maximum_percent(template: Mapping[str, Any]) -> int | None:
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::ECS::Service":
            config = (resource.get("Properties") or {}).get("DeploymentConfiguration") or {}
            return int(config.get("MaximumPercent", DEFAULT_MAXIMUM_PERCENT))
    return None


def _rolling_batch(template: Mapping[str, Any]) -> int:
    """Instances an Auto Scaling group's rolling update adds above those in service."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::AutoScaling::AutoScalingGroup":
            rolling = (resource.get("UpdatePolicy") or {}).get("AutoScalingRollingUpdate")
            if rolling:
                return int(rolling.get("MaxBatchSize", 1))
    return 0


def _max_vcpu_count(template: Mapping[str, Any]) -> int | None:
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Lambda::CapacityProvider":
            scaling = (resource.get("Properties") or {}).get("CapacityProviderScalingConfig")
            if scaling and "MaxVCpuCount" in scaling:
                return int(scaling["MaxVCpuCount"])
    return None


def _first(sizing: Mapping[str, object], key: str) -> int:
    values = sizing[key]
    assert isinstance(values, list)
    return int(values[0])


def needs(app: Assembly, region: str) -> list[Need]:
    """What each selected launch type needs of each vCPU quota, kept and during a rollout."""
    inventory, idle = idle_estimates(app, region)
    found = []
    for key in app.launch_types:
        unit = inventory.launch_types[key]
        template = app.templates[launch_types.spec(key).stack_id]
        found.extend(_need(unit, idle[key].sizing, template))
    # The network's NAT instance, once, on the first launch type that routes through it.
    nat_instances: dict[str, tuple[str, str]] = {}
    for key in app.launch_types:
        for nat in inventory.launch_types[key].egress.nat_instances:
            nat_instances.setdefault(nat.logical_id, (key, nat.instance_type))
    for key, kind in nat_instances.values():
        vcpu = Decimal(_vcpus(kind))
        quota = EC2_STANDARD if is_standard(kind) else _other(kind)
        found.append(Need(key, quota, vcpu, vcpu, f"the network's NAT instance, 1 x {kind}"))
    return found


def _need(
    unit: LaunchType, sizing: Mapping[str, object], template: Mapping[str, Any]
) -> list[Need]:
    key = unit.launch_type
    if unit.managed_function is not None:
        kind = unit.managed_function.instance_type
        count = _first(sizing, "instances_by_level")
        kept = count * _vcpus(kind)
        ceiling = _max_vcpu_count(template) or kept
        return [
            Need(
                key, EC2_STANDARD if is_standard(kind) else _other(kind), Decimal(kept),
                Decimal(max(kept, ceiling)),
                f"{count} x {kind} kept; up to {max(kept, ceiling)} vCPUs, the capacity "
                "provider's MaxVCpuCount",
            )
        ]  # fmt: skip
    tasks = unit.tasks
    percent = _maximum_percent(template)
    estimated = percent is None
    percent = DEFAULT_MAXIMUM_PERCENT if percent is None else percent
    if unit.instances is not None and tasks is not None:
        kind = unit.instances.instance_type
        count = _first(sizing, "instances_by_level")
        per = int(str(sizing["tasks_per_instance"]))
        rollout_tasks = math.ceil(_first(sizing, "tasks_by_level") * percent / 100)
        batch = _rolling_batch(template)
        peak = max(count, math.ceil(rollout_tasks / per), count + batch)
        if batch:
            peak = min(peak, max(count, unit.instances.max_count))
        vcpu = _vcpus(kind)
        how = (
            f"{count} x {kind} kept, {peak} during a rollout ({rollout_tasks} task(s) at "
            f"{percent}%, {per} per instance"
            + (f"; a rolling update adds {batch})" if batch else ")")
        )
        return [
            Need(
                key, EC2_STANDARD if is_standard(kind) else _other(kind),
                Decimal(count * vcpu), Decimal(peak * vcpu), how,
            )
        ]  # fmt: skip
    if tasks is not None:
        count = _first(sizing, "tasks_by_level")
        task_vcpu = Decimal(tasks.cpu_units) / 1024
        rollout = math.ceil(count * percent / 100)
        assumed = " (assumed: the template states no deployment configuration)" if estimated else ""
        return [
            Need(
                key, FARGATE_SPOT if tasks.spot else FARGATE, count * task_vcpu,
                rollout * task_vcpu,
                f"{count} task(s) of {_n(task_vcpu)} vCPU kept, {rollout} during a rollout at "
                f"{percent}%{assumed}",
                estimated,
            )
        ]  # fmt: skip
    return []


def _other(instance_type: str) -> Quota:
    """An instance family the standard quota does not count: checked by no one here."""
    return Quota("ec2", "", f"the quota of {instance_type}'s family (not checked)")


def _quota_value(sandbox: Sandbox, quota: Quota) -> Decimal | str:
    """The account's value of ``quota`` in this region, or why it could not be read."""
    client = sandbox.client("service-quotas")
    try:
        found = client.get_service_quota(ServiceCode=quota.service, QuotaCode=quota.code)
    except botocore.exceptions.ClientError as error:
        detail = error.response.get("Error", {})
        return f"{detail.get('Code')}: {detail.get('Message')}"
    return Decimal(str(found["Quota"]["Value"]))


def _used_by_others(sandbox: Sandbox) -> Decimal:
    """vCPUs of on-demand standard instances already running here that are not the project's
    (the project's own are what this deploy keeps or replaces)."""
    ec2 = sandbox.client("ec2")
    filters = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    total = Decimal(0)
    for page in ec2.get_paginator("describe_instances").paginate(
        Filters=filters, IncludeManagedResources=True
    ):
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                tags = {t.get("Key"): t.get("Value") for t in instance.get("Tags", [])}
                kind = str(instance.get("InstanceType", ""))
                if (
                    tags.get(names.TAG_PROJECT) == names.PROJECT
                    or instance.get("InstanceLifecycle") in ("spot", "scheduled")
                    or not is_standard(kind)
                ):
                    continue
                cpu = instance.get("CpuOptions") or {}
                if cpu.get("CoreCount"):
                    total += int(cpu["CoreCount"]) * int(cpu.get("ThreadsPerCore", 1))
                elif kind in instance_types.load():
                    total += _vcpus(kind)
    return total


def check_quotas(
    sandbox: Sandbox, app: Assembly, console: Console, *, ignore: bool = False
) -> list[Need]:
    """Print what the selection needs of each quota; LaunchlabError, one line naming what to
    request, when a quota is short (unless ``ignore``). The needs."""
    found = needs(app, sandbox.region)
    if not found:
        return found
    table = Table(title=f"vCPUs the selected launch types need in {sandbox.region}")
    for column in ("launch type", "quota", "kept", "rollout", "how"):
        table.add_column(column, overflow="fold")
    for need in found:
        table.add_row(
            launch_types.label(need.launch_type),
            need.quota.code or need.quota.name,
            f"{_n(need.kept)}",
            f"{_n(need.rollout)}" + (" (est.)" if need.estimated else ""),
            need.how,
        )
    console.print(table)
    short = []
    with aws_errors(sandbox.region):
        for quota in _in_order(need.quota for need in found if need.quota.code):
            mine = [need for need in found if need.quota == quota]
            kept = sum((need.kept for need in mine), Decimal(0))
            rollout = sum((need.rollout for need in mine), Decimal(0))
            value = _quota_value(sandbox, quota)
            if isinstance(value, str):
                console.print(
                    f"note: could not read {quota.name} ({quota.service} {quota.code}): {value}; "
                    f"the selection needs {_n(rollout)} vCPUs of it during a rollout",
                    highlight=False, markup=False, soft_wrap=True,
                )  # fmt: skip
                continue
            others = _used_by_others(sandbox) if quota == EC2_STANDARD else Decimal(0)
            left = value - others
            console.print(
                f"{quota.name} ({quota.service} {quota.code}): {_n(value)} vCPUs, "
                f"{_n(others)} used by other instances; the selection needs {_n(kept)} kept, "
                f"{_n(rollout)} during a rollout",
                highlight=False, markup=False, soft_wrap=True,
            )  # fmt: skip
            if rollout > left:
                wanted = math.ceil(others + rollout)
                short.append(
                    f"{quota.name} ({quota.code}) is {_n(value)} vCPUs in {sandbox.region} "
                    f"({_n(others)} used by other instances) and the selection needs {_n(kept)} "
                    f"kept, {_n(rollout)} during a rollout: request {wanted} with `aws "
                    f"service-quotas request-service-quota-increase --service-code "
                    f"{quota.service} --quota-code {quota.code} --desired-value {wanted} "
                    f"--region {sandbox.region}`"
                )
    if short and not ignore:
        raise LaunchlabError(
            "; ".join(short) + ", or deploy anyway with `.venv/bin/launchlab up --ignore-quotas`"
        )
    for line in short:
        console.print(f"note: {line}; deploying anyway (--ignore-quotas)", highlight=False,
                      markup=False, soft_wrap=True)  # fmt: skip
    return found


def _in_order(quotas: Iterable[Quota]) -> list[Quota]:
    seen: list[Quota] = []
    for quota in quotas:
        if quota not in seen:
            seen.append(quota)
    return seen


# ---- service-linked roles -------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedRole:
    service: str  # the AWSServiceName IAM creates it for
    name: str  # what AWS names it
    source: str


ECS_ROLE = LinkedRole(
    "ecs.amazonaws.com",
    "AWSServiceRoleForECS",
    "docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html",
)
ECS_COMPUTE_ROLE = LinkedRole(
    "ecs-compute.amazonaws.com",
    "AWSServiceRoleForECSCompute",
    "docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles-instances.html",
)
# Express Mode's infrastructure role may create these two itself (its managed policy allows
# iam:CreateServiceLinkedRole for exactly these services:
# docs.aws.amazon.com/aws-managed-policy/latest/reference/
# AmazonECSInfrastructureRoleforExpressGatewayServices.html); made here, they are there first.
ELB_ROLE = LinkedRole(
    "elasticloadbalancing.amazonaws.com",
    "AWSServiceRoleForElasticLoadBalancing",
    "docs.aws.amazon.com/aws-managed-policy/latest/reference/"
    "AmazonECSInfrastructureRoleforExpressGatewayServices.html",
)
ECS_SCALING_ROLE = LinkedRole(
    "ecs.application-autoscaling.amazonaws.com",
    "AWSServiceRoleForApplicationAutoScaling_ECSService",
    "docs.aws.amazon.com/aws-managed-policy/latest/reference/"
    "AmazonECSInfrastructureRoleforExpressGatewayServices.html",
)
# "AWS Lambda uses the AWSServiceRoleForLambda service-linked role to manage Lambda Managed
# Instances ec2 resources in your capacity providers" (its terminate permission on instances
# it operates is what ends them).
LAMBDA_ROLE = LinkedRole(
    "lambda.amazonaws.com",
    "AWSServiceRoleForLambda",
    "docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-security.html",
)
# Launch-type key -> the service-linked roles it needs. Every registry key is here
# (tests/test_aws_preflight.py): a new launch type must say what it needs.
SERVICE_LINKED_ROLES: dict[str, tuple[LinkedRole, ...]] = {
    "ecs-ec2": (ECS_ROLE,),
    "fargate": (ECS_ROLE,),
    "lambda": (),
    "ecs-managed-instances": (ECS_ROLE, ECS_COMPUTE_ROLE),
    "express": (ECS_ROLE, ELB_ROLE, ECS_SCALING_ROLE),
    "lambda-managed-instances": (LAMBDA_ROLE,),
}


def ensure_service_linked_roles(
    sandbox: Sandbox, console: Console, selected: Iterable[str]
) -> list[str]:
    """Create each service-linked role the selected launch types need that the account lacks;
    the names of those created.

    The service would create its role on first use, but CloudFormation does not wait for it:
    a first deploy into a brand-new account can fail with "Unable to assume the service linked
    role" (cloudformation-coverage-roadmap#818; openemr/openemr-on-ecs#8). Creating one is
    idempotent: IAM answers InvalidInput "... has been taken in this account" when it exists
    (Rayraegah/terraform-aws-hasura#17), moto EntityAlreadyExists.
    """
    wanted: dict[LinkedRole, list[str]] = {}
    for key in selected:
        for role in SERVICE_LINKED_ROLES[key]:
            wanted.setdefault(role, []).append(launch_types.label(key))
    iam = sandbox.client("iam")
    created = []
    with aws_errors(sandbox.region):
        for role, users in wanted.items():
            try:
                answer = iam.create_service_linked_role(AWSServiceName=role.service)
            except botocore.exceptions.ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", ""))
                message = str(error.response.get("Error", {}).get("Message", ""))
                if code == "EntityAlreadyExists" or "has been taken" in message:
                    continue
                if code not in DENIED:
                    raise
                # Deploying goes through the CDK's own roles, so these credentials may rightly
                # lack IAM rights; in a used account the role exists anyway.
                console.print(
                    f"note: could not create {role.name} ({code}), which {', '.join(users)} "
                    f'need(s); if the deploy fails with "Unable to assume the service linked '
                    f'role", run `aws iam create-service-linked-role --aws-service-name '
                    f"{role.service}` and `.venv/bin/launchlab up` again",
                    highlight=False, markup=False, soft_wrap=True,
                )  # fmt: skip
                continue
            name = str(answer["Role"]["RoleName"])
            created.append(name)
            console.print(
                f"created the service-linked role {name}, which {', '.join(users)} need(s)",
                highlight=False, markup=False,
            )  # fmt: skip
    return created
