"""The baseline for bench/synth.py: the shape of aws-cdk-examples'
python/ecs/fargate-load-balanced-service, written for this project.

One stack holds a VPC over two Availability Zones, an ECS cluster in it, and one Fargate
service behind a public Application Load Balancer (the ecs_patterns construct), running a
public sample image, with the load balancer's DNS name as an output. That is the smallest app
that does what each of launchlab's ECS stacks does, so the ratio says what launchlab's own
layers (five stacks, config, checks) cost on top of driving these construct libraries.
"""

from stacks.toolchain import use_project_node

use_project_node()

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_ec2 as ec2  # noqa: E402
from aws_cdk import aws_ecs as ecs  # noqa: E402
from aws_cdk import aws_ecs_patterns as ecs_patterns  # noqa: E402

# Built-in CloudFormation validation off, as in the launchlab app (stacks/launchlab_app.py),
# so the two differ only in what they build.
app = cdk.App(builtin_cloud_formation_validation=False)
stack = cdk.Stack(app, "FargateExample")
vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
service = ecs_patterns.ApplicationLoadBalancedFargateService(
    stack,
    "Service",
    cluster=ecs.Cluster(stack, "Cluster", vpc=vpc),
    task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
        image=ecs.ContainerImage.from_registry("amazon/amazon-ecs-sample"),
    ),
)
cdk.CfnOutput(stack, "LoadBalancerDns", value=service.load_balancer.load_balancer_dns_name)
app.synth()
