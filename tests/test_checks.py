"""The three checkers on the synthesized templates: cdk-nag (inside synth), cfn-lint, and the
suppressions' own hygiene."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pytest

from launchlab import checks, kept
from tests.conftest import ROOT, Synthesized


@pytest.mark.parametrize("which", ["synth", "variant", "team_lead"])
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
    # The variant's mixed-instances group adds one: EC26 cannot read its launch template.
    assert len(acknowledged) == {"synth": 19, "variant": 17}[which]


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


@pytest.mark.parametrize("which", ["synth", "variant", "team_lead"])
def test_cfn_lint_reports_no_error(which: str, request: pytest.FixtureRequest) -> None:
    # The very verdict `launchlab demo` prints: every template, CFN_LINT_IGNORES only.
    synthesized: Synthesized = request.getfixturevalue(which)
    verdict = checks.cfn_lint(synthesized.outdir)
    assert verdict.findings == (), "\n".join(verdict.findings)
    assert verdict.passed
    templates = len(synthesized.templates)
    assert verdict.detail == f"{templates} templates: 0 errors, 0 warnings"


def test_cfn_lint_that_cannot_run_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # cfn-lint exits 1 when it fails to run (a broken install, say); stands in for one here.
    broken = tmp_path / "cfn-lint"
    broken.write_text("#!/bin/sh\necho 'No module named cfnlint' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(checks, "CFN_LINT", str(broken))
    monkeypatch.setenv(kept.CACHE_DIR_ENV, str(tmp_path / "kept"))
    (tmp_path / "A.template.json").write_text("{}")
    assert checks.cfn_lint(tmp_path) == checks.Verdict(
        "cfn-lint", False, "cfn-lint did not run: No module named cfnlint"
    )
    # A broken install says nothing of the templates: nothing is kept for them.
    assert not (tmp_path / "kept").exists()


def test_cfn_lint_stopped_by_a_signal_did_not_run_and_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Interrupted (SIGINT, status -2: its low bits are not cfn-lint's mask) halfway through.
    # Python, not the shell's `kill -INT $$`: a shell started with SIGINT ignored (pytest run
    # as a background job, `make test &`) cannot take it back, and would go on to exit 0.
    interrupt = "import os, signal; signal.signal(2, signal.SIG_DFL); os.kill(os.getpid(), 2)"
    runs = _stand_in_cfn_lint(
        tmp_path,
        monkeypatch,
        f"echo 'A.template.json:1:2:1:3:W1:x'\nexec {sys.executable} -c '{interrupt}'",
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "A.template.json").write_text("{}")
    for _ in range(2):
        assert checks.cfn_lint(tmp_path / "out") == checks.Verdict(
            "cfn-lint", False, "cfn-lint did not run: exit status -2"
        )
    assert _runs(runs) == 2 and not (tmp_path / "kept").exists()


def _stand_in_cfn_lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> Path:
    """A cfn-lint that runs ``script`` and counts its runs in the file it returns; what it
    prints is kept in tmp_path/kept, never where the real cfn-lint's output is."""
    runs = tmp_path / "runs"
    stand_in = tmp_path / "cfn-lint"
    stand_in.write_text(f"#!/bin/sh\necho run >> {runs}\n{script}\n")
    stand_in.chmod(0o755)
    monkeypatch.setattr(checks, "CFN_LINT", str(stand_in))
    monkeypatch.setenv(kept.CACHE_DIR_ENV, str(tmp_path / "kept"))
    return runs


def _runs(runs: Path) -> int:
    return runs.read_text().count("run") if runs.exists() else 0


def test_cfn_lint_verdict_fails_on_the_error_exit_bit_without_a_finding_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stand_in_cfn_lint(tmp_path, monkeypatch, "exit 2")  # errors, in a format we cannot read
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "A.template.json").write_text("{}")
    verdict = checks.cfn_lint(tmp_path / "out")
    assert (verdict.passed, verdict.detail) == (False, "1 templates: 0 errors, 0 warnings")


def test_cfn_lint_verdict_is_linted_again_when_the_accepted_findings_change_or_unkept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _stand_in_cfn_lint(tmp_path, monkeypatch, "exit 0")
    out = tmp_path / "out"
    out.mkdir()
    (out / "A.template.json").write_text("{}")
    assert checks.cfn_lint(out).passed and checks.cfn_lint(out).cached
    monkeypatch.setattr(checks, "CFN_LINT_IGNORES", {})
    assert not checks.cfn_lint(out).cached
    assert _runs(runs) == 2
    # Where nothing can be kept (here a file stands where the directory would be), the verdict
    # still comes back, and the next look lints again.
    monkeypatch.setenv(kept.CACHE_DIR_ENV, str(out / "A.template.json" / "kept"))
    assert checks.cfn_lint(out).passed
    assert not checks.cfn_lint(out).cached
    assert _runs(runs) == 4
    # Without LAUNCHLAB_CACHE_DIR the output is kept beside the templates (`demo --reuse`).
    monkeypatch.delenv(kept.CACHE_DIR_ENV)
    assert not checks.cfn_lint(out).cached
    assert checks.cfn_lint(out).cached and _runs(runs) == 5
    assert len(list((out / checks.KEPT_BESIDE_TEMPLATES).iterdir())) == 1


def test_cfn_lint_is_linted_again_when_what_it_reads_besides_the_templates_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cfn-lint lints for AWS_REGION (else AWS_DEFAULT_REGION) and reads a .cfnlintrc in the
    home and where it runs, and schemas newer than its own from its cache: a template fine in
    one region can be wrong in another, a .cfnlintrc can ignore checks. Output kept under one
    of those is never read under another; the same ones elsewhere still read it back."""
    runs = _stand_in_cfn_lint(tmp_path, monkeypatch, "exit 0")
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "A.template.json").write_text("{}")
    assert not checks.cfn_lint(out).cached
    assert checks.cfn_lint(out).cached
    schemas = cache / "aws" / "cfn-lint" / "schemas"
    schemas.mkdir(parents=True)
    changes = [
        lambda: monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-south-2"),
        lambda: monkeypatch.setenv("AWS_REGION", "ap-east-2"),
        lambda: (out / ".cfnlintrc.yaml").write_text("ignore_checks: [E3002]\n"),
        lambda: (home / ".cfnlintrc").write_text("regions: [ALL_REGIONS]\n"),
        lambda: (schemas / "version.json").write_text('{"schema_date": "2099-01-01"}'),
    ]
    for number, change in enumerate(changes, start=2):
        change()
        assert not checks.cfn_lint(out).cached, number
        assert checks.cfn_lint(out).cached
        assert _runs(runs) == number
    # A .cfnlintrc beside the templates is read where they are: a copy reads the kept output.
    two = Path(shutil.copytree(out, tmp_path / "two"))
    assert checks.cfn_lint(two).cached and _runs(runs) == len(changes) + 1


# The stand-in names each template as cfn-lint does: as it was given on the command line.
ONE_ERROR_EACH = 'for t; do case $t in *.json) echo "$t:1:2:1:3:E3002:no";; esac; done; exit 2'


def test_cfn_lint_counts_findings_never_the_name_of_the_directory_they_are_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warn = 'for t; do case $t in *.json) echo "$t:1:2:1:3:W2001:unused";; esac; done; exit 4'
    _stand_in_cfn_lint(tmp_path, monkeypatch, warn)
    out = tmp_path / "a:Eb"  # what an error line holds
    out.mkdir()
    (out / "A.template.json").write_text("{}")
    for verdict in (checks.cfn_lint(out), checks.cfn_lint(out)):  # linted, then read back
        assert (verdict.passed, verdict.detail) == (True, "1 templates: 0 errors, 1 warnings")
        assert verdict.findings == (f"{out}/A.template.json:1:2:1:3:W2001:unused",)


def test_cfn_lint_verdict_is_kept_for_the_same_bytes_anywhere_and_names_where_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _stand_in_cfn_lint(tmp_path, monkeypatch, ONE_ERROR_EACH)
    one = tmp_path / "one"
    (one / "nested").mkdir(parents=True)
    (one / "A.template.json").write_text('{"A": 1}')
    (one / "nested" / "B.template.json").write_text('{"B": 1}')
    both = [one / "A.template.json", one / "nested" / "B.template.json"]
    first = checks.cfn_lint(one, both)
    assert first == checks.Verdict(
        "cfn-lint",
        False,
        "2 templates: 2 errors, 0 warnings",
        (f"{both[0]}:1:2:1:3:E3002:no", f"{both[1]}:1:2:1:3:E3002:no"),
    )
    # The same bytes under the same names elsewhere: read back, naming the new place.
    two = Path(shutil.copytree(one, tmp_path / "two"))
    again = checks.cfn_lint(two, [two / "A.template.json", two / "nested" / "B.template.json"])
    assert again == checks.Verdict(
        "cfn-lint",
        False,
        "2 templates: 2 errors, 0 warnings",
        (
            f"{two}/A.template.json:1:2:1:3:E3002:no",
            f"{two}/nested/B.template.json:1:2:1:3:E3002:no",
        ),
        cached=True,
    )
    assert _runs(runs) == 1
    assert checks.cfn_lint(two).findings == (f"{two}/A.template.json:1:2:1:3:E3002:no",)
    assert _runs(runs) == 2  # only A: another set of templates
    # One byte changed, a template renamed, another cfn-lint: each is linted again.
    (two / "A.template.json").write_text('{"A": 2}')
    assert not checks.cfn_lint(two).cached
    (two / "A.template.json").rename(two / "C.template.json")
    (two / "C.template.json").write_text('{"A": 1}')
    assert checks.cfn_lint(two).findings == (f"{two}/C.template.json:1:2:1:3:E3002:no",)
    assert _runs(runs) == 4
    monkeypatch.setattr(checks.metadata, "version", lambda name: "0.0.0+another")
    assert not checks.cfn_lint(one, both).cached
    assert _runs(runs) == 5
    # Another launchlab/checks.py (what keeps the output may have changed): linted again.
    monkeypatch.setattr(checks, "_THIS_CODE", "0" * 64)
    assert not checks.cfn_lint(one, both).cached
    assert _runs(runs) == 6


CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


@pytest.mark.slow
def test_checkov_fails_nothing_and_skips_exactly_what_would_fail(
    synth: Synthesized,
    variant: Synthesized,
    opt_in_synth: Synthesized,
    opt_in_variant: Synthesized,
    all_synth: Synthesized,
    egress_nat_gateway: Synthesized,
    egress_endpoints: Synthesized,
    team_lead: Synthesized,
    tmp_path: Path,
) -> None:
    """checkov (CloudFormation framework) beside cdk-nag and cfn-lint: every finding is fixed
    or skipped in the resource's metadata with a reason (stacks/checkov_skips.py). Copies of
    the templates with every skip stripped must fail exactly the skipped checks: a skip that
    would fail nothing hides the next real finding. The default launch types and the opt-in
    ones, each at cdk.json's defaults and away from them. One checkov run over all eight
    template sets (its start-up is most of its time); checkov 3.3.30 given several --directory
    flags reports the first directory again for each of the others, so they share one parent.
    Its report is kept by the files' bytes (_checkov_stdout): unchanged templates are not
    scanned again in the next session, and the kept report is read here as a new one is."""
    assert CHECKOV.exists(), "checkov is installed by `make setup` into .venv-tools"
    skips: dict[str, set[tuple[str, str, str]]] = {}
    sets = {"default": synth, "variant": variant, "opt-in": opt_in_synth}
    sets["opt-in-variant"] = opt_in_variant
    # Not "all": checkov's secret patterns match a path ending ".../and0/all/<template>" (the
    # function's variables carry their file's path), a false finding about the directory.
    sets.update({"all-six": all_synth, "egress-nat-gateway": egress_nat_gateway})
    sets["egress-endpoints"] = egress_endpoints
    # All six in two zones (availability=multi-az), at 1 vCPU / 2 GB: the team lead's case.
    sets["team-lead"] = team_lead
    for which, synthesized in sets.items():
        (tmp_path / which).mkdir()
        # "stripped-" first: checkov 3.3.30's CKV_AWS_45 runs its secret detectors over the
        # parser's __file__ key among a function's variables, and takes a path ending in
        # "opt-in-stripped/..." for a secret (a false finding about the path, not the template).
        (tmp_path / f"stripped-{which}").mkdir()
        skips[which] = set()
        for name, template in synthesized.templates.items():
            shutil.copy(synthesized.outdir / f"{name}.template.json", tmp_path / which)
            stripped = json.loads(json.dumps(template))
            for logical_id, resource in stripped["Resources"].items():
                for entry in resource.get("Metadata", {}).pop("checkov", {}).get("skip", []):
                    skips[which].add((name, logical_id, entry["id"]))
            (tmp_path / f"stripped-{which}" / f"{name}.template.json").write_text(
                json.dumps(stripped)
            )
    stdout, stderr = _checkov_stdout(
        tmp_path, "--framework", "cloudformation", "--output", "json", "--skip-download"
    )
    (report,) = _json_documents(stdout) or [stderr]
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
    assert set(passed) == {*sets, *(f"stripped-{which}" for which in sets)}
    for which in sets:
        assert failed.get(which, set()) == set(), which
        # The checks really ran over every template (the egress sets hold three stacks).
        assert len(passed[which]) >= (60 if which.startswith("egress") else 100), which
        assert skipped[which] == skips[which]
        assert failed[f"stripped-{which}"] - skips[which] == set(), "fails, yet not skipped"
        assert skips[which] - failed[f"stripped-{which}"] == set(), "skipped, yet passes"
    assert {which: len(found) for which, found in skips.items()} == {
        "default": 38, "variant": 24, "opt-in": 42, "opt-in-variant": 37,
        # all six: the default three's and the opt-in three's, the shared stacks' once
        "all-six": 66, "egress-nat-gateway": 19, "egress-endpoints": 19,
        # the team lead's case: all six's resources at other sizes and in two zones
        "team-lead": 66,
    }  # fmt: skip
    for finding in results["skipped_checks"]:
        comment = finding["check_result"].get("suppress_comment", "")
        assert len(comment) > 60, (finding["check_id"], finding["resource"], comment)


# What stands for the scanned directory in kept checkov output.
CHECKOV_ROOT = "<checkov-scan-root>"


def _checkov_stdout(root: Path, *arguments: str, checkov: Path = CHECKOV) -> tuple[str, str]:
    """checkov's (stdout, stderr) for ``checkov --directory ROOT ARGUMENTS``. A report is kept
    (launchlab.kept) under checkov's venv (each distribution's version), the arguments and
    every file under ``root`` (its path below root, its bytes), with ``root`` written as
    CHECKOV_ROOT: the same files anywhere read it back, naming that place. checkov's findings
    can name the absolute path (CKV_AWS_45 reads it, see the test above); a scan at another
    root is taken to find what this one found."""
    parts: list[str | bytes] = ["checkov", CHECKOV_KEEPING, _checkov_surroundings()]
    parts += _checkov_venv(checkov)
    parts += arguments
    for file in sorted(path for path in root.rglob("*") if path.is_file()):
        parts += [file.relative_to(root).as_posix(), file.read_bytes()]
    digest = kept.key(*parts)
    place = kept.directory(root.with_name(f"{root.name}.kept"))
    stdout = kept.read(place, digest)
    if isinstance(stdout, str):
        return stdout.replace(CHECKOV_ROOT, str(root)), ""
    result = subprocess.run(
        [str(checkov), "--directory", str(root), *arguments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    with contextlib.suppress(ValueError):
        if _json_documents(result.stdout):  # a report, not a crash: worth keeping
            kept.keep(place, digest, result.stdout.replace(str(root), CHECKOV_ROOT))
    return result.stdout, result.stderr


# The code above, in the key: a change to how a report is captured and kept must not read what
# the old code kept.
CHECKOV_KEEPING = kept.key(inspect.getsource(_checkov_stdout))


# What else checkov reads: a .checkov.yaml (.yml) in the directory it runs in and in the home
# (the one in the scanned directory is among its files), and its settings in the environment.
CHECKOV_CONFIG_FILES = (".checkov.yaml", ".checkov.yml")
CHECKOV_ENVIRONMENT = ("CKV_", "CHECKOV_", "BC_", "PRISMA_")


def _checkov_surroundings() -> str:
    """Those, as checkov run from here finds them, in one part of the key."""
    found: dict[str, str | None] = {
        name: value for name, value in os.environ.items() if name.startswith(CHECKOV_ENVIRONMENT)
    }
    for where in (Path.cwd(), Path.home()):
        for name in CHECKOV_CONFIG_FILES:
            with contextlib.suppress(OSError):
                found[str(where / name)] = (where / name).read_bytes().hex()
    return json.dumps(found, sort_keys=True)


def _checkov_venv(checkov: Path) -> list[str]:
    """name==version of every distribution in the venv ``checkov`` runs from (checkov's own
    version and its parsers'), read without starting it."""
    site = [str(path) for path in checkov.parent.parent.glob("lib/python*/site-packages")]
    return sorted(f"{dist.metadata['Name']}=={dist.version}" for dist in distributions(path=site))


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


def test_checkov_output_is_kept_for_the_same_files_anywhere_and_names_where_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What lets the checkov test above read a kept report: a stand-in checkov in a venv of
    its own that prints the directory it scanned and its arguments, and counts its runs."""
    monkeypatch.setenv(kept.CACHE_DIR_ENV, str(tmp_path / "kept"))
    runs = tmp_path / "runs"
    checkov = tmp_path / "tools" / "bin" / "checkov"
    checkov.parent.mkdir(parents=True)
    checkov.write_text(
        f"#!/bin/sh\necho run >> {runs}\n"
        "case $3 in crash) echo Traceback >&2; exit 2;; esac\n"
        'echo "{\\"file_abs_path\\": \\"$2/sub/b.json\\", \\"argv\\": \\"$3\\"}"\n'
    )
    checkov.chmod(0o755)
    dist = tmp_path / "tools" / "lib" / "python3.11" / "site-packages" / "checkov-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Name: checkov\nVersion: 1.0\n")
    one = tmp_path / "one"
    (one / "sub").mkdir(parents=True)
    (one / "a.json").write_text("{}")
    (one / "sub" / "b.json").write_text("[]")
    printed = '{{"file_abs_path": "{}/sub/b.json", "argv": "{}"}}\n'
    assert _checkov_stdout(one, "-o", checkov=checkov) == (printed.format(one, "-o"), "")
    two = Path(shutil.copytree(one, tmp_path / "two"))
    assert _checkov_stdout(two, "-o", checkov=checkov) == (printed.format(two, "-o"), "")
    assert _runs(runs) == 1
    # Other arguments, one byte changed, a file renamed, another checkov: each scans again.
    assert _checkov_stdout(two, "-x", checkov=checkov)[0] == printed.format(two, "-x")
    (two / "sub" / "b.json").write_text("[1]")
    _checkov_stdout(two, "-o", checkov=checkov)
    (two / "sub" / "b.json").rename(two / "sub" / "c.json")
    _checkov_stdout(two, "-o", checkov=checkov)
    assert _runs(runs) == 4
    (dist / "METADATA").write_text("Name: checkov\nVersion: 1.1\n")
    _checkov_stdout(one, "-o", checkov=checkov)
    assert _runs(runs) == 5
    # A setting in the environment, a .checkov.yaml where it runs or in the home: scans again.
    (tmp_path / "cwd").mkdir()
    changes = [
        lambda: monkeypatch.setenv("CKV_SKIP_CHECK", "CKV_AWS_45"),
        lambda: monkeypatch.chdir(tmp_path / "cwd"),  # nothing there yet: the same key
        lambda: (tmp_path / "cwd" / ".checkov.yaml").write_text("skip-check: [CKV_AWS_45]\n"),
        lambda: monkeypatch.setenv("HOME", str(tmp_path / "cwd" / "home")),
        lambda: (tmp_path / "cwd" / "home").mkdir(),
        lambda: (tmp_path / "cwd" / "home" / ".checkov.yml").write_text("quiet: true\n"),
    ]
    for change, scans in zip(changes, (1, 0, 1, 0, 0, 1), strict=True):
        before = _runs(runs)
        change()
        _checkov_stdout(one, "-o", checkov=checkov)
        _checkov_stdout(one, "-o", checkov=checkov)
        assert _runs(runs) == before + scans
    # Another _checkov_stdout (what keeps the report may have changed): scans again.
    monkeypatch.setattr(f"{__name__}.CHECKOV_KEEPING", "another")
    _checkov_stdout(one, "-o", checkov=checkov)
    assert _runs(runs) == 9
    # A checkov that crashed printed no report: nothing is kept.
    assert _checkov_stdout(one, "crash", checkov=checkov) == ("", "Traceback\n")
    _checkov_stdout(one, "crash", checkov=checkov)
    assert _runs(runs) == 11


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


# --- The nag and checkov passes on small stacks of their own -----------------------------------
# The exact-set tests above check the passes on the whole app; these call them on a bare stack
# that has just the construct paths they annotate (CfnResources of the right types), in about
# a second, which is what `make mutate` runs for their mutants.


def _bare_stack(stack_id: str, resources: dict[str, str]) -> Any:
    """A stack with a CfnResource of each type at each path ("A/B/Resource": "AWS::X::Y")."""
    import aws_cdk as cdk
    from constructs import Construct

    stack = cdk.Stack(cdk.App(), stack_id)
    for path, kind in resources.items():
        *parents, leaf = path.split("/")
        scope: Construct = stack
        for part in parents:
            scope = scope.node.try_find_child(part) or Construct(scope, part)
        cdk.CfnResource(scope, leaf, type=kind)
    return stack


def _config(**overrides: Any) -> Any:
    from stacks.config import LaunchlabConfig
    from tests.conftest import cdk_context

    return LaunchlabConfig.from_context(cdk_context(**overrides).get)


def _acknowledged(stack: Any) -> dict[tuple[str, str], str]:
    """(path below the stack, rule without the pack's prefix): reason, as nag reads them."""
    found = {}
    for node in stack.node.find_all():
        for entry in node.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                path = node.node.path.removeprefix(f"{stack.node.id}/")
                for rule, reason in entry.data.items():
                    assert rule.startswith("AwsSolutions::AwsSolutions-"), rule
                    found[(path, rule.removeprefix("AwsSolutions::AwsSolutions-"))] = reason
    return found


FARGATE_PATHS = {
    "Alb/LoadBalancer/Resource": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "Alb/LoadBalancer/Http/Resource": "AWS::ElasticLoadBalancingV2::Listener",
    "Alb/SecurityGroup/Resource": "AWS::EC2::SecurityGroup",
    "TaskDefinition/Resource": "AWS::ECS::TaskDefinition",
    "TaskDefinition/ExecutionRole/DefaultPolicy/Resource": "AWS::IAM::Policy",
    "Cluster/Resource": "AWS::ECS::Cluster",
    "AppLogs/Resource": "AWS::Logs::LogGroup",
}
LAMBDA_PATHS = {
    "Function/Resource": "AWS::Lambda::Function",
    "Function/FunctionUrl/Resource": "AWS::Lambda::Url",
    "FunctionLogs/Resource": "AWS::Logs::LogGroup",
    "HttpApi/DefaultRoute/Resource": "AWS::ApiGatewayV2::Route",
    "HttpApiAccessLogs/Resource": "AWS::Logs::LogGroup",
}
IMAGE_COPY_PATHS = {
    "Custom::CDKECRDeploymentBd07c930edb94112a20f03f096f53666512MiB/ServiceRole/Resource": (
        "AWS::IAM::Role"
    ),
    "Custom::CDKECRDeploymentBd07c930edb94112a20f03f096f53666512MiB/ServiceRole/DefaultPolicy/"
    "Resource": "AWS::IAM::Policy",
    "Custom::CDKECRDeploymentBd07c930edb94112a20f03f096f53666512MiB/Handler": (
        "AWS::Lambda::Function"
    ),
    "Custom::CDKECRDeploymentBd07c930edb94112a20f03f096f53666512MiB/Logs": "AWS::Logs::LogGroup",
    "AWSCDKCfnUtilsProviderCustomResourceProvider/Handler": "AWS::Lambda::Function",
    "AWSCDKCfnUtilsProviderCustomResourceProvider/Role": "AWS::IAM::Role",
}


def test_nag_suppressions_of_a_fargate_stack_follow_container_insights() -> None:
    from stacks.constructs.paths import StackTree
    from stacks.nag_suppressions import apply_suppressions

    stack = _bare_stack("LaunchlabFargate", FARGATE_PATHS)
    apply_suppressions(StackTree(stack), _config(lambdaFrontDoor="http-api"))
    found = _acknowledged(stack)
    assert set(found) == {
        ("Alb/LoadBalancer/Resource", "ELB2"),
        ("Alb/SecurityGroup/Resource", "EC23"),
        ("TaskDefinition/Resource", "ECS2"),
        ("TaskDefinition/ExecutionRole/DefaultPolicy/Resource", "IAM5[Resource::*]"),
        ("Cluster/Resource", "ECS4"),
    }
    assert found[("Cluster/Resource", "ECS4")] == (
        "Container Insights bills per metric, so it is off to keep the idle sandbox cheap; "
        "turn it on with -c containerInsights=true."
    )
    assert all(len(reason) > 60 for reason in found.values())
    with_insights = _bare_stack("LaunchlabFargate", FARGATE_PATHS)
    apply_suppressions(StackTree(with_insights), _config(containerInsights="true"))
    assert set(_acknowledged(with_insights)) == set(found) - {("Cluster/Resource", "ECS4")}


def test_nag_suppressions_of_express_and_of_a_stack_without_any() -> None:
    from stacks.constructs.paths import StackTree
    from stacks.nag_suppressions import apply_suppressions

    express = _bare_stack(
        "LaunchlabExpress",
        {
            "ExecutionRole/DefaultPolicy/Resource": "AWS::IAM::Policy",
            "InfrastructureRole/Resource": "AWS::IAM::Role",
            "Cluster/Resource": "AWS::ECS::Cluster",
            "DeleteWaiter/Role/DefaultPolicy/Resource": "AWS::IAM::Policy",
        },
    )
    apply_suppressions(StackTree(express), _config())
    assert set(_acknowledged(express)) == {
        ("ExecutionRole/DefaultPolicy/Resource", "IAM5[Resource::*]"),
        ("DeleteWaiter/Role/DefaultPolicy/Resource", "IAM5[Resource::*]"),
        (
            "InfrastructureRole/Resource",
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonECSInfrastructureRoleforExpressGatewayServices]",
        ),
        ("Cluster/Resource", "ECS4"),
    }
    unknown = _bare_stack("SomethingElse", FARGATE_PATHS)
    apply_suppressions(StackTree(unknown), _config())
    assert _acknowledged(unknown) == {}


def test_nag_suppressions_of_the_lambda_stack_follow_its_front_door() -> None:
    from stacks.constructs.paths import StackTree
    from stacks.nag_suppressions import apply_suppressions

    http_api = _bare_stack("LaunchlabLambda", LAMBDA_PATHS)
    apply_suppressions(StackTree(http_api), _config(lambdaFrontDoor="http-api"))
    assert set(_acknowledged(http_api)) == {("HttpApi/DefaultRoute/Resource", "APIG4")}
    function_url = _bare_stack("LaunchlabLambda", LAMBDA_PATHS)
    apply_suppressions(StackTree(function_url), _config())
    assert _acknowledged(function_url) == {}


def test_nag_suppressions_of_the_image_copier_and_of_a_missing_path() -> None:
    from stacks.constructs.paths import StackTree
    from stacks.nag_suppressions import apply_suppressions

    stack = _bare_stack("LaunchlabRegistry", IMAGE_COPY_PATHS)
    apply_suppressions(StackTree(stack), _config())
    copier = "Custom::CDKECRDeploymentBd07c930edb94112a20f03f096f53666512MiB"
    found = _acknowledged(stack)
    assert set(found) == {
        (
            f"{copier}/ServiceRole/Resource",
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
        ),
        (f"{copier}/ServiceRole/DefaultPolicy/Resource", "IAM5[Resource::*]"),
    }
    assert all(len(reason) > 60 for reason in found.values())
    gone = {path: kind for path, kind in FARGATE_PATHS.items() if path != "Cluster/Resource"}
    with pytest.raises(LookupError) as missing:
        apply_suppressions(StackTree(_bare_stack("LaunchlabFargate", gone)), _config())
    assert str(missing.value) == (
        "nag suppression for LaunchlabFargate/Cluster/Resource: no such construct; remove or "
        "update the suppression"
    )
    no_role = {path: kind for path, kind in IMAGE_COPY_PATHS.items() if "ServiceRole" not in path}
    with pytest.raises(LookupError, match=f"nag suppression for LaunchlabRegistry/{copier}/"):
        apply_suppressions(StackTree(_bare_stack("LaunchlabRegistry", no_role)), _config())


def _skipped(stack: Any) -> dict[tuple[str, str], str]:
    """(path below the stack, check id): reason, from each resource's Metadata.checkov.skip."""
    import aws_cdk as cdk

    found = {}
    for node in stack.node.find_all():
        if isinstance(node, cdk.CfnResource):
            metadata = node.get_metadata("checkov")
            path = node.node.path.removeprefix(f"{stack.node.id}/")
            for entry in (metadata or {}).get("skip", []):
                assert set(entry) == {"id", "comment"}, entry
                found[(path, entry["id"])] = entry["comment"]
    return found


def test_checkov_skips_of_a_fargate_stack_follow_https_and_container_insights() -> None:
    from stacks.checkov_skips import apply_checkov_skips
    from stacks.constructs.paths import StackTree

    stack = _bare_stack("LaunchlabFargate", FARGATE_PATHS)
    apply_checkov_skips(StackTree(stack), _config())
    found = _skipped(stack)
    base = {
        ("AppLogs/Resource", "CKV_AWS_158"),
        ("Alb/LoadBalancer/Resource", "CKV_AWS_91"),
        ("Alb/SecurityGroup/Resource", "CKV_AWS_260"),
    }
    assert set(found) == base | {
        ("Alb/LoadBalancer/Http/Resource", "CKV_AWS_2"),
        ("Alb/LoadBalancer/Http/Resource", "CKV_AWS_103"),
        ("Cluster/Resource", "CKV_AWS_65"),
    }
    assert found[("Cluster/Resource", "CKV_AWS_65")] == (
        "Container Insights bills per metric, so it is off to keep the idle sandbox cheap; "
        "-c containerInsights=true turns it on."
    )
    assert all(len(reason) > 60 for reason in found.values())
    https = _bare_stack("LaunchlabFargate", FARGATE_PATHS)
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666"
    apply_checkov_skips(StackTree(https), _config(certificateArn=arn, containerInsights="true"))
    assert set(_skipped(https)) == base


def test_checkov_skips_of_the_lambda_stack_follow_its_front_door_and_concurrency() -> None:
    from stacks.checkov_skips import apply_checkov_skips
    from stacks.constructs.paths import StackTree

    function_url = _bare_stack("LaunchlabLambda", LAMBDA_PATHS)
    apply_checkov_skips(StackTree(function_url), _config())
    always = {
        ("FunctionLogs/Resource", "CKV_AWS_158"),
        ("Function/Resource", "CKV_AWS_116"),
        ("Function/Resource", "CKV_AWS_117"),
        ("Function/Resource", "CKV_AWS_173"),
    }
    assert set(_skipped(function_url)) == always | {
        ("Function/Resource", "CKV_AWS_115"),
        ("Function/FunctionUrl/Resource", "CKV_AWS_258"),
    }
    http_api = _bare_stack("LaunchlabLambda", LAMBDA_PATHS)
    apply_checkov_skips(
        StackTree(http_api), _config(lambdaFrontDoor="http-api", lambdaReservedConcurrency="5")
    )
    assert set(_skipped(http_api)) == always | {("HttpApiAccessLogs/Resource", "CKV_AWS_158")}


def test_checkov_skips_of_cdk_helpers_by_resource_type() -> None:
    from stacks.checkov_skips import apply_checkov_skips
    from stacks.constructs.paths import StackTree

    stack = _bare_stack("SomethingElse", IMAGE_COPY_PATHS)
    apply_checkov_skips(StackTree(stack), _config())
    copier = "Custom::CDKECRDeploymentBd07c930edb94112a20f03f096f53666512MiB"
    provider = "AWSCDKCfnUtilsProviderCustomResourceProvider"
    found = _skipped(stack)
    assert set(found) == {
        *((f"{helper}/Handler", check) for helper in (copier, provider)
          for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117")),
        (f"{copier}/Logs", "CKV_AWS_158"),
        (f"{copier}/ServiceRole/DefaultPolicy/Resource", "CKV_AWS_108"),
        (f"{copier}/ServiceRole/DefaultPolicy/Resource", "CKV_AWS_111"),
    }  # fmt: skip
    assert all(len(reason) > 60 for reason in found.values())
    gone = {path: kind for path, kind in FARGATE_PATHS.items() if path != "AppLogs/Resource"}
    with pytest.raises(LookupError) as missing:
        apply_checkov_skips(StackTree(_bare_stack("LaunchlabFargate", gone)), _config())
    assert str(missing.value) == (
        "checkov skip for LaunchlabFargate/AppLogs/Resource: no such construct; remove or update "
        "the skip"
    )


def test_cfn_lint_verdict_fails_on_an_error_lists_it_and_reads_it_back_for_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict `launchlab demo` prints, from the real cfn-lint's output; the same templates
    elsewhere read that output back (what lints again is the stand-in's test above)."""
    monkeypatch.setenv(kept.CACHE_DIR_ENV, str(tmp_path / "kept"))
    template: dict[str, Any] = {
        # Two unused parameters: W2001 twice (as many warnings as errors would hide a count
        # of the wrong lines).
        "Parameters": {"Unused": {"Type": "String"}, "Spare": {"Type": "String"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Delay": 5}}},
    }
    out = tmp_path / "out"
    out.mkdir()
    broken = out / "Broken.template.json"
    broken.write_text(json.dumps(template))
    first = checks.cfn_lint(out)
    assert (first.checker, first.passed, first.cached) == ("cfn-lint", False, False)
    assert first.detail == "1 templates: 1 errors, 2 warnings"
    error, *warnings = sorted(first.findings, key=lambda line: ":W" in line)
    assert error.startswith(f"{broken}:") and ":E3002:" in error
    assert len(warnings) == 2 and all(":W2001:" in warning for warning in warnings)
    assert all(warning.startswith(f"{broken}:") for warning in warnings)
    elsewhere = Path(shutil.copytree(out, tmp_path / "elsewhere"))
    moved = checks.cfn_lint(elsewhere)
    assert moved.cached
    assert (moved.passed, moved.detail) == (first.passed, first.detail)
    assert moved.findings == tuple(
        line.replace(str(out), str(elsewhere), 1) for line in first.findings
    )
