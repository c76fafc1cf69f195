"""Whether every workload the templates place in the VPC can reach what it must, and how.

Read from the synthesized templates alone, as CloudFormation would build them: each workload
placement (an ECS service's awsvpc configuration, an Express service's network configuration,
an Auto Scaling group's launch template, a managed-instance or Lambda capacity provider, a
function's VpcConfig) names subnets; each subnet has a route table; a default route leads to an
internet gateway, a NAT gateway or a NAT instance, and VPC endpoints serve single services. A
workload reaches a service if

- its subnet routes 0.0.0.0/0 to an attached internet gateway and it has a public IPv4
  address (its own setting, or the subnet's MapPublicIpOnLaunch where it takes the subnet's);
- or its subnet routes 0.0.0.0/0 to a NAT gateway (with an Elastic IP) or a NAT instance (no
  source/destination check, a public IP) that itself sits in such a public subnet;
- or, for that one service, an interface endpoint with private DNS admits HTTPS from the VPC
  (S3: a gateway endpoint on the subnet's route table).

What each kind of workload must reach, and whether it can have a public IP, is AWS's behaviour,
not the template's: the sources are next to each rule below and in docs/deploy.md. This is the
check a first deploy would otherwise make (a task that cannot pull its image fails with
ResourceInitializationError and the stack waits out its timeout); it runs in the tests over
every synth and in `launchlab demo`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from launchlab.assembly import Assembly
from stacks import launch_types

ANYWHERE = "0.0.0.0/0"
HTTPS = 443
# Pulling an image from ECR: the API (auth, manifests), the registry, and S3, where ECR keeps
# the layers; writing logs (awslogs): CloudWatch Logs.
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
PULL_AND_LOG = frozenset({"ecr.api", "ecr.dkr", "s3", "logs"})
# An instance that runs the ECS agent also calls ECS's control plane endpoints.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html
ECS_AGENT = PULL_AND_LOG | {"ecs", "ecs-agent", "ecs-telemetry"}
# Lambda Managed Instances' instances with no route out: a sample of a capacity provider
# without NAT (aws-samples/serverless-patterns pull request 3253, open and not merged) gives
# them endpoints for CloudWatch Logs, ECR and EC2 and an S3 gateway endpoint. Not stated in
# the Lambda guide.
LAMBDA_MANAGED_INSTANCES = frozenset({"logs", "ecr.api", "ecr.dkr", "ec2", "s3"})
NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Placement:
    """Where the templates put one workload's network interfaces."""

    stack: str
    logical_id: str
    kind: str  # for people: "Express service", "Lambda capacity provider", ...
    subnets: tuple[str, ...]  # logical ids in the stack that defines them
    # True/False: the workload's own setting or AWS's rule; None: the subnet's default
    # (MapPublicIpOnLaunch) decides.
    public_ip: bool | None
    needs: frozenset[str]
    # Its load balancer faces the internet only from public subnets (Express Mode).
    needs_public_subnets: bool = False

    @property
    def launch_type(self) -> str:
        found = launch_types.BY_STACK.get(self.stack)
        return found.key if found else launch_types.SHARED


@dataclass(frozen=True)
class WayOut:
    """How one placement's subnet reaches each service it needs."""

    placement: Placement
    subnet: str
    # service -> what carries it: "internet gateway", "NAT instance <id>", "NAT gateway
    # <id>", "endpoint <id>"; a needed service missing here is unreachable.
    routes: Mapping[str, str]
    public_subnet: bool
    problems: tuple[str, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(sorted(self.placement.needs - set(self.routes)))

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems

    @property
    def via(self) -> frozenset[str]:
        """The egress devices and endpoints this way out uses, by logical id."""
        return frozenset(
            route.split(" ", maxsplit=2)[-1]
            for route in self.routes.values()
            if route.startswith(("NAT ", "endpoint "))
        )

    def describe(self) -> str:
        where = f"{self.placement.stack}/{self.placement.logical_id} ({self.placement.kind})"
        if self.ok:
            carriers = sorted(set(self.routes.values())) or ["nothing needed"]
            return f"{where} in {self.subnet}: {', '.join(carriers)}"
        reasons = list(self.problems)
        if self.missing:
            reasons.append(f"no way to reach {', '.join(self.missing)}")
        return f"{where} in {self.subnet}: {'; '.join(reasons)}"


@dataclass
class _Network:
    """The VPC's routing, gathered from every template: what a subnet's traffic meets."""

    templates: Mapping[str, Mapping[str, Any]]
    subnets: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    table_of: dict[str, str] = field(default_factory=dict)  # subnet -> route table
    default_route: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # table -> route
    attached_gateways: set[str] = field(default_factory=set)
    nat_gateways: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    instances: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    security_groups: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    interface_endpoints: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    gateway_endpoints: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    vpc_cidrs: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)


def placements(assembly: Assembly) -> list[Placement]:
    """Every workload placement in the app's templates, in stack order."""
    found: list[Placement] = []
    for stack in assembly.stack_names:
        template = assembly.templates.get(stack)
        if template is not None:
            found.extend(_placements(stack, template))
    return found


def ways_out(assembly: Assembly) -> list[WayOut]:
    """One entry per placement and subnet: how that subnet reaches what the workload needs."""
    network = _network(assembly.templates)
    result = []
    for placement in placements(assembly):
        for reference in placement.subnets:
            result.append(_way_out(network, placement, reference))
    return result


def problems(assembly: Assembly) -> list[str]:
    """What a deploy of these templates would run into, one line each; [] if nothing."""
    return [way.describe() for way in ways_out(assembly) if not way.ok]


# --- placements ------------------------------------------------------------------------------


def _resources(template: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        yield logical_id, str(resource.get("Type")), resource.get("Properties") or {}


def _placements(stack: str, template: Mapping[str, Any]) -> Iterator[Placement]:
    resources = template.get("Resources", {})
    for logical_id, kind, props in _resources(template):
        if kind == "AWS::ECS::Service":
            awsvpc = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration")
            if not awsvpc:
                continue  # bridge or host mode: the instance's network, placed by its group
            fargate = props.get("LaunchType") == "FARGATE" or any(
                str(s.get("CapacityProvider", "")).startswith("FARGATE")
                for s in props.get("CapacityProviderStrategy") or []
            )
            yield Placement(
                stack,
                logical_id,
                "Fargate tasks" if fargate else "tasks on instances (awsvpc)",
                _refs(awsvpc.get("Subnets")),
                awsvpc.get("AssignPublicIp") == "ENABLED",
                # On EC2 capacity the instance pulls images and ships logs through its own
                # interface, never the task's (ECS Managed Instances: managed-instances-awsvpc-
                # mode.html; ECS on EC2 likewise): the task's own ENI needs nothing here.
                PULL_AND_LOG if fargate else NOTHING,
            )
        elif kind == "AWS::ECS::ExpressGatewayService":
            network = props.get("NetworkConfiguration") or {}
            yield Placement(
                stack,
                logical_id,
                "Express service",
                _refs(network.get("Subnets")),
                # No AssignPublicIp to set, and ECS gives its tasks none (aws/integrations-on-
                # dotnet-aspire-for-aws pull request 200; docs/deploy.md).
                False,
                PULL_AND_LOG,
                needs_public_subnets=True,
            )
        elif kind == "AWS::AutoScaling::AutoScalingGroup":
            launch = _launch_template_data(resources, props.get("LaunchTemplate") or {})
            interfaces = launch.get("NetworkInterfaces") or []
            public = interfaces[0].get("AssociatePublicIpAddress") if interfaces else None
            yield Placement(
                stack,
                logical_id,
                "Auto Scaling group instances",
                _refs(props.get("VPCZoneIdentifier")),
                public if isinstance(public, bool) else None,
                ECS_AGENT,
            )
        elif kind == "AWS::ECS::CapacityProvider":
            provider = props.get("ManagedInstancesProvider")
            if not provider:
                continue
            launch = provider.get("InstanceLaunchTemplate") or {}
            yield Placement(
                stack,
                logical_id,
                "ECS managed instances",
                _refs((launch.get("NetworkConfiguration") or {}).get("Subnets")),
                # "you can optionally assign a public IP address to the Amazon ECS Managed
                # Instance primary ENI by enabling IPv4 public addressing for the subnet"
                # (managed-instances-awsvpc-mode.html): the subnet decides.
                None,
                ECS_AGENT,
            )
        elif kind == "AWS::Lambda::CapacityProvider":
            vpc = props.get("VpcConfig") or {}
            yield Placement(
                stack,
                logical_id,
                "Lambda capacity provider",
                _refs(vpc.get("SubnetIds")),
                False,  # Lambda creates the instances' interfaces itself, with no public IP
                LAMBDA_MANAGED_INSTANCES,
            )
        elif kind == "AWS::Lambda::Function" and props.get("VpcConfig"):
            yield Placement(
                stack,
                logical_id,
                "function in the VPC",
                _refs(props["VpcConfig"].get("SubnetIds")),
                False,
                # Its logs go through the Lambda service, not the VPC; its own calls are its
                # code's business (ours calls nothing).
                NOTHING,
            )


def _launch_template_data(
    resources: Mapping[str, Any], reference: Mapping[str, Any]
) -> Mapping[str, Any]:
    target = reference.get("LaunchTemplateId") or reference.get("LaunchTemplateName")
    logical_id = _ref_id(target)
    if logical_id is None or logical_id not in resources:
        return {}
    return (resources[logical_id].get("Properties") or {}).get("LaunchTemplateData") or {}


def _refs(values: Any) -> tuple[str, ...]:
    """The subnet references of a property as written: Ref, Fn::ImportValue, ..."""
    if not isinstance(values, list):
        return ()
    return tuple(json.dumps(value, sort_keys=True) for value in values)


def _ref_id(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


# --- the network -----------------------------------------------------------------------------


def _network(templates: Mapping[str, Mapping[str, Any]]) -> _Network:
    network = _Network(templates)
    for stack, template in templates.items():
        for logical_id, kind, props in _resources(template):
            key = f"{stack}/{logical_id}"
            if kind == "AWS::EC2::VPC" and isinstance(props.get("CidrBlock"), str):
                network.vpc_cidrs.append(ipaddress.ip_network(props["CidrBlock"]))
            elif kind == "AWS::EC2::Subnet":
                network.subnets[key] = props
            elif kind == "AWS::EC2::SubnetRouteTableAssociation":
                subnet, table = _ref_id(props.get("SubnetId")), _ref_id(props.get("RouteTableId"))
                if subnet and table:
                    network.table_of[f"{stack}/{subnet}"] = f"{stack}/{table}"
            elif kind == "AWS::EC2::Route" and props.get("DestinationCidrBlock") == ANYWHERE:
                table = _ref_id(props.get("RouteTableId"))
                if table:
                    network.default_route[f"{stack}/{table}"] = {"stack": stack, **props}
            elif kind == "AWS::EC2::VPCGatewayAttachment":
                gateway = _ref_id(props.get("InternetGatewayId"))
                if gateway:
                    network.attached_gateways.add(f"{stack}/{gateway}")
            elif kind == "AWS::EC2::NatGateway":
                network.nat_gateways[key] = props
            elif kind == "AWS::EC2::Instance":
                network.instances[key] = props
            elif kind == "AWS::EC2::SecurityGroup":
                network.security_groups[key] = props
            elif kind == "AWS::EC2::VPCEndpoint":
                service = service_suffix(props.get("ServiceName"))
                if props.get("VpcEndpointType", "Gateway") == "Interface":
                    network.interface_endpoints[key] = (service, props)
                else:
                    network.gateway_endpoints[key] = (service, props)
    return network


def service_suffix(name: Any) -> str:
    """ "ecr.api" of com.amazonaws.<region>.ecr.api, written as a literal or as CDK's Fn::Join."""
    if isinstance(name, dict) and "Fn::Join" in name:
        parts = name["Fn::Join"][1]
        literal = parts[-1] if parts and isinstance(parts[-1], str) else ""
        return literal.lstrip(".")
    if isinstance(name, str) and name.count(".") >= 3:
        return name.split(".", 3)[3]
    return ""


def _resolve_subnet(network: _Network, stack: str, reference: str) -> str | None:
    """The subnet (stack/logical id) a reference written in ``stack`` points at."""
    value = json.loads(reference)
    own = _ref_id(value)
    if own is not None:
        return f"{stack}/{own}"
    if isinstance(value, dict) and isinstance(value.get("Fn::ImportValue"), str):
        exporter = value["Fn::ImportValue"].split(":", 1)[0]
        outputs = (network.templates.get(exporter) or {}).get("Outputs", {})
        for output in outputs.values():
            if (output.get("Export") or {}).get("Name") == value["Fn::ImportValue"]:
                target = _ref_id(output.get("Value"))
                return f"{exporter}/{target}" if target else None
    if isinstance(value, dict) and isinstance(value.get("Fn::GetStackOutput"), dict):
        wanted = value["Fn::GetStackOutput"]
        exporter = str(wanted.get("StackName"))
        output = (
            (network.templates.get(exporter) or {})
            .get("Outputs", {})
            .get(str(wanted.get("OutputName")))
        )
        target = _ref_id((output or {}).get("Value"))
        return f"{exporter}/{target}" if target else None
    return None


def _way_out(network: _Network, placement: Placement, reference: str) -> WayOut:
    subnet = _resolve_subnet(network, placement.stack, reference)
    if subnet is None or subnet not in network.subnets:
        return WayOut(placement, reference, {}, False, (f"subnet {reference} not found",))
    stack = subnet.split("/", 1)[0]
    table = network.table_of.get(subnet)
    route = network.default_route.get(table or "")
    public_subnet = _to_internet_gateway(network, stack, route)
    public_ip = placement.public_ip
    if public_ip is None:
        public_ip = network.subnets[subnet].get("MapPublicIpOnLaunch") is True
    routes: dict[str, str] = {}
    everything = None
    if public_subnet and public_ip:
        everything = "internet gateway"
    elif not public_subnet and route is not None:
        everything = _through_nat(network, stack, route)
    if everything is not None:
        routes = dict.fromkeys(placement.needs, everything)
    else:
        for service in placement.needs:
            endpoint = _endpoint_for(network, service, table)
            if endpoint is not None:
                routes[service] = f"endpoint {endpoint}"
    problems: tuple[str, ...] = ()
    if placement.needs_public_subnets and not public_subnet:
        problems = (
            "not a public subnet: ECS would make the service's load balancer internal, "
            "unreachable from the internet",
        )
    return WayOut(placement, subnet, routes, public_subnet, problems)


def _to_internet_gateway(network: _Network, stack: str, route: Mapping[str, Any] | None) -> bool:
    gateway = _ref_id((route or {}).get("GatewayId"))
    return gateway is not None and f"{stack}/{gateway}" in network.attached_gateways


def _through_nat(network: _Network, stack: str, route: Mapping[str, Any]) -> str | None:
    """What a private subnet's default route leads to, if it reaches the internet."""
    nat = _ref_id(route.get("NatGatewayId"))
    if nat is not None:
        props = network.nat_gateways.get(f"{stack}/{nat}")
        if (
            props
            and props.get("AllocationId")
            and props.get("ConnectivityType") != "private"
            and _public_subnet(network, stack, props.get("SubnetId"))
        ):
            return f"NAT gateway {nat}"
        return None
    instance = _ref_id(route.get("InstanceId"))
    if instance is not None:
        props = network.instances.get(f"{stack}/{instance}")
        if not props or props.get("SourceDestCheck") is not False:
            return None
        interfaces = props.get("NetworkInterfaces") or []
        own = interfaces[0].get("AssociatePublicIpAddress") if interfaces else None
        subnet_ref = props.get("SubnetId") or (
            interfaces[0].get("SubnetId") if interfaces else None
        )
        subnet = _ref_id(subnet_ref)
        if subnet is None or not _public_subnet(network, stack, subnet_ref):
            return None
        default = network.subnets[f"{stack}/{subnet}"].get("MapPublicIpOnLaunch") is True
        if own is True or (own is None and default):
            return f"NAT instance {instance}"
    return None


def _public_subnet(network: _Network, stack: str, reference: Any) -> bool:
    subnet = _ref_id(reference)
    if subnet is None or f"{stack}/{subnet}" not in network.subnets:
        return False
    table = network.table_of.get(f"{stack}/{subnet}")
    return _to_internet_gateway(network, stack, network.default_route.get(table or ""))


def _endpoint_for(network: _Network, service: str, table: str | None) -> str | None:
    if service == "s3":
        for key, (name, props) in sorted(network.gateway_endpoints.items()):
            tables = {
                f"{key.split('/', 1)[0]}/{_ref_id(t)}" for t in props.get("RouteTableIds") or []
            }
            if name == "s3" and table in tables:
                return key.split("/", 1)[1]
    for key, (name, props) in sorted(network.interface_endpoints.items()):
        if name != service or props.get("PrivateDnsEnabled") is not True:
            continue
        stack = key.split("/", 1)[0]
        groups = [
            network.security_groups.get(f"{stack}/{_ref_id(g)}")
            for g in props.get("SecurityGroupIds") or []
        ]
        if any(_admits_https_from_vpc(network, group) for group in groups if group):
            return key.split("/", 1)[1]
    return None


def _admits_https_from_vpc(network: _Network, group: Mapping[str, Any]) -> bool:
    for rule in group.get("SecurityGroupIngress") or []:
        cidr = rule.get("CidrIp")
        if not isinstance(cidr, str):
            continue
        protocol = str(rule.get("IpProtocol"))
        low, high = rule.get("FromPort", 0), rule.get("ToPort", 65535)
        port_ok = protocol == "-1" or (protocol == "tcp" and int(low) <= HTTPS <= int(high))
        source = ipaddress.ip_network(cidr)
        if port_ok and any(vpc.subnet_of(source) for vpc in network.vpc_cidrs):  # type: ignore[arg-type]
            return True
    return False
