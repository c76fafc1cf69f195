"""`launchlab down`: destroy every stack, then look for anything of the project still there.

CloudFormation can report success and still leave things behind (a retained log group, a
repository with images, a volume detached from a terminated instance, an ENI held by a dying
Lambda). The scan asks the tagging API for everything tagged with the project and also looks
directly where leftovers are known to hide, since not every resource type is in that API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import botocore.exceptions
from rich.console import Console
from rich.table import Table

from launchlab.assembly import context_args
from launchlab.aws.cdk import run_cdk
from launchlab.aws.costs import hourly_prices
from launchlab.aws.sandbox import Sandbox, aws_errors
from launchlab.aws.up import check_credentials
from launchlab.report.prices import RegionPrices
from stacks import launch_types, names

GIB = Decimal(1024**3)
REPOSITORY_PREFIX = f"{names.PROJECT}/"
# Log groups CloudFormation names after the stack (app logs), the functions' and ECS's own.
# (Container Insights writes /aws/ecs/containerinsights/<cluster>/performance outside
# CloudFormation; our clusters' names start with their stack's.)
LOG_GROUP_PREFIXES = ("/aws/lambda/Launchlab", "/aws/ecs/containerinsights/Launchlab", "Launchlab")
# Kinds a direct look below covers: a tagging-API hit of these kinds that no direct look
# confirms is the API lagging a deletion (it can for hours), not a leftover.
_LOOKED_AT = {
    "ecr:repository",
    "logs:log-group",
    "ec2:volume",
    "ec2:network-interface",
    "elasticloadbalancing:loadbalancer",
    "ec2:instance",
}
TAG_FILTER = {"Name": f"tag:{names.TAG_PROJECT}", "Values": [names.PROJECT]}


@dataclass(frozen=True)
class Leftover:
    kind: str
    identifier: str
    found_by: str
    usd_per_hour: Decimal
    detail: str = ""


def _key(identifier: str) -> str:
    """The same resource seen by the tagging API (an ARN) and by a direct look (an id or ARN)."""
    identifier = identifier.removesuffix(":*")
    if identifier.startswith("arn:") and identifier.split(":")[2] == "ec2":
        return identifier.rsplit("/", 1)[-1]
    return identifier


def scan(sandbox: Sandbox) -> tuple[list[Leftover], list[Leftover]]:
    """(leftovers, unconfirmed): what is there, and tagging-API hits nothing else confirms."""
    prices = hourly_prices(sandbox.region)
    found: dict[str, Leftover] = {}
    confirmed: set[str] = set()
    with aws_errors(sandbox.region):
        # Tagged first, direct looks after: a direct look knows sizes, so it replaces the entry.
        for item in _tagged(sandbox, prices):
            found[_key(item.identifier)] = item
        for looks in (
            _stacks(sandbox),
            _repositories(sandbox, prices),
            _log_groups(sandbox, prices),
            _volumes(sandbox, prices),
            _network_interfaces(sandbox, prices),
            _load_balancers(sandbox, prices),
            _instances(sandbox, prices),
        ):
            for item in looks:
                confirmed.add(_key(item.identifier))
                previous = found.get(_key(item.identifier))
                by = item.found_by
                if previous and previous.found_by != item.found_by:
                    by = f"{previous.found_by} + {item.found_by}"
                found[_key(item.identifier)] = Leftover(
                    item.kind, item.identifier, by, item.usd_per_hour, item.detail
                )
        # Deleting a stack deregisters its task definitions (INACTIVE), which keep their tags.
        ecs = sandbox.client("ecs")
        for key, item in list(found.items()):
            if item.kind == "ecs:task-definition" and key not in confirmed:
                described = ecs.describe_task_definition(taskDefinition=item.identifier)
                if described["taskDefinition"].get("status") == "INACTIVE":
                    del found[key]
    leftovers: list[Leftover] = []
    unconfirmed: list[Leftover] = []
    for key, item in found.items():
        stale = item.kind in _LOOKED_AT and key not in confirmed
        (unconfirmed if stale else leftovers).append(item)
    return sorted(leftovers, key=_order), sorted(unconfirmed, key=_order)


def _order(item: Leftover) -> tuple[str, str]:
    return (item.kind, item.identifier)


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _tagged(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("resourcegroupstaggingapi")
    filters = [{"Key": names.TAG_PROJECT, "Values": [names.PROJECT]}]
    for resource in _pages(client, "get_resources", "ResourceTagMappingList", TagFilters=filters):
        arn = str(resource["ResourceARN"])
        parts = arn.split(":", 5)
        service, rest = parts[2], parts[5] if len(parts) > 5 else ""
        kind = f"{service}:{rest.split('/', 1)[0].split(':', 1)[0]}"
        cost = Decimal(0)
        if kind == "elasticloadbalancing:loadbalancer" and "/app/" in arn:
            cost = prices.per_hour("elb.alb_hour")
        elif kind == "ec2:natgateway":
            cost = prices.per_hour("vpc.nat_hour") + prices.per_hour("vpc.public_ipv4_hour")
        elif kind in ("ec2:elastic-ip", "ec2:eip"):
            cost = prices.per_hour("vpc.public_ipv4_hour")
        yield Leftover(kind, arn, "tagging API", cost)


def _stacks(sandbox: Sandbox) -> Iterator[Leftover]:
    client = sandbox.client("cloudformation")
    # Every stack any launch type could have deployed, whichever were selected.
    for stack in (*names.SHARED_STACKS, *launch_types.BY_STACK):
        try:
            found = client.describe_stacks(StackName=stack)["Stacks"]
        except botocore.exceptions.ClientError as error:
            if "does not exist" in str(error):
                continue
            raise
        for item in found:
            status = str(item.get("StackStatus"))
            if status != "DELETE_COMPLETE":
                yield Leftover("cloudformation:stack", stack, "name", Decimal(0), status)


def _repositories(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("ecr")
    for repository in _pages(client, "describe_repositories", "repositories"):
        name = str(repository["repositoryName"])
        if not name.startswith(REPOSITORY_PREFIX):
            continue
        images = list(_pages(client, "describe_images", "imageDetails", repositoryName=name))
        size = sum(Decimal(int(image.get("imageSizeInBytes", 0))) for image in images)
        yield Leftover(
            "ecr:repository",
            str(repository["repositoryArn"]),
            "name",
            size / GIB * prices.per_hour("ecr.storage_gb_month"),
            f"{name}: {len(images)} image(s), {size / 1024**2:.1f} MiB",
        )


def _log_groups(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("logs")
    seen: set[str] = set()
    for prefix in LOG_GROUP_PREFIXES:
        groups = _pages(client, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix)
        for group in groups:
            name = str(group["logGroupName"])
            if name in seen:
                continue
            seen.add(name)
            stored = Decimal(int(group.get("storedBytes", 0)))
            yield Leftover(
                "logs:log-group",
                str(group.get("arn", name)),
                "name",
                stored / GIB * prices.per_hour("logs.storage_gb_month"),
                f"{name}: {stored / 1024**2:.1f} MiB stored",
            )


def _volumes(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("ec2")
    for volume in _pages(client, "describe_volumes", "Volumes", Filters=[TAG_FILTER]):
        kind = str(volume.get("VolumeType", "gp3"))
        size = int(volume.get("Size", 0))
        key = f"ebs.{kind}.gb_month"
        note = "" if key in prices.prices else f" (priced as gp3: no {kind} price)"
        price_key = key if key in prices.prices else "ebs.gp3.gb_month"
        yield Leftover(
            "ec2:volume",
            str(volume["VolumeId"]),
            "tag filter",
            size * prices.per_hour(price_key),
            f"{size} GiB {kind}, {volume.get('State')}{note}",
        )


def _network_interfaces(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("ec2")
    for eni in _pages(
        client, "describe_network_interfaces", "NetworkInterfaces", Filters=[TAG_FILTER]
    ):
        public = eni.get("Association", {}).get("PublicIp")
        cost = prices.per_hour("vpc.public_ipv4_hour") if public else Decimal(0)
        yield Leftover(
            "ec2:network-interface",
            str(eni["NetworkInterfaceId"]),
            "tag filter",
            cost,
            f"{eni.get('Status')}{', public IP ' + str(public) if public else ''}",
        )


def _load_balancers(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("elbv2")
    balancers = {
        str(lb["LoadBalancerArn"]): lb
        for lb in _pages(client, "describe_load_balancers", "LoadBalancers")
    }
    arns = list(balancers)
    for start in range(0, len(arns), 20):  # describe_tags takes at most 20 ARNs
        answer = client.describe_tags(ResourceArns=arns[start : start + 20])
        for description in answer.get("TagDescriptions", []):
            if not _has_project_tag(description.get("Tags", [])):
                continue
            lb = balancers[str(description["ResourceArn"])]
            cost = prices.per_hour("elb.alb_hour")
            if lb.get("Scheme") == "internet-facing":
                cost += len(lb.get("AvailabilityZones", [])) * prices.per_hour(
                    "vpc.public_ipv4_hour"
                )
            yield Leftover(
                "elasticloadbalancing:loadbalancer",
                str(lb["LoadBalancerArn"]),
                "tag filter",
                cost,
                f"{lb.get('LoadBalancerName')} ({lb.get('Scheme')})",
            )


def _instances(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("ec2")
    for reservation in _pages(client, "describe_instances", "Reservations", Filters=[TAG_FILTER]):
        for instance in reservation.get("Instances", []):
            state = str(instance.get("State", {}).get("Name"))
            if state == "terminated":
                continue
            kind = str(instance.get("InstanceType"))
            hourly = prices.instance_per_hour(kind)
            cost = hourly if hourly is not None and state != "stopped" else Decimal(0)
            if instance.get("PublicIpAddress"):
                cost += prices.per_hour("vpc.public_ipv4_hour")
            unpriced = " (no price for this type)" if hourly is None else ""
            yield Leftover(
                "ec2:instance", str(instance["InstanceId"]), "tag filter", cost,
                f"{kind}, {state}{unpriced}",
            )  # fmt: skip


def _has_project_tag(tags: Iterable[Mapping[str, Any]]) -> bool:
    return any(t.get("Key") == names.TAG_PROJECT and t.get("Value") == names.PROJECT for t in tags)


def report_leftovers(sandbox: Sandbox, console: Console) -> int:
    leftovers, unconfirmed = scan(sandbox)
    if unconfirmed:
        console.print(
            f"note: the tagging API still lists {len(unconfirmed)} resource(s) that no direct "
            "look finds (it can lag a deletion by hours): "
            + ", ".join(item.identifier for item in unconfirmed),
            highlight=False,
            markup=False,
        )
    if not leftovers:
        console.print(f"nothing of {names.PROJECT} is left in {sandbox.region}")
        return 0
    prices = hourly_prices(sandbox.region)
    table = Table(title=f"still there in {sandbox.region} after destroy")
    for column in ("kind", "resource", "found by", "$/hour", "detail"):
        table.add_column(column, overflow="fold")
    for item in leftovers:
        table.add_row(
            item.kind, item.identifier, item.found_by, f"{item.usd_per_hour:.4f}", item.detail
        )
    console.print(table)
    total = sum((item.usd_per_hour for item in leftovers), Decimal(0))
    console.print(f"prices: {prices.source}")
    Console(stderr=True).print(
        f"launchlab: {len(leftovers)} resource(s) of {names.PROJECT} remain in {sandbox.region}, "
        f"costing about ${total:.4f}/hour: delete them (listed above), or run `launchlab down` "
        "again once a stuck stack deletion is fixed",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    return 1


def down(
    sandbox: Sandbox, context: Mapping[str, str], console: Console, *, scan_only: bool = False
) -> int:
    if not scan_only:
        account = check_credentials(sandbox)
        console.print(f"destroying every stack in account {account}, {sandbox.region}")
        run_cdk(
            ["destroy", "--all", "--force", *context_args(context)],
            region=sandbox.region,
            what="cdk destroy",
            next_step="read the CloudFormation error above, then run `launchlab down` again; "
            "`launchlab down --scan-only` lists what is left",
        )
    return report_leftovers(sandbox, console)
