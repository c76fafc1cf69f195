"""A verdict a team can act on: complete prices (estimates marked), the instance each launch
type would use, like-for-like availability, commitments and Spot mixes, ties called ties, and
no silent traps in the profile or the output. Each figure is recomputed by hand from the price
table; the team lead's case (tests/data/team-lead.yaml, tests/conftest.py TEAM_LEAD_CONTEXT) is
priced from its own synthesized templates."""

from __future__ import annotations

import dataclasses
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from botocore.stub import Stubber
from rich.console import Console

from launchlab.assembly import Assembly
from launchlab.errors import LaunchlabError
from launchlab.report import availability, refresh, render
from launchlab.report.cost import Assumptions, cents, estimate
from launchlab.report.inventory import (
    Instances,
    Inventory,
    LaunchType,
    Network,
    Scaling,
    Tasks,
    read_inventory,
)
from launchlab.report.model import Report, build_report, to_json
from launchlab.report.prices import DEFAULT_TABLE, RegionPrices, load_table
from launchlab.report.profile import PRESETS, TrafficProfile, build_profile
from launchlab.report.rules import ecs_managed_instances
from launchlab.report.verdict import Sensitivity, find_tie
from stacks import instance_types
from stacks.config import MI_EXCLUDED_SIZES, ConfigError, LaunchlabConfig
from tests.conftest import Synthesized, cdk_context

SCHEMA = json.loads((DEFAULT_TABLE.parent.parent / "report" / "schema.json").read_text())
DATA = Path(__file__).parent / "data"
HOURS = Decimal(730)
IDLE = TrafficProfile("idle", 0, 100, 0)
TASK = Tasks(256, 512, "arm64", False, 1, 8, False, 20, Scaling("cpu", 60, 60), 60)


def inventory_of(app: Synthesized) -> Inventory:
    return read_inventory(Assembly(outdir=app.outdir, templates=app.templates))


@pytest.fixture(scope="module")
def us_east_1() -> RegionPrices:
    return load_table().region("us-east-1")


@pytest.fixture(scope="module")
def eu_west_1() -> RegionPrices:
    return load_table().region("eu-west-1")


def _mi(instance_type: str, tasks: Tasks = TASK) -> Inventory:
    instances = Instances(instance_type, 0, 8, 30, "gp3", False, zones=2, spread_zones=True,
                          awsvpc_trunking=True)  # fmt: skip
    unit = LaunchType("ecs-managed-instances", ("M",), 1, False, instances=instances, tasks=tasks)
    return Inventory(Network(0, 0, 0, 0), (), (), 0, {unit.launch_type: unit})


def _kind(found: Any, kind: str) -> Decimal:
    return sum((i.usd for i in found.items if i.kind == kind), Decimal(0))


# --- 1. Complete prices -----------------------------------------------------------------------


def test_the_managed_instances_fee_is_published_estimated_or_a_marked_lower_bound(
    us_east_1: RegionPrices,
) -> None:
    """AWS's example (c6a.2xlarge, $0.037 an instance-hour on the ECS pricing page) is a list
    price; any other type is 12% of its on-demand price (AWS's calculator), an estimate; a
    table with neither leaves the fee out and the total a lower bound, said everywhere."""
    published = estimate(
        _mi("c6a.2xlarge"), "ecs-managed-instances", us_east_1, IDLE, Assumptions()
    )
    assert _kind(published, "ECS Managed Instances management fee") == HOURS * Decimal("0.037")
    assert published.basis == "list"
    guessed = estimate(_mi("m7g.large"), "ecs-managed-instances", us_east_1, IDLE, Assumptions())
    fee = [i for i in guessed.items if i.kind == "ECS Managed Instances management fee"]
    assert [i.usd for i in fee] == [HOURS * Decimal("0.0816") * Decimal("0.12")]
    assert fee[0].price is not None and fee[0].price.basis == "estimate"
    assert fee[0].name.endswith("(estimate: 12% of on-demand)")
    assert guessed.basis == "estimate"
    without = dataclasses.replace(
        us_east_1,
        prices={
            k: v for k, v in us_east_1.prices.items() if k != ecs_managed_instances.FEE_ESTIMATE_KEY
        },
    )
    bound = estimate(_mi("m7g.large"), "ecs-managed-instances", without, IDLE, Assumptions())
    assert bound.basis == "lower bound" and not _kind(bound, "ECS Managed Instances management fee")
    assert any("a lower bound" in w for w in bound.warnings)


def test_a_lower_bound_or_an_estimate_is_never_named_without_saying_so(
    synth: Synthesized, opt_in_synth: Synthesized, us_east_1: RegionPrices
) -> None:
    both = _six(synth, opt_in_synth)
    # At zero traffic ECS Managed Instances carries its estimated fee.
    report = build_report("x", both, load_table(), "us-east-1", PRESETS["idle"], Assumptions())
    words = report.verdict
    assert words.basis["ecs-managed-instances"] == "estimate"
    text = "\n".join(line for block in render.verdict_blocks(report) for line in block)
    assert "* includes an estimated price: ECS Managed Instances" in text
    notes = "\n".join(render.notes(report))
    assert "* ECS Managed Instances includes an estimate: ECS Managed Instances management fee" in (
        notes
    )
    row = next(r for r in render.overview_rows(report) if r[0] == "ECS Managed Instances")
    assert row[1].endswith("*")
    # Without the estimate the total is a lower bound, and the headline says "at least".
    table = load_table()
    raw = dict(table.raw)
    regions = json.loads(json.dumps(raw["regions"]))
    del regions["us-east-1"]["prices"][ecs_managed_instances.FEE_ESTIMATE_KEY]
    bare = dataclasses.replace(table, raw={**raw, "regions": regions})
    pair = ("ecs-managed-instances", "lambda-managed-instances")
    only_mi = dataclasses.replace(both, launch_types={k: both.launch_types[k] for k in pair})
    lower = build_report("x", only_mi, bare, "us-east-1", PRESETS["idle"], Assumptions())
    assert lower.verdict.cheapest == "ecs-managed-instances"
    headline = render.verdict_headline(lower.verdict)
    total = cents(lower.estimates["ecs-managed-instances"].total)
    assert (
        f"ECS Managed Instances is cheapest (${total}/month or more: a charge is not priced)"
        in (headline)
    )
    document = to_json(lower)
    jsonschema.validate(document, SCHEMA)
    assert document["verdict"]["basis"]["ecs-managed-instances"] == "lower bound"
    assert document["launch_types"][0]["lower_bound"]


def test_inbound_data_is_free_and_alarms_past_the_free_ten_are_billed(
    synth: Synthesized, us_east_1: RegionPrices
) -> None:
    """10M requests of 20 KB, 4 KB of it the request: only 16 KB a request goes out, and the
    Fargate service's target-tracking policy has two alarms, free with the free tier and
    $0.10 a month each without it."""
    inventory = inventory_of(synth)
    profile = TrafficProfile("split", 10_000_000, 50, 20, request_kb=4)
    found = estimate(inventory, "fargate", us_east_1, profile, Assumptions(free_tier=False))
    out_gb = Decimal(10_000_000 * 16 * 1024) / 1024**3
    assert _kind(found, "Data transfer out") == us_east_1["dto.internet_gb"].cost(out_gb)
    assert inventory.launch_types["fargate"].alarms == 2
    assert _kind(found, "CloudWatch alarms") == 2 * Decimal("0.10")
    free = estimate(inventory, "fargate", us_east_1, profile, Assumptions())
    alarms = [i for i in free.items if i.kind == "CloudWatch alarms"]
    assert [(i.quantity, i.usd) for i in alarms] == [(0, 0)] and "first 10 free" in alarms[0].note
    # ECS on EC2 adds its capacity provider's managed scaling (two more); Lambda has none.
    assert inventory.launch_types["ecs-ec2"].alarms == 4
    assert inventory.launch_types["lambda"].alarms == 0


# --- 2. The instance each launch type would really use ----------------------------------------


def test_network_interfaces_bound_managed_instances_tasks(us_east_1: RegionPrices) -> None:
    """ECS Managed Instances attach a trunk ENI where the type supports one: a m7g.large holds
    8 tasks of 0.25 vCPU (CPU-bound; its trunk has 9 branch interfaces); a t4g.small cannot
    trunk, so its 3 interfaces leave 2 tasks, not the 3 its memory would hold."""
    busy = TrafficProfile("busy", 262_800_000, 100, 1)
    assumptions = Assumptions(task_capacity_rps=10)  # 100 req/s: 10 tasks
    large = estimate(_mi("m7g.large"), "ecs-managed-instances", us_east_1, busy, assumptions)
    assert (large.sizing["tasks_per_instance"], large.sizing["instances_by_level"]) == (8, [2])
    small = estimate(_mi("t4g.small"), "ecs-managed-instances", us_east_1, busy, assumptions)
    assert small.sizing["tasks_per_instance"] == 2
    assert small.sizing["instances_by_level"] == [5]
    assert small.sizing["tasks_per_instance_limit"] == "2 network interfaces for tasks on t4g.small"


def test_the_opt_in_defaults_are_the_instances_each_launch_type_would_use() -> None:
    """ECS Managed Instances: the cheapest type in the table it launches (no nano or micro size)
    that holds the default task (CPU, memory with a tenth kept, an interface for the awsvpc
    task), in both bundled regions, its estimated fee included. Lambda Managed Instances at
    2 GiB per vCPU: the C family's ratio."""
    context = cdk_context()
    facts = instance_types.load()
    cpu, memory = context["ecsMiTaskCpu"], context["ecsMiTaskMemory"]
    for region in ("us-east-1", "eu-west-1"):
        prices = load_table().region(region)

        def hourly(name: str, prices: RegionPrices = prices) -> Decimal:
            fee = ecs_managed_instances.management_fee(name, prices)
            assert fee is not None
            return prices.instance(name).hourly.unit_usd + fee.unit_usd

        fits = [
            name
            for name, f in facts.items()
            if name in prices.instances
            and name.partition(".")[2] not in MI_EXCLUDED_SIZES
            and f.vcpu * 1024 >= cpu
            and float(f.memory_gib) * 1024 * 0.9 >= memory
            and (f.awsvpc_tasks(trunking=True) or 0) >= 1
        ]
        assert min(fits, key=hourly) == context["ecsMiInstanceType"], region
    lmi = facts[context["lmiInstanceType"]]
    assert context["lmiInstanceType"].startswith("c")
    assert lmi.memory_gib / lmi.vcpu == context["lmiMemoryPerVcpu"] == 2


def test_the_new_families_are_priced_in_both_regions_with_source_and_date() -> None:
    table = load_table()
    for region in ("us-east-1", "eu-west-1"):
        prices = table.region(region)
        for name in ("c7g.large", "c7g.xlarge", "c7i.large", "c8g.large", "m8g.large", "m7i.large"):
            hourly = prices.instance(name).hourly
            assert hourly.source.startswith("https://") and hourly.date and hourly.usd > 0
    # Graviton costs less than the Intel type of the same size, in both regions.
    for region in ("us-east-1", "eu-west-1"):
        prices = table.region(region)
        assert prices.instance("c7g.large").hourly.usd < prices.instance("c7i.large").hourly.usd


# --- 3. Like-for-like availability ------------------------------------------------------------


def test_multi_az_keeps_two_of_everything_that_has_a_minimum() -> None:
    config = LaunchlabConfig.from_context(cdk_context(availability="multi-az").get)
    assert config.ecs_ec2.min_instances == 2 and config.ecs_ec2.spread_zones
    assert config.ecs_ec2.scaling.min_count == 2 and config.fargate.scaling.min_count == 2
    assert config.opt_in.express.scaling.min_count == 2
    assert config.opt_in.ecs_managed_instances.scaling.min_count == 2
    sandbox = LaunchlabConfig.from_context(cdk_context().get)
    assert (sandbox.ecs_ec2.min_instances, sandbox.fargate.scaling.min_count) == (1, 1)
    with pytest.raises(ConfigError) as error:
        LaunchlabConfig.from_context(cdk_context(availability="multi-az", fargateMaxTasks=1).get)
    assert str(error.value) == (
        "config key 'fargateMaxTasks' has value 1; allowed: at least 2 with availability=multi-az"
    )
    with pytest.raises(
        ConfigError, match=r"'availability' has value 'ha'; allowed: sandbox, multi-az"
    ):
        LaunchlabConfig.from_context(cdk_context(availability="ha").get)


def test_the_report_says_which_availability_mode_it_priced(
    synth: Synthesized, team_lead: Synthesized
) -> None:
    sandbox = {lt: availability.of(u) for lt, u in inventory_of(synth).launch_types.items()}
    assert availability.mode(sandbox) == "sandbox"
    assert sandbox["ecs-ec2"].minimum == "1 instance in 1 zone, 1 task"
    assert sandbox["lambda"].multi_az
    assert "ECS on EC2 keeps 1 instance in 1 zone" in availability.sentence(sandbox)
    inventory = inventory_of(team_lead)
    both = {lt: availability.of(u) for lt, u in inventory.launch_types.items()}
    assert availability.mode(both) == "multi-az", both
    assert both["ecs-ec2"].minimum == "2 instances in 2 zones, 2 tasks"
    # The service spreads its tasks across zones first, then across instances.
    template = team_lead.template("LaunchlabEcsEc2")
    (service,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::Service"]
    assert service["Properties"]["PlacementStrategies"][0] == {
        "Field": "attribute:ecs.availability-zone", "Type": "spread",
    }  # fmt: skip


# --- 4. Commitments and Spot ------------------------------------------------------------------


def test_a_commitment_discounts_what_it_covers_and_nothing_else(
    synth: Synthesized, us_east_1: RegionPrices
) -> None:
    inventory = inventory_of(synth)
    profile = PRESETS["steady-small-business"]
    plain = estimate(inventory, "fargate", us_east_1, profile, Assumptions())
    three = estimate(
        inventory, "fargate", us_east_1, profile, Assumptions(commitment="compute-sp-3y")
    )
    for kind in ("Fargate vCPU", "Fargate memory"):
        assert _kind(three, kind) == _kind(plain, kind) * (1 - Decimal("0.52"))
        item = next(i for i in three.items if i.kind == kind)
        assert item.price is not None and item.price.basis == "estimate"
    for kind in ("ALB hours", "ALB LCU-hours", "Public IPv4", "CloudWatch Logs ingestion"):
        assert _kind(three, kind) == _kind(plain, kind)
    assert three.basis == "estimate"
    # EC2 hours: the EC2 share; Lambda duration: the Lambda share, never the requests.
    ec2 = estimate(
        inventory, "ecs-ec2", us_east_1, profile, Assumptions(commitment="compute-sp-3y")
    )
    assert _kind(ec2, "EC2 instances") == HOURS * Decimal("0.0208") * (1 - Decimal("0.66"))
    one = estimate(inventory, "lambda", us_east_1, profile, Assumptions(commitment="compute-sp-1y"))
    base = estimate(inventory, "lambda", us_east_1, profile, Assumptions())
    assert _kind(one, "Lambda duration") == _kind(base, "Lambda duration") * (1 - Decimal("0.12"))
    assert _kind(one, "Lambda requests") == _kind(base, "Lambda requests")
    # No 1-year rate for Fargate in the bundled table: on demand, and said.
    fargate_1y = estimate(
        inventory, "fargate", us_east_1, profile, Assumptions(commitment="compute-sp-1y")
    )
    assert _kind(fargate_1y, "Fargate vCPU") == _kind(plain, "Fargate vCPU")
    assert any("no compute-sp-1y rate for fargate" in w for w in fargate_1y.warnings)


def test_spot_mixes_split_tasks_and_instances_above_their_on_demand_base(
    variant: Synthesized, us_east_1: RegionPrices
) -> None:
    """fargateSpotShare=50 and ec2SpotShare=50 (tests/conftest.py VARIANT_CONTEXT): the first
    task and instance on demand, half of the rest on Spot."""
    inventory = inventory_of(variant)
    tasks = inventory.launch_types["fargate"].tasks
    assert tasks is not None and (tasks.on_demand_base, tasks.spot_fraction) == (1, 0.5)
    five = Assumptions(task_capacity_rps=1)  # 5 req/s steady: 5 tasks, 4 above the base
    busy = TrafficProfile("busy", 5 * 730 * 3600, 100, 1)
    found = estimate(inventory, "fargate", us_east_1, busy, five)
    assert found.sizing["tasks_by_level"] == [5]
    spot_hours = HOURS * 4 / 2  # 5 tasks: 1 on demand + 4 above it, half of them Spot
    vcpu = {i.name: i for i in found.items if i.kind == "Fargate vCPU"}
    spot = vcpu["Fargate vCPU (1 vCPU / 2 GB arm64 Spot)"]
    assert spot.quantity == spot_hours
    assert spot.price == us_east_1["fargate_spot.vcpu_hour.arm64"]
    assert vcpu["Fargate vCPU (1 vCPU / 2 GB arm64)"].quantity == 5 * HOURS - spot_hours
    instances = inventory.launch_types["ecs-ec2"].instances
    assert instances is not None and (instances.on_demand_base, instances.spot_share) == (1, 0.5)
    ec2 = estimate(inventory, "ecs-ec2", us_east_1, busy, Assumptions(task_capacity_rps=0.5))
    assert ec2.sizing["instances_by_level"] == [4]  # 10 tasks, 3 a t4g.small, 4 instances
    spot_line = next(i for i in ec2.items if i.kind == "EC2 Spot instances")
    assert spot_line.quantity == HOURS * 3 / 2
    # No Spot price in the bundled table: on demand, an upper bound, marked and said.
    assert spot_line.price is not None and spot_line.price.basis == "estimate"
    assert any("no Spot market price for t4g.small" in w for w in ec2.warnings)
    market = dataclasses.replace(
        us_east_1,
        prices={**us_east_1.prices, "ec2_spot.t4g.small": dataclasses.replace(
            us_east_1.instance("t4g.small").hourly, key="ec2_spot.t4g.small",
            usd=Decimal("0.005"), basis="market", date="2026-12-07")},
    )  # fmt: skip
    read = estimate(inventory, "ecs-ec2", market, busy, Assumptions(task_capacity_rps=0.5))
    line = next(i for i in read.items if i.kind == "EC2 Spot instances")
    assert (line.usd, line.name) == (
        HOURS * 3 / 2 * Decimal("0.005"),
        "EC2 t4g.small Spot (2026-12-07)",
    )
    assert read.basis == "market"
    # The mixed group drains on Spot notices and rebalances (tests/conftest.py VARIANT_CONTEXT).
    template = json.dumps(variant.template("LaunchlabEcsEc2"))
    assert "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true" in template
    assert '"CapacityRebalance": true' in template


def test_refresh_reads_savings_plans_rates_and_spot_prices(tmp_path: Path) -> None:
    """moto implements neither the Savings Plans API nor a Spot price history with prices, so
    both clients are stubbed with responses in the APIs' shapes."""
    import boto3

    source = tmp_path / "prices.yaml"
    raw = yaml.safe_load(DEFAULT_TABLE.read_text())
    raw["regions"] = {"us-east-1": raw["regions"]["us-east-1"]}
    source.write_text(yaml.safe_dump(raw, sort_keys=False))
    pricing = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x")  # fmt: skip
    plans = boto3.client("savingsplans", region_name="us-east-1", aws_access_key_id="x",
                         aws_secret_access_key="x")  # fmt: skip
    ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x")  # fmt: skip

    def rate(usage: str, seconds: int, value: str, **properties: str) -> dict[str, Any]:
        return {
            "savingsPlanOffering": {"durationSeconds": seconds, "paymentOption": "No Upfront"},
            "rate": value, "unit": "Hrs", "usageType": usage,
            "properties": [{"name": k, "value": v} for k, v in properties.items()],
        }  # fmt: skip

    with Stubber(pricing) as price_list, Stubber(plans) as sp, Stubber(ec2) as spot:
        price_list.add_client_error("get_products", "AccessDeniedException")
        sp.add_response(
            "describe_savings_plans_offering_rates",
            {"searchResults": [
                rate("USE1-BoxUsage:t3.small", 31_536_000, "0.0150",
                     productDescription="Linux/UNIX", tenancy="shared"),
                rate("USE1-BoxUsage:t3.small", 31_536_000, "0.9",
                     productDescription="Windows", tenancy="shared"),  # not Linux: skipped
                rate("USE1-Fargate-vCPU-Hours:perCPU", 94_608_000, "0.0190"),
                rate("USE1-Lambda-GB-Second", 31_536_000, "0.0000146667"),
            ]},
        )  # fmt: skip
        spot.add_response(
            "describe_spot_price_history",
            {"SpotPriceHistory": [
                {"InstanceType": "t3.small", "AvailabilityZone": "us-east-1a",
                 "SpotPrice": "0.0071", "Timestamp": "2026-12-07T10:00:00Z"},
                {"InstanceType": "t3.small", "AvailabilityZone": "us-east-1b",
                 "SpotPrice": "0.0080", "Timestamp": "2026-12-07T09:00:00Z"},
                {"InstanceType": "t3.small", "AvailabilityZone": "us-east-1b",
                 "SpotPrice": "0.0065", "Timestamp": "2026-12-07T11:00:00Z"},
            ]},
        )  # fmt: skip
        with pytest.raises(LaunchlabError, match="Price List API failed"):
            refresh.refresh_table(source, tmp_path / "x.yaml", lambda: pricing)
        result_sp = refresh.committed_rates(
            plans, "us-east-1", raw["regions"]["us-east-1"], "2026-12-07"
        )
        result_spot = refresh.spot_prices(ec2, raw["regions"]["us-east-1"], "2026-12-07")
    assert result_sp["commitment.compute-sp-1y.ec2.t3.small"]["usd"] == "0.015"
    assert result_sp["commitment.compute-sp-3y.fargate.vcpu_hour.x86_64"]["usd"] == "0.019"
    assert result_sp["commitment.compute-sp-1y.lambda.duration.x86_64"]["usd"] == "0.0000146667"
    assert len(result_sp) == 3
    # The latest price of each zone, the highest of those: 0.0071 (a), 0.0065 (b, latest).
    assert result_spot == {"ec2_spot.t3.small": {
        "usd": "0.0071", "unit": "instance-hour", "basis": "market",
        "source": refresh.SPOT_SOURCE, "date": "2026-12-07"}}  # fmt: skip
    # Written into a table, the exact rate wins over the estimated share.
    raw["regions"]["us-east-1"]["prices"].update(result_sp | result_spot)
    source.write_text(yaml.safe_dump(raw, sort_keys=False))
    prices = load_table(source).region("us-east-1")
    committed = prices.committed(prices.instance("t3.small").hourly, "compute-sp-1y", "ec2")
    assert committed is not None and (committed.usd, committed.basis) == (Decimal("0.015"), "list")
    assert prices.spot("t3.small") is not None and prices.spot("t3.small").basis == "market"  # type: ignore[union-attr]


# --- 5. Honest ties ---------------------------------------------------------------------------


def _sensitivity(value: float, below: float | None, cheapest: str) -> Sensitivity:
    from launchlab.report.verdict import Flip

    flip = None if below is None else Flip(below, cheapest)
    return Sensitivity("avg_duration_ms", "request duration", "--duration-ms", "ms", value,
                       1, 60_000, flip, None)  # fmt: skip


def test_a_tie_within_the_margin_or_an_assumption_band_is_called_a_tie() -> None:
    totals = {"a": Decimal("100.00"), "b": Decimal("104.99"), "c": Decimal("105.01")}
    order = ["a", "b", "c"]
    tie = find_tie(order, totals, [])
    assert tie is not None and (tie.launch_types, tie.by_cost) == (("a", "b"), ("b",))
    assert find_tie(["a", "c"], {"a": totals["a"], "c": totals["c"]}, []) is None
    # 116 ms instead of 120 ms (3% off, inside the 10% band) makes c cheapest: a tie.
    near = find_tie(["a", "c"], totals, [_sensitivity(120, 116, "c")])
    assert near is not None and near.launch_types == ("a", "c")
    assert near.by_assumption == ("request duration 116 ms instead of 120 ms makes c cheapest",)
    # 100 ms (17% off) is outside the band: no tie.
    assert find_tie(["a", "c"], totals, [_sensitivity(120, 100, "c")]) is None
    # Above the value too: 130 ms (8% over) is inside, 140 ms (17% over) is not.
    from launchlab.report.verdict import Flip

    def above(value: float) -> Sensitivity:
        return dataclasses.replace(_sensitivity(120, None, "c"), above=Flip(value, "c"))

    assert find_tie(["a", "c"], totals, [above(130)]) is not None
    assert find_tie(["a", "c"], totals, [above(140)]) is None
    # An assumption that moved nothing, or has no plausible band, is passed over, not an end.
    idle = dataclasses.replace(_sensitivity(120, 116, "c"), note="no effect at this traffic")
    memory = dataclasses.replace(_sensitivity(1024, 1000, "c"), assumption="lambda_memory_mb")
    both = find_tie(["a", "c"], totals, [idle, memory, _sensitivity(120, 116, "c")])
    assert both is not None and both.launch_types == ("a", "c")
    assert find_tie(["a", "c"], totals, [idle, memory]) is None


def test_the_verdict_names_a_runner_up_only_when_there_is_one() -> None:
    from launchlab.report.availability import Availability
    from launchlab.report.verdict import build_verdict

    def flat(usd: float):  # type: ignore[no-untyped-def]
        return lambda requests: usd

    alone = build_verdict(1e6, {"a": Decimal(3)}, {"a": flat(3)}, [], [], {"a": Decimal(3)})
    assert (alone.cheapest, alone.runner_up, alone.tie) == ("a", None, None)
    assert (alone.commitment, alone.basis, alone.availability) == ("none", {}, {})
    zones = {"a": Availability("a", True, "2 tasks in 2 zones")}
    two = build_verdict(
        1e6,
        {"a": Decimal(3), "b": Decimal(9)},
        {"a": flat(3), "b": flat(9)},
        [],
        [],
        {"a": Decimal(3), "b": Decimal(9)},
        basis={"a": "estimate"},
        commitment="compute-sp-3y",
        availability=zones,
    )
    assert (two.cheapest, two.runner_up) == ("a", "b")
    assert (two.commitment, two.basis, two.availability) == (
        "compute-sp-3y",
        {"a": "estimate"},
        zones,
    )


def _twins(synth: Synthesized) -> Inventory:
    """Fargate, and the same service under Express Mode's key: two launch types that cost the
    same to the cent at every traffic (as Express and Fargate do but for Express's endpoints)."""
    inventory = inventory_of(synth)
    fargate = inventory.launch_types["fargate"]
    twin = dataclasses.replace(fargate, launch_type="express")
    return dataclasses.replace(inventory, launch_types={"fargate": fargate, "express": twin})


def test_two_launch_types_at_one_cost_tie_and_the_ops_decide(synth: Synthesized) -> None:
    report = build_report(
        "x", _twins(synth), load_table(), "us-east-1", PRESETS["hobby"], Assumptions()
    )
    assert report.verdict.tie is not None
    headline = render.verdict_headline(report.verdict)
    assert (
        headline.startswith("At 1M requests a month ECS on Fargate ($")
        and "tie on cost" in headline
    )
    assert headline.endswith("the ops decide (below).")
    ops = render.verdict_blocks(report)[-1]
    assert [line.split(":")[0] for line in ops[1:]] == ["- ECS on Fargate", "- ECS Express Mode"]
    document = to_json(report)
    jsonschema.validate(document, SCHEMA)
    assert document["verdict"]["tie"] == {
        "launch_types": ["fargate", "express"], "margin": 0.05,
        "within_margin": ["express"], "assumption_flips": [],
    }  # fmt: skip


# --- 6. No silent traps -----------------------------------------------------------------------


def test_peak_fields_with_a_steady_shape_are_an_error_or_imply_peaky_said() -> None:
    flags = {"peak_to_average": "--peak-to-average", "shape": "--shape"}
    with pytest.raises(LaunchlabError) as error:
        build_profile(None, None, {"peak_to_average": "3", "shape": "steady"}, flags)
    assert str(error.value) == (
        "--peak-to-average describes a peak, but --shape is steady: set --shape peaky, or leave "
        "out --peak-to-average"
    )
    implied = build_profile(None, None, {"peak_to_average": "3"}, flags)
    assert (implied.shape, implied.shape_note) == ("peaky", "implied by --peak-to-average")
    with pytest.raises(LaunchlabError, match="request_kb 12 is more than payload_kb 10"):
        build_profile(None, None, {"request_kb": "12"})


def test_every_profile_field_is_echoed_with_its_unit(synth: Synthesized) -> None:
    profile = build_profile(None, DATA / "team-lead.yaml", {})
    report = build_report(
        "x", inventory_of(synth), load_table(), "eu-west-1", profile, Assumptions()
    )
    (line, *_) = render.headline(report)
    assert line == (
        "Profile 'team-lead': 40M requests/month (15.2 req/s average), 120 ms each, 10 KB each "
        "(1 KB request, free; 9 KB response, billed out), peaky: 3x the average rate for 6 h/day"
    )
    first, second = render.screen_headline(report)
    assert first == (
        "team-lead: 40M requests/month (15.2/s), 120 ms, 10 KB (1 KB in, free; 9 KB out), 3x "
        "the average for 6 h/day"
    )
    assert second.startswith("eu-west-1 prices of 2026-11-28, free tier ON, sandbox; sizes from")


def test_details_never_cut_a_name_at_80_columns(
    synth: Synthesized, opt_in_synth: Synthesized
) -> None:
    both = _six(synth, opt_in_synth)
    report = build_report("x", both, load_table(), "us-east-1", PRESETS["spiky"], Assumptions())
    out = io.StringIO()
    render.print_report(report, Console(file=out, width=80), details=True)
    text = out.getvalue()
    assert "…" not in text
    for spec_label in ("ECS Managed Instances", "Lambda Managed Instances", "ECS Express Mode"):
        assert f"{spec_label}: line items" in text
        assert f"Operational burden: {spec_label}" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_curve_that_covers_another_is_dashed_and_labelled(
    synth: Synthesized, opt_in_synth: Synthesized
) -> None:
    twins = _twins(synth)
    six = _six(synth, opt_in_synth)
    both = dataclasses.replace(
        twins,
        launch_types={**twins.launch_types,
                      "ecs-managed-instances": six.launch_types["ecs-managed-instances"]},
    )  # fmt: skip
    report = build_report("x", both, load_table(), "us-east-1", PRESETS["hobby"], Assumptions())
    assert render.coinciding(report) == {"express": "fargate"}
    figure = render.chart_figure(report)
    whole = figure.axes[0]
    lines = {line.get_gid(): line for line in whole.lines if line.get_gid()}
    assert lines["curve-fargate"].get_linestyle() == "-"
    assert lines["curve-express"].get_linestyle() == "--"
    assert lines["curve-express"].get_label() == "ECS Express Mode (= ECS on Fargate, dashed)"
    assert lines["curve-ecs-managed-instances"].get_label() == "ECS Managed Instances (estimate)"


# --- The team lead's case ---------------------------------------------------------------------


def _six(synth: Synthesized, opt_in_synth: Synthesized) -> Inventory:
    default, opt_in = inventory_of(synth), inventory_of(opt_in_synth)
    return dataclasses.replace(
        default,
        launch_types={**default.launch_types, **opt_in.launch_types},
        resource_counts={**default.resource_counts, **opt_in.resource_counts},
    )


TEAM_LEAD_VERDICT = (
    "At 40M requests a month ECS Managed Instances is cheapest ($137.57/month, an estimate); "
    "the runner-up, ECS on EC2, costs $144.77 ($7.20 more)."
)
TEAM_LEAD_VERDICT_3Y = (
    "At 40M requests a month with a 3-year Compute Savings Plan, no upfront (estimated rates), "
    "ECS on EC2 is cheapest ($95.34/month, an estimate); the runner-up, ECS on Fargate, costs "
    "$106.73, an estimate ($11.39 more)."
)


def _team_lead(team_lead: Synthesized, commitment: str = "none") -> Report:
    profile = build_profile(None, DATA / "team-lead.yaml", {})
    return build_report(
        str(team_lead.outdir), inventory_of(team_lead), load_table(), "eu-west-1", profile,
        Assumptions(commitment=commitment),
    )  # fmt: skip


def test_the_team_lead_case(team_lead: Synthesized) -> None:
    """40M requests a month, 120 ms, a daily peak of 3x for 6 hours, eu-west-1, 1 vCPU / 2 GB
    tasks, all six launch types, in two zones (tests/conftest.py TEAM_LEAD_CONTEXT)."""
    report = _team_lead(team_lead)
    v = report.verdict
    assert render.verdict_headline(v) == TEAM_LEAD_VERDICT
    # Cheapest with its management fee in, marked as the estimate it is (AWS publishes no fee
    # for t4g.medium: 12% of its on-demand price).
    assert v.basis["ecs-managed-instances"] == "estimate"
    mi = report.estimates["ecs-managed-instances"]
    fee = _kind(mi, "ECS Managed Instances management fee")
    assert fee == _kind(mi, "EC2 instances") * Decimal("0.12") and fee > 0
    # ECS on EC2 in multi-az mode: two t3.medium all night, a third for the peak's third task.
    ec2 = report.estimates["ecs-ec2"]
    assert (ec2.sizing["instances_by_level"], ec2.sizing["tasks_by_level"]) == ([3, 2], [3, 2])
    assert availability.mode(report.availability) == "multi-az"
    # $7.20 apart is 5.2% of $137.57: just past the 5% margin, and no assumption inside its
    # band changes the winner: no tie, said so by naming one cheapest.
    assert v.tie is None
    gap = (cents(v.monthly_usd["ecs-ec2"]) - cents(v.monthly_usd["ecs-managed-instances"])) / (
        cents(v.monthly_usd["ecs-managed-instances"])
    )
    assert Decimal("0.05") < gap < Decimal("0.053")
    document = to_json(report)
    jsonschema.validate(document, SCHEMA)
    assert document["availability"]["mode"] == "multi-az"
    assert document["verdict"]["basis"]["ecs-managed-instances"] == "estimate"
    assert document["verdict"]["tie"] is None
    # A 3-year Compute Savings Plan moves the verdict: ECS on EC2's instance hours fall by up to
    # 66% (AWS's figure, an estimate here); no AWS statement covers Managed Instances' hours.
    committed = _team_lead(team_lead, "compute-sp-3y").verdict
    assert render.verdict_headline(committed) == TEAM_LEAD_VERDICT_3Y
    assert committed.monthly_usd["ecs-managed-instances"] == v.monthly_usd["ecs-managed-instances"]
