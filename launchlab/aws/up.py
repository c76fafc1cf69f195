"""`launchlab up`: deploy every stack, then say where the endpoints are and what idling costs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import botocore.exceptions
from rich.console import Console
from rich.table import Table

from launchlab import assembly
from launchlab.assembly import context_args
from launchlab.aws.cdk import outputs_file, run_cdk
from launchlab.aws.costs import idle_cost_per_hour
from launchlab.aws.sandbox import DENIED, Sandbox, aws_errors
from launchlab.errors import LaunchlabError
from launchlab.report.prices import HOURS_PER_MONTH
from stacks import launch_types


def check_credentials(sandbox: Sandbox) -> str:
    """The account the credentials belong to; fails in one line before a long cdk run."""
    with aws_errors(sandbox.region):
        return str(sandbox.client("sts").get_caller_identity()["Account"])


ECS_SERVICE = "ecs.amazonaws.com"
ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"


def ensure_ecs_service_linked_role(sandbox: Sandbox, console: Console) -> None:
    """Create AWSServiceRoleForECS unless the account has it.

    ECS creates the role itself on first use, but CloudFormation does not wait for it: the
    first deploy into a brand-new account can fail with "Unable to assume the service linked
    role" (cloudformation-coverage-roadmap#818; openemr/openemr-on-ecs#8). Creating it up front
    is idempotent: IAM answers InvalidInput "... has been taken in this account" when it exists
    (Rayraegah/terraform-aws-hasura#17), moto EntityAlreadyExists.
    """
    iam = sandbox.client("iam")
    with aws_errors(sandbox.region):
        try:
            created = iam.create_service_linked_role(AWSServiceName=ECS_SERVICE)
        except botocore.exceptions.ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            message = str(error.response.get("Error", {}).get("Message", ""))
            if code == "EntityAlreadyExists" or "has been taken" in message:
                return
            if code not in DENIED:
                raise
            # Deploying goes through the CDK's own roles, so these credentials may rightly
            # lack IAM rights; in a used account the role exists anyway.
            console.print(
                f"note: could not create {ECS_SERVICE_LINKED_ROLE} ({code}); if this account "
                'never ran ECS and the deploy fails with "Unable to assume the service linked '
                'role", run `aws iam create-service-linked-role --aws-service-name '
                f"{ECS_SERVICE}` and `.venv/bin/launchlab up` again",
                highlight=False,
                markup=False,
            )
            return
    console.print(f"created the ECS service-linked role {created['Role']['RoleName']}")


def up(sandbox: Sandbox, outdir: Path, context: Mapping[str, str], console: Console) -> int:
    account = check_credentials(sandbox)
    ensure_ecs_service_linked_role(sandbox, console)
    console.print(f"deploying every stack to account {account} in {sandbox.region}")
    outputs_path = outputs_file(outdir)
    run_cdk(
        [
            "deploy",
            "--all",
            "--require-approval",
            "never",
            "--outputs-file",
            str(outputs_path),
            "-o",
            str(outdir),
            *context_args(context),
        ],
        region=sandbox.region,
        what="cdk deploy",
        next_step="read the CloudFormation error above, fix it, and run "
        "`.venv/bin/launchlab up` again (`.venv/bin/launchlab down` removes a half-deployed app)",
    )
    outputs = read_outputs(outputs_path)
    deployed = assembly.load(outdir)
    endpoints = Table(title="endpoints")
    for column in ("stack", "launch type", "url"):
        endpoints.add_column(column)
    for key in deployed.launch_types:
        stack = launch_types.spec(key).stack_id
        endpoints.add_row(stack, key, outputs.get(stack, {}).get("EndpointUrl", "(none)"))
    console.print(endpoints)

    idle = idle_cost_per_hour(deployed, sandbox.region)
    costs = Table(title=f"idle cost of what is now running in {sandbox.region}")
    for column in ("stack", "item", "$/hour"):
        costs.add_column(column)
    for line in idle.lines:
        costs.add_row(line.stack, line.item, f"{line.usd_per_hour:.4f}")
    console.print(costs)
    console.print(
        f"idle total: ${idle.total:.4f}/hour (~${idle.total * HOURS_PER_MONTH:.0f}/month); "
        f"prices: {idle.source}. Run `.venv/bin/launchlab down` when you are done."
    )
    return 0


def read_outputs(path: Path) -> dict[str, dict[str, str]]:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        raise LaunchlabError(
            f"cdk deploy wrote no readable outputs to {path}: run `.venv/bin/launchlab verify` "
            "to read them from CloudFormation"
        ) from None
    if not isinstance(raw, dict):
        raise LaunchlabError(f"{path} is not a cdk outputs file")
    return {
        str(k): {str(a): str(b) for a, b in v.items()}
        for k, v in raw.items()
        if isinstance(v, dict)
    }
