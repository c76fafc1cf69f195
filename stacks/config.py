"""Typed, validated configuration for the launchlab app.

Every setting comes from CDK context: the defaults live in ``cdk.json`` and a user overrides
them with ``-c key=value``. :meth:`LaunchlabConfig.from_context` reads each key exactly once,
converts it (context given on the command line arrives as a string), and validates it. A bad
value raises :class:`ConfigError`, whose message names the key, the value and what is allowed,
so ``cdk synth`` fails before CDK builds anything.

Stacks never read context themselves: they take the frozen dataclasses below as keyword-only
props.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks import instance_types, launch_types

APPS = ("node", "python")
ARCHITECTURES = ("x86_64", "arm64")
LAMBDA_FRONT_DOORS = ("function-url", "http-api")
SCALING_METRICS = ("cpu", "requests")
# How private subnets reach AWS when the VPC has no NAT gateways (natGateways=0): one NAT
# instance (t4g.nano, the cheapest that works), one NAT gateway (managed, scales, costs about
# ten times as much), or interface endpoints for what the workloads call (no internet at all).
EGRESS_KINDS = ("nat-instance", "nat-gateway", "endpoints")
# Burstable (t-family) instances: standard mode throttles at the baseline, unlimited bills
# surplus CPU credits instead (EC2's default for T3 and T4g).
CPU_CREDIT_MODES = ("standard", "unlimited")
# sandbox: the minimum counts as configured (one task or instance is the cheapest sandbox);
# multi-az: every launch type with a minimum keeps at least MULTI_AZ_MINIMUM of it, spread over
# two zones, so a comparison is like for like (Lambda runs in several zones itself).
AVAILABILITY_MODES = ("sandbox", "multi-az")
MULTI_AZ_MINIMUM = 2
# Percent of the tasks (Fargate) or instances (ECS on EC2) on Spot; below 100 the first one
# stays on demand (a base of one), so an interruption never takes the last copy.
SPOT_SHARE_PERCENT = (0, 100)

# Fargate's legal task sizes: cpu units -> memory MiB values allowed with it.
# Source: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_TASK_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip

AVAILABILITY_ZONES = 2
LAMBDA_MEMORY_MIB = (128, 10240)
LAMBDA_TIMEOUT_SECONDS = (1, 900)
# API Gateway HTTP APIs cut an integration off after 30 s, whatever the function's timeout.
HTTP_API_MAX_TIMEOUT_SECONDS = 30

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{1,128}$")
# ECR image tags: up to 128 characters of letters, digits, '_', '.', '-', not starting with '.'/'-'.
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# Tags the deploy writes for images it builds (content hashes); a user's tag may not use it.
BUILT_TAG_PREFIX = "cdk-"
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")


class ConfigError(ValueError):
    """A context value that launchlab cannot deploy; the message says what would be allowed."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"config key '{key}' has value {value!r}; allowed: {allowed}")


@dataclass(frozen=True, kw_only=True)
class TaskScaling:
    """How many copies of a service run: the service starts at ``min_count``."""

    min_count: int
    max_count: int
    metric: str  # one of SCALING_METRICS
    target: int  # CPU percent, or requests per target per minute


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    nat_gateways: int
    egress: str  # one of EGRESS_KINDS; used where a selected launch type runs in private subnets
    # What the selected launch types need of the VPC (stacks/launch_types.py NetworkNeed).
    needs: frozenset[str]

    @property
    def private_subnets(self) -> bool:
        """Private subnets exist: for every workload (NAT gateways) or for those that need them."""
        return self.nat_gateways > 0 or "private" in self.needs

    @property
    def nat_instance(self) -> bool:
        """One NAT instance serves the private subnets (natGateways=0, egress=nat-instance)."""
        return self.nat_gateways == 0 and "private" in self.needs and self.egress == "nat-instance"

    @property
    def private_endpoints(self) -> bool:
        """The private subnets' way out is endpoints only (natGateways=0, egress=endpoints)."""
        return self.nat_gateways == 0 and "private" in self.needs and self.egress == "endpoints"

    @property
    def endpoints(self) -> bool:
        """Interface endpoints for ECR and CloudWatch Logs, and the S3 gateway endpoint: for a
        launch type in the public subnets without a public IP, or as the private egress."""
        return "endpoints" in self.needs or self.private_endpoints


@dataclass(frozen=True, kw_only=True)
class RegistryConfig:
    keep_images: int
    # None: build the images from services/*/Dockerfile during `cdk deploy`.
    image_tag: str | None


@dataclass(frozen=True, kw_only=True)
class EcsEc2Config:
    app: str
    instance_type: str
    cpu_credits: str  # one of CPU_CREDIT_MODES; applies to t-family types only
    min_instances: int
    max_instances: int
    root_volume_gib: int
    task_cpu: int
    task_memory_mib: int
    scaling: TaskScaling
    # Percent of the instances above a base of one on Spot (0: none; a mixed-instances group
    # with Spot draining and capacity rebalancing otherwise).
    spot_share: int = 0
    # multi-az: tasks spread across zones first, then across instances.
    spread_zones: bool = False


@dataclass(frozen=True, kw_only=True)
class FargateConfig:
    app: str
    cpu: int
    memory_mib: int
    architecture: str
    spot: bool
    scaling: TaskScaling
    # Percent of the tasks above a base of one on Fargate Spot (0: none); ``spot`` puts all.
    spot_share: int = 0


@dataclass(frozen=True, kw_only=True)
class LambdaConfig:
    memory_mib: int
    timeout_seconds: int
    architecture: str
    reserved_concurrency: int | None
    front_door: str


@dataclass(frozen=True, kw_only=True)
class LaunchlabConfig:
    # The launch types to deploy (registry keys, in registry order); the shared network and
    # registry stacks are always deployed.
    launch_types: tuple[str, ...]
    availability: str  # one of AVAILABILITY_MODES
    stage: str
    owner: str | None
    log_retention_days: int
    container_insights: bool
    certificate_arn: str | None
    network: NetworkConfig
    registry: RegistryConfig
    ecs_ec2: EcsEc2Config
    fargate: FargateConfig
    lambda_: LambdaConfig
    opt_in: OptInLaunchTypesConfig

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> LaunchlabConfig:
        """Build the config from a context getter such as ``app.node.try_get_context``.

        Every key must be present (``cdk.json`` holds the defaults), so a typo in ``cdk.json``
        fails here rather than silently falling back to a value nobody chose.
        """
        ctx = _Context(get)
        availability = ctx.choice("availability", AVAILABILITY_MODES)
        multi_az = availability == "multi-az"
        scaling_metric = ctx.choice("scalingMetric", SCALING_METRICS)
        default_target = ctx.integer("scalingTarget", minimum=1)
        if scaling_metric == "cpu" and default_target > 100:
            raise ConfigError(
                "scalingTarget", default_target, "1..100 (percent CPU) when scalingMetric=cpu"
            )

        def scaling(prefix: str) -> TaskScaling:
            min_count = ctx.integer(f"{prefix}MinTasks", minimum=1)
            max_count = ctx.integer(f"{prefix}MaxTasks", minimum=1)
            if min_count > max_count:
                raise ConfigError(
                    f"{prefix}MinTasks",
                    min_count,
                    f"at most {prefix}MaxTasks ({max_count})",
                )
            if multi_az:
                min_count = _at_least_two(f"{prefix}MaxTasks", min_count, max_count)
            return TaskScaling(
                min_count=min_count,
                max_count=max_count,
                metric=scaling_metric,
                target=default_target,
            )

        min_instances = ctx.integer("ec2MinInstances", minimum=0)
        max_instances = ctx.integer("ec2MaxInstances", minimum=1)
        if min_instances > max_instances:
            raise ConfigError(
                "ec2MinInstances", min_instances, f"at most ec2MaxInstances ({max_instances})"
            )
        if multi_az:
            min_instances = _at_least_two("ec2MaxInstances", min_instances, max_instances)
        fargate_spot = ctx.boolean("fargateSpot")
        fargate_spot_share = ctx.integer("fargateSpotShare", *SPOT_SHARE_PERCENT)
        if fargate_spot and fargate_spot_share:
            raise ConfigError(
                "fargateSpotShare",
                fargate_spot_share,
                "0 with fargateSpot=true (every task on Spot); set fargateSpot=false for a mix",
            )
        instance_type = ctx.string("ec2InstanceType")
        if not _INSTANCE_TYPE.match(instance_type):
            raise ConfigError(
                "ec2InstanceType",
                instance_type,
                "an EC2 instance type such as t3.small or t4g.small",
            )

        task_cpu = ctx.integer("ec2TaskCpu", 128, 10240)
        task_memory = ctx.integer("ec2TaskMemory", 128, 1_048_576)
        _check_task_fits(instance_type, task_cpu, task_memory)

        fargate_cpu, fargate_memory = _fargate_task_size(ctx, "fargateCpu", "fargateMemory")

        front_door = ctx.choice("lambdaFrontDoor", LAMBDA_FRONT_DOORS)
        timeout = ctx.integer("lambdaTimeoutSeconds", *LAMBDA_TIMEOUT_SECONDS)
        if front_door == "http-api" and timeout > HTTP_API_MAX_TIMEOUT_SECONDS:
            raise ConfigError(
                "lambdaTimeoutSeconds",
                timeout,
                f"1..{HTTP_API_MAX_TIMEOUT_SECONDS} with lambdaFrontDoor=http-api "
                "(API Gateway's integration timeout)",
            )

        # Env-agnostic stacks (synth needs no account) always span two zones.
        nat_gateways = ctx.integer("natGateways", 0, AVAILABILITY_ZONES)

        certificate_arn = ctx.optional_string("certificateArn")
        if certificate_arn is not None and not _CERTIFICATE_ARN.match(certificate_arn):
            raise ConfigError(
                "certificateArn",
                certificate_arn,
                "empty (HTTP only) or an ACM certificate ARN "
                "arn:aws:acm:<region>:<account>:certificate/<id>",
            )
        image_tag = ctx.optional_string("imageTag")
        if image_tag is not None and image_tag.startswith(BUILT_TAG_PREFIX):
            raise ConfigError(
                "imageTag",
                image_tag,
                f"a tag not starting with {BUILT_TAG_PREFIX!r} (reserved for the images "
                "`cdk deploy` builds)",
            )
        if image_tag is not None and not _IMAGE_TAG.match(image_tag):
            raise ConfigError(
                "imageTag",
                image_tag,
                "empty (build from source) or an ECR tag: 1-128 of A-Z a-z 0-9 _ . - "
                "not starting with . or -",
            )

        selected = _launch_types(ctx)
        return cls(
            launch_types=selected,
            availability=availability,
            stage=ctx.tag_value("stage"),
            owner=ctx.optional_tag_value("owner"),
            log_retention_days=ctx.integer_choice("logRetentionDays", LOG_RETENTION_DAYS),
            container_insights=ctx.boolean("containerInsights"),
            certificate_arn=certificate_arn,
            network=NetworkConfig(
                nat_gateways=nat_gateways,
                egress=ctx.choice("egress", EGRESS_KINDS),
                needs=frozenset(launch_types.spec(key).network for key in selected),
            ),
            registry=RegistryConfig(
                keep_images=ctx.integer("ecrKeepImages", 1, 1000), image_tag=image_tag
            ),
            ecs_ec2=EcsEc2Config(
                app=ctx.choice("ec2App", APPS),
                instance_type=instance_type,
                cpu_credits=ctx.choice("ec2CpuCredits", CPU_CREDIT_MODES),
                min_instances=min_instances,
                max_instances=max_instances,
                root_volume_gib=ctx.integer("ec2RootVolumeGiB", 30, 16384),
                task_cpu=task_cpu,
                task_memory_mib=task_memory,
                scaling=scaling("ec2"),
                spot_share=ctx.integer("ec2SpotShare", *SPOT_SHARE_PERCENT),
                spread_zones=multi_az,
            ),
            fargate=FargateConfig(
                app=ctx.choice("fargateApp", APPS),
                cpu=fargate_cpu,
                memory_mib=fargate_memory,
                architecture=ctx.choice("fargateArchitecture", ARCHITECTURES),
                spot=fargate_spot,
                scaling=scaling("fargate"),
                spot_share=fargate_spot_share,
            ),
            lambda_=LambdaConfig(
                memory_mib=ctx.integer("lambdaMemory", *LAMBDA_MEMORY_MIB),
                timeout_seconds=timeout,
                architecture=ctx.choice("lambdaArchitecture", ARCHITECTURES),
                reserved_concurrency=ctx.optional_integer(
                    "lambdaReservedConcurrency", minimum=1, maximum=10000
                ),
                front_door=front_door,
            ),
            opt_in=opt_in_from_context(ctx, scaling, multi_az=multi_az),
        )


# --- Opt-in launch types: ECS Managed Instances, ECS Express Mode, Lambda Managed Instances ----

# Lambda Managed Instances runs on general purpose (M), compute optimized (C) and memory
# optimized (R) instances of size large or bigger: the instance types the Lambda pricing page
# lists for it (https://aws.amazon.com/lambda/pricing/, "Lambda Managed Instances"), as the
# developer guide directs (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances.html).
LMI_INSTANCE_FAMILIES = ("c", "m", "r")
_LMI_TOO_SMALL = ("nano", "micro", "small", "medium")
# Execution environment memory per vCPU (GiB), and the environments' concurrency cap.
# Source: https://docs.aws.amazon.com/lambda/latest/api/API_LambdaManagedInstancesCapacityProviderConfig.html
LMI_MEMORY_PER_VCPU_GIB = (2, 4, 8)
LMI_MAX_CONCURRENCY = (1, 1600)
# The capacity provider's vCPU ceiling: aws-cdk-lib 2.275 refuses fewer than 12.
LMI_MAX_VCPUS = (12, 15000)
# Function memory on managed instances: "The minimum supported function size is 2GB and 1 vCPU"
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-best-practices.html);
# up to 32 GiB, the maximum raised in March 2026 (16 vCPUs at 2 GiB each; no AWS page stating
# it was found, so a larger value is refused here rather than guessed at).
LMI_MEMORY_MIB = (2048, 32768)
# ECS Managed Instances launches burstable types from small up: no nano or micro sizes
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-instance-types.html,
# as AWS's calculator lists them: aws-samples/sample-ecs-managed-instances-pricing-calculator,
# src/data/options.js).
MI_EXCLUDED_SIZES = ("nano", "micro")
# Express Mode runs on Fargate (the same task sizes apply); our scaling metrics in its words.
EXPRESS_SCALING_METRICS = {"cpu": "AVERAGE_CPU", "requests": "REQUEST_COUNT_PER_TARGET"}


@dataclass(frozen=True, kw_only=True)
class EcsManagedInstancesConfig:
    app: str
    instance_type: str
    task_cpu: int
    task_memory_mib: int
    storage_gib: int  # the task volume each instance gets (image layers, logs, /tmp)
    scaling: TaskScaling


@dataclass(frozen=True, kw_only=True)
class ExpressConfig:
    app: str
    cpu: int
    memory_mib: int
    scaling: TaskScaling


@dataclass(frozen=True, kw_only=True)
class LambdaManagedInstancesConfig:
    instance_type: str
    memory_mib: int
    memory_per_vcpu_gib: int
    max_concurrency: int  # concurrent requests per execution environment
    min_environments: int
    max_environments: int
    max_vcpus: int
    timeout_seconds: int


@dataclass(frozen=True, kw_only=True)
class OptInLaunchTypesConfig:
    ecs_managed_instances: EcsManagedInstancesConfig
    express: ExpressConfig
    lambda_managed_instances: LambdaManagedInstancesConfig


def instance_size(instance_type: str) -> tuple[int, float]:
    """(vCPUs, memory GiB) of an instance type stacks/instance_types.yaml lists (validated at
    config)."""
    return _instance_sizes()[instance_type]


def opt_in_from_context(
    ctx: _Context, scaling: Callable[[str], TaskScaling], *, multi_az: bool = False
) -> OptInLaunchTypesConfig:
    """The three opt-in launch types' settings; ``scaling`` reads <prefix>Min/MaxTasks (and
    keeps two in multi-az mode, as ``multi_az`` does for Lambda Managed Instances here)."""
    mi_type = ctx.string("ecsMiInstanceType")
    if mi_type not in _instance_sizes():
        raise ConfigError(
            "ecsMiInstanceType",
            mi_type,
            f"a type {instance_types.FACTS_NAME} lists: {_listing(_instance_sizes())}",
        )
    if mi_type.partition(".")[2] in MI_EXCLUDED_SIZES:
        raise ConfigError(
            "ecsMiInstanceType",
            mi_type,
            "a type ECS Managed Instances launches: no nano or micro size (t4g.small and up)",
        )
    mi_cpu = ctx.integer("ecsMiTaskCpu", 128, 10240)
    mi_memory = ctx.integer("ecsMiTaskMemory", 128, 1_048_576)
    _check_task_fits(mi_type, mi_cpu, mi_memory, keys=("ecsMiTaskCpu", "ecsMiTaskMemory"))

    express_cpu, express_memory = _fargate_task_size(ctx, "expressCpu", "expressMemory")

    lmi_type = ctx.string("lmiInstanceType")
    family, _, size = lmi_type.partition(".")
    if (
        not _INSTANCE_TYPE.match(lmi_type)
        or family[:1] not in LMI_INSTANCE_FAMILIES
        or size in _LMI_TOO_SMALL
    ):
        raise ConfigError(
            "lmiInstanceType", lmi_type, "a C, M or R instance of size large or bigger (m7g.large)"
        )
    lmi_min = ctx.integer("lmiMinEnvironments", 1, 15000)
    lmi_max = ctx.integer("lmiMaxEnvironments", 1, 15000)
    if lmi_min > lmi_max:
        raise ConfigError("lmiMinEnvironments", lmi_min, f"at most lmiMaxEnvironments ({lmi_max})")
    if multi_az:
        lmi_min = _at_least_two("lmiMaxEnvironments", lmi_min, lmi_max)

    return OptInLaunchTypesConfig(
        ecs_managed_instances=EcsManagedInstancesConfig(
            app=ctx.choice("ecsMiApp", APPS),
            instance_type=mi_type,
            task_cpu=mi_cpu,
            task_memory_mib=mi_memory,
            storage_gib=ctx.integer("ecsMiStorageGiB", 30, 16384),
            scaling=scaling("ecsMi"),
        ),
        express=ExpressConfig(
            app=ctx.choice("expressApp", APPS),
            cpu=express_cpu,
            memory_mib=express_memory,
            scaling=scaling("express"),
        ),
        lambda_managed_instances=LambdaManagedInstancesConfig(
            instance_type=lmi_type,
            memory_mib=ctx.integer("lmiMemory", *LMI_MEMORY_MIB),
            memory_per_vcpu_gib=ctx.integer_choice("lmiMemoryPerVcpu", LMI_MEMORY_PER_VCPU_GIB),
            max_concurrency=ctx.integer("lmiMaxConcurrency", *LMI_MAX_CONCURRENCY),
            min_environments=lmi_min,
            max_environments=lmi_max,
            max_vcpus=ctx.integer("lmiMaxVcpus", *LMI_MAX_VCPUS),
            timeout_seconds=ctx.integer("lmiTimeoutSeconds", *LAMBDA_TIMEOUT_SECONDS),
        ),
    )


# --- end of the opt-in launch types' block ---------------------------------------------------


# A context key in our style (camelCase, no namespace): CDK's own carry ':' or start with '@'.
_OUR_STYLE_KEY = re.compile(r"^[a-z][A-Za-z0-9]*$")


# cdk.json holds a default for every key the config reads (from_context refuses a missing one),
# so the list of keys is read from there rather than kept a second time here.
_CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"
CONTEXT_KEYS = tuple(
    key for key in json.loads(_CDK_JSON.read_text())["context"] if _OUR_STYLE_KEY.match(key)
)


def check_context_keys(keys: Iterable[str]) -> None:
    """Refuse a config key launchlab does not know, so a typo (fargatecpu=1024) cannot pass
    silently and deploy the default instead; the message suggests the closest known key."""
    for key in sorted(keys):
        if _OUR_STYLE_KEY.match(key) and key not in CONTEXT_KEYS:
            close = difflib.get_close_matches(key, CONTEXT_KEYS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(key, "(unknown key)", f"{hint}one of the keys in cdk.json")


def _at_least_two(max_key: str, minimum: int, maximum: int) -> int:
    """A minimum raised to MULTI_AZ_MINIMUM for availability=multi-az; its maximum must allow it."""
    if maximum < MULTI_AZ_MINIMUM:
        raise ConfigError(
            max_key, maximum, f"at least {MULTI_AZ_MINIMUM} with availability=multi-az"
        )
    return max(minimum, MULTI_AZ_MINIMUM)


# ECS keeps about a tenth of an instance's memory for the OS and the agent.
_ECS_MEMORY_SHARE = 0.9


@functools.cache
def _instance_sizes() -> dict[str, tuple[int, float]]:
    """instance type -> (vCPUs, memory GiB), from the instance-type facts the project ships."""
    return {
        name: (facts.vcpu, float(facts.memory_gib)) for name, facts in instance_types.load().items()
    }


def _check_task_fits(
    instance_type: str,
    task_cpu: int,
    task_memory_mib: int,
    keys: tuple[str, str] = ("ec2TaskCpu", "ec2TaskMemory"),
) -> None:
    """A task larger than one instance can never be placed: ECS would retry until the
    deployment circuit breaker rolls back. Checked for the types stacks/instance_types.yaml
    lists."""
    size = _instance_sizes().get(instance_type)
    if size is None:
        return
    vcpu, memory_gib = size
    cpu_key, memory_key = keys
    if task_cpu > vcpu * 1024:
        raise ConfigError(
            cpu_key, task_cpu, f"at most {vcpu * 1024} on {instance_type} ({vcpu} vCPU)"
        )
    usable_mib = int(memory_gib * 1024 * _ECS_MEMORY_SHARE)
    if task_memory_mib > usable_mib:
        raise ConfigError(
            memory_key,
            task_memory_mib,
            f"at most {usable_mib} MiB on {instance_type} ({memory_gib:g} GiB, of which ECS "
            "keeps about a tenth for the OS and its agent)",
        )


# launchTypes=default deploys the registry's default launch types; all deploys every one.
LAUNCH_TYPE_SETS = {"default": launch_types.DEFAULT_KEYS, "all": launch_types.KEYS}


def _launch_types(ctx: _Context) -> tuple[str, ...]:
    value = ctx.string("launchTypes")
    chosen = LAUNCH_TYPE_SETS.get(value)
    if chosen is not None:
        return chosen
    keys = [key.strip() for key in value.split(",")]
    if not all(key in launch_types.BY_KEY for key in keys):
        raise ConfigError(
            "launchTypes",
            value,
            f"{' or '.join(LAUNCH_TYPE_SETS)}, or a comma-separated list of "
            f"{_listing(launch_types.KEYS)}",
        )
    return launch_types.in_order(keys)


def _fargate_task_size(ctx: _Context, cpu_key: str, memory_key: str) -> tuple[int, int]:
    """A Fargate task size (cpu units, memory MiB) AWS accepts."""
    cpu = ctx.integer_choice(cpu_key, tuple(FARGATE_TASK_SIZES))
    memory = ctx.integer_choice(memory_key, FARGATE_TASK_SIZES[cpu], f"with {cpu_key} {cpu}: ")
    return cpu, memory


def _listing(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


class _Context:
    """Reads and converts raw context values; every error names the key."""

    def __init__(self, get: Callable[[str], Any]) -> None:
        self._get = get

    def _raw(self, key: str) -> Any:
        value = self._get(key)
        if value is None:
            raise ConfigError(key, None, "a value: set it in cdk.json or with -c key=value")
        return value

    def string(self, key: str) -> str:
        value = self._raw(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(key, value, "a non-empty string")
        return value.strip()

    def optional_string(self, key: str) -> str | None:
        value = self._get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise ConfigError(key, value, "a string, or empty for none")
        return value.strip()

    def tag_value(self, key: str) -> str:
        value = self.string(key)
        if not _TAG_VALUE.match(value):
            raise ConfigError(key, value, "1-128 letters, digits, spaces and _ . : / = + - @")
        return value

    def optional_tag_value(self, key: str) -> str | None:
        return self.tag_value(key) if self.optional_string(key) is not None else None

    def integer(self, key: str, minimum: int, maximum: int | None = None) -> int:
        value = self._raw(key)
        number = _as_int(value)
        allowed = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        if number is None:
            raise ConfigError(key, value, f"a whole number ({allowed})")
        if number < minimum or (maximum is not None and number > maximum):
            raise ConfigError(key, value, allowed)
        return number

    def optional_integer(self, key: str, minimum: int, maximum: int) -> int | None:
        value = self._get(key)
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        return self.integer(key, minimum, maximum)

    def integer_choice(self, key: str, allowed: tuple[int, ...], given: str = "") -> int:
        """One of ``allowed``; ``given`` says what the list depends on ("with fargateCpu 256: ")."""
        value = self._raw(key)
        number = _as_int(value)
        if number not in allowed:
            # -c values are strings: a number is shown as one, as cdk.json would hold it.
            shown = value if number is None else number
            raise ConfigError(key, shown, f"{given}{_listing(allowed)}")
        return number

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self._raw(key)
        if value not in allowed:
            raise ConfigError(key, value, _listing(allowed))
        return str(value)

    def boolean(self, key: str) -> bool:
        value = self._raw(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ConfigError(key, value, "true or false")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # ASCII only: Unicode \s also matches controls such as \x1f, which int() refuses.
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value, re.ASCII):
        return int(value)
    return None
