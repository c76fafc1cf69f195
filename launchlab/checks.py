"""Verdicts of the checkers that run on every synth: cdk-nag (inside synth) and cfn-lint."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The cfn-lint console script installed beside this interpreter (the package has no __main__).
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
# cfn-lint findings we accept, each with its reason; every other error or warning counts.
CFN_LINT_IGNORES: dict[str, str] = {
    "W3005": "a DependsOn that a Ref already implies: CDK adds them for roles, policies and "
    "listeners, and the ECS services depend on the whole cluster construct because CDK only "
    "creates its capacity provider associations at synth (stacks/constructs/ecs_service.py)",
}
# cfn-lint's exit code is a bit mask: 1 it failed to run, 2 errors, 4 warnings, 8 informational.
_FAILED_TO_RUN, _ERRORS = 1, 2


@dataclass(frozen=True)
class Verdict:
    checker: str
    passed: bool
    detail: str
    findings: tuple[str, ...] = ()  # the checker's own lines, where it prints any


def cdk_nag(outdir: Path) -> Verdict:
    """Read cdk-nag's findings from the validation report synth wrote."""
    report_path = outdir / "validation-report.json"
    if not report_path.exists():
        return Verdict("cdk-nag", False, f"no validation report in {outdir}")
    report = json.loads(report_path.read_text())
    plugins = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    if not plugins:
        return Verdict("cdk-nag", False, "the AwsSolutions pack did not run")
    violations = sum(len(p["violations"]) for p in plugins)
    suppressed = sum(len(p.get("suppressedViolations", [])) for p in plugins)
    return Verdict(
        "cdk-nag",
        violations == 0,
        f"AwsSolutions: {violations} unsuppressed, {suppressed} acknowledged with a reason",
    )


def cfn_lint(outdir: Path) -> Verdict:
    """Run cfn-lint over every template; errors fail, warnings (but the accepted) are counted."""
    templates = sorted(str(p) for p in outdir.glob("*.template.json"))
    result = subprocess.run(
        [CFN_LINT, "--format", "parseable", "--ignore-checks", *CFN_LINT_IGNORES, "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.splitlines()
    errors = sum(1 for line in lines if ":E" in line)
    warnings = sum(1 for line in lines if ":W" in line)
    if result.returncode & _FAILED_TO_RUN:
        return Verdict("cfn-lint", False, f"cfn-lint did not run: {result.stderr.strip()}")
    return Verdict(
        "cfn-lint",
        errors == 0 and not result.returncode & _ERRORS,
        f"{len(templates)} templates: {errors} errors, {warnings} warnings",
        tuple(line for line in lines if line.strip()),
    )
