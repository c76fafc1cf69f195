"""`launchlab report --baseline` and `--fail-above`: a pull request's cost check, on real synths
one setting apart (the session fixtures: the default app, -c launchTypes=all, and the ECS on EC2
instance type switched to Graviton), through the real CLI; and the CI job that runs it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from launchlab.cli import main
from launchlab.report import diff
from launchlab.report.verdict import usd
from stacks import launch_types
from tests.conftest import ROOT, Synthesized
from tests.test_ec2_capacity import graviton  # noqa: F401 (a session fixture)

OPT_IN = [spec.key for spec in launch_types.REGISTRY if not spec.default]


def _report(
    capsys: pytest.CaptureFixture[str], app: Synthesized, out: Path, *flags: str
) -> tuple[int, str, dict[str, Any]]:
    """Run `launchlab report` on ``app`` into ``out``: exit code, output, report.json. As in a
    CI log: no terminal, no COLUMNS, so every line whole."""
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        code = main(["report", "--cdk-out", str(app.outdir), "--out", str(out), *flags])
    document = json.loads((out / "report.json").read_text())
    return code, capsys.readouterr().out, document


def _by_key(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lt["launch_type"]: lt for lt in document["launch_types"]}


@pytest.mark.slow
def test_three_launch_types_more_is_their_cost_and_trips_the_gate(
    synth: Synthesized,
    all_synth: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """-c launchTypes=all against cdk.json's default: the three opt-in launch types are new,
    each grows from nothing by its whole monthly cost, and the gate names those above it."""
    _, _, base = _report(capsys, synth, tmp_path / "base")
    limit = Decimal(50)
    code, out, now = _report(
        capsys, all_synth, tmp_path / "pr", "--baseline", str(tmp_path / "base" / "report.json"),
        "--fail-above", str(limit),
    )  # fmt: skip
    before, after = _by_key(base), _by_key(now)
    assert set(after) - set(before) == set(OPT_IN)
    # Grown from nothing: the whole monthly cost of each new one, from the report itself.
    growth = {
        key: Decimal(str(lt["monthly_usd"]))
        - Decimal(str(before.get(key, {}).get("monthly_usd", 0)))
        for key, lt in after.items()
    }
    over = [key for key, grew in growth.items() if grew > limit]
    assert over and set(over) <= set(OPT_IN)  # Lambda Managed Instances keeps 3 instances warm
    assert code == 1
    (gate,) = [line for line in out.splitlines() if line.startswith("Cost gate")]
    assert gate.startswith("Cost gate FAILED (--fail-above $50.00): ")
    for key in over:
        label = launch_types.label(key)
        assert f"{label} +{usd(growth[key])} a month" in gate
    markdown = (tmp_path / "pr" / "cost-diff.md").read_text()
    assert markdown.startswith(diff.MARKER + "\n## launchlab: what this change costs")
    for key in OPT_IN:
        label = launch_types.label(key)
        row = f"| {label} | - | {usd(Decimal(str(after[key]['monthly_usd'])))} | new |"
        assert row in markdown
    assert gate in markdown
    # Lambda stays the cheapest at 1M requests; whether the bands moved, the diff says.
    assert base["verdict"]["cheapest"] == now["verdict"]["cheapest"] == "lambda"
    same_bands = [
        [(b["cheapest"], f"{b['to_requests_per_month']:.3g}") for b in side["verdict"]["bands"]]
        for side in (base, now)
    ]
    unchanged = "**Verdict unchanged: Lambda is still the cheapest at 1M requests a month"
    moved = "**Verdict changed where the traffic differs: Lambda is still the cheapest at 1M"
    assert (unchanged in markdown, moved in markdown) == (
        same_bands[0] == same_bands[1],
        same_bands[0] != same_bands[1],
    )
    # Without --fail-above the same comparison is no failure.
    code, _, _ = _report(
        capsys, all_synth, tmp_path / "pr", "--baseline", str(tmp_path / "base" / "report.json")
    )
    assert code == 0


@pytest.mark.slow
def test_a_cheaper_instance_type_moves_its_line_item_and_the_verdict(
    synth: Synthesized,
    graviton: Synthesized,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """-c ec2InstanceType=t4g.small (with unlimited CPU credits): only ECS on EC2 moves, its
    instance line item is paired across the rename, and at a traffic between the two
    break-even points the cheapest launch type changes, which the diff says."""
    _, _, base = _report(capsys, synth, tmp_path / "probe-base")
    _, _, probe = _report(capsys, graviton, tmp_path / "probe-now")
    # Where Lambda stops being the cheapest, before and after: traffic between the two is
    # priced differently by the two templates.
    edge_before = base["verdict"]["bands"][0]["to_requests_per_month"]
    edge_now = probe["verdict"]["bands"][0]["to_requests_per_month"]
    assert base["verdict"]["bands"][0]["cheapest"] == "lambda"
    assert edge_now < edge_before, (edge_now, edge_before)
    traffic = f"{(edge_now * edge_before) ** 0.5:.0f}"
    _, _, base = _report(capsys, synth, tmp_path / "base", "--requests-per-month", traffic)
    code, out, now = _report(
        capsys, graviton, tmp_path / "pr", "--requests-per-month", traffic,
        "--baseline", str(tmp_path / "base" / "report.json"), "--fail-above", "0",
    )  # fmt: skip
    assert code == 0  # cheaper: no growth, so not even a $0 gate fails
    assert "\nCost gate passed: no launch type's monthly cost grows by more than $0.00.\n" in out
    before, after = _by_key(base), _by_key(now)
    assert (base["verdict"]["cheapest"], now["verdict"]["cheapest"]) == ("lambda", "ecs-ec2")
    markdown = (tmp_path / "pr" / "cost-diff.md").read_text()
    assert "**Verdict changed: at " in markdown
    assert "ECS on EC2 is now the cheapest, not Lambda.**" in markdown
    assert f"- Before: {base['verdict']['summary']}" in markdown
    assert f"- Now: {now['verdict']['summary']}" in markdown
    for key in ("fargate", "lambda"):
        assert before[key]["monthly_usd"] == after[key]["monthly_usd"]
        assert (
            f"| {launch_types.label(key)} | {usd(Decimal(str(before[key]['monthly_usd'])))} "
            in markdown
        )
    old, new = (Decimal(str(side["ecs-ec2"]["monthly_usd"])) for side in (before, after))
    assert new < old
    assert (
        f"| ECS on EC2 | {usd(old)} | {usd(new)} | -{usd(old - new)} ({(new - old) / old:+.1%}) |"
        in markdown
    )
    # The instances' line item, renamed with its type, paired by its kind.
    old_item, new_item = (
        next(i for i in side["ecs-ec2"]["line_items"] if i["kind"] == "EC2 instances")
        for side in (before, after)
    )
    assert "t3.small" in old_item["name"] and "t4g.small" in new_item["name"]
    old_usd, new_usd = (usd(Decimal(str(i["monthly_usd"]))) for i in (old_item, new_item))
    moved = f"- ECS on EC2: {old_item['name']} -> {new_item['name']}: {old_usd} -> {new_usd}"
    assert moved in markdown
    assert "- ECS on Fargate:" not in markdown and "- Lambda:" not in markdown
    # The terminal says the same.
    assert "Verdict changed: at " in out and f"{old_item['name']} -> {new_item['name']}" in out


def test_a_baseline_priced_differently_is_flagged() -> None:
    """The baseline's own report, compared with itself at another traffic and region: nothing
    in the templates moved, and the diff says the pricing did."""
    document = json.loads(json.dumps(_fake_report()))
    other = json.loads(json.dumps(document))
    other["region"] = "eu-west-1"
    other["profile"]["requests_per_month"] = 2e6
    found = diff.compare(document, other, "base/report.json")
    assert found.unlike == (
        "region: us-east-1 -> eu-west-1",
        "traffic profile: requests_per_month 1000000.0 -> 2000000.0",
    )
    assert "**Not like for like**" in diff.markdown(found)
    assert not diff.compare(document, document, "x").unlike


def _fake_report() -> dict[str, Any]:
    """A minimal schema-v1 report.json: two launch types, one band."""

    def lt(key: str, monthly: float, items: list[tuple[str, str, float]]) -> dict[str, Any]:
        return {
            "launch_type": key, "monthly_usd": monthly, "idle_monthly_usd": monthly,
            "line_items": [{"name": n, "kind": k, "monthly_usd": usd_} for n, k, usd_ in items],
        }  # fmt: skip

    return {
        "schema": "launchlab-report",
        "schema_version": 1,
        "region": "us-east-1",
        "free_tier": True,
        "price_table": {"path": "aws.yaml", "retrieved": "2026-11-28"},
        "profile": {"name": "hobby", "requests_per_month": 1e6},
        "assumptions": {"cpu_share": 0.25},
        "launch_types": [
            lt(
                "fargate",
                36.67,
                [
                    ("ALB hours", "ALB hours", 16.43),
                    ("Public IPv4 (ALB)", "Public IPv4", 7.3),
                    ("Public IPv4 (tasks)", "Public IPv4", 3.65),
                ],
            ),
            lt("lambda", 0.45, [("Lambda requests", "Lambda requests", 0.45)]),
        ],
        "verdict": {
            "requests_per_month": 1e6,
            "cheapest": "lambda",
            "cheapest_monthly_usd": 0.45,
            "summary": "At 1M requests a month Lambda is cheapest.",
            "bands": [
                {
                    "cheapest": "lambda",
                    "from_requests_per_month": 1e4,
                    "to_requests_per_month": 1e10,
                    "ends_by": None,
                }
            ],
        },
    }


def test_line_items_pair_by_name_then_by_kind() -> None:
    """Same name: compared as one; a renamed item of a kind: paired with the one left of that
    kind; an item gone and one new of another kind: each said so; an unchanged one: not listed."""
    base = _fake_report()
    now = json.loads(json.dumps(base))
    fargate = now["launch_types"][0]
    fargate["monthly_usd"] = 40.0
    fargate["line_items"] = [
        {"name": "ALB hours", "kind": "ALB hours", "monthly_usd": 16.43},
        {"name": "Public IPv4 (tasks, 2)", "kind": "Public IPv4", "monthly_usd": 7.3},
        {"name": "Public IPv4 (ALB)", "kind": "Public IPv4", "monthly_usd": 7.3},
        {"name": "NAT gateway", "kind": "NAT", "monthly_usd": 32.85},
    ]
    found = diff.compare(base, now, "b")
    assert diff.moved_lines(found) == [
        "ECS on Fargate: Public IPv4 (tasks) -> Public IPv4 (tasks, 2): $3.65 -> $7.30 (+$3.65)",
        "ECS on Fargate: NAT gateway: new, $32.85",
    ]
    assert [(c.launch_type, c.growth) for c in found.launch_types] == [
        ("fargate", Decimal("3.33")),
        ("lambda", Decimal(0)),
    ]
    assert found.over(Decimal("3.32"))[0].launch_type == "fargate"
    assert not found.over(Decimal("3.33"))
    assert not found.verdict_changed
    # The lambda row says "no change"; the Fargate row its growth and share.
    assert diff.table_rows(found)[1][3] == "no change"
    assert diff.table_rows(found)[0][3] == "+$3.33 (+9.1%)"
    gone = json.loads(json.dumps(base))
    gone["launch_types"] = gone["launch_types"][1:]
    assert diff.table_rows(diff.compare(base, gone, "b"))[0][2:4] == ["-", "gone"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fail-above", "10"], "--fail-above needs --baseline REPORT_JSON"),
        (["--baseline", "{report}", "--fail-above", "-1"], "--fail-above must be US dollars"),
        (["--baseline", "{report}", "--fail-above", "ten"], "--fail-above must be US dollars"),
        (["--baseline", "{not_json}"], "is not JSON"),
        (["--baseline", "{not_ours}"], "is not a launchlab report.json"),
        (["--baseline", "{missing}"], "cannot use"),
    ],
)
def test_bad_baseline_or_limit_is_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    files = {
        "report": tmp_path / "report.json",
        "not_json": tmp_path / "not.json",
        "not_ours": tmp_path / "other.json",
        "missing": tmp_path / "missing.json",
    }
    files["report"].write_text(json.dumps(_fake_report()))
    files["not_json"].write_text("{")
    files["not_ours"].write_text('{"schema": "cdk"}')
    args = [f.format(**{k: str(v) for k, v in files.items()}) for f in flags]
    # A cdk.out that does not exist: the flags must fail first.
    code = main(["report", "--cdk-out", str(tmp_path / "nowhere"), "--out", str(tmp_path), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("launchlab: ") and message in err and "\n" not in err


def test_ci_builds_both_reports_and_publishes_the_diff() -> None:
    """The workflow's cost-diff job: on pull requests only; the base branch's report from the
    base's own checkout and setup; the PR's with --baseline; the diff in the job summary, and
    as a PR comment only where the token may write (not from a fork); least privilege."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["cost-diff"]
    assert job["if"] == "github.event_name == 'pull_request'"
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    checkouts = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert [c["with"]["path"] for c in checkouts] == ["pr", "base"]
    assert checkouts[1]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    base = steps["the base branch's report"]["run"]
    assert "make -C base setup" in base and "launchlab report --out" in base
    pr = steps["this pull request's report, against it"]
    assert "make -C pr setup" in pr["run"]
    assert '--baseline "$RUNNER_TEMP/base/report.json"' in pr["run"]
    assert "--fail-above" in pr["run"] and "vars.LAUNCHLAB_COST_FAIL_ABOVE" in str(pr["env"])
    summary = steps["job summary"]
    assert summary["if"] == "${{ !cancelled() }}"
    assert 'cost-diff.md" >> "$GITHUB_STEP_SUMMARY"' in summary["run"]
    comment = steps["comment on the pull request"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert "--edit-last --create-if-none --body-file" in comment["run"]
    assert comment["env"]["GH_TOKEN"] == "${{ github.token }}"


def test_bands_that_move_change_the_verdict_even_with_the_same_cheapest() -> None:
    """Lambda cheapest at 1M either way, but ECS on EC2 now wins from 50M: the verdict says
    where it changed, both band sentences, and the same cheapest; an edge that moves by less
    than the report's three figures is no change."""
    base = _fake_report()
    now = json.loads(json.dumps(base))
    lambda_band = {**base["verdict"]["bands"][0], "to_requests_per_month": 5e7, "ends_by": "cross"}
    ec2_band = {"cheapest": "ecs-ec2", "from_requests_per_month": 5e7,
                "to_requests_per_month": 1e10, "ends_by": None}  # fmt: skip
    now["verdict"]["bands"] = [lambda_band, ec2_band]
    found = diff.compare(base, now, "b")
    assert found.cheapest == ("lambda", "lambda")
    assert found.verdict_changed
    assert diff.verdict_lines(found) == [
        "Verdict changed where the traffic differs: Lambda is still the cheapest at 1M requests "
        "a month, but the bands moved.",
        "Before: At 1M requests a month Lambda is cheapest.",
        "Now: At 1M requests a month Lambda is cheapest.",
        "Cheapest by traffic, before: Lambda throughout.",
        "Now: Lambda up to 50M, ECS on EC2 from 50M.",
    ]
    nudged = json.loads(json.dumps(now))
    nudged["verdict"]["bands"][0]["to_requests_per_month"] = 5.0001e7
    nudged["verdict"]["bands"][1]["from_requests_per_month"] = 5.0001e7
    assert not diff.compare(now, nudged, "b").verdict_changed
