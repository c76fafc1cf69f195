"""`launchlab down`: destroy every stack, then look for anything of the project still there.

CloudFormation can report success and still leave things behind (a retained log group, a
repository with images, a volume detached from a terminated instance, an ENI held by a dying
Lambda). The scan asks the tagging API for everything tagged with the project and also looks
directly where leftovers are known to hide, since not every resource type is in that API.
What ECS Express Mode and the managed-instance capacity providers create outside
CloudFormation carries ECS's tag (AmazonECSManaged) or the capacity provider's, not always
ours: the scan takes everything still in the project's VPC (ALBs, target groups, security
groups, instances, ENIs; EC2 hides managed instances unless asked), Express's alarms on our
clusters, and unused Express certificates.

While `cdk destroy` runs, a watcher completes the lifecycle actions that ECS managed draining
leaves pending: its hook (ecs-managed-draining-termination-hook, 3600 s) holds an instance in
Terminating:Wait, still billed, once the capacity provider that would complete it is gone,
and CloudFormation then waits up to an hour for the group (aws/aws-cdk#18179, #14732, #19275).
A destroy that still fails is retried once after force-deleting the project's groups.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
from launchlab.errors import LaunchlabError
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
    "autoscaling:autoScalingGroup",
    "ec2:elastic-ip",
    "ec2:natgateway",
    "ec2:security-group",
    "elasticloadbalancing:targetgroup",
}
TAG_FILTER = {"Name": f"tag:{names.TAG_PROJECT}", "Values": [names.PROJECT]}
# EC2 hides instances, volumes and ENIs that a service manages (Lambda Managed Instances' and
# ECS Managed Instances' instances) unless asked: "IncludeManagedResources ... even if managed
# resource visibility is set to hidden" (EC2 API reference, DescribeInstances).
MANAGED_TOO = {"IncludeManagedResources": True}
# The tag ECS puts on what Express Mode and ECS Managed Instances create: their infrastructure
# roles may only create ALBs, target groups, security groups, certificates, alarms, log groups,
# instances, volumes and ENIs with it (AWS managed policies
# AmazonECSInfrastructureRoleforExpressGatewayServices and
# AmazonECSInfrastructureRolePolicyForManagedInstances: aws:RequestTag/AmazonECSManaged).
ECS_MANAGED_TAG = "AmazonECSManaged"
# The HTTPS name ECS Express Mode gives a service, and so its ACM certificate:
# <name>.ecs.<region>.on.aws (docs.aws.amazon.com/AmazonECS/latest/developerguide/
# express-service-work.html).
EXPRESS_DOMAIN = ".ecs.{region}.on.aws"
# An instance an Auto Scaling group holds for a termination lifecycle hook.
HELD = "Terminating:Wait"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
# How often the watcher looks for held instances while `cdk destroy` runs.
RELEASE_EVERY_S = 15.0


@dataclass(frozen=True)
class Leftover:
    kind: str
    identifier: str
    found_by: str
    usd_per_hour: Decimal
    detail: str = ""
    # The public IPv4 address whose hourly charge usd_per_hour includes, if any.
    public_ip: str = ""


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
            _groups(sandbox),
            _elastic_ips(sandbox, prices),
            _nat_gateways(sandbox, prices),
            _in_project_vpcs(sandbox, prices),
            _express_outside_the_vpc(sandbox),
        ):
            for item in looks:
                confirmed.add(_key(item.identifier))
                previous = found.get(_key(item.identifier))
                by = item.found_by
                if previous and previous.found_by != item.found_by:
                    by = f"{previous.found_by} + {item.found_by}"
                found[_key(item.identifier)] = replace(item, found_by=by)
        # Deleting a stack deregisters its task definitions (INACTIVE), which keep their tags.
        ecs = sandbox.client("ecs")
        for key, item in list(found.items()):
            if item.kind == "ecs:task-definition" and key not in confirmed:
                described = ecs.describe_task_definition(taskDefinition=item.identifier)
                if described["taskDefinition"].get("status") == "INACTIVE":
                    del found[key]
    found = _bill_each_address_once(found, prices)
    leftovers: list[Leftover] = []
    unconfirmed: list[Leftover] = []
    for key, item in found.items():
        stale = item.kind in _LOOKED_AT and key not in confirmed
        (unconfirmed if stale else leftovers).append(item)
    return sorted(leftovers, key=_order), sorted(unconfirmed, key=_order)


# Who carries a public IPv4 address's charge when several leftovers hold it: its Elastic IP
# (billed whether associated or not), else the NAT gateway or instance using it, else the
# ENI. AWS bills each address once, per hour (aws.amazon.com/vpc/pricing, "Public IPv4
# Address").
_ADDRESS_BILLED_ON = ("ec2:elastic-ip", "ec2:natgateway", "ec2:instance", "ec2:network-interface")


def _bill_each_address_once(
    found: Mapping[str, Leftover], prices: RegionPrices
) -> dict[str, Leftover]:
    """An Elastic IP on an instance or an ENI, or an instance's public IP on its ENI, shows
    up on every leftover that holds it: keep the address's charge on one of them."""
    holders = sorted(
        (item for item in found.values() if item.public_ip),
        key=lambda item: _ADDRESS_BILLED_ON.index(item.kind),
    )
    billed_on: dict[str, Leftover] = {}
    for item in holders:
        billed_on.setdefault(item.public_ip, item)
    ipv4 = prices.per_hour("vpc.public_ipv4_hour")
    kept = {}
    for key, item in found.items():
        owner = billed_on.get(item.public_ip)
        if owner is not None and owner is not item:
            item = replace(
                item,
                usd_per_hour=item.usd_per_hour - ipv4,
                detail=f"{item.detail} (billed on {owner.identifier})",
                public_ip="",
            )
        kept[key] = item
    return kept


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
    for volume in _pages(
        client, "describe_volumes", "Volumes", Filters=[TAG_FILTER], **MANAGED_TOO
    ):
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
        client,
        "describe_network_interfaces",
        "NetworkInterfaces",
        Filters=[TAG_FILTER],
        **MANAGED_TOO,
    ):
        yield _eni_leftover(eni, prices, "tag filter")


def _eni_leftover(eni: Mapping[str, Any], prices: RegionPrices, found_by: str) -> Leftover:
    public = str(eni.get("Association", {}).get("PublicIp") or "")
    detail = f"{eni.get('Status')}{', public IP ' + public if public else ''}"
    # A load balancer's node ("ELB app/<name>/<id>", AWS re:Post knowledge-center
    # elb-find-load-balancer-ip): the load balancer's row prices its addresses, one per zone.
    if public and str(eni.get("Description", "")).startswith("ELB "):
        detail, public = f"{detail} (billed on its load balancer)", ""
    return Leftover(
        "ec2:network-interface",
        str(eni["NetworkInterfaceId"]),
        found_by,
        prices.per_hour("vpc.public_ipv4_hour") if public else Decimal(0),
        detail,
        public,
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
            yield Leftover(
                "elasticloadbalancing:loadbalancer",
                str(lb["LoadBalancerArn"]),
                "tag filter",
                _load_balancer_cost(lb, prices),
                f"{lb.get('LoadBalancerName')} ({lb.get('Scheme')})",
            )


def _load_balancer_cost(lb: Mapping[str, Any], prices: RegionPrices) -> Decimal:
    cost = prices.per_hour("elb.alb_hour")
    if lb.get("Scheme") == "internet-facing":
        cost += len(lb.get("AvailabilityZones", [])) * prices.per_hour("vpc.public_ipv4_hour")
    return cost


def _instances(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("ec2")
    for reservation in _pages(
        client, "describe_instances", "Reservations", Filters=[TAG_FILTER], **MANAGED_TOO
    ):
        for instance in reservation.get("Instances", []):
            found = _instance_leftover(instance, prices, "tag filter")
            if found is not None:
                yield found


def _instance_leftover(
    instance: Mapping[str, Any], prices: RegionPrices, found_by: str
) -> Leftover | None:
    state = str(instance.get("State", {}).get("Name"))
    if state == "terminated":
        return None
    kind = str(instance.get("InstanceType"))
    hourly = prices.instance_per_hour(kind)
    cost = hourly if hourly is not None and state != "stopped" else Decimal(0)
    public = str(instance.get("PublicIpAddress") or "")
    if public:
        cost += prices.per_hour("vpc.public_ipv4_hour")
    unpriced = " (no price for this type)" if hourly is None else ""
    # Lambda's (scaler.lambda.amazonaws.com) or ECS's: a capacity provider's instance.
    operator = instance.get("Operator", {})
    managed = f", managed by {operator.get('Principal')}" if operator.get("Managed") else ""
    return Leftover(
        "ec2:instance", str(instance["InstanceId"]), found_by, cost,
        f"{kind}, {state}{managed}{unpriced}", public,
    )  # fmt: skip


def _elastic_ips(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    # A NAT gateway's address, say, bills as a public IPv4 until released.
    client = sandbox.client("ec2")
    for address in client.describe_addresses(Filters=[TAG_FILTER]).get("Addresses", []):
        attached = address.get("AssociationId") or address.get("NetworkInterfaceId")
        yield Leftover(
            "ec2:elastic-ip",
            str(address.get("AllocationId", address.get("PublicIp"))),
            "tag filter",
            prices.per_hour("vpc.public_ipv4_hour"),
            f"{address.get('PublicIp')}, {'associated' if attached else 'not associated'}",
            str(address.get("PublicIp") or ""),
        )


def _nat_gateways(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("ec2")
    for gateway in _pages(client, "describe_nat_gateways", "NatGateways", Filter=[TAG_FILTER]):
        state = str(gateway.get("State"))
        # Listed after its deletion, State "deleted": "terminated and no longer processing
        # traffic" (EC2 API reference, NatGateway).
        if state == "deleted":
            continue
        addresses = gateway.get("NatGatewayAddresses", [])
        public = next((str(a["PublicIp"]) for a in addresses if a.get("PublicIp")), "")
        yield Leftover(
            "ec2:natgateway", str(gateway["NatGatewayId"]), "tag filter",
            prices.per_hour("vpc.nat_hour")
            + (prices.per_hour("vpc.public_ipv4_hour") if public else Decimal(0)),
            f"{state}{', public IP ' + public if public else ''}", public,
        )  # fmt: skip


def _project_groups(client: Any) -> Iterator[dict[str, Any]]:
    yield from _pages(
        client, "describe_auto_scaling_groups", "AutoScalingGroups", Filters=[TAG_FILTER]
    )


def _groups(sandbox: Sandbox) -> Iterator[Leftover]:
    # The instances are priced where they are listed (ec2:instance); the group costs nothing.
    for group in _project_groups(sandbox.client("autoscaling")):
        states = [str(i.get("LifecycleState")) for i in group.get("Instances", [])]
        held = states.count(HELD)
        yield Leftover(
            "autoscaling:autoScalingGroup",
            str(group["AutoScalingGroupARN"]),
            "tag filter",
            Decimal(0),
            f"{group['AutoScalingGroupName']}: {len(states)} instance(s)"
            + (f", {held} held in {HELD} by a lifecycle hook" if held else ""),
        )


def release_held_instances(autoscaling: Any) -> list[str]:
    """Complete (CONTINUE) every termination lifecycle action pending on the project's groups;
    the instances released, as "group/instance"."""
    released: list[str] = []
    for group in _project_groups(autoscaling):
        name = str(group["AutoScalingGroupName"])
        held = [str(i["InstanceId"]) for i in group.get("Instances", [])
                if i.get("LifecycleState") == HELD]  # fmt: skip
        if not held:
            continue
        hooks = autoscaling.describe_lifecycle_hooks(AutoScalingGroupName=name)
        for hook in hooks.get("LifecycleHooks", []):
            if hook.get("LifecycleTransition") != TERMINATING:
                continue
            for instance in held:
                try:
                    autoscaling.complete_lifecycle_action(
                        AutoScalingGroupName=name,
                        LifecycleHookName=str(hook["LifecycleHookName"]),
                        InstanceId=instance,
                        LifecycleActionResult="CONTINUE",
                    )
                except botocore.exceptions.ClientError as error:
                    # "No active Lifecycle Action found": released meanwhile, or another hook's.
                    if error.response.get("Error", {}).get("Code") != "ValidationError":
                        raise
                    continue
                released.append(f"{name}/{instance}")
    return released


def force_delete_groups(autoscaling: Any) -> list[str]:
    """Release held instances, then delete the project's groups with their instances."""
    release_held_instances(autoscaling)
    deleted = []
    for group in _project_groups(autoscaling):
        name = str(group["AutoScalingGroupName"])
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        deleted.append(name)
    return deleted


@contextmanager
def releasing_held_instances(sandbox: Sandbox, console: Console) -> Iterator[None]:
    """While the body runs, complete pending termination lifecycle actions every few seconds."""
    autoscaling = sandbox.client("autoscaling")  # clients are thread-safe; sessions are not
    done = threading.Event()

    def watch() -> None:
        while not done.wait(RELEASE_EVERY_S):
            try:
                released = release_held_instances(autoscaling)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                continue  # best effort: the destroy's own result and the scan still count
            if released:
                console.print(
                    f"released {len(released)} instance(s) held in {HELD} by a termination "
                    f"lifecycle hook: {', '.join(released)}",
                    highlight=False,
                    markup=False,
                )

    watcher = threading.Thread(target=watch, name="release-held-instances", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _project_vpcs(sandbox: Sandbox) -> list[str]:
    client = sandbox.client("ec2")
    vpcs = _pages(client, "describe_vpcs", "Vpcs", Filters=[TAG_FILTER])
    return [str(vpc["VpcId"]) for vpc in vpcs]


def _ecs_managed(tags: Iterable[Mapping[str, Any]]) -> str:
    managed = any(t.get("Key") == ECS_MANAGED_TAG for t in tags)
    return f" ({ECS_MANAGED_TAG}: created by ECS)" if managed else ""


def _in_project_vpcs(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    """Everything still in the project's VPC, tagged or not: what ECS Express Mode (its ALB,
    target groups, security groups) and the managed-instance capacity providers (instances,
    their ENIs) create outside CloudFormation, and whatever keeps the VPC from being deleted."""
    vpcs = _project_vpcs(sandbox)
    if not vpcs:
        return
    in_vpcs = [{"Name": "vpc-id", "Values": vpcs}]
    here = "in the project VPC"
    elbv2 = sandbox.client("elbv2")
    balancers = [
        lb
        for lb in _pages(elbv2, "describe_load_balancers", "LoadBalancers")
        if lb.get("VpcId") in vpcs
    ]
    tags = _elb_tags(elbv2, [str(lb["LoadBalancerArn"]) for lb in balancers])
    for lb in balancers:
        arn = str(lb["LoadBalancerArn"])
        yield Leftover(
            "elasticloadbalancing:loadbalancer", arn, here, _load_balancer_cost(lb, prices),
            f"{lb.get('LoadBalancerName')} ({lb.get('Scheme')}){_ecs_managed(tags.get(arn, []))}",
        )  # fmt: skip
    groups = [
        group
        for group in _pages(elbv2, "describe_target_groups", "TargetGroups")
        if group.get("VpcId") in vpcs
    ]
    tags = _elb_tags(elbv2, [str(group["TargetGroupArn"]) for group in groups])
    for group in groups:
        arn = str(group["TargetGroupArn"])
        yield Leftover(
            "elasticloadbalancing:targetgroup", arn, here, Decimal(0),
            f"{group.get('TargetGroupName')}{_ecs_managed(tags.get(arn, []))}",
        )  # fmt: skip
    ec2 = sandbox.client("ec2")
    for sg in _pages(ec2, "describe_security_groups", "SecurityGroups", Filters=in_vpcs):
        if sg.get("GroupName") == "default":  # goes with the VPC
            continue
        yield Leftover(
            "ec2:security-group", str(sg["GroupId"]), here, Decimal(0),
            f"{sg.get('GroupName')}{_ecs_managed(sg.get('Tags', []))}",
        )  # fmt: skip
    reservations = _pages(ec2, "describe_instances", "Reservations", Filters=in_vpcs, **MANAGED_TOO)
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            found = _instance_leftover(instance, prices, here)
            if found is not None:
                yield found
    enis = _pages(
        ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=in_vpcs, **MANAGED_TOO
    )
    for eni in enis:
        yield _eni_leftover(eni, prices, here)


def _express_outside_the_vpc(sandbox: Sandbox) -> Iterator[Leftover]:
    """What ECS Express Mode creates that no VPC holds: the CloudWatch alarms that watch its
    deployments (on our clusters, whose names start with their stack's) and the ACM
    certificate of the service's generated name, once nothing uses it."""
    stacks = tuple(launch_types.BY_STACK)
    cloudwatch = sandbox.client("cloudwatch")
    for alarm in _pages(cloudwatch, "describe_alarms", "MetricAlarms"):
        clusters = [
            str(d.get("Value"))
            for d in alarm.get("Dimensions", [])
            if d.get("Name") == "ClusterName" and str(d.get("Value")).startswith(stacks)
        ]
        if clusters:
            yield Leftover(
                "cloudwatch:alarm", str(alarm["AlarmArn"]), "cluster name", Decimal(0),
                f"{alarm.get('AlarmName')} on {clusters[0]} (no alarm price in the table)",
            )  # fmt: skip
    acm = sandbox.client("acm")
    domain = EXPRESS_DOMAIN.format(region=sandbox.region)
    for summary in _pages(acm, "list_certificates", "CertificateSummaryList"):
        name = str(summary.get("DomainName", ""))
        if not name.endswith(domain):
            continue
        arn = str(summary["CertificateArn"])
        tags = acm.list_tags_for_certificate(CertificateArn=arn).get("Tags", [])
        certificate = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        if _ecs_managed(tags) and not certificate.get("InUseBy"):
            yield Leftover(
                "acm:certificate", arn, f"{ECS_MANAGED_TAG} tag, used by nothing", Decimal(0),
                f"{name} (public certificates are free)",
            )  # fmt: skip


def _elb_tags(client: Any, arns: list[str]) -> dict[str, list[Mapping[str, Any]]]:
    tags: dict[str, list[Mapping[str, Any]]] = {}
    for start in range(0, len(arns), 20):  # describe_tags takes at most 20 ARNs
        answer = client.describe_tags(ResourceArns=arns[start : start + 20])
        for description in answer.get("TagDescriptions", []):
            tags[str(description["ResourceArn"])] = list(description.get("Tags", []))
    return tags


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
        f"costing about ${total:.4f}/hour: delete them (listed above), or run "
        "`.venv/bin/launchlab down` again once a stuck stack deletion is fixed",
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
        destroy = ["destroy", "--all", "--force", *context_args(context)]
        next_step = (
            "read the CloudFormation error above, then run `.venv/bin/launchlab down` again; "
            "`.venv/bin/launchlab down --scan-only` lists what is left"
        )
        with releasing_held_instances(sandbox, console):
            try:
                run_cdk(destroy, region=sandbox.region, what="cdk destroy", next_step=next_step)
            except LaunchlabError:
                # A group CloudFormation could not delete (DELETE_FAILED) goes by force, with
                # its instances; the second destroy then finds it gone and carries on.
                with aws_errors(sandbox.region):
                    deleted = force_delete_groups(sandbox.client("autoscaling"))
                if not deleted:
                    raise
                console.print(
                    f"force-deleted Auto Scaling group(s) {', '.join(deleted)}; "
                    "running cdk destroy again",
                    highlight=False,
                    markup=False,
                )
                run_cdk(destroy, region=sandbox.region, what="cdk destroy", next_step=next_step)
    return report_leftovers(sandbox, console)
