"""Verdicts of the checkers that run on every synth: cdk-nag (inside synth) and cfn-lint."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
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
# The last verdict, kept beside the templates it judged: `launchlab demo --reuse` (and any
# second look at the same assembly) skips a lint of several seconds when nothing changed.
CFN_LINT_CACHE = ".launchlab-cfn-lint.json"


@dataclass(frozen=True)
class Verdict:
    checker: str
    passed: bool
    detail: str
    findings: tuple[str, ...] = ()  # the checker's own lines, where it prints any
    cached: bool = False  # the same inputs were judged before; this is that verdict


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
    """Run cfn-lint over every template; errors fail, warnings (but the accepted) are counted.

    A verdict is a function of the templates, where they are (findings name their paths), the
    cfn-lint version and the accepted findings, so it is kept in ``outdir`` under a digest of
    those and reused while they stay the same; a cfn-lint that did not run keeps nothing."""
    templates = sorted(outdir.glob("*.template.json"))
    key = _cfn_lint_key(outdir, templates)
    cache = outdir / CFN_LINT_CACHE
    try:
        kept = json.loads(cache.read_text())
        if kept["key"] == key:
            verdict = kept["verdict"]
            return Verdict(**{**verdict, "findings": tuple(verdict["findings"]), "cached": True})
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none kept yet, or unreadable: lint
    verdict = _run_cfn_lint(templates)
    if verdict.detail.startswith("cfn-lint did not run"):
        return verdict  # an installation problem, not a property of these templates
    partial = cache.with_name(f"{cache.name}.{os.getpid()}")
    try:
        partial.write_text(json.dumps({"key": key, "verdict": asdict(verdict)}))
        partial.replace(cache)  # atomic: a reader sees the old verdict or the new, never half
    except OSError:  # a read-only assembly, say: nothing kept, nothing lost
        with contextlib.suppress(OSError):
            partial.unlink()
    return verdict


def _cfn_lint_key(outdir: Path, templates: list[Path]) -> str:
    """A digest of everything the verdict depends on (findings name the templates' paths)."""
    digest = hashlib.sha256()
    digest.update(metadata.version("cfn-lint").encode())
    digest.update(json.dumps(sorted(CFN_LINT_IGNORES)).encode())
    digest.update(str(outdir.resolve()).encode())
    for template in templates:
        digest.update(template.name.encode() + b"\0" + template.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_cfn_lint(templates: list[Path]) -> Verdict:
    result = subprocess.run(
        [CFN_LINT, "--format", "parseable", "--ignore-checks", *CFN_LINT_IGNORES, "--",
         *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
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
