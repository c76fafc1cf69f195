"""The operational burden of each launch type: what the templates say, plus documented facts,
and how long it takes to scale out, deploy, roll back, start cold and scale in, and what its
owner patches how often.

Template-derived: resource counts, instance type and counts, scaling policy and limits, the ALB
idle timeout, the Lambda timeout and front door, reserved concurrency; and for the timelines the
health checks (the target group's and the container's), the grace period, the deregistration
delay, the minimum healthy and maximum percent, the circuit breaker, the scaling cooldowns and
target, the minimum and maximum task, instance and environment counts. The AWS constants the
timelines add are in launchlab/report/timings.yaml, each with its source or marked as an
assumption (launchlab/report/timeline.py); the patch cadence is counted from public release
histories (launchlab/report/cadence.py). Each launch type's row comes from its rules module
(launchlab/report/rules/, named by the launch-type registry); this module computes the columns
every row shares and the timelines of the launch types that share them (ECS services, Lambda).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from launchlab.report import patching
from launchlab.report.cost import Assumptions, Estimate
from launchlab.report.inventory import (
    ALB_DEFAULT_IDLE_TIMEOUT_S,
    Instances,
    Inventory,
    LaunchType,
    Tasks,
)
from launchlab.report.patching import Patching
from launchlab.report.profile import TrafficProfile
from launchlab.report.timeline import (
    Step,
    Timeline,
    Timings,
    fixed,
    load_timings,
    longest,
    of,
    words,
)
from stacks import launch_types, names

# A rollback that is a redeploy of the previous image by the owner (Lambda: nothing rolls back).
BY_HAND = "redeploy the previous image by hand"
# The timelines every row carries, by their key in report.json.
TIMELINES = {
    "scale_out": "scale_out_s",
    "scale_out_step": "scale_out_step_s",
    "deploy": "deploy_s",
    "rollback": "rollback_s",
    "cold_start": "cold_start_ms",
    "scale_in": "scale_in_s",
}


@dataclass(frozen=True)
class OpsRow:
    launch_type: str
    resources: str
    you_manage: str
    scaling_unit: str
    max_request_duration: str
    cold_starts: str
    min_billable_unit: str
    costs_at_zero_traffic: str
    # Modelled durations (TIMELINES' keys), what is patched how often, and what queues or
    # fails while it scales to the profile's peak.
    timelines: Mapping[str, Timeline] = field(default_factory=dict)
    patching: Patching | None = None
    ramp: str = ""
    # Requests that wait or fail while it scales out to the peak (low, high), when counted.
    ramp_requests: tuple[float, float] | None = None


@dataclass(frozen=True)
class Context:
    """What the timelines need besides the launch type's templates."""

    timings: Timings
    profile: TrafficProfile
    assumptions: Assumptions
    sizing: Mapping[str, object]  # the estimate's at the profile: tasks, instances per level
    cadence: Mapping[str, Any]


@dataclass(frozen=True)
class Common:
    """The columns every launch type's row states the same way."""

    resources: str  # "<n> in <stack> (+<m> shared)"
    zero_traffic: str  # the kinds of charge with no traffic: "ALB hours, Public IPv4"
    alb_duration: str  # what the ALB's idle timeout allows one request
    context: Context | None = None  # None: no timelines (a row of words only)


def ops_rows(
    inventory: Inventory,
    idle: dict[str, Estimate],
    estimates: Mapping[str, Estimate] | None = None,
    assumptions: Assumptions | None = None,
    timings: Timings | None = None,
) -> list[OpsRow]:
    """One row per launch type; with the estimates at the profile, its timelines too."""
    rows = []
    for key, estimate in idle.items():
        unit = inventory.launch_types[key]
        context = None
        if estimates is not None:
            found = estimates[key]
            context = Context(
                timings or load_timings(),
                found.profile,
                assumptions or Assumptions(),
                found.sizing,
                patching.load_cadence(),
            )
        common = _common(inventory, unit, estimate, context)
        rows.append(launch_types.spec(key).rules().ops(unit, common))
    return rows


def scaling_policy(tasks: Tasks) -> str:
    scaling = tasks.scaling
    if scaling.metric == "requests":
        policy = f"{scaling.target:g} requests/task/min"
    elif scaling.metric == "none":
        policy = "no scaling policy"
    else:
        policy = f"{scaling.metric} {scaling.target:g}%"
    return f"{tasks.min_count}..{tasks.max_count} tasks, {policy}"


def _common(
    inventory: Inventory, unit: LaunchType, idle: Estimate, context: Context | None
) -> Common:
    shared = sum(
        inventory.resource_counts[s]
        for s in inventory.shared_stacks
        if unit.uses_vpc or s != names.NETWORK_STACK
    )
    kinds = dict.fromkeys(item.kind for item in idle.items if item.usd > 0)
    alb_timeout = max(
        (lb.idle_timeout_s for lb in unit.load_balancers), default=ALB_DEFAULT_IDLE_TIMEOUT_S
    )
    return Common(
        resources=f"{unit.resource_count} in {', '.join(unit.stacks)} (+{shared} shared)",
        zero_traffic=", ".join(kinds) or "nothing",
        alb_duration=f"{alb_timeout} s (ALB idle timeout)",
        context=context,
    )


def timeline_words(row: OpsRow) -> str:
    """'scale-out 3.5-6 min, deploy 1-2 min, rollback 4-6 min, cold start none, 61 patches/yr'"""
    t = row.timelines
    if not t:
        return ""
    parts = [
        f"scale-out {words(t['scale_out_step'])}",
        f"deploy {words(t['deploy'])}",
        f"rollback {words(t['rollback'])}",
        f"cold start {words(t['cold_start'])}",
    ]
    if row.patching is not None:
        parts.append(f"{patches_words(row.patching)} patches/yr")
    return ", ".join(parts)


def asks_in_numbers(row: OpsRow) -> str:
    """'you patch the AMI and the image's base (77 releases a year); +1 task 2-4.7 min,
    deploy 4-65 s, rollback 3.5-5.8 min, no cold start': the verdict's line, in numbers."""
    t = row.timelines
    parts = []
    if row.patching is not None:
        if row.patching.yours:
            things = " and ".join(
                "the AMI" if "AMI" in p.what else "the image's base" for p in row.patching.yours
            )
            parts.append(f"you patch {things} ({patches_words(row.patching)} releases a year)")
        else:
            parts.append("nothing of yours to patch below the code")
    scale_out, step = t["scale_out"], t["scale_out_step"]
    if scale_out.extra.get("per_request"):
        parts.append("scales with each request")
    elif scale_out.steps:
        parts.append(f"{words(scale_out)} to scale to your peak")
    else:
        parts.append(f"{words(step)} for one more {_unit_noun(step)}")
    rollback = t["rollback"]
    automatic = rollback.target != BY_HAND and rollback.steps
    timing = f"deploy {words(t['deploy'])}, " + (
        f"rollback {words(rollback)}" if automatic else "no automatic rollback"
    )
    parts.append(timing)
    cold = t["cold_start"]
    parts.append("no cold starts" if cold.high == 0 else f"cold starts {words(cold)}")
    if row.ramp_requests is not None:
        from launchlab.report.verdict import requests_words  # verdict imports this module

        low, high = (requests_words(n) for n in row.ramp_requests)
        parts.append(f"{low}-{high} requests wait or fail at your peak while it scales")
    elif row.ramp:
        parts.append("throttles at your peak (the ops table says how many)")
    return "; ".join(parts)


def _unit_noun(timeline: Timeline) -> str:
    return "environment" if "environment" in timeline.target else "task"


def patches_words(patches: Patching) -> str:
    total = patches.per_year
    if total is None:
        return "?"
    return f"{'>=' if patches.lower_bound else ''}{total}"


def ops_json(row: OpsRow) -> dict[str, Any]:
    """A row as report.json carries it: the words, and each timeline with low, high, basis."""
    out: dict[str, Any] = {
        key: getattr(row, key)
        for key in (
            "launch_type", "resources", "you_manage", "scaling_unit", "max_request_duration",
            "cold_starts", "min_billable_unit", "costs_at_zero_traffic",
        )
    }  # fmt: skip
    for name, key in TIMELINES.items():
        if name in row.timelines:
            out[key] = row.timelines[name].as_json()
    if row.patching is not None:
        out["patches_per_year"] = row.patching.as_json()
    if row.ramp:
        out["ramp"] = row.ramp
    if row.ramp_requests is not None:
        out["ramp_requests"] = {
            "low": round(row.ramp_requests[0]),
            "high": round(row.ramp_requests[1]),
        }
    return out


# ---- the steps ECS services share --------------------------------------------------------------


def _image_mb(ctx: Context) -> float:
    return ctx.assumptions.ecr_image_gb * 1000


def image_pull(ctx: Context, *, every_task: bool, cached: bool = False) -> Step:
    """Pulling the image: its size over the pull rate; none when the instance has it."""
    rate = ctx.timings["image_pull_mb_per_s"]
    size = _image_mb(ctx)
    basis = (
        f"{size:g} MB image (ecr_image_gb assumption) at {rate.low:g}-{rate.high:g} MB/s "
        f"({rate.basis()})"
    )
    if every_task:
        basis += f"; every task pulls it ({ctx.timings['fargate_pulls_every_task'].basis()})"
    if cached:
        return Step("image pull (cached on the instance)", 0, 0, size / rate.low, basis)
    return Step("image pull", size / rate.high, size / rate.value, size / rate.low, basis)


def alb_healthy(tasks: Tasks, ctx: Context) -> Step:
    """A new target passes the ALB's health checks: one check when newly registered (AWS), up
    to HealthyThreshold x interval when its first check failed."""
    group = tasks.rollout.target_group if tasks.rollout else None
    if group is None:
        return of(ctx.timings["express_health_check_s"], "health checks pass")
    checks = ctx.timings["alb_new_target_checks"]
    return Step(
        "ALB health checks pass",
        0,
        checks.value * group.interval_s,
        group.interval_s * group.healthy_threshold,
        f"template: HealthCheckIntervalSeconds {group.interval_s} x HealthyThresholdCount "
        f"{group.healthy_threshold}; a new target needs {checks.value:g} check "
        f"({checks.basis()})",
    )


def task_start(
    tasks: Tasks, ctx: Context, *, fargate: bool, cached: bool, healthy: bool = True
) -> list[Step]:
    """A new task from ECS placing it until the ALB sends it requests."""
    t = ctx.timings
    steps = [of(t["ecs_place_s"], "ECS places the task")]
    if fargate:
        steps.append(of(t["fargate_provision_s"], "Fargate capacity and network interface"))
    steps.append(image_pull(ctx, every_task=fargate, cached=cached))
    steps.append(of(t["container_start_s"], "the app starts"))
    if healthy:
        steps.append(alb_healthy(tasks, ctx))
    return steps


def alarm(ctx: Context, datapoints_key: str, what: str) -> Step:
    """A CloudWatch alarm of N one-minute datapoints: (N-1)..N periods after the metric breaches."""
    t = ctx.timings
    period, points = t["alarm_period_s"], t[datapoints_key]
    return Step(
        what,
        (points.value - 1) * period.value,
        (points.value - 0.5) * period.value,
        points.value * period.value,
        f"{points.value:g} datapoints x {period.value:g} s ({points.basis()})",
    )


def instance_start(ctx: Context, *, managed_scaling: bool) -> list[Step]:
    """A new EC2 instance for tasks that do not fit: managed scaling's alarm (ECS on EC2), the
    launch, boot and agent registration."""
    t = ctx.timings
    steps = []
    if managed_scaling:
        steps.append(
            alarm(ctx, "capacity_scale_out_datapoints", "capacity provider alarm (tasks waiting)")
        )
    steps.append(of(t["ec2_boot_register_s"], "an instance launches and joins the cluster"))
    return steps


def _per_instance(ctx: Context) -> int | None:
    found = ctx.sizing.get("tasks_per_instance")
    return int(str(found)) if found is not None else None


def _needs_instance(instances: Instances | None, ctx: Context, tasks_after: int) -> bool:
    """Whether ``tasks_after`` tasks outgrow the instances the minimum keeps running."""
    per = _per_instance(ctx)
    if instances is None or per is None:
        return False
    running = max(instances.min_count, 1)
    return tasks_after > running * per


def _counts(ctx: Context, key: str) -> list[int]:
    found = ctx.sizing.get(key)
    return [int(str(n)) for n in found] if isinstance(found, list) else []


def _start_tasks(tasks: Tasks, ctx: Context) -> int:
    """Tasks before the peak: the quietest level's (the minimum when the load is steady)."""
    counts = _counts(ctx, "tasks_by_level")
    return min(counts) if len(counts) > 1 else tasks.min_count


def _served(tasks: Tasks, ctx: Context) -> float:
    return _start_tasks(tasks, ctx) * _hard_rps(tasks, ctx)


def _hard_rps(tasks: Tasks, ctx: Context) -> float:
    """Requests per second one task serves flat out (at 100% CPU, not at the scaling target)."""
    if ctx.assumptions.task_capacity_rps is not None:
        return ctx.assumptions.task_capacity_rps
    profile = ctx.profile
    return tasks.cpu_units / 1024 * 1000 / (profile.avg_duration_ms * ctx.assumptions.cpu_share)


def ramp_requests(
    peak_rps: float, served_rps: float, scale_out: Timeline
) -> tuple[float, float] | None:
    """Requests beyond what is served, at the peak rate, for as long as scaling out takes."""
    excess = peak_rps - served_rps
    if excess <= 0 or scale_out.high == 0:
        return None
    return excess * scale_out.low, excess * scale_out.high


def _ramp_words(peak_rps: float, served_rps: float, scale_out: Timeline, what: str) -> str:
    counted = ramp_requests(peak_rps, served_rps, scale_out)
    if counted is None:
        return ""
    low, high = counted
    return (
        f"the peak, {peak_rps:.3g} req/s, outpaces {what} ({served_rps:.3g} req/s flat out): "
        f"about {low:,.0f}-{high:,.0f} requests wait or fail while it scales out (the peak "
        "arriving at once)"
    )


def ecs_timelines(
    unit: LaunchType, tasks: Tasks, ctx: Context, *, capacity: str
) -> tuple[dict[str, Timeline], str]:
    """Scale-out, deploy, rollback, cold start and scale-in of an ECS service behind an ALB.

    ``capacity``: "fargate" (a host per task, the image pulled each time), "ec2" (an Auto
    Scaling group under managed scaling) or "managed" (ECS Managed Instances)."""
    t = ctx.timings
    fargate = capacity == "fargate"
    instances = unit.instances
    rollout = tasks.rollout
    group = rollout.target_group if rollout else None
    detect = [
        of(t["metric_lag_s"], "the metric shows the load"),
        alarm(ctx, "scale_out_datapoints", f"scale-out alarm ({tasks.scaling.metric})"),
    ]

    def add_tasks(count_after: int, cached: bool) -> list[Step]:
        steps = []
        if not fargate and _needs_instance(instances, ctx, count_after):
            managed = bool(instances and instances.managed_scaling)
            steps += instance_start(ctx, managed_scaling=managed)
            cached = False  # a new instance pulls the image
        return steps + task_start(tasks, ctx, fargate=fargate, cached=cached)

    # One step: one more task than the minimum.
    step = Timeline(
        "scale_out_step", "s", tuple(detect + add_tasks(tasks.min_count + 1, cached=True)),
        target=f"one more task ({tasks.min_count} -> {tasks.min_count + 1})",
    )  # fmt: skip
    # To the peak: from the tasks of the quietest level (the minimum when steady).
    counts = _counts(ctx, "tasks_by_level")
    start = _start_tasks(tasks, ctx)
    need = min(max(counts, default=tasks.min_count), tasks.max_count)
    scale_steps: list[Step] = []
    if need > start:
        growth = 100 / tasks.scaling.target if tasks.scaling.metric in ("cpu", "memory") else 0
        rounds = scaling_rounds(max(start, 1), need, growth)
        scale_steps = detect + add_tasks(need, cached=True)
        for n in range(2, rounds + 1):
            wait = longest(
                f"scaling step {n}: the alarm again, or the cooldown",
                [
                    alarm(ctx, "scale_out_datapoints", "alarm"),
                    fixed(
                        "cooldown",
                        tasks.scaling.scale_out_cooldown_s,
                        f"template: ScaleOutCooldown {tasks.scaling.scale_out_cooldown_s} s",
                    ),
                ],
            )
            scale_steps += [wait, *task_start(tasks, ctx, fargate=fargate, cached=True)]
        why = (
            f"{rounds} steps: at most {growth:.2g}x per step at the {tasks.scaling.target:g}% "
            "target"
            if rounds > 1
            else "one step"
        )
        target = f"{start} -> {need} tasks at the peak ({why})"
    else:
        target = f"{start} task{'s' if start != 1 else ''} serve the peak: nothing to add"
    scale_out = Timeline("scale_out", "s", tuple(scale_steps), target=target)
    served = _served(tasks, ctx)
    ramp = _ramp_words(
        ctx.profile.peak_rps, served, scale_out, f"{start} task{'s' if start != 1 else ''}"
    )

    desired = max(tasks.min_count, 1)
    max_percent = rollout.max_percent if rollout else 200
    batch = max(1, desired * (max_percent - 100) // 100)
    batches = math.ceil(desired / batch)
    drain = _drain(tasks, ctx)
    per_batch = add_tasks(desired + batch, cached=False) + drain
    deploy_steps = [s.scaled(batches, f"{s.what} (x{batches} batches)") if batches > 1 else s
                    for s in per_batch]  # fmt: skip
    deploy = Timeline(
        "deploy", "s", tuple(deploy_steps),
        target=(
            f"{desired} task{'s' if desired != 1 else ''} replaced, {batch} at a time "
            f"(template: MinimumHealthyPercent {rollout.min_healthy_percent if rollout else 100}, "
            f"MaximumPercent {max_percent})"
        ),
    )  # fmt: skip
    rollback = _circuit_breaker(tasks, ctx, desired, batch, fargate=fargate)
    cold_start = _always_running(tasks.min_count, "task", detect + add_tasks(1, cached=True))
    scale_in = Timeline(
        "scale_in", "s",
        (
            alarm(ctx, "scale_in_datapoints", "scale-in alarm"),
            fixed("scale-in cooldown", tasks.scaling.scale_in_cooldown_s,
                  f"template: ScaleInCooldown {tasks.scaling.scale_in_cooldown_s} s"),
            *drain,
        ),
        target=f"back to {tasks.min_count} task{'s' if tasks.min_count != 1 else ''}",
        note=_scale_in_billing(unit, ctx, capacity, group is not None),
    )  # fmt: skip
    return {
        "scale_out": scale_out,
        "scale_out_step": step,
        "deploy": deploy,
        "rollback": rollback,
        "cold_start": cold_start,
        "scale_in": scale_in,
    }, ramp


def scaling_rounds(start: int, need: int, growth: float) -> int:
    """Target-tracking steps from ``start`` to ``need`` tasks: each sets the desired count to
    ceil(current x metric / target), and a utilisation metric cannot pass 100%, so a step
    multiplies by at most ``growth`` (100 / target); 0 (a request-count target): one step."""
    if growth <= 1:
        return 1
    rounds, count = 0, start
    while count < need:
        count = max(count + 1, math.ceil(count * growth - 1e-9))
        rounds += 1
    return rounds


def _drain(tasks: Tasks, ctx: Context) -> list[Step]:
    """The old task leaves: the ALB drains it, then SIGTERM and the app finishes what it has."""
    rollout = tasks.rollout
    group = rollout.target_group if rollout else None
    delay = group.deregistration_delay_s if group else 0
    drain = ctx.timings["app_drain_s"]
    stop = rollout.stop_timeout_s if rollout else 30
    return [
        Step(
            "ALB deregisters the old task",
            0,
            delay / 2,
            delay,
            f"template: deregistration_delay.timeout_seconds {delay}; ends at once with no "
            f"request in flight ({ctx.timings['alb_deregistration_delay_default_s'].basis()})",
        ),
        Step(
            "the old task stops (SIGTERM)",
            drain.low,
            drain.value,
            min(drain.high, stop),
            f"{drain.basis()}; at most template StopTimeout {stop} s",
        ),
    ]


def _circuit_breaker(
    tasks: Tasks, ctx: Context, desired: int, batch: int, *, fargate: bool
) -> Timeline:
    """A bad image rolled back by the deployment circuit breaker: ECS counts failed tasks until
    the threshold, then returns to the last completed deployment, whose tasks kept serving."""
    t = ctx.timings
    rollout = tasks.rollout
    if rollout is None or not (rollout.circuit_breaker and rollout.rollback):
        return Timeline(
            "rollback", "s", (), target="no automatic rollback",
            note="no deployment circuit breaker with rollback in the template: a failing "
            "deployment keeps retrying until you roll it back",
        )  # fmt: skip
    low, high = t["circuit_breaker_min"].value, t["circuit_breaker_max"].value
    threshold = int(min(high, max(low, math.ceil(0.5 * desired))))
    waves = math.ceil(threshold / batch)
    grace = tasks.health_check_grace_s
    judged = [fixed("grace period", grace, f"template: HealthCheckGracePeriodSeconds {grace}")]
    failing = []
    health = rollout.container_health
    if health is not None:
        seconds = health.start_period_s + health.retries * health.interval_s
        failing.append(
            fixed(
                "container health check fails",
                seconds,
                f"template: StartPeriod {health.start_period_s} + Retries {health.retries} x "
                f"Interval {health.interval_s}",
            )
        )
    group = rollout.target_group
    if group is not None:
        seconds = group.unhealthy_threshold * group.interval_s
        failing.append(
            fixed(
                "ALB health check fails",
                seconds,
                f"template: UnhealthyThresholdCount {group.unhealthy_threshold} x "
                f"HealthCheckIntervalSeconds {group.interval_s}",
            )
        )
    if failing:
        first = min(failing, key=lambda s: s.value)
        judged.append(first)
    verdict = longest("the task is judged failed", judged)
    per_wave = [
        *task_start(tasks, ctx, fargate=fargate, cached=False, healthy=False),
        verdict,
        of(t["failed_task_relaunch_s"], "ECS replaces it"),
    ]
    steps = [s.scaled(waves, f"{s.what} (x{waves})") if waves > 1 else s for s in per_wave]
    steps.append(_drain(tasks, ctx)[0])
    return Timeline(
        "rollback", "s", tuple(steps),
        target=(
            f"{threshold} failed tasks (the circuit breaker's threshold at {desired} desired: "
            f"0.5 x desired, {low:g}..{high:g}, {t['circuit_breaker_min'].basis()}), "
            f"{batch} at a time"
        ),
        note=(
            "the old tasks keep serving throughout (MinimumHealthyPercent "
            f"{rollout.min_healthy_percent})"
        ),
    )  # fmt: skip


def _always_running(minimum: int, noun: str, start: list[Step]) -> Timeline:
    """No cold start while the template keeps one running; else what starting one takes (in
    ms), during which the first requests fail."""
    if minimum >= 1:
        return Timeline(
            "cold_start", "ms", (),
            target=f"none: {minimum} {noun}{'s' if minimum != 1 else ''} always running "
            "(the template's minimum)",
        )  # fmt: skip
    return Timeline(
        "cold_start", "ms", tuple(step.scaled(1000) for step in start),
        target=f"the template's minimum is 0 {noun}s: one must start",
        note="requests fail (no target) until it serves",
    )  # fmt: skip


def _scale_in_billing(unit: LaunchType, ctx: Context, capacity: str, alb: bool) -> str:
    kept = "the ALB bills by the hour throughout; " if alb else ""
    if capacity == "fargate":
        return kept + "each task bills until it stops"
    if capacity == "ec2":
        points = ctx.timings["capacity_scale_in_datapoints"]
        return kept + (
            "an emptied instance keeps billing until the capacity provider removes it, "
            f"{points.value:g} more one-minute datapoints ({points.basis()}), down to the "
            f"group's MinSize {unit.instances.min_count if unit.instances else 0}"
        )
    after = unit.instances.scale_in_after_s if unit.instances else None
    if after is not None and after >= 0:
        return kept + (
            f"an emptied instance bills until ECS terminates it, {after} s after its last task "
            "(template: ScaleInAfter)"
        )
    return kept + "an emptied instance bills until ECS stops it (it picks when)"


# ---- Lambda -------------------------------------------------------------------------------------


def lambda_cold_start(ctx: Context) -> Timeline:
    t = ctx.timings
    return Timeline(
        "cold_start", "ms",
        (
            of(t["lambda_platform_init_ms"], "Lambda prepares an environment, fetches the image"),
            of(t["lambda_app_init_ms"], "the app's init (imports)"),
        ),
        target="the first request on a new execution environment (after idle, or while scaling)",
    )  # fmt: skip


def lambda_timelines(unit: LaunchType, ctx: Context) -> tuple[dict[str, Timeline], str]:
    t = ctx.timings
    function = unit.function
    assert function is not None
    cold = lambda_cold_start(ctx)
    cold_s = [s.scaled(1 / 1000) for s in cold.steps]
    concurrency = ctx.profile.peak_rps * ctx.profile.avg_duration_ms / 1000
    rate = t["lambda_scaling_per_10s"]
    beyond = max(0.0, concurrency - rate.value)
    scaling_wait = Step(
        "Lambda adds environments",
        beyond / rate.value * 10,
        beyond / rate.value * 10,
        math.ceil(concurrency / rate.value) * 10 if concurrency > rate.value else 0,
        f"{concurrency:.3g} concurrent at the peak, {rate.value:,.0f} more per 10 s "
        f"({rate.basis()})",
    )
    scale_out = Timeline(
        "scale_out", "s", (scaling_wait, *cold_s),
        # No wait but each new environment's cold start: Lambda adds one per request in flight.
        extra={"per_request": scaling_wait.high == 0},
        target=f"{math.ceil(concurrency)} environment{'s' if math.ceil(concurrency) != 1 else ''}"
        " at the peak",
    )  # fmt: skip
    step = Timeline("scale_out_step", "s", tuple(cold_s), target="one more environment")
    limit = function.reserved_concurrency
    ramp = ""
    if limit is not None and concurrency > limit:
        over = (concurrency - limit) / concurrency * ctx.profile.peak_rps
        ramp = (
            f"at the peak {concurrency:.3g} requests are in flight but the reserved concurrency "
            f"is {limit}: about {over:.3g} req/s are throttled (429) for as long as the peak lasts"
        )
    update = of(t["lambda_update_s"], "the function's code is updated")
    deploy = Timeline(
        "deploy", "s", (update,), target="UpdateFunctionCode to the new image",
        note="each environment's next request after it starts cold",
    )  # fmt: skip
    rollback = Timeline(
        "rollback", "s", (update,), target=BY_HAND,
        note="no automatic rollback: the template has no alias or CodeDeploy and no alarm, "
        "so a bad image serves errors until you notice and redeploy",
    )  # fmt: skip
    scale_in = Timeline(
        "scale_in", "s", (), target="nothing to remove",
        note="nothing bills between requests; Lambda reclaims idle environments itself",
    )  # fmt: skip
    return {
        "scale_out": scale_out,
        "scale_out_step": step,
        "deploy": deploy,
        "rollback": rollback,
        "cold_start": cold,
        "scale_in": scale_in,
    }, ramp


# ---- what each launch type patches ------------------------------------------------------------


def image_how(deploy: Timeline) -> str:
    return f"rebuild the image from the new base, push it, deploy it ({words(deploy)} by the model)"


def instance_replacement(unit: LaunchType, tasks: Tasks, ctx: Context) -> Timeline:
    """A new AMI rolled onto the instances: one at a time, a new one in service (and its tasks
    moved by managed draining) before an old one goes."""
    count = max(unit.instances.min_count if unit.instances else 1, 1)
    per = [
        *instance_start(ctx, managed_scaling=False),
        *task_start(tasks, ctx, fargate=False, cached=False),
        *_drain(tasks, ctx),
    ]
    steps = [s.scaled(count, f"{s.what} (x{count} instances)") if count > 1 else s for s in per]
    return Timeline("instance_refresh", "s", tuple(steps), target=f"{count} instance(s)")


def extras(
    unit: LaunchType, common: Common, *, kind: str, patches: tuple[str, ...], aws: str
) -> dict[str, Any]:
    """The timelines, ramp and patching of a row, as OpsRow keyword arguments ({} without a
    context). ``kind``: fargate, ec2, managed, express, lambda or lmi; ``patches``: what the
    owner keeps current, "ami" and/or "image" or "lambda-image"."""
    ctx = common.context
    if ctx is None:
        return {}
    if kind in ("fargate", "ec2", "managed"):
        assert unit.tasks is not None
        timelines, ramp = ecs_timelines(unit, unit.tasks, ctx, capacity=kind)
    elif kind == "express":
        timelines, ramp = express_timelines(unit, ctx)
    elif kind == "lambda":
        timelines, ramp = lambda_timelines(unit, ctx)
    else:
        timelines, ramp = lmi_timelines(unit, ctx)
    counted = None
    if kind in ("fargate", "ec2", "managed", "express") and unit.tasks is not None:
        counted = ramp_requests(
            ctx.profile.peak_rps, _served(unit.tasks, ctx), timelines["scale_out"]
        )
    deploy = timelines["deploy"]
    yours = []
    for what in patches:
        if what == "ami" and unit.instances is not None and unit.tasks is not None:
            refresh = instance_replacement(unit, unit.tasks, ctx)
            yours.append(
                patching.ami_patch(
                    ctx.cadence,
                    unit.instances.ami_parameter,
                    "deploy again (the latest AMI is resolved at deploy), then the Auto Scaling "
                    f"group replaces the instances one at a time ({words(refresh)} by the model)",
                )
            )
        elif what == "image":
            yours.append(patching.image_patch(ctx.cadence, unit.app or "", image_how(deploy)))
        elif what == "lambda-image":
            yours.append(patching.image_patch(ctx.cadence, f"{unit.app}-lambda", image_how(deploy)))
    return {
        "timelines": timelines,
        "ramp": ramp,
        "ramp_requests": counted,
        "patching": Patching(tuple(yours), aws),
    }


# ---- ECS Express Mode and Lambda Managed Instances ------------------------------------------


def express_timelines(unit: LaunchType, ctx: Context) -> tuple[dict[str, Timeline], str]:
    """Express Mode's service: Fargate tasks, ECS's own target group and a canary deploy whose
    bake times and rollback alarm AWS documents (timings.yaml)."""
    t = ctx.timings
    tasks = unit.tasks
    assert tasks is not None
    timelines, ramp = ecs_timelines(unit, tasks, ctx, capacity="fargate")
    start = task_start(tasks, ctx, fargate=True, cached=False)
    old_stop = of(t["app_drain_s"], "the old tasks stop")
    timelines["deploy"] = Timeline(
        "deploy", "s",
        (*start, of(t["express_canary_bake_s"], "canary: 5% of traffic, bake"),
         of(t["express_final_bake_s"], "all traffic, bake"), old_stop),
        target="a canary deployment (Express Mode's default)",
    )  # fmt: skip
    timelines["rollback"] = Timeline(
        "rollback", "s",
        (*task_start(tasks, ctx, fargate=True, cached=False, healthy=False),
         of(t["express_rollback_alarm_s"], "the rollback alarm (4xx+5xx over 1%)")),
        target="alarm-based rollback during the canary",
        note="only the canary's 5% of traffic reaches the bad image",
    )  # fmt: skip
    return timelines, ramp


def lmi_timelines(unit: LaunchType, ctx: Context) -> tuple[dict[str, Timeline], str]:
    """Lambda Managed Instances: environments kept warm, scaled on CPU asynchronously, at most
    doubling every 5 minutes without throttles (AWS); instances when environments do not fit."""
    t = ctx.timings
    function = unit.managed_function
    assert function is not None
    envs = _counts(ctx, "environments_by_level")
    instances = _counts(ctx, "instances_by_level")
    start = min(envs) if len(envs) > 1 else function.min_environments
    need = min(max(envs, default=start), function.max_environments)
    doubling = t["lmi_doubling_s"]
    env_start = of(t["lmi_environment_start_s"], "a new environment starts")
    new_instance = of(t["ec2_boot_register_s"], "a new instance launches")
    more_instances = len(instances) > 1 and max(instances) > min(instances)
    steps: list[Step] = []
    if need > start:
        doublings = math.log2(need / max(start, 1))
        steps.append(
            Step(
                "capacity doubles per 5 minutes at most",
                doublings * doubling.value,
                doublings * doubling.value,
                math.ceil(doublings) * doubling.value,
                f"{start} -> {need} environments: {doublings:.2g} doublings ({doubling.basis()})",
            )
        )
        steps.append(new_instance if more_instances else env_start)
        target = f"{start} -> {need} environments at the peak"
    else:
        target = f"{start} environments serve the peak: nothing to add"
    scale_out = Timeline("scale_out", "s", tuple(steps), target=target)
    step = Timeline(
        "scale_out_step", "s",
        (Step(env_start.what, env_start.low, env_start.value, new_instance.high,
              f"{env_start.basis}; a new instance when none has room: {new_instance.basis}"),),
        target="one more environment",
    )  # fmt: skip
    ramp = ""
    if need > 2 * start:
        ramp = (
            f"the peak needs {need} environments, more than twice the {start} before it: "
            f"traffic that more than doubles within 5 minutes is throttled while Lambda scales "
            f"({doubling.basis()})"
        )
    update = of(t["lambda_update_s"], "the function's code is updated")
    deploy = Timeline(
        "deploy", "s",
        (update, Step(
            "the new version's environments start", env_start.low, env_start.value,
            new_instance.high,
            f"{function.min_environments} (template MinExecutionEnvironments) before the version "
            f"is ACTIVE ({t['lmi_active_after_environments'].basis()}); {env_start.basis}",
        )),
        target="a new version, then the alias live moves to it",
    )  # fmt: skip
    init_limit = max(t["lmi_init_timeout_floor_s"].value, function.timeout_s)
    rollback = Timeline(
        "rollback", "s",
        (update,
         fixed("the new version's init fails", init_limit,
               f"max(130 s, template Timeout {function.timeout_s} s) "
               f"({t['lmi_init_timeout_floor_s'].basis()})"),
         of(t["cloudformation_rollback_s"], "CloudFormation rolls the update back")),
        target="a version that fails init never becomes ACTIVE",
        note="the alias stays on the old version: requests never reach the bad one",
    )  # fmt: skip
    cold_start = _always_running(function.min_environments, "environment", [env_start])
    scale_in = Timeline(
        "scale_in", "s", (of(t["lmi_scale_in_s"], "Lambda scales in environments and instances"),),
        target=f"back to {function.min_environments} environments",
        note="instances above the minimum bill until Lambda removes them",
    )  # fmt: skip
    return {
        "scale_out": scale_out,
        "scale_out_step": step,
        "deploy": deploy,
        "rollback": rollback,
        "cold_start": cold_start,
        "scale_in": scale_in,
    }, ramp
