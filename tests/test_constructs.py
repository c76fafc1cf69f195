"""The shared constructs of stacks/constructs/, each on a bare ``cdk.Stack()``: the choices
they make on their own (HTTP or HTTPS, CPU or request scaling, the hardened container)."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match, Template

from stacks.config import TaskScaling
from stacks.constructs.ecs_service import (
    PublicLoadBalancer,
    add_app_container,
    autoscale,
    service_rollout,
)
from stacks.constructs.logs import retained_log_group
from stacks.images import ImageRef
from stacks.workloads import CONTAINER_USER, WORKLOADS

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666"


def _service(stack: cdk.Stack, metric: str = "cpu", certificate_arn: str | None = None) -> Template:
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    task = ecs.FargateTaskDefinition(stack, "Task")
    image = ImageRef(ecr.Repository.from_repository_name(stack, "Repo", "launchlab/x"), "v1")
    add_app_container(
        task, workload=WORKLOADS["python"], image=image, log_retention_days=7,
        dynamic_host_port=False,
    )  # fmt: skip
    service = ecs.FargateService(
        stack, "Service", cluster=cluster, task_definition=task, assign_public_ip=True,
        **service_rollout(),
    )  # fmt: skip
    alb = PublicLoadBalancer(stack, "Alb", vpc=vpc, certificate_arn=certificate_arn)
    cdk.CfnOutput(stack, "Url", value=alb.url)
    target_group = alb.route_to(service)
    autoscale(
        service,
        scaling=TaskScaling(min_count=1, max_count=3, metric=metric, target=50),
        target_group=target_group,
    )
    return Template.from_stack(stack)


@pytest.mark.slow
def test_public_load_balancer_is_http_without_a_certificate_and_https_with_one() -> None:
    http = _service(cdk.Stack())
    http.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener", {"Port": 80, "Protocol": "HTTP"}
    )
    http.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 1)
    assert "http://" in json.dumps(http.to_json()["Outputs"]["Url"])

    https = _service(cdk.Stack(), certificate_arn=CERTIFICATE)
    assert "https://" in json.dumps(https.to_json()["Outputs"]["Url"])
    https.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 443, "Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
    )
    # Port 80 only redirects to 443.
    https.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "DefaultActions": [
                Match.object_like(
                    {"Type": "redirect", "RedirectConfig": Match.object_like({"Port": "443"})}
                )
            ],
        },
    )
    https.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]
            ),
        },
    )


@pytest.mark.slow
def test_app_container_is_hardened_and_health_checked() -> None:
    template = _service(cdk.Stack())
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["User"] == CONTAINER_USER
    assert container["ReadonlyRootFilesystem"] is True
    assert container["StopTimeout"] == 30
    assert container["HealthCheck"]["Command"] == list(WORKLOADS["python"].health_command)
    assert container["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}
    ]
    assert container["LogConfiguration"]["Options"]["mode"] == "non-blocking"
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})
    template.has_resource(
        "AWS::Logs::LogGroup", {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
    )
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "DeploymentConfiguration": {
                "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                "MaximumPercent": 200,
                "MinimumHealthyPercent": 100,
            }
        },
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("metric", "predefined"),
    [("cpu", "ECSServiceAverageCPUUtilization"), ("requests", "ALBRequestCountPerTarget")],
)
def test_autoscale_tracks_the_configured_metric(metric: str, predefined: str) -> None:
    template = _service(cdk.Stack(), metric)
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1, "MaxCapacity": 3}
    )
    (policy,) = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == predefined
    assert config["TargetValue"] == 50


def test_retained_log_group_is_deleted_with_its_stack() -> None:
    stack = cdk.Stack()
    retained_log_group(stack, "Logs", retention_days=30)
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 30}, "DeletionPolicy": "Delete"},
    )
