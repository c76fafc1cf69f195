"""The three checkers on the synthesized templates: cdk-nag (inside synth), cfn-lint, and the
suppressions' own hygiene."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
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


NAG_PACK = "AwsSolutions::"


def nag_acknowledgements(outdir: Path) -> set[tuple[str, str]]:
    """Every (construct path, rule) the app acknowledged, read from the assembly's metadata
    (what ``cdk.Validations.of(node).acknowledge`` records), not from the suppressions module."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    found = set()
    for artifact in manifest["artifacts"].values():
        if "additionalMetadataFile" not in artifact:
            continue
        metadata = json.loads((outdir / artifact["additionalMetadataFile"]).read_text())
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found |= {
                        (path.lstrip("/"), rule.removeprefix(NAG_PACK))
                        for rule in entry["data"]
                        if rule.startswith(NAG_PACK)
                    }
    return found


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_nag_acknowledges_exactly_what_it_suppressed(
    which: str, request: pytest.FixtureRequest
) -> None:
    """No acknowledgement that suppresses nothing (it would hide the next real finding at that
    path), none missing, each on the very resource that carries the finding."""
    synthesized: Synthesized = request.getfixturevalue(which)
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    suppressed = {
        (construct["constructPath"], finding["ruleName"])
        for finding in nag["suppressedViolations"]
        for construct in finding["violatingConstructs"]
    }
    acknowledged = nag_acknowledgements(synthesized.outdir)
    assert acknowledged - suppressed == set(), "acknowledged, but nag found nothing there"
    assert suppressed - acknowledged == set(), "suppressed, but not acknowledged on the resource"
    assert len(acknowledged) == {"synth": 19, "variant": 16}[which]


def test_nag_verdict_counts_and_fails_on_an_unsuppressed_finding(
    synth: Synthesized, tmp_path: Path
) -> None:
    verdict = checks.cdk_nag(synth.outdir)
    assert verdict == checks.Verdict(
        "cdk-nag", True, "AwsSolutions: 0 unsuppressed, 19 acknowledged with a reason"
    )
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    nag["violations"] = nag["suppressedViolations"][:1]  # as if one were not acknowledged
    nag["suppressedViolations"] = nag["suppressedViolations"][1:]
    (tmp_path / "validation-report.json").write_text(json.dumps(report))
    verdict = checks.cdk_nag(tmp_path)
    assert not verdict.passed
    assert verdict.detail == "AwsSolutions: 1 unsuppressed, 18 acknowledged with a reason"
    # A report without the pack, and no report at all, fail too, saying which.
    report["pluginReports"] = [p for p in report["pluginReports"] if p is not nag]
    (tmp_path / "validation-report.json").write_text(json.dumps(report))
    no_pack = checks.Verdict("cdk-nag", False, "the AwsSolutions pack did not run")
    assert checks.cdk_nag(tmp_path) == no_pack
    empty = tmp_path / "empty"
    no_report = checks.Verdict("cdk-nag", False, f"no validation report in {empty}")
    assert checks.cdk_nag(empty) == no_report


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


def test_cfn_lint_verdict_fails_on_an_error_and_lists_it(tmp_path: Path) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Delay": 5}}},
    }
    (tmp_path / "Broken.template.json").write_text(json.dumps(template))
    verdict = checks.cfn_lint(tmp_path)
    assert not verdict.passed
    assert verdict.detail == "1 templates: 1 errors, 0 warnings"
    (finding,) = verdict.findings
    assert finding.startswith(f"{tmp_path / 'Broken.template.json'}:") and ":E3002:" in finding


CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


@pytest.mark.slow
def test_checkov_fails_nothing_and_skips_exactly_what_would_fail(
    synth: Synthesized, variant: Synthesized, tmp_path: Path
) -> None:
    """checkov (CloudFormation framework) beside cdk-nag and cfn-lint: every finding is fixed
    or skipped in the resource's metadata with a reason (stacks/checkov_skips.py). Copies of
    the templates with every skip stripped must fail exactly the skipped checks: a skip that
    would fail nothing hides the next real finding. One checkov run over all four template
    sets (its start-up is most of its time); checkov 3.3.30 given several --directory flags
    reports the first directory again for each of the others, so they share one parent."""
    assert CHECKOV.exists(), "checkov is installed by `make setup` into .venv-tools"
    skips: dict[str, set[tuple[str, str, str]]] = {}
    for which, synthesized in (("default", synth), ("variant", variant)):
        (tmp_path / which).mkdir()
        (tmp_path / f"{which}-stripped").mkdir()
        skips[which] = set()
        for name, template in synthesized.templates.items():
            shutil.copy(synthesized.outdir / f"{name}.template.json", tmp_path / which)
            stripped = json.loads(json.dumps(template))
            for logical_id, resource in stripped["Resources"].items():
                for entry in resource.get("Metadata", {}).pop("checkov", {}).get("skip", []):
                    skips[which].add((name, logical_id, entry["id"]))
            (tmp_path / f"{which}-stripped" / f"{name}.template.json").write_text(
                json.dumps(stripped)
            )
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(tmp_path), "--framework", "cloudformation",
         "--output", "json", "--skip-download"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    (report,) = _json_documents(result.stdout) or [result.stderr]
    results = report["results"]

    def by_set(kind: str) -> dict[str, set[tuple[str, str, str]]]:
        found: dict[str, set[tuple[str, str, str]]] = {}
        for check in results[kind]:
            where = Path(check["file_abs_path"])
            logical_id = check["resource"].split(".", 1)[1]
            found.setdefault(where.parent.name, set()).add(
                (where.name.removesuffix(".template.json"), logical_id, check["check_id"])
            )
        return found

    failed, skipped, passed = (
        by_set("failed_checks"),
        by_set("skipped_checks"),
        by_set("passed_checks"),
    )
    assert set(passed) == {"default", "variant", "default-stripped", "variant-stripped"}
    for which in ("default", "variant"):
        assert failed.get(which, set()) == set()
        assert len(passed[which]) >= 100  # the checks really ran over all five templates
        assert skipped[which] == skips[which]
        assert failed[f"{which}-stripped"] - skips[which] == set(), "fails, yet not skipped"
        assert skips[which] - failed[f"{which}-stripped"] == set(), "skipped, yet passes"
    assert (len(skips["default"]), len(skips["variant"])) == (38, 24)
    for finding in results["skipped_checks"]:
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
