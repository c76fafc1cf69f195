"""launchlab report: published figures, numbers that follow the templates, files, bad input.

Every test reads the real app through the session fixtures (synthesized once per session).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from botocore.stub import Stubber

from launchlab.assembly import Assembly
from launchlab.cli import main
from launchlab.errors import LaunchlabError
from launchlab.report import refresh
from launchlab.report.cost import (
    Assumptions,
    Estimate,
    LineItem,
    cents,
    estimate,
    lcu,
    task_capacity,
)
from launchlab.report.inventory import (
    Egress,
    Function,
    Instances,
    Inventory,
    LaunchType,
    LoadBalancer,
    LogGroup,
    Network,
    Repository,
    Scaling,
    Tasks,
    read_inventory,
)
from launchlab.report.model import build_report, to_json
from launchlab.report.prices import DEFAULT_TABLE, Price, RegionPrices, load_table
from launchlab.report.profile import PRESETS, TrafficProfile
from tests.conftest import Synthesized

SCHEMA = json.loads((DEFAULT_TABLE.parent.parent / "report" / "schema.json").read_text())
DATA = Path(__file__).parent / "data"
FREE = Assumptions(free_tier=True)
NO_TRAFFIC = TrafficProfile("zero", 0, 100, 0)
MI_FEE_PREFIX = "ecs_managed_instances.management_hour."


@pytest.fixture(scope="module")
def us_east_1() -> RegionPrices:
    return load_table().region("us-east-1")


def inventory_of(app: Synthesized) -> Inventory:
    return read_inventory(Assembly(outdir=app.outdir, templates=app.templates))


def only(launch_type: LaunchType) -> Inventory:
    """An inventory holding just ``launch_type`` (for the published single-service figures)."""
    return Inventory(Network(0, 0, 0, 0), (), (), 0, {launch_type.launch_type: launch_type})


def item(found: Any, prefix: str) -> Decimal:
    matches = [i.usd for i in found.items if i.name.startswith(prefix)]
    assert len(matches) == 1, f"{prefix!r} in {[i.name for i in found.items]}"
    return Decimal(matches[0])


# --- Published figures ------------------------------------------------------------------------


def test_lambda_pricing_page_example_1(us_east_1: RegionPrices) -> None:
    """https://aws.amazon.com/lambda/pricing/ Example 1: 512 MB, 3M invocations of 1 s a month,
    free tier applied: "Monthly compute charges = 1,100,000 * $0.00001667 = $18.34", "Monthly
    request charges = 2M * $0.2/M = $0.40", total $18.74. The page multiplies by $0.00001667
    (rounded); the table holds the exact $0.0000166667, which gives $18.33."""
    function = Function(512, "x86_64", 10, None, "function-url")
    inventory = only(LaunchType("lambda", ("L",), 1, False, function=function))
    profile = TrafficProfile("example-1", 3_000_000, 1000, 0)
    found = estimate(inventory, "lambda", us_east_1, profile, FREE)
    assert cents(item(found, "Lambda requests")) == Decimal("0.40")
    assert cents(item(found, "Lambda duration")) == Decimal("18.33")

    page_rate = dataclasses.replace(
        us_east_1["lambda.duration.x86_64"], usd=Decimal("0.00001667"), tiers=()
    )
    at_page_rate = dataclasses.replace(
        us_east_1, prices={**us_east_1.prices, "lambda.duration.x86_64": page_rate}
    )
    found = estimate(inventory, "lambda", at_page_rate, profile, FREE)
    assert cents(item(found, "Lambda duration")) == Decimal("18.34")
    assert cents(found.total) == Decimal("18.74")
    without_free_tier = estimate(inventory, "lambda", at_page_rate, profile, Assumptions(False))
    # 1,500,000 GB-s * $0.00001667 + 3M * $0.20/M
    assert cents(without_free_tier.total) == Decimal("25.61")


def test_fargate_one_vcpu_two_gb_for_730_hours(us_east_1: RegionPrices) -> None:
    """https://aws.amazon.com/fargate/pricing/ (Linux/x86, US East (N. Virginia)): "per vCPU per
    hour $0.04048", "per GB per hour $0.004445"; one 1 vCPU / 2 GB task for a 730-hour month is
    $29.5504 + $6.4897 = $36.04."""
    tasks = Tasks(1024, 2048, "x86_64", False, 1, 1, False, 20, Scaling("cpu", 60, 60), 60)
    inventory = only(LaunchType("fargate", ("F",), 1, False, tasks=tasks))
    found = estimate(inventory, "fargate", us_east_1, NO_TRAFFIC, FREE)
    compute = item(found, "Fargate vCPU") + item(found, "Fargate memory")
    assert cents(compute) == Decimal("36.04")


def test_idle_alb_for_730_hours(synth: Synthesized, us_east_1: RegionPrices) -> None:
    """https://aws.amazon.com/elasticloadbalancing/pricing/ (US East (N. Virginia)): "$0.0225 per
    Application Load Balancer-hour (or partial hour)", "$0.008 per LCU-hour"; idle for 730 h:
    $16.425, billed $16.43, and no LCUs."""
    idle = estimate(inventory_of(synth), "fargate", us_east_1, NO_TRAFFIC, FREE)
    assert cents(item(idle, "ALB hours")) == Decimal("16.43")
    assert item(idle, "ALB LCU-hours") == 0


# https://aws.amazon.com/elasticloadbalancing/pricing/, the Application Load Balancer example:
# "1 new connection per second, each lasting 2 minutes", "5 requests per second", "300 KB per
# second" processed, "60 rules". Its four dimensions: 1/25 = 0.04 LCU (new connections),
# 120 active connections / 3,000 = 0.04 LCU, 300 KB/s = 1.08 GB/h = 1.08 LCU (processed bytes),
# (60 - 10 free rules) x 5 = 250 evaluations/s / 1,000 = 0.25 LCU; billed: the largest, 1.08.
EXAMPLE_RPS = 5.0
EXAMPLE_RULES = 60
EXAMPLE_FIVE_PER_CONNECTION = Assumptions(requests_per_connection=5)


def _example(duration_ms: float, payload_kb: float) -> TrafficProfile:
    """The example's traffic: each request as long as its connection, ``payload_kb`` each."""
    return TrafficProfile("alb-example", 0, duration_ms, payload_kb)


def test_alb_lcu_processed_bytes_dominate_the_published_example() -> None:
    # 300 KB/s is 60 KB per request. The page counts it in decimal units (300,000 B x 3,600 s =
    # 1.08 GB); the model counts KiB and GiB, as AWS bills data: 5 x 3600 x 60 x 1024 / 2**30.
    found = lcu(EXAMPLE_RPS, _example(120_000, 60), EXAMPLE_RULES, EXAMPLE_FIVE_PER_CONNECTION)
    assert found == pytest.approx(1.02997, abs=1e-5)


def test_alb_lcu_rule_evaluations_past_the_ten_free_rules() -> None:
    # Nothing processed: the example's next largest dimension, (60 - 10) x 5 / 1000 = 0.25 LCU.
    found = lcu(EXAMPLE_RPS, _example(120_000, 0), EXAMPLE_RULES, EXAMPLE_FIVE_PER_CONNECTION)
    assert found == pytest.approx(0.25)
    # Ten rules or fewer cost nothing: what remains is the connections' 0.04 LCU.
    for rules in (1, 10):
        found = lcu(EXAMPLE_RPS, _example(120_000, 0), rules, EXAMPLE_FIVE_PER_CONNECTION)
        assert found == pytest.approx(0.04)
    # 11 rules at 1,000 req/s on one connection: one paid evaluation per request, 1.0 LCU.
    eleven = lcu(1000.0, _example(0, 0), 11, Assumptions(requests_per_connection=1000))
    assert eleven == pytest.approx(1.0)


def test_alb_lcu_active_connections() -> None:
    # The example's connection, held 4 minutes instead of 2: 1 new/s x 240 s = 240 active,
    # 240 / 3000 = 0.08 LCU, above the 0.04 of new connections; no payload, ten rules.
    found = lcu(EXAMPLE_RPS, _example(240_000, 0), 10, EXAMPLE_FIVE_PER_CONNECTION)
    assert found == pytest.approx(0.08)


def test_alb_lcu_new_connections() -> None:
    # One connection per request at the example's 5 req/s, short requests: 5 / 25 = 0.2 LCU
    # (active: 5 x 0.05 s = 0.25 connections, 0.0001 LCU).
    found = lcu(EXAMPLE_RPS, _example(50, 0), 10, Assumptions(requests_per_connection=1))
    assert found == pytest.approx(0.2)
    assert lcu(0.0, _example(50, 0), EXAMPLE_RULES, FREE) == 0


# --- The numbers follow the templates ---------------------------------------------------------


def test_inventory_reads_the_default_templates(synth: Synthesized) -> None:
    inventory = inventory_of(synth)
    ec2 = inventory.launch_types["ecs-ec2"]
    assert ec2.instances is not None and ec2.tasks is not None
    assert (ec2.instances.instance_type, ec2.instances.min_count, ec2.instances.max_count) == (
        "t3.small",
        1,
        2,
    )
    assert (ec2.instances.volume_gib, ec2.instances.volume_type) == (30, "gp3")
    assert ec2.instances.public_ip and ec2.load_balancers[0].public_ipv4 == 2
    assert (ec2.tasks.cpu_units, ec2.tasks.memory_mib, ec2.tasks.min_count) == (256, 512, 1)
    fargate = inventory.launch_types["fargate"]
    assert fargate.tasks is not None
    assert (fargate.tasks.cpu_units, fargate.tasks.memory_mib) == (256, 512)
    assert (fargate.tasks.architecture, fargate.tasks.spot, fargate.tasks.public_ip) == (
        "x86_64",
        False,
        True,
    )
    assert fargate.tasks.scaling.metric == "cpu" and fargate.tasks.scaling.target == 60
    function = inventory.launch_types["lambda"].function
    assert function == Function(512, "x86_64", 10, None, "function-url")
    assert not inventory.launch_types["lambda"].uses_vpc
    assert inventory.network.nat_gateways == 0
    assert {g.retention_days for lt in inventory.launch_types.values() for g in lt.log_groups} == {
        30
    }


def test_inventory_reads_the_variant_templates(variant: Synthesized) -> None:
    inventory = inventory_of(variant)
    fargate = inventory.launch_types["fargate"].tasks
    assert fargate is not None
    assert (fargate.cpu_units, fargate.memory_mib, fargate.architecture, fargate.spot) == (
        1024,
        2048,
        "arm64",
        True,
    )
    assert not fargate.public_ip  # private subnets behind NAT
    assert fargate.scaling.metric == "requests" and fargate.scaling.target == 500
    assert inventory.network.nat_gateways == 1 and inventory.network.elastic_ips == 1
    assert inventory.launch_types["lambda"].function == Function(1024, "arm64", 20, 5, "http-api")
    ec2 = inventory.launch_types["ecs-ec2"].instances
    assert ec2 is not None and ec2.instance_type == "t4g.small" and not ec2.public_ip


def test_fargate_line_items_scale_with_the_task_size(
    synth: Synthesized, variant: Synthesized, us_east_1: RegionPrices
) -> None:
    small = estimate(inventory_of(synth), "fargate", us_east_1, NO_TRAFFIC, FREE)
    large = estimate(inventory_of(variant), "fargate", us_east_1, NO_TRAFFIC, FREE)
    assert item(small, "Fargate vCPU") == Decimal("0.25") * 730 * Decimal("0.04048")
    assert item(small, "Fargate memory") == Decimal("0.5") * 730 * Decimal("0.004445")
    # The variant is 4x the size, on arm64, half Spot above one on-demand task: idle, its one
    # task is on demand, 4x the vCPU at the arm64 on-demand rate.
    vcpu_ratio = item(large, "Fargate vCPU") / item(small, "Fargate vCPU")
    expected = 4 * us_east_1["fargate.vcpu_hour.arm64"].usd / Decimal("0.04048")
    assert vcpu_ratio == expected
    # Same architecture and tier, four times the task: exactly four times the price.
    variant_tasks = inventory_of(variant).launch_types["fargate"]
    assert variant_tasks.tasks is not None
    on_demand = dataclasses.replace(
        variant_tasks,
        tasks=dataclasses.replace(
            variant_tasks.tasks, architecture="x86_64", spot=False, spot_share=None
        ),
    )
    same_tier = estimate(only(on_demand), "fargate", us_east_1, NO_TRAFFIC, FREE)
    for name in ("Fargate vCPU", "Fargate memory"):
        assert item(same_tier, name) == 4 * item(small, name)


def test_ec2_price_follows_the_instance_type(
    synth: Synthesized, variant: Synthesized, us_east_1: RegionPrices
) -> None:
    t3 = estimate(inventory_of(synth), "ecs-ec2", us_east_1, NO_TRAFFIC, FREE)
    t4g = estimate(inventory_of(variant), "ecs-ec2", us_east_1, NO_TRAFFIC, FREE)
    assert cents(item(t3, "EC2 t3.small")) == Decimal("15.18")  # 730 h x $0.0208
    assert cents(item(t4g, "EC2 t4g.small")) == Decimal("12.26")  # 730 h x $0.0168
    assert cents(item(t3, "EBS gp3")) == Decimal("2.40")  # 30 GB x $0.08
    # Public IPv4: the ALB's two AZs and the instance (default); behind NAT only its EIP.
    assert cents(item(t3, "Public IPv4 (EC2")) == Decimal("3.65")
    assert not [i for i in t4g.items if i.name.startswith("Public IPv4 (EC2")]
    assert cents(item(t4g, "NAT gateway hours")) == Decimal("32.85")


def test_hand_calculation_for_a_steady_profile(synth: Synthesized, us_east_1: RegionPrices) -> None:
    """10M requests/month of 50 ms and 20 KB, steady, default templates, free tier on."""
    profile = TrafficProfile("hand", 10_000_000, 50, 20)
    inventory = inventory_of(synth)
    gib = 1024**3
    rps = 10_000_000 / (730 * 3600)  # 3.805 req/s
    logs_gb = 10_000_000 * 200 / gib
    log_cost = logs_gb * 0.50 + logs_gb * (30 * 12 / 365) * 0.03
    dto = (10_000_000 * 20 * 1024 / gib - 100) * 0.09  # 190.7 GB, 100 GB free
    ecr = 10 * 0.1 * 0.10

    # Pure computation (cpu_share 1): 0.25 vCPU x 1000/50 ms x 60% = 3 req/s per task -> 2 tasks
    # all month.
    cpu_bound = Assumptions(free_tier=True, cpu_share=1.0)
    fargate_tasks = inventory.launch_types["fargate"].tasks
    assert task_capacity(fargate_tasks, profile, cpu_bound)[0] == 3.0  # type: ignore[arg-type]
    tasks = 2 * 730
    lcu = max(rps / 25, rps * 3600 * 20 * 1024 / gib)  # processed bytes dominate
    fargate = (
        tasks * (0.25 * 0.04048 + 0.5 * 0.004445)
        + tasks * 0.005  # task public IPs
        + 730 * 0.0225
        + lcu * 730 * 0.008
        + 2 * 730 * 0.005  # ALB in two AZs
        + log_cost
        + ecr
        + dto
    )
    found = estimate(inventory, "fargate", us_east_1, profile, cpu_bound)
    assert abs(float(found.total) - fargate) < 0.01

    # ECS on EC2: the same 2 tasks fit on one t3.small (3 per instance by memory).
    ec2 = (
        730 * 0.0208 + 30 * 0.08 + 730 * 0.005  # instance, volume, its public IP
        + 730 * 0.0225 + lcu * 730 * 0.008 + 2 * 730 * 0.005
        + log_cost + ecr + dto
    )  # fmt: skip
    found = estimate(inventory, "ecs-ec2", us_east_1, profile, cpu_bound)
    assert found.sizing["instances_by_level"] == [1]
    assert abs(float(found.total) - ec2) < 0.01

    # Lambda: 10M x 0.05 s x 0.5 GB = 250,000 GB-s (inside the free 400,000); 9M paid requests.
    lambda_logs_gb = 10_000_000 * 700 / gib
    expected = (
        9 * 0.20 + lambda_logs_gb * 0.50 + lambda_logs_gb * (30 * 12 / 365) * 0.03 + ecr + dto
    )
    found = estimate(inventory, "lambda", us_east_1, profile, FREE)
    assert abs(float(found.total) - expected) < 0.01


def test_cpu_share_scales_task_capacity(synth: Synthesized, us_east_1: RegionPrices) -> None:
    """The default assumes a quarter of each request's time is CPU: four times the capacity of
    the pure-computation worst case, so fewer tasks for the same load."""
    profile = TrafficProfile("hand", 10_000_000, 50, 20)
    tasks = inventory_of(synth).launch_types["fargate"].tasks
    default, why = task_capacity(tasks, profile, FREE)  # type: ignore[arg-type]
    assert default == 12.0  # 0.25 vCPU x 1000/(50 ms x 0.25) x 60%
    assert "0.25 CPU share" in why and "--cpu-share" in why
    worst = estimate(inventory_of(synth), "fargate", us_east_1, profile, Assumptions(cpu_share=1.0))
    usual = estimate(inventory_of(synth), "fargate", us_east_1, profile, FREE)
    assert worst.sizing["tasks_by_level"] == [2] and usual.sizing["tasks_by_level"] == [1]


def test_peaky_load_scales_tasks_but_not_below_the_minimum(
    synth: Synthesized, us_east_1: RegionPrices
) -> None:
    spiky = PRESETS["spiky"]
    found = estimate(inventory_of(synth), "fargate", us_east_1, spiky, FREE)
    peak, base = found.sizing["tasks_by_level"]  # type: ignore[misc]
    capacity = found.sizing["task_capacity_rps"]
    assert peak == -(-spiky.peak_rps // capacity)  # type: ignore[operator]
    assert base == 1  # the template's MinCapacity
    override = estimate(
        inventory_of(synth), "fargate", us_east_1, spiky, Assumptions(task_capacity_rps=1000)
    )
    assert override.sizing["tasks_by_level"] == [1, 1]


def test_break_even_is_where_the_curves_meet(synth: Synthesized) -> None:
    # 50 req/s per task: the container curves stay flat (minimum counts) long enough for
    # Lambda's straight line to cross them.
    assumptions = Assumptions(task_capacity_rps=50)
    table = load_table()
    profile = PRESETS["hobby"]
    inventory = inventory_of(synth)
    report = build_report("x", inventory, table, "us-east-1", profile, assumptions)
    prices = table.region("us-east-1")
    crossings = [(be, c) for be in report.break_evens for c in be.crossings]
    lambda_crossings = [c for be, c in crossings if be.b == "lambda" and c.kind == "cross"]
    assert len(lambda_crossings) == 2
    for be, c in crossings:
        at = profile.with_requests(c.requests_per_month)
        a = estimate(inventory, be.a, prices, at, assumptions).total
        b = estimate(inventory, be.b, prices, at, assumptions).total
        if c.kind != "cross":
            assert abs(a - b) > Decimal("0.01")
            continue
        assert abs(a - b) <= Decimal("0.01")
        # Just below the crossing the reported cheaper side really is cheaper.
        below = profile.with_requests(c.requests_per_month * 0.98)
        cheaper = estimate(inventory, c.cheaper_below, prices, below, assumptions).total
        other = be.b if c.cheaper_below == be.a else be.a
        assert cheaper < estimate(inventory, other, prices, below, assumptions).total
    ec2_vs_fargate = report.break_evens[0]
    assert (ec2_vs_fargate.a, ec2_vs_fargate.b) == ("ecs-ec2", "fargate")


def test_unknown_instance_type_names_the_known_ones(us_east_1: RegionPrices) -> None:
    with pytest.raises(LaunchlabError, match=r"'x9\.huge'.*known: .*t3\.small.*--refresh-prices"):
        us_east_1.instance("x9.huge")


def test_every_price_has_unit_source_and_date() -> None:
    table = load_table()
    assert {"us-east-1", "eu-west-1"} <= set(table.regions)
    for region in table.regions:
        prices = table.region(region)
        entries: list[Price] = [*prices.prices.values()]
        entries += [i.hourly for i in prices.instances.values()]
        for price in entries:
            assert price.unit and price.source.startswith("https://") and price.date

        # The same keys in every region, but for the management fees AWS published for a type
        # in one region only (the ECS pricing page's us-east-1 example).
        def keys(region: RegionPrices) -> set[str]:
            return {k for k in region.prices if not k.startswith(MI_FEE_PREFIX)}

        assert keys(prices) == keys(table.region("us-east-1"))


# --- The command: files, schema, errors -------------------------------------------------------


def test_report_writes_markdown_json_and_chart(
    synth: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["report", "--cdk-out", str(synth.outdir), "--out", str(tmp_path), "--no-free-tier"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "free tier OFF" in out and f"in {tmp_path}" in out.replace("\n", "")
    document = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["free_tier"] is False
    assert [lt["launch_type"] for lt in document["launch_types"]] == [
        "ecs-ec2",
        "fargate",
        "lambda",
    ]
    fargate = document["launch_types"][1]
    # 0.25 vCPU + 0.5 GB, the task's and the ALB's public IPs, the ALB, ECR storage: $0.0500/h,
    # and, without the free tier, the scaling policy's two alarms at $0.10 a month: $0.0503/h
    assert (
        fargate["idle_usd_per_hour"] == 0.0503 and fargate["inventory"]["tasks"]["cpu_units"] == 256
    )
    png = (tmp_path / "cost-vs-requests.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    svg = (tmp_path / "cost-vs-requests.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and svg.count("<path") > 20
    markdown = (tmp_path / "report.md").read_text()
    assert "## Exact break-even points, pair by pair" in markdown and "| fargate |" in markdown
    assert "![monthly cost against monthly requests](cost-vs-requests.png)" in markdown


def test_a_report_from_the_bundled_table_never_imports_boto3() -> None:
    """boto3 takes about half a second of CPU to import, in every `launchlab report`; only
    --refresh-prices needs it. A fresh interpreter loads what the command runs."""
    loads = (
        "import sys, launchlab.report.runner, launchlab.report.render;"
        "print(sorted({name.partition('.')[0] for name in sys.modules} & {'boto3', 'botocore'}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", loads], cwd=DATA.parent.parent, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert found.stdout.strip() == "[]", found.stdout


def test_schema_rejects_a_broken_document(synth: Synthesized) -> None:
    report = build_report(
        "x", inventory_of(synth), load_table(), "eu-west-1", PRESETS["spiky"], FREE
    )
    document = json.loads(json.dumps(to_json(report)))
    jsonschema.validate(document, SCHEMA)
    document["launch_types"][0]["monthly_usd"] = "cheap"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)


def test_profile_file_and_flags(synth: Synthesized, tmp_path: Path) -> None:
    profile = tmp_path / "launch.yaml"
    profile.write_text(
        yaml.safe_dump({"requests_per_month": 2_000_000, "shape": "peaky", "peak_to_average": 4})
    )
    args = ["report", "--cdk-out", str(synth.outdir), "--out", str(tmp_path)]
    assert main([*args, "--profile", str(profile), "--duration-ms", "20"]) == 0
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["profile"]["name"] == "launch"
    assert document["profile"]["requests_per_month"] == 2_000_000
    assert document["profile"]["avg_duration_ms"] == 20  # the flag wins over the file
    assert document["profile"]["peak_to_average"] == 4


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--requests-per-month", "-5"], "--requests-per-month must be a finite number >= 0"),
        (["--requests-per-month", "lots"], "--requests-per-month must be a number, got 'lots'"),
        (["--duration-ms", "nan"], "--duration-ms must be a finite number"),
        (["--region", "mars-1"], "no prices for region 'mars-1'"),
        (["--preset", "huge"], "unknown preset 'huge' (known: idle, hobby"),
        (["--shape", "peaky", "--peak-to-average", "30"], "at most 12"),
        (["--task-capacity-rps", "0"], "--task-capacity-rps must be a number > 0"),
        (["--cpu-share", "0"], "--cpu-share must be in (0, 1], got '0'"),
        (["--cpu-share", "lots"], "--cpu-share must be a number, got 'lots'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    synth: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("COLUMNS", "500")  # rich wraps long lines at the terminal's width
    code = main(["report", "--cdk-out", str(synth.outdir), "--out", str(tmp_path), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("launchlab: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_foreign_cdk_out_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "500")
    (tmp_path / "manifest.json").write_text(
        json.dumps({"artifacts": {"Other": {"type": "aws:cloudformation:stack"}}})
    )
    assert main(["report", "--cdk-out", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("launchlab: ") and "is not a launchlab app" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


# --- --refresh-prices -------------------------------------------------------------------------


def _trimmed_table(tmp_path: Path) -> Path:
    raw = yaml.safe_load(DEFAULT_TABLE.read_text())
    region = raw["regions"]["us-east-1"]
    region["prices"] = {
        key: region["prices"][key]
        for key in (
            "lambda.duration.x86_64",
            "fargate.vcpu_hour.x86_64",
            "fargate.ephemeral_gb_hour",
        )
    }
    region["ec2_instances"] = {
        name: region["ec2_instances"][name] for name in ("t3.small", "m5.large")
    }
    raw["regions"] = {"us-east-1": region}
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_refresh_prices_from_recorded_price_list_responses(tmp_path: Path) -> None:
    """moto does not implement the Price List API (see the next test), so the client is stubbed
    with GetProducts responses in the API's format (tests/data/pricing_get_products.json)."""
    recorded = json.loads((DATA / "pricing_get_products.json").read_text())["responses"]
    client = refresh.default_client()
    stubber = Stubber(client)
    # The requests GetProducts must receive, written out: the region by its code (the
    # `location` attribute holds display names such as "US East (N. Virginia)").
    region = {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"}

    def usage(suffix: str) -> dict[str, str]:
        return {"Type": "CONTAINS", "Field": "usagetype", "Value": suffix}

    def linux_on_demand(instance_type: str) -> list[dict[str, str]]:
        return [
            region,
            *(
                {"Type": "TERM_MATCH", "Field": field, "Value": value}
                for field, value in (
                    ("instanceType", instance_type),
                    ("operatingSystem", "Linux"),
                    ("tenancy", "Shared"),
                    ("preInstalledSw", "NA"),
                    ("capacitystatus", "Used"),
                    ("licenseModel", "No License required"),
                )
            ),
        ]

    expected_requests = [
        ("AWSLambda", [region, usage("Lambda-GB-Second")]),
        ("AmazonECS", [region, usage("Fargate-vCPU-Hours:perCPU")]),
        ("AmazonECS", [region, usage("Fargate-EphemeralStorage-GB-Hours")]),
        ("AmazonEC2", linux_on_demand("t3.small")),
        ("AmazonEC2", linux_on_demand("m5.large")),
        # The ECS Managed Instances fee, per instance type, in the AmazonECS offer.
        ("AmazonECS", [region, usage("ECS-Managed-Instances:t3.small-management-hours")]),
        ("AmazonECS", [region, usage("ECS-Managed-Instances:m5.large-management-hours")]),
    ]
    # The API answers nothing for the ephemeral-storage query: that price keeps its value.
    recorded.insert(2, {"FormatVersion": "aws_v1", "PriceList": []})
    usage_type = "USE1-ECS-Managed-Instances:t3.small-management-hours"
    fee = {
        "product": {"attributes": {"usagetype": usage_type}},
        "terms": {"OnDemand": {"T": {"priceDimensions": {"D": {
            "unit": "Hrs", "beginRange": "0", "endRange": "Inf", "pricePerUnit": {"USD": "0.0025"},
        }}}}},
    }  # fmt: skip
    recorded += [
        {"FormatVersion": "aws_v1", "PriceList": [json.dumps(fee)]},
        {"FormatVersion": "aws_v1", "PriceList": []},  # none published for m5.large
    ]
    for response, (service, filters) in zip(recorded, expected_requests, strict=True):
        stubber.add_response(
            "get_products",
            response,
            {"ServiceCode": service, "Filters": filters, "FormatVersion": "aws_v1"},
        )
    source = _trimmed_table(tmp_path)
    with stubber:
        result = refresh.refresh_table(source, tmp_path / "new.yaml", lambda: client)
    stubber.assert_no_pending_responses()
    # The recorded answer for m5.large is empty: its price is kept too.
    assert result.kept == ["us-east-1/fargate.ephemeral_gb_hour", "us-east-1/ec2.m5.large"]
    table = load_table(tmp_path / "new.yaml").region("us-east-1")
    assert table.instance("t3.small").hourly.usd == Decimal("0.021")  # from the response
    # The Spot product listed first is skipped: its usage type is not the on-demand one.
    assert table["fargate.vcpu_hour.x86_64"].usd == Decimal("0.04048")
    tiers = table["lambda.duration.x86_64"].tiers
    assert [(t.up_to, t.usd) for t in tiers][1] == (Decimal(15_000_000_000), Decimal("0.000015"))
    assert table["fargate.ephemeral_gb_hour"].date == "2026-11-28"  # no answer: kept as it was
    published = table["ecs_managed_instances.management_hour.t3.small"]
    assert (published.usd, published.basis, published.unit) == (
        Decimal("0.0025"), "list", "instance-hour",
    )  # fmt: skip
    assert "ecs_managed_instances.management_hour.m5.large" not in table.prices


def test_refresh_against_moto_server_fails_cleanly(
    synth: Synthesized,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        prices = _trimmed_table(tmp_path)
        before = prices.read_text()
        args = ["report", "--cdk-out", str(synth.outdir), "--prices", str(prices)]
        code = main([*args, "--refresh-prices", "--out", str(tmp_path / "r")])
    finally:
        server.stop()
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("launchlab: the AWS Price List API failed")
    assert prices.read_text() == before  # nothing half-written


def _bench_document(with_cloudwatch: bool) -> dict[str, Any]:
    """What `launchlab bench` writes (launchlab/aws/bench_deployed.py), for three endpoints."""

    def endpoint(launch_type: str, rps: float, cold: float) -> dict[str, Any]:
        return {
            "launch_type": launch_type, "url": "https://example", "path": "/",
            "requested": 200, "completed": 200, "errors": 0, "seconds": 4.0,
            "requests_per_second": rps, "p50_ms": 20.0, "p90_ms": 30.0, "p99_ms": 80.0,
            "max_ms": 120.0, "cold_responses": int(cold * 200),
            "stopped_by_time_limit": False, "cold_start_share": cold,
        }  # fmt: skip

    document: dict[str, Any] = {
        "schema": "launchlab-bench",
        "schema_version": 1,
        "measured_at": "2026-11-28T08:00:00+00:00",
        "region": "eu-west-1",
        "settings": {"requests": 200, "concurrency": 8, "seconds": 30, "path": "/"},
        "endpoints": {
            "LaunchlabEcsEc2": endpoint("ecs-ec2", 50.0, 0.0),
            "LaunchlabFargate": endpoint("fargate", 45.0, 0.0),
            "LaunchlabLambda": endpoint("lambda", 40.0, 0.04),
        },
    }
    if with_cloudwatch:
        document["cloudwatch"] = {
            "hours": 24,
            "metrics": {
                "LaunchlabEcsEc2.alb_request_count": 2000.0,
                "LaunchlabFargate.alb_request_count": 1000.0,
                "LaunchlabLambda.lambda_invocations": 600.0,
                "LaunchlabLambda.lambda_duration_ms_avg": 42.5,
                "LaunchlabEcsEc2.ecs_cpu_utilization_avg": 3.1,
            },
        }
    return document


def test_bench_figures_sit_beside_the_projection(synth: Synthesized, tmp_path: Path) -> None:
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(_bench_document(with_cloudwatch=False)))
    out = tmp_path / "out"
    assert main(["report", "--cdk-out", str(synth.outdir), "--bench", str(bench),
                 "--out", str(out)]) == 0  # fmt: skip
    document = json.loads((out / "report.json").read_text())
    measured = document["measured"]
    assert measured["measured_where"].startswith("on AWS in eu-west-1 at 2026-11-28T08:00")
    assert set(measured["launch_types"]) == {"ecs-ec2", "fargate", "lambda"}
    assert measured["launch_types"]["lambda"]["label"] == "LaunchlabLambda, cold starts 4.0%"
    markdown = (out / "report.md").read_text()
    assert "## Measured on AWS in eu-west-1" in markdown
    assert (
        "| fargate | LaunchlabFargate, cold starts 0.0% | 200 | 45 | 20.0 | 80.0 | 0 |" in markdown
    )
    # Without --traffic-from-bench the profile is still the preset's.
    assert document["profile"]["requests_per_month"] == PRESETS["hobby"].requests_per_month


def test_traffic_from_cloudwatch_prices_what_the_sandbox_served(
    synth: Synthesized, tmp_path: Path
) -> None:
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(_bench_document(with_cloudwatch=True)))
    out = tmp_path / "out"
    assert main(["report", "--cdk-out", str(synth.outdir), "--bench", str(bench),
                 "--traffic-from-bench", "--out", str(out)]) == 0  # fmt: skip
    profile = json.loads((out / "report.json").read_text())["profile"]
    # 3,600 requests in 24 h across the three endpoints, scaled to a 730-hour month.
    assert profile["requests_per_month"] == 3600 / 24 * 730
    assert profile["avg_duration_ms"] == 42.5


@pytest.mark.parametrize(
    ("document", "extra", "message"),
    [
        (None, [], "cannot read"),
        ({"schema": "something-else"}, [], "is not a result of `.venv/bin/launchlab bench`"),
        ("bench-without-cloudwatch", ["--traffic-from-bench"],
         "the bench result has no CloudWatch usage: run `.venv/bin/launchlab bench --cloudwatch`"),
    ],
)  # fmt: skip
def test_bench_input_errors_are_one_line(
    synth: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    document: Any,
    extra: list[str],
    message: str,
) -> None:
    bench = tmp_path / "bench.json"
    if document == "bench-without-cloudwatch":
        bench.write_text(json.dumps(_bench_document(with_cloudwatch=False)))
    elif document is not None:
        bench.write_text(json.dumps(document))
    code = main(["report", "--cdk-out", str(synth.outdir), "--bench", str(bench), *extra,
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("launchlab: ") and message in err and err.count("\n") == 1


# --- Unlimited CPU credits ------------------------------------------------------------------
# 36M requests a month of 200 ms at a quarter of that on CPU: 36e6 x 0.2 s x 0.25 / 3600 =
# 500 vCPU-hours used. One instance (the task capacity is set high: one task), 730 h x 2 vCPU
# x its baseline is what the credits cover; the rest bills at the unlimited-mode rate.
BUSY = TrafficProfile("busy", 36_000_000, 200, 0)
# The same requests, a third of them in two peak hours a day: the same CPU in all.
PEAKY = dataclasses.replace(BUSY, shape="peaky", peak_to_average=3.0, peak_hours_per_day=2.0)
ONE_TASK = Assumptions(task_capacity_rps=1000)


def _ec2_unlimited(instance_type: str) -> Inventory:
    tasks = Tasks(1024, 1024, "x86_64", False, 1, 4, False, 20, Scaling("cpu", 60, 60), 60)
    instances = Instances(instance_type, 1, 4, 30, "gp3", False, "unlimited")
    return only(LaunchType("ecs-ec2", ("E",), 1, False, instances=instances, tasks=tasks))


@pytest.mark.parametrize("profile", [BUSY, PEAKY], ids=["steady", "peaky"])
def test_unlimited_credits_bill_the_cpu_above_the_baseline(
    us_east_1: RegionPrices, profile: TrafficProfile
) -> None:
    # t3.small: 20% of each of 2 vCPUs (EC2 User Guide, baseline utilization per vCPU):
    # 730 x 2 x 0.2 = 292 vCPU-hours covered, 208 surplus at $0.05 (x86_64): $10.40.
    found = estimate(_ec2_unlimited("t3.small"), "ecs-ec2", us_east_1, profile, ONE_TASK)
    assert found.sizing["cpu_vcpu_hours"] == pytest.approx(500)
    assert found.sizing["cpu_baseline_vcpu_hours"] == pytest.approx(292)
    [surplus] = [i for i in found.items if i.kind == "EC2 CPU credits"]
    assert surplus.name == "EC2 surplus CPU credits (t3.small unlimited, baseline 20% per vCPU)"
    assert surplus.quantity == pytest.approx(Decimal(208))
    assert cents(surplus.usd) == Decimal("10.40")
    assert surplus.price == us_east_1["ec2.cpu_credits.x86_64"]
    assert found.warnings == [
        "t3.small runs in unlimited CPU-credit mode: CPU above 20% per vCPU (averaged over "
        "24 h) bills surplus credits at $0.05 per vCPU-hour; -c ec2CpuCredits=standard "
        "throttles at the baseline instead"
    ]


def test_unlimited_credits_per_family_and_size(us_east_1: RegionPrices) -> None:
    # t3a.medium: 20% of 2 vCPUs, like the t3; t3.large: 30% of 2 (438 covered, 62 surplus).
    t3a = estimate(_ec2_unlimited("t3a.medium"), "ecs-ec2", us_east_1, BUSY, ONE_TASK)
    [surplus] = [i for i in t3a.items if i.kind == "EC2 CPU credits"]
    assert surplus.quantity == pytest.approx(Decimal(208))
    large = estimate(_ec2_unlimited("t3.large"), "ecs-ec2", us_east_1, BUSY, ONE_TASK)
    [surplus] = [i for i in large.items if i.kind == "EC2 CPU credits"]
    assert surplus.quantity == pytest.approx(Decimal(62))
    assert "baseline 30% per vCPU" in surplus.name
    # t4g.small on Graviton: the arm64 rate, $0.04.
    arm = estimate(_ec2_unlimited("t4g.small"), "ecs-ec2", us_east_1, BUSY, ONE_TASK)
    [surplus] = [i for i in arm.items if i.kind == "EC2 CPU credits"]
    assert cents(surplus.usd) == Decimal("8.32")  # 208 x $0.04
    # Less CPU than the baseline covers: a zero line, not a negative one.
    quiet = dataclasses.replace(BUSY, requests_per_month=3_600_000)  # 50 vCPU-hours
    idle = estimate(_ec2_unlimited("t3.small"), "ecs-ec2", us_east_1, quiet, ONE_TASK)
    assert [i.usd for i in idle.items if i.kind == "EC2 CPU credits"] == [Decimal(0)]


def test_unlimited_credits_of_a_type_without_a_known_baseline_are_not_priced(
    us_east_1: RegionPrices,
) -> None:
    found = estimate(_ec2_unlimited("m5.large"), "ecs-ec2", us_east_1, BUSY, ONE_TASK)
    assert not [i for i in found.items if i.kind == "EC2 CPU credits"]
    assert found.warnings == [
        "m5.large runs in unlimited CPU-credit mode and its baseline is not known here: "
        "surplus CPU credits are not priced"
    ]
    assert "cpu_vcpu_hours" not in found.sizing


# --- Each rule on a small inventory, by hand ---------------------------------------------------
# Quick (no synth, no CLI): what `make mutate` runs for the cost model. us-east-1 list prices
# (launchlab/prices/aws.yaml), a 730-hour month.


def _function(front_door: str, *, reserved: int | None = None, timeout: int = 10) -> Inventory:
    function = Function(512, "x86_64", timeout, reserved, front_door)
    return only(LaunchType("lambda", ("L",), 1, False, function=function))


def _named(found: Any, name: str) -> LineItem:
    [line] = [i for i in found.items if i.name == name]
    return line  # type: ignore[no-any-return]


def test_lambda_behind_an_http_api_line_by_line(us_east_1: RegionPrices) -> None:
    # 2M requests of 100 ms at 512 MB: 100,000 GB-s, inside the 400,000 free; 1M requests
    # past the free million at $0.20/M; 600 KB each: two 512 KB HTTP API meters, 4M at $1/M;
    # 1,144.4 GB out, 100 free, at $0.09.
    profile = TrafficProfile("api", 2_000_000, 100, 600)
    found = estimate(_function("http-api"), "lambda", us_east_1, profile, FREE)
    duration = _named(found, "Lambda duration (512 MB x86_64)")
    assert (duration.quantity, duration.usd, duration.kind) == (0, 0, "Lambda duration")
    assert duration.note == "100,000 GB-s, after the monthly free tier"
    requests = _named(found, "Lambda requests")
    assert (requests.quantity, cents(requests.usd)) == (Decimal(1_000_000), Decimal("0.20"))
    assert (requests.note, requests.kind) == ("after the monthly free tier", "Lambda requests")
    api = _named(found, "API Gateway HTTP API requests")
    assert (api.quantity, cents(api.usd)) == (Decimal(4_000_000), Decimal("4.00"))
    assert api.unit == "request" and api.kind == "API Gateway HTTP API requests"
    out = _named(found, "Data transfer out to the internet")
    assert out.note == "1,144.4 GB, first 100 GB free" and out.kind == "Data transfer out"
    assert cents(out.usd) == Decimal("94.00")  # 1,044.41 GB x $0.09
    assert not [i for i in found.items if i.name == "Function URL"]
    assert found.sizing["gb_seconds"] == 100_000.0
    assert found.sizing["peak_concurrency"] == pytest.approx(2_000_000 / 2_628_000 * 0.1)
    assert found.warnings == []
    # Without the free tier: 100,000 GB-s x $0.0000166667, 2M x $0.20/M, all 1,144.4 GB.
    paid = estimate(_function("http-api"), "lambda", us_east_1, profile, Assumptions(False))
    duration = _named(paid, "Lambda duration (512 MB x86_64)")
    assert cents(duration.usd) == Decimal("1.67")
    assert duration.note == "100,000 GB-s, no free tier"
    assert _named(paid, "Lambda requests").note == "no free tier"
    assert cents(_named(paid, "Lambda requests").usd) == Decimal("0.40")
    assert _named(paid, "Data transfer out to the internet").note == "1,144.4 GB"
    assert cents(_named(paid, "Data transfer out to the internet").usd) == Decimal("103.00")


def test_lambda_behind_a_function_url_pays_nothing_for_it(us_east_1: RegionPrices) -> None:
    profile = TrafficProfile("url", 2_000_000, 100, 1)
    found = estimate(_function("function-url"), "lambda", us_east_1, profile, FREE)
    url = LineItem(
        "Function URL", Decimal(2_000_000), "request", Decimal(0), note="no charge",
        kind="Function URL",
    )  # fmt: skip
    assert [i for i in found.items if i.kind == "Function URL"] == [url]
    assert not [i for i in found.items if i.name.startswith("API Gateway")]
    # Just past the free tier: 400,002 GB-s billed as 2, not as 0 or 3.
    busier = dataclasses.replace(profile, requests_per_month=8_000_040)
    found = estimate(_function("function-url"), "lambda", us_east_1, busier, FREE)
    assert _named(found, "Lambda duration (512 MB x86_64)").quantity == Decimal(2)


def test_lambda_warnings_name_the_limit_the_load_hits(us_east_1: RegionPrices) -> None:
    # 10M requests of 1 s: 3.8 in flight on average; 5 billion: 1,903.
    steady = TrafficProfile("s", 10_000_000, 1000, 1)
    capped = estimate(_function("function-url", reserved=2), "lambda", us_east_1, steady, FREE)
    assert capped.warnings == [
        "peak concurrency 3.8 exceeds the reserved concurrency of 2: requests would be "
        "throttled (429)"
    ]
    roomy = estimate(_function("function-url", reserved=4), "lambda", us_east_1, steady, FREE)
    assert roomy.warnings == []
    flood = dataclasses.replace(steady, requests_per_month=5_000_000_000)
    quota = estimate(_function("function-url"), "lambda", us_east_1, flood, FREE)
    assert quota.warnings == [
        "peak concurrency 1903 exceeds the default account quota of 1000: request a quota increase"
    ]
    # 45 s requests: past an HTTP API's 30 s cap whatever the function's timeout.
    slow = TrafficProfile("slow", 1000, 45_000, 1)
    api = estimate(_function("http-api", timeout=60), "lambda", us_east_1, slow, FREE)
    assert api.warnings == ["requests of 45000 ms exceed the 30 s limit"]
    url = estimate(_function("function-url", timeout=60), "lambda", us_east_1, slow, FREE)
    assert url.warnings == []
    short = estimate(_function("function-url", timeout=40), "lambda", us_east_1, slow, FREE)
    assert short.warnings == ["requests of 45000 ms exceed the 40 s limit"]


def _fargate(tasks: Tasks) -> Inventory:
    return only(LaunchType("fargate", ("F",), 1, False, tasks=tasks))


def test_fargate_spot_arm_with_storage_and_a_public_ip_line_by_line(
    us_east_1: RegionPrices,
) -> None:
    # One 0.5 vCPU / 1 GB task for 730 h, Spot on Graviton: 365 vCPU-h x $0.00996372,
    # 730 GB-h x $0.00109414; 50 GiB of storage, 30 past the free 20: 21,900 GB-h x
    # $0.000111; its public IPv4 730 h x $0.005.
    tasks = Tasks(512, 1024, "arm64", True, 1, 2, True, 50, Scaling("cpu", 60, 60), 60)
    found = estimate(_fargate(tasks), "fargate", us_east_1, NO_TRAFFIC, FREE)
    label = "0.5 vCPU / 1 GB arm64 Spot"
    vcpu = _named(found, f"Fargate vCPU ({label})")
    assert (vcpu.quantity, cents(vcpu.usd), vcpu.kind) == (365, Decimal("3.64"), "Fargate vCPU")
    assert vcpu.price == us_east_1["fargate_spot.vcpu_hour.arm64"]
    memory = _named(found, f"Fargate memory ({label})")
    assert (memory.quantity, cents(memory.usd)) == (730, Decimal("0.80"))
    assert memory.kind == "Fargate memory"
    assert memory.price == us_east_1["fargate_spot.gb_hour.arm64"]
    storage = _named(found, "Fargate ephemeral storage over 20 GB")
    assert (storage.quantity, cents(storage.usd)) == (21_900, Decimal("2.43"))
    address = _named(found, "Public IPv4 (Fargate tasks)")
    assert (address.quantity, cents(address.usd)) == (730, Decimal("3.65"))
    assert address.kind == "Public IPv4"
    assert found.sizing["task_hours"] == 730.0
    # On-demand x86, 20 GiB, no public IP: only the two compute lines.
    plain = dataclasses.replace(tasks, architecture="x86_64", spot=False, public_ip=False,
                                ephemeral_gib=20)  # fmt: skip
    found = estimate(_fargate(plain), "fargate", us_east_1, NO_TRAFFIC, FREE)
    assert [i.name for i in found.items if i.name.startswith(("Fargate", "Public"))] == [
        "Fargate vCPU (0.5 vCPU / 1 GB x86_64)",
        "Fargate memory (0.5 vCPU / 1 GB x86_64)",
    ]
    assert (
        _named(found, "Fargate vCPU (0.5 vCPU / 1 GB x86_64)").price
        == (us_east_1["fargate.vcpu_hour.x86_64"])
    )


def _ec2(tasks: Tasks, instances: Instances) -> Inventory:
    return only(LaunchType("ecs-ec2", ("E",), 1, False, instances=instances, tasks=tasks))


TASK_1024 = Tasks(1024, 1024, "x86_64", False, 1, 4, False, 20, Scaling("cpu", 60, 60), 60)


def test_ecs_on_ec2_instances_volumes_and_addresses_line_by_line(us_east_1: RegionPrices) -> None:
    # A 1 vCPU / 1 GiB task on t3.small (2 vCPU, 2 GiB, 90% of it for tasks: one fits by
    # memory): one instance, 730 h x $0.0208; a 30 GiB gp2 root volume priced as gp3,
    # 30 GB-month x $0.08; the instance's public IPv4, 730 h x $0.005.
    instances = Instances("t3.small", 1, 2, 30, "gp2", True, "standard")
    found = estimate(_ec2(TASK_1024, instances), "ecs-ec2", us_east_1, NO_TRAFFIC, FREE)
    ec2 = _named(found, "EC2 t3.small (2 vCPU, 2 GiB, 1 tasks each)")
    assert (ec2.quantity, cents(ec2.usd), ec2.kind) == (730, Decimal("15.18"), "EC2 instances")
    volume = _named(found, "EBS gp2 root volumes (30 GiB each)")
    assert (volume.quantity, cents(volume.usd), volume.kind) == (30, Decimal("2.40"), "EBS volumes")
    address = _named(found, "Public IPv4 (EC2 instances)")
    assert (cents(address.usd), address.kind) == (Decimal("3.65"), "Public IPv4")
    assert found.warnings == ["EBS gp2 priced at the gp3 rate"]
    assert (found.sizing["tasks_per_instance"], found.sizing["instances_by_level"]) == (1, [1])
    assert found.sizing["instance_hours"] == 730.0
    assert not [i for i in found.items if i.kind == "EC2 CPU credits"]  # standard mode
    # Half the memory: two tasks fit by memory and by CPU.
    small = dataclasses.replace(TASK_1024, memory_mib=512)
    found = estimate(_ec2(small, instances), "ecs-ec2", us_east_1, NO_TRAFFIC, FREE)
    assert found.sizing["tasks_per_instance"] == 2


def test_ecs_on_ec2_warns_when_the_load_outgrows_the_template(us_east_1: RegionPrices) -> None:
    # One request a second per task, 100 a second: 100 tasks, one per instance.
    instances = Instances("t3.small", 1, 2, 30, "gp3", False, "standard")
    busy = TrafficProfile("busy", 262_800_000, 100, 1)
    found = estimate(
        _ec2(TASK_1024, instances), "ecs-ec2", us_east_1, busy, Assumptions(task_capacity_rps=1)
    )
    assert found.warnings == [
        "the load needs 100 tasks but the template allows at most 4: priced at 100; raise the "
        "max task count to serve it",
        "the tasks need 100 instances but the Auto Scaling group allows at most 2: priced at 100",
    ]
    assert found.sizing["instances_by_level"] == [100]
    big = dataclasses.replace(TASK_1024, cpu_units=4096)
    with pytest.raises(LaunchlabError) as error:
        estimate(_ec2(big, instances), "ecs-ec2", us_east_1, NO_TRAFFIC, FREE)
    assert str(error.value) == (
        "a task of 4096 cpu / 1024 MiB does not fit on t3.small (2 vCPU, 2 GiB)"
    )


def test_task_capacity_says_where_it_comes_from() -> None:
    profile = TrafficProfile("t", 1000, 200, 1)
    assert task_capacity(TASK_1024, profile, Assumptions(task_capacity_rps=5)) == (
        5, "set with --task-capacity-rps",
    )  # fmt: skip
    by_requests = dataclasses.replace(TASK_1024, scaling=Scaling("requests", 600, 60))
    assert task_capacity(by_requests, profile, FREE) == (
        10.0, "the template scales at 600 requests/task/minute",
    )  # fmt: skip
    # 1 vCPU x 1000 / (200 ms x 0.25) x 50% = 10 req/s.
    at_half = dataclasses.replace(TASK_1024, scaling=Scaling("cpu", 50, 60))
    assert task_capacity(at_half, profile, FREE) == (
        10.0,
        "1 vCPU x 1000/(200 ms x 0.25 CPU share) x 50% CPU target = 10 req/s per task "
        "(--cpu-share, --task-capacity-rps to change)",
    )
    # Scaled on memory: the CPU alone would allow 100% of it.
    by_memory = dataclasses.replace(TASK_1024, cpu_units=2048, scaling=Scaling("memory", 50, 60))
    rps, why = task_capacity(by_memory, profile, FREE)
    assert rps == 40.0 and "2 vCPU x 1000/" in why and "x 100% CPU target = 40 req/s" in why
    with pytest.raises(LaunchlabError, match=r"^--task-capacity-rps must be greater than 0$"):
        estimate(
            _fargate(TASK_1024), "fargate", load_table().region("us-east-1"), profile,
            Assumptions(task_capacity_rps=0),
        )  # fmt: skip


def test_the_vpc_logs_balancer_and_registry_line_by_line(us_east_1: RegionPrices) -> None:
    # 10M requests a month; an app log group kept 30 days, a function's never expiring, an
    # access log kept 14, one of another role; a NAT gateway with its Elastic IP, 4 AZs of
    # interface endpoints; an internet-facing ALB in 2 AZs; a repository keeping 10 images.
    groups = (
        LogGroup("AppLogs", "S", 30, "app"),
        LogGroup("FnLogs", "S", None, "function"),
        LogGroup("Access", "S", 14, "access"),
        LogGroup("Other", "S", 7, "other"),
    )
    unit = LaunchType(
        "fargate", ("F",), 1, True, tasks=TASK_1024, log_groups=groups,
        load_balancers=(LoadBalancer("Alb", 2, 60, 0),),
        repositories=(Repository("Repo", "launchlab/app", None),),
        egress=Egress(nat_gateways=1, interface_endpoints=(("ecr.api", 2), ("logs", 2))),
    )  # fmt: skip
    inventory = Inventory(Network(1, 1, 4, 2), (), (), 0, {"fargate": unit})
    profile = TrafficProfile("logs", 10_000_000, 100, 0)
    found = estimate(inventory, "fargate", us_east_1, profile, Assumptions(task_capacity_rps=100))
    usd = {i.name: cents(i.usd) for i in found.items}
    # app: 10M x 200 B = 1.8626 GB at $0.50, kept 30/365 of a year: 1.8371 GB-month at $0.03.
    assert usd["CloudWatch Logs ingestion (app)"] == Decimal("0.93")
    assert usd["CloudWatch Logs storage (app, 30 days kept)"] == Decimal("0.06")
    # function: 200 + 500 B a request = 6.5193 GB, kept 12 months.
    assert usd["CloudWatch Logs ingestion (function)"] == Decimal("3.26")
    assert usd["CloudWatch Logs storage (function, no days kept)"] == Decimal("2.35")
    # access: 250 B = 2.3283 GB, 14 days.
    assert usd["CloudWatch Logs ingestion (access)"] == Decimal("1.16")
    assert usd["CloudWatch Logs storage (access, 14 days kept)"] == Decimal("0.03")
    assert not [name for name in usd if "(other" in name]
    assert found.warnings == ["log group FnLogs never expires: storage grows"]
    # The VPC: NAT 730 h x $0.045, the logs it carries (10.71 GB) at $0.045, its address,
    # 4 x 730 endpoint-hours at $0.01.
    assert usd["NAT gateway hours (shared VPC)"] == Decimal("32.85")
    assert usd["NAT gateway data (logs)"] == Decimal("0.48")
    assert usd["Public IPv4 (NAT, 1 Elastic IPs)"] == Decimal("3.65")
    assert usd["Interface VPC endpoint ecr.api (2 AZs)"] == Decimal("14.60")
    assert usd["Interface VPC endpoint logs (2 AZs)"] == Decimal("14.60")
    shared = {i.name for i in found.items if i.shared}
    assert shared == {
        "NAT gateway hours (shared VPC)", "Public IPv4 (NAT, 1 Elastic IPs)",
        "Interface VPC endpoint ecr.api (2 AZs)", "Interface VPC endpoint logs (2 AZs)",
        "ECR storage (launchlab/app, 10 images)",
    }  # fmt: skip
    kinds = {i.name: i.kind for i in found.items}
    assert kinds["NAT gateway data (logs)"] == "NAT gateway data"
    assert kinds["CloudWatch Logs storage (app, 30 days kept)"] == "CloudWatch Logs storage"
    assert kinds["CloudWatch Logs ingestion (app)"] == "CloudWatch Logs ingestion"
    assert kinds["Public IPv4 (NAT, 1 Elastic IPs)"] == "Public IPv4"
    assert kinds["Interface VPC endpoint logs (2 AZs)"] == "Interface VPC endpoints"
    # The ALB: 730 h x $0.0225 and its 2 addresses; the registry: 10 images x 0.1 GB.
    assert usd["ALB hours"] == Decimal("16.43")
    assert usd["Public IPv4 (ALB, 2 AZs)"] == Decimal("7.30")
    assert kinds["Public IPv4 (ALB, 2 AZs)"] == "Public IPv4"
    ecr = _named(found, "ECR storage (launchlab/app, 10 images)")
    assert (ecr.quantity, ecr.kind, ecr.unit) == (Decimal("1.0"), "ECR storage", "GB-month")
    # A launch type whose workloads route through no egress of the VPC (public IPs, or no
    # VPC at all) pays none of it, whatever else the VPC holds.
    alone = dataclasses.replace(unit, egress=Egress())
    found = estimate(
        Inventory(Network(1, 1, 4, 2), (), (), 0, {"fargate": alone}), "fargate", us_east_1,
        profile, Assumptions(task_capacity_rps=100),
    )  # fmt: skip
    assert not [i for i in found.items if i.shared and not i.name.startswith("ECR")]


def test_the_edges_of_each_rule(us_east_1: RegionPrices) -> None:
    # Fewer requests than the free million: no billed requests (not one).
    few = estimate(_function("function-url"), "lambda", us_east_1, NO_TRAFFIC, FREE)
    assert _named(few, "Lambda requests").quantity == 0
    # A 1 KB payload is one HTTP API meter a request.
    small = TrafficProfile("small", 2_000_000, 100, 1)
    api = estimate(_function("http-api"), "lambda", us_east_1, small, FREE)
    assert _named(api, "API Gateway HTTP API requests").quantity == 2_000_000
    # One request a second of 2 s: 2 in flight, exactly the reserved 2: no warning; 1,000 in
    # flight is the quota, not past it; 30 s requests fit an HTTP API, 30.001 s do not.
    one_rps = TrafficProfile("1/s", 2_628_000, 2000, 1)
    exact = estimate(_function("function-url", reserved=2), "lambda", us_east_1, one_rps, FREE)
    assert exact.warnings == []
    quota = dataclasses.replace(one_rps, requests_per_month=1_314_000_000)
    assert estimate(_function("function-url"), "lambda", us_east_1, quota, FREE).warnings == []
    thirty = TrafficProfile("30s", 1000, 30_000, 1)
    assert estimate(_function("http-api", timeout=60), "lambda", us_east_1, thirty, FREE)\
        .warnings == []  # fmt: skip
    over = dataclasses.replace(thirty, avg_duration_ms=30_030)
    assert estimate(_function("http-api", timeout=60), "lambda", us_east_1, over, FREE)\
        .warnings == ["requests of 30030 ms exceed the 30 s limit"]  # fmt: skip
    # Two tasks at 1 request a second when a task serves half of one.
    half = Assumptions(task_capacity_rps=0.5)
    found = estimate(_fargate(TASK_1024), "fargate", us_east_1, one_rps, half)
    assert found.sizing["tasks_by_level"] == [2]
    # Exactly as many instances as the group allows: no warning.
    instances = Instances("t3.small", 1, 1, 30, "gp3", False, "standard")
    full = estimate(_ec2(TASK_1024, instances), "ecs-ec2", us_east_1, NO_TRAFFIC, FREE)
    assert full.warnings == [] and full.sizing["instances_by_level"] == [1]


@pytest.mark.parametrize(
    ("cpu", "memory", "fit"),
    [
        # t3.small: 2048 cpu units; 2 GiB x 1024 x 0.9 = 1843.2 MiB for tasks.
        (683, 256, 2),  # 2048 / 683 = 2.998: two, not three
        (256, 615, 2),  # 1843.2 / 615 = 2.997: two, not three
        (512, 512, 3),
        (1024, 256, 2),
    ],
)
def test_tasks_per_instance_by_cpu_and_memory(
    us_east_1: RegionPrices, cpu: int, memory: int, fit: int
) -> None:
    tasks = dataclasses.replace(TASK_1024, cpu_units=cpu, memory_mib=memory)
    instances = Instances("t3.small", 1, 2, 30, "gp3", False, "standard")
    found = estimate(_ec2(tasks, instances), "ecs-ec2", us_east_1, NO_TRAFFIC, FREE)
    assert found.sizing["tasks_per_instance"] == fit


def test_two_nat_gateways_and_elastic_ips(us_east_1: RegionPrices) -> None:
    groups = (LogGroup("AppLogs", "S", 30, "app"), LogGroup("Other", "S", 7, "other"))
    unit = LaunchType(
        "fargate", ("F",), 1, True, tasks=TASK_1024, log_groups=groups,
        egress=Egress(nat_gateways=2),
    )  # fmt: skip
    inventory = Inventory(Network(2, 2, 0, 2), (), (), 0, {"fargate": unit})
    profile = TrafficProfile("logs", 10_000_000, 100, 0)
    found = estimate(inventory, "fargate", us_east_1, profile, Assumptions(task_capacity_rps=100))
    nat = _named(found, "NAT gateway hours (shared VPC)")
    assert (nat.quantity, cents(nat.usd), nat.kind) == (1460, Decimal("65.70"), "NAT gateway hours")
    assert _named(found, "Public IPv4 (NAT, 2 Elastic IPs)").quantity == 1460
    # Only the app's 200 B a request go out through NAT; the other group's role writes none.
    data = _named(found, "NAT gateway data (logs)")
    assert data.quantity == Decimal(10_000_000 * 200) / 1024**3
    assert (data.note, nat.note) == ("", "")
    assert not [i for i in found.items if i.name.startswith("Interface VPC endpoints")]


def test_a_quantity_given_as_a_float_is_kept_as_written(us_east_1: RegionPrices) -> None:
    found = Estimate("x", NO_TRAFFIC)
    found.add("Some GB", 0.1, us_east_1["logs.ingest_gb"])
    [line] = found.items
    assert (line.quantity, line.usd, line.unit, line.kind) == (
        Decimal("0.1"), Decimal("0.050"), "GB", "Some GB",
    )  # fmt: skip
    assert (line.note, line.shared) == ("", False)


def test_an_estimate_says_what_it_priced_and_on_what_capacity(us_east_1: RegionPrices) -> None:
    one_rps = TrafficProfile("1/s", 2_628_000, 100, 1)
    # A quarter of a request a second per task, 1 a second: exactly the 4 tasks allowed.
    found = estimate(_fargate(TASK_1024), "fargate", us_east_1, one_rps,
                     Assumptions(task_capacity_rps=0.25))  # fmt: skip
    assert found.launch_type == "fargate"
    assert found.sizing["tasks_by_level"] == [4] and found.warnings == []
    assert found.sizing["task_capacity_assumption"] == "set with --task-capacity-rps"
    unit = LaunchType("fargate", ("LaunchlabFargate", "LaunchlabNetwork"), 1, False)
    with pytest.raises(LaunchlabError) as missing:
        estimate(only(unit), "fargate", us_east_1, one_rps, FREE)
    assert str(missing.value) == (
        "LaunchlabFargate, LaunchlabNetwork: the template has no ECS service to price"
    )


def test_alb_rule_evaluations_count_only_past_ten_rules() -> None:
    # 100 requests a connection: new connections are 0.4/s (0.016 LCU) at 40 req/s; ten rules
    # evaluate for free, so that dimension adds nothing either.
    profile = TrafficProfile("keep-alive", 0, 1, 0)
    per_connection = Assumptions(requests_per_connection=100)
    assert lcu(40, profile, 10, per_connection) == pytest.approx(0.016)
    assert lcu(40, profile, 11, per_connection) == pytest.approx(0.04)  # 40 evaluations/s
