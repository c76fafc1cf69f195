"""`launchlab up`: synthesize, check that the account can run the selection (quotas,
service-linked roles: launchlab/aws/preflight.py), deploy every stack, then say where the
endpoints are and what idling costs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.table import Table

from launchlab import assembly
from launchlab.assembly import context_args
from launchlab.aws.cdk import outputs_file, run_cdk
from launchlab.aws.costs import idle_cost_per_hour
from launchlab.aws.preflight import check_quotas, ensure_service_linked_roles
from launchlab.aws.sandbox import Sandbox, aws_errors
from launchlab.errors import LaunchlabError
from launchlab.report.prices import HOURS_PER_MONTH
from stacks import launch_types


def check_credentials(sandbox: Sandbox) -> str:
    """The account the credentials belong to; fails in one line before a long cdk run."""
    with aws_errors(sandbox.region):
        return str(sandbox.client("sts").get_caller_identity()["Account"])


def up(
    sandbox: Sandbox,
    outdir: Path,
    context: Mapping[str, str],
    console: Console,
    *,
    ignore_quotas: bool = False,
) -> int:
    """Synthesize, check the account can run the selection (preflight), deploy, then print
    the endpoints and the idle cost."""
    account = check_credentials(sandbox)
    console.print(f"synthesizing the app into {outdir}")
    run_cdk(
        ["synth", "--quiet", "-o", str(outdir), *context_args(context)],
        region=sandbox.region,
        what="cdk synth",
        next_step="fix what the synth says above, then run `.venv/bin/launchlab up` again",
    )
    assembly.record_context(outdir, context)
    app = assembly.load(outdir)
    check_quotas(sandbox, app, console, ignore=ignore_quotas)
    ensure_service_linked_roles(sandbox, console, app.launch_types)
    console.print(f"deploying every stack to account {account} in {sandbox.region}")
    outputs_path = outputs_file(outdir)
    # The assembly just checked, as it is: `--app DIR` deploys a synthesized cloud assembly.
    run_cdk(
        [
            "deploy",
            "--app",
            str(outdir),
            "--all",
            "--require-approval",
            "never",
            "--outputs-file",
            str(outputs_path),
        ],
        region=sandbox.region,
        what="cdk deploy",
        next_step="read the CloudFormation error above, fix it, and run "
        "`.venv/bin/launchlab up` again (`.venv/bin/launchlab down` removes a half-deployed app)",
    )
    outputs = read_outputs(outputs_path)
    endpoints = Table(title="endpoints")
    for column in ("stack", "launch type", "url"):
        endpoints.add_column(column)
    for key in app.launch_types:
        stack = launch_types.spec(key).stack_id
        endpoints.add_row(stack, key, outputs.get(stack, {}).get("EndpointUrl", "(none)"))
    console.print(endpoints)

    idle = idle_cost_per_hour(app, sandbox.region)
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
