"""What an EC2 instance type is, as the stacks need to know it: its CPU architecture (which
image and AMI it runs) and whether it is burstable (whether it takes a CPU credit setting).

Read from CDK's own knowledge of instance types, so any type a user names works, listed in
stacks/instance_types.yaml or not. Used by ECS on EC2, ECS Managed Instances and Lambda
Managed Instances.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2


def instance_architecture(instance_type: str) -> str:
    """'arm64' for Graviton instance types (t4g, m7g, ...), else 'x86_64'."""
    arch = ec2.InstanceType(instance_type).architecture
    return "arm64" if arch == ec2.InstanceArchitecture.ARM_64 else "x86_64"


def is_burstable(instance_type: str) -> bool:
    """T-family types (t3, t3a, t4g, ...) earn and spend CPU credits; EC2 refuses a credit
    specification for any other type, and ECS Managed Instances excludes them unless told to
    include burstable types."""
    return instance_type.startswith("t")
