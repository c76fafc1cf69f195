"""Verdicts of the checkers that run on every synth: cdk-nag (inside synth), cfn-lint, and the
network check (every workload can reach ECR and CloudWatch Logs: launchlab.reachability)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from launchlab import kept, reachability
from launchlab.assembly import Assembly

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
# Where cfn-lint's output is kept when LAUNCHLAB_CACHE_DIR is unset: beside the templates it
# judged, so `launchlab demo --reuse` (any second look at the same assembly) skips a lint of
# several seconds when nothing changed.
KEPT_BESIDE_TEMPLATES = ".launchlab-kept"
# This module's own bytes, in the key too: a change to how the output is captured before it is
# kept (a mutant, a bug and its fix) must not read what the old code kept.
_THIS_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    checker: str
    passed: bool
    detail: str
    findings: tuple[str, ...] = ()  # the checker's own lines, where it prints any
    cached: bool = False  # the checker's output on the same inputs was kept, and read here


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


def network(app: Assembly) -> Verdict:
    """Whether every workload the templates place in the VPC has a way out to what it must
    reach (an image registry, its logs), read from subnets, routes and endpoints: a task that
    cannot pull its image fails only on AWS, after the stack has waited out its timeout."""
    ways = reachability.ways_out(app)
    failing = tuple(way.describe() for way in ways if not way.ok)
    placed = len({(way.placement.stack, way.placement.logical_id) for way in ways})
    if failing:
        return Verdict(
            "network", False, f"{len(failing)} of {len(ways)} subnets: no way out", failing
        )
    return Verdict("network", True, f"{placed} workload placements: each subnet has a way out")


def cfn_lint(outdir: Path, templates: Sequence[Path] | None = None) -> Verdict:
    """Run cfn-lint over every template in ``outdir`` (or over ``templates``, each somewhere
    under it); errors fail, warnings (but the accepted) are counted.

    cfn-lint's output depends on its version, its arguments (the accepted findings, each
    template's path relative to ``outdir``), the templates' bytes and what else it reads
    (_cfn_lint_surroundings: the region, any .cfnlintrc, newer schemas), so it is kept
    (launchlab.kept) under a digest of those and of this module's bytes (the code that
    captured it), with paths relative to ``outdir``: another directory holding the same
    templates reads it back, its findings naming that directory.
    The verdict is drawn from the output on every call; a cfn-lint that did not run keeps
    nothing."""
    chosen = sorted(outdir.glob("*.template.json")) if templates is None else templates
    names = [Path(template).relative_to(outdir).as_posix() for template in chosen]
    arguments = _cfn_lint_arguments(names)
    digest = kept.key(
        "cfn-lint",
        _THIS_CODE,
        metadata.version("cfn-lint"),
        *arguments,  # the accepted findings, then each template's name
        *((outdir / name).read_bytes() for name in names),
        *_cfn_lint_surroundings(outdir),
    )
    place = kept.directory(outdir / KEPT_BESIDE_TEMPLATES)
    output = _cfn_lint_output(kept.read(place, digest))
    cached = output is not None
    if output is None:
        # Run where the templates are, so that what it prints names them relative to outdir.
        result = subprocess.run(
            [CFN_LINT, *arguments], cwd=outdir, capture_output=True, text=True, check=False
        )
        output = _CfnLintOutput(result.returncode, result.stdout.splitlines(), result.stderr)
        if not _did_not_run(output.returncode):  # a broken install says nothing of these
            kept.keep(place, digest, [output.returncode, output.lines, output.stderr])
    return _cfn_lint_verdict(output, outdir, names, cached=cached)


# What cfn-lint 1.x reads besides its arguments and templates: the region to lint for when no
# --regions is given (AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1); a .cfnlintrc
# (.yaml, .yml) in the home and in the directory it runs in; and the resource schemas that
# `cfn-lint --update-specs` downloads into its cache, used where newer than those it ships.
_CFN_LINT_ENVIRONMENT = ("AWS_REGION", "AWS_DEFAULT_REGION")
_CFNLINTRC = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")


def _cfn_lint_surroundings(outdir: Path) -> list[str | bytes]:
    """Each of those, as cfn-lint run in ``outdir`` finds it (an unset variable and a missing
    file are told apart from empty ones), for the key its output is kept under."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    # The working directory's files by their names alone: the same bytes elsewhere share a key.
    files = {f"./{name}": outdir / name for name in _CFNLINTRC}
    files |= {str(Path.home() / name): Path.home() / name for name in _CFNLINTRC}
    schemas = cache / "aws" / "cfn-lint" / "schemas" / "version.json"
    files[str(schemas)] = schemas
    parts: list[str | bytes] = []
    for variable in _CFN_LINT_ENVIRONMENT:
        value = os.environ.get(variable)
        parts += [variable, "unset" if value is None else f"={value}"]
    for name, file in files.items():
        try:
            parts += [name, b"=" + file.read_bytes()]
        except OSError:
            parts += [name, "absent"]
    return parts


def _did_not_run(returncode: int) -> bool:
    """cfn-lint's failed-to-run bit, or a signal stopped it (a negative status, whose low bits
    are no mask: killed by SIGINT, -2, would read as "errors found")."""
    return returncode < 0 or bool(returncode & _FAILED_TO_RUN)


def _cfn_lint_arguments(names: list[str]) -> list[str]:
    return ["--format", "parseable", "--ignore-checks", *CFN_LINT_IGNORES, "--", *names]


@dataclass(frozen=True)
class _CfnLintOutput:
    returncode: int
    lines: list[str]  # stdout, each finding's path relative to the outdir it ran in
    stderr: str


def _cfn_lint_output(value: object) -> _CfnLintOutput | None:
    """Kept output read back, or None where there is none or it is not what keep() wrote."""
    match value:
        case [int(returncode), list(lines), str(stderr)] if all(
            isinstance(line, str) for line in lines
        ):
            return _CfnLintOutput(returncode, lines, stderr)
    return None


def _cfn_lint_verdict(
    output: _CfnLintOutput, outdir: Path, names: list[str], *, cached: bool
) -> Verdict:
    if _did_not_run(output.returncode):
        why = output.stderr.strip() or f"exit status {output.returncode}"
        return Verdict("cfn-lint", False, f"cfn-lint did not run: {why}")
    lines = [line for line in output.lines if line.strip()]
    # Counted before the lines name outdir, so that no directory's name can count as a finding.
    errors = sum(1 for line in lines if ":E" in line)
    warnings = sum(1 for line in lines if ":W" in line)
    longest_first = sorted(names, key=len, reverse=True)
    return Verdict(
        "cfn-lint",
        errors == 0 and not output.returncode & _ERRORS,
        f"{len(names)} templates: {errors} errors, {warnings} warnings",
        tuple(_rooted(line, outdir, longest_first) for line in lines),
        cached,
    )


def _rooted(line: str, outdir: Path, names: list[str]) -> str:
    """A finding naming its template under ``outdir`` (cfn-lint ran there: it named it
    relative to it), as one cfn-lint run from anywhere else would."""
    for name in names:
        if line.startswith(f"{name}:"):
            return f"{outdir / name}{line[len(name) :]}"
    return line
