"""The three checkers on the synthesized templates: cdk-nag (inside synth), cfn-lint, and the
suppressions' own hygiene."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from launchlab import checks
from tests.conftest import ROOT, Synthesized


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_cdk_nag_reports_no_unsuppressed_finding(
    which: str, request: pytest.FixtureRequest
) -> None:
    synthesized: Synthesized = request.getfixturevalue(which)
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    suppressed = nag["suppressedViolations"]
    assert len(suppressed) >= 10  # the pack really ran, and its findings were each acknowledged
    for finding in suppressed:
        # Scoped to the resource that carries it, never to a whole stack or the app.
        assert finding["acknowledgedAt"].count("/") >= 2, finding["acknowledgedAt"]
        assert len(finding["reason"]) > 60, finding["reason"]


def test_cdk_builtin_cloudformation_validation_finds_nothing(synth: Synthesized) -> None:
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    findings = [
        (p["pluginName"], v["ruleName"])
        for p in report["pluginReports"]
        if "CloudFormation" in p["pluginName"]
        for v in p["violations"]
    ]
    assert findings == []


def test_a_finding_without_suppression_fails_synth() -> None:
    """The nag pack is wired so that an unacknowledged error stops synth."""
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks

    app = cdk.App()
    stack = cdk.Stack(app, "Unsafe")
    sqs.Queue(stack, "Queue")  # no DLQ, no SSL enforcement: AwsSolutions-SQS3, SQS4
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS"):
        app.synth()


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_cfn_lint_reports_no_error(which: str, request: pytest.FixtureRequest) -> None:
    # The very verdict `launchlab demo` prints: every template, CFN_LINT_IGNORES only.
    synthesized: Synthesized = request.getfixturevalue(which)
    verdict = checks.cfn_lint(synthesized.outdir)
    assert verdict.findings == (), "\n".join(verdict.findings)
    assert verdict.passed
    assert verdict.detail == "5 templates: 0 errors, 0 warnings"


CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


@pytest.mark.slow
def test_checkov_fails_nothing_and_every_skip_says_why(
    synth: Synthesized, variant: Synthesized
) -> None:
    """checkov (CloudFormation framework) beside cdk-nag and cfn-lint: every finding is fixed
    or skipped in the resource's metadata with a reason (stacks/checkov_skips.py). One run
    over both assemblies: checkov's start-up is most of its time."""
    assert CHECKOV.exists(), "checkov is installed by `make setup` into .venv-tools"
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(synth.outdir), "--directory", str(variant.outdir),
         "--framework", "cloudformation", "--output", "json", "--skip-download"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    reports = _json_documents(result.stdout)
    assert len(reports) == 2, result.stderr
    for report in reports:
        summary, results = report["summary"], report["results"]
        failed = [(f["check_id"], f["resource"]) for f in results["failed_checks"]]
        assert failed == []
        assert summary["passed"] >= 100  # the checks really ran over all five templates
        assert summary["resource_count"] >= 60
        skipped = results["skipped_checks"]
        assert len(skipped) == summary["skipped"] > 0
        for finding in skipped:
            comment = finding["check_result"].get("suppress_comment", "")
            assert len(comment) > 60, (finding["check_id"], finding["resource"], comment)


def _json_documents(text: str) -> list[Any]:
    """checkov prints one JSON document per --directory, one after the other."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents


def test_a_suppression_or_skip_for_a_missing_construct_fails_by_name() -> None:
    # What keeps a nag suppression or checkov skip from outliving the resource it was for.
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs

    from stacks.checkov_skips import _find as checkov_target
    from stacks.constructs.paths import find_path

    stack = cdk.Stack(cdk.App(), "Paths")
    sqs.Queue(stack, "Queue", enforce_ssl=True)
    found = find_path(stack, "Queue/Resource", what="nag suppression")
    assert found.node.path == "Paths/Queue/Resource"
    assert isinstance(found, sqs.CfnQueue)
    with pytest.raises(LookupError) as missing:
        find_path(stack, "Queue/Gone", what="nag suppression")
    assert str(missing.value) == (
        "nag suppression for Paths/Queue/Gone: no such construct; remove or update the suppression"
    )
    with pytest.raises(LookupError, match=r"remove or update the skip$"):
        checkov_target(stack, "Gone/Resource")
    with pytest.raises(LookupError, match="Paths/Queue: not a CloudFormation resource"):
        checkov_target(stack, "Queue")
