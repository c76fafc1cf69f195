"""NetworkStack: the VPC every launch type shares, and the egress only some of them need.

A VPC over two availability zones with public subnets, and what else the selected
launch types need to reach AWS (stacks/launch_types.py ``network``):

- the default three need nothing more: tasks and instances sit in public subnets with
  public IPs, their security groups admitting only their load balancer (each NAT gateway
  costs about $33 a month before data, far more than the addresses it would save);
- ECS Express Mode's tasks get no public IP, and its ALB faces the internet only from
  public subnets: interface endpoints for ECR and CloudWatch Logs and a gateway endpoint
  for S3 (free) let them pull and log from the public subnets;
- Lambda Managed Instances runs in private subnets, out through ``egress``: one NAT
  instance (default), one NAT gateway, or the endpoints above plus EC2's;
- ``nat_gateways`` 1 or 2 puts every workload in private subnets behind NAT gateways,
  which then serve Lambda Managed Instances too.

Nothing here is created unless a selected launch type needs it, so the default deploy has
no private subnets, NAT or endpoints.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from stacks.config import AVAILABILITY_ZONES, NetworkConfig

VPC_CIDR = "10.40.0.0/16"
# The NAT instance: the smallest Graviton type, which forwards a sandbox's image pulls and log
# writes with room to spare; standard CPU credits, so a busy month cannot bill surplus credits.
NAT_INSTANCE_TYPE = "t4g.nano"
NAT_ROOT_VOLUME_GIB = 10
# CDK's NAT instance user data installs iptables once; on Amazon Linux 2023 that install
# sometimes fails when another dnf process cleans the package cache during it, and the
# instance then forwards nothing (aws/aws-cdk#36717, open; the fix proposed there, aws/aws-cdk
# pull request 36718, retries the install). Retried here, for at most five minutes; the rest
# is CDK's own.
NAT_INSTALL_ATTEMPTS = 60
NAT_INSTALL_RETRY_SECONDS = 5
# What a workload without a public IP calls, as VPC interface endpoints: ECR's API (auth,
# manifests) and registry (layers, which ECR keeps in S3: the S3 gateway endpoint), and
# CloudWatch Logs. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-version-migration.html
# and https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
WORKLOAD_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs")
# Lambda Managed Instances' instances with no route out call EC2 as well: a sample of a
# capacity provider with no NAT (aws-samples/serverless-patterns pull request 3253, open and not
# merged) creates interface endpoints for CloudWatch Logs, ECR and EC2 and a gateway endpoint
# for S3. Not stated in the Lambda developer guide; see docs/deploy.md.
PRIVATE_ONLY_ENDPOINTS = ("ec2",)
_INTERFACE_SERVICES = {
    "ecr.api": ec2.InterfaceVpcEndpointAwsService.ECR,
    "ecr.dkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "ec2": ec2.InterfaceVpcEndpointAwsService.EC2,
}


class NetworkStack(cdk.Stack):
    """A VPC over two availability zones with public subnets, and the egress the selected launch
    types need (see the module docstring)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, network: NetworkConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = network
        subnets = [
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
        ]
        nat_count, nat_provider = _nat(network)
        if network.private_subnets:
            self.private_subnet_type = (
                ec2.SubnetType.PRIVATE_WITH_EGRESS if nat_count else ec2.SubnetType.PRIVATE_ISOLATED
            )
            subnets.append(
                ec2.SubnetConfiguration(
                    name="private", subnet_type=self.private_subnet_type, cidr_mask=22
                )
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=AVAILABILITY_ZONES,
            nat_gateways=nat_count,
            nat_gateway_provider=nat_provider,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
        )
        if isinstance(nat_provider, ec2.NatInstanceProviderV2):
            _harden_nat_instances(self, nat_provider)
        if network.endpoints:
            self._add_endpoints(network)
        cdk.CfnOutput(self, "VpcId", value=self.vpc.vpc_id)

    @property
    def workload_subnets(self) -> ec2.SubnetSelection:
        """Where the default launch types' tasks and instances run: private subnets behind NAT
        gateways when there are some, else the public ones (with public IPs)."""
        if self.config.nat_gateways > 0:
            return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        return self.public_subnets

    @property
    def public_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)

    @property
    def private_subnets(self) -> ec2.SubnetSelection | None:
        """The private subnets, with NAT or endpoints as their way out; None if there are none."""
        if not self.config.private_subnets:
            return None
        return ec2.SubnetSelection(subnet_type=self.private_subnet_type)

    def _add_endpoints(self, network: NetworkConfig) -> None:
        names = list(WORKLOAD_ENDPOINTS)
        if network.private_endpoints:
            names += PRIVATE_ONLY_ENDPOINTS
        # Interface endpoints in one subnet per zone (private ones where they exist); private
        # DNS makes the services' usual names resolve to them from every subnet of the VPC.
        where = self.private_subnets or self.public_subnets
        for name in names:
            endpoint = self.vpc.add_interface_endpoint(
                f"{name.replace('.', '-')}-endpoint",
                service=_INTERFACE_SERVICES[name],
                subnets=where,
                private_dns_enabled=True,
                open=False,
            )
            endpoint.connections.allow_from(
                ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), "HTTPS from the VPC"
            )
        # On every route table, public ones included: Express's tasks pull layers from there.
        self.vpc.add_gateway_endpoint("s3-endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)


def _nat(network: NetworkConfig) -> tuple[int, ec2.NatProvider | None]:
    """How many NAT devices the VPC gets, and of what kind (None: CDK's NAT gateways)."""
    if network.nat_gateways > 0:
        return network.nat_gateways, None
    if network.nat_instance:
        return 1, ec2.NatProvider.instance_v2(
            instance_type=ec2.InstanceType(NAT_INSTANCE_TYPE),
            # CDK's default opens the instance to all traffic from anywhere; only the VPC may use
            # it (added below, once the VPC's CIDR exists).
            default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
            credit_specification=ec2.CpuCredits.STANDARD,
            # The public subnet would assign one anyway; said here, the template shows it.
            associate_public_ip_address=True,
            user_data=_nat_user_data(),
        )
    if "private" in network.needs and network.egress == "nat-gateway":
        return 1, ec2.NatProvider.gateway()
    return 0, None


def _nat_user_data() -> ec2.UserData:
    """CDK's NAT instance commands, its package install retried (NAT_INSTALL_ATTEMPTS)."""
    install, *rest = ec2.NatInstanceProviderV2.DEFAULT_USER_DATA_COMMANDS
    user_data = ec2.UserData.for_linux()
    user_data.add_commands(
        f"for attempt in $(seq {NAT_INSTALL_ATTEMPTS}); do {install} && break; "
        f"sleep {NAT_INSTALL_RETRY_SECONDS}; done",
        *rest,
    )
    return user_data


def _harden_nat_instances(scope: Construct, provider: ec2.NatInstanceProviderV2) -> None:
    """Inbound from the VPC only, IMDSv2, an encrypted root volume deleted with the instance."""
    provider.connections.allow_from(
        ec2.Peer.ipv4(VPC_CIDR), ec2.Port.all_traffic(), "forwarded for the VPC"
    )
    for instance in provider.gateway_instances:
        cfn = instance.node.default_child
        assert isinstance(cfn, ec2.CfnInstance)
        # Encrypted, gp3, gone with the instance; 10 GiB is at least the AL2023 image's own
        # root snapshot (a smaller size fails the launch), so nothing here depends on it.
        cfn.block_device_mappings = [
            ec2.CfnInstance.BlockDeviceMappingProperty(
                device_name="/dev/xvda",
                ebs=ec2.CfnInstance.EbsProperty(
                    encrypted=True,
                    volume_size=NAT_ROOT_VOLUME_GIB,
                    volume_type="gp3",
                    delete_on_termination=True,
                ),
            )
        ]
    cdk.Aspects.of(scope).add(ec2.InstanceRequireImdsv2Aspect())
