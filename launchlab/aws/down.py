"""`launchlab down`: delete every stack of the project found here (launchlab/aws/teardown.py),
then look for anything of the project still there, and delete what is certainly its own when
asked (--delete-leftovers).

CloudFormation can report success and still leave things behind (a retained log group, a
repository with images, a volume detached from a terminated instance, an ENI held by a dying
Lambda). The scan asks the tagging API for everything tagged with the project and also looks
directly where leftovers are known to hide, since not every resource type is in that API.
What ECS Express Mode and the managed-instance capacity providers create outside
CloudFormation carries ECS's tag (AmazonECSManaged) or the capacity provider's, not always
ours: the scan takes everything still in the project's VPC (ALBs, target groups, security
groups, instances, ENIs; EC2 hides managed instances unless asked), Express's alarms on our
clusters, and unused Express certificates.

While the stacks delete, the lifecycle actions that ECS managed draining leaves pending are
completed: its hook (ecs-managed-draining-termination-hook, 3600 s) holds an instance in
Terminating:Wait, still billed, once the capacity provider that would complete it is gone,
and CloudFormation then waits up to an hour for the group (aws/aws-cdk#18179, #14732, #19275).

A leftover is the project's "with certainty" (``Leftover.certain``, what --delete-leftovers
deletes) when the resource itself says so: it carries the project's tag
(launchlab:project=launchlab), or ECS's AmazonECSManaged tag together with a tie to the project
that only the project's stacks make (it sits in the project's tagged VPC, or names one of the
project's clusters, whose names start with their stack's). A name alone (a log group or a
repository called like ours, an untagged ENI in our VPC, an Express certificate) is not
certainty: those are listed for the user to judge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import botocore.exceptions
from rich.console import Console
from rich.table import Table

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
    "ec2:vpc-endpoint",
    "ec2:vpc",
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


@dataclass(frozen=True)
class Leftover:
    kind: str
    identifier: str
    found_by: str
    usd_per_hour: Decimal
    detail: str = ""
    # The public IPv4 address whose hourly charge usd_per_hour includes, if any.
    public_ip: str = ""
    # The resource itself says it is the project's (see the module's docstring).
    certain: bool = False


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
            found[_key(item.identifier)] = replace(item, certain=True)
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
            _vpc_endpoints(sandbox, prices),
            _vpcs(sandbox),
            _in_project_vpcs(sandbox, prices),
            _express_outside_the_vpc(sandbox),
            _ecs_managed_log_groups(sandbox, prices),
        ):
            for item in looks:
                confirmed.add(_key(item.identifier))
                previous = found.get(_key(item.identifier))
                by, certain = item.found_by, item.certain
                if previous and previous.found_by != item.found_by:
                    by = f"{previous.found_by} + {item.found_by}"
                if previous:
                    certain = certain or previous.certain
                certain = certain or item.found_by in _CERTAIN_FINDERS
                found[_key(item.identifier)] = replace(item, found_by=by, certain=certain)
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


# Looks that find a resource by the project's tag on the resource itself.
_CERTAIN_FINDERS = {"tagging API", "tag filter"}


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
            yield _log_group_leftover(group, name, "name", prices)


def _log_group_leftover(
    group: Mapping[str, Any], name: str, found_by: str, prices: RegionPrices, certain: bool = False
) -> Leftover:
    """A log group, priced by the bytes it stores (GB-month)."""
    stored = Decimal(int(group.get("storedBytes", 0)))
    return Leftover(
        "logs:log-group", str(group.get("arn", name)), found_by,
        stored / GIB * prices.per_hour("logs.storage_gb_month"),
        f"{name}: {stored / 1024**2:.1f} MiB stored", certain=certain,
    )  # fmt: skip


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
    # A NAT instance forwards others' traffic: EC2's source/destination check is off on it.
    nat = ", NAT instance" if instance.get("SourceDestCheck") is False else ""
    return Leftover(
        "ec2:instance", str(instance["InstanceId"]), found_by, cost,
        f"{kind}, {state}{nat}{managed}{unpriced}", public,
        certain=_tied(instance.get("Tags", [])),
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


def _project_groups(client: Any, launch_type: str | None = None) -> Iterator[dict[str, Any]]:
    filters = [TAG_FILTER]
    if launch_type is not None:
        filters.append({"Name": f"tag:{names.TAG_LAUNCH_TYPE}", "Values": [launch_type]})
    yield from _pages(client, "describe_auto_scaling_groups", "AutoScalingGroups", Filters=filters)


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


def force_delete_groups(autoscaling: Any, launch_type: str | None = None) -> list[str]:
    """Release held instances, then delete the project's groups (``launch_type``'s only, if
    given) with their instances."""
    release_held_instances(autoscaling)
    deleted = []
    for group in _project_groups(autoscaling, launch_type):
        name = str(group["AutoScalingGroupName"])
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        deleted.append(name)
    return deleted


def _vpcs(sandbox: Sandbox) -> Iterator[Leftover]:
    # A VPC costs nothing itself; what is in it is listed, and priced, on its own rows.
    for vpc in _project_vpcs(sandbox):
        yield Leftover("ec2:vpc", vpc, "tag filter", Decimal(0), "the project's network")


def _project_vpcs(sandbox: Sandbox) -> list[str]:
    client = sandbox.client("ec2")
    vpcs = _pages(client, "describe_vpcs", "Vpcs", Filters=[TAG_FILTER])
    return [str(vpc["VpcId"]) for vpc in vpcs]


def _ecs_managed(tags: Iterable[Mapping[str, Any]]) -> str:
    managed = any(t.get("Key") == ECS_MANAGED_TAG for t in tags)
    return f" ({ECS_MANAGED_TAG}: created by ECS)" if managed else ""


def _tied(tags: Iterable[Mapping[str, Any]]) -> bool:
    """In the project's VPC and tagged by the project or by ECS: the project's with certainty
    (see the module's docstring)."""
    tags = list(tags)
    return _has_project_tag(tags) or any(t.get("Key") == ECS_MANAGED_TAG for t in tags)


def _in_project_vpcs(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    """Everything still in the project's VPC, tagged or not: what ECS Express Mode (its ALB,
    target groups, security groups) and the managed-instance capacity providers (instances,
    their ENIs) create outside CloudFormation, the network's endpoints, and whatever keeps the
    VPC from being deleted."""
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
            certain=_tied(tags.get(arn, [])),
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
            certain=_tied(tags.get(arn, [])),
        )  # fmt: skip
    ec2 = sandbox.client("ec2")
    for sg in _pages(ec2, "describe_security_groups", "SecurityGroups", Filters=in_vpcs):
        if sg.get("GroupName") == "default":  # goes with the VPC
            continue
        yield Leftover(
            "ec2:security-group", str(sg["GroupId"]), here, Decimal(0),
            f"{sg.get('GroupName')}{_ecs_managed(sg.get('Tags', []))}",
            certain=_tied(sg.get("Tags", [])),
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
        found = _eni_leftover(eni, prices, here)
        yield replace(found, certain=_tied(eni.get("TagSet", [])))
    for endpoint in _pages(ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=in_vpcs):
        found_endpoint = _endpoint_leftover(endpoint, prices, here)
        if found_endpoint is not None:
            yield found_endpoint


def _ecs_managed_arns(sandbox: Sandbox) -> set[str]:
    """Every resource here that carries ECS's AmazonECSManaged tag. (Without the tagging API's
    type filter: moto 5.2.5 matches no log group with it.)"""
    tagging = sandbox.client("resourcegroupstaggingapi")
    return {
        str(resource["ResourceARN"])
        for resource in _pages(
            tagging, "get_resources", "ResourceTagMappingList",
            TagFilters=[{"Key": ECS_MANAGED_TAG}],
        )
    }  # fmt: skip


def _express_outside_the_vpc(sandbox: Sandbox) -> Iterator[Leftover]:
    """What ECS Express Mode creates that no VPC holds: the CloudWatch alarms that watch its
    deployments (on the project's clusters, whose names start with their stack's) and the ACM
    certificate of the service's generated name, once nothing uses it."""
    stacks = tuple(launch_types.BY_STACK)
    ecs_managed = _ecs_managed_arns(sandbox)
    cloudwatch = sandbox.client("cloudwatch")
    for alarm in _pages(cloudwatch, "describe_alarms", "MetricAlarms"):
        clusters = [
            str(d.get("Value"))
            for d in alarm.get("Dimensions", [])
            if d.get("Name") == "ClusterName" and str(d.get("Value")).startswith(stacks)
        ]
        if clusters:
            tagged = str(alarm["AlarmArn"]) in ecs_managed
            yield Leftover(
                "cloudwatch:alarm", str(alarm["AlarmArn"]),
                f"cluster name + {ECS_MANAGED_TAG} tag" if tagged else "cluster name", Decimal(0),
                f"{alarm.get('AlarmName')} on {clusters[0]} (no alarm price in the table)",
                certain=tagged,
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
            # Not certain: another team's Express service in this account leaves the same.
            yield Leftover(
                "acm:certificate", arn, f"{ECS_MANAGED_TAG} tag, used by nothing", Decimal(0),
                f"{name} (public certificates are free)",
            )  # fmt: skip


def _ecs_managed_log_groups(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    """Log groups ECS created for Express Mode or Managed Instances (tagged AmazonECSManaged)
    whose names name one of the project's clusters (a cluster's name starts with its stack's)."""
    stacks = tuple(launch_types.BY_STACK)
    logs = sandbox.client("logs")
    for arn in sorted(_ecs_managed_arns(sandbox)):
        if ":log-group:" not in arn:
            continue
        name = arn.split(":log-group:", 1)[1].removesuffix(":*")
        if not any(stack in name for stack in stacks):
            continue
        for group in _pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name):
            if group.get("logGroupName") != name:
                continue
            yield _log_group_leftover(
                {"arn": arn, **group}, name, f"{ECS_MANAGED_TAG} tag", prices, certain=True
            )


def _vpc_endpoints(sandbox: Sandbox, prices: RegionPrices) -> Iterator[Leftover]:
    client = sandbox.client("ec2")
    for endpoint in _pages(client, "describe_vpc_endpoints", "VpcEndpoints", Filters=[TAG_FILTER]):
        found = _endpoint_leftover(endpoint, prices, "tag filter")
        if found is not None:
            yield found


def _endpoint_leftover(
    endpoint: Mapping[str, Any], prices: RegionPrices, found_by: str
) -> Leftover | None:
    """A VPC endpoint (egress through endpoints): an interface endpoint bills per hour in each
    subnet (Availability Zone) it has a network interface in, a gateway endpoint (S3,
    DynamoDB) nothing (aws.amazon.com/privatelink/pricing)."""
    state = str(endpoint.get("State", "")).lower()
    if state in ("deleted", "rejected", "failed", "expired"):
        return None
    kind = str(endpoint.get("VpcEndpointType", ""))
    if kind == "Interface":
        azs = len(endpoint.get("SubnetIds", []))
        cost, what = (
            azs * prices.per_hour("vpc.interface_endpoint_hour"),
            f"interface in {azs} AZ(s)",
        )
    else:
        cost, what = Decimal(0), kind.lower()
    return Leftover(
        "ec2:vpc-endpoint", str(endpoint["VpcEndpointId"]), found_by, cost,
        f"{endpoint.get('ServiceName')}: {what}, {state}",
        certain=_tied(endpoint.get("Tags", [])),
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


def report_leftovers(sandbox: Sandbox, console: Console, *, delete: bool = False) -> int:
    """Scan, and list what is left with its cost an hour; with ``delete``, first delete what is
    the project's with certainty and scan again. 1 if anything is left, else 0."""
    leftovers, unconfirmed = scan(sandbox)
    if delete and leftovers:
        delete_certain(sandbox, leftovers, console)
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
    left = why_left(leftovers, _held_by_stacks(sandbox, leftovers)) if not delete else {}
    deletable = [item for item in leftovers if item.identifier not in left]
    what_next = "delete them (listed above)"
    if deletable and not delete:
        what_next = (
            f"`.venv/bin/launchlab down --delete-leftovers` deletes the {len(deletable)} that "
            f"are certainly {names.PROJECT}'s, the rest are yours to check (listed above)"
        )
    Console(stderr=True).print(
        f"launchlab: {len(leftovers)} resource(s) of {names.PROJECT} remain in {sandbox.region}, "
        f"costing about ${total:.4f}/hour: {what_next}, or run "
        "`.venv/bin/launchlab down` again once a stuck stack deletion is fixed",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    return 1


# ---- --delete-leftovers ----------------------------------------------------------------------


def _name(identifier: str, marker: str) -> str:
    """The name in an ARN after ``marker`` (``repository/``, ``log-group:``, ...)."""
    return identifier.split(marker, 1)[1].removesuffix(":*") if marker in identifier else identifier


def _terminate(sandbox: Sandbox, item: Leftover) -> str:
    if ", managed by " in item.detail:
        # "EC2 instances cannot be terminated even by account admin" (aws/aws-cdk#36071): the
        # service that launched it terminates it.
        raise _Skip("managed by a service, which terminates it; not deletable by hand")
    sandbox.client("ec2").terminate_instances(InstanceIds=[_key(item.identifier)])
    return "terminating"


class _Skip(Exception):
    """A leftover --delete-leftovers leaves for the user, and why."""


# kind -> how to delete one, in the order they go (what holds a resource goes before it).
DELETERS: dict[str, Callable[[Sandbox, Leftover], str | None]] = {
    "autoscaling:autoScalingGroup": lambda sandbox, item: sandbox.client(
        "autoscaling"
    ).delete_auto_scaling_group(
        AutoScalingGroupName=_name(item.identifier, "autoScalingGroupName/"), ForceDelete=True
    ),
    "ec2:instance": _terminate,
    "ec2:natgateway": lambda sandbox, item: sandbox.client("ec2").delete_nat_gateway(
        NatGatewayId=_key(item.identifier)
    ),
    "elasticloadbalancing:loadbalancer": lambda sandbox, item: sandbox.client(
        "elbv2"
    ).delete_load_balancer(LoadBalancerArn=item.identifier),
    "ec2:vpc-endpoint": lambda sandbox, item: sandbox.client("ec2").delete_vpc_endpoints(
        VpcEndpointIds=[_key(item.identifier)]
    ),
    "elasticloadbalancing:targetgroup": lambda sandbox, item: sandbox.client(
        "elbv2"
    ).delete_target_group(TargetGroupArn=item.identifier),
    "ec2:network-interface": lambda sandbox, item: sandbox.client("ec2").delete_network_interface(
        NetworkInterfaceId=_key(item.identifier)
    ),
    "ec2:elastic-ip": lambda sandbox, item: sandbox.client("ec2").release_address(
        AllocationId=_key(item.identifier)
    ),
    "ec2:security-group": lambda sandbox, item: sandbox.client("ec2").delete_security_group(
        GroupId=_key(item.identifier)
    ),
    "ec2:volume": lambda sandbox, item: sandbox.client("ec2").delete_volume(
        VolumeId=_key(item.identifier)
    ),
    "logs:log-group": lambda sandbox, item: sandbox.client("logs").delete_log_group(
        logGroupName=_name(item.identifier, ":log-group:")
    ),
    "ecr:repository": lambda sandbox, item: sandbox.client("ecr").delete_repository(
        repositoryName=_name(item.identifier, ":repository/"), force=True
    ),
    "cloudwatch:alarm": lambda sandbox, item: sandbox.client("cloudwatch").delete_alarms(
        AlarmNames=[_name(item.identifier, ":alarm:")]
    ),
    "ecs:task-definition": lambda sandbox, item: sandbox.client("ecs").deregister_task_definition(
        taskDefinition=item.identifier
    ),
    "ec2:vpc": lambda sandbox, item: sandbox.client("ec2").delete_vpc(VpcId=_key(item.identifier)),
}


def _held_by_stacks(sandbox: Sandbox, leftovers: Iterable[Leftover]) -> dict[str, str]:
    """physical resource id -> the project stack still holding it: CloudFormation deletes
    those with their stack, which `launchlab down` retries; deleting them underneath a stack
    would leave it broken, not gone."""
    cloudformation = sandbox.client("cloudformation")
    held: dict[str, str] = {}
    for item in leftovers:
        if item.kind != "cloudformation:stack":
            continue
        for summary in _pages(
            cloudformation, "list_stack_resources", "StackResourceSummaries",
            StackName=item.identifier,
        ):  # fmt: skip
            if summary.get("ResourceStatus") != "DELETE_COMPLETE":
                held[str(summary.get("PhysicalResourceId"))] = item.identifier
    return held


def why_left(leftovers: list[Leftover], held: Mapping[str, str]) -> dict[str, str]:
    """identifier -> why --delete-leftovers leaves it, for each leftover it would not delete."""
    left = {}
    for item in leftovers:
        # CloudFormation's physical id of it: an ARN, an id, or a name (a log group's).
        bare = item.identifier.removesuffix(":*")
        names_of = {item.identifier, _key(item.identifier), bare.rsplit(":", 1)[-1]}
        names_of.add(bare.split("/", 1)[-1])  # a group's or a repository's name in its ARN
        stack = next((held[n] for n in names_of if n in held), None)
        if item.kind == "cloudformation:stack":
            left[item.identifier] = "left: `.venv/bin/launchlab down` deletes stacks (see above)"
        elif not item.certain:
            left[item.identifier] = (
                f"left for you: found by {item.found_by} only, not certainly {names.PROJECT}'s"
            )
        elif stack is not None:
            left[item.identifier] = f"left: part of stack {stack}, which goes with it"
        elif item.kind not in DELETERS:
            left[item.identifier] = f"left for you: no way to delete a {item.kind} here"
    return left


def delete_certain(sandbox: Sandbox, leftovers: list[Leftover], console: Console) -> None:
    """Delete each leftover that is the project's with certainty and that no stack of it still
    holds; say what became of every one."""
    left = why_left(leftovers, _held_by_stacks(sandbox, leftovers))
    order = list(DELETERS)
    table = Table(title=f"--delete-leftovers in {sandbox.region}")
    for column in ("kind", "resource", "done"):
        table.add_column(column, overflow="fold")
    ranked = sorted(
        leftovers, key=lambda i: (order.index(i.kind) if i.kind in order else 99, _order(i))
    )
    for item in ranked:
        done = left.get(item.identifier)
        if done is None:
            try:
                answer = DELETERS[item.kind](sandbox, item)
                done = answer if isinstance(answer, str) else "deleted"
            except _Skip as why:
                done = f"left: {why}"
            except botocore.exceptions.ClientError as error:
                detail = error.response.get("Error", {})
                done = f"not deleted: {detail.get('Code')}: {detail.get('Message')}"
        table.add_row(item.kind, item.identifier, done)
    console.print(table)


def down(
    sandbox: Sandbox,
    context: Mapping[str, str],
    console: Console,
    *,
    scan_only: bool = False,
    delete_leftovers: bool = False,
) -> int:
    """Delete every stack of the project found here, then scan for leftovers (always, even
    after a failed stack); non-zero when anything is left."""
    stopped = False
    if not scan_only:
        from launchlab.aws import teardown  # it builds on this module's looks

        account = check_credentials(sandbox)
        if context:
            console.print(
                f"note: down finds the deployed stacks itself; -c is not needed and was not "
                f"used ({', '.join(f'{k}={v}' for k, v in context.items())})",
                highlight=False,
                markup=False,
            )
        console.print(
            f"deleting every {names.PROJECT} stack in account {account}, {sandbox.region}",
            highlight=False,
        )
        try:
            with aws_errors(sandbox.region):
                outcome = teardown.delete_stacks(sandbox, console)
        except LaunchlabError as error:
            Console(stderr=True).print(
                f"launchlab: stack deletion stopped: {error}; looking for leftovers anyway",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            stopped = True
        else:
            for name, reason in {**outcome.failed, **outcome.kept}.items():
                verb = "failed to delete" if name in outcome.failed else "kept"
                console.print(f"not deleted: {name} ({verb}: {reason})", highlight=False,
                              markup=False, soft_wrap=True)  # fmt: skip
    code = report_leftovers(sandbox, console, delete=delete_leftovers)
    return max(code, 2 if stopped else 0)
