"""ECS Express Mode: an image in, an HTTPS URL out. ECS creates and runs the ALB, target
group, security groups, certificate and scaling; the tasks are Fargate tasks.

No charge of its own (https://aws.amazon.com/ecs/pricing/: you pay for the Fargate tasks and
the resources it creates). Its ALB, which ECS shares among up to 25 Express services, is
priced once by the report's load-balancer rules (inventory.EXPRESS_ALB).
"""

from __future__ import annotations

from launchlab.report.cost import required
from launchlab.report.inventory import LaunchType
from launchlab.report.ops import Common, OpsRow, extras, scaling_policy
from launchlab.report.patching import FARGATE_PATCHING
from launchlab.report.rules import fargate

# Its compute is Fargate's: the same rule prices the tasks its service states.
price = fargate.price


def ops(unit: LaunchType, common: Common) -> OpsRow:
    tasks = required(unit.tasks, "Express service", unit)
    return OpsRow(
        launch_type=unit.launch_type,
        resources=common.resources,
        you_manage=(
            f"the image and its OS packages, task size and scaling ({scaling_policy(tasks)}); "
            "ECS creates and runs the ALB, HTTPS certificate, security groups and alarms "
            "(outside your stack: `.venv/bin/launchlab down` looks for them after destroy)"
        ),
        scaling_unit="a Fargate task (ENI, image pull, health checks; how long: the timelines)",
        max_request_duration=common.alb_duration,
        cold_starts=f"none per request: the service keeps {tasks.min_count} task(s) running",
        min_billable_unit="task per second, 60 s minimum (Fargate), plus the shared ALB",
        costs_at_zero_traffic=common.zero_traffic,
        **extras(
            unit,
            common,
            kind="express",
            patches=("image",),
            aws=f"the Fargate hosts ({FARGATE_PATCHING}) and the ALB, certificate and alarms",
        ),
    )
