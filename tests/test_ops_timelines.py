"""The ops timelines, modelled from the synthesized templates (through the inventory) and the
AWS timings in launchlab/report/timings.yaml; the patch cadence counted from git histories.

Each timeline is checked against the template setting it depends on: change the setting in a
copy of the real templates, read them again, and the timeline moves by what the setting says.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import subprocess
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from rich.console import Console

from launchlab.assembly import Assembly
from launchlab.errors import LaunchlabError
from launchlab.report import cadence, render
from launchlab.report.cost import Assumptions
from launchlab.report.inventory import Inventory, read_inventory
from launchlab.report.model import Report, build_report, to_json
from launchlab.report.ops import BY_HAND, OpsRow, ops_json, scaling_rounds
from launchlab.report.prices import load_table
from launchlab.report.profile import PRESETS
from launchlab.report.timeline import DEFAULT_TIMINGS, Timeline, load_timings, parse_overrides
from stacks import launch_types, names
from tests.conftest import Synthesized
from tests.test_report import SCHEMA

HOBBY, SPIKY = PRESETS["hobby"], PRESETS["spiky"]
TIMINGS = load_timings()


def _inventory(templates: Mapping[str, Any]) -> Inventory:
    return read_inventory(Assembly(outdir=Path("edited"), templates=dict(templates)))


def _report(inventory: Inventory, profile: Any = HOBBY, **kwargs: Any) -> Report:
    return build_report("x", inventory, load_table(), "us-east-1", profile, Assumptions(), **kwargs)


def _row(templates: Mapping[str, Any], launch_type: str, profile: Any = HOBBY) -> OpsRow:
    report = _report(_inventory(templates), profile)
    (row,) = [r for r in report.ops if r.launch_type == launch_type]
    return row


def _props(templates: dict[str, Any], stack: str, kind: str) -> dict[str, Any]:
    (found,) = [r for r in templates[stack]["Resources"].values() if r["Type"] == kind]
    return found["Properties"]  # type: ignore[no-any-return]


def _step(timeline: Timeline, what: str) -> Any:
    (found,) = [s for s in timeline.steps if s.what.startswith(what)]
    return found


def _both(synth: Synthesized, opt_in: Synthesized) -> Inventory:
    default, extra = _inventory(synth.templates), _inventory(opt_in.templates)
    return dataclasses.replace(
        default,
        launch_types={**default.launch_types, **extra.launch_types},
        resource_counts={**default.resource_counts, **extra.resource_counts},
    )


def test_the_health_check_moves_scale_out_and_deploy(synth: Synthesized) -> None:
    templates = copy.deepcopy(synth.templates)
    before = _row(templates, "fargate")
    group = _props(templates, names.FARGATE_STACK, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert (group["HealthCheckIntervalSeconds"], group["HealthyThresholdCount"]) == (10, 2)
    healthy = _step(before.timelines["deploy"], "ALB health checks pass")
    # A new target needs one check (AWS), at worst HealthyThreshold of them: 10 s, 20 s.
    assert (healthy.low, healthy.value, healthy.high) == (0, 10, 20)
    assert "HealthCheckIntervalSeconds 10 x HealthyThresholdCount 2" in healthy.basis
    group["HealthCheckIntervalSeconds"], group["HealthyThresholdCount"] = 30, 5
    after = _row(templates, "fargate")
    for name in ("deploy", "scale_out_step"):
        assert after.timelines[name].value - before.timelines[name].value == 20
        assert after.timelines[name].high - before.timelines[name].high == 150 - 20
    # A failing task is judged by the earlier of its two checks, after the grace period: the
    # container's own (StartPeriod 15 + 3 x 10 s) still comes before the ALB's 3 x 30 s.
    assert after.timelines["rollback"].value == before.timelines["rollback"].value


def test_the_deregistration_delay_and_the_grace_period_move_deploy_rollback_and_scale_in(
    synth: Synthesized,
) -> None:
    templates = copy.deepcopy(synth.templates)
    before = _row(templates, "ecs-ec2")
    group = _props(templates, names.ECS_EC2_STACK, "AWS::ElasticLoadBalancingV2::TargetGroup")
    (delay,) = [
        a
        for a in group["TargetGroupAttributes"]
        if a["Key"] == "deregistration_delay.timeout_seconds"
    ]
    assert delay["Value"] == "15"
    delay["Value"] = "120"
    service = _props(templates, names.ECS_EC2_STACK, "AWS::ECS::Service")
    assert service["HealthCheckGracePeriodSeconds"] == 60
    service["HealthCheckGracePeriodSeconds"] = 90
    after = _row(templates, "ecs-ec2")
    # The ALB drains the old task for up to the delay (at once with nothing in flight: low 0).
    for name in ("deploy", "scale_in"):
        assert after.timelines[name].high - before.timelines[name].high == 105
        assert after.timelines[name].low == before.timelines[name].low
    # Three failed tasks (the circuit breaker's least threshold), each judged after the grace
    # period, 30 s longer; and the failed ones' deregistration.
    rollback = after.timelines["rollback"].high - before.timelines["rollback"].high
    assert rollback == 3 * 30 + 105
    assert "3 failed tasks" in after.timelines["rollback"].target


def test_the_minimum_instances_decide_whether_a_deploy_waits_for_an_instance(
    synth: Synthesized,
) -> None:
    templates = copy.deepcopy(synth.templates)
    target = _props(templates, names.ECS_EC2_STACK, "AWS::ApplicationAutoScaling::ScalableTarget")
    group = _props(templates, names.ECS_EC2_STACK, "AWS::AutoScaling::AutoScalingGroup")
    # Three tasks fit on one t3.small; a deploy at 200% runs three more beside them.
    target["MinCapacity"], target["MaxCapacity"], group["MaxSize"] = 3, 6, "4"
    group["MinSize"] = "1"
    one = _row(templates, "ecs-ec2").timelines["deploy"]
    group["MinSize"] = "2"
    two = _row(templates, "ecs-ec2").timelines["deploy"]
    launch = _step(one, "an instance launches")
    assert (
        launch.basis.startswith("assumption")
        and launch.value == TIMINGS["ec2_boot_register_s"].value
    )
    alarm = _step(one, "capacity provider alarm")
    assert "containers-roadmap/issues/638" in alarm.basis
    assert not [s for s in two.steps if s.what.startswith(("an instance", "capacity"))]
    assert one.value - two.value == pytest.approx(launch.value + alarm.value)


def test_lambda_managed_instances_minimum_environments_decide_the_cold_start(
    opt_in_synth: Synthesized,
) -> None:
    templates = copy.deepcopy(opt_in_synth.templates)
    version = _props(templates, names.LAMBDA_MANAGED_INSTANCES_STACK, "AWS::Lambda::Version")
    assert version["FunctionScalingConfig"]["MinExecutionEnvironments"] == 3
    warm = _row(templates, "lambda-managed-instances").timelines["cold_start"]
    assert warm.high == 0 and "3 environments always running" in warm.target
    version["FunctionScalingConfig"]["MinExecutionEnvironments"] = 0
    cold = _row(templates, "lambda-managed-instances").timelines["cold_start"]
    start = TIMINGS["lmi_environment_start_s"]
    assert (cold.low, cold.high) == (start.low * 1000, start.high * 1000)


def test_ecs_managed_instances_scale_in_bills_until_the_templates_scale_in_after(
    opt_in_synth: Synthesized,
) -> None:
    """What keeps billing after a scale-in: an emptied managed instance, until ECS terminates it
    ScaleInAfter seconds later (the template's 300); unset, ECS's undocumented default."""
    templates = copy.deepcopy(opt_in_synth.templates)
    provider = _props(templates, names.ECS_MANAGED_INSTANCES_STACK, "AWS::ECS::CapacityProvider")
    note = _row(templates, "ecs-managed-instances").timelines["scale_in"].note
    assert "an emptied instance bills until ECS terminates it, 300 s after its last task" in note
    del provider["ManagedInstancesProvider"]["InfrastructureOptimization"]
    note = _row(templates, "ecs-managed-instances").timelines["scale_in"].note
    assert note.endswith("an emptied instance bills until ECS stops it (it picks when)")


def test_a_peak_that_outpaces_the_scale_out_counts_the_requests_that_wait(
    synth: Synthesized,
) -> None:
    row = _row(synth.templates, "fargate", SPIKY)
    scale_out = row.timelines["scale_out"]
    # spiky: 8x the average for 2 h a day; 1 task the rest of the day, 4 at the peak. At the
    # 60% CPU target a step sets ceil(tasks x CPU / 60%) with CPU at most 100%: 1 -> 2 -> 4.
    assert scale_out.target.startswith("1 -> 4 tasks at the peak (2 steps")
    assert len([s for s in scale_out.steps if s.what.startswith("scaling step")]) == 1
    assert [scaling_rounds(1, n, 100 / 60) for n in (2, 3, 4, 5, 7, 12)] == [1, 2, 2, 3, 3, 4]
    assert scaling_rounds(1, 12, 0) == 1  # a request-count target scales to it at once
    peak = SPIKY.peak_rps
    one_task = 256 / 1024 * 1000 / (SPIKY.avg_duration_ms * Assumptions().cpu_share)
    assert row.ramp_requests == pytest.approx(
        ((peak - one_task) * scale_out.low, (peak - one_task) * scale_out.high)
    )
    # Lambda has no ramp to wait out at this peak: it adds an environment per request.
    assert _row(synth.templates, "lambda", SPIKY).ramp_requests is None


def test_every_timing_is_sourced_or_an_assumption_and_can_be_set(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_TIMINGS.read_text())["timings"]
    for key, entry in raw.items():
        assert entry["low"] <= entry["value"] <= entry["high"], key
        if entry.get("assumption"):
            assert "source" not in entry and TIMINGS[key].basis().startswith("assumption"), key
        else:
            assert entry["source"].startswith("https://") and entry["date"], key
            assert TIMINGS[key].basis() == f"source: {entry['source']}"
    # docs/report.md documents each, with its range and its source.
    docs = (Path(__file__).parent.parent / "docs" / "report.md").read_text()
    for key, entry in raw.items():
        row = next(line for line in docs.splitlines() if line.startswith(f"| `{key}` |"))
        assert f"{entry['value']:g} ({entry['low']:g}-{entry['high']:g})" in row, key
        assert entry.get("source", "assumption") in row, key
    set_ = load_timings(overrides=parse_overrides(["ec2_boot_register_s=120"]))
    boot = set_["ec2_boot_register_s"]
    assert (boot.low, boot.value, boot.high) == (120, 120, 120)
    assert boot.basis() == "set with --timing ec2_boot_register_s=120"
    unsourced = tmp_path / "timings.yaml"
    unsourced.write_text(yaml.safe_dump({"timings": {"x": {"value": 1, "low": 1, "high": 1}}}))
    with pytest.raises(LaunchlabError, match="x has no source and is not marked assumption"):
        load_timings(unsourced)
    with pytest.raises(LaunchlabError, match="--timing nope: no such timing; known: "):
        load_timings(overrides={"nope": 1})
    for bad in ("ec2_boot_register_s", "ec2_boot_register_s=-1", "=3", "x=nan"):
        with pytest.raises(LaunchlabError, match="--timing takes KEY=VALUE"):
            parse_overrides([bad])


@pytest.mark.slow
def test_all_six_carry_four_timelines_and_a_patch_cadence_in_json_and_on_screen(
    synth: Synthesized, opt_in_synth: Synthesized
) -> None:
    report = _report(_both(synth, opt_in_synth), SPIKY)
    document = to_json(report)
    jsonschema.validate(document, SCHEMA)
    assert [o["launch_type"] for o in document["ops"]] == list(launch_types.KEYS)
    for entry in document["ops"]:
        for key in ("scale_out_s", "deploy_s", "rollback_s", "cold_start_ms", "scale_in_s"):
            timeline = entry[key]
            assert 0 <= timeline["low"] <= timeline["value"] <= timeline["high"], (entry, key)
            assert timeline["basis"] and timeline["target"]
        assert entry["patches_per_year"]["basis"]
    by_type = {o["launch_type"]: o for o in document["ops"]}
    # What each owner patches, from patch_cadence.yaml: the AMI and the node image on EC2.
    counts = yaml.safe_load(cadence.DEFAULT_OUT.read_text())
    ami = counts["amis"]["ecs-optimized-ami:al2023"]["per_year"]
    node = counts["images"]["node:24-bookworm-slim"]["per_year"]
    python = counts["images"]["python:3.13-slim-bookworm"]["per_year"]
    assert by_type["ecs-ec2"]["patches_per_year"]["value"] == ami + node
    for launch_type in ("fargate", "ecs-managed-instances", "express"):
        assert by_type[launch_type]["patches_per_year"]["value"] == python
    assert by_type["lambda"]["patches_per_year"]["lower_bound"] is True
    assert by_type["lambda-managed-instances"]["patches_per_year"]["value"] == 0
    assert by_type["lambda"]["rollback_s"]["target"] == BY_HAND
    assert "14-21 days" in by_type["ecs-managed-instances"]["patches_per_year"]["aws"]
    # No cold start where a task or environment is always kept; Lambda's from its init.
    assert by_type["fargate"]["cold_start_ms"]["high"] == 0
    assert by_type["lambda"]["cold_start_ms"]["low"] > 0
    # On screen: the ops table for all six, the verdict's lines in numbers.
    out = io.StringIO()
    render.print_report(report, Console(file=out, width=80))
    text = out.getvalue()
    assert render.OPS_SUMMARY_TITLE in text
    for spec in launch_types.REGISTRY:
        assert any(
            line.startswith(spec.label + " ") and line.rstrip().split()[-1].lstrip(">=").isdigit()
            for line in text.splitlines()
        ), spec.label
    asks = text[text.index("What each asks of you") : text.index("Monthly cost at this traffic")]
    assert "releases a year" in asks and "deploy " in asks
    (lambda_row,) = [
        line for line in text.splitlines() if line.startswith("Lambda   ") and "$" not in line
    ]
    assert "by hand" in lambda_row and "no automatic rollback" in asks
    # report.md: every step with its source, and the table of AWS timings.
    markdown = render.markdown(report, "chart.png")
    assert "### Each timeline step by step" in markdown and "### AWS timings used" in markdown
    for constant in TIMINGS.constants.values():
        assert f"| {constant.key} |" in markdown


def _git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(repo), "PATH": "/usr/bin:/bin"}  # fmt: skip
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def _commit(repo: Path, files: Mapping[str, str], when: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"at {when}", when=when)


def _entry(tags: str, commit: str, directory: str) -> str:
    return f"Tags: {tags}\nArchitectures: amd64\nGitCommit: {commit}\nDirectory: {directory}\n"


def test_patch_cadence_is_counted_from_a_git_history(tmp_path: Path) -> None:
    official = tmp_path / "official-images"
    official.mkdir()
    _git(official, "init", "-q", "-b", "master")

    def node(version: str, commit: str, other: str = "x") -> dict[str, str]:
        return {
            "library/node": _entry(f"{version}-bookworm-slim, 24-bookworm-slim", commit, "24/b")
            + "\n"
            + _entry("26-alpine, alpine", other, "26/alpine"),
            "library/debian": _entry("bookworm-slim, bookworm-20250101-slim", "d1", "bookworm"),
        }

    _commit(official, node("24.1.0", "a"), "2024-06-01T12:00:00+00:00")  # before the window
    _commit(official, node("24.2.0", "b"), "2025-03-01T12:00:00+00:00")
    _commit(official, node("24.2.0", "b", other="y"), "2025-04-01T12:00:00+00:00")  # not ours
    _commit(official, node("24.3.0", "c"), "2025-05-01T12:00:00+00:00")
    _commit(official, node("24.3.1", "d"), "2026-01-10T12:00:00+00:00")
    git = cadence.Git(official / ".git")
    count = cadence.count_library_changes(git, "node", "24-bookworm-slim")
    # The window: 365 days to the newest commit (2026-01-10); the change on 2025-04-01 was to
    # another entry, and the one of 2024 is older than the window.
    assert count.window == (date(2025, 1, 10), date(2026, 1, 10))
    assert count.days == (date(2025, 3, 1), date(2025, 5, 1), date(2026, 1, 10))
    versions = cadence.count_library_changes(git, "node", "24-bookworm-slim", versions_only=True)
    assert len(versions.days) == 3
    as_dict = count.as_dict()
    assert as_dict["count"] == 3 and as_dict["repository"] == "docker-library/official-images"
    assert len(as_dict["commit"]) == 40 and as_dict["commit_date"] == "2026-01-10"

    ami = tmp_path / "amazon-ecs-ami"
    ami.mkdir()
    _git(ami, "init", "-q", "-b", "main")
    changelog = (
        "# Changelog\n\n## 20260105\n- al2, al2023 ami version: 20260105\n\n"
        "## 20251201\n- al2 ami version: 20251201\n\n"
        "## 20251111\n- al2023 ami version: 20251111\n\n"
        "## 20241111\n- al2023 ami version: 20241111\n"
    )
    _commit(ami, {"CHANGELOG.md": changelog}, "2026-01-06T00:00:00+00:00")
    releases = cadence.count_ami_releases(cadence.Git(ami / ".git"), "al2023")
    assert releases.days == (date(2025, 11, 11), date(2026, 1, 5))
    # What the project pins, and the release line each belongs to.
    pins = cadence.pinned_images()
    assert pins["node-app"].startswith("public.ecr.aws/docker/library/node:")
    assert cadence.line_candidates("24.11.1-bookworm-slim") == [
        "24.11.1-bookworm-slim", "24.11-bookworm-slim", "24-bookworm-slim",
    ]  # fmt: skip
    assert cadence.debian_parent("3.13.9-slim-bookworm") == "bookworm-slim"
    assert cadence.image_line_key(pins["python-app-lambda"], ["lambda/python:3.13"]) == (
        "lambda/python:3.13"
    )


def test_a_drill_result_and_a_set_timing_in_the_report(
    synth: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --drill FILE --timing KEY=VALUE`: the measured figures beside the modelled
    ones (labelled where and when), and a timing set on the command line, said so."""
    from launchlab.cli import main

    drill = {
        "schema": "launchlab-drill", "schema_version": 1, "region": "eu-west-1",
        "measured_at": "2026-12-01T10:00:00+00:00", "complete": True, "settings": {},
        "launch_types": {"fargate": {"stack": names.FARGATE_STACK, "restored": [], "steps": {
            "deploy": {"value": 95.0, "unit": "s", "note": "steady: 1 tasks on x:4"},
            "scale_out": {"value": None, "unit": "s", "note": "no scale-out within 900 s"},
        }}},
    }  # fmt: skip
    path = tmp_path / "drill.json"
    path.write_text(json.dumps(drill))
    out = tmp_path / "out"
    args = ["report", "--cdk-out", str(synth.outdir), "--out", str(out), "--drill", str(path)]
    assert main([*args, "--details", "--timing", "lambda_update_s=45"]) == 0
    text = capsys.readouterr().out
    assert "Measured on AWS in eu-west-1 at 2026-12-01T10:00:00+00:00 (launchlab drill)" in text
    document = json.loads((out / "report.json").read_text())
    jsonschema.validate(document, SCHEMA)
    (lambda_,) = [o for o in document["ops"] if o["launch_type"] == "lambda"]
    assert (lambda_["deploy_s"]["low"], lambda_["deploy_s"]["high"]) == (45, 45)
    assert "set with --timing lambda_update_s=45" in lambda_["deploy_s"]["basis"]
    assert "lambda deploy: 45 s" in text and "roll back a bad" in text
    (fargate,) = [o for o in document["ops"] if o["launch_type"] == "fargate"]
    modelled_deploy = render.timeline_words(_timeline(fargate["deploy_s"]))
    assert document["drill"]["rows"][0] == {
        "launch type": "fargate", "step": "deploy", "measured": "95 s",
        "modelled": modelled_deploy, "what the drill saw": "steady: 1 tasks on x:4",
    }  # fmt: skip
    assert document["drill"]["rows"][1]["measured"] == "not measured"
    assert main([*args, "--timing", "lambda_update=45"]) == 2
    assert "launchlab: --timing lambda_update: no such timing" in capsys.readouterr().err
    path.write_text(json.dumps({**drill, "schema": "launchlab-bench"}))
    assert main(args) == 2
    assert "is not a result of `.venv/bin/launchlab drill`" in capsys.readouterr().err


def _timeline(found: Mapping[str, Any]) -> Timeline:
    return (
        Timeline("t", found["unit"], (), extra={})
        if found["high"] == 0
        else Timeline("t", found["unit"], tuple(_steps(found)))
    )


def _steps(found: Mapping[str, Any]) -> Any:
    from launchlab.report.timeline import Step

    return [Step(s["what"], s["low"], s["value"], s["high"], s["basis"]) for s in found["steps"]]


def test_ops_json_of_a_row_without_timelines_keeps_the_words_only() -> None:
    row = OpsRow("x", "r", "m", "s", "d", "c", "b", "z")
    assert ops_json(row) == {
        "launch_type": "x", "resources": "r", "you_manage": "m", "scaling_unit": "s",
        "max_request_duration": "d", "cold_starts": "c", "min_billable_unit": "b",
        "costs_at_zero_traffic": "z",
    }  # fmt: skip
