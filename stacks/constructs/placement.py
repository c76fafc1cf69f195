"""ServicePlacement: where a launch type runs in the shared VPC, and the settings every launch
type's stack takes from the app as a whole (log retention, Container Insights, a certificate)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2


@dataclass(frozen=True, kw_only=True)
class ServicePlacement:
    """Where and how a launch type runs in the shared VPC."""

    vpc: ec2.IVpc
    # Private subnets when the VPC has NAT gateways, else public ones with public IPs: for the
    # launch types whose compute gets a public IP of its own (launch_types network "public-ip").
    workload_subnets: ec2.SubnetSelection
    public_ip: bool
    # The private subnets (NAT or endpoints as their way out), if any selected launch type
    # needs them (network "private").
    private_subnets: ec2.SubnetSelection | None
    log_retention_days: int
    container_insights: bool
    certificate_arn: str | None

    def subnets(self, selection: ec2.SubnetSelection | None = None) -> list[ec2.ISubnet]:
        """The subnets of ``selection`` (the workload subnets by default) themselves, for
        constructs that take a list rather than a selection."""
        chosen = selection or self.workload_subnets
        return self.vpc.select_subnets(subnet_type=chosen.subnet_type).subnets

    def public_subnets(self) -> list[ec2.ISubnet]:
        return self.vpc.select_subnets(subnet_type=ec2.SubnetType.PUBLIC).subnets

    def private(self) -> list[ec2.ISubnet]:
        """The private subnets; an error if the network stack made none."""
        if self.private_subnets is None:
            raise ValueError(
                "no private subnets: the network config has no launch type needing them"
            )
        return self.subnets(self.private_subnets)
