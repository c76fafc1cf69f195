"""RegistryStack: the project's own ECR repositories, and the images that land in them.

One ECR repository per sample app, filled during ``cdk deploy``.

The images are built from ``services/*/Dockerfile`` as CDK Docker assets (pushed to the
bootstrap repository), then copied into our own repositories by cdk-ecr-deployment under
``cdk-<content hash>``: the same tag always names the same build. The services are in
stacks that depend on this one, so the first deploy never points a service at an empty
repository.

With ``image_tag`` set nothing is built: the services pull that tag (the Lambda function
``<tag>-lambda``), which must already be in the repositories.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from constructs import Construct, IConstruct

from stacks.config import BUILT_TAG_PREFIX, RegistryConfig
from stacks.images import ImageRef, ImageRequest
from stacks.names import PROJECT
from stacks.workloads import WORKLOADS

# Not sent to `docker build`, and left out of the asset hash, so test runs and editor
# droppings do not produce a new image tag.
_BUILD_EXCLUDES = [
    "**/__pycache__",
    "**/.pytest_cache",
    "**/node_modules",
    "tests",
    "test",
    "*.md",
]

_PLATFORMS = {
    "x86_64": (ecr_assets.Platform.LINUX_AMD64, "amd64"),
    "arm64": (ecr_assets.Platform.LINUX_ARM64, "arm64"),
}


class RegistryStack(cdk.Stack):
    """One ECR repository per sample app, filled during ``cdk deploy``. (What it builds and why:
    the module docstring.)"""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: RegistryConfig,
        images: list[ImageRequest],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._registry = registry
        self.repositories: dict[str, ecr.Repository] = {}
        for workload in WORKLOADS.values():
            repository = ecr.Repository(
                self,
                _pascal(workload.name),
                # An explicit name: readable in the console, stable across deploys, and the
                # name `launchlab down` looks for. (moto also needs one to create the stack.)
                repository_name=f"{PROJECT}/{workload.name}",
                image_scan_on_push=True,
                # Immutable, but for the tags the deploy itself writes: cdk-ecr-deployment
                # copies again on every create or update of its resource (a rollback, or a
                # config switched away and back), and ECR refuses even an identical push to an
                # existing immutable tag. Those tags name content (its hash), so rewriting one
                # can only write the same image.
                image_tag_mutability=ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
                image_tag_mutability_exclusion_filters=[
                    ecr.ImageTagMutabilityExclusionFilter.wildcard(f"{BUILT_TAG_PREFIX}*")
                ],
                encryption=ecr.RepositoryEncryption.AES_256,
                empty_on_delete=True,
                removal_policy=cdk.RemovalPolicy.DESTROY,
                lifecycle_rules=[
                    ecr.LifecycleRule(
                        description="Expire untagged images after a day",
                        rule_priority=1,
                        tag_status=ecr.TagStatus.UNTAGGED,
                        max_image_age=cdk.Duration.days(1),
                    ),
                    ecr.LifecycleRule(
                        description=f"Keep the last {registry.keep_images} images",
                        rule_priority=2,
                        tag_status=ecr.TagStatus.ANY,
                        max_image_count=registry.keep_images,
                    ),
                ],
            )
            self.repositories[workload.name] = repository
            # Export both repositories whether or not today's config uses them, so switching
            # an app (-c ec2App=python) never removes an export another stack still imports.
            self.export_value(repository.repository_arn)
            self.export_value(repository.repository_name)
            cdk.CfnOutput(
                self,
                f"{_pascal(workload.name)}RepositoryUri",
                value=repository.repository_uri,
                description=f"ECR repository of the {workload.name} images",
            )
        self.images: dict[ImageRequest, ImageRef] = {}
        for request in dict.fromkeys(images):
            self.images[request] = self._image(request)
        cdk.Aspects.of(self).add(LambdaPullsFromThisAccount())

    def image(self, request: ImageRequest) -> ImageRef:
        """The repository and tag for an image this stack was asked for."""
        return self.images[request]

    def _image(self, request: ImageRequest) -> ImageRef:
        repository = self.repositories[request.workload.name]
        if self._registry.image_tag is not None:
            suffix = "-lambda" if request.lambda_image else ""
            return ImageRef(repository=repository, tag=f"{self._registry.image_tag}{suffix}")
        platform, docker_arch = _PLATFORMS[request.architecture]
        variant = "Lambda" if request.lambda_image else "Ecs"
        construct_id = f"{_pascal(request.workload.name)}{variant}{docker_arch.capitalize()}"
        asset = ecr_assets.DockerImageAsset(
            self,
            f"{construct_id}Asset",
            directory=str(request.workload.directory),
            file=request.workload.dockerfile,
            platform=platform,
            exclude=_BUILD_EXCLUDES,
            ignore_mode=cdk.IgnoreMode.DOCKER,
        )
        tag = f"{BUILT_TAG_PREFIX}{asset.asset_hash}"
        # Imported here: its jsii assembly costs ~0.06 s of every synth, and a synth that
        # deploys a given tag (-c imageTag) copies no image.
        import cdk_ecr_deployment as ecr_deployment

        ecr_deployment.ECRDeployment(
            self,
            f"{construct_id}Copy",
            src=ecr_deployment.DockerImageName(asset.image_uri),
            dest=ecr_deployment.DockerImageName(f"{repository.repository_uri}:{tag}"),
            image_arch=[docker_arch],
        )
        return ImageRef(repository=repository, tag=tag)


LAMBDA_SERVICE = "lambda.amazonaws.com"


@jsii.implements(cdk.IAspect)
class LambdaPullsFromThisAccount:
    """Only Lambda functions of this account and region may pull through the repository policy.

    ``DockerImageCode.from_ecr`` (the Lambda stack) grants ``lambda.amazonaws.com`` the pull
    actions with no condition, and CDK offers no way to pass one: any account's function could
    then name our image (the confused-deputy case). Lambda's own guidance for repository policies
    scopes the service principal with ``aws:sourceArn`` on ``arn:aws:lambda:<region>:<account>:
    function:*`` (https://repost.aws/knowledge-center/lambda-ecr-image; AWS's
    aws-parallelcluster-ui template does the same in one account). Not the function's own ARN:
    the function lives in a stack that depends on this one, so naming it here would be a cycle.
    The grant is added after this stack is built, hence an aspect that rewrites the policy at
    synth.
    """

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, ecr.CfnRepository):
            return
        stack = cdk.Stack.of(node)
        policy = stack.resolve(node.repository_policy_text)
        if not policy:
            return
        source_arn = stack.resolve(
            stack.format_arn(
                service="lambda",
                resource="function",
                resource_name="*",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
        )
        for statement in policy.get("Statement", []):
            services = (statement.get("Principal") or {}).get("Service")
            if LAMBDA_SERVICE in (services if isinstance(services, list) else [services]):
                statement.setdefault("Condition", {}).setdefault("StringLike", {})[
                    "aws:SourceArn"
                ] = source_arn
        node.add_property_override("RepositoryPolicyText", policy)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
