"""Every billable thing the synthesized templates would create, and its size, per launch type.

Read from the CloudFormation templates only (never cdk.json): change the config, synthesize,
and this changes with it. A value the report needs that is an unresolved intrinsic (a Ref, an
import) is an error naming the resource, not a guess.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from launchlab import reachability
from launchlab.assembly import Assembly
from launchlab.errors import LaunchlabError
from stacks import names
from stacks.launch_types import SHARED

# Documented defaults for properties a template may leave out.
ALB_DEFAULT_IDLE_TIMEOUT_S = 60  # ELB docs: idle_timeout.timeout_seconds defaults to 60
# Target group health check defaults for an ALB, when a template leaves them out:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
ALB_DEFAULT_HEALTH_CHECK = {"interval_s": 30, "timeout_s": 5, "healthy": 5, "unhealthy": 2}
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html
ALB_DEFAULT_DEREGISTRATION_DELAY_S = 300
# ECS's defaults for a container health check, a container's stop timeout and a rolling
# deployment: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
ECS_DEFAULT_CONTAINER_HEALTH = {"interval_s": 30, "retries": 3, "start_period_s": 0, "timeout_s": 5}
ECS_DEFAULT_STOP_TIMEOUT_S = 30
ECS_DEFAULT_ROLLOUT_PERCENT = (100, 200)
FARGATE_INCLUDED_EPHEMERAL_GIB = 20  # Fargate pricing: 20 GB per task at no charge


@dataclass(frozen=True)
class LoadBalancer:
    logical_id: str
    public_ipv4: int  # an internet-facing ALB holds one public IPv4 address per subnet (AZ)
    idle_timeout_s: int
    rules: int  # listener rules beyond each listener's default action


@dataclass(frozen=True)
class Scaling:
    metric: str  # "cpu", "memory", "requests" or "none"
    target: float  # percent for cpu/memory, requests per target per minute for requests
    scale_out_cooldown_s: int
    scale_in_cooldown_s: int = 0


@dataclass(frozen=True)
class TargetGroup:
    """How the ALB judges a task and lets it go: what deploys and scale-outs wait for."""

    interval_s: int
    timeout_s: int
    healthy_threshold: int
    unhealthy_threshold: int
    deregistration_delay_s: int


@dataclass(frozen=True)
class ContainerHealth:
    """The container's own health check in the task definition (Docker's HEALTHCHECK semantics:
    unhealthy after ``retries`` failures once ``start_period_s`` is over)."""

    interval_s: int
    retries: int
    start_period_s: int
    timeout_s: int


@dataclass(frozen=True)
class Rollout:
    """An ECS service's rolling deployment as the template configures it."""

    min_healthy_percent: int
    max_percent: int
    circuit_breaker: bool
    rollback: bool
    stop_timeout_s: int
    target_group: TargetGroup | None = None
    container_health: ContainerHealth | None = None


@dataclass(frozen=True)
class Tasks:
    cpu_units: int
    memory_mib: int
    architecture: str  # x86_64 or arm64
    spot: bool
    min_count: int
    max_count: int
    public_ip: bool
    ephemeral_gib: int
    scaling: Scaling
    health_check_grace_s: int
    rollout: Rollout | None = None  # None for Express Mode: ECS manages its rollout
    # The capacity provider strategy's mix: tasks kept on on-demand capacity first, then the
    # share of the rest on Spot (FARGATE_SPOT's weight over the weights' sum). None: all or
    # nothing, as ``spot`` says.
    on_demand_base: int = 0
    spot_share: float | None = None
    # Subnets (Availability Zones) the service's tasks are placed in.
    zones: int = 1

    @property
    def spot_fraction(self) -> float:
        """The share of the tasks above ``on_demand_base`` that run on Spot."""
        if self.spot_share is not None:
            return self.spot_share
        return 1.0 if self.spot else 0.0


@dataclass(frozen=True)
class Instances:
    instance_type: str
    min_count: int
    max_count: int
    volume_gib: int
    volume_type: str
    public_ip: bool
    # "standard" or "unlimited" for burstable (t-family) types, None for the others.
    cpu_credits: str | None = None
    # The capacity provider's managed scaling: the instance warm-up it waits before the next
    # step (None when the template names none: ECS's default applies), and whether it is on.
    warmup_s: int | None = None
    managed_scaling: bool = False
    # The public SSM parameter the AMI is resolved from at deploy time
    # ("/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"): which AMI
    # family the owner patches. None for a literal image id.
    ami_parameter: str | None = None
    # Subnets (Availability Zones) the instances are launched in, and whether the service
    # spreads its tasks across them (then each zone with a task needs an instance).
    zones: int = 1
    spread_zones: bool = False
    # A mixed-instances group's purchase options: instances kept on demand first, then the
    # share of the rest on Spot (100 - OnDemandPercentageAboveBaseCapacity).
    on_demand_base: int = 0
    spot_share: float = 0.0
    # ECS Managed Instances: awsvpc tasks take a trunk ENI's branch interfaces where the type
    # supports trunking; ECS on EC2 runs bridge-mode tasks (no interface each).
    awsvpc_trunking: bool | None = None
    # ECS Managed Instances: seconds an idle instance is kept before ECS terminates it
    # (InfrastructureOptimization.ScaleInAfter); None: ECS's default, which is not documented.
    scale_in_after_s: int | None = None


@dataclass(frozen=True)
class Function:
    memory_mb: int
    architecture: str
    timeout_s: int
    reserved_concurrency: int | None
    front_door: str  # "function-url", "http-api" or "none"


@dataclass(frozen=True)
class ManagedFunction:
    """A function on a Lambda Managed Instances capacity provider: billed by the instances
    that hold its execution environments, not by duration."""

    memory_mb: int
    architecture: str
    timeout_s: int
    instance_type: str  # the capacity provider's one allowed type
    min_environments: int
    max_environments: int
    concurrency_per_environment: int
    memory_gib_per_vcpu: int


@dataclass(frozen=True)
class LogGroup:
    logical_id: str
    stack: str
    retention_days: int | None
    # What writes to it, which decides how many bytes each request adds:
    # "app" (container stdout), "function" (handler + platform lines), "access" (HTTP API), "other"
    role: str


@dataclass(frozen=True)
class Repository:
    logical_id: str
    name: str
    keep_images: int | None


@dataclass(frozen=True)
class Network:
    """The shared VPC's billable parts: paid by every launch type that runs inside it."""

    nat_gateways: int
    elastic_ips: int
    interface_endpoint_azs: int  # sum over interface endpoints of the subnets each spans
    public_subnets: int


@dataclass(frozen=True)
class NatInstance:
    logical_id: str
    instance_type: str
    volume_gib: int
    volume_type: str


@dataclass(frozen=True)
class Egress:
    """What one launch type's workloads route through to reach AWS when they have no public
    IP of their own (launchlab.reachability): the NAT devices and interface endpoints of the
    shared VPC it uses. Another launch type may use the same ones: each estimate carries them
    in full, as if deployed alone."""

    nat_gateways: int = 0
    nat_instances: tuple[NatInstance, ...] = ()
    # Interface endpoints used: (service, AZs) such as ("ecr.api", 2), one per endpoint, each
    # billed per AZ-hour (one subnet per AZ).
    interface_endpoints: tuple[tuple[str, int], ...] = ()
    gateway_endpoints: int = 0  # S3's: free

    @property
    def endpoint_services(self) -> tuple[str, ...]:
        return tuple(service for service, _ in self.interface_endpoints)

    @property
    def used(self) -> bool:
        return bool(self.nat_gateways or self.nat_instances or self.interface_endpoints)

    def describe(self) -> str:
        parts = []
        if self.nat_gateways:
            parts.append(f"{self.nat_gateways} NAT gateway(s)")
        for nat in self.nat_instances:
            parts.append(f"a NAT instance ({nat.instance_type})")
        if self.interface_endpoints:
            parts.append(f"VPC endpoints ({', '.join(self.endpoint_services)})")
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class LaunchType:
    launch_type: str
    stacks: tuple[str, ...]
    resource_count: int
    uses_vpc: bool
    load_balancers: tuple[LoadBalancer, ...] = ()
    instances: Instances | None = None
    tasks: Tasks | None = None
    function: Function | None = None
    managed_function: ManagedFunction | None = None
    log_groups: tuple[LogGroup, ...] = ()
    repositories: tuple[Repository, ...] = ()
    container_insights: bool = False
    egress: Egress = Egress()
    app: str | None = None  # what it runs (the launchlab:app tag): node-app or python-app
    # CloudWatch alarms the stack creates or has created for it: its own, and the two each
    # target-tracking policy (service auto scaling, capacity-provider managed scaling, Express
    # Mode's scaling) creates and manages.
    alarms: int = 0


@dataclass(frozen=True)
class Inventory:
    network: Network
    repositories: tuple[Repository, ...]
    shared_stacks: tuple[str, ...]
    shared_resource_count: int
    launch_types: Mapping[str, LaunchType] = field(default_factory=dict)
    resource_counts: Mapping[str, int] = field(default_factory=dict)


def read_inventory(assembly: Assembly) -> Inventory:
    by_type: dict[str, list[str]] = {}
    for stack_name, template in assembly.templates.items():
        by_type.setdefault(_launch_type_of(stack_name, template), []).append(stack_name)
    selected = assembly.launch_types
    missing = [t for t in (SHARED, *selected) if t not in by_type]
    if missing:
        raise LaunchlabError(
            f"{assembly.outdir}: no stack tagged {names.TAG_LAUNCH_TYPE}="
            f"{', '.join(missing)}; is this a launchlab cdk.out?"
        )
    shared = by_type[SHARED]
    network = _network(assembly, shared)
    repositories = tuple(
        repo for stack in shared for repo in _repositories(assembly.templates[stack])
    )
    network_stacks = {s for s in shared if _resources(assembly.templates[s], "AWS::EC2::VPC")}
    egress = _egress(assembly)
    launch_types = {
        launch_type: dataclasses.replace(
            _launch_type(
                assembly, launch_type, tuple(by_type[launch_type]), network_stacks, repositories
            ),
            egress=egress.get(launch_type, Egress()),
        )
        for launch_type in selected
    }
    counts = {name: len(t.get("Resources", {})) for name, t in assembly.templates.items()}
    return Inventory(
        network=network,
        repositories=repositories,
        shared_stacks=tuple(shared),
        shared_resource_count=sum(counts[s] for s in shared),
        launch_types=launch_types,
        resource_counts=counts,
    )


def _launch_type_of(stack_name: str, template: Mapping[str, Any]) -> str:
    tags: Counter[str] = Counter()
    for resource in template.get("Resources", {}).values():
        for tag in (resource.get("Properties") or {}).get("Tags") or []:
            if isinstance(tag, dict) and tag.get("Key") == names.TAG_LAUNCH_TYPE:
                tags[str(tag.get("Value"))] += 1
    if not tags:
        raise LaunchlabError(
            f"stack {stack_name} has no {names.TAG_LAUNCH_TYPE} tag: "
            "synthesize this project's app, or pass its cdk.out with --cdk-out"
        )
    return tags.most_common(1)[0][0]


def _resources(template: Mapping[str, Any], kind: str) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (logical_id, resource.get("Properties") or {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == kind
    ]


def _one(
    stack: str, template: Mapping[str, Any], kind: str
) -> tuple[str, Mapping[str, Any]] | None:
    found = _resources(template, kind)
    if len(found) > 1:
        raise LaunchlabError(f"{stack}: expected at most one {kind}, found {len(found)}")
    return found[0] if found else None


def _int(value: Any, what: str) -> int:
    """A template number (CloudFormation often writes them as strings)."""
    try:
        return int(str(value))
    except ValueError:
        raise LaunchlabError(
            f"cannot size {what} from the template: {json.dumps(value)[:80]} is not a number"
        ) from None


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _references(template: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(stack, output or export name) for every cross-stack value the template reads.

    CDK writes these as Fn::ImportValue "Stack:ExportsOutput..." (weak references) or as
    Fn::GetStackOutput (strong references); both name the producing stack.
    """
    found: set[tuple[str, str]] = set()
    for value in _walk(template.get("Resources", {})):
        if not isinstance(value, dict):
            continue
        imported = value.get("Fn::ImportValue")
        if isinstance(imported, str):
            stack, _, export = imported.partition(":")
            found.add((stack, export))
        output = value.get("Fn::GetStackOutput")
        if isinstance(output, dict) and isinstance(output.get("StackName"), str):
            found.add((output["StackName"], str(output.get("OutputName", ""))))
    return found


def _network(assembly: Assembly, shared: list[str]) -> Network:
    nat = eips = endpoint_azs = public_subnets = 0
    for stack in shared:
        template = assembly.templates[stack]
        nat += len(_resources(template, "AWS::EC2::NatGateway"))
        eips += len(_resources(template, "AWS::EC2::EIP"))
        for _, props in _resources(template, "AWS::EC2::VPCEndpoint"):
            if props.get("VpcEndpointType") == "Interface":
                endpoint_azs += len(props.get("SubnetIds") or [])
        public_subnets += sum(
            1
            for _, props in _resources(template, "AWS::EC2::Subnet")
            if props.get("MapPublicIpOnLaunch") is True
        )
    return Network(nat, eips, endpoint_azs, public_subnets)


def _egress(assembly: Assembly) -> dict[str, Egress]:
    """launch type -> the NAT devices and interface endpoints its workloads route through."""
    used: dict[str, set[str]] = {}
    for way in reachability.ways_out(assembly):
        used.setdefault(way.placement.launch_type, set()).update(way.via)
    resources = {
        logical_id: (stack, resource)
        for stack in assembly.templates
        for logical_id, resource in assembly.templates[stack].get("Resources", {}).items()
    }
    found = {}
    for launch_type, ids in used.items():
        nat_gateways, instances, endpoints = 0, [], []
        for logical_id in sorted(ids):
            stack, resource = resources[logical_id]
            kind, props = resource.get("Type"), resource.get("Properties") or {}
            if kind == "AWS::EC2::NatGateway":
                nat_gateways += 1
            elif kind == "AWS::EC2::Instance":
                instances.append(_nat_instance(stack, logical_id, props))
            elif kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
                service = reachability.service_suffix(props.get("ServiceName"))
                endpoints.append((service, len(props.get("SubnetIds") or [])))
        gateways = sum(
            1
            for logical_id in ids
            if resources[logical_id][1].get("Type") == "AWS::EC2::VPCEndpoint"
            and (resources[logical_id][1].get("Properties") or {}).get("VpcEndpointType")
            != "Interface"
        )
        found[launch_type] = Egress(
            nat_gateways=nat_gateways,
            nat_instances=tuple(instances),
            interface_endpoints=tuple(sorted(endpoints)),
            gateway_endpoints=gateways,
        )
    return found


def _nat_instance(stack: str, logical_id: str, props: Mapping[str, Any]) -> NatInstance:
    """A NAT instance the templates define; only one with a public IPv4 address is a way out
    (launchlab.reachability), so its address is part of what it costs."""
    instance_type = props.get("InstanceType")
    if not isinstance(instance_type, str):
        raise LaunchlabError(f"{stack}: the NAT instance {logical_id} has no literal InstanceType")
    volume_gib, volume_type = 0, "gp3"
    for mapping in props.get("BlockDeviceMappings") or []:
        ebs = mapping.get("Ebs") or {}
        volume_gib += _int(ebs.get("VolumeSize", 0), f"{logical_id} volume size")
        volume_type = str(ebs.get("VolumeType", "gp2"))
    return NatInstance(logical_id, instance_type, volume_gib, volume_type)


def _repositories(template: Mapping[str, Any]) -> list[Repository]:
    repos = []
    for logical_id, props in _resources(template, "AWS::ECR::Repository"):
        keep: int | None = None
        policy = (props.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        if isinstance(policy, str):
            for rule in json.loads(policy).get("rules", []):
                selection = rule.get("selection", {})
                if selection.get("countType") == "imageCountMoreThan":
                    keep = int(selection["countNumber"])
        name = props.get("RepositoryName")
        repos.append(Repository(logical_id, name if isinstance(name, str) else logical_id, keep))
    return repos


def _launch_type(
    assembly: Assembly,
    launch_type: str,
    stacks: tuple[str, ...],
    network_stacks: set[str],
    repositories: tuple[Repository, ...],
) -> LaunchType:
    if len(stacks) != 1:
        raise LaunchlabError(f"expected one stack tagged {launch_type}, found {', '.join(stacks)}")
    stack = stacks[0]
    template = assembly.templates[stack]
    refs = _references(template)
    used_repos = tuple(
        repo for repo in repositories if any(repo.logical_id in name for _, name in refs)
    )
    clusters = _resources(template, "AWS::ECS::Cluster")
    insights = any(
        setting.get("Name") == "containerInsights" and setting.get("Value") != "disabled"
        for _, props in clusters
        for setting in props.get("ClusterSettings") or []
    )
    return LaunchType(
        launch_type=launch_type,
        stacks=stacks,
        resource_count=len(template.get("Resources", {})),
        uses_vpc=any(ref_stack in network_stacks for ref_stack, _ in refs),
        load_balancers=_load_balancers(template) + express_load_balancer(template),
        instances=_instances(stack, template) or _managed_instances(stack, template, refs),
        tasks=_tasks(stack, template) or _express_tasks(stack, template, refs),
        function=_function(stack, template),
        managed_function=_managed_function(stack, template),
        log_groups=_log_groups(stack, template),
        repositories=used_repos,
        container_insights=insights,
        app=_app(template),
        alarms=_alarms(template),
    )


def _app(template: Mapping[str, Any]) -> str | None:
    """The app the workload runs: the value of its launchlab:app tag."""
    for resource in template.get("Resources", {}).values():
        for tag in (resource.get("Properties") or {}).get("Tags") or []:
            if isinstance(tag, dict) and tag.get("Key") == names.TAG_APP:
                return str(tag.get("Value"))
    return None


# Target tracking creates and manages two CloudWatch alarms per policy, one to scale out and one
# to scale in ("the two CloudWatch alarms created on your behalf":
# https://github.com/aws/aws-cli/blob/develop/awscli/examples/application-autoscaling/put-scaling-policy.rst).
ALARMS_PER_TARGET_TRACKING = 2


def _alarms(template: Mapping[str, Any]) -> int:
    """The stack's CloudWatch alarms: its own, and those its target-tracking policies make."""
    tracking = sum(
        1
        for _, props in _resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
        if props.get("PolicyType") == "TargetTrackingScaling"
    )
    tracking += sum(
        1
        for _, props in _resources(template, "AWS::ECS::CapacityProvider")
        if ((props.get("AutoScalingGroupProvider") or {}).get("ManagedScaling") or {}).get("Status")
        == "ENABLED"
    )
    tracking += len(_resources(template, "AWS::ECS::ExpressGatewayService"))
    own = len(_resources(template, "AWS::CloudWatch::Alarm"))
    return own + ALARMS_PER_TARGET_TRACKING * tracking


def _load_balancers(template: Mapping[str, Any]) -> tuple[LoadBalancer, ...]:
    rules = len(_resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule"))
    found = []
    for logical_id, props in _resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        if props.get("Type", "application") != "application":
            continue
        attributes = {a.get("Key"): a.get("Value") for a in props.get("LoadBalancerAttributes", [])}
        subnets = len(props.get("Subnets") or props.get("SubnetMappings") or [])
        public = props.get("Scheme", "internet-facing") == "internet-facing"
        found.append(
            LoadBalancer(
                logical_id=logical_id,
                public_ipv4=subnets if public else 0,
                idle_timeout_s=_int(
                    attributes.get("idle_timeout.timeout_seconds", ALB_DEFAULT_IDLE_TIMEOUT_S),
                    f"{logical_id} idle timeout",
                ),
                rules=rules,
            )
        )
    return tuple(found)


def _instances(stack: str, template: Mapping[str, Any]) -> Instances | None:
    group = _one(stack, template, "AWS::AutoScaling::AutoScalingGroup")
    if group is None:
        return None
    group_id, group_props = group
    launch = _one(stack, template, "AWS::EC2::LaunchTemplate")
    if launch is None:
        raise LaunchlabError(f"{stack}: the Auto Scaling group has no launch template to size")
    data = launch[1].get("LaunchTemplateData") or {}
    instance_type = data.get("InstanceType")
    if not isinstance(instance_type, str):
        raise LaunchlabError(f"{stack}: the launch template's InstanceType is not a literal")
    volume_gib, volume_type = 0, "gp3"
    for mapping in data.get("BlockDeviceMappings") or []:
        ebs = mapping.get("Ebs") or {}
        volume_gib += _int(ebs.get("VolumeSize", 0), f"{stack} EBS volume size")
        volume_type = str(ebs.get("VolumeType", "gp2"))
    distribution = (group_props.get("MixedInstancesPolicy") or {}).get(
        "InstancesDistribution"
    ) or {}
    above_base = _int(
        distribution.get("OnDemandPercentageAboveBaseCapacity", 100), "OnDemandPercentage"
    )
    service = _one(stack, template, "AWS::ECS::Service")
    strategies = (service[1].get("PlacementStrategies") or []) if service else []
    return Instances(
        instance_type=instance_type,
        zones=len(group_props.get("VPCZoneIdentifier") or []) or 1,
        spread_zones=any(
            s.get("Type") == "spread" and s.get("Field") == "attribute:ecs.availability-zone"
            for s in strategies
        ),
        on_demand_base=_int(distribution.get("OnDemandBaseCapacity", 0), "OnDemandBaseCapacity"),
        spot_share=(100 - above_base) / 100,
        min_count=_int(group_props.get("MinSize"), f"{group_id} MinSize"),
        max_count=_int(group_props.get("MaxSize"), f"{group_id} MaxSize"),
        volume_gib=volume_gib,
        volume_type=volume_type,
        public_ip=any(
            nic.get("AssociatePublicIpAddress") is True
            for nic in data.get("NetworkInterfaces") or []
        ),
        cpu_credits=_cpu_credits(instance_type, data.get("CreditSpecification")),
        ami_parameter=_ami_parameter(template, data.get("ImageId")),
        **_managed_scaling(template),
    )


def _ami_parameter(template: Mapping[str, Any], image_id: Any) -> str | None:
    ref = image_id.get("Ref") if isinstance(image_id, dict) else None
    parameter = (template.get("Parameters") or {}).get(ref) if isinstance(ref, str) else None
    default = (parameter or {}).get("Default")
    return default if isinstance(default, str) else None


def _managed_scaling(template: Mapping[str, Any]) -> dict[str, Any]:
    """The Auto Scaling group capacity provider's managed scaling: on or off, its warm-up."""
    for _, props in _resources(template, "AWS::ECS::CapacityProvider"):
        scaling = (props.get("AutoScalingGroupProvider") or {}).get("ManagedScaling") or {}
        if scaling.get("Status") == "ENABLED":
            warmup = scaling.get("InstanceWarmupPeriod")
            return {
                "managed_scaling": True,
                "warmup_s": None if warmup is None else _int(warmup, "InstanceWarmupPeriod"),
            }
    return {}


def _cpu_credits(instance_type: str, specification: Any) -> str | None:
    """The template's credit mode, or EC2's default when it names none: standard for T2,
    unlimited for T3, T3a and T4g (RunInstances API reference, CreditSpecification)."""
    if not instance_type.startswith("t"):
        return None
    mode = (specification or {}).get("CpuCredits")
    if mode is None:
        return "standard" if instance_type.startswith("t2.") else "unlimited"
    return str(mode).lower()


def _single_instance_type(stack: str, requirements: Mapping[str, Any]) -> str:
    allowed = requirements.get("AllowedInstanceTypes") or []
    if len(allowed) != 1 or not isinstance(allowed[0], str) or "*" in allowed[0]:
        raise LaunchlabError(
            f"{stack}: the capacity provider allows {json.dumps(allowed)[:80]}; the report "
            "prices one pinned instance type (AllowedInstanceTypes with one entry)"
        )
    return allowed[0]


def _in_public_subnets(refs: set[tuple[str, str]]) -> bool:
    """Whether the workload's subnets are the VPC's public ones (no NAT): the network stack's
    exports name the subnet group they come from."""
    return any("publicSubnet" in export for _, export in refs) and not any(
        "privateSubnet" in export for _, export in refs
    )


def _managed_instances(
    stack: str, template: Mapping[str, Any], refs: set[tuple[str, str]]
) -> Instances | None:
    """ECS Managed Instances: ECS launches the capacity provider's instance type as tasks need
    it (no group of our own, none kept at zero tasks); each has the provider's task volume."""
    for _, props in _resources(template, "AWS::ECS::CapacityProvider"):
        provider = props.get("ManagedInstancesProvider")
        if not provider:
            continue
        launch = provider.get("InstanceLaunchTemplate") or {}
        storage = (launch.get("StorageConfiguration") or {}).get("StorageSizeGiB")
        service = _one(stack, template, "AWS::ECS::Service")
        target = _one(stack, template, "AWS::ApplicationAutoScaling::ScalableTarget")
        max_tasks = _int(target[1]["MaxCapacity"], "MaxCapacity") if target else 1
        return Instances(
            instance_type=_single_instance_type(stack, launch.get("InstanceRequirements") or {}),
            zones=len((launch.get("NetworkConfiguration") or {}).get("Subnets") or []) or 1,
            # A service's tasks are spread across zones unless it says otherwise
            # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html).
            spread_zones=True,
            awsvpc_trunking=True,
            min_count=0,
            # Never more instances than tasks: one task per instance at the most.
            max_count=max_tasks if service else 0,
            volume_gib=_int(storage, f"{stack} StorageSizeGiB") if storage is not None else 80,
            volume_type="gp3",
            public_ip=_in_public_subnets(refs),
            scale_in_after_s=_optional_int(
                (provider.get("InfrastructureOptimization") or {}).get("ScaleInAfter"),
                f"{stack} ScaleInAfter",
            ),
        )
    return None


def _optional_int(value: Any, what: str) -> int | None:
    return None if value is None else _int(value, what)


# What AutoScalingMetric of an Express service means, in the Scaling vocabulary.
_EXPRESS_METRICS = {
    "AVERAGE_CPU": "cpu",
    "AVERAGE_MEMORY": "memory",
    "REQUEST_COUNT_PER_TARGET": "requests",
}


def _express_tasks(
    stack: str, template: Mapping[str, Any], refs: set[tuple[str, str]]
) -> Tasks | None:
    """ECS Express Mode: Fargate tasks whose size and scaling the service itself states."""
    found = _one(stack, template, "AWS::ECS::ExpressGatewayService")
    if found is None:
        return None
    service_id, props = found
    scaling = props.get("ScalingTarget") or {}
    metric = str(scaling.get("AutoScalingMetric", "AVERAGE_CPU"))
    return Tasks(
        cpu_units=_int(props.get("Cpu", 256), f"{service_id} Cpu"),
        memory_mib=_int(props.get("Memory", 512), f"{service_id} Memory"),
        # Express Mode runs Linux x86_64 Fargate tasks: it has no platform setting.
        architecture="x86_64",
        spot=False,
        min_count=_int(scaling.get("MinTaskCount", 1), f"{service_id} MinTaskCount"),
        max_count=_int(scaling.get("MaxTaskCount", 1), f"{service_id} MaxTaskCount"),
        zones=len((props.get("NetworkConfiguration") or {}).get("Subnets") or []) or 1,
        # ECS gives Express tasks no public IP, wherever they run (launchlab.reachability):
        # they reach ECR and CloudWatch Logs through the VPC's endpoints, priced as egress.
        public_ip=False,
        ephemeral_gib=FARGATE_INCLUDED_EPHEMERAL_GIB,
        scaling=Scaling(
            metric=_EXPRESS_METRICS.get(metric, "cpu"),
            target=float(scaling.get("AutoScalingTargetValue", 60)),
            scale_out_cooldown_s=0,
        ),
        health_check_grace_s=0,
    )


# ECS creates Express Mode's ALB outside the template and shares it among the Express
# services of a VPC (up to 25 per ALB, one listener rule each): one ALB however many services
# the template holds. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/express-service-overview.html
EXPRESS_ALB = "express-managed-alb"


def express_load_balancer(template: Mapping[str, Any]) -> tuple[LoadBalancer, ...]:
    services = _resources(template, "AWS::ECS::ExpressGatewayService")
    if not services:
        return ()
    subnets = {
        json.dumps(subnet, sort_keys=True)
        for _, props in services
        for subnet in (props.get("NetworkConfiguration") or {}).get("Subnets") or []
    }
    return (
        LoadBalancer(
            logical_id=EXPRESS_ALB,
            public_ipv4=len(subnets),
            idle_timeout_s=ALB_DEFAULT_IDLE_TIMEOUT_S,
            rules=len(services),
        ),
    )


def _managed_function(stack: str, template: Mapping[str, Any]) -> ManagedFunction | None:
    for logical_id, props in _resources(template, "AWS::Lambda::Function"):
        config = (props.get("CapacityProviderConfig") or {}).get(
            "LambdaManagedInstancesCapacityProviderConfig"
        )
        if not config:
            continue
        provider = _one(stack, template, "AWS::Lambda::CapacityProvider")
        if provider is None:
            raise LaunchlabError(f"{stack}: {logical_id} names a capacity provider elsewhere")
        requirements = provider[1].get("InstanceRequirements") or {}
        scaling: Mapping[str, Any] = {}
        for _, version in _resources(template, "AWS::Lambda::Version"):
            scaling = version.get("FunctionScalingConfig") or scaling
        return ManagedFunction(
            memory_mb=_int(props.get("MemorySize", 2048), f"{logical_id} MemorySize"),
            architecture=str((props.get("Architectures") or ["x86_64"])[0]),
            timeout_s=_int(props.get("Timeout", 3), f"{logical_id} Timeout"),
            instance_type=_single_instance_type(stack, requirements),
            min_environments=_int(
                scaling.get("MinExecutionEnvironments", 3), "MinExecutionEnvironments"
            ),
            max_environments=_int(
                scaling.get("MaxExecutionEnvironments", 3), "MaxExecutionEnvironments"
            ),
            concurrency_per_environment=_int(
                config.get("PerExecutionEnvironmentMaxConcurrency", 1),
                "PerExecutionEnvironmentMaxConcurrency",
            ),
            memory_gib_per_vcpu=_int(
                config.get("ExecutionEnvironmentMemoryGiBPerVCpu", 2),
                "ExecutionEnvironmentMemoryGiBPerVCpu",
            ),
        )
    return None


def _scaling(template: Mapping[str, Any]) -> Scaling:
    for _, props in _resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy"):
        config = props.get("TargetTrackingScalingPolicyConfiguration") or {}
        metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "")
        kind = {
            "ECSServiceAverageCPUUtilization": "cpu",
            "ECSServiceAverageMemoryUtilization": "memory",
            "ALBRequestCountPerTarget": "requests",
        }.get(metric)
        if kind:
            return Scaling(
                metric=kind,
                target=float(config.get("TargetValue", 100)),
                scale_out_cooldown_s=_int(config.get("ScaleOutCooldown", 0), "ScaleOutCooldown"),
                scale_in_cooldown_s=_int(config.get("ScaleInCooldown", 0), "ScaleInCooldown"),
            )
    return Scaling(metric="none", target=100.0, scale_out_cooldown_s=0)


def _tasks(stack: str, template: Mapping[str, Any]) -> Tasks | None:
    service = _one(stack, template, "AWS::ECS::Service")
    if service is None:
        return None
    service_id, service_props = service
    task = _one(stack, template, "AWS::ECS::TaskDefinition")
    if task is None:
        raise LaunchlabError(f"{stack}: the ECS service has no task definition to size")
    task_id, props = task
    containers = props.get("ContainerDefinitions") or []
    # Fargate sizes the task; EC2 bridge-mode tasks are sized by their containers.
    cpu = props.get("Cpu") or sum(_int(c.get("Cpu", 0), f"{task_id} cpu") for c in containers)
    memory = props.get("Memory") or sum(
        _int(c.get("Memory", c.get("MemoryReservation", 0)), f"{task_id} memory")
        for c in containers
    )
    platform = props.get("RuntimePlatform") or {}
    strategy = service_props.get("CapacityProviderStrategy") or []
    network = (service_props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
    target = _one(stack, template, "AWS::ApplicationAutoScaling::ScalableTarget")
    desired = _int(service_props.get("DesiredCount", 1), f"{service_id} DesiredCount")
    min_count = _int(target[1]["MinCapacity"], "MinCapacity") if target else desired
    max_count = _int(target[1]["MaxCapacity"], "MaxCapacity") if target else desired
    weights = {str(s.get("CapacityProvider")): _int(s.get("Weight", 0), "Weight") for s in strategy}
    spot_weight = weights.get("FARGATE_SPOT", 0)
    return Tasks(
        cpu_units=_int(cpu, f"{task_id} Cpu"),
        memory_mib=_int(memory, f"{task_id} Memory"),
        architecture=str(platform.get("CpuArchitecture", "X86_64")).lower(),
        spot=spot_weight > 0,
        # FARGATE_SPOT alone is all on Spot (``spot``); a mix is a share of the weights.
        spot_share=spot_weight / sum(weights.values())
        if 0 < spot_weight < sum(weights.values())
        else None,
        on_demand_base=sum(
            _int(s.get("Base", 0), "Base")
            for s in strategy
            if s.get("CapacityProvider") == "FARGATE"
        ),
        zones=len(network.get("Subnets") or []) or 1,
        min_count=min_count,
        max_count=max_count,
        public_ip=network.get("AssignPublicIp") == "ENABLED",
        ephemeral_gib=_int(
            (props.get("EphemeralStorage") or {}).get("SizeInGiB", FARGATE_INCLUDED_EPHEMERAL_GIB),
            f"{task_id} EphemeralStorage",
        ),
        scaling=_scaling(template),
        health_check_grace_s=_int(service_props.get("HealthCheckGracePeriodSeconds", 0), "grace"),
        rollout=_rollout(stack, template, service_props, containers),
    )


def _rollout(
    stack: str,
    template: Mapping[str, Any],
    service: Mapping[str, Any],
    containers: list[Mapping[str, Any]],
) -> Rollout:
    config = service.get("DeploymentConfiguration") or {}
    breaker = config.get("DeploymentCircuitBreaker") or {}
    low, high = ECS_DEFAULT_ROLLOUT_PERCENT
    essential = [c for c in containers if c.get("Essential", True)] or containers
    stop = max(
        (_int(c.get("StopTimeout", ECS_DEFAULT_STOP_TIMEOUT_S), "StopTimeout") for c in essential),
        default=ECS_DEFAULT_STOP_TIMEOUT_S,
    )
    checks = [c["HealthCheck"] for c in essential if c.get("HealthCheck")]
    health = None
    if checks:
        d = ECS_DEFAULT_CONTAINER_HEALTH
        check = checks[0]
        health = ContainerHealth(
            interval_s=_int(check.get("Interval", d["interval_s"]), "HealthCheck Interval"),
            retries=_int(check.get("Retries", d["retries"]), "HealthCheck Retries"),
            start_period_s=_int(check.get("StartPeriod", d["start_period_s"]), "StartPeriod"),
            timeout_s=_int(check.get("Timeout", d["timeout_s"]), "HealthCheck Timeout"),
        )
    return Rollout(
        min_healthy_percent=_int(config.get("MinimumHealthyPercent", low), "MinimumHealthyPercent"),
        max_percent=_int(config.get("MaximumPercent", high), "MaximumPercent"),
        circuit_breaker=breaker.get("Enable") is True,
        rollback=breaker.get("Rollback") is True,
        stop_timeout_s=stop,
        target_group=_target_group(stack, template, service),
        container_health=health,
    )


def _target_group(
    stack: str, template: Mapping[str, Any], service: Mapping[str, Any]
) -> TargetGroup | None:
    """The target group the service registers its tasks with (its LoadBalancers entry)."""
    for entry in service.get("LoadBalancers") or []:
        ref = (entry.get("TargetGroupArn") or {}).get("Ref")
        resource = template.get("Resources", {}).get(ref) if isinstance(ref, str) else None
        if not resource or resource.get("Type") != "AWS::ElasticLoadBalancingV2::TargetGroup":
            continue
        props = resource.get("Properties") or {}
        attributes = {a.get("Key"): a.get("Value") for a in props.get("TargetGroupAttributes", [])}
        d = ALB_DEFAULT_HEALTH_CHECK
        return TargetGroup(
            interval_s=_int(props.get("HealthCheckIntervalSeconds", d["interval_s"]), "interval"),
            timeout_s=_int(props.get("HealthCheckTimeoutSeconds", d["timeout_s"]), "timeout"),
            healthy_threshold=_int(props.get("HealthyThresholdCount", d["healthy"]), "healthy"),
            unhealthy_threshold=_int(
                props.get("UnhealthyThresholdCount", d["unhealthy"]), "unhealthy"
            ),
            deregistration_delay_s=_int(
                attributes.get(
                    "deregistration_delay.timeout_seconds", ALB_DEFAULT_DEREGISTRATION_DELAY_S
                ),
                f"{stack} deregistration delay",
            ),
        )
    return None


def _function(stack: str, template: Mapping[str, Any]) -> Function | None:
    # The workload is the image function; zip functions here are CDK's deploy-time helpers.
    images = [
        (logical_id, props)
        for logical_id, props in _resources(template, "AWS::Lambda::Function")
        if props.get("PackageType") == "Image"
    ]
    if not images:
        return None
    if len(images) > 1:
        raise LaunchlabError(f"{stack}: expected one container-image function, found {len(images)}")
    logical_id, props = images[0]
    if _resources(template, "AWS::ApiGatewayV2::Api"):
        front_door = "http-api"
    elif _resources(template, "AWS::Lambda::Url"):
        front_door = "function-url"
    else:
        front_door = "none"
    reserved = props.get("ReservedConcurrentExecutions")
    return Function(
        memory_mb=_int(props.get("MemorySize", 128), f"{logical_id} MemorySize"),
        architecture=str((props.get("Architectures") or ["x86_64"])[0]),
        timeout_s=_int(props.get("Timeout", 3), f"{logical_id} Timeout"),
        reserved_concurrency=None if reserved is None else _int(reserved, "reserved concurrency"),
        front_door=front_door,
    )


def _log_groups(stack: str, template: Mapping[str, Any]) -> tuple[LogGroup, ...]:
    roles: dict[str, str] = {}
    for _, props in _resources(template, "AWS::ECS::TaskDefinition"):
        for container in props.get("ContainerDefinitions") or []:
            group = ((container.get("LogConfiguration") or {}).get("Options") or {}).get(
                "awslogs-group"
            )
            if isinstance(group, dict) and "Ref" in group:
                roles[group["Ref"]] = "app"
    for _, props in _resources(template, "AWS::ECS::ExpressGatewayService"):
        group = ((props.get("PrimaryContainer") or {}).get("AwsLogsConfiguration") or {}).get(
            "LogGroup"
        )
        if isinstance(group, dict) and "Ref" in group:
            roles[group["Ref"]] = "app"
    for _, props in _resources(template, "AWS::Lambda::Function"):
        # The workload function: the image one, or the one on a capacity provider (zip).
        if props.get("PackageType") == "Image" or props.get("CapacityProviderConfig"):
            group = (props.get("LoggingConfig") or {}).get("LogGroup")
            if isinstance(group, dict) and "Ref" in group:
                roles[group["Ref"]] = "function"
    for _, props in _resources(template, "AWS::ApiGatewayV2::Stage"):
        destination = (props.get("AccessLogSettings") or {}).get("DestinationArn")
        if isinstance(destination, dict) and "Fn::GetAtt" in destination:
            roles[destination["Fn::GetAtt"][0]] = "access"
    return tuple(
        LogGroup(
            logical_id=logical_id,
            stack=stack,
            retention_days=(
                None
                if props.get("RetentionInDays") is None
                else _int(props["RetentionInDays"], f"{logical_id} RetentionInDays")
            ),
            role=roles.get(logical_id, "other"),
        )
        for logical_id, props in _resources(template, "AWS::Logs::LogGroup")
    )
