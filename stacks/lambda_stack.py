"""LambdaStack: the Python app as a container-image Lambda function behind an HTTPS front door.

A container-image function from the project's ECR repository.

The image runs the same Python app as the ECS services through an ASGI adapter. Its front
door is a Function URL (free, HTTPS, up to 15 minutes per request) or, as an option, an API
Gateway HTTP API (billed per request, 30 s cap, room for custom domains and throttling).
The function logs to its own log group with a retention period, deleted with the stack; its
role may write to that group and nothing else.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import LambdaConfig, LaunchlabConfig
from stacks.constructs.logs import retained_log_group
from stacks.constructs.placement import ServicePlacement
from stacks.images import ImageRef, ImageRequest
from stacks.launch_types import LaunchTypeSpec
from stacks.names import TAG_APP
from stacks.workloads import LAMBDA_WORKLOAD

if TYPE_CHECKING:
    from aws_cdk import aws_apigatewayv2 as apigwv2


def image_for(config: LaunchlabConfig) -> ImageRequest:
    return ImageRequest(LAMBDA_WORKLOAD, config.lambda_.architecture, lambda_image=True)


def build(
    scope: Construct,
    spec: LaunchTypeSpec,
    *,
    config: LaunchlabConfig,
    image: ImageRef,
    placement: ServicePlacement,
) -> cdk.Stack:
    # Outside the VPC: the function needs no placement but its logs' retention.
    return LambdaStack(
        scope,
        spec.stack_id,
        config=config.lambda_,
        image=image,
        log_retention_days=placement.log_retention_days,
        description="launchlab: the sample app as a container-image Lambda function",
    )


class LambdaStack(cdk.Stack):
    """A container-image function from the project's ECR repository. (What it builds and why:
    the module docstring.)"""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LambdaConfig,
        image: ImageRef,
        log_retention_days: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        log_group = retained_log_group(self, "FunctionLogs", retention_days=log_retention_days)
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="launchlab Lambda: write its own logs, nothing else",
        )
        log_group.grant_write(role)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            code=lambda_.DockerImageCode.from_ecr(image.repository, tag_or_digest=image.tag),
            architecture=(
                lambda_.Architecture.ARM_64
                if config.architecture == "arm64"
                else lambda_.Architecture.X86_64
            ),
            memory_size=config.memory_mib,
            timeout=cdk.Duration.seconds(config.timeout_seconds),
            reserved_concurrent_executions=config.reserved_concurrency,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={"APP_VERSION": image.tag},
            description="launchlab python-app on Lambda",
        )
        cdk.Tags.of(self.function).add(TAG_APP, LAMBDA_WORKLOAD.name)

        if config.front_door == "function-url":
            function_url = self.function.add_function_url(
                auth_type=lambda_.FunctionUrlAuthType.NONE
            )
            endpoint = function_url.url
        else:
            # Imported here: loading API Gateway v2's classes costs ~0.08 s of every synth, and
            # only this front door uses them.
            from aws_cdk import aws_apigatewayv2 as apigwv2
            from aws_cdk import aws_apigatewayv2_integrations as integrations

            http_api = apigwv2.HttpApi(
                self,
                "HttpApi",
                description="launchlab python-app on Lambda",
                default_integration=integrations.HttpLambdaIntegration("Function", self.function),
            )
            self._log_access(http_api, log_retention_days)
            endpoint = http_api.api_endpoint
        cdk.CfnOutput(self, "EndpointUrl", value=endpoint)
        cdk.CfnOutput(self, "FunctionName", value=self.function.function_name)

    def _log_access(self, http_api: apigwv2.HttpApi, retention_days: int) -> None:
        """One JSON line per request in an access log group the stack owns."""
        access_logs = retained_log_group(self, "HttpApiAccessLogs", retention_days=retention_days)
        stage = http_api.default_stage
        assert stage is not None
        from aws_cdk import aws_apigatewayv2 as apigwv2  # loaded by __init__ already

        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn,
            format=json.dumps(
                {
                    "requestId": "$context.requestId",
                    "ip": "$context.identity.sourceIp",
                    "method": "$context.httpMethod",
                    "path": "$context.path",
                    "status": "$context.status",
                    "latencyMs": "$context.responseLatency",
                    "integrationLatencyMs": "$context.integrationLatency",
                }
            ),
        )
