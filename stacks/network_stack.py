"""NetworkStack: the VPC every launch type shares."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from stacks.config import AVAILABILITY_ZONES, NetworkConfig


class NetworkStack(cdk.Stack):
    """A VPC over two availability zones with public subnets and, only when asked, NAT.

    With ``nat_gateways=0`` (the default) there are no private subnets at all: tasks and
    instances sit in public subnets with public IPs so they can pull images from ECR, and their
    security groups admit traffic only from their load balancer. Each NAT gateway costs about
    $33 a month before data, far more than the public IPv4 addresses it would save; VPC
    endpoints for ECR, S3 and CloudWatch Logs would cost more still across two zones.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, network: NetworkConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        subnets = [
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
        ]
        if network.nat_gateways > 0:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                )
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            max_azs=AVAILABILITY_ZONES,
            nat_gateways=network.nat_gateways,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
        )
        self.has_private_subnets = network.nat_gateways > 0
        cdk.CfnOutput(self, "VpcId", value=self.vpc.vpc_id)

    @property
    def workload_subnets(self) -> ec2.SubnetSelection:
        """Where tasks and instances run: private subnets when NAT exists, else public ones."""
        subnet_type = (
            ec2.SubnetType.PRIVATE_WITH_EGRESS
            if self.has_private_subnets
            else ec2.SubnetType.PUBLIC
        )
        return ec2.SubnetSelection(subnet_type=subnet_type)
