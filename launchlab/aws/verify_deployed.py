"""`launchlab verify`: every deployed endpoint serves the contract on the launch type it claims,
each ECS service reached steady state, and the function is active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from launchlab.aws.deployed import Endpoint, endpoints
from launchlab.aws.sandbox import Sandbox, aws_errors
from launchlab.verify import Check, verify_endpoint
from stacks import launch_types


@dataclass(frozen=True)
class StackVerdict:
    endpoint: Endpoint
    checks: list[Check]
    next_step: str  # what to do when a check failed

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def ecs_service_checks(sandbox: Sandbox, cluster: str, service: str) -> list[Check]:
    """Steady state: every desired task running, one PRIMARY deployment, its rollout done."""
    with aws_errors(sandbox.region):
        answer = sandbox.client("ecs").describe_services(cluster=cluster, services=[service])
    found: list[dict[str, Any]] = answer.get("services", [])
    if not found:
        reasons = ", ".join(str(f.get("reason")) for f in answer.get("failures", [])) or "missing"
        return [Check("ECS service", False, f"{service} in {cluster}: {reasons}")]
    svc = found[0]
    running, desired = int(svc.get("runningCount", 0)), int(svc.get("desiredCount", 0))
    deployments: list[dict[str, Any]] = svc.get("deployments", [])
    primary = [d for d in deployments if d.get("status") == "PRIMARY"]
    rollout = str(primary[0].get("rolloutState", "?")) if primary else "no PRIMARY deployment"
    return [
        Check("ECS service active", svc.get("status") == "ACTIVE", str(svc.get("status"))),
        Check(
            "ECS tasks running",
            desired > 0 and running == desired,
            f"running {running} of desired {desired}",
        ),
        Check(
            "ECS deployment complete",
            len(deployments) == 1 and len(primary) == 1 and rollout == "COMPLETED",
            f"{len(deployments)} deployment(s), primary rollout {rollout}",
        ),
    ]


def lambda_checks(sandbox: Sandbox, function: str) -> list[Check]:
    with aws_errors(sandbox.region):
        config = sandbox.client("lambda").get_function(FunctionName=function)["Configuration"]
    state, update = config.get("State"), config.get("LastUpdateStatus")
    detail = f"State {state}, LastUpdateStatus {update}"
    if config.get("StateReason"):
        detail += f" ({config['StateReason']})"
    return [Check("Lambda active", state == "Active" and update == "Successful", detail)]


def verify_stack(sandbox: Sandbox, endpoint: Endpoint, timeout: float) -> StackVerdict:
    # What GET / answers there, from the registry: Express Mode's tasks say "fargate".
    expected = launch_types.spec(endpoint.launch_type).reports_as
    report = verify_endpoint(
        endpoint.stack, endpoint.url, expected_launch_type=expected, timeout=timeout
    )
    checks = list(report.checks)
    if endpoint.cluster and endpoint.service:
        checks += ecs_service_checks(sandbox, endpoint.cluster, endpoint.service)
        next_step = (
            f"look at service {endpoint.service} in cluster {endpoint.cluster} (events, stopped "
            "tasks, target health), then run `.venv/bin/launchlab verify` again"
        )
    else:
        checks += lambda_checks(sandbox, endpoint.function or "")
        next_step = (
            f"look at function {endpoint.function} (state, recent logs in CloudWatch), then run "
            "`.venv/bin/launchlab verify` again"
        )
    return StackVerdict(endpoint, checks, next_step)


def failure_line(verdict: StackVerdict) -> str:
    """One line per failing stack: what is wrong and what to do next."""
    failed = [c for c in verdict.checks if not c.passed]
    health = next((c for c in failed if c.name == "health"), None)
    # verify_endpoint words a failed connection as "GET /health: <httpx error class>".
    if health and health.detail.startswith("GET /health: "):
        what = f"endpoint {verdict.endpoint.url} is not answering ({health.detail.split(': ')[-1]})"
    else:
        what = "; ".join(f"{c.name}: {c.detail}" for c in failed)
    return f"{verdict.endpoint.stack}: {what}: {verdict.next_step}"


def verify(sandbox: Sandbox, console: Console, timeout: float = 10.0) -> int:
    verdicts = [verify_stack(sandbox, endpoint, timeout) for endpoint in endpoints(sandbox)]
    for verdict in verdicts:
        table = Table(
            title=f"{verdict.endpoint.stack} ({verdict.endpoint.launch_type}) "
            f"{verdict.endpoint.url}"
        )
        for column in ("check", "result", "detail"):
            table.add_column(column)
        for check in verdict.checks:
            table.add_row(check.name, "pass" if check.passed else "FAIL", check.detail)
        console.print(table)
    failing = [v for v in verdicts if not v.passed]
    errors = Console(stderr=True)
    for verdict in failing:
        errors.print(
            f"launchlab: {failure_line(verdict)}", highlight=False, markup=False, soft_wrap=True
        )
    if not failing:
        console.print(f"all {len(verdicts)} endpoints verified in {sandbox.region}")
    return 1 if failing else 0
