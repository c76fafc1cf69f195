"""What each launch type costs a month for a traffic profile: line items priced from the table.

Sizes come from the inventory (the templates); rates from the price table; load from the
profile. Every assumption that is neither lives in ``Assumptions`` with the reason for it, and
the report prints them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from launchlab.errors import LaunchlabError
from launchlab.report.inventory import Function, Instances, Inventory, LaunchType, LogGroup, Tasks
from launchlab.report.prices import InstanceType, Price, RegionPrices
from launchlab.report.profile import LoadLevel, TrafficProfile
from stacks import launch_types

T = TypeVar("T")

GIB = 1024**3
CENT = Decimal("0.01")
HTTP_API_METERING_KB = 512  # HTTP APIs meter each request in 512 KB increments
HTTP_API_MAX_SECONDS = 30  # API Gateway's integration timeout cap for HTTP APIs
DEFAULT_ACCOUNT_CONCURRENCY = 1000  # Lambda's default regional concurrency quota
# --commitment: pay on demand, or under a no-upfront Compute Savings Plan of one or three years,
# which covers EC2 instance hours, Fargate vCPU and memory hours and Lambda duration; never
# requests, load balancers, addresses, logs or Spot capacity
# (https://aws.amazon.com/savingsplans/faq/).
COMMITMENTS = ("none", "compute-sp-1y", "compute-sp-3y")
COMMITMENT_WORDS = {
    "none": "on demand, no commitment",
    "compute-sp-1y": "a 1-year Compute Savings Plan, no upfront",
    "compute-sp-3y": "a 3-year Compute Savings Plan, no upfront",
}


@dataclass(frozen=True)
class Assumptions:
    """What neither the templates nor the price table say; each is printed with the report."""

    free_tier: bool = True
    # None: derived from the task size, the request duration, cpu_share and the template's
    # scaling target.
    task_capacity_rps: float | None = None
    # The share of a request's duration spent on CPU. A web request mostly waits on I/O (a
    # database, another service), and an async server overlaps those waits, so a task's CPU
    # limits it only through the CPU time; Lambda bills the whole duration either way.
    # 1.0 is the worst case (pure computation, as POST /compute).
    cpu_share: float = 0.25
    # One new connection per request (no keep-alive): the LCU estimate errs high, not low.
    requests_per_connection: float = 1.0
    # One JSON access line per request from the app; the Lambda runtime adds platform.start and
    # platform.report lines per invocation (JSON log format); the HTTP API writes one line.
    app_log_bytes_per_request: int = 200
    lambda_platform_log_bytes_per_request: int = 500
    access_log_bytes_per_request: int = 250
    # Compressed size of one image version; layers shared between versions are not deducted,
    # so ECR storage errs high.
    ecr_image_gb: float = 0.1
    # Share of an instance's memory the OS and the ECS agent keep from tasks.
    ecs_reserved_memory_share: float = 0.1
    # How the compute is paid for: one of COMMITMENTS (--commitment).
    commitment: str = "none"


@dataclass(frozen=True)
class LineItem:
    name: str  # for people, with sizes: "EC2 t3.small (2 vCPU, 2 GiB, 3 tasks each)"
    quantity: Decimal
    unit: str
    usd: Decimal
    price: Price | None = None
    note: str = ""
    # What is charged, without sizes ("EC2 instances", "ALB hours", "Public IPv4"): what the
    # ops table lists as costing money at zero traffic.
    kind: str = ""
    # One resource every launch type in the app shares (the VPC's NAT gateways and endpoints,
    # an ECR repository): each launch type's estimate carries it in full, as if deployed
    # alone; what is running in the sandbox pays it once.
    shared: bool = False


@dataclass
class Estimate:
    launch_type: str
    profile: TrafficProfile
    items: list[LineItem] = field(default_factory=list)
    sizing: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Why the total is a lower bound (a charge the table cannot price), if it is one.
    lower_bound: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((item.usd for item in self.items), Decimal(0))

    @property
    def basis(self) -> str:
        """What the total is: "lower bound" (a charge missing), "estimate" (a charge priced at
        an estimated rate), "market" (a Spot market price in it) or "list"."""
        if self.lower_bound:
            return "lower bound"
        charged = [item.price for item in self.items if item.price is not None and item.usd > 0]
        for basis in ("estimate", "market"):
            if any(price.basis == basis for price in charged):
                return basis
        return "list"

    def estimated_items(self) -> list[str]:
        """The kinds of charge priced at an estimated rate."""
        return list(
            dict.fromkeys(
                item.kind
                for item in self.items
                if item.price is not None and item.price.estimated and item.usd > 0
            )
        )

    def add(
        self,
        name: str,
        quantity: float | Decimal,
        price: Price,
        note: str = "",
        unit: str = "",
        *,
        kind: str = "",
        shared: bool = False,
    ) -> None:
        """A priced line item; ``kind`` defaults to ``name`` (a name without sizes)."""
        amount = Decimal(str(quantity)) if isinstance(quantity, float) else quantity
        self.items.append(
            LineItem(
                name,
                amount,
                unit or price.unit,
                price.cost(amount),
                price,
                note,
                kind=kind or name,
                shared=shared,
            )
        )


def cents(amount: Decimal) -> Decimal:
    """Rounded as AWS bills: half up, to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def estimate(
    inventory: Inventory,
    launch_type: str,
    prices: RegionPrices,
    profile: TrafficProfile,
    assumptions: Assumptions,
) -> Estimate:
    """What ``launch_type`` costs a month: its own rules (launch_types registry, rules module)
    price its compute; what every launch type may have (ALBs, the shared VPC, logs, ECR, data
    transfer) is priced here from the inventory, the same way for all."""
    unit = inventory.launch_types[launch_type]
    result = Estimate(launch_type, profile)
    levels = profile.levels()
    launch_types.spec(launch_type).rules().price(unit, prices, profile, assumptions, result)
    _price_load_balancers(unit, levels, profile, prices, assumptions, result)
    _price_network(unit, inventory, prices, profile, assumptions, result)
    _price_logs(unit, profile, prices, assumptions, result)
    _price_alarms(unit, prices, assumptions, result)
    for repo in unit.repositories:
        kept = repo.keep_images or 10
        result.add(
            f"ECR storage ({repo.name}, {kept} images)",
            Decimal(kept) * Decimal(str(assumptions.ecr_image_gb)),
            prices["ecr.storage_gb_month"],
            kind="ECR storage",
            shared=True,
        )
    _price_data_transfer(profile, prices, assumptions, result)
    return result


def task_capacity(
    tasks: Tasks, profile: TrafficProfile, assumptions: Assumptions
) -> tuple[float, str]:
    """Requests per second one task serves before the service scales out, and why."""
    if assumptions.task_capacity_rps is not None:
        return assumptions.task_capacity_rps, "set with --task-capacity-rps"
    if tasks.scaling.metric == "requests":
        rps = tasks.scaling.target / 60
        return rps, f"the template scales at {tasks.scaling.target:g} requests/task/minute"
    vcpu = tasks.cpu_units / 1024
    target = tasks.scaling.target / 100 if tasks.scaling.metric == "cpu" else 1.0
    cpu_ms = profile.avg_duration_ms * assumptions.cpu_share
    rps = vcpu * 1000 / cpu_ms * target
    return rps, (
        f"{vcpu:g} vCPU x 1000/({profile.avg_duration_ms:g} ms x {assumptions.cpu_share:g} "
        f"CPU share) x {target:.0%} CPU target = {rps:.3g} req/s per task (--cpu-share, "
        "--task-capacity-rps to change)"
    )


def required(value: T | None, what: str, unit: LaunchType) -> T:
    """A part the launch type's rules price, which its template must have."""
    if value is None:
        raise LaunchlabError(f"{', '.join(unit.stacks)}: the template has no {what} to price")
    return value


def unit_hours(levels: list[LoadLevel], counts: list[int], hours: Decimal) -> Decimal:
    """Hours a month of something that runs ``counts[i]`` copies through load level ``i``
    (tasks, instances): each level lasts its share of the month's ``hours``."""
    return sum(
        (
            Decimal(str(level.hours_share)) * hours * count
            for level, count in zip(levels, counts, strict=True)
        ),
        Decimal(0),
    )


def committed(
    price: Price, family: str, prices: RegionPrices, assumptions: Assumptions, result: Estimate
) -> Price:
    """``price`` as the commitment pays it: the Savings Plan rate for ``family`` (ec2, fargate,
    lambda) where the table has one, else on demand, said once per family."""
    plan = assumptions.commitment
    if plan == "none":
        return price
    found = prices.committed(price, plan, family)
    if found is not None:
        return found
    warning = (
        f"no {plan} rate for {family} in the price table ({prices.region}): priced on demand; "
        "`.venv/bin/launchlab report --refresh-prices` fetches the Savings Plans rates"
    )
    if warning not in result.warnings:
        result.warnings.append(warning)
    return price


def _weighted_hours(levels: list[LoadLevel], counts: list[float], hours: Decimal) -> Decimal:
    """As unit_hours, for counts that need not be whole (a share of the tasks on Spot)."""
    return sum(
        (
            Decimal(str(level.hours_share)) * hours * Decimal(str(count))
            for level, count in zip(levels, counts, strict=True)
        ),
        Decimal(0),
    )


def spot_counts(counts: list[int], base: int, share: float) -> list[float]:
    """How many of ``counts`` run on Spot: ``share`` of those above the on-demand ``base``
    (the capacity provider strategy's weights, or a mixed group's percentage)."""
    return [max(0, count - base) * share for count in counts]


def _tasks_at(tasks: Tasks, level: LoadLevel, capacity: float) -> int:
    if level.rps <= 0:
        return tasks.min_count
    return max(tasks.min_count, math.ceil(level.rps / capacity - 1e-9))


def task_hours(
    tasks: Tasks,
    levels: list[LoadLevel],
    profile: TrafficProfile,
    assumptions: Assumptions,
    hours: Decimal,
    result: Estimate,
) -> Decimal:
    """Task-hours a month at the profile's load levels; the counts go into the sizing."""
    capacity, why = task_capacity(tasks, profile, assumptions)
    if capacity <= 0:
        raise LaunchlabError("--task-capacity-rps must be greater than 0")
    counts = [_tasks_at(tasks, level, capacity) for level in levels]
    result.sizing["task_capacity_rps"] = capacity
    result.sizing["task_capacity_assumption"] = why
    result.sizing["tasks_by_level"] = counts
    if max(counts) > tasks.max_count:
        result.warnings.append(
            f"the load needs {max(counts)} tasks but the template allows at most "
            f"{tasks.max_count}: priced at {max(counts)}; raise the max task count to serve it"
        )
    return unit_hours(levels, counts, hours)


def price_fargate(
    tasks: Tasks,
    task_hours: Decimal,
    prices: RegionPrices,
    result: Estimate,
    assumptions: Assumptions | None = None,
    levels: list[LoadLevel] | None = None,
) -> None:
    """Fargate vCPU and memory for ``task_hours``: on demand (under the commitment, if any)
    and, for the strategy's Spot share of the tasks above its on-demand base, at the Spot
    rate, which no Savings Plan covers."""
    assumptions = assumptions or Assumptions()
    vcpu = Decimal(tasks.cpu_units) / 1024
    memory_gb = Decimal(tasks.memory_mib) / 1024
    share = tasks.spot_fraction
    if share >= 1 and tasks.on_demand_base == 0:
        spot_hours = task_hours
    elif share <= 0:
        spot_hours = Decimal(0)
    else:
        counts = result.sizing.get("tasks_by_level")
        assert isinstance(counts, list) and levels is not None, "a Spot mix needs the counts"
        spot_hours = _weighted_hours(
            levels, spot_counts(counts, tasks.on_demand_base, share), prices.hours_per_month
        )
        result.sizing["spot_task_hours"] = float(spot_hours)
    on_demand_hours = task_hours - spot_hours
    size = f"{vcpu:g} vCPU / {memory_gb:g} GB {tasks.architecture}"
    for tier, hours in (("fargate", on_demand_hours), ("fargate_spot", spot_hours)):
        if hours == 0 and (tier == "fargate_spot" or spot_hours > 0):
            continue
        spot = tier == "fargate_spot"
        label = size + (" Spot" if spot else "")
        vcpu_price = prices[f"{tier}.vcpu_hour.{tasks.architecture}"]
        memory_price = prices[f"{tier}.gb_hour.{tasks.architecture}"]
        if not spot:
            vcpu_price = committed(vcpu_price, "fargate", prices, assumptions, result)
            memory_price = committed(memory_price, "fargate", prices, assumptions, result)
        result.add(f"Fargate vCPU ({label})", vcpu * hours, vcpu_price, kind="Fargate vCPU")
        result.add(
            f"Fargate memory ({label})", memory_gb * hours, memory_price, kind="Fargate memory"
        )
    extra_storage = max(0, tasks.ephemeral_gib - 20)
    if extra_storage:
        result.add(
            "Fargate ephemeral storage over 20 GB",
            Decimal(extra_storage) * task_hours,
            prices["fargate.ephemeral_gb_hour"],
        )
    if tasks.public_ip:
        result.add(
            "Public IPv4 (Fargate tasks)",
            task_hours,
            prices["vpc.public_ipv4_hour"],
            kind="Public IPv4",
        )
    result.sizing["task_hours"] = float(task_hours)


def tasks_per_instance(
    tasks: Tasks, instance_vcpu: int, memory_gib: Decimal, reserve: float
) -> int:
    cpu_fit = instance_vcpu * 1024 // max(tasks.cpu_units, 1)
    usable_mib = float(memory_gib) * 1024 * (1 - reserve)
    return min(cpu_fit, math.floor(usable_mib / max(tasks.memory_mib, 1)))


def price_instances(
    instances: Instances,
    tasks: Tasks,
    levels: list[LoadLevel],
    prices: RegionPrices,
    assumptions: Assumptions,
    result: Estimate,
    *,
    commitment: bool = True,
) -> None:
    """Instance-hours for the tasks, their volumes and addresses. ``commitment``: whether the
    commitment covers these instances (it does for EC2 you run)."""
    spec = prices.instance(instances.instance_type)
    per_instance = tasks_per_instance(
        tasks, spec.vcpu, spec.memory_gib, assumptions.ecs_reserved_memory_share
    )
    if per_instance < 1:
        raise LaunchlabError(
            f"a task of {tasks.cpu_units} cpu / {tasks.memory_mib} MiB does not fit on "
            f"{spec.name} ({spec.vcpu} vCPU, {spec.memory_gib:g} GiB)"
        )
    if instances.awsvpc_trunking is not None and spec.facts is not None:
        # Each awsvpc task needs a network interface of its own on the instance.
        network = spec.facts.awsvpc_tasks(trunking=instances.awsvpc_trunking)
        if network is not None and network < per_instance:
            per_instance = network
            result.sizing["tasks_per_instance_limit"] = (
                f"{network} network interfaces for tasks on {spec.name}"
            )
    counts = result.sizing["tasks_by_level"]
    assert isinstance(counts, list)

    def instances_for(count: int) -> int:
        # Tasks spread across zones need an instance in each zone that holds one.
        zones = min(count, instances.zones) if instances.spread_zones else 0
        return max(instances.min_count, math.ceil(count / per_instance), zones)

    instance_counts = [instances_for(count) for count in counts]
    hours = prices.hours_per_month
    instance_hours = unit_hours(levels, instance_counts, hours)
    result.sizing["tasks_per_instance"] = per_instance
    result.sizing["instances_by_level"] = instance_counts
    result.sizing["instance_hours"] = float(instance_hours)
    if max(instance_counts) > instances.max_count:
        result.warnings.append(
            f"the tasks need {max(instance_counts)} instances but the Auto Scaling group allows "
            f"at most {instances.max_count}: priced at {max(instance_counts)}"
        )
    label = (
        f"EC2 {spec.name} ({spec.vcpu} vCPU, {spec.memory_gib:g} GiB, {per_instance} tasks each)"
    )
    spot_hours = Decimal(0)
    if instances.spot_share > 0:
        spot_hours = _weighted_hours(
            levels, spot_counts(instance_counts, instances.on_demand_base, instances.spot_share),
            hours,
        )  # fmt: skip
        result.sizing["spot_instance_hours"] = float(spot_hours)
    on_demand = (
        committed(spec.hourly, "ec2", prices, assumptions, result) if commitment else spec.hourly
    )
    if instance_hours - spot_hours > 0 or spot_hours == 0:
        result.add(label, instance_hours - spot_hours, on_demand, kind="EC2 instances")
    if spot_hours > 0:
        market = prices.spot(spec.name)
        if market is None:
            market = dataclasses.replace(
                spec.hourly,
                basis="estimate",
                note="no Spot price in the table: the on-demand price, an upper bound",
            )
            result.warnings.append(
                f"no Spot market price for {spec.name} in the price table: its Spot hours are "
                "priced on demand (an upper bound); `.venv/bin/launchlab report "
                "--refresh-prices` reads the Spot price history"
            )
        result.add(
            f"EC2 {spec.name} Spot ({market.date})", spot_hours, market, kind="EC2 Spot instances"
        )
    if instances.cpu_credits == "unlimited":
        _price_surplus_credits(spec, instance_hours, levels, prices, assumptions, result)
    if instances.volume_type != "gp3":
        result.warnings.append(f"EBS {instances.volume_type} priced at the gp3 rate")
    result.add(
        f"EBS {instances.volume_type} root volumes ({instances.volume_gib} GiB each)",
        Decimal(instances.volume_gib) * instance_hours / hours,
        prices["ebs.gp3.gb_month"],
        kind="EBS volumes",
    )
    if instances.public_ip:
        result.add(
            "Public IPv4 (EC2 instances)",
            instance_hours,
            prices["vpc.public_ipv4_hour"],
            kind="Public IPv4",
        )


def _price_surplus_credits(
    spec: InstanceType,
    instance_hours: Decimal,
    levels: list[LoadLevel],
    prices: RegionPrices,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    """Unlimited mode bills the vCPU-hours spent above the instances' baseline: the CPU the
    requests use (duration x cpu_share, as for task capacity) less what the baseline covers."""
    price = prices[f"ec2.cpu_credits.{spec.architecture}"]
    # The CPU share per vCPU, averaged over 24 hours, that earned credits pay for
    # (stacks/instance_types.yaml, from the EC2 User Guide's burstable credit table).
    baseline = spec.baseline_per_vcpu
    if baseline is None:
        result.warnings.append(
            f"{spec.name} runs in unlimited CPU-credit mode and its baseline is not known "
            "here: surplus CPU credits are not priced"
        )
        return
    cpu_hours_per_request = (
        Decimal(str(result.profile.avg_duration_ms)) / 1000 * Decimal(str(assumptions.cpu_share))
    ) / 3600
    requests = (
        sum(
            (Decimal(str(level.rps)) * 3600 * Decimal(str(level.hours_share)) for level in levels),
            Decimal(0),
        )
        * prices.hours_per_month
    )
    used = requests * cpu_hours_per_request
    covered = instance_hours * spec.vcpu * baseline
    surplus = max(Decimal(0), used - covered)
    result.sizing["cpu_vcpu_hours"] = float(used)
    result.sizing["cpu_baseline_vcpu_hours"] = float(covered)
    result.add(
        f"EC2 surplus CPU credits ({spec.name} unlimited, baseline {baseline:.0%} per vCPU)",
        surplus,
        price,
        kind="EC2 CPU credits",
    )
    result.warnings.append(
        f"{spec.name} runs in unlimited CPU-credit mode: CPU above {baseline:.0%} per vCPU "
        f"(averaged over 24 h) bills surplus credits at ${price.unit_usd:g} per vCPU-hour; "
        "-c ec2CpuCredits=standard throttles at the baseline instead"
    )


def price_function(
    function: Function,
    profile: TrafficProfile,
    prices: RegionPrices,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    requests = Decimal(str(profile.requests_per_month))
    # Lambda bills duration rounded up to the millisecond.
    seconds = Decimal(math.ceil(profile.avg_duration_ms)) / 1000
    gb_seconds = requests * seconds * Decimal(function.memory_mb) / 1024
    free = prices.free_tier
    billable_gb_s = (
        max(Decimal(0), gb_seconds - free.lambda_gb_seconds)
        if assumptions.free_tier
        else gb_seconds
    )
    billable_requests = (
        max(Decimal(0), requests - free.lambda_requests) if assumptions.free_tier else requests
    )
    free_note = "after the monthly free tier" if assumptions.free_tier else "no free tier"
    result.add(
        f"Lambda duration ({function.memory_mb} MB {function.architecture})",
        billable_gb_s,
        committed(
            prices[f"lambda.duration.{function.architecture}"],
            "lambda",
            prices,
            assumptions,
            result,
        ),
        note=f"{gb_seconds:,.0f} GB-s, {free_note}",
        kind="Lambda duration",
    )
    result.add("Lambda requests", billable_requests, prices["lambda.requests"], note=free_note)
    if function.front_door == "http-api":
        chunks = max(1, math.ceil(profile.payload_kb / HTTP_API_METERING_KB))
        result.add(
            "API Gateway HTTP API requests", requests * chunks, prices["apigw.http_api_requests"]
        )
    elif function.front_door == "function-url":
        result.items.append(
            LineItem(
                "Function URL",
                requests,
                "request",
                Decimal(0),
                note="no charge",
                kind="Function URL",
            )
        )
    concurrency = profile.peak_rps * profile.avg_duration_ms / 1000
    result.sizing["peak_concurrency"] = concurrency
    result.sizing["gb_seconds"] = float(gb_seconds)
    limit = function.reserved_concurrency
    if limit is not None and concurrency > limit:
        result.warnings.append(
            f"peak concurrency {concurrency:.1f} exceeds the reserved concurrency of {limit}: "
            "requests would be throttled (429)"
        )
    elif concurrency > DEFAULT_ACCOUNT_CONCURRENCY:
        result.warnings.append(
            f"peak concurrency {concurrency:.0f} exceeds the default account quota of "
            f"{DEFAULT_ACCOUNT_CONCURRENCY}: request a quota increase"
        )
    max_seconds = function.timeout_s
    if function.front_door == "http-api":
        max_seconds = min(max_seconds, HTTP_API_MAX_SECONDS)
    if profile.avg_duration_ms / 1000 > max_seconds:
        result.warnings.append(
            f"requests of {profile.avg_duration_ms:g} ms exceed the {max_seconds} s limit"
        )


def lcu(level_rps: float, profile: TrafficProfile, rules: int, assumptions: Assumptions) -> float:
    """ALB capacity units for an hour at ``level_rps``: the largest of the four dimensions."""
    new_connections = level_rps / assumptions.requests_per_connection
    # Connections open at once: each lives as long as its request.
    active_connections = new_connections * profile.avg_duration_ms / 1000
    gb_per_hour = level_rps * 3600 * profile.payload_kb * 1024 / GIB
    rule_evaluations = level_rps * max(0, rules - 10)  # the first 10 rules are free
    return max(
        new_connections / 25,  # 25 new connections per second
        active_connections / 3000,  # 3,000 active connections per minute
        gb_per_hour / 1,  # 1 GB per hour for EC2 and IP targets
        rule_evaluations / 1000,  # 1,000 rule evaluations per second
    )


def _price_load_balancers(
    unit: LaunchType,
    levels: list[LoadLevel],
    profile: TrafficProfile,
    prices: RegionPrices,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    hours = prices.hours_per_month
    for balancer in unit.load_balancers:
        result.add("ALB hours", hours, prices["elb.alb_hour"])
        lcu_hours = sum(
            (
                Decimal(str(level.hours_share))
                * hours
                * Decimal(str(lcu(level.rps, profile, balancer.rules, assumptions)))
                for level in levels
            ),
            Decimal(0),
        )
        result.add("ALB LCU-hours", lcu_hours, prices["elb.alb_lcu_hour"])
        if balancer.public_ipv4:
            result.add(
                f"Public IPv4 (ALB, {balancer.public_ipv4} AZs)",
                hours * balancer.public_ipv4,
                prices["vpc.public_ipv4_hour"],
                kind="Public IPv4",
            )


def _log_gb(group: LogGroup, profile: TrafficProfile, assumptions: Assumptions) -> Decimal:
    per_request = {
        "app": assumptions.app_log_bytes_per_request,
        "function": assumptions.app_log_bytes_per_request
        + assumptions.lambda_platform_log_bytes_per_request,
        "access": assumptions.access_log_bytes_per_request,
    }.get(group.role, 0)
    return Decimal(str(profile.requests_per_month)) * per_request / GIB


def _price_logs(
    unit: LaunchType,
    profile: TrafficProfile,
    prices: RegionPrices,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    for group in unit.log_groups:
        ingested = _log_gb(group, profile, assumptions)
        if group.role == "other":
            continue
        result.add(
            f"CloudWatch Logs ingestion ({group.role})",
            ingested,
            prices["logs.ingest_gb"],
            kind="CloudWatch Logs ingestion",
        )
        if group.retention_days is None:
            months = Decimal(12)
            result.warnings.append(f"log group {group.logical_id} never expires: storage grows")
        else:
            months = Decimal(group.retention_days) * 12 / 365
        result.add(
            f"CloudWatch Logs storage ({group.role}, {group.retention_days or 'no'} days kept)",
            ingested * months,
            prices["logs.storage_gb_month"],
            kind="CloudWatch Logs storage",
        )


def _price_network(
    unit: LaunchType,
    inventory: Inventory,
    prices: RegionPrices,
    profile: TrafficProfile,
    assumptions: Assumptions,
    result: Estimate,
) -> None:
    """The egress this launch type's workloads route through (inventory Egress: what the
    templates route them through, launchlab.reachability), charged in full to each launch type
    that uses it: each column is what you pay to deploy that launch type alone. A launch type
    whose compute has a public IP of its own uses none and pays none."""
    egress = unit.egress
    hours = prices.hours_per_month
    # What leaves through it every month: the container and function logs (image pulls are
    # occasional and not modelled).
    shipped = sum((_log_gb(g, profile, assumptions) for g in unit.log_groups), Decimal(0))
    if egress.nat_gateways:
        result.add(
            "NAT gateway hours (shared VPC)",
            hours * egress.nat_gateways,
            prices["vpc.nat_hour"],
            kind="NAT gateway hours",
            shared=True,
        )
        result.add(
            "NAT gateway data (logs)", shipped, prices["vpc.nat_gb"], kind="NAT gateway data"
        )
        result.add(
            f"Public IPv4 (NAT, {egress.nat_gateways} Elastic IPs)",
            hours * egress.nat_gateways,
            prices["vpc.public_ipv4_hour"],
            kind="Public IPv4",
            shared=True,
        )
    for nat in egress.nat_instances:
        instance = prices.instance(nat.instance_type)
        result.add(
            f"NAT instance ({nat.instance_type})",
            hours,
            instance.hourly,
            kind="NAT instance hours",
            shared=True,
        )
        if nat.volume_type != "gp3":
            result.warnings.append(f"EBS {nat.volume_type} priced at the gp3 rate")
        result.add(
            f"NAT instance volume ({nat.volume_gib} GiB {nat.volume_type})",
            Decimal(nat.volume_gib),
            prices["ebs.gp3.gb_month"],
            kind="EBS volumes",
            shared=True,
        )
        result.add(
            "Public IPv4 (NAT instance)",
            hours,
            prices["vpc.public_ipv4_hour"],
            kind="Public IPv4",
            shared=True,
        )
    # One line per endpoint: with -c egress=endpoints, Express and Lambda Managed Instances
    # share some, and what is running pays each once (launchlab up sums by line name).
    for service, azs in egress.interface_endpoints:
        result.add(
            f"Interface VPC endpoint {service} ({azs} AZs)",
            hours * azs,
            prices["vpc.interface_endpoint_hour"],
            kind="Interface VPC endpoints",
            shared=True,
        )
    # Through a NAT device every service is reached through it (launchlab.reachability), so
    # a launch type never has both.
    if "logs" in egress.endpoint_services:
        result.add(
            "Interface VPC endpoint data (logs)",
            shipped,
            prices["vpc.interface_endpoint_gb"],
            kind="Interface VPC endpoint data",
        )


def _price_alarms(
    unit: LaunchType, prices: RegionPrices, assumptions: Assumptions, result: Estimate
) -> None:
    """The stack's CloudWatch alarms, after the free ones when the free tier applies."""
    if not unit.alarms:
        return
    free = prices.free_tier.cloudwatch_alarms if assumptions.free_tier else Decimal(0)
    result.add(
        "CloudWatch alarms",
        max(Decimal(0), unit.alarms - free),
        prices["cloudwatch.alarm_month"],
        note=f"{unit.alarms} alarms" + (f", first {free:g} free" if free else ""),
    )


def _price_data_transfer(
    profile: TrafficProfile, prices: RegionPrices, assumptions: Assumptions, result: Estimate
) -> None:
    """The responses, out to the internet; the requests come in free."""
    gb = Decimal(str(profile.requests_per_month)) * Decimal(str(profile.response_kb)) * 1024 / GIB
    free = prices.free_tier.dto_internet_gb if assumptions.free_tier else Decimal(0)
    result.add(
        "Data transfer out to the internet",
        max(Decimal(0), gb - free),
        prices["dto.internet_gb"],
        note=f"{gb:,.1f} GB" + (f", first {free:g} GB free" if free else ""),
        kind="Data transfer out",
    )
