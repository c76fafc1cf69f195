"""LambdaManagedInstancesStack: the Python app as a Lambda function on managed EC2 instances."""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import LambdaManagedInstancesConfig, LaunchlabConfig
from stacks.constructs.delete_waiter import DeleteWaiter
from stacks.constructs.ecs_service import ServicePlacement, retained_log_group
from stacks.ecs_ec2_stack import instance_architecture
from stacks.launch_types import LaunchTypeSpec
from stacks.names import PROJECT, TAG_APP, TAG_PROJECT
from stacks.registry_stack import ImageRef, ImageRequest
from stacks.workloads import LAMBDA_WORKLOAD

# The same ASGI entry point the container-image function runs.
HANDLER = "launchlab_app.lambda_handler.handler"
# Lambda Managed Instances supports Python 3.13 and later; the newest the pinned CDK knows.
# Source: https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-runtimes.html
RUNTIME = lambda_.Runtime.PYTHON_3_14
APP_PACKAGE = "launchlab_app"
REQUIREMENTS = LAMBDA_WORKLOAD.directory / "requirements.txt"
# The HTTP server the container images run; Lambda's runtime takes its place.
SERVER_ONLY = frozenset({"uvicorn", "click", "h11"})
_INSTALL_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)")


def image_for(config: LaunchlabConfig) -> ImageRequest | None:
    """No image: the function is a .zip for the managed runtime (see python_app_code)."""
    return None


def build(
    scope: Construct,
    spec: LaunchTypeSpec,
    *,
    config: LaunchlabConfig,
    image: ImageRef | None,
    placement: ServicePlacement,
) -> cdk.Stack:
    code, app_version = python_app_code()
    return LambdaManagedInstancesStack(
        scope,
        spec.stack_id,
        config=config.opt_in.lambda_managed_instances,
        code=code,
        app_version=app_version,
        description="launchlab: the Python app as a Lambda function on Lambda Managed Instances",
        placement=placement,
    )


class LambdaManagedInstancesStack(cdk.Stack):
    """A function on a Lambda capacity provider: EC2 instances in our VPC that Lambda
    launches, patches (it replaces instances at least every 14 days) and scales on CPU.

    - Packaged as a .zip for the managed Python runtime: the runtimes AWS lists for
      managed instances are the managed ones, so the function does not depend on container
      image support (see :func:`python_app_code`).
    - Each execution environment serves up to ``max_concurrency`` requests at once (Python
      runs them in separate processes); Lambda keeps ``min_environments`` warm, so there are
      no cold starts but there is a cost at zero traffic.
    - Published as a version behind the ``live`` alias, which carries the Function URL; old
      versions are deleted on update so their environments do not stay warm. No
      ``$LATEST.PUBLISHED`` version: it would keep a second set of environments warm.
    - The instances' security group admits nothing; instances carry the capacity provider's
      tags (the project, launch type and stage) so Cost Explorer and ``launchlab down`` can
      find them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: ServicePlacement,
        config: LambdaManagedInstancesConfig,
        code: lambda_.Code,
        app_version: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        architecture = (
            lambda_.Architecture.ARM_64
            if instance_architecture(config.instance_type) == "arm64"
            else lambda_.Architecture.X86_64
        )
        security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=placement.vpc,
            description="Lambda Managed Instances: no inbound; Lambda routes requests itself",
            allow_all_outbound=True,
        )
        # Lambda would otherwise create /aws/lambda/capacity-provider/<name> itself, kept forever
        # and left behind by `cdk destroy`.
        system_logs = retained_log_group(
            self, "CapacityProviderLogs", retention_days=placement.log_retention_days
        )
        self.capacity_provider = lambda_.CapacityProvider(
            self,
            "CapacityProvider",
            log_group=system_logs,
            # Private subnets, out through the configured egress: the instances' network
            # interfaces get no public IP (launch_types network "private").
            subnets=placement.private(),
            security_groups=[security_group],
            architectures=[architecture],
            instance_type_filter=lambda_.InstanceTypeFilter.allow(
                [ec2.InstanceType(config.instance_type)]
            ),
            max_v_cpu_count=config.max_vcpus,
            propagate_tags=lambda_.PropagateTags.explicit({TAG_PROJECT: PROJECT}),
        )
        # Deleting the provider starts Lambda's termination of its instances (202, async) with
        # the operator role; their interfaces hold the security group and the subnets. The
        # group and the role wait until they are gone.
        DeleteWaiter(
            self,
            "DeleteWaiter",
            # The provider resource itself: the construct also holds the operator role.
            before=self.capacity_provider.node.default_child,
            after=[security_group, self.capacity_provider.node.find_child("OperatorRole")],
            log_retention_days=placement.log_retention_days,
            security_group=security_group,
        )
        # Lambda copies only tags it is given explicitly: give it the provider's own (the
        # project, launch type, stage and owner the app tags every resource with), read once
        # the app's tagging aspects have run.
        provider = self.capacity_provider.node.default_child
        assert isinstance(provider, lambda_.CfnCapacityProvider)
        provider.add_property_override(
            "PropagateTags.ExplicitTags", cdk.Lazy.any(_ResourceTags(provider))
        )
        log_group = retained_log_group(
            self, "FunctionLogs", retention_days=placement.log_retention_days
        )
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="launchlab Lambda Managed Instances: write its own logs, nothing else",
        )
        log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            handler=HANDLER,
            code=code,
            architecture=architecture,
            memory_size=config.memory_mib,
            timeout=cdk.Duration.seconds(config.timeout_seconds),
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={"APP_VERSION": app_version},
            description="launchlab python-app on Lambda Managed Instances",
            current_version_options=lambda_.VersionOptions(
                removal_policy=cdk.RemovalPolicy.DESTROY,
                min_execution_environments=config.min_environments,
                max_execution_environments=config.max_environments,
            ),
        )
        cdk.Tags.of(self.function).add(TAG_APP, LAMBDA_WORKLOAD.name)
        self.capacity_provider.add_function(
            self.function,
            per_execution_environment_max_concurrency=config.max_concurrency,
            execution_environment_memory_gib_per_v_cpu=config.memory_per_vcpu_gib,
            publish_to_latest_published=False,
        )
        self.alias = lambda_.Alias(
            self, "Live", alias_name="live", version=self.function.current_version
        )
        function_url = self.alias.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)

        cdk.CfnOutput(self, "EndpointUrl", value=function_url.url)
        cdk.CfnOutput(self, "FunctionName", value=self.function.function_name)
        cdk.CfnOutput(
            self,
            "CapacityProviderName",
            value=self.capacity_provider.capacity_provider_name,
            description="Lambda launches this provider's instances outside CloudFormation",
        )


@jsii.implements(cdk.IStableAnyProducer)
class _ResourceTags:
    def __init__(self, resource: lambda_.CfnCapacityProvider) -> None:
        self._resource = resource

    def produce(self) -> Any:
        tags = self._resource.cdk_tag_manager.tag_values() or {TAG_PROJECT: PROJECT}
        return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def python_app_code() -> tuple[lambda_.Code, str]:
    """The Python app and its runtime dependencies as a .zip asset, and a version label.

    Built at synth without a network or Docker: the app's own files, plus each dependency in
    ``services/python-app/requirements.txt`` (but the HTTP server) copied from the
    distribution installed here, which must have exactly the pinned version. Every one is pure
    Python, so the same .zip serves x86_64 and arm64. The label is a hash of what goes in.
    """
    pins = runtime_pins()
    _check_installed(pins)
    digest = hashlib.sha256()
    for name, version in sorted(pins.items()):
        digest.update(f"{name}=={version}\n".encode())
    for path in _app_files():
        digest.update(path.relative_to(LAMBDA_WORKLOAD.directory).as_posix().encode())
        digest.update(path.read_bytes())
    code = lambda_.Code.from_asset(
        str(LAMBDA_WORKLOAD.directory),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            # Never pulled: the local bundler below always succeeds.
            image=RUNTIME.bundling_image,
            local=_InstalledDistributions(pins),
        ),
    )
    return code, f"zip-{digest.hexdigest()}"


def runtime_pins() -> dict[str, str]:
    """name -> pinned version of the app's runtime dependencies, less the HTTP server."""
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match and _normalise(match.group(1)) not in SERVER_ONLY:
            pins[_normalise(match.group(1))] = match.group(2)
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _check_installed(pins: dict[str, str]) -> None:
    for name, version in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            raise RuntimeError(
                f"Lambda Managed Instances .zip: {name}=={version} is pinned in "
                f"{REQUIREMENTS.name} but {installed or 'nothing'} is installed; run `make setup`"
            )


def _app_files() -> Iterator[Path]:
    root = LAMBDA_WORKLOAD.directory / APP_PACKAGE
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path


@jsii.implements(cdk.ILocalBundling)
class _InstalledDistributions:
    """Copies the app and its installed dependencies into the asset directory."""

    def __init__(self, pins: dict[str, str]) -> None:
        self._pins = pins

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: Any) -> bool:
        out = Path(output_dir)
        for path in _app_files():
            _copy(path, out / path.relative_to(LAMBDA_WORKLOAD.directory))
        for name in sorted(self._pins):
            distribution = importlib.metadata.distribution(name)
            for file in distribution.files or ():
                parts = Path(file).parts
                # Console scripts live outside site-packages; bytecode is per interpreter;
                # the installer's records name this machine's paths and tools.
                if (
                    ".." in parts
                    or "__pycache__" in parts
                    or file.suffix == ".pyc"
                    or (parts[0].endswith(".dist-info") and parts[-1] in _INSTALL_RECORDS)
                ):
                    continue
                _copy(Path(str(distribution.locate_file(file))), out / file)
        return True


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
